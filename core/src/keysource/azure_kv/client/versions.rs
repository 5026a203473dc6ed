//! Key versions: `GET /keys/{name}[/{version}]`, the latest version of a key, and the
//! cached public keys that local encryption uses.

use super::{KeyVaultClient, KeyVaultKey};
use crate::keysource::azure_kv::error::{KvError, Operation};
use crate::keysource::azure_kv::key_id::KeyId;
use crate::keysource::azure_kv::local::{JsonWebKey, PublicKey};
use crate::keysource::rest::platform;
use serde::Deserialize;
use std::rc::Rc;

#[derive(Deserialize)]
struct KeyBundle {
    key: JsonWebKey,
    #[serde(default)]
    attributes: Option<Attributes>,
}

#[derive(Deserialize)]
struct Attributes {
    enabled: Option<bool>,
}

impl KeyVaultClient {
    /// `GET /keys/{name}[/{version}]`: the key version's public JWK and attributes. An
    /// unpinned `key` returns the latest version (the result's `id` is pinned to it).
    pub async fn get_key(&self, key: &KeyId) -> Result<KeyVaultKey, KvError> {
        let body = self.call(Operation::Get, key, None).await?;
        let invalid = |message: String| KvError::InvalidResponse {
            key: Box::new(key.clone()),
            operation: Operation::Get,
            message,
        };
        let bundle: KeyBundle =
            serde_json::from_str(&body).map_err(|e| invalid(format!("not a key bundle: {e}")))?;
        let version = KeyId::parse(&bundle.key.kid)
            .ok()
            .and_then(|k| k.version)
            .ok_or_else(|| invalid(format!("kid \"{}\" names no version", bundle.key.kid)))?;
        if key.version.as_ref().is_some_and(|v| *v != version) {
            return Err(invalid(format!("asked for one version, got {version}")));
        }
        Ok(KeyVaultKey {
            id: key.with_version(version),
            jwk: bundle.key,
            enabled: bundle.attributes.and_then(|a| a.enabled).unwrap_or(true),
        })
    }

    /// The current (latest) version of `key`, always asked of the vault; the answer
    /// also becomes this client's "latest" for the key.
    pub async fn latest_version(&self, key: &KeyId) -> Result<String, KvError> {
        let fetched = self.get_key(&key.unversioned()).await?;
        let version = fetched.id.version.clone().unwrap_or_default();
        self.remember(fetched, true)?;
        Ok(version)
    }

    /// The public key of `key` from this client's cache, the public-key store or the vault
    /// (an unpinned key is resolved to its latest version once per client).
    pub async fn public_key(&self, key: &KeyId) -> Result<Rc<PublicKey>, KvError> {
        if let Some(found) = self.keys.lookup(key, platform::now_unix()) {
            return Ok(found);
        }
        let fetched = self.get_key(key).await?;
        self.remember(fetched, key.version.is_none())
    }

    fn remember(&self, fetched: KeyVaultKey, latest: bool) -> Result<Rc<PublicKey>, KvError> {
        let id = fetched.id.clone();
        let public =
            PublicKey::new(fetched.id, fetched.jwk, fetched.enabled).map_err(|message| {
                KvError::Crypto {
                    key: Box::new(id),
                    message,
                }
            })?;
        Ok(self.keys.insert(public, latest, Some(platform::now_unix())))
    }
}
