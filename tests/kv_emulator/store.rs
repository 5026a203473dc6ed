//! The vault's keys: named keys, each a list of versions, kept in memory and optionally
//! persisted to a JSON file (private keys as PKCS#8 PEM) after every change.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};

use crate::crypto;

/// Key operations a new key allows unless its create request names others.
pub const DEFAULT_KEY_OPS: [&str; 6] = [
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
];

/// A failure to load or save the state file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the state file failed.
    #[error("state file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The state file is not valid JSON of the expected shape.
    #[error("state file {path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A private key in the state file or being saved is not valid PKCS#8.
    #[error("state file {path}: key {name}: {source}")]
    Pem {
        path: PathBuf,
        name: String,
        source: rsa::pkcs8::Error,
    },
}

/// One version of a key.
#[derive(Clone)]
pub struct KeyVersion {
    /// 32 lowercase hex digits.
    pub version: String,
    /// The RSA key pair.
    pub key: RsaPrivateKey,
    /// Disabled versions refuse decrypt and unwrap, and are skipped as "latest".
    pub enabled: bool,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds.
    pub updated: u64,
    /// Operations this version allows (Key Vault's `key_ops`).
    pub key_ops: Vec<String>,
    /// Free-form tags, echoed back.
    pub tags: BTreeMap<String, String>,
}

impl KeyVersion {
    /// A fresh enabled version of `key` with the default operations and no tags.
    pub fn new(key: RsaPrivateKey) -> Self {
        let mut id = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut id);
        let now = crate::now();
        Self {
            version: id.iter().map(|b| format!("{b:02x}")).collect(),
            key,
            enabled: true,
            created: now,
            updated: now,
            key_ops: DEFAULT_KEY_OPS.iter().map(|s| s.to_string()).collect(),
            tags: BTreeMap::new(),
        }
    }

    /// Whether `key_ops` allows `op` (Key Vault's spelling, e.g. `unwrapKey`).
    pub fn allows(&self, op: &str) -> bool {
        self.key_ops.iter().any(|o| o.eq_ignore_ascii_case(op))
    }
}

/// A change to a version's attributes (PATCH).
#[derive(Default)]
pub struct Update {
    /// New `enabled` attribute.
    pub enabled: Option<bool>,
    /// New `key_ops`.
    pub key_ops: Option<Vec<String>>,
    /// New tags (replacing the old ones).
    pub tags: Option<BTreeMap<String, String>>,
}

/// All keys, with their versions oldest first.
pub struct Store {
    keys: BTreeMap<String, Vec<KeyVersion>>,
    path: Option<PathBuf>,
}

/// The on-disk form of one version.
#[derive(Serialize, Deserialize)]
struct Saved {
    version: String,
    pem: String,
    enabled: bool,
    created: u64,
    updated: u64,
    key_ops: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

impl Store {
    /// An empty store, or the one saved at `path` (empty when the file does not exist yet).
    pub fn open(path: Option<PathBuf>) -> Result<Self, StoreError> {
        let keys = match &path {
            Some(p) if p.exists() => load(p)?,
            _ => BTreeMap::new(),
        };
        Ok(Self { keys, path })
    }

    /// Whether a key named `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.keys.contains_key(name)
    }

    /// Appends `version` to key `name` (creating the key) and saves.
    pub fn add(&mut self, name: &str, version: KeyVersion) -> Result<KeyVersion, StoreError> {
        self.keys
            .entry(name.to_string())
            .or_default()
            .push(version.clone());
        self.save()?;
        Ok(version)
    }

    /// Version `version` of `name`, or with `None` the newest enabled version (the newest
    /// version when all are disabled).
    pub fn get(&self, name: &str, version: Option<&str>) -> Option<&KeyVersion> {
        let versions = self.keys.get(name)?;
        match version {
            Some(v) => versions.iter().find(|k| k.version == v),
            None => versions
                .iter()
                .rev()
                .find(|k| k.enabled)
                .or(versions.last()),
        }
    }

    /// Every version of `name`, oldest first.
    pub fn versions(&self, name: &str) -> Option<&[KeyVersion]> {
        self.keys.get(name).map(Vec::as_slice)
    }

