//! The `age` metadata kind: X25519, SSH and age plugin recipients and identities, as
//! sops 3.11 handles them.
//!
//! `enc` is the ASCII-armored age file that encrypts the data key (or Shamir share) to
//! the entry's one `recipient`, byte-for-byte the layout sops writes: the armor header
//! line, standard padded base64 in 64-column lines, the footer line and a final newline.
//!
//! The core does no file I/O: the front end reads identity files (`SOPS_AGE_KEY_FILE`,
//! `SOPS_AGE_KEY`, `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, `~/.ssh/id_ed25519`, …) and hands their
//! text to [`AgeSource::add_identities_text`] / [`AgeSource::add_ssh_identity`], and its
//! terminal to [`AgeSource::with_ui`]. Identities are zeroized on drop and never printed.
//!
//! Modules: [`recipient`] (parsing and wrapping), `identity` (identity text), `ssh` (SSH
//! private keys), `encrypted` (passphrase-protected identity files), `plugin` (age
//! plugins, native only), [`ui`] (prompts).

mod encrypted;
mod identity;
mod plugin;
pub mod recipient;
mod ssh;
pub mod ui;

pub use plugin::{PluginIdentity, PluginRecipient};
pub use recipient::{parse_recipient, AgeRecipient};
pub use ui::{AgeUi, NoUi};

use super::{KeyEntry, KeyError, KeySource, Probe};
use crate::secret::Secret;
use age::armor::ArmoredReader;
use async_trait::async_trait;
use identity::{Identity, Unwrapper};
use std::io::Read;
use std::sync::Arc;
use zeroize::Zeroizing;

const KIND: &str = "age";

/// The age key source: wraps to any recipient sops accepts, unwraps with the loaded
/// identities.
pub struct AgeSource {
    /// Loaded identities, in the order they were added.
    identities: Vec<Identity>,
    /// Problems met while loading identities that did not stop the loading (sops's
    /// "Errors while loading age identities"), added to decryption errors.
    load_errors: Vec<String>,
    ui: ui::Callbacks,
}

impl Default for AgeSource {
    fn default() -> Self {
        Self {
            identities: Vec::new(),
            load_errors: Vec::new(),
            ui: ui::Callbacks::new(Arc::new(NoUi)),
        }
    }
}

impl std::fmt::Debug for AgeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgeSource")
            .field("identities", &self.identities.len())
            .field("load_errors", &self.load_errors.len())
            .finish()
    }
}

impl AgeSource {
    /// A source without identities: it can wrap (encrypt) but not unwrap.
    pub fn new() -> Self {
        Self::default()
    }

    /// A source with the identities of an identity text (see
    /// [`AgeSource::add_identities_text`]).
    pub fn from_identities_text(text: &str) -> Result<Self, KeyError> {
        let mut source = Self::new();
        source.add_identities_text(text)?;
        Ok(source)
    }

    /// Uses `ui` for SSH key passphrases and age plugin requests (default: [`NoUi`]).
    pub fn with_ui(mut self, ui: Arc<dyn AgeUi>) -> Self {
        self.ui = ui::Callbacks::new(ui);
        self
    }

    /// Adds the identities of an identity text: `AGE-SECRET-KEY-1…` and `AGE-PLUGIN-…`
    /// lines (blank lines and `#` comments skipped) and SSH private key blocks. Errors
    /// name the line, never its content.
    pub fn add_identities_text(&mut self, text: &str) -> Result<(), KeyError> {
        let parsed = identity::parse_text(text).map_err(|e| KeyError::Failed {
            kind: KIND.into(),
            message: format!("failed to parse age identities: {e}"),
        })?;
        self.identities.extend(parsed);
        Ok(())
    }

    /// Adds an SSH private key (OpenSSH or PEM, `ssh-ed25519` or `ssh-rsa`) read from
    /// `origin` (a path, named in prompts and errors). It is parsed only when a file holds
    /// an SSH stanza; a key that does not parse is then named in the decryption error (as
    /// sops names it) and skipped. A passphrase-protected key is asked for its passphrase
    /// only when a file holds a stanza for it. Errors here: no private key in the text.
    pub fn add_ssh_identity(&mut self, text: &str, origin: &str) -> Result<(), KeyError> {
        if !(text.contains("-----BEGIN ") && text.contains("PRIVATE KEY-----")) {
            return Err(KeyError::Failed {
                kind: KIND.into(),
                message: format!("malformed SSH identity in {origin:?}: no private key in it"),
            });
        }
        self.identities
            .push(Identity::Ssh(Box::new(ssh::SshIdentity::lazy(
                text, origin,
            ))));
        Ok(())
    }

    /// Adds a passphrase-protected identity file (an age file, binary or armored, whose
    /// plaintext is an identity file) read from `origin` (`SOPS_AGE_KEY_FILE`, a path).
    /// The passphrase is asked for through the [`AgeUi`] the first time a file is
    /// decrypted. [`AgeSource::is_encrypted_identity_file`] tells such files apart.
    pub fn add_encrypted_identities(&mut self, data: &[u8], origin: &str) {
        self.identities.push(Identity::Encrypted(Box::new(
            encrypted::EncryptedIdentities::new(data, origin),
        )));
    }

    /// Whether `data` is a passphrase-protected identity file rather than an identity list.
    pub fn is_encrypted_identity_file(data: &[u8]) -> bool {
        encrypted::EncryptedIdentities::is_encrypted(data)
    }

