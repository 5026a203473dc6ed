//! Public-key work done without the vault: the JWK of a key version, an in-memory cache
//! of public keys, an optional persistent store of public JWKs behind a trait (the core
//! does no file I/O; the CLI supplies one), and RSA-OAEP-256 encryption, which gives the
//! same ciphertext format as the vault's `encrypt` (SHA-256, MGF1-SHA-256, empty label).
//!
//! Only public-key operations: the private key never leaves Key Vault.

use super::encoding::{b64url, b64url_decode};
use super::key_id::KeyId;
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::{BigUint, Oaep, RsaPublicKey};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

/// The public part of a key version as Key Vault returns it (JSON Web Key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonWebKey {
    /// `https://{vault}/keys/{name}/{version}` as the vault spells it.
    pub kid: String,
    /// `RSA`, `RSA-HSM`, `EC`, …
    pub kty: String,
    /// RSA modulus, unpadded base64url big-endian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, unpadded base64url big-endian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Permitted operations (`encrypt`, `decrypt`, …); empty when not stated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_ops: Vec<String>,
}

impl JsonWebKey {
    /// Whether the key is an RSA key (software or HSM-protected).
    pub fn is_rsa(&self) -> bool {
        matches!(self.kty.as_str(), "RSA" | "RSA-HSM")
    }

    /// The RSA public key from `n` and `e` (at most 4096 bits).
    pub fn rsa_public_key(&self) -> Result<RsaPublicKey, String> {
        let part = |name: &str, v: &Option<String>| {
            v.as_deref()
                .and_then(|s| b64url_decode(s).ok())
                .filter(|b| !b.is_empty())
                .map(|b| BigUint::from_bytes_be(&b))
                .ok_or_else(|| format!("the public key has no valid '{name}'"))
        };
        RsaPublicKey::new(part("n", &self.n)?, part("e", &self.e)?)
            .map_err(|e| format!("the public key is not a usable RSA key: {e}"))
    }

    /// The JWK of an RSA public key (for tests, benches and stores).
    pub fn from_rsa(kid: impl Into<String>, key: &RsaPublicKey) -> Self {
        use rsa::traits::PublicKeyParts;
        Self {
            kid: kid.into(),
            kty: "RSA".into(),
            n: Some(b64url(&key.n().to_bytes_be())),
            e: Some(b64url(&key.e().to_bytes_be())),
            key_ops: Vec::new(),
        }
    }
}

/// A key version's public key, ready for local encryption.
#[derive(Clone, Debug)]
pub struct PublicKey {
    /// The key, pinned to its version.
    pub id: KeyId,
    /// The public JWK.
    pub jwk: JsonWebKey,
    /// Whether the version is enabled.
    pub enabled: bool,
    rsa: Option<RsaPublicKey>,
}

impl PublicKey {
    /// Builds the public key of `id` (which must be pinned) from its JWK.
    pub fn new(id: KeyId, jwk: JsonWebKey, enabled: bool) -> Result<Self, String> {
        let rsa = if jwk.is_rsa() {
            Some(jwk.rsa_public_key()?)
        } else {
            None
        };
        Ok(Self {
            id,
            jwk,
            enabled,
            rsa,
        })
    }

    /// Whether data can be encrypted locally (RSA keys).
    pub fn can_encrypt_locally(&self) -> bool {
        self.rsa.is_some()
    }

    /// RSA-OAEP-256 encryption of `plaintext` (the vault's `RSA-OAEP-256` `encrypt`).
    pub fn encrypt_oaep256(&self, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let key = self
            .rsa
            .as_ref()
            .ok_or_else(|| format!("a {} key cannot encrypt locally", self.jwk.kty))?;
        getrandom::getrandom(&mut [0u8; 1])
            .map_err(|e| format!("no random numbers for RSA-OAEP: {e}"))?;
        key.encrypt(&mut OsRandom, Oaep::new::<sha2::Sha256>(), plaintext)
            .map_err(|e| format!("RSA-OAEP-256 encryption failed: {e}"))
    }
}

