//! [`PgpSource`]: OpenPGP wrapping and unwrapping with rpgp (the `pgp` crate).
//!
//! Encryption needs the recipient's public key (a `-----BEGIN PGP PUBLIC KEY BLOCK-----`,
//! or a private key, whose public half is used); the entry's `fp` picks it by full
//! fingerprint, of the primary key (as sops writes it) or of a subkey. Like gpg, a primary
//! fingerprint encrypts to the newest valid encryption subkey. The message is SEIPD v1 with
//! AES-256, no compression, armored as gpg armors it: decryptable by gpg 2.2 and by sops.
//!
//! Decryption needs the private key; a passphrase-protected key is unlocked with the
//! caller's passphrase. Key material and passphrase are zeroized on drop (rpgp keeps
//! secret parameters in zeroizing types) and never appear in messages.

use super::{normalize_fingerprint, unix_seconds, KIND};
use crate::keysource::{KeyEntry, KeyError, KeySource};
use crate::secret::Secret;
use async_trait::async_trait;
use pgp::composed::{
    ArmorOptions, Esk, Message, MessageBuilder, PublicOrSecret, SignedPublicKey,
    SignedPublicSubKey, SignedSecretKey, TheRing,
};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{PublicKeyEncryptedSessionKey, Signature, SignatureType, SubpacketData};
use pgp::types::{Fingerprint, KeyDetails, Password, PublicKeyTrait, SecretParams};
use rand::rngs::OsRng;
use std::io::Read;
use zeroize::Zeroizing;

/// The PGP key source: armored public keys to wrap, armored private keys to unwrap.
#[derive(Default)]
pub struct PgpSource {
    public: Vec<SignedPublicKey>,
    secret: Vec<SignedSecretKey>,
    passphrase: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for PgpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgpSource")
            .field("public_keys", &self.public_fingerprints())
            .field("private_keys", &self.secret.len())
            .finish()
    }
}

fn fail(message: impl Into<String>) -> KeyError {
    KeyError::Failed {
        kind: KIND.into(),
        message: message.into(),
    }
}

/// Upper-case hex of a fingerprint, as gpg prints it.
fn hex(fp: &Fingerprint) -> String {
    fp.to_string().to_ascii_uppercase()
}

/// The `-----BEGIN PGP …-----` … `-----END PGP …-----` blocks of `text` (a key file may
/// hold several, e.g. `gpg --export` and `--export-secret-keys` output appended).
fn armor_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN PGP ") {
        let from = &rest[start..];
        let Some(end_marker) = from.find("-----END PGP ") else {
            blocks.push(from);
            break;
        };
        let after = &from[end_marker..];
        let line_end = after
            .find('\n')
            .map(|i| end_marker + i + 1)
            .unwrap_or(from.len());
        blocks.push(&from[..line_end]);
        rest = &from[line_end..];
    }
    blocks
}

/// Every key in the armored `text`; `what` names the option in messages.
fn parse_keys(text: &str, what: &str) -> Result<Vec<PublicOrSecret>, KeyError> {
    let blocks = armor_blocks(text);
    if blocks.is_empty() && !text.trim().is_empty() {
        return Err(fail(format!(
            "{what}: no ASCII-armored OpenPGP key found (expected -----BEGIN PGP … KEY BLOCK-----; \
             export one with `gpg --armor --export FPR` or `--export-secret-keys`)"
        )));
    }
    let mut keys = Vec::new();
    for (n, block) in blocks.iter().enumerate() {
        let bad = |e: &dyn std::fmt::Display| {
            fail(format!(
                "{what}: cannot read armored block {} as OpenPGP keys: {e}",
                n + 1
            ))
        };
        let (iter, _) = PublicOrSecret::from_armor_many(block.as_bytes()).map_err(|e| bad(&e))?;
        for key in iter {
            keys.push(key.map_err(|e| bad(&e))?);
        }
    }
    Ok(keys)
}

/// Whether `sig` says its key may encrypt: key flags when present, else the algorithm.
fn may_encrypt(sig: &Signature, key: &impl PublicKeyTrait) -> bool {
    let has_flags = sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    });
    if has_flags {
        let flags = sig.key_flags();
        key.is_encryption_key() && (flags.encrypt_comms() || flags.encrypt_storage())
    } else {
        key.is_encryption_key()
    }
}