    /// Records a problem met while loading identities that did not stop the loading (e.g.
    /// an unreadable `~/.ssh/id_rsa`); decryption errors mention it as sops does.
    pub fn note_load_error(&mut self, message: impl Into<String>) {
        self.load_errors.push(message.into());
    }

    /// Number of loaded identities (a passphrase-protected file counts as one).
    pub fn identity_count(&self) -> usize {
        self.identities.len()
    }

    /// The recipients (public keys) of the loaded identities; plugin identities and
    /// passphrase-protected files (not opened here) have none.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.identities.iter().filter_map(Identity::recipient)
    }

    fn load_suffix(&self) -> String {
        if self.load_errors.is_empty() {
            String::new()
        } else {
            format!(
                ". Errors while loading age identities: {}",
                self.load_errors.join("; ")
            )
        }
    }

    fn decrypt_with<'a>(
        &'a self,
        enc: &str,
        identities: impl Iterator<Item = &'a Identity>,
    ) -> Result<Secret, KeyError> {
        let fail = |message: String| KeyError::Failed {
            kind: KIND.into(),
            message,
        };
        // Only this decryption's notes go into its error.
        self.ui.take_failures();
        let reader_error = |e: &dyn std::fmt::Display| {
            let asked: String = self
                .ui
                .take_failures()
                .iter()
                .map(|f| format!(" ({f})"))
                .collect();
            fail(format!(
                "failed to create reader for decrypting sops data key with age: {e}{asked}{}",
                self.load_suffix()
            ))
        };
        // Plain keys first, then passphrase-protected files, plugins last.
        let mut ordered: Vec<&Identity> = identities.collect();
        ordered.sort_by_key(|i| i.rank());
        let unwrappers: Vec<Unwrapper<'_>> = ordered
            .into_iter()
            .map(|identity| Unwrapper {
                identity,
                ui: &self.ui,
            })
            .collect();
        let decryptor = age::Decryptor::new(ArmoredReader::new(enc.as_bytes()))
            .map_err(|e| reader_error(&e))?;
        let mut reader = decryptor
            .decrypt(unwrappers.iter().map(|u| u as &dyn age::Identity))
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
        entry.set(
            "enc",
            recipient::encrypt_armored(&recipient, secret, &self.ui)?,
        );
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
        self.decrypt_with(enc, self.identities.iter())
    }

    /// Unwraps only with the identities the entry's `recipient` names (the same public
    /// key; for a plugin recipient, the identities of that plugin).
    async fn unwrap_verified(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let enc = enc_of(entry)?;
        let named = entry.get("recipient").unwrap_or_default().trim();
        // Passphrase-protected files are opened and their keys checked one by one.
        let matching: Vec<&Identity> = self
            .identities
            .iter()
            .flat_map(|i| match i {
                Identity::Encrypted(e) => e.open(&self.ui).unwrap_or_default().iter().collect(),
                other => vec![other],
            })
            .filter(|i| i.is_for(named))
            .collect();
        if matching.is_empty() {
            return Err(KeyError::NoIdentity {
                kind: KIND.into(),
                key: named.to_string(),
            });
        }
        self.decrypt_with(enc, matching.into_iter()).map_err(|e| match e {
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

    /// Compares the entry's recipient with the recipients derived from the loaded
    /// identities; nothing is decrypted. Plugin identities count for their plugin's
    /// recipients; passphrase-protected files are not opened (they would ask).
    async fn probe(&self, entry: &KeyEntry) -> Probe {
        probe_recipient(&self.identities, entry.get("recipient").unwrap_or_default())
    }
}

/// The age probe over `identities` for `recipient`.
fn probe_recipient(identities: &[Identity], recipient: &str) -> Probe {
    let recipient = recipient.trim();
    let advice = "put the identity for this recipient in SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, \
                  SOPS_AGE_KEY_CMD or ~/.config/sops/age/keys.txt (or its SSH key in \
                  SOPS_AGE_SSH_PRIVATE_KEY_FILE)";
    if let Some(found) = identities.iter().find(|i| i.is_for(recipient)) {
        return Probe::usable(match found {
            Identity::Plugin(p) => format!("an age-plugin-{} identity is loaded", p.name()),
            Identity::Ssh(_) => "the SSH key for this recipient is loaded".into(),
            _ => "the identity for this recipient is loaded".into(),
        });
    }
    let encrypted = identities
        .iter()
        .any(|i| matches!(i, Identity::Encrypted(_)));
    if encrypted {
        return Probe::unknown(
            format!(
                "no loaded identity matches; {} loaded, and a passphrase-protected identity file \
                 (not opened) may hold it",
                count(identities.len())
            ),
            "run `decrypt` on a terminal to enter the identity file's passphrase",
        );
    }
    Probe::unusable(
        format!(
            "no loaded identity matches ({} loaded)",
            count(identities.len())
        ),
        advice,
    )
}

fn count(n: usize) -> String {
    match n {
        1 => "1 identity".into(),
        n => format!("{n} identities"),
    }
}

fn enc_of(entry: &KeyEntry) -> Result<&str, KeyError> {
    entry.get("enc").ok_or_else(|| KeyError::Failed {
        kind: KIND.into(),
        message: format!("the age entry for {} has no enc", entry.identity()),
    })
}
