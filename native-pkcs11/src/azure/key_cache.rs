//! The on-disk cache of Key Vault PUBLIC keys (never private material), so that encrypting
//! to a pinned key version needs no `get` in later runs.
//!
//! One JSON file per key version, named by the SHA-256 of its key id, in
//! `$LEAFCRYPT_AZURE_KV_KEY_CACHE`, else `$XDG_CACHE_HOME/leafcrypt/azure-kv`, else
//! `~/.cache/leafcrypt/azure-kv`; `LEAFCRYPT_AZURE_KV_KEY_CACHE=off` disables it. Entries
//! are trusted for the client's TTL (one day). Writes are atomic; errors are ignored (the
//! cache is an optimisation, the vault is the truth).

use leafcrypt_core::keysource::azure_kv::local::{PublicKeyStore, StoredKey};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

/// A directory of cached public keys.
pub struct DiskKeyCache {
    dir: PathBuf,
}

impl DiskKeyCache {
    /// The cache the environment names, or none when disabled or no home is known.
    pub fn from_env() -> Option<Self> {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let dir = match var("LEAFCRYPT_AZURE_KV_KEY_CACHE") {
            Some(v) if v == "off" => return None,
            Some(v) => PathBuf::from(v),
            None => var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")))?
                .join("leafcrypt")
                .join("azure-kv"),
        };
        Some(Self { dir })
    }

    fn path(&self, kid: &str) -> PathBuf {
        let digest = Sha256::digest(kid.as_bytes());
        let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }
}

impl PublicKeyStore for DiskKeyCache {
    fn load(&self, kid: &str) -> Option<StoredKey> {
        let bytes = fs::read(self.path(kid)).ok()?;
        let stored: StoredKey = serde_json::from_slice(&bytes).ok()?;
        // A file copied under another name must not answer for a different key.
        (stored.jwk.kid.trim_end_matches('/') == kid.trim_end_matches('/')
            || stored.jwk.kid.is_empty())
        .then_some(stored)
    }

    fn save(&self, kid: &str, key: &StoredKey) {
        let _ = (|| -> std::io::Result<()> {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)?;
            let json = serde_json::to_vec(key).map_err(std::io::Error::other)?;
            let target = self.path(kid);
            let temp = target.with_extension(format!("tmp{}", std::process::id()));
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            fs::rename(&temp, &target)
        })();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leafcrypt_core::keysource::azure_kv::local::JsonWebKey;

    fn key(kid: &str) -> StoredKey {
        StoredKey {
            jwk: JsonWebKey {
                kid: kid.into(),
                kty: "RSA".into(),
                n: Some("AQAB".into()),
                e: Some("AQAB".into()),
                key_ops: vec![],
            },
            enabled: true,
            fetched_at: 1_700_000_000,
        }
    }

    #[test]
    fn saves_and_loads_by_key_id_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskKeyCache {
            dir: dir.path().join("kv"),
        };
        let kid = "https://v.vault.azure.net/keys/k/0123";
        assert!(cache.load(kid).is_none());
        cache.save(kid, &key(kid));
        assert_eq!(cache.load(kid), Some(key(kid)));
        assert!(cache
            .load("https://v.vault.azure.net/keys/k/other")
            .is_none());
        // A file that names another key is not trusted for this one.
        fs::copy(cache.path(kid), cache.path("https://x/keys/k/1")).unwrap();
        assert!(cache.load("https://x/keys/k/1").is_none());
    }
}
