//! Key sources: the key-encryption keys (KEKs) that wrap a file's data key.
//!
//! Every backend implements [`KeySource`] and knows nothing of the others. A
//! [`KeyEntry`] is one record of the `sops` metadata (`age`, `azure_kv`, `pkcs11`, …);
//! before wrapping it names the key (e.g. `recipient`) and after wrapping it also holds
//! `enc`. Entries round-trip unchanged, unknown fields and unknown kinds included.

#[cfg(feature = "age")]
pub mod age;
#[cfg(feature = "aws-kms")]
pub mod aws_kms;
pub mod azure_kv;
#[cfg(feature = "gcp-kms")]
pub mod gcp_kms;
#[cfg(feature = "hc-vault")]
pub mod hc_vault;
#[cfg(feature = "pgp")]
pub mod pgp;
pub mod probe;
#[cfg(feature = "rest")]
pub mod rest;

pub use probe::{Probe, ProbeStatus};

use crate::secret::Secret;
use crate::tree::Value;
use async_trait::async_trait;
use thiserror::Error;

/// A key source failed to wrap or unwrap.
#[derive(Debug, Error)]
pub enum KeyError {
    /// This source cannot handle the entry (wrong kind or no matching identity).
    #[error("{kind}: no identity for {key}")]
    NoIdentity {
        /// Entry kind, e.g. `age`.
        kind: String,
        /// The key's public name (recipient, URL); never secret material.
        key: String,
    },
    /// The key description is invalid (bad recipient, bad URI).
    #[error("{kind}: invalid key {key}: {message}")]
    InvalidKey {
        /// Entry kind.
        kind: String,
        /// The key's public name.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Wrapping or unwrapping failed.
    #[error("{kind}: {message}")]
    Failed {
        /// Entry kind.
        kind: String,
        /// What went wrong (never contains secret material).
        message: String,
    },
}

/// One key record of the `sops` metadata: its kind and its fields in order.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyEntry {
    /// Metadata name of the kind: `age`, `pgp`, `kms`, `gcp_kms`, `hckms`, `azure_kv`,
    /// `hc_vault`, `pkcs11`, …
    pub kind: String,
    /// Fields in stored order (strings for every kind sops writes; kept as read).
    pub fields: Vec<(String, Value)>,
}

