//! [`AwsKmsSource`]: AWS KMS as a [`KeySource`] for `kms` entries, as sops 3.11 writes and
//! reads them: `enc` is the standard-base64 `CiphertextBlob` of KMS `Encrypt` (key ARN,
//! encryption context), `created_at` the wrap time; unwrapping is KMS `Decrypt` with the
//! entry's ARN and context, through its role and profile.
//!
//! The source is a cheap handle: clones share one [`KmsClient`], so every file of a batch
//! shares its credentials.

use super::client::KmsClient;
use super::error::AwsError;
use super::key::{KmsKey, KIND};
use crate::keysource::{KeyEntry, KeyError, KeySource, Probe};
use crate::secret::Secret;
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::rc::Rc;

/// The AWS KMS key source.
#[derive(Clone, Debug)]
pub struct AwsKmsSource {
    client: Rc<KmsClient>,
}

impl AwsKmsSource {
    /// A source on `client`.
    pub fn new(client: Rc<KmsClient>) -> Self {
        Self { client }
    }

    /// The shared client.
    pub fn client(&self) -> &Rc<KmsClient> {
        &self.client
    }
}

fn checked(entry: &KeyEntry) -> Result<KmsKey, KeyError> {
    let key = KmsKey::from_entry(entry);
    if key.region().is_none() {
        return Err(AwsError::InvalidArn { arn: key.arn }.into());
    }
    Ok(key)
}

#[async_trait(?Send)]
impl KeySource for AwsKmsSource {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        let kms = checked(key)?;
        let blob = self.client.encrypt(&kms, secret).await?;
        let mut entry = key.description();
        entry.set("created_at", now);
        entry.set("enc", STANDARD.encode(blob));
        Ok(entry)
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let kms = checked(entry)?;
        let enc = entry.get("enc").unwrap_or_default();
        if enc.is_empty() {
            return Err(KeyError::Failed {
                kind: KIND.into(),
                message: format!("{} has no enc", kms.arn),
            });
        }
        let blob = STANDARD.decode(enc).map_err(|e| AwsError::BadEnc {
            key: kms.arn.clone(),
            detail: e.to_string(),
        })?;
        Ok(self.client.decrypt(&kms, &blob).await?)
    }

    /// KMS `DescribeKey` (no side effect): credentials obtainable (role assumed), the
    /// caller allowed to see the key, the key enabled. `kms:Decrypt` itself cannot be
    /// checked without decrypting.
    async fn probe(&self, entry: &KeyEntry) -> Probe {
        let kms = match checked(entry) {
            Ok(kms) => kms,
            Err(e) => return Probe::unusable(e.to_string(), "fix the entry's ARN"),
        };
        match self.client.describe_key(&kms).await {
            Ok(state) if state == "Enabled" => Probe::usable(format!(
                "DescribeKey on {} answered: key Enabled (kms:Decrypt is not checked short of \
                 decrypting)",
                kms.arn
            )),
            Ok(state) => Probe::unusable(
                format!("key {} is {state}", kms.arn),
                "enable the key (aws kms enable-key) or cancel its deletion",
            ),
            Err(e) => {
                let advice = match &e {
                    AwsError::Credentials { .. } => {
                        "provide AWS credentials: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or `aws sso login`"
                    }
                    AwsError::AssumeRole { .. } => "allow the caller to assume the entry's role (sts:AssumeRole)",
                    AwsError::AccessDenied { .. } => {
                        "grant kms:DescribeKey and kms:Decrypt on this key to the caller"
                    }
                    AwsError::Transport { .. } => {
                        return Probe::unknown(e.to_string(), "check the network and retry `leafcrypt doctor`")
                    }
                    _ => "check the key ARN, its region and state",
                };
                Probe::unusable(e.to_string(), advice)
            }
        }
    }
}
