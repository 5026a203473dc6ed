//! Key Vault key identifiers: `https://{vault}/keys/{name}[/{version}]`, parsed as sops
//! 3.11 parses them, and their `azure_kv` metadata entries.

use crate::keysource::{authority, KeyEntry};
use regex::Regex;
use std::fmt;
use std::sync::OnceLock;

/// The metadata kind of Key Vault entries.
pub const KIND: &str = "azure_kv";

/// A Key Vault key, optionally pinned to a version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId {
    /// `https://host[:port]`, no trailing slash.
    pub vault_url: String,
    /// The key name.
    pub name: String,
    /// The version (32 hex characters on a real vault); `None` means the latest.
    pub version: Option<String>,
}

/// A key URL or entry that is not a Key Vault key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("could not parse \"{input}\" into a valid Azure Key Vault key: {reason}")]
pub struct KeyIdError {
    /// What was given.
    pub input: String,
    /// Why it was refused.
    pub reason: &'static str,
}

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(https://[^/]+)/keys/([^/]+)(/[^/]*)?$").expect("the key URL pattern")
    })
}

impl KeyId {
    /// A key id from its parts (`vault_url` loses a trailing slash; an empty version is
    /// `None`).
    pub fn new(vault_url: &str, name: &str, version: Option<&str>) -> Self {
        Self {
            vault_url: vault_url.trim().trim_end_matches('/').to_string(),
            name: name.trim().to_string(),
            version: version
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        }
    }

    /// Parses `https://{host}[:port]/keys/{name}[/{version}]` exactly as sops does: the
    /// input is trimmed, only `https` is accepted, and a trailing slash (an empty version)
    /// means "latest". A vault's `kid` parses the same way.
    pub fn parse(url: &str) -> Result<Self, KeyIdError> {
        let trimmed = url.trim();
        let caps = pattern().captures(trimmed).ok_or_else(|| KeyIdError {
            input: url.to_string(),
            reason: if trimmed.starts_with("https://") {
                "expected https://VAULT/keys/NAME[/VERSION]"
            } else {
                "only https:// key URLs are accepted (expected https://VAULT/keys/NAME[/VERSION])"
            },
        })?;
        let version = caps
            .get(3)
            .map(|m| m.as_str().trim_start_matches('/'))
            .filter(|v| !v.is_empty());
        Ok(Self {
            vault_url: caps[1].to_string(),
            name: caps[2].to_string(),
            version: version.map(str::to_string),
        })
    }

    /// The key described by an `azure_kv` entry (`vault_url`, `name`, `version`).
    pub fn from_entry(entry: &KeyEntry) -> Result<Self, KeyIdError> {
        let invalid = |reason| KeyIdError {
            input: entry.identity(),
            reason,
        };
        if entry.kind != KIND {
            return Err(invalid("not an azure_kv entry"));
        }
        let vault = entry.get("vault_url").unwrap_or_default().trim();
        let name = entry.get("name").unwrap_or_default().trim();
        if !vault.starts_with("https://") {
            return Err(invalid("vault_url must start with https://"));
        }
        let id = Self::new(vault, name, entry.get("version"));
        let host = id.host();
        if host.is_empty() || id.vault_url.len() != "https://".len() + host.len() {
            return Err(invalid("vault_url must be https://HOST[:PORT]"));
        }
        if id.name.is_empty() || id.name.contains('/') {
            return Err(invalid("the entry needs a key name without '/'"));
        }
        if id.version.as_deref().is_some_and(|v| v.contains('/')) {
            return Err(invalid("the version must not contain '/'"));
        }
        Ok(id)
    }

    /// The key description entry sops writes, fields in sops's order (`vault_url`, `name`,
    /// `version`; an unpinned version is `""`). `created_at` and `enc` follow on wrapping.
    pub fn to_entry(&self) -> KeyEntry {
        KeyEntry::new(KIND)
            .with("vault_url", self.vault_url.clone())
            .with("name", self.name.clone())
            .with("version", self.version.clone().unwrap_or_default())
    }

