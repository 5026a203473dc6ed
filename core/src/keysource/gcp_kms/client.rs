//! The Cloud KMS REST client: `POST {endpoint}/v1/{resource}:encrypt|decrypt` with a
//! bearer token, standard base64 bytes, retries on throttling and 5xx.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

use super::credential::{discover, Env, Token, TokenProvider, TokenSource};
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
    token_source: Option<std::rc::Rc<dyn TokenSource>>,
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
            token_source: None,
        })
    }

    /// Takes tokens from `source` instead of discovering credentials.
    pub fn with_token_source(mut self, source: std::rc::Rc<dyn TokenSource>) -> Self {
        self.token_source = Some(source);
        self
    }

    /// Sends requests to `endpoint` (a URL, or `host:port` for HTTPS) instead.
    pub fn with_endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint_url(endpoint);
        self
    }

    /// A token and the name of the credential that gave it; `fresh` skips the cache.
    async fn token(&self, fresh: bool) -> Result<(Token, String), GcpKmsError> {
        if let Some(source) = &self.token_source {
            let token = source.token().await.map_err(|message| GcpKmsError::Token {
                credential: source.name().to_string(),
                message,
            })?;
            return Ok((token, source.name().to_string()));
        }
        let credential = discover(&self.env)?;
        if fresh {
            self.tokens.forget();
        }
        Ok((self.tokens.token(&credential).await?, credential.origin))
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

    /// `testIamPermissions` on the key (no side effect): which of `permissions` the
    /// caller holds on it.
    pub async fn test_permissions(
        &self,
        resource_id: &str,
        permissions: &[&str],
    ) -> Result<Vec<String>, GcpKmsError> {
        let body = serde_json::json!({ "permissions": permissions }).to_string();
        let answer = self.call("testIamPermissions", resource_id, &body).await?;
        Ok(answer["permissions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
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
        let host = authority(&self.endpoint);
        let url = format!("{}/v1/{resource_id}:{op}", self.endpoint);
        let mut fresh = false;
        let (answer, token, origin) = loop {
            let (token, origin) = self.token(fresh).await?;
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
            // A cached token the service refuses (revoked, clock skew): fetch a new one once.
            if answer.status == 401 && !fresh && token.expires_on != u64::MAX {
                fresh = true;
                continue;
            }
            break (answer, token, origin);
        };
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
            credential: origin,
            hint: hint(answer.status, op),
        })))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::rest::send::fast_policy;
    use crate::keysource::rest::test_server::{Reply, TestServer};
    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::Arc;

    const KEY: &str = "projects/p/locations/global/keyRings/r/cryptoKeys/k";

    /// Hands out `tok-1`, `tok-2`, … and counts its calls.
    struct Counting(Cell<u32>);

    #[async_trait::async_trait(?Send)]
    impl TokenSource for Counting {
        fn name(&self) -> &str {
            "test.getToken"
        }
        async fn token(&self) -> Result<Token, String> {
            self.0.set(self.0.get() + 1);
            Ok(Token {
                value: Zeroizing::new(format!("tok-secret-{}", self.0.get())),
                expires_on: 4_000_000_000,
            })
        }
    }

    fn client(server: &TestServer, source: Rc<Counting>) -> GcpKmsClient {
        GcpKmsClient::from_env(Arc::new(|_| None))
            .unwrap()
            .with_endpoint(&server.url)
            .with_policy(fast_policy())
            .with_token_source(source)
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_once_and_bytes_are_standard_base64() {
        let server = TestServer::start(vec![
            Reply::json(401, r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#),
            Reply::json(200, r#"{"name":"x/cryptoKeyVersions/1","ciphertext":"q+/w"}"#),
        ])
        .await;
        let source = Rc::new(Counting(Cell::new(0)));
        let ct = client(&server, Rc::clone(&source))
            .encrypt(KEY, b"dk")
            .await
            .unwrap();
        assert_eq!(ct, [0xab, 0xef, 0xf0]);
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].target, format!("/v1/{KEY}:encrypt"));
        assert_eq!(
            requests[1].header("authorization"),
            Some("Bearer tok-secret-2")
        );
        assert_eq!(requests[1].body, r#"{"plaintext":"ZGs="}"#);
    }

    #[tokio::test]
    async fn errors_name_key_status_and_credential_but_not_the_token() {
        let body = r#"{"error":{"code":403,"message":"Permission 'cloudkms.cryptoKeyVersions.useToDecrypt' denied on resource 'K' (or it may not exist).","status":"PERMISSION_DENIED"}}"#;
        let server = TestServer::start(vec![Reply::json(403, body)]).await;
        let e = client(&server, Rc::new(Counting(Cell::new(0))))
            .decrypt(KEY, b"ct")
            .await
            .unwrap_err()
            .to_string();
        for want in [
            KEY,
            "403 PERMISSION_DENIED",
            "useToDecrypt",
            "credential: test.getToken",
            "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        ] {
            assert!(e.contains(want), "{want} in {e}");
        }
        assert!(!e.contains("tok-secret"), "{e}");
        let e = client(&server, Rc::new(Counting(Cell::new(0))))
            .decrypt("projects/p/k", b"ct")
            .await
            .unwrap_err();
        assert!(matches!(e, GcpKmsError::InvalidResource(_)), "{e}");
    }
}
