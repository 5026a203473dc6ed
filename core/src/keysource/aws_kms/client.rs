//! The KMS JSON API client: `TrentService.Encrypt` / `TrentService.Decrypt`, SigV4
//! signed, in the key's region (from its ARN, as sops), at `AWS_ENDPOINT_URL_KMS` /
//! `AWS_ENDPOINT_URL` when set. Throttling and transient failures are retried. The
//! credentials of each (profile, role, region) are resolved once and cached.

use super::credentials::chain::{AssumeRoleProvider, CachedProvider, ChainProvider};
use super::credentials::{AwsCredentials, AwsEnv, CredentialError, CredentialProvider};
use super::error::{Action, AwsError};
use super::key::KmsKey;
use super::sign::{signature_headers, Unsigned};
use super::transport::{self, endpoint, host_of, Request};
use crate::keysource::rest::platform;
use crate::keysource::rest::retry::RetryPolicy;
use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use zeroize::Zeroizing;

/// (profile, role, region).
type ProviderKey = (Option<String>, Option<String>, String);

/// A KMS client shared by every file of a run.
pub struct KmsClient {
    env: AwsEnv,
    base: Option<Rc<dyn CredentialProvider>>,
    providers: RefCell<HashMap<ProviderKey, Rc<dyn CredentialProvider>>>,
    retry: RetryPolicy,
    requests: Cell<u64>,
}

impl std::fmt::Debug for KmsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KmsClient({} requests)", self.requests.get())
    }
}

impl KmsClient {
    /// A client whose credentials come from the default chain over `env`.
    pub fn new(env: AwsEnv) -> Self {
        Self {
            env,
            base: None,
            providers: RefCell::new(HashMap::new()),
            retry: RetryPolicy::default(),
            requests: Cell::new(0),
        }
    }

    /// Uses `provider` instead of the default chain (keys' `aws_profile` is then
    /// ignored; their `role` is still assumed with it).
    pub fn with_credentials(mut self, provider: Rc<dyn CredentialProvider>) -> Self {
        self.base = Some(provider);
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// KMS requests sent so far (retries included; STS and credential requests not).
    pub fn request_count(&self) -> u64 {
        self.requests.get()
    }

    fn provider_for(&self, key: &KmsKey, region: &str) -> Rc<dyn CredentialProvider> {
        let id = (key.profile.clone(), key.role.clone(), region.to_string());
        if let Some(p) = self.providers.borrow().get(&id) {
            return p.clone();
        }
        let base_id = (key.profile.clone(), None, region.to_string());
        let base = match (&self.base, self.providers.borrow().get(&base_id)) {
            (Some(b), _) => b.clone(),
            (None, Some(b)) => b.clone(),
            (None, None) => Rc::new(CachedProvider::new(Box::new(ChainProvider::default_for(
                &self.env,
                key.profile.as_deref(),
                region,
            )))) as Rc<dyn CredentialProvider>,
        };
        self.providers.borrow_mut().insert(base_id, base.clone());
        let provider = match &key.role {
            Some(role) => Rc::new(CachedProvider::new(Box::new(AssumeRoleProvider::new(
                self.env.clone(),
                base,
                role,
                region,
            )))) as Rc<dyn CredentialProvider>,
            None => base,
        };
        self.providers.borrow_mut().insert(id, provider.clone());
        provider
    }

    /// Encrypts `plaintext` (a data key) with `key`; the ciphertext blob.
    pub async fn encrypt(&self, key: &KmsKey, plaintext: &[u8]) -> Result<Vec<u8>, AwsError> {
        let mut body = serde_json::Map::new();
        body.insert("KeyId".into(), key.arn.clone().into());
        body.insert("Plaintext".into(), STANDARD.encode(plaintext).into());
        insert_context(&mut body, &key.context);
        let answer = self.call(key, Action::Encrypt, body).await?;
        let blob = answer
            .get("CiphertextBlob")
            .and_then(|v| v.as_str())
            .ok_or_else(|| self.malformed(key, Action::Encrypt, "no CiphertextBlob"))?;
        STANDARD
            .decode(blob)
            .map_err(|_| self.malformed(key, Action::Encrypt, "CiphertextBlob is not base64"))
    }

    /// Decrypts `ciphertext` with `key` (its ARN is sent as `KeyId`, as sops does).
    pub async fn decrypt(&self, key: &KmsKey, ciphertext: &[u8]) -> Result<Secret, AwsError> {
        let mut body = serde_json::Map::new();
        body.insert("CiphertextBlob".into(), STANDARD.encode(ciphertext).into());
        body.insert("KeyId".into(), key.arn.clone().into());
        insert_context(&mut body, &key.context);
        let answer = self.call(key, Action::Decrypt, body).await?;
        let plain = answer
            .get("Plaintext")
            .and_then(|v| v.as_str())
            .ok_or_else(|| self.malformed(key, Action::Decrypt, "no Plaintext"))?;
        let bytes = STANDARD
            .decode(plain)
            .map_err(|_| self.malformed(key, Action::Decrypt, "Plaintext is not base64"))?;
        Ok(Secret::new(bytes))
    }

    /// `DescribeKey` (no side effect): the key's `KeyState` (`Enabled`, `Disabled`,
    /// `PendingDeletion`, …).
    pub async fn describe_key(&self, key: &KmsKey) -> Result<String, AwsError> {
        let mut body = serde_json::Map::new();
        body.insert("KeyId".into(), key.arn.clone().into());
        let answer = self.call(key, Action::DescribeKey, body).await?;
        answer
            .pointer("/KeyMetadata/KeyState")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| self.malformed(key, Action::DescribeKey, "no KeyMetadata.KeyState"))
    }