/// A public JWK as a [`PublicKeyStore`] keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// The public JWK.
    pub jwk: JsonWebKey,
    /// Whether the version was enabled when fetched.
    pub enabled: bool,
    /// When it was fetched, Unix seconds.
    pub fetched_at: u64,
}

/// A persistent cache of PUBLIC keys, keyed by the pinned key id
/// (`https://vault/keys/name/version`), so that encrypting needs no `get` between runs.
/// The core never calls it for unpinned keys (resolving "latest" always asks the vault).
/// Implementations must tolerate concurrent processes and ignore their own I/O errors.
pub trait PublicKeyStore {
    /// The stored key for `kid`, if any.
    fn load(&self, kid: &str) -> Option<StoredKey>;
    /// Stores `key` for `kid`.
    fn save(&self, kid: &str, key: &StoredKey);
}

/// The public keys one client has seen, plus which version is "latest" for each key.
pub struct PublicKeys {
    by_id: RefCell<HashMap<String, Rc<PublicKey>>>,
    latest: RefCell<HashMap<String, String>>,
    store: Option<Rc<dyn PublicKeyStore>>,
    ttl: Duration,
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKeys")
            .field("cached", &self.by_id.borrow().len())
            .field("store", &self.store.is_some())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl PublicKeys {
    /// An empty cache, backed by `store` for entries younger than `ttl`.
    pub fn new(store: Option<Rc<dyn PublicKeyStore>>, ttl: Duration) -> Self {
        Self {
            by_id: RefCell::default(),
            latest: RefCell::default(),
            store,
            ttl,
        }
    }

    /// The cached key for `key`: pinned keys by id (memory, then the store when fresh at
    /// `now`); unpinned keys through the version remembered as latest in this process.
    pub fn lookup(&self, key: &KeyId, now: u64) -> Option<Rc<PublicKey>> {
        let pinned = match &key.version {
            Some(_) => key.clone(),
            None => {
                let version = self.latest.borrow().get(&key.to_string()).cloned()?;
                key.with_version(version)
            }
        };
        let id = pinned.to_string();
        if let Some(found) = self.by_id.borrow().get(&id) {
            return Some(found.clone());
        }
        let stored = self.store.as_ref()?.load(&id)?;
        if now.saturating_sub(stored.fetched_at) > self.ttl.as_secs() {
            return None;
        }
        let public = PublicKey::new(pinned, stored.jwk, stored.enabled).ok()?;
        Some(self.remember(public))
    }

    /// Caches `key` (fetched at `now` when `fetched_at` is given, which also saves it to
    /// the store); records it as the latest version when it answered an unpinned request.
    pub fn insert(
        &self,
        key: PublicKey,
        was_latest: bool,
        fetched_at: Option<u64>,
    ) -> Rc<PublicKey> {
        if was_latest {
            if let Some(v) = &key.id.version {
                self.latest
                    .borrow_mut()
                    .insert(key.id.unversioned().to_string(), v.clone());
            }
        }
        if let (Some(store), Some(at)) = (&self.store, fetched_at) {
            store.save(
                &key.id.to_string(),
                &StoredKey {
                    jwk: key.jwk.clone(),
                    enabled: key.enabled,
                    fetched_at: at,
                },
            );
        }
        self.remember(key)
    }

    fn remember(&self, key: PublicKey) -> Rc<PublicKey> {
        let key = Rc::new(key);
        self.by_id
            .borrow_mut()
            .insert(key.id.to_string(), key.clone());
        key
    }
}

/// The platform CSPRNG as an `rsa` random source.
struct OsRandom;

impl RngCore for OsRandom {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // OAEP seeds must be random: without a CSPRNG there is nothing safe to do.
        getrandom::getrandom(dest).expect("the platform CSPRNG is unavailable");
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        getrandom::getrandom(dest).map_err(|e| rsa::rand_core::Error::from(e.code()))
    }
}