impl KeyEntry {
    /// A new entry of `kind` with no fields.
    pub fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            fields: Vec::new(),
        }
    }

    /// The string value of `field`, if present and a string.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == field)
            .and_then(|(_, v)| v.as_str())
    }

    /// Sets `field` to the string `value`, replacing an existing one in place.
    pub fn set(&mut self, field: &str, value: impl Into<String>) {
        let value = Value::Str(value.into());
        match self.fields.iter_mut().find(|(k, _)| k == field) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((field.to_string(), value)),
        }
    }

    /// Builder form of [`KeyEntry::set`].
    pub fn with(mut self, field: &str, value: impl Into<String>) -> Self {
        self.set(field, value);
        self
    }

    /// The key's public identity, used to compare keys across files and configs
    /// (`age1…`, `https://vault/keys/name/version`, a PKCS#11 URI).
    pub fn identity(&self) -> String {
        match self.kind.as_str() {
            "age" => self.get("recipient").unwrap_or_default().to_string(),
            "pgp" => self.get("fp").unwrap_or_default().to_string(),
            "kms" => self.get("arn").unwrap_or_default().to_string(),
            "gcp_kms" => self.get("resource_id").unwrap_or_default().to_string(),
            "hckms" => self.get("key_id").unwrap_or_default().to_string(),
            "azure_kv" => format!(
                "{}/keys/{}/{}",
                self.get("vault_url").unwrap_or_default(),
                self.get("name").unwrap_or_default(),
                self.get("version").unwrap_or_default()
            ),
            "hc_vault" => format!(
                "{}/v1/{}/keys/{}",
                self.get("vault_address").unwrap_or_default(),
                self.get("engine_path").unwrap_or_default(),
                self.get("key_name").unwrap_or_default()
            ),
            // A PKCS#11 URI's query (module, PIN source) says how to reach the key, not
            // which key it is: `.sops.yaml` may carry it, the stored entry never does.
            "pkcs11" => self
                .get("uri")
                .map(|u| u.split('?').next().unwrap_or(u))
                .unwrap_or_default()
                .to_string(),
            _ => self
                .get("uri")
                .or_else(|| self.get("id"))
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// This entry without its wrapped key (`enc`) and `created_at`: the key description.
    pub fn description(&self) -> KeyEntry {
        KeyEntry {
            kind: self.kind.clone(),
            fields: self
                .fields
                .iter()
                .filter(|(k, _)| k != "enc" && k != "created_at")
                .cloned()
                .collect(),
        }
    }
}

/// A backend that wraps and unwraps data keys (or Shamir shares).
///
/// Async so that network KEKs (Key Vault) work on wasm32, where futures are not `Send`.
#[async_trait(?Send)]
pub trait KeySource {
    /// The metadata kind this source handles (`age`).
    fn kind(&self) -> &'static str;

    /// Wraps `secret` for the key that `key` describes; returns the complete entry
    /// (with `enc` and, for kinds that have it, `created_at` set to `now`).
    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError>;

    /// Recovers the secret wrapped in `entry`.
    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError>;

    /// [`KeySource::unwrap`] that, for `--strict`, also proves the entry's public key
    /// description (e.g. age `recipient`) names the key that unwraps it. Sources without
    /// such a check keep the default, which is plain `unwrap`.
    async fn unwrap_verified(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        self.unwrap(entry).await
    }

    /// Tells, without unwrapping and without side effects, whether this environment can
    /// use the key `entry` names (identity present, credential obtainable, access
    /// granted, key version current). The default cannot check.
    async fn probe(&self, entry: &KeyEntry) -> Probe {
        let _ = entry;
        Probe::cannot_check(self.kind())
    }
}

/// The key sources available to one operation, dispatched by entry kind.
#[derive(Default)]
pub struct Keyring {
    sources: Vec<Box<dyn KeySource>>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source; later sources of the same kind are tried after earlier ones.
    pub fn add(&mut self, source: Box<dyn KeySource>) {
        self.sources.push(source);
    }

    /// Builder form of [`Keyring::add`].
    pub fn with(mut self, source: Box<dyn KeySource>) -> Self {
        self.add(source);
        self
    }

    /// Wraps `secret` for the key `key` describes, with the first source of its kind.
    pub async fn wrap(
        &self,
        key: &KeyEntry,
        secret: &[u8],
        now: &str,
    ) -> Result<KeyEntry, KeyError> {
        let mut last = None;
        for source in self.sources.iter().filter(|s| s.kind() == key.kind) {
            match source.wrap(key, secret, now).await {
                Ok(entry) => return Ok(entry),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| KeyError::Failed {
            kind: key.kind.clone(),
            message: format!("no key source for '{}' keys is available", key.kind),
        }))
    }

    /// Unwraps `entry` with the sources of its kind, first success wins.
    pub async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        self.unwrap_verified(entry, false).await
    }

    /// [`Keyring::unwrap`], with [`KeySource::unwrap_verified`] when `strict`.
    pub async fn unwrap_verified(
        &self,
        entry: &KeyEntry,
        strict: bool,
    ) -> Result<Secret, KeyError> {
        let mut last = None;
        for source in self.sources.iter().filter(|s| s.kind() == entry.kind) {
            let result = if strict {
                source.unwrap_verified(entry).await
            } else {
                source.unwrap(entry).await
            };
            match result {
                Ok(secret) => return Ok(secret),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| KeyError::Failed {
            kind: entry.kind.clone(),
            message: format!("no key source for '{}' keys is available", entry.kind),
        }))
    }
}

impl Keyring {
    /// [`KeySource::probe`] with the sources of the entry's kind: the first usable answer,
    /// else the first unknown one, else the last refusal.
    pub async fn probe(&self, entry: &KeyEntry) -> Probe {
        let mut best: Option<Probe> = None;
        for source in self.sources.iter().filter(|s| s.kind() == entry.kind) {
            let probe = source.probe(entry).await;
            match probe.status {
                ProbeStatus::Usable => return probe,
                ProbeStatus::Unknown
                    if best
                        .as_ref()
                        .is_none_or(|b| b.status != ProbeStatus::Unknown) =>
                {
                    best = Some(probe)
                }
                ProbeStatus::Unusable if best.is_none() => best = Some(probe),
                _ => {}
            }
        }
        best.unwrap_or_else(|| {
            Probe::unusable(
                format!("leafcrypt has no key source for '{}' keys", entry.kind),
                "decrypt this file with a tool that supports this key kind, or add another key to it",
            )
        })
    }
}

/// The authority (`host[:port]`, lowercased, user info dropped) of an absolute URL: the
/// host that errors name. Taken from the text itself: a URL parser would rewrite hosts
/// such as `0.0.1` (an IPv4 shorthand), which Key Vault challenge checks compare
/// literally.
pub fn authority(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..end];
    let auth = auth.rsplit_once('@').map(|(_, h)| h).unwrap_or(auth);
    auth.to_ascii_lowercase()
}