    fn malformed(&self, key: &KmsKey, action: Action, what: &str) -> AwsError {
        AwsError::Transport {
            action,
            key: key.arn.clone(),
            host: host_of(&self.endpoint_for(key)),
            detail: format!("malformed answer: {what}"),
        }
    }

    fn endpoint_for(&self, key: &KmsKey) -> String {
        endpoint(&self.env, "kms", key.region().unwrap_or("us-east-1"))
    }

    async fn call(
        &self,
        key: &KmsKey,
        action: Action,
        body: serde_json::Map<String, serde_json::Value>,
    ) -> Result<ZeroizingJson, AwsError> {
        let region = key.region().ok_or_else(|| AwsError::InvalidArn {
            arn: key.arn.clone(),
        })?;
        let credentials = self.credentials_for(key, region).await?;
        let url = format!("{}/", self.endpoint_for(key));
        let host = host_of(&url);
        let request = signed_request(key, action, region, &url, &host, body, &credentials)?;
        let (result, attempts) = transport::send(&self.env.http, &request, &self.retry, &|b| {
            error_code(b).map(|e| e.0)
        })
        .await;
        let mut sent_body = request.body;
        zeroize::Zeroize::zeroize(&mut sent_body);
        self.requests.set(self.requests.get() + u64::from(attempts));
        let response = result.map_err(|detail| AwsError::Transport {
            action,
            key: key.arn.clone(),
            host: host.clone(),
            detail: with_browser_hint(detail),
        })?;
        answer(key, action, &host, response, &credentials)
    }

    /// The credentials for `key` (its role assumed, if it names one).
    async fn credentials_for(
        &self,
        key: &KmsKey,
        region: &str,
    ) -> Result<AwsCredentials, AwsError> {
        let provider = self.provider_for(key, region);
        provider
            .credentials()
            .await
            .map_err(|e| match (&key.role, e) {
                (Some(role), CredentialError::Failed(m))
                    if m.starts_with(&format!("role {role}: ")) =>
                {
                    AwsError::AssumeRole {
                        role: role.clone(),
                        key: key.arn.clone(),
                        detail: m[role.len() + 7..].to_string(),
                    }
                }
                (_, e) => AwsError::Credentials {
                    key: key.arn.clone(),
                    detail: e.to_string(),
                },
            })
    }
}

