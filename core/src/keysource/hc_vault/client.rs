//! The transit REST calls sops makes: `PUT {address}/v1/{engine}/encrypt/{name}` with
//! `{"plaintext": base64}` and `PUT …/decrypt/{name}` with `{"ciphertext": "vault:vN:…"}`,
//! carrying `X-Vault-Token`, `X-Vault-Namespace` and `X-Vault-Request` as the Go client does,
//! retried (429, 5xx) through [`send::Retry`](crate::keysource::rest::send::Retry).

use super::error::{Operation, VaultError};
use super::settings::Settings;
use crate::keysource::authority;
use crate::keysource::rest::redact;
use crate::keysource::rest::retry::RetryPolicy;
use crate::keysource::rest::send::Retry;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use std::time::Duration;
use zeroize::Zeroizing;

/// One transit key: where it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitKey {
    /// `scheme://host[:port]` (the entry's `vault_address`).
    pub address: String,
    /// The transit mount (`engine_path`, e.g. `transit`).
    pub engine: String,
    /// The key name (`key_name`).
    pub name: String,
}

impl TransitKey {
    /// `engine/keys/name`, how errors name the key.
    pub fn path(&self) -> String {
        format!("{}/keys/{}", self.engine, self.name)
    }

    fn url(&self, operation: Operation) -> String {
        format!(
            "{}/v1/{}/{operation}/{}",
            self.address.trim_end_matches('/'),
            self.engine.trim_matches('/'),
            self.name
        )
    }
}

/// Supplies the Vault token per request (e.g. a JS callback on wasm32), instead of
/// [`Settings::token`].
#[async_trait::async_trait(?Send)]
pub trait TokenProvider {
    /// The token to send; `Err` says why there is none (never containing a token).
    async fn token(&self) -> Result<Zeroizing<String>, String>;
}

/// A Vault client for transit encrypt/decrypt.
pub struct VaultClient {
    http: reqwest::Client,
    settings: Settings,
    retry: RetryPolicy,
    provider: Option<std::rc::Rc<dyn TokenProvider>>,
}