/// Whether `subkey` is bound to `primary`, not revoked, not expired at `now` and may
/// encrypt.
fn usable_subkey(primary: &SignedPublicKey, subkey: &SignedPublicSubKey, now: Option<i64>) -> bool {
    let revoked = subkey
        .signatures
        .iter()
        .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
    let Some(binding) = subkey
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
        .max_by_key(|s| s.created().map(|t| t.timestamp()).unwrap_or(i64::MIN))
    else {
        return false;
    };
    if revoked || !may_encrypt(binding, &subkey.key) {
        return false;
    }
    if let (Some(validity), Some(now)) = (binding.key_expiration_time(), now) {
        let seconds = validity.num_seconds();
        if seconds > 0 && subkey.key.created_at().timestamp() + seconds <= now {
            return false;
        }
    }
    binding
        .verify_subkey_binding(&primary.primary_key, &subkey.key)
        .is_ok()
}

/// Whether the primary key itself may encrypt: its self-signatures' key flags say so (or
/// carry no flags, as in old keys) and its algorithm can.
fn primary_may_encrypt(key: &SignedPublicKey) -> bool {
    let primary = &key.primary_key;
    let mut sigs = key
        .details
        .direct_signatures
        .iter()
        .chain(key.details.users.iter().flat_map(|u| u.signatures.iter()))
        .peekable();
    if sigs.peek().is_none() {
        return primary.is_encryption_key();
    }
    sigs.any(|sig| may_encrypt(sig, primary))
}

/// The key `fp` (normalized) names in `key`, for encryption: a matching subkey itself, or
/// for the primary fingerprint the newest usable encryption subkey (the primary key when it
/// has none and may encrypt).
enum Target<'a> {
    Subkey(&'a SignedPublicSubKey),
    Primary(&'a SignedPublicKey),
}

fn encryption_target<'a>(
    key: &'a SignedPublicKey,
    fp: &str,
    now: Option<i64>,
) -> Result<Option<Target<'a>>, KeyError> {
    if hex(&key.primary_key.fingerprint()) == fp {
        let newest = key
            .public_subkeys
            .iter()
            .filter(|s| usable_subkey(key, s, now))
            .max_by_key(|s| s.key.created_at().timestamp());
        if let Some(subkey) = newest {
            return Ok(Some(Target::Subkey(subkey)));
        }
        if primary_may_encrypt(key) {
            return Ok(Some(Target::Primary(key)));
        }
        return Err(fail(format!(
            "the key {fp} has no valid encryption subkey (revoked, expired or sign-only); \
             add one with `gpg --quick-add-key {fp} cv25519 encr` and export the public key again"
        )));
    }
    for subkey in &key.public_subkeys {
        if hex(&subkey.key.fingerprint()) == fp {
            if usable_subkey(key, subkey, now) {
                return Ok(Some(Target::Subkey(subkey)));
            }
            return Err(fail(format!(
                "the subkey {fp} cannot encrypt (not an encryption subkey, revoked, expired \
                 or not bound to its primary key {})",
                hex(&key.primary_key.fingerprint())
            )));
        }
    }
    Ok(None)
}

impl PgpSource {
    /// A source without keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the public keys of armored `text` (private keys in it count as their public
    /// halves). Several blocks may be concatenated. Returns their primary fingerprints.
    pub fn add_public_keys_text(&mut self, text: &str) -> Result<Vec<String>, KeyError> {
        let mut fingerprints = Vec::new();
        for key in parse_keys(text, "public keys")? {
            let key = match key {
                PublicOrSecret::Public(k) => k,
                PublicOrSecret::Secret(k) => k.signed_public_key(),
            };
            fingerprints.push(hex(&key.primary_key.fingerprint()));
            self.add_public(key);
        }
        Ok(fingerprints)
    }

    /// Adds the private keys of armored `text`; their public halves are added for
    /// encryption too. Public keys in `text` are only used to encrypt.
    pub fn add_private_keys_text(&mut self, text: &str) -> Result<(), KeyError> {
        for key in parse_keys(text, "private keys")? {
            match key {
                PublicOrSecret::Public(k) => self.add_public(k),
                PublicOrSecret::Secret(k) => {
                    self.add_public(k.signed_public_key());
                    let fp = k.primary_key.fingerprint();
                    if !self
                        .secret
                        .iter()
                        .any(|s| s.primary_key.fingerprint() == fp)
                    {
                        self.secret.push(k);
                    }
                }
            }
        }
        Ok(())
    }

    /// Sets the passphrase that unlocks protected private keys.
    pub fn set_passphrase(&mut self, passphrase: Zeroizing<String>) {
        self.passphrase = Some(passphrase);
    }

