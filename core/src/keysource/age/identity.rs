//! Identity text: `AGE-SECRET-KEY-1…` and `AGE-PLUGIN-…` lines (blank lines and `#`
//! comments skipped), and SSH private keys (`-----BEGIN … PRIVATE KEY-----` blocks), in
//! one text or from separate files. Errors name the line or file, never key material.

use super::encrypted::EncryptedIdentities;
use super::plugin::{self, PluginIdentity};
use super::recipient::ssh_key_part;
use super::ssh::SshIdentity;
use super::ui::Callbacks;
use age::x25519;
use age::DecryptError;
use age_core::format::{FileKey, Stanza};
use std::str::FromStr;

/// One loaded identity.
pub(crate) enum Identity {
    /// An `AGE-SECRET-KEY-1…` key and its `age1…` recipient.
    X25519(x25519::Identity, String),
    /// An SSH private key.
    Ssh(Box<SshIdentity>),
    /// A plugin identity.
    Plugin(PluginIdentity),
    /// A passphrase-protected identity file.
    Encrypted(Box<EncryptedIdentities>),
}

impl Identity {
    /// The public recipient, for kinds that know it (not plugins).
    pub(crate) fn recipient(&self) -> Option<&str> {
        match self {
            Self::X25519(_, r) => Some(r),
            Self::Ssh(s) => s.recipient(),
            Self::Plugin(_) | Self::Encrypted(_) => None,
        }
    }

    /// Whether this identity is the one an entry's `recipient` names (`--strict`).
    pub(crate) fn is_for(&self, recipient: &str) -> bool {
        match self {
            Self::X25519(_, r) => r == recipient,
            Self::Ssh(s) => s.recipient() == Some(ssh_key_part(recipient).as_str()),
            Self::Plugin(p) => plugin::recipient_is_for(recipient, p.name()),
            // Opened and checked key by key (see `AgeSource::unwrap_verified`).
            Self::Encrypted(_) => false,
        }
    }

    /// When this identity is tried: plain keys first, then passphrase-protected files
    /// (they ask), then plugins (a missing program fails loudly).
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Self::X25519(..) | Self::Ssh(_) => 0,
            Self::Encrypted(_) => 1,
            Self::Plugin(_) => 2,
        }
    }
}

/// Parses an identity text. Errors say "error at line N" and the reason.
pub(crate) fn parse_text(text: &str) -> Result<Vec<Identity>, String> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("-----BEGIN ") && line.ends_with("PRIVATE KEY-----") {
            let mut block = zeroize::Zeroizing::new(format!("{line}\n"));
            for (_, l) in lines.by_ref() {
                block.push_str(l.trim());
                block.push('\n');
                if l.trim().starts_with("-----END ") {
                    break;
                }
            }
            let origin = format!("SSH key at line {}", n + 1);
            out.push(Identity::Ssh(Box::new(SshIdentity::parse(
                &block, &origin,
            )?)));
            continue;
        }
        let parsed = if line.starts_with("AGE-PLUGIN-") {
            PluginIdentity::parse(line).map(Identity::Plugin)
        } else {
            x25519::Identity::from_str(line)
                .map(|i| {
                    let r = i.to_public().to_string();
                    Identity::X25519(i, r)
                })
                .map_err(str::to_string)
        };
        out.push(parsed.map_err(|e| format!("error at line {}: {e}", n + 1))?);
    }
    Ok(out)
}

/// An identity bound to the user interface, as age's `Identity`.
pub(crate) struct Unwrapper<'a> {
    pub(crate) identity: &'a Identity,
    pub(crate) ui: &'a Callbacks,
}

impl age::Identity for Unwrapper<'_> {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        self.unwrap_stanzas(std::slice::from_ref(stanza))
    }

    fn unwrap_stanzas(&self, stanzas: &[Stanza]) -> Option<Result<FileKey, DecryptError>> {
        match self.identity {
            Identity::X25519(i, _) => age::Identity::unwrap_stanzas(i, stanzas),
            Identity::Ssh(s) => stanzas.iter().find_map(|st| s.unwrap_stanza(st, self.ui)),
            Identity::Plugin(p) => p.unwrap_stanzas(stanzas, self.ui),
            Identity::Encrypted(e) => match e.open(self.ui) {
                Ok(inner) => inner.iter().find_map(|identity| {
                    Unwrapper {
                        identity,
                        ui: self.ui,
                    }
                    .unwrap_stanzas(stanzas)
                }),
                Err(message) => Some(Err(DecryptError::Io(std::io::Error::other(
                    message.to_string(),
                )))),
            },
        }
    }
}