impl VaultClient {
    /// A client with `settings`; retries like the Go client (3 attempts in all).
    pub fn new(settings: Settings) -> Result<Self, VaultError> {
        let http =
            crate::keysource::rest::http::client(&settings.http).map_err(VaultError::Config)?;
        Ok(Self {
            http,
            settings,
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(5),
                deadline: Duration::from_secs(60),
            },
            provider: None,
        })
    }

    /// Asks `provider` for the token before each operation (it replaces [`Settings::token`]).
    pub fn with_token_provider(mut self, provider: std::rc::Rc<dyn TokenProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Encrypts `plaintext` with `key`; returns Vault's ciphertext (`vault:vN:…`).
    pub async fn encrypt(&self, key: &TransitKey, plaintext: &[u8]) -> Result<String, VaultError> {
        let body = Zeroizing::new(
            serde_json::json!({ "plaintext": STANDARD.encode(plaintext) }).to_string(),
        );
        let data = self.write(key, Operation::Encrypt, &body).await?;
        data.get("ciphertext")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad_answer(key, Operation::Encrypt, "a ciphertext"))
    }

    /// Decrypts Vault's `ciphertext` with `key`.
    pub async fn decrypt(
        &self,
        key: &TransitKey,
        ciphertext: &str,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let body = Zeroizing::new(serde_json::json!({ "ciphertext": ciphertext }).to_string());
        let data = self.write(key, Operation::Decrypt, &body).await?;
        let plaintext = data
            .get("plaintext")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_answer(key, Operation::Decrypt, "a plaintext"))?;
        STANDARD
            .decode(plaintext)
            .map(Zeroizing::new)
            .map_err(|_| bad_answer(key, Operation::Decrypt, "base64 plaintext"))
    }

    /// `PUT`s `body` to the key's `operation` path; returns the answer's `data`.
    async fn write(
        &self,
        key: &TransitKey,
        operation: Operation,
        body: &Zeroizing<String>,
    ) -> Result<Value, VaultError> {
        let token = self.token_for(key).await?;
        let (status, json) = self
            .send(
                reqwest::Method::PUT,
                &key.url(operation),
                token.as_ref(),
                Some(body.as_str()),
                key,
                operation,
            )
            .await?;
        if (200..300).contains(&status) {
            return json
                .and_then(|mut v| v.get_mut("data").map(Value::take))
                .ok_or_else(|| bad_answer(key, operation, "a data object"));
        }
        let secrets: Vec<&str> = token.iter().map(|t| t.as_str()).collect();
        Err(self.failure(
            key,
            operation,
            status,
            json.as_ref(),
            &secrets,
            token.is_some(),
        ))
    }

    /// The token to send for `key` (the provider's, else the settings').
    async fn token_for(&self, key: &TransitKey) -> Result<Option<Zeroizing<String>>, VaultError> {
        Ok(match &self.provider {
            Some(provider) => Some(provider.token().await.map_err(|e| {
                VaultError::Config(format!(
                    "no Vault token for transit key '{}': {e}",
                    key.path()
                ))
            })?),
            None => self.settings.token.clone(),
        })
    }

    /// Sends one request (retried when transient) with the Go client's headers; the
    /// status and the JSON answer, if any.
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        token: Option<&Zeroizing<String>>,
        body: Option<&str>,
        key: &TransitKey,
        operation: Operation,
    ) -> Result<(u16, Option<Value>), VaultError> {
        let build = || {
            let mut request = self
                .http
                .request(method.clone(), url)
                .header("X-Vault-Request", "true");
            if let Some(body) = body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string());
            }
            if let Some(token) = token {
                request = request.header("X-Vault-Token", token.as_str());
            }
            if let Some(ns) = &self.settings.namespace {
                request = request.header("X-Vault-Namespace", ns.as_str());
            }
            request
        };
        let secrets: Vec<&str> = token.iter().map(|t| t.as_str()).collect();
        let answer = Retry::new(&self.retry)
            .transient_errors_only()
            .send(&build)
            .await
            .map_err(|e| VaultError::Transport {
                address: authority(&key.address),
                path: key.path(),
                operation,
                detail: redact::root_cause(&e.error, &secrets),
            })?;
        Ok((answer.status, serde_json::from_slice(&answer.body).ok()))
    }

    /// Whether a token is configured (settings or provider); nothing is sent.
    pub fn has_token(&self) -> bool {
        self.provider.is_some() || self.settings.token.is_some()
    }

    /// `GET {engine}/keys/{name}` (no side effect): the key's versions, or the status and
    /// Vault's first error when it refused.
    pub async fn read_key(&self, key: &TransitKey) -> Result<Inspect<KeyVersions>, VaultError> {
        let url = format!(
            "{}/v1/{}/keys/{}",
            key.address.trim_end_matches('/'),
            key.engine.trim_matches('/'),
            key.name
        );
        let json = match self.inspect(reqwest::Method::GET, &url, None, key).await? {
            Inspect::Answer(json) => json,
            Inspect::Refused(status, why) => return Ok(Inspect::Refused(status, why)),
        };
        let data = json.as_ref().and_then(|v| v.get("data"));
        let number = |f: &str| {
            data.and_then(|d| d.get(f))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        Ok(Inspect::Answer(KeyVersions {
            latest: number("latest_version"),
            min_decryption: number("min_decryption_version"),
        }))
    }

    /// `POST sys/capabilities-self` for `path` (no side effect): the token's capabilities
    /// there (`["update", …]`, `["deny"]`, `["root"]`).
    pub async fn capabilities(
        &self,
        key: &TransitKey,
        path: &str,
    ) -> Result<Inspect<Vec<String>>, VaultError> {
        let url = format!(
            "{}/v1/sys/capabilities-self",
            key.address.trim_end_matches('/')
        );
        let body = serde_json::json!({ "paths": [path] }).to_string();
        let json = match self
            .inspect(reqwest::Method::POST, &url, Some(&body), key)
            .await?
        {
            Inspect::Answer(json) => json,
            Inspect::Refused(status, why) => return Ok(Inspect::Refused(status, why)),
        };
        let caps = json
            .as_ref()
            .and_then(|v| {
                v.get(path)
                    .or_else(|| v.pointer("/data/capabilities"))
                    .or_else(|| v.get("capabilities"))
            })
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Inspect::Answer(caps))
    }

    /// Sends a request that changes nothing with `key`'s token: Vault's JSON answer on 200,
    /// else the status and Vault's first error (the token masked).
    async fn inspect(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&str>,
        key: &TransitKey,
    ) -> Result<Inspect<Option<Value>>, VaultError> {
        let token = self.token_for(key).await?;
        let (status, json) = self
            .send(method, url, token.as_ref(), body, key, Operation::Read)
            .await?;
        if status != 200 {
            return Ok(Inspect::Refused(
                status,
                first_error(json.as_ref(), token.as_ref()),
            ));
        }
        Ok(Inspect::Answer(json))
    }

    /// The error for a non-2xx answer: sealed, denied (with what to do about the token),
    /// missing key or engine, or the server's own messages (secrets masked).
    fn failure(
        &self,
        key: &TransitKey,
        operation: Operation,
        status: u16,
        json: Option<&Value>,
        secrets: &[&str],
        has_token: bool,
    ) -> VaultError {
        let address = authority(&key.address);
        let messages: Vec<String> = json
            .and_then(|v| v.get("errors"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|m| redact::quote(m, secrets))
                    .collect()
            })
            .unwrap_or_default();
        let joined = messages.join("; ");
        match status {
            503 if joined.contains("Vault is sealed") => VaultError::Sealed {
                address,
                path: key.path(),
                operation,
            },
            403 => VaultError::Denied {
                address,
                path: key.path(),
                operation,
                hint: if !has_token {
                    "no Vault token: set VAULT_TOKEN or run `vault login` (which writes \
                     ~/.vault-token)"
                        .to_string()
                } else {
                    format!(
                        "the token ({}) is invalid or expired, or its policy lacks the 'update' \
                         capability on {}/{operation}/{}; log in again or ask for that capability",
                        if self.provider.is_some() {
                            "from the token callback"
                        } else {
                            "VAULT_TOKEN or ~/.vault-token"
                        },
                        key.engine,
                        key.name
                    )
                },
            },
            400 if joined.contains("encryption key not found") => VaultError::KeyNotFound {
                address,
                path: key.path(),
                create: key.path(),
            },
            404 if joined.contains("no handler for route") => VaultError::NoEngine {
                address,
                path: key.path(),
                engine: key.engine.clone(),
            },
            status => VaultError::Server {
                address,
                path: key.path(),
                operation,
                status,
                message: if joined.is_empty() {
                    "no error text".into()
                } else {
                    joined
                },
            },
        }
    }
}

