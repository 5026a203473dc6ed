//! SSH private keys as age identities (`ssh-ed25519`, `ssh-rsa`), as sops 3.11 loads them
//! through agessh.
//!
//! A key read from a file is parsed only when a file holds an SSH stanza (parsing an RSA
//! key costs milliseconds, and most files are not for the user's `~/.ssh/id_rsa`); a bad
//! key is then named in the decryption error, as sops names it. A passphrase-protected key
//! asks for its passphrase, through the [`AgeUi`](super::AgeUi), only when the file holds a
//! stanza for that very key (as Go's agessh does); the unlocked key is kept for the rest of
//! the process.

use super::ui::Callbacks;
use age::secrecy::ExposeSecret;
use age::DecryptError;
use age_core::format::{FileKey, Stanza};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// The stanza types of SSH recipients.
const STANZA_TYPES: [&str; 2] = ["ssh-ed25519", "ssh-rsa"];

/// An SSH private key loaded as an age identity.
pub(crate) struct SshIdentity {
    /// The key file's text, until parsed.
    text: Zeroizing<String>,
    /// Where the key came from (a path), for prompts and errors.
    origin: String,
    parsed: OnceLock<Result<Parsed, String>>,
    unlocked: OnceLock<age::ssh::Identity>,
}

/// A parsed key.
struct Parsed {
    key: age::ssh::Identity,
    /// `ssh-ed25519 AAAA…` / `ssh-rsa AAAA…`, without comment.
    recipient: String,
    /// The stanza type: `ssh-ed25519` or `ssh-rsa`.
    stanza_type: &'static str,
    /// The stanza's key tag: unpadded base64 of SHA-256(public key)[..4].
    tag: String,
}

impl SshIdentity {
    /// A key to parse when first needed.
    pub(crate) fn lazy(text: &str, origin: &str) -> Self {
        Self {
            text: Zeroizing::new(text.to_string()),
            origin: origin.to_string(),
            parsed: OnceLock::new(),
            unlocked: OnceLock::new(),
        }
    }

    /// A key parsed now. Errors name `origin`, never key material.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let identity = Self::lazy(text, origin);
        identity.parsed().map(|_| ()).map_err(str::to_string)?;
        Ok(identity)
    }

    fn parsed(&self) -> Result<&Parsed, &str> {
        self.parsed
            .get_or_init(|| parse(&self.text, &self.origin))
            .as_ref()
            .map_err(String::as_str)
    }

    /// The public key, `ssh-ed25519 AAAA…` (`None` when the key does not parse).
    pub(crate) fn recipient(&self) -> Option<&str> {
        self.parsed().ok().map(|p| p.recipient.as_str())
    }

    /// Unwraps `stanza` when it is addressed to this key (`None` otherwise). A key that
    /// does not parse is skipped and its error noted in `ui` for the decryption error.
    pub(crate) fn unwrap_stanza(
        &self,
        stanza: &Stanza,
        ui: &Callbacks,
    ) -> Option<Result<FileKey, DecryptError>> {
        if !STANZA_TYPES.contains(&stanza.tag.as_str()) {
            return None;
        }
        let parsed = match self.parsed() {
            Ok(p) => p,
            Err(e) => {
                ui.note(e);
                return None;
            }
        };
        if stanza.tag != parsed.stanza_type || stanza.args.first() != Some(&parsed.tag) {
            return None;
        }
        let key = match &parsed.key {
            age::ssh::Identity::Encrypted(encrypted) => match self.unlocked.get() {
                Some(key) => key,
                None => match self.unlock(encrypted, ui) {
                    Ok(key) => key,
                    Err(message) => {
                        return Some(Err(DecryptError::Io(std::io::Error::other(message))))
                    }
                },
            },
            other => other,
        };
        age::Identity::unwrap_stanza(key, stanza)
    }

    /// Asks for the passphrase and decrypts the key.
    fn unlock(
        &self,
        encrypted: &age::ssh::EncryptedKey,
        ui: &Callbacks,
    ) -> Result<&age::ssh::Identity, String> {
        let passphrase = ui
            .ui
            .request_secret(&format!("Enter passphrase for {:?}:", self.origin))
            .map_err(|e| {
                format!(
                    "failed to obtain passphrase: could not read passphrase for {:?}: {e}",
                    self.origin
                )
            })?;
        if passphrase.expose_secret().is_empty() {
            return Err(format!("no passphrase given for {:?}", self.origin));
        }
        let key = encrypted
            .decrypt(passphrase)
            .map_err(|_| format!("incorrect passphrase for the SSH key {:?}", self.origin))?;
        Ok(self.unlocked.get_or_init(|| age::ssh::Identity::from(key)))
    }
}

/// Parses an OpenSSH or PEM private key.
fn parse(text: &str, origin: &str) -> Result<Parsed, String> {
    let key = age::ssh::Identity::from_buffer(text.as_bytes(), Some(origin.to_string()))
        .map_err(|e| format!("malformed SSH identity in {origin:?}: {e}"))?;
    if let age::ssh::Identity::Unsupported(k) = &key {
        let why = match k {
            age::ssh::UnsupportedKey::EncryptedPem => {
                "a passphrase-protected PEM key, which age cannot read: convert it with `ssh-keygen -p -f FILE` (OpenSSH format)".to_string()
            }
            age::ssh::UnsupportedKey::EncryptedSsh(cipher) => {
                format!("encrypted with the cipher {cipher}, which age does not support")
            }
            age::ssh::UnsupportedKey::Hardware(t) => {
                format!("a hardware security key ({t}): use an age plugin such as age-plugin-yubikey")
            }
            age::ssh::UnsupportedKey::Type(t) => {
                format!("of type {t}: age supports ssh-ed25519 and ssh-rsa")
            }
        };
        return Err(format!("unsupported SSH identity in {origin:?}: {why}"));
    }
    let public = age::ssh::Recipient::try_from(key.clone())
        .map_err(|e| format!("malformed SSH identity in {origin:?}: {e:?}"))?;
    let (stanza_type, ssh_key) = match &public {
        age::ssh::Recipient::SshEd25519(k, _) => ("ssh-ed25519", k),
        age::ssh::Recipient::SshRsa(k, _) => ("ssh-rsa", k),
    };
    let tag = STANDARD_NO_PAD.encode(&Sha256::digest(ssh_key)[..4]);
    Ok(Parsed {
        recipient: public.to_string(),
        stanza_type,
        tag,
        key,
    })
}
