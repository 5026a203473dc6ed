//! The Cloud KMS REST client: `POST {endpoint}/v1/{resource}:encrypt|decrypt` with a
//! bearer token, standard base64 bytes, retries on throttling and 5xx.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

use super::credential::{discover, Credential, Env, TokenProvider};
use super::error::{hint, GcpKmsError, ServiceFailure};
use super::resource;
use crate::keysource::authority;
use crate::keysource::rest::redact;
use crate::keysource::rest::retry::RetryPolicy;
use crate::keysource::rest::send::Retry;

/// Google's endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://cloudkms.googleapis.com";

/// The endpoint URL for an override value: a URL as is, `host[:port]` as `https://host[:port]`.
pub fn endpoint_url(value: &str) -> String {
    let value = value.trim().trim_end_matches('/');
    if value.contains("://") {
        value.to_string()
    } else {
        format!("https://{value}")
    }
}

/// A Cloud KMS client with its credential discovery and token cache.
pub struct GcpKmsClient {
    http: reqwest::Client,
    endpoint: String,
    policy: RetryPolicy,
    env: Env,
    tokens: TokenProvider,
}

impl GcpKmsClient {
    /// A client reading its configuration (endpoint override, credentials, `SSL_CERT_FILE`,
    /// timeout) through `env`.
    pub fn from_env(env: Env) -> Result<Self, GcpKmsError> {
        #[cfg(not(target_arch = "wasm32"))]
        let options = crate::keysource::rest::http::options_from_env(&*env, super::TIMEOUT_VAR)
            .map_err(GcpKmsError::Credentials)?;
        #[cfg(target_arch = "wasm32")]
        let options = crate::keysource::rest::http::HttpOptions::default();
        let http =
            crate::keysource::rest::http::client(&options).map_err(GcpKmsError::Credentials)?;
        let endpoint = env(super::ENDPOINT_VAR)
            .filter(|e| !e.is_empty())
            .map(|e| endpoint_url(&e))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        let policy = RetryPolicy::default();
        Ok(Self {
            tokens: TokenProvider::new(http.clone(), policy.clone()),
            http,
            endpoint,
            policy,
            env,
        })
    }

    /// Replaces the retry policy (tests).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.tokens = TokenProvider::new(self.http.clone(), policy.clone());
        self.policy = policy;
        self
    }

    /// The endpoint in use.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Encrypts `plaintext` with the key's primary version; returns the ciphertext.
    pub async fn encrypt(
        &self,
        resource_id: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, GcpKmsError> {
        let body = Zeroizing::new(
            serde_json::json!({ "plaintext": STANDARD.encode(plaintext) }).to_string(),
        );
        let answer = self.call("encrypt", resource_id, &body).await?;
        self.bytes_field(&answer, "ciphertext", "encrypt", resource_id)
            .map(|b| b.to_vec())
    }

    /// Decrypts `ciphertext` with the key (the version it names).
    pub async fn decrypt(
        &self,
        resource_id: &str,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, GcpKmsError> {
        let body = serde_json::json!({ "ciphertext": STANDARD.encode(ciphertext) }).to_string();
        let answer = self.call("decrypt", resource_id, &body).await?;
        self.bytes_field(&answer, "plaintext", "decrypt", resource_id)
    }

    fn bytes_field(
        &self,
        answer: &serde_json::Value,
        field: &str,
        op: &'static str,
        resource: &str,
    ) -> Result<Zeroizing<Vec<u8>>, GcpKmsError> {
        answer[field]
            .as_str()
            .and_then(|s| STANDARD.decode(s).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| GcpKmsError::Transport {
                op,
                resource: resource.into(),
                host: authority(&self.endpoint),
                message: format!("the answer has no base64 {field}"),
            })
    }

    async fn call(
        &self,
        op: &'static str,
        resource_id: &str,
        body: &str,
    ) -> Result<serde_json::Value, GcpKmsError> {
        if !resource::is_valid(resource_id) {
            return Err(GcpKmsError::InvalidResource(resource_id.into()));
        }
        let credential: Credential = discover(&self.env)?;
        let token = self.tokens.token(&credential).await?;
        let url = format!("{}/v1/{resource_id}:{op}", self.endpoint);
        let host = authority(&self.endpoint);
        let answer = Retry::new(&self.policy)
            .transient_errors_only()
            .send(&|| {
                self.http
                    .post(&url)
                    .bearer_auth(token.value.as_str())
                    .header("content-type", "application/json")
                    .body(body.to_string())
            })
            .await
            .map_err(|e| GcpKmsError::Transport {
                op,
                resource: resource_id.into(),
                host: host.clone(),
                message: format!(
                    "{} (after {} attempt(s)); check the network or {}",
                    redact::root_cause(&e.error, &[token.value.as_str()]),
                    e.attempts,
                    super::ENDPOINT_VAR
                ),
            })?;
        let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        if answer.status == 200 {
            return Ok(json);
        }
        let error = &json["error"];
        let message = error["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).into_owned());
        Err(GcpKmsError::Service(Box::new(ServiceFailure {
            op,
            resource: resource_id.into(),
            host,
            status: answer.status,
            code: error["status"].as_str().unwrap_or("").to_string(),
            message: redact::quote(&message, &[token.value.as_str()]),
            credential: credential.origin.clone(),
            hint: hint(answer.status, op),
        })))
    }
}
