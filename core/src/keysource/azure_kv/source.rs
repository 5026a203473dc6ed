//! [`AzureKvSource`]: Key Vault as a [`KeySource`] for `azure_kv` entries, as sops 3.11
//! writes and reads them.
//!
//! Wrapping pins the key version (an unpinned key is resolved to the vault's latest, as
//! sops does) and encrypts the data key with RSA-OAEP-256: locally with the cached public
//! key by default (no vault call once the key is known, no `encrypt` permission needed),
//! or with the vault's `encrypt` when asked. `enc` is unpadded base64url, as sops writes.
//! Unwrapping is the vault's `decrypt` on the pinned version (latest when the file has
//! none, as sops does).
//!
//! The source is a cheap handle: clones share one [`KeyVaultClient`], so every file of a
//! batch shares its challenges, tokens and public keys.

use super::client::{b64url, b64url_decode, Algorithm, KeyVaultClient};
use super::error::{KvError, Operation};
use super::key_id::{KeyId, KIND};
use crate::keysource::{KeyEntry, KeyError, KeySource};
use crate::secret::Secret;
use async_trait::async_trait;
use std::rc::Rc;

/// The Azure Key Vault key source.
#[derive(Clone, Debug)]
pub struct AzureKvSource {
    client: Rc<KeyVaultClient>,
    remote_encrypt: bool,
}

/// A wrapped data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wrapped {
    /// The key, pinned to the version that wrapped.
    pub key: KeyId,
    /// Unpadded base64url RSA ciphertext (sops's `enc`).
    pub enc: String,
}

impl AzureKvSource {
    /// A source on `client` that encrypts locally.
    pub fn new(client: Rc<KeyVaultClient>) -> Self {
        Self {
            client,
            remote_encrypt: false,
        }
    }

    /// Encrypt with the vault's `encrypt` instead of locally (needs `keys/encrypt`).
    pub fn with_remote_encrypt(mut self, remote: bool) -> Self {
        self.remote_encrypt = remote;
        self
    }

    /// The shared client.
    pub fn client(&self) -> &Rc<KeyVaultClient> {
        &self.client
    }

    /// The vault's current version of key `name` in `vault_url`, always asked of the
    /// vault (for reports of entries pinned to an older version).
    pub async fn current_version(&self, vault_url: &str, name: &str) -> Result<String, KvError> {
        let key = KeyId::new(vault_url, name, None);
        if !key.vault_url.starts_with("https://") || key.name.is_empty() {
            return Err(KvError::InvalidKey(super::key_id::KeyIdError {
                input: key.to_string(),
                reason: "expected an https:// vault URL and a key name",
            }));
        }
        self.client.latest_version(&key).await
    }

    /// Encrypts `secret` (a data key) for `key`, pinning its version.
    pub async fn wrap_secret(&self, key: &KeyId, secret: &[u8]) -> Result<Wrapped, KvError> {
        wrap_with(&self.client, key, secret, self.remote_encrypt).await
    }

    /// Decrypts `enc` with `key` (its pinned version, else the latest).
    pub async fn unwrap_secret(&self, key: &KeyId, enc: &str) -> Result<Secret, KvError> {
        let ciphertext = b64url_decode(enc).map_err(|_| KvError::Crypto {
            key: key.clone(),
            message: "enc is not base64url".into(),
        })?;
        let mut result = self
            .client
            .decrypt(key, Algorithm::RsaOaep256, &ciphertext)
            .await?;
        Ok(Secret::new(std::mem::take(&mut *result.value)))
    }
}

/// Encrypts `secret` for `key` with `client`: locally with the public key unless
/// `remote_encrypt` is set or the key type cannot encrypt locally. An unpinned key is
/// resolved to its latest version (one `get` per client); a pinned key with
/// `remote_encrypt` needs no `get` at all.
pub(crate) async fn wrap_with(
    client: &KeyVaultClient,
    key: &KeyId,
    secret: &[u8],
    remote_encrypt: bool,
) -> Result<Wrapped, KvError> {
    let remote = |key: KeyId| async move {
        let result = client.encrypt(&key, Algorithm::RsaOaep256, secret).await?;
        Ok(Wrapped {
            enc: b64url(&result.value),
            key,
        })
    };
    if remote_encrypt && key.version.is_some() {
        return remote(key.clone()).await;
    }
    let public = client.public_key(key).await?;
    if remote_encrypt || !public.can_encrypt_locally() {
        return remote(public.id.clone()).await;
    }
    if !public.enabled {
        return Err(KvError::KeyDisabled {
            key: public.id.clone(),
            operation: Operation::Encrypt,
            detail: Some("refusing to encrypt to a disabled version: it could not decrypt".into()),
        });
    }
    let ciphertext = public
        .encrypt_oaep256(secret)
        .map_err(|message| KvError::Crypto {
            key: public.id.clone(),
            message,
        })?;
    Ok(Wrapped {
        key: public.id.clone(),
        enc: b64url(&ciphertext),
    })
}

#[async_trait(?Send)]
impl KeySource for AzureKvSource {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        let id = KeyId::from_entry(key).map_err(KvError::from)?;
        let wrapped = self.wrap_secret(&id, secret).await?;
        let mut entry = key.description();
        entry.set("vault_url", wrapped.key.vault_url.clone());
        entry.set("name", wrapped.key.name.clone());
        entry.set("version", wrapped.key.version.clone().unwrap_or_default());
        entry.set("created_at", now);
        entry.set("enc", wrapped.enc);
        Ok(entry)
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let id = KeyId::from_entry(entry).map_err(KvError::from)?;
        let enc = entry
            .get("enc")
            .filter(|e| !e.is_empty())
            .ok_or_else(|| KeyError::Failed {
                kind: KIND.into(),
                message: format!("the azure_kv entry for {id} has no enc"),
            })?;
        Ok(self.unwrap_secret(&id, enc).await?)
    }
}