/// The SigV4-signed `TrentService.{action}` POST of `body` to `url`.
fn signed_request<'u>(
    key: &KmsKey,
    action: Action,
    region: &str,
    url: &'u str,
    host: &str,
    body: serde_json::Map<String, serde_json::Value>,
    credentials: &AwsCredentials,
) -> Result<Request<'u>, AwsError> {
    let payload =
        Zeroizing::new(serde_json::to_vec(&serde_json::Value::Object(body)).unwrap_or_default());
    let target = format!("TrentService.{}", action.operation());
    let mut headers = vec![
        ("host", host.to_string()),
        ("content-type", "application/x-amz-json-1.1".to_string()),
        ("x-amz-target", target),
    ];
    let unsigned = Unsigned {
        method: "POST",
        url,
        headers: &headers,
        body: &payload,
    };
    let signed = signature_headers(&unsigned, credentials, region, "kms", platform::now_unix())
        .map_err(|detail| AwsError::Transport {
            action,
            key: key.arn.clone(),
            host: host.to_string(),
            detail,
        })?;
    headers.retain(|(k, _)| *k != "host");
    let mut all: Vec<(String, String)> = headers
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    all.extend(signed);
    Ok(Request {
        method: "POST",
        url,
        headers: all,
        body: payload.to_vec(),
        timeout: None,
    })
}

/// The parsed body of a 200 answer, or the error KMS's status and error code mean.
fn answer(
    key: &KmsKey,
    action: Action,
    host: &str,
    response: transport::Response,
    credentials: &AwsCredentials,
) -> Result<ZeroizingJson, AwsError> {
    let response_body = Zeroizing::new(response.body);
    if response.status == 200 {
        let value: serde_json::Value =
            serde_json::from_slice(&response_body).map_err(|e| AwsError::Transport {
                action,
                key: key.arn.clone(),
                host: host.to_string(),
                detail: format!("malformed answer: {e}"),
            })?;
        return Ok(ZeroizingJson(value));
    }
    let (code, message) = error_code(&response_body)
        .unwrap_or_else(|| (format!("HTTP{}", response.status), String::new()));
    if code == "AccessDeniedException" || code == "AccessDenied" {
        return Err(AwsError::AccessDenied {
            action,
            key: key.arn.clone(),
            code,
            message,
            caller: credentials.describe(),
        });
    }
    Err(AwsError::Service {
        action,
        key: key.arn.clone(),
        status: response.status,
        hint: AwsError::hint_for(&code).to_string(),
        code,
        message,
    })
}

/// A parsed answer that may hold a plaintext data key: its strings are wiped on drop.
struct ZeroizingJson(serde_json::Value);

impl std::ops::Deref for ZeroizingJson {
    type Target = serde_json::Value;
    fn deref(&self) -> &serde_json::Value {
        &self.0
    }
}

impl Drop for ZeroizingJson {
    fn drop(&mut self) {
        if let serde_json::Value::Object(map) = &mut self.0 {
            for v in map.values_mut() {
                if let serde_json::Value::String(s) = v {
                    zeroize::Zeroize::zeroize(s);
                }
            }
        }
    }
}

/// In a browser a request the endpoint does not allow by CORS fails without detail: say
/// what to do.
fn with_browser_hint(detail: String) -> String {
    #[cfg(target_arch = "wasm32")]
    if crate::keysource::rest::http::in_browser() {
        return format!(
            "{detail} (in a browser this is often CORS: the endpoint must allow this page's \
             origin; set awsKms.endpoint to one that does, e.g. a proxy on your origin)"
        );
    }
    detail
}

fn insert_context(
    body: &mut serde_json::Map<String, serde_json::Value>,
    context: &BTreeMap<String, String>,
) {
    if !context.is_empty() {
        let map = context
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
            .collect();
        body.insert("EncryptionContext".into(), serde_json::Value::Object(map));
    }
}

/// The error code (`__type` without its namespace) and message of a JSON error answer.
pub fn error_code(body: &[u8]) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let raw = value
        .get("__type")
        .or_else(|| value.get("code"))
        .and_then(|v| v.as_str())?;
    let code = raw.rsplit('#').next().unwrap_or(raw);
    let code = code.split(':').next().unwrap_or(code).to_string();
    let message = value
        .get("message")
        .or_else(|| value.get("Message"))
        .and_then(|v| v.as_str())
        .map(|m| crate::keysource::rest::redact::quote(m, &[]))
        .unwrap_or_default();
    Some((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_lose_their_namespace() {
        assert_eq!(
            error_code(br#"{"__type":"com.amazonaws.kms#AccessDeniedException","message":"no"}"#),
            Some(("AccessDeniedException".into(), "no".into()))
        );
        assert_eq!(
            error_code(br#"{"__type":"ThrottlingException:http://x","Message":"slow"}"#),
            Some(("ThrottlingException".into(), "slow".into()))
        );
        assert_eq!(error_code(b"<html>"), None);
    }
}
