//! The PKCS#11 [`KeySource`]: wraps data keys with a KEK that never leaves its token.
//!
//! Entry layout (`sops.pkcs11[]`): `uri` (path only: no PIN, no module), `id` (CKA_ID,
//! hex), `mechanism` (see [`Mechanism`]), `created_at`, `enc` (standard base64). For
//! `AES-GCM`, `enc` = IV (12 bytes) ‖ ciphertext ‖ tag (16 bytes), no AAD; for the RSA
//! mechanisms it is the RSA ciphertext (modulus length).

use super::error::{map, rv_of, Pkcs11Error};
use super::mechanism::Mechanism;
use super::oaep;
use super::token::Token;
use super::uri::{hex, unhex, Pkcs11Uri};
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cryptoki::error::RvError;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism as CkMechanism, MechanismType};
use cryptoki::object::{ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource, Probe};
use leafcrypt_core::secret::Secret;
use zeroize::Zeroizing;

/// GCM IV length in bytes (96 bits).
const IV_LEN: usize = 12;
/// GCM tag length in bytes.
const TAG_LEN: usize = 16;

/// Wraps and unwraps `pkcs11` entries. `hints` are URIs from the command line whose query
/// attributes (module, PIN source) apply to the entries whose path they match.
#[derive(Default)]
pub struct Pkcs11Source {
    hints: Vec<Pkcs11Uri>,
}

impl Pkcs11Source {
    /// A source using `hints` for module paths and PIN sources.
    pub fn new(hints: Vec<Pkcs11Uri>) -> Self {
        Self { hints }
    }

    /// `text` parsed, with module and PIN attributes from the first hint that matches it.
    pub(super) fn resolve(&self, text: &str) -> Result<Pkcs11Uri, Pkcs11Error> {
        let mut uri = Pkcs11Uri::parse(text)?;
        if let Some(h) = self.hints.iter().find(|h| h.covers(&uri)) {
            uri.module_path = uri.module_path.or_else(|| h.module_path.clone());
            uri.pin_source = uri.pin_source.or_else(|| h.pin_source.clone());
            uri.pin_value = uri.pin_value.or_else(|| h.pin_value.clone());
            uri.mechanism = uri.mechanism.or_else(|| h.mechanism.clone());
        }
        Ok(uri)
    }

    /// An entry's `uri` (resolved against the hints) and `mechanism`.
    pub(super) fn target(&self, entry: &KeyEntry) -> Result<(Pkcs11Uri, Mechanism), Pkcs11Error> {
        let uri = self.resolve(
            entry
                .get("uri")
                .ok_or_else(|| Pkcs11Error::Entry("no uri".into()))?,
        )?;
        let mechanism = Mechanism::parse(
            entry
                .get("mechanism")
                .ok_or_else(|| Pkcs11Error::Entry("no mechanism".into()))?,
        )?;
        Ok((uri, mechanism))
    }

    /// Wraps `secret` for the key `key` names.
    pub fn wrap_entry(
        &self,
        key: &KeyEntry,
        secret: &[u8],
        now: &str,
    ) -> Result<KeyEntry, Pkcs11Error> {
        let uri = self.resolve(
            key.get("uri")
                .ok_or_else(|| Pkcs11Error::Entry("no uri".into()))?,
        )?;
        let id = entry_id(key)?;
        let token = Token::find(&uri)?;
        let session = token.session()?;
        let named = key.get("mechanism").or(uri.mechanism.as_deref());
        let mut mechanism = match named {
            Some(m) => Mechanism::parse(m)?,
            None => detect(&token, &session, &uri, id.as_deref())?,
        };
        let (handle, enc) = if mechanism.is_rsa() {
            let handle =
                match token.find_key(&session, &uri, id.as_deref(), ObjectClass::PUBLIC_KEY)? {
                    Some(h) => h,
                    None => {
                        // The public key may be a private object: log in and look again.
                        token.login(&uri)?;
                        token
                            .find_key(&session, &uri, id.as_deref(), ObjectClass::PUBLIC_KEY)?
                            .ok_or_else(|| {
                                Pkcs11Error::NoObject(format!("{} (RSA public key)", uri.stored()))
                            })?
                    }
                };
            let enc = match rsa_encrypt(&token, &session, handle, mechanism, secret) {
                // Chosen by us, not the user: a token without OAEP-SHA256 (SoftHSM2 2.6
                // offers OAEP with SHA-1 only) gets the same ciphertext from raw RSA with
                // the padding done here, and the entry records that choice for decryption.
                Err(Pkcs11Error::Mechanism { .. })
                    if named.is_none()
                        && mechanism == Mechanism::RsaOaepSha256
                        && token.supports(MechanismType::RSA_X_509) =>
                {
                    mechanism = Mechanism::RsaX509OaepSha256;
                    rsa_encrypt(&token, &session, handle, mechanism, secret)?
                }
                other => other?,
            };
            (handle, enc)
        } else {
            token.login(&uri)?;
            let handle = token
                .find_key(&session, &uri, id.as_deref(), ObjectClass::SECRET_KEY)?
                .ok_or_else(|| {
                    Pkcs11Error::NoObject(format!("{} (AES secret key)", uri.stored()))
                })?;
            (handle, aes_encrypt(&token, &session, handle, secret)?)
        };
        let id = token.key_id(&session, handle)?;
        Ok(KeyEntry::new("pkcs11")
            .with("uri", uri.stored())
            .with("id", hex(&id))
            .with("mechanism", mechanism.name())
            .with("created_at", now)
            .with("enc", STANDARD.encode(enc)))
    }