/// The answer to a read-only request: the parsed answer, or Vault's status and first error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inspect<T> {
    /// 200 and its content.
    Answer(T),
    /// Another status and Vault's first error text (redacted).
    Refused(u16, String),
}

/// A transit key's versions, from `GET {engine}/keys/{name}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyVersions {
    /// `latest_version`.
    pub latest: u64,
    /// `min_decryption_version`.
    pub min_decryption: u64,
}

fn first_error(json: Option<&Value>, token: Option<&Zeroizing<String>>) -> String {
    let secrets: Vec<&str> = token.iter().map(|t| t.as_str()).collect();
    json.and_then(|v| v.get("errors"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .map(|m| redact::quote(m, &secrets))
        .unwrap_or_default()
}

fn bad_answer(key: &TransitKey, operation: Operation, what: &str) -> VaultError {
    VaultError::BadAnswer {
        address: authority(&key.address),
        path: key.path(),
        operation,
        what: what.into(),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::rest::test_server::{Reply, TestServer};

    fn key(url: &str) -> TransitKey {
        TransitKey {
            address: url.to_string(),
            engine: "transit".into(),
            name: "app".into(),
        }
    }

    fn client(token: Option<&str>) -> VaultClient {
        let settings = Settings {
            token: token.map(|t| Zeroizing::new(t.to_string())),
            namespace: Some("team".into()),
            ..Settings::default()
        };
        VaultClient::new(settings).unwrap().with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            deadline: Duration::from_secs(5),
        })
    }

    #[tokio::test]
    async fn encrypt_sends_what_the_go_client_sends_and_retries_transient_answers() {
        let server = TestServer::start(vec![
            Reply::json(429, r#"{"errors":["rate limit quota exceeded"]}"#),
            Reply::json(
                200,
                r#"{"data":{"ciphertext":"vault:v1:abc","key_version":1}}"#,
            ),
        ])
        .await;
        let enc = client(Some("hvs.secret-token-value"))
            .encrypt(&key(&server.url), b"0123")
            .await
            .unwrap();
        assert_eq!(enc, "vault:v1:abc");
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        let r = &requests[1];
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("PUT", "/v1/transit/encrypt/app")
        );
        assert_eq!(r.header("x-vault-token"), Some("hvs.secret-token-value"));
        assert_eq!(r.header("x-vault-namespace"), Some("team"));
        assert_eq!(r.header("x-vault-request"), Some("true"));
        assert_eq!(r.body, r#"{"plaintext":"MDEyMw=="}"#);
    }

    #[tokio::test]
    async fn answers_are_classified_and_never_quote_the_token() {
        let token = "hvs.secret-token-value";
        let cases = [
            (
                Reply::json(503, r#"{"errors":["Vault is sealed"]}"#),
                "is sealed",
            ),
            (
                Reply::json(
                    403,
                    r#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#,
                ),
                "denied decrypt with transit key 'transit/keys/app'",
            ),
            (
                Reply::json(400, r#"{"errors":["encryption key not found"]}"#),
                "has no transit key 'transit/keys/app'",
            ),
            (
                Reply::json(
                    404,
                    r#"{"errors":["no handler for route \"transit/decrypt/app\""]}"#,
                ),
                "no engine mounted at 'transit'",
            ),
            (
                Reply::json(
                    400,
                    r#"{"errors":["bad token hvs.secret-token-value here"]}"#,
                ),
                "HTTP 400: bad token <redacted> here",
            ),
            (Reply::json(200, r#"{"data":{}}"#), "without a plaintext"),
        ];
        for (reply, want) in cases {
            // Sealed (503) is retried: script it three times.
            let replies = if reply.status == 503 {
                vec![reply; 3]
            } else {
                vec![reply]
            };
            let server = TestServer::start(replies).await;
            let err = client(Some(token))
                .decrypt(&key(&server.url), "vault:v1:abc")
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{err}");
            assert!(!err.contains(token), "{err}");
        }
    }

    struct Fixed(Result<&'static str, &'static str>);

    #[async_trait::async_trait(?Send)]
    impl TokenProvider for Fixed {
        async fn token(&self) -> Result<Zeroizing<String>, String> {
            self.0
                .map(|t| Zeroizing::new(t.to_string()))
                .map_err(str::to_string)
        }
    }

    #[tokio::test]
    async fn a_token_provider_replaces_the_settings_token() {
        let server = TestServer::start(vec![Reply::json(
            200,
            r#"{"data":{"plaintext":"MDEyMw=="}}"#,
        )])
        .await;
        let plain = client(Some("from-settings"))
            .with_token_provider(std::rc::Rc::new(Fixed(Ok("from-provider"))))
            .decrypt(&key(&server.url), "vault:v1:abc")
            .await
            .unwrap();
        assert_eq!(plain.as_slice(), b"0123");
        assert_eq!(
            server.requests()[0].header("x-vault-token"),
            Some("from-provider")
        );
        let err = client(None)
            .with_token_provider(std::rc::Rc::new(Fixed(Err("getToken threw: offline"))))
            .decrypt(&key(&server.url), "vault:v1:abc")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no Vault token for transit key 'transit/keys/app': getToken threw: offline"
        );
    }

    #[tokio::test]
    async fn no_token_says_how_to_get_one() {
        let server = TestServer::start(vec![Reply::json(
            403,
            r#"{"errors":["permission denied"]}"#,
        )])
        .await;
        let err = client(None)
            .decrypt(&key(&server.url), "vault:v1:abc")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("no Vault token: set VAULT_TOKEN"), "{err}");
        assert!(server.requests()[0].header("x-vault-token").is_none());
    }
}
