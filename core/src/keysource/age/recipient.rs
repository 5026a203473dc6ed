//! Recipients, told apart as sops 3.11 does: `age1NAME1…` (two or more `1`s) is an age
//! plugin recipient, other `age1…` strings are X25519 keys, `ssh-…` are SSH public keys
//! (`ssh-ed25519`, `ssh-rsa`; a trailing comment is allowed and kept in the entry).

use super::plugin::PluginRecipient;
use super::ui::Callbacks;
use super::KIND;
use crate::keysource::KeyError;
use age::armor::{ArmoredWriter, Format};
use age::x25519;
use std::io::Write;
use std::str::FromStr;

/// A parsed age recipient of any kind sops accepts.
#[derive(Clone)]
pub enum AgeRecipient {
    /// An `age1…` X25519 public key.
    X25519(x25519::Recipient),
    /// An `ssh-ed25519 …` or `ssh-rsa …` public key.
    Ssh(age::ssh::Recipient),
    /// An `age1NAME1…` recipient of the plugin `age-plugin-NAME`.
    Plugin(PluginRecipient),
}

impl std::fmt::Debug for AgeRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::X25519(r) => write!(f, "X25519({r})"),
            Self::Ssh(r) => write!(f, "Ssh({r})"),
            Self::Plugin(r) => write!(f, "Plugin({})", r.name()),
        }
    }
}

/// Parses a recipient as sops's `parseRecipient` does (surrounding space ignored).
pub fn parse_recipient(recipient: &str) -> Result<AgeRecipient, KeyError> {
    let text = recipient.trim();
    let invalid = |message: String| KeyError::InvalidKey {
        kind: KIND.into(),
        key: text.to_string(),
        message,
    };
    if text.starts_with("age1") && text.matches('1').count() > 1 {
        PluginRecipient::parse(text)
            .map(AgeRecipient::Plugin)
            .map_err(|e| {
                invalid(format!(
                    "failed to parse input as age key from age plugin: {e}"
                ))
            })
    } else if text.starts_with("age1") {
        x25519::Recipient::from_str(text)
            .map(AgeRecipient::X25519)
            .map_err(|e| {
                invalid(format!(
                    "failed to parse input as Bech32-encoded age public key: {e}"
                ))
            })
    } else if text.starts_with("ssh-") {
        age::ssh::Recipient::from_str(text)
            .map(AgeRecipient::Ssh)
            .map_err(|e| {
                let why = match e {
                    age::ssh::ParseRecipientKeyError::Invalid(why) => why.to_string(),
                    age::ssh::ParseRecipientKeyError::RsaModulusTooLarge => {
                        "the RSA key is larger than 4096 bits".into()
                    }
                    age::ssh::ParseRecipientKeyError::RsaModulusTooSmall => {
                        "the RSA key is smaller than 2048 bits".into()
                    }
                    age::ssh::ParseRecipientKeyError::Unsupported(t) => {
                        format!("unsupported SSH key type {t} (use ssh-ed25519 or ssh-rsa)")
                    }
                    _ => "not an SSH public key age can use".into(),
                };
                invalid(format!(
                    "failed to parse input as age-ssh public key: {why}"
                ))
            })
    } else {
        Err(invalid(format!(
            "failed to parse input, unknown recipient type: {text:?}"
        )))
    }
}

/// The public form of an SSH recipient as age prints it (`ssh-ed25519 AAAA…`, no
/// comment), for comparing an entry's recipient with an identity.
pub(crate) fn ssh_key_part(recipient: &str) -> String {
    recipient
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Encrypts `secret` to `recipient` as an ASCII-armored age file (sops's `enc`). Plugin
/// recipients run their plugin, which may talk to the user through `ui`.
pub(crate) fn encrypt_armored(
    recipient: &AgeRecipient,
    secret: &[u8],
    ui: &Callbacks,
) -> Result<String, KeyError> {
    let fail = |e: &dyn std::fmt::Display| KeyError::Failed {
        kind: KIND.into(),
        message: format!("failed to encrypt the data key with age: {e}"),
    };
    let plugin;
    let dyn_recipient: &dyn age::Recipient = match recipient {
        AgeRecipient::X25519(r) => r,
        AgeRecipient::Ssh(r) => r,
        AgeRecipient::Plugin(r) => {
            plugin = r.recipient(ui).map_err(|e| fail(&e))?;
            plugin.as_ref()
        }
    };
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(dyn_recipient)).map_err(|e| fail(&e))?;
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
