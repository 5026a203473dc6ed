//! [`HcVaultSource`]: the `hc_vault` [`KeySource`]. Wrapping writes the entry's fields in
//! sops's order (`vault_address`, `engine_path`, `key_name`, `created_at`, `enc`).

use super::client::{Inspect, KeyVersions, TransitKey, VaultClient};
use crate::keysource::{KeyEntry, KeyError, KeySource, Probe};
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

    /// A token is present; `GET {engine}/keys/{name}` tells the key's versions (the
    /// entry's `vault:vN:` version against `latest_version` and `min_decryption_version`),
    /// `sys/capabilities-self` whether the token may `update` `{engine}/decrypt/{name}`.
    /// Nothing is decrypted.
    async fn probe(&self, entry: &KeyEntry) -> Probe {
        let transit = match transit_key(entry) {
            Ok(t) => t,
            Err(e) => return Probe::unusable(e.to_string(), "fix the entry's Vault key fields"),
        };
        if !self.client.has_token() {
            return Probe::unusable(
                "no Vault token (VAULT_TOKEN unset, no ~/.vault-token)",
                "set VAULT_TOKEN or run `vault login`",
            );
        }
        let versions = match self.client.read_key(&transit).await {
            Ok(Inspect::Answer(v)) => Some(v),
            Ok(Inspect::Refused(404, _)) => {
                return Probe::unusable(
                    format!("Vault has no transit key '{}'", transit.path()),
                    "check the entry's vault_address, engine_path and key_name",
                )
            }
            Ok(Inspect::Refused(503, _)) => {
                return Probe::unusable(
                    format!("Vault at {} is sealed", transit.address),
                    "unseal Vault (vault operator unseal)",
                )
            }
            Ok(Inspect::Refused(_, _)) => None,
            Err(e) => {
                return Probe::unknown(e.to_string(), "check that Vault is reachable and retry")
            }
        };
        let entry_version = entry
            .get("enc")
            .and_then(|e| e.strip_prefix("vault:v"))
            .and_then(|e| e.split(':').next())
            .and_then(|v| v.parse::<u64>().ok());
        if let (Some(v), Some(KeyVersions { min_decryption, .. })) = (entry_version, versions) {
            if v < min_decryption {
                return Probe::unusable(
                    format!(
                        "the data key was wrapped with version {v} of '{}', below its \
                         min_decryption_version {min_decryption}",
                        transit.path()
                    ),
                    format!(
                        "lower min_decryption_version to {v} (vault write {}/keys/{}/config \
                         min_decryption_version={v}), decrypt, then rotate the file",
                        transit.engine, transit.name
                    ),
                );
            }
        }
        let decrypt_path = format!(
            "{}/decrypt/{}",
            transit.engine.trim_matches('/'),
            transit.name
        );
        let mut probe = match self.client.capabilities(&transit, &decrypt_path).await {
            Ok(Inspect::Answer(caps))
                if caps.iter().any(|c| c == "update" || c == "root" || c == "sudo") =>
            {
                Probe::usable(format!("the token may update {decrypt_path}"))
            }
            Ok(Inspect::Answer(caps)) => {
                return Probe::unusable(
                    format!(
                        "the token's capabilities on {decrypt_path} are [{}]",
                        caps.join(", ")
                    ),
                    format!("ask for a policy granting 'update' on {decrypt_path}"),
                )
            }
            Ok(Inspect::Refused(403, _)) if versions.is_none() => {
                return Probe::unusable(
                    "Vault denied the token (invalid or expired)",
                    "log in again (vault login) or set a valid VAULT_TOKEN",
                )
            }
            Ok(Inspect::Refused(status, _)) => Probe::unknown(
                format!("sys/capabilities-self answered {status}; the decrypt capability was not checked"),
                "try `decrypt` to find out whether the token may decrypt",
            ),
            Err(e) => return Probe::unknown(e.to_string(), "check that Vault is reachable and retry"),
        };
        if let (Some(v), Some(KeyVersions { latest, .. })) = (entry_version, versions) {
            if v < latest {
                probe = probe.with_stale(format!(
                    "the data key is wrapped with version {v}, the key's latest is {latest}: run \
                     `leafcrypt rotate -i FILE` to re-wrap with it"
                ));
            }
        }
        probe
    }
}
