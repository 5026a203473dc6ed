//! age X25519 recipients and identities (the `age` metadata kind).
//!
//! `enc` is the ASCII-armored age file that encrypts the data key (or Shamir share) to
//! the entry's one `recipient`, byte-for-byte the layout sops writes: the armor header
//! line, standard padded base64 in 64-column lines, the footer line and a final newline.
//!
//! The core does no file I/O: the front end reads identity files (`SOPS_AGE_KEY_FILE`,
//! `SOPS_AGE_KEY`, …) and hands their text to [`AgeSource::from_identities_text`].
//! Identities are zeroized on drop and never printed.

use super::{KeyEntry, KeyError, KeySource};
use crate::secret::Secret;
use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::x25519;
use async_trait::async_trait;
use std::io::{Read, Write};
use std::str::FromStr;
use zeroize::Zeroizing;

const KIND: &str = "age";

/// The age key source: wraps to any `age1…` recipient, unwraps with the loaded
/// identities.
#[derive(Default)]
pub struct AgeSource {
    /// Loaded identities with their public recipient strings.
    identities: Vec<(x25519::Identity, String)>,
}

impl std::fmt::Debug for AgeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgeSource")
            .field("identities", &self.identities.len())
            .finish()
    }
}

impl AgeSource {
    /// A source without identities: it can wrap (encrypt) but not unwrap.
    pub fn new() -> Self {
        Self::default()
    }

    /// A source with the identities of an age identity file's text (`AGE-SECRET-KEY-1…`
    /// lines; blank lines and `#` comments skipped).
    pub fn from_identities_text(text: &str) -> Result<Self, KeyError> {
        let mut source = Self::new();
        source.add_identities_text(text)?;
        Ok(source)
    }

    /// Adds the identities of another identity file's text. Errors name the line, never
    /// its content.
    pub fn add_identities_text(&mut self, text: &str) -> Result<(), KeyError> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let identity = x25519::Identity::from_str(line).map_err(|e| KeyError::Failed {
                kind: KIND.into(),
                message: format!(
                    "failed to parse age identities: error at line {}: {e}",
                    n + 1
                ),
            })?;
            let recipient = identity.to_public().to_string();
            self.identities.push((identity, recipient));
        }
        Ok(())
    }

    /// Number of loaded identities.
    pub fn identity_count(&self) -> usize {
        self.identities.len()
    }

    /// The recipients (public keys) of the loaded identities.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.identities.iter().map(|(_, r)| r.as_str())
    }

    fn decrypt_with<'a>(
        &self,
        enc: &str,
        identities: impl Iterator<Item = &'a x25519::Identity>,
    ) -> Result<Secret, KeyError> {
        let fail = |message: String| KeyError::Failed {
            kind: KIND.into(),
            message,
        };
        let reader_error = |e: &dyn std::fmt::Display| {
            fail(format!(
                "failed to create reader for decrypting sops data key with age: {e}"
            ))
        };
        let decryptor = age::Decryptor::new(ArmoredReader::new(enc.as_bytes()))
            .map_err(|e| reader_error(&e))?;
        let mut reader = decryptor
            .decrypt(identities.map(|i| i as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => reader_error(
                    &"identity did not match any of the recipients: incorrect identity for recipient block",
                ),
                other => reader_error(&other),
            })?;
        let mut plain = Zeroizing::new(Vec::with_capacity(33));
        reader
            .read_to_end(&mut plain)
            .map_err(|e| fail(format!("failed to read the sops data key with age: {e}")))?;
        Ok(Secret::new(std::mem::take(&mut *plain)))
    }
}

/// Parses an `age1…` X25519 recipient.
pub fn parse_recipient(recipient: &str) -> Result<x25519::Recipient, KeyError> {
    x25519::Recipient::from_str(recipient.trim()).map_err(|e| KeyError::InvalidKey {
        kind: KIND.into(),
        key: recipient.to_string(),
        message: format!("failed to parse input as Bech32-encoded age public key: {e}"),
    })
}

/// Encrypts `secret` to `recipient` as an ASCII-armored age file (sops's `enc`).
pub fn encrypt_armored(recipient: &x25519::Recipient, secret: &[u8]) -> Result<String, KeyError> {
    let fail = |e: &dyn std::fmt::Display| KeyError::Failed {
        kind: KIND.into(),
        message: format!("failed to encrypt the data key with age: {e}"),
    };
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .map_err(|e| fail(&e))?;
    let mut out = Vec::with_capacity(400);
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(|e| fail(&e))?;
    let mut writer = encryptor.wrap_output(armor).map_err(|e| fail(&e))?;
    writer.write_all(secret).map_err(|e| fail(&e))?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(|e| fail(&e))?;
    String::from_utf8(out).map_err(|e| fail(&e))
}

#[async_trait(?Send)]
impl KeySource for AgeSource {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], _now: &str) -> Result<KeyEntry, KeyError> {
        let name = key.get("recipient").ok_or_else(|| KeyError::InvalidKey {
            kind: KIND.into(),
            key: String::new(),
            message: "the entry has no recipient".into(),
        })?;
        let recipient = parse_recipient(name)?;
        let mut entry = key.description();
        entry.set("enc", encrypt_armored(&recipient, secret)?);
        Ok(entry)
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let enc = enc_of(entry)?;
        if self.identities.is_empty() {
            return Err(KeyError::NoIdentity {
                kind: KIND.into(),
                key: entry.identity(),
            });
        }
        self.decrypt_with(enc, self.identities.iter().map(|(i, _)| i))
    }

    /// Unwraps only with the identity whose recipient is the entry's `recipient`.
    async fn unwrap_verified(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let enc = enc_of(entry)?;
        let named = entry.get("recipient").unwrap_or_default().trim();
        let identity = self
            .identities
            .iter()
            .find(|(_, r)| r == named)
            .map(|(i, _)| i)
            .ok_or_else(|| KeyError::NoIdentity {
                kind: KIND.into(),
                key: named.to_string(),
            })?;
        self.decrypt_with(enc, std::iter::once(identity)).map_err(|e| match e {
            KeyError::Failed { kind, message } => KeyError::Failed {
                kind,
                message: format!(
                    "{message} (strict: the identity for the entry's recipient {named} did not unwrap it; \
                     was the recipient changed?)"
                ),
            },
            other => other,
        })
    }
}

fn enc_of(entry: &KeyEntry) -> Result<&str, KeyError> {
    entry.get("enc").ok_or_else(|| KeyError::Failed {
        kind: KIND.into(),
        message: format!("the age entry for {} has no enc", entry.identity()),
    })
}