    /// Applies `update` to a version and saves; `Ok(None)` when it does not exist.
    pub fn update(
        &mut self,
        name: &str,
        version: &str,
        update: Update,
    ) -> Result<Option<KeyVersion>, StoreError> {
        let Some(found) = self
            .keys
            .get_mut(name)
            .and_then(|vs| vs.iter_mut().find(|k| k.version == version))
        else {
            return Ok(None);
        };
        if let Some(enabled) = update.enabled {
            found.enabled = enabled;
        }
        if let Some(ops) = update.key_ops {
            found.key_ops = ops;
        }
        if let Some(tags) = update.tags {
            found.tags = tags;
        }
        found.updated = crate::now();
        let updated = found.clone();
        self.save()?;
        Ok(Some(updated))
    }

    /// Writes the state file (atomically, mode 0600) when there is one.
    fn save(&self) -> Result<(), StoreError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut saved: BTreeMap<&str, Vec<Saved>> = BTreeMap::new();
        for (name, versions) in &self.keys {
            let list = saved.entry(name).or_default();
            for v in versions {
                let pem = crypto::to_pem(&v.key).map_err(|source| StoreError::Pem {
                    path: path.clone(),
                    name: name.clone(),
                    source,
                })?;
                list.push(Saved {
                    version: v.version.clone(),
                    pem,
                    enabled: v.enabled,
                    created: v.created,
                    updated: v.updated,
                    key_ops: v.key_ops.clone(),
                    tags: v.tags.clone(),
                });
            }
        }
        let json = serde_json::to_vec_pretty(&saved).map_err(|source| StoreError::Json {
            path: path.clone(),
            source,
        })?;
        write_private(path, &json).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })
    }
}

/// Reads a state file written by [`Store::save`].
fn load(path: &Path) -> Result<BTreeMap<String, Vec<KeyVersion>>, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = fs::read(path).map_err(io)?;
    let saved: BTreeMap<String, Vec<Saved>> =
        serde_json::from_slice(&text).map_err(|source| StoreError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let mut keys = BTreeMap::new();
    for (name, list) in saved {
        let mut versions = Vec::with_capacity(list.len());
        for s in list {
            let key = crypto::from_pem(&s.pem).map_err(|source| StoreError::Pem {
                path: path.to_path_buf(),
                name: name.clone(),
                source,
            })?;
            versions.push(KeyVersion {
                version: s.version,
                key,
                enabled: s.enabled,
                created: s.created,
                updated: s.updated,
                key_ops: s.key_ops,
                tags: s.tags,
            });
        }
        keys.insert(name, versions);
    }
    Ok(keys)
}

/// Writes `bytes` to a sibling temp file readable only by the owner, then renames it over `path`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RsaPrivateKey {
        crypto::generate(2048).expect("keygen")
    }

    #[test]
    fn latest_is_the_newest_enabled_version() {
        let mut store = Store::open(None).expect("memory store");
        let v1 = store.add("k", KeyVersion::new(key())).expect("add");
        let v2 = store.add("k", KeyVersion::new(key())).expect("add");
        assert_eq!(v1.version.len(), 32);
        assert!(v1
            .version
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(store.get("k", None).map(|k| &k.version), Some(&v2.version));
        let off = Update {
            enabled: Some(false),
            ..Update::default()
        };
        store.update("k", &v2.version, off).expect("save");
        assert_eq!(store.get("k", None).map(|k| &k.version), Some(&v1.version));
        let off = Update {
            enabled: Some(false),
            ..Update::default()
        };
        store.update("k", &v1.version, off).expect("save");
        assert_eq!(store.get("k", None).map(|k| &k.version), Some(&v2.version));
        assert!(store.get("k", Some("0".repeat(32).as_str())).is_none());
        assert!(store.get("other", None).is_none());
    }

    #[test]
    fn state_file_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let mut store = Store::open(Some(path.clone())).expect("new file");
        let v1 = store.add("k", KeyVersion::new(key())).expect("add");
        let off = Update {
            enabled: Some(false),
            ..Update::default()
        };
        store.update("k", &v1.version, off).expect("save");
        let again = Store::open(Some(path.clone())).expect("reload");
        let got = again.get("k", Some(&v1.version)).expect("version kept");
        assert_eq!(got.key, v1.key);
        assert!(!got.enabled);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
