//! SSH private keys as age identities (`ssh-ed25519`, `ssh-rsa`), as sops 3.11 loads them
//! through agessh. A passphrase-protected key asks for its passphrase, through the
//! [`AgeUi`], only when the file holds a stanza for that key (as Go's agessh does); the
//! unlocked key is kept for the rest of the process.

use super::ui::AgeUi;
use age::secrecy::ExposeSecret;
use age::DecryptError;
use age_core::format::{FileKey, Stanza};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// An SSH private key loaded as an age identity.
pub(crate) struct SshIdentity {
    key: age::ssh::Identity,
    /// `ssh-ed25519 AAAA…` / `ssh-rsa AAAA…`, without comment.
    recipient: String,
    /// The stanza type: `ssh-ed25519` or `ssh-rsa`.
    stanza_type: &'static str,
    /// The stanza's key tag: unpadded base64 of SHA-256(public key)[..4].
    tag: String,
    /// Where the key came from (a path), for prompts and errors.
    origin: String,
    unlocked: OnceLock<age::ssh::Identity>,
}

impl SshIdentity {
    /// Parses an OpenSSH or PEM private key. Errors name `origin`, never key material.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Self, String> {
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
        Ok(Self {
            recipient: public.to_string(),
            stanza_type,
            tag,
            origin: origin.to_string(),
            key,
            unlocked: OnceLock::new(),
        })
    }

    /// The public key, `ssh-ed25519 AAAA…`.
    pub(crate) fn recipient(&self) -> &str {
        &self.recipient
    }

    /// Unwraps `stanza` when it is addressed to this key (`None` otherwise).
    pub(crate) fn unwrap_stanza(
        &self,
        stanza: &Stanza,
        ui: &dyn AgeUi,
    ) -> Option<Result<FileKey, DecryptError>> {
        if stanza.tag != self.stanza_type || stanza.args.first() != Some(&self.tag) {
            return None;
        }
        let key = match &self.key {
            age::ssh::Identity::Encrypted(encrypted) => match self.unlocked.get() {
                Some(key) => key,
                None => {
                    let passphrase = match ui
                        .request_secret(&format!("Enter passphrase for {:?}:", self.origin))
                    {
                        Ok(p) => p,
                        Err(e) => {
                            return Some(Err(DecryptError::Io(std::io::Error::other(format!(
                                "failed to obtain passphrase: could not read passphrase for {:?}: {e}",
                                self.origin
                            )))))
                        }
                    };
                    if passphrase.expose_secret().is_empty() {
                        return Some(Err(DecryptError::Io(std::io::Error::other(format!(
                            "no passphrase given for {:?}",
                            self.origin
                        )))));
                    }
                    match encrypted.decrypt(passphrase) {
                        Ok(k) => self.unlocked.get_or_init(|| age::ssh::Identity::from(k)),
                        Err(_) => {
                            return Some(Err(DecryptError::Io(std::io::Error::other(format!(
                                "incorrect passphrase for the SSH key {:?}",
                                self.origin
                            )))))
                        }
                    }
                }
            },
            other => other,
        };
        age::Identity::unwrap_stanza(key, stanza)
    }
}