    fn add_public(&mut self, key: SignedPublicKey) {
        let fp = key.primary_key.fingerprint();
        if !self
            .public
            .iter()
            .any(|k| k.primary_key.fingerprint() == fp)
        {
            self.public.push(key);
        }
    }

    /// The primary fingerprints (upper-case hex) of the keys that can be encrypted to.
    pub fn public_fingerprints(&self) -> Vec<String> {
        self.public
            .iter()
            .map(|k| hex(&k.primary_key.fingerprint()))
            .collect()
    }

    /// The primary fingerprints of the loaded private keys.
    pub fn private_fingerprints(&self) -> Vec<String> {
        self.secret
            .iter()
            .map(|k| hex(&k.primary_key.fingerprint()))
            .collect()
    }

    /// Encrypts `secret` to the key `fp` names; returns the armored message as sops
    /// stores it (no final newline).
    pub fn encrypt_armored(&self, fp: &str, secret: &[u8], now: &str) -> Result<String, KeyError> {
        let wanted = normalize_fingerprint(fp)?;
        let now = unix_seconds(now);
        let mut target = None;
        for key in &self.public {
            if let Some(t) = encryption_target(key, &wanted, now)? {
                target = Some(t);
                break;
            }
        }
        let target = target.ok_or_else(|| {
            fail(format!(
                "key with fingerprint '{wanted}' is not available: give its armored public key \
                 (`gpg --armor --export {wanted}`) with the PGP public keys"
            ))
        })?;
        let failed = |e: &dyn std::fmt::Display| {
            fail(format!(
                "failed to encrypt sops data key with pgp key {wanted}: {e}"
            ))
        };
        let mut builder =
            MessageBuilder::from_reader("", secret).seipd_v1(OsRng, SymmetricKeyAlgorithm::AES256);
        match target {
            Target::Subkey(subkey) => builder.encrypt_to_key(OsRng, &subkey.key),
            Target::Primary(key) => builder.encrypt_to_key(OsRng, &key.primary_key),
        }
        .map_err(|e| failed(&e))?;
        let armored = builder
            .to_armored_string(OsRng, ArmorOptions::default())
            .map_err(|e| failed(&e))?;
        Ok(armored.trim_end().to_string())
    }

    /// Decrypts the armored message `enc` (an entry for `fp`) with the loaded private keys.
    pub fn decrypt_armored(&self, enc: &str, fp: &str) -> Result<Secret, KeyError> {
        self.decrypt_with(enc, fp, self.secret.iter().collect())
    }

    /// [`PgpSource::decrypt_armored`] with only the private key that `fp` names (its primary
    /// or a subkey fingerprint): proves the entry's `fp` is the key that opens it.
    pub fn decrypt_armored_verified(&self, enc: &str, fp: &str) -> Result<Secret, KeyError> {
        let wanted = normalize_fingerprint(fp)?;
        let named: Vec<&SignedSecretKey> = self
            .secret
            .iter()
            .filter(|k| {
                hex(&k.primary_key.fingerprint()) == wanted
                    || k.secret_subkeys
                        .iter()
                        .any(|s| hex(&s.key.fingerprint()) == wanted)
            })
            .collect();
        if named.is_empty() {
            return Err(KeyError::NoIdentity {
                kind: KIND.into(),
                key: fp.to_string(),
            });
        }
        self.decrypt_with(enc, fp, named).map_err(|e| match e {
            KeyError::Failed { kind, message } => KeyError::Failed {
                kind,
                message: format!(
                    "{message} (strict: the private key of the entry's fp {wanted} did not open it; \
                     was the fp changed?)"
                ),
            },
            other => other,
        })
    }

