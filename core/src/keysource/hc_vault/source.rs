//! [`HcVaultSource`]: the `hc_vault` [`KeySource`]. Wrapping writes the entry's fields in
//! sops's order (`vault_address`, `engine_path`, `key_name`, `created_at`, `enc`).

use super::client::{TransitKey, VaultClient};
use crate::keysource::{KeyEntry, KeyError, KeySource};
use crate::secret::Secret;
use async_trait::async_trait;

/// The `hc_vault` key source over one [`VaultClient`] (any number of vaults).
pub struct HcVaultSource {
    client: VaultClient,
}

impl HcVaultSource {
    /// A source sending through `client`.
    pub fn new(client: VaultClient) -> Self {
        Self { client }
    }
}

/// The transit key an entry names, or why it names none.
pub fn transit_key(entry: &KeyEntry) -> Result<TransitKey, KeyError> {
    let field = |name: &str| {
        entry
            .get(name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| KeyError::InvalidKey {
                kind: "hc_vault".into(),
                key: entry.identity(),
                message: format!("the entry has no {name}"),
            })
    };
    Ok(TransitKey {
        address: field("vault_address")?,
        engine: field("engine_path")?,
        name: field("key_name")?,
    })
}

fn failed(e: super::VaultError) -> KeyError {
    KeyError::Failed {
        kind: "hc_vault".into(),
        message: e.to_string(),
    }
}

#[async_trait(?Send)]
impl KeySource for HcVaultSource {
    fn kind(&self) -> &'static str {
        "hc_vault"
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        let transit = transit_key(key)?;
        let enc = self
            .client
            .encrypt(&transit, secret)
            .await
            .map_err(failed)?;
        let mut entry = key.description();
        entry.set("created_at", now);
        entry.set("enc", enc);
        Ok(entry)
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let transit = transit_key(entry)?;
        let enc =
            entry
                .get("enc")
                .filter(|e| !e.is_empty())
                .ok_or_else(|| KeyError::InvalidKey {
                    kind: "hc_vault".into(),
                    key: entry.identity(),
                    message: "the entry has no enc".into(),
                })?;
        let plain = self.client.decrypt(&transit, enc).await.map_err(failed)?;
        Ok(Secret::new(plain.to_vec()))
    }
}