    /// Recovers the secret wrapped in `entry`, on the token.
    pub fn unwrap_entry(&self, entry: &KeyEntry) -> Result<Zeroizing<Vec<u8>>, Pkcs11Error> {
        let (uri, mechanism) = self.target(entry)?;
        let enc = STANDARD
            .decode(entry.get("enc").unwrap_or_default().trim())
            .map_err(|_| Pkcs11Error::Entry("enc is not base64".into()))?;
        let id = entry_id(entry)?;
        let token = Token::find(&uri)?;
        token.login(&uri)?;
        let session = token.session()?;
        let (class, what) = mechanism.key_class();
        let handle = token
            .find_key(&session, &uri, id.as_deref(), class)?
            .ok_or_else(|| {
                Pkcs11Error::NoObject(format!(
                    "{} ({what}{})",
                    uri.stored(),
                    id_note(id.as_deref())
                ))
            })?;
        if mechanism.is_rsa() {
            rsa_decrypt(&token, &session, handle, mechanism, &enc)
        } else {
            aes_decrypt(&token, &session, handle, &enc)
        }
    }
}

impl Pkcs11Uri {
    /// Whether every path attribute of `self` (a hint) has the same value in `other`.
    fn covers(&self, other: &Pkcs11Uri) -> bool {
        [
            "token",
            "manufacturer",
            "model",
            "serial",
            "object",
            "type",
            "id",
            "slot-id",
        ]
        .iter()
        .all(|a| self.get(a).is_none_or(|v| other.get(a) == Some(v)))
    }
}

pub(super) fn id_note(id: Option<&[u8]>) -> String {
    id.map(|i| format!(", CKA_ID {}", hex(i)))
        .unwrap_or_default()
}

/// The entry's `id` field as bytes.
pub(super) fn entry_id(entry: &KeyEntry) -> Result<Option<Vec<u8>>, Pkcs11Error> {
    entry
        .get("id")
        .filter(|s| !s.is_empty())
        .map(|s| unhex(s).ok_or_else(|| Pkcs11Error::Entry(format!("id '{s}' is not hex"))))
        .transpose()
}

/// The default mechanism for the key the URI names: RSA-OAEP-SHA256 for an RSA key pair,
/// AES-GCM for an AES key.
fn detect(
    token: &Token,
    session: &Session,
    uri: &Pkcs11Uri,
    id: Option<&[u8]>,
) -> Result<Mechanism, Pkcs11Error> {
    let want = uri.get("type");
    if want != Some("secret-key")
        && token
            .find_key(session, uri, id, ObjectClass::PUBLIC_KEY)?
            .is_some()
    {
        return Ok(Mechanism::RsaOaepSha256);
    }
    token.login(uri)?;
    if want != Some("secret-key")
        && token
            .find_key(session, uri, id, ObjectClass::PUBLIC_KEY)?
            .is_some()
    {
        return Ok(Mechanism::RsaOaepSha256);
    }
    if want != Some("public")
        && want != Some("private")
        && token
            .find_key(session, uri, id, ObjectClass::SECRET_KEY)?
            .is_some()
    {
        return Ok(Mechanism::AesGcm);
    }
    Err(Pkcs11Error::NoObject(uri.stored().into()))
}

/// A mechanism failure as a clear "not supported, use X" error; anything else mapped.
fn mech_error(e: cryptoki::error::Error, m: Mechanism, what: &str, token: &Token) -> Pkcs11Error {
    match rv_of(&e) {
        Some(
            rv @ (RvError::MechanismInvalid
            | RvError::MechanismParamInvalid
            | RvError::ArgumentsBad),
        ) => Pkcs11Error::Mechanism {
            mechanism: m.name().into(),
            rv: super::error::rv_name(rv),
            hint: m.alternative().into(),
        },
        _ => map(e, what, &token.label),
    }
}

fn oaep_params(m: Mechanism) -> PkcsOaepParams<'static> {
    match m {
        Mechanism::RsaOaepSha1 => PkcsOaepParams::new(
            MechanismType::SHA1,
            PkcsMgfType::MGF1_SHA1,
            PkcsOaepSource::empty(),
        ),
        _ => PkcsOaepParams::new(
            MechanismType::SHA256,
            PkcsMgfType::MGF1_SHA256,
            PkcsOaepSource::empty(),
        ),
    }
}