impl CryptoRng for OsRandom {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::test_support::{test_key, KID_VERSION};
    use rsa::traits::PublicKeyParts;

    struct MemoryStore(RefCell<HashMap<String, StoredKey>>);

    impl PublicKeyStore for MemoryStore {
        fn load(&self, kid: &str) -> Option<StoredKey> {
            self.0.borrow().get(kid).cloned()
        }
        fn save(&self, kid: &str, key: &StoredKey) {
            self.0.borrow_mut().insert(kid.to_string(), key.clone());
        }
    }

    fn id() -> KeyId {
        KeyId::parse(&format!("https://v.vault.azure.net/keys/k/{KID_VERSION}")).unwrap()
    }

    #[test]
    fn local_oaep256_decrypts_with_the_private_key() {
        let private = test_key();
        let jwk = JsonWebKey::from_rsa(id().to_string(), &private.to_public_key());
        let public = PublicKey::new(id(), jwk, true).unwrap();
        let data_key = [7u8; 32];
        let wrapped = public.encrypt_oaep256(&data_key).unwrap();
        assert_eq!(wrapped.len(), private.size());
        let plain = private
            .decrypt(Oaep::new::<sha2::Sha256>(), &wrapped)
            .unwrap();
        assert_eq!(plain, data_key);
        // SHA-1 OAEP (the vault's "RSA-OAEP") must not open it: the digest is SHA-256.
        assert!(private
            .decrypt(Oaep::new::<sha1::Sha1>(), &wrapped)
            .is_err());
    }

    #[test]
    fn rejects_unusable_jwks() {
        let mut jwk = JsonWebKey::from_rsa("kid", &test_key().to_public_key());
        jwk.n = Some("***".into());
        assert!(PublicKey::new(id(), jwk.clone(), true).is_err());
        jwk.n = None;
        assert!(PublicKey::new(id(), jwk, true).is_err());
        let ec = JsonWebKey {
            kid: "kid".into(),
            kty: "EC".into(),
            n: None,
            e: None,
            key_ops: vec![],
        };
        let public = PublicKey::new(id(), ec, true).unwrap();
        assert!(!public.can_encrypt_locally());
        assert!(public.encrypt_oaep256(b"x").is_err());
    }

    #[test]
    fn cache_resolves_latest_and_uses_the_store_within_its_ttl() {
        let store = Rc::new(MemoryStore(RefCell::default()));
        let jwk = JsonWebKey::from_rsa("kid", &test_key().to_public_key());
        let keys = PublicKeys::new(Some(store.clone()), Duration::from_secs(100));
        assert!(keys.lookup(&id().unversioned(), 0).is_none());
        let public = PublicKey::new(id(), jwk.clone(), true).unwrap();
        keys.insert(public, true, Some(1_000));
        let found = keys.lookup(&id().unversioned(), 1_000).unwrap();
        assert_eq!(found.id, id());
        assert_eq!(store.0.borrow()[&id().to_string()].fetched_at, 1_000);

        // A new process (fresh cache) with the same store: fresh entries only.
        let later = PublicKeys::new(Some(store.clone()), Duration::from_secs(100));
        assert!(
            later.lookup(&id().unversioned(), 1_050).is_none(),
            "latest is never stored"
        );
        let hit = later.lookup(&id(), 1_050).unwrap();
        assert_eq!(hit.jwk.n, jwk.n);
        let stale = PublicKeys::new(Some(store), Duration::from_secs(100));
        assert!(stale.lookup(&id(), 1_101).is_none());
        assert_eq!(
            JsonWebKey::from_rsa("kid", &test_key().to_public_key())
                .rsa_public_key()
                .unwrap()
                .n(),
            test_key().n()
        );
    }
}