    /// `host[:port]` of the vault, as written (lowercased).
    pub fn host(&self) -> String {
        authority(&self.vault_url)
    }

    /// This key pinned to `version`.
    pub fn with_version(&self, version: impl Into<String>) -> Self {
        Self {
            version: Some(version.into()).filter(|v: &String| !v.is_empty()),
            ..self.clone()
        }
    }

    /// This key without a version (the latest).
    pub fn unversioned(&self) -> Self {
        Self {
            version: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/keys/{}", self.vault_url, self.name)?;
        if let Some(v) = &self.version {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for KeyId {
    type Err = KeyIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> (String, String, Option<String>) {
        let id = KeyId::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        (id.vault_url, id.name, id.version)
    }

    #[test]
    fn parses_like_sops() {
        assert_eq!(
            ok("https://v.vault.azure.net/keys/k/0123abcd"),
            (
                "https://v.vault.azure.net".into(),
                "k".into(),
                Some("0123abcd".into())
            )
        );
        assert_eq!(
            ok("  https://v.vault.azure.net/keys/k \n"),
            ("https://v.vault.azure.net".into(), "k".into(), None)
        );
        // A trailing slash is an empty version: latest.
        assert_eq!(ok("https://127.0.0.1:8443/keys/k/").2, None);
        assert_eq!(
            ok("https://127.0.0.1:8443/keys/k/").0,
            "https://127.0.0.1:8443"
        );
    }

    #[test]
    fn refuses_what_sops_refuses() {
        for bad in [
            "http://v.vault.azure.net/keys/k",
            "https://v.vault.azure.net/keys/",
            "https://v.vault.azure.net/keys/k/v/extra",
            "https://v.vault.azure.net/secrets/k",
            "https:///keys/k",
            "https://v.vault.azure.net/x/keys/k",
            "",
        ] {
            assert!(KeyId::parse(bad).is_err(), "{bad} should be refused");
        }
        let e = KeyId::parse("http://v/keys/k").unwrap_err().to_string();
        assert!(e.contains("only https://"), "{e}");
        assert!(e.contains("\"http://v/keys/k\""), "{e}");
    }

    #[test]
    fn displays_and_round_trips_through_entries() {
        let id = KeyId::parse("https://v.vault.azure.net/keys/k/abc").unwrap();
        assert_eq!(id.to_string(), "https://v.vault.azure.net/keys/k/abc");
        assert_eq!(
            id.unversioned().to_string(),
            "https://v.vault.azure.net/keys/k"
        );
        let entry = id.to_entry();
        let names: Vec<&str> = entry.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["vault_url", "name", "version"]);
        assert_eq!(KeyId::from_entry(&entry).unwrap(), id);
        assert_eq!(entry.identity(), id.to_string());

        let latest = id.unversioned().to_entry();
        assert_eq!(latest.get("version"), Some(""));
        assert_eq!(KeyId::from_entry(&latest).unwrap().version, None);
    }

    #[test]
    fn from_entry_checks_the_fields() {
        let entry = |vault: &str, name: &str| {
            KeyEntry::new(KIND)
                .with("vault_url", vault)
                .with("name", name)
                .with("version", "")
        };
        assert_eq!(
            KeyId::from_entry(&entry("https://v.example/", "k"))
                .unwrap()
                .vault_url,
            "https://v.example"
        );
        assert!(KeyId::from_entry(&entry("http://v.example", "k")).is_err());
        assert!(KeyId::from_entry(&entry("https://v.example/path", "k")).is_err());
        assert!(KeyId::from_entry(&entry("https://v.example", "")).is_err());
        assert!(KeyId::from_entry(&KeyEntry::new("age")).is_err());
    }

    #[test]
    fn authority_keeps_literal_hosts_and_ports() {
        assert_eq!(authority("https://0.0.1:8443"), "0.0.1:8443");
        assert_eq!(
            authority("https://u@Vault.Azure.NET/x?y"),
            "vault.azure.net"
        );
        assert_eq!(authority("https://127.0.0.1:9/keys/k"), "127.0.0.1:9");
    }
}