fn aes_encrypt(
    token: &Token,
    session: &Session,
    key: ObjectHandle,
    secret: &[u8],
) -> Result<Vec<u8>, Pkcs11Error> {
    let mut iv = [0u8; IV_LEN];
    getrandom::getrandom(&mut iv).map_err(|e| Pkcs11Error::Other {
        what: "generating an IV".into(),
        rv: e.to_string(),
    })?;
    let mut iv_param = iv;
    let params = GcmParams::new(&mut iv_param, &[], (TAG_LEN as u64 * 8).into())
        .map_err(|e| map(e, "GCM parameters", &token.label))?;
    let ct = session
        .encrypt(&CkMechanism::AesGcm(params), key, secret)
        .map_err(|e| mech_error(e, Mechanism::AesGcm, "C_Encrypt", token))?;
    let mut out = Vec::with_capacity(IV_LEN + ct.len());
    out.extend_from_slice(&iv);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn aes_decrypt(
    token: &Token,
    session: &Session,
    key: ObjectHandle,
    enc: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Pkcs11Error> {
    if enc.len() < IV_LEN + TAG_LEN {
        return Err(Pkcs11Error::Entry("enc is too short for AES-GCM".into()));
    }
    let (iv, ct) = enc.split_at(IV_LEN);
    let mut iv = iv.to_vec();
    let params = GcmParams::new(&mut iv, &[], (TAG_LEN as u64 * 8).into())
        .map_err(|e| map(e, "GCM parameters", &token.label))?;
    session
        .decrypt(&CkMechanism::AesGcm(params), key, ct)
        .map(Zeroizing::new)
        .map_err(|e| match rv_of(&e) {
            // SoftHSM reports a failed tag check as a general error.
            Some(RvError::GeneralError) => Pkcs11Error::BadCiphertext(token.label.clone()),
            _ => mech_error(e, Mechanism::AesGcm, "C_Decrypt", token),
        })
}

fn rsa_encrypt(
    token: &Token,
    session: &Session,
    key: ObjectHandle,
    m: Mechanism,
    secret: &[u8],
) -> Result<Vec<u8>, Pkcs11Error> {
    match m {
        Mechanism::RsaX509OaepSha256 => {
            let k = token.modulus_len(session, key)?;
            let mut seed = Zeroizing::new([0u8; 32]);
            getrandom::getrandom(seed.as_mut()).map_err(|e| Pkcs11Error::Other {
                what: "generating an OAEP seed".into(),
                rv: e.to_string(),
            })?;
            let em = Zeroizing::new(
                oaep::encode::<sha2::Sha256>(secret, k, seed.as_ref()).map_err(|_| {
                    Pkcs11Error::Entry("the data key is too long for this RSA key".into())
                })?,
            );
            session
                .encrypt(&CkMechanism::RsaX509, key, &em)
                .map_err(|e| mech_error(e, m, "C_Encrypt", token))
        }
        _ => session
            .encrypt(&CkMechanism::RsaPkcsOaep(oaep_params(m)), key, secret)
            .map_err(|e| mech_error(e, m, "C_Encrypt", token)),
    }
}

fn rsa_decrypt(
    token: &Token,
    session: &Session,
    key: ObjectHandle,
    m: Mechanism,
    enc: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Pkcs11Error> {
    match m {
        Mechanism::RsaX509OaepSha256 => {
            let k = token.modulus_len(session, key)?;
            let raw = Zeroizing::new(
                session
                    .decrypt(&CkMechanism::RsaX509, key, enc)
                    .map_err(|e| mech_error(e, m, "C_Decrypt", token))?,
            );
            if raw.len() > k {
                return Err(Pkcs11Error::BadCiphertext(token.label.clone()));
            }
            // Tokens may drop the leading zero bytes of the block.
            let mut em = Zeroizing::new(vec![0u8; k - raw.len()]);
            em.extend_from_slice(&raw);
            oaep::decode::<sha2::Sha256>(&em)
                .map(Zeroizing::new)
                .map_err(|_| Pkcs11Error::BadCiphertext(token.label.clone()))
        }
        _ => session
            .decrypt(&CkMechanism::RsaPkcsOaep(oaep_params(m)), key, enc)
            .map(Zeroizing::new)
            .map_err(|e| mech_error(e, m, "C_Decrypt", token)),
    }
}

/// Converts a backend error into the key-source error, naming the key.
fn key_error(uri: Option<&str>, e: Pkcs11Error) -> KeyError {
    KeyError::Failed {
        kind: "pkcs11".into(),
        message: match uri {
            Some(u) => format!("{}: {e}", super::uri::redact(u)),
            None => e.to_string(),
        },
    }
}

#[async_trait(?Send)]
impl KeySource for Pkcs11Source {
    fn kind(&self) -> &'static str {
        "pkcs11"
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        self.wrap_entry(key, secret, now)
            .map_err(|e| key_error(key.get("uri"), e))
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        self.unwrap_entry(entry)
            .map(|s| Secret::new(s.to_vec()))
            .map_err(|e| key_error(entry.get("uri"), e))
    }

    /// Module loads, token present, PIN available (never read aloud), key object found;
    /// nothing is decrypted (see [`super::probe`]).
    async fn probe(&self, entry: &KeyEntry) -> Probe {
        super::probe::probe(self, entry)
    }
}