    fn decrypt_with(
        &self,
        enc: &str,
        fp: &str,
        keys: Vec<&SignedSecretKey>,
    ) -> Result<Secret, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoIdentity {
                kind: KIND.into(),
                key: fp.to_string(),
            });
        }
        let (message, _) = Message::from_string(enc).map_err(|e| {
            fail(format!(
                "failed to decrypt sops data key with pgp key {fp}: cannot read the armored message: {e}"
            ))
        })?;
        let recipients = recipients_of(&message, fp)?;
        let (matched, locked) = encrypted_to(keys, &recipients);
        if matched.is_empty() {
            return Err(self.no_private_key(fp, &recipients));
        }
        let passphrase = match &self.passphrase {
            Some(p) => Password::from(p.as_bytes()),
            None => Password::empty(),
        };
        let ring = TheRing {
            secret_keys: matched,
            key_passwords: vec![&passphrase],
            ..Default::default()
        };
        let decrypted = message.decrypt_the_ring(ring, true).map_err(|e| {
            if locked {
                let hint = if self.passphrase.is_some() {
                    "the passphrase given does not unlock it"
                } else {
                    "it is passphrase-protected and no passphrase was given"
                };
                fail(format!(
                    "failed to decrypt sops data key with pgp key {fp}: {hint}"
                ))
            } else {
                fail(format!(
                    "failed to decrypt sops data key with pgp key {fp}: {e}"
                ))
            }
        });
        let (message, _) = decrypted?;
        read_plaintext(message, fp)
    }

    /// The error when none of the loaded private keys is one the message is encrypted to.
    fn no_private_key(&self, fp: &str, recipients: &[&PublicKeyEncryptedSessionKey]) -> KeyError {
        let ids: Vec<String> = recipients
            .iter()
            .filter_map(|r| r.id().ok().map(|id| id.to_string().to_ascii_uppercase()))
            .collect();
        fail(format!(
            "failed to decrypt sops data key with pgp key {fp}: no private key given for it \
             (the message is encrypted to key id {}; loaded private keys: {})",
            if ids.is_empty() {
                "?".into()
            } else {
                ids.join(", ")
            },
            self.private_fingerprints().join(", ")
        ))
    }
}

/// The public-key session-key packets of an encrypted message.
fn recipients_of<'m>(
    message: &'m Message<'_>,
    fp: &str,
) -> Result<Vec<&'m PublicKeyEncryptedSessionKey>, KeyError> {
    match message {
        Message::Encrypted { esk, .. } => Ok(esk
            .iter()
            .filter_map(|esk| match esk {
                Esk::PublicKeyEncryptedSessionKey(p) => Some(p),
                _ => None,
            })
            .collect()),
        _ => Err(fail(format!(
            "failed to decrypt sops data key with pgp key {fp}: the message is not encrypted"
        ))),
    }
}

/// Which of `keys` the message is encrypted to (primary key or a subkey), and whether any
/// matching key or subkey is locked by a passphrase.
fn encrypted_to<'k>(
    keys: Vec<&'k SignedSecretKey>,
    recipients: &[&PublicKeyEncryptedSessionKey],
) -> (Vec<&'k SignedSecretKey>, bool) {
    let mut matched = Vec::new();
    let mut locked = false;
    for key in keys {
        let mut hit = false;
        if recipients
            .iter()
            .any(|r| r.match_identity(&key.primary_key))
        {
            hit = true;
            if matches!(key.primary_key.secret_params(), SecretParams::Encrypted(_)) {
                locked = true;
            }
        }
        for sub in &key.secret_subkeys {
            if recipients.iter().any(|r| r.match_identity(&sub.key)) {
                hit = true;
                if matches!(sub.key.secret_params(), SecretParams::Encrypted(_)) {
                    locked = true;
                }
            }
        }
        if hit {
            matched.push(key);
        }
    }
    (matched, locked)
}

/// The literal data of a decrypted message, decompressed if needed.
fn read_plaintext(mut message: Message<'_>, fp: &str) -> Result<Secret, KeyError> {
    if message.is_compressed() {
        message = message.decompress().map_err(|e| {
            fail(format!(
                "failed to decrypt sops data key with pgp key {fp}: {e}"
            ))
        })?;
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(64));
    message.read_to_end(&mut plain).map_err(|e| {
        fail(format!(
            "failed to decrypt sops data key with pgp key {fp}: {e}"
        ))
    })?;
    Ok(Secret::new(std::mem::take(&mut *plain)))
}

#[async_trait(?Send)]
impl KeySource for PgpSource {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        let fp = key.get("fp").unwrap_or_default();
        if fp.is_empty() {
            return Err(KeyError::InvalidKey {
                kind: KIND.into(),
                key: String::new(),
                message: "the entry has no fp".into(),
            });
        }
        let enc = self.encrypt_armored(fp, secret, now)?;
        let mut entry = key.description();
        entry.set("created_at", now);
        entry.set("enc", enc);
        Ok(entry)
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let fp = entry.get("fp").unwrap_or_default();
        let enc = entry
            .get("enc")
            .ok_or_else(|| fail(format!("the pgp entry for {fp} has no enc")))?;
        self.decrypt_armored(enc, fp)
    }

    /// Unwraps only with the private key the entry's `fp` names.
    async fn unwrap_verified(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let fp = entry.get("fp").unwrap_or_default();
        let enc = entry
            .get("enc")
            .ok_or_else(|| fail(format!("the pgp entry for {fp} has no enc")))?;
        self.decrypt_armored_verified(enc, fp)
    }
}
