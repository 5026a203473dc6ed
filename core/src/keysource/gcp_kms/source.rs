//! [`GcpKmsSource`]: the `gcp_kms` [`KeySource`].

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::client::GcpKmsClient;
use super::credential::Env;
use super::error::GcpKmsError;
use super::KIND;
use crate::keysource::{KeyEntry, KeyError, KeySource, Probe};
use crate::secret::Secret;

/// Wraps and unwraps data keys with Cloud KMS.
pub struct GcpKmsSource {
    client: Result<GcpKmsClient, String>,
}

impl GcpKmsSource {
    /// A source whose client reads its configuration through `env`. A configuration
    /// error (a bad `SSL_CERT_FILE`) is reported when a `gcp_kms` key is used, not before.
    pub fn from_env(env: Env) -> Self {
        Self {
            client: GcpKmsClient::from_env(env).map_err(|e| e.to_string()),
        }
    }

    /// A source over `client`.
    pub fn new(client: GcpKmsClient) -> Self {
        Self { client: Ok(client) }
    }

    fn client(&self) -> Result<&GcpKmsClient, KeyError> {
        self.client.as_ref().map_err(|message| KeyError::Failed {
            kind: KIND.into(),
            message: message.clone(),
        })
    }
}

fn resource_id(entry: &KeyEntry) -> String {
    // sops removes spaces from resource IDs.
    entry
        .get("resource_id")
        .unwrap_or_default()
        .replace(' ', "")
}

#[async_trait(?Send)]
impl KeySource for GcpKmsSource {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        let id = resource_id(key);
        let ciphertext = self.client()?.encrypt(&id, secret).await?;
        // sops's field order: resource_id, created_at, enc.
        let mut entry = KeyEntry::new(KIND);
        entry.set("resource_id", id);
        entry.set("created_at", now);
        entry.set("enc", STANDARD.encode(ciphertext));
        Ok(entry)
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let id = resource_id(entry);
        let enc = entry
            .get("enc")
            .filter(|e| !e.is_empty())
            .ok_or_else(|| GcpKmsError::Entry {
                resource: id.clone(),
                message: "no enc".into(),
            })?;
        let ciphertext = STANDARD.decode(enc).map_err(|_| GcpKmsError::Entry {
            resource: id.clone(),
            message: "enc is not base64".into(),
        })?;
        let mut plaintext = self.client()?.decrypt(&id, &ciphertext).await?;
        Ok(Secret::new(std::mem::take(&mut *plaintext)))
    }

    /// `testIamPermissions` (no side effect): a credential is obtainable and holds
    /// `cloudkms.cryptoKeyVersions.useToDecrypt` on the key.
    async fn probe(&self, entry: &KeyEntry) -> Probe {
        const DECRYPT: &str = "cloudkms.cryptoKeyVersions.useToDecrypt";
        let id = resource_id(entry);
        let client = match self.client() {
            Ok(c) => c,
            Err(e) => return Probe::unusable(e.to_string(), "fix the GCP KMS client settings"),
        };
        match client.test_permissions(&id, &[DECRYPT]).await {
            Ok(granted) if granted.iter().any(|p| p == DECRYPT) => {
                Probe::usable(format!("the caller holds {DECRYPT} on {id}"))
            }
            Ok(_) => Probe::unusable(
                format!("the caller lacks {DECRYPT} on {id}"),
                format!("grant roles/cloudkms.cryptoKeyDecrypter on {id} to the caller"),
            ),
            Err(e) => {
                let advice = match &e {
                    GcpKmsError::Credentials(_) | GcpKmsError::Token { .. } => {
                        "sign in: `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS"
                    }
                    GcpKmsError::Service(f) if f.status == 404 => "check the resource ID: the key does not exist",
                    GcpKmsError::Service(f) if f.status == 403 || f.status == 401 => {
                        "grant roles/cloudkms.cryptoKeyDecrypter on the key to the caller"
                    }
                    GcpKmsError::InvalidResource(_) | GcpKmsError::Entry { .. } => "fix the entry's resource_id",
                    _ => {
                        return Probe::unknown(e.to_string(), "check the network and retry `leafcrypt doctor`")
                    }
                };
                Probe::unusable(e.to_string(), advice)
            }
        }
    }
}
