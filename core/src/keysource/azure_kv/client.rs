//! The Key Vault REST client: get a key, encrypt, decrypt, wrap and unwrap, with the
//! SDKs' challenge flow, retries and errors that say what to do.
//!
//! Challenge flow (as the Go and Python SDKs): the first request to a vault goes out
//! without `Authorization` and without a body; Key Vault answers 401 with a
//! `WWW-Authenticate` challenge naming the token scope and tenant; the client checks the
//! challenge's resource against the vault host, gets a token from its credential and
//! resends. The challenge is then cached per vault. A 401 on a request that carried a
//! token re-challenges once, then fails.
//!
//! One client serves any number of vaults and may be shared (`Rc`) by concurrent
//! operations on one thread: no `RefCell` borrow is held across an `.await`.

use super::challenge::Challenge;
use super::credential::{TokenCredential, TokenRequest};
use super::encoding::{b64url, b64url_decode};
use super::error::{KvError, Missing, Operation, ServerError};
use super::key_id::KeyId;
use super::local::{JsonWebKey, PublicKey, PublicKeyStore, PublicKeys};
use crate::keysource::authority;
use crate::keysource::rest::http::{error_chain, is_certificate_problem};
use crate::keysource::rest::platform;
use crate::keysource::rest::retry::RetryPolicy;
use crate::keysource::rest::send::Retry;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::Deserialize;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use zeroize::Zeroizing;

/// The REST API version sops 3.11 (Go azkeys v1.4.0) sends.
pub const DEFAULT_API_VERSION: &str = "7.6";

/// Key Vault encryption algorithms for RSA keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// OAEP with SHA-256 and MGF1-SHA-256 (what sops uses).
    #[default]
    RsaOaep256,
    /// OAEP with SHA-1.
    RsaOaep,
    /// PKCS#1 v1.5.
    Rsa1_5,
}

impl Algorithm {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsaOaep256 => "RSA-OAEP-256",
            Self::RsaOaep => "RSA-OAEP",
            Self::Rsa1_5 => "RSA1_5",
        }
    }
}

/// How a [`KeyVaultClient`] talks to Key Vault.
#[derive(Clone)]
pub struct ClientOptions {
    /// `api-version` query parameter (default `7.6`).
    pub api_version: String,
    /// A base URL that replaces the vault origin in requests (`http://127.0.0.1:8080`
    /// for `leafcrypt kv-proxy`, `http://127.0.0.1:8080/{vault host}` for a multi-vault
    /// proxy, or a test server). Only here may the scheme be plain `http`. The challenge
    /// is still checked against the vault's own host.
    pub endpoint: Option<String>,
    /// Check that the challenge's resource belongs to the vault host (default true).
    pub verify_challenge_resource: bool,
    /// Retries.
    pub retry: RetryPolicy,
    /// A persistent store of public keys (none by default).
    pub public_key_store: Option<Rc<dyn PublicKeyStore>>,
    /// How long a stored public key is trusted (default one day).
    pub public_key_ttl: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            api_version: DEFAULT_API_VERSION.into(),
            endpoint: None,
            verify_challenge_resource: true,
            retry: RetryPolicy::default(),
            public_key_store: None,
            public_key_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("api_version", &self.api_version)
            .field("endpoint", &self.endpoint)
            .field("verify_challenge_resource", &self.verify_challenge_resource)
            .field("retry", &self.retry)
            .field("public_key_store", &self.public_key_store.is_some())
            .field("public_key_ttl", &self.public_key_ttl)
            .finish()
    }
}

/// A key version as `get` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVaultKey {
    /// The key, pinned to the version the vault returned.
    pub id: KeyId,
    /// The public JWK (`kid`, `kty`, `n`, `e`, `key_ops`).
    pub jwk: JsonWebKey,
    /// `attributes.enabled` (true when absent).
    pub enabled: bool,
}

/// The answer to encrypt, decrypt, wrap or unwrap.
pub struct KeyOperationResult {
    /// The key version that did the work, as the vault names it.
    pub kid: String,
    /// The output bytes (zeroized on drop: for decrypt and unwrap they are the secret).
    pub value: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for KeyOperationResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KeyOperationResult({}, {} bytes)",
            self.kid,
            self.value.len()
        )
    }
}

/// A Key Vault client for any number of vaults.
pub struct KeyVaultClient {
    http: reqwest::Client,
    credential: Rc<dyn TokenCredential>,
    options: ClientOptions,
    endpoint: Option<String>,
    challenges: RefCell<HashMap<String, Challenge>>,
    requests: Cell<u64>,
    keys: PublicKeys,
}

impl std::fmt::Debug for KeyVaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVaultClient")
            .field("credential", &self.credential.name())
            .field("options", &self.options)
            .field("requests", &self.requests.get())
            .finish()
    }
}

/// One HTTP exchange, retries included.
struct Exchange {
    status: u16,
    headers: HeaderMap,
    body: Zeroizing<String>,
    attempts: u32,
}

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

#[derive(Deserialize)]
struct OperationAnswer {
    #[serde(default)]
    kid: String,
    value: String,
}

impl KeyVaultClient {
    /// A client sending through `http` with tokens from `credential`.
    pub fn new(
        http: reqwest::Client,
        credential: Rc<dyn TokenCredential>,
        options: ClientOptions,
    ) -> Result<Self, KvError> {
        let endpoint = match options.endpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => {
                let e = e.trim_end_matches('/');
                let host = authority(e);
                let scheme_ok = e.starts_with("https://") || e.starts_with("http://");
                if !scheme_ok || host.is_empty() || e.contains(['?', '#']) {
                    return Err(KvError::Config(format!(
                        "endpoint \"{e}\" must be http(s)://HOST[:PORT][/PATH] without query"
                    )));
                }
                Some(e.to_string())
            }
        };
        let keys = PublicKeys::new(options.public_key_store.clone(), options.public_key_ttl);
        Ok(Self {
            http,
            credential,
            options,
            endpoint,
            challenges: RefCell::default(),
            requests: Cell::new(0),
            keys,
        })
    }

    /// The options.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// HTTP requests sent so far (every attempt counts), for tests, benches and reports.
    pub fn request_count(&self) -> u64 {
        self.requests.get()
    }

    /// The credential's name.
    pub fn credential_name(&self) -> &str {
        self.credential.name()
    }

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

    /// `POST …/encrypt`.
    pub async fn encrypt(
        &self,
        key: &KeyId,
        algorithm: Algorithm,
        plaintext: &[u8],
    ) -> Result<KeyOperationResult, KvError> {
        self.key_operation(Operation::Encrypt, key, algorithm, plaintext)
            .await
    }

    /// `POST …/decrypt`.
    pub async fn decrypt(
        &self,
        key: &KeyId,
        algorithm: Algorithm,
        ciphertext: &[u8],
    ) -> Result<KeyOperationResult, KvError> {
        self.key_operation(Operation::Decrypt, key, algorithm, ciphertext)
            .await
    }

    /// `POST …/wrapkey` (same ciphertext as encrypt; needs the wrap permission instead).
    pub async fn wrap_key(
        &self,
        key: &KeyId,
        algorithm: Algorithm,
        secret: &[u8],
    ) -> Result<KeyOperationResult, KvError> {
        self.key_operation(Operation::WrapKey, key, algorithm, secret)
            .await
    }

    /// `POST …/unwrapkey`.
    pub async fn unwrap_key(
        &self,
        key: &KeyId,
        algorithm: Algorithm,
        wrapped: &[u8],
    ) -> Result<KeyOperationResult, KvError> {
        self.key_operation(Operation::UnwrapKey, key, algorithm, wrapped)
            .await
    }

    async fn key_operation(
        &self,
        operation: Operation,
        key: &KeyId,
        algorithm: Algorithm,
        value: &[u8],
    ) -> Result<KeyOperationResult, KvError> {
        let value = Zeroizing::new(b64url(value));
        let body = Zeroizing::new(format!(
            r#"{{"alg":"{}","value":"{}"}}"#,
            algorithm.as_str(),
            value.as_str()
        ));
        let text = self.call(operation, key, Some(body)).await?;
        let invalid = |message: String| KvError::InvalidResponse {
            key: Box::new(key.clone()),
            operation,
            message,
        };
        let answer: OperationAnswer = serde_json::from_str(&text)
            .map_err(|_| invalid("no \"value\" in the answer".into()))?;
        let encoded = Zeroizing::new(answer.value);
        let value =
            b64url_decode(&encoded).map_err(|_| invalid("\"value\" is not base64url".into()))?;
        Ok(KeyOperationResult {
            kid: answer.kid,
            value,
        })
    }

    /// The request URL of `operation` on `key`. An unpinned key sends Go's paths:
    /// `GET /keys/{name}/` and `POST /keys/{name}/{op}`.
    fn url(&self, operation: Operation, key: &KeyId) -> String {
        let base = self.endpoint.as_deref().unwrap_or(&key.vault_url);
        let mut path = format!("{base}/keys/{}/", segment(&key.name));
        if let Some(v) = &key.version {
            path.push_str(&segment(v));
        }
        if let Some(op) = operation.path() {
            if key.version.is_some() {
                path.push('/');
            }
            path.push_str(op);
        }
        format!("{path}?api-version={}", segment(&self.options.api_version))
    }

    /// Runs `operation` with the challenge flow; the 2xx body, or the mapped error.
    async fn call(
        &self,
        operation: Operation,
        key: &KeyId,
        body: Option<Zeroizing<String>>,
    ) -> Result<Zeroizing<String>, KvError> {
        if self.endpoint.is_none() && !key.vault_url.starts_with("https://") {
            return Err(KvError::Config(format!(
                "{key}: vault URLs must be https (plain http only through an endpoint)"
            )));
        }
        let method = match operation {
            Operation::Get => Method::GET,
            _ => Method::POST,
        };
        let url = self.url(operation, key);
        let origin = key.vault_url.to_ascii_lowercase();
        let empty = body.as_ref().map(|_| "");
        let mut rechallenged = false;
        loop {
            let cached = self.challenges.borrow().get(&origin).cloned();
            let Some(challenge) = cached else {
                let ex = self
                    .exchange(operation, key, &method, &url, None, empty)
                    .await?;
                if ex.status != 401 {
                    return self.outcome(operation, key, ex).await;
                }
                let challenge = self.adopt(key, &ex.headers)?;
                self.challenges
                    .borrow_mut()
                    .insert(origin.clone(), challenge);
                continue;
            };
            let request = TokenRequest {
                scopes: vec![challenge.scope.clone()],
                tenant_id: challenge.tenant_id.clone(),
            };
            let token =
                self.credential
                    .get_token(&request)
                    .await
                    .map_err(|error| KvError::Credential {
                        key: Box::new(key.clone()),
                        error,
                    })?;
            let bearer = Zeroizing::new(format!("Bearer {}", token.token.as_str()));
            let mut bearer = HeaderValue::from_str(&bearer).map_err(|_| KvError::Credential {
                key: Box::new(key.clone()),
                error: super::credential::CredentialError {
                    credential: self.credential.name().into(),
                    message: "the token has characters not allowed in an HTTP header".into(),
                    unavailable: false,
                },
            })?;
            bearer.set_sensitive(true);
            let ex = self
                .exchange(
                    operation,
                    key,
                    &method,
                    &url,
                    Some(&bearer),
                    body.as_deref().map(String::as_str),
                )
                .await?;
            if ex.status != 401 {
                return self.outcome(operation, key, ex).await;
            }
            // Key Vault rejected the token: a caching credential must not hand it out again.
            self.credential.invalidate(&request);
            if rechallenged {
                return Err(KvError::Unauthorized {
                    key: Box::new(key.clone()),
                    operation,
                    credential: self.credential.name().into(),
                    detail: ServerError::parse(&ex.body).message_line(),
                });
            }
            rechallenged = true;
            // A new challenge (tenant change, claims) replaces the cached one; without
            // one, the next round rediscovers it.
            match ex.headers.get("www-authenticate") {
                Some(_) => {
                    let challenge = self.adopt(key, &ex.headers)?;
                    self.challenges
                        .borrow_mut()
                        .insert(origin.clone(), challenge);
                }
                None => {
                    self.challenges.borrow_mut().remove(&origin);
                }
            }
        }
    }

    /// Parses and checks the challenge in a 401's headers.
    fn adopt(&self, key: &KeyId, headers: &HeaderMap) -> Result<Challenge, KvError> {
        let fail = |error| KvError::Challenge {
            key: Box::new(key.clone()),
            error,
        };
        let header = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| fail(super::challenge::ChallengeError::Missing))?;
        let challenge = Challenge::parse(header).map_err(fail)?;
        if self.options.verify_challenge_resource {
            challenge.verify_resource(&key.host()).map_err(fail)?;
        }
        Ok(challenge)
    }

    /// The body of a 2xx answer, or the error the status means.
    async fn outcome(
        &self,
        operation: Operation,
        key: &KeyId,
        ex: Exchange,
    ) -> Result<Zeroizing<String>, KvError> {
        match ex.status {
            200..=299 => Ok(ex.body),
            404 => Err(KvError::NotFound {
                key: Box::new(key.clone()),
                missing: self.what_is_missing(key).await,
            }),
            401 => Err(KvError::Unauthorized {
                key: Box::new(key.clone()),
                operation,
                credential: self.credential.name().into(),
                detail: ServerError::parse(&ex.body).message_line(),
            }),
            0 => Err(self.no_response(operation, key, "no HTTP status (blocked request)", 1)),
            status => Err(KvError::from_status(
                key,
                operation,
                status,
                &ex.body,
                ex.attempts,
            )),
        }
    }

    /// After a 404 on a pinned key: asks for the latest version to tell a missing key
    /// from a missing version.
    async fn what_is_missing(&self, key: &KeyId) -> Missing {
        if key.version.is_none() {
            return Missing::Key;
        }
        match Box::pin(self.call(Operation::Get, &key.unversioned(), None)).await {
            Ok(_) => Missing::Version,
            Err(KvError::NotFound { .. }) => Missing::Key,
            Err(_) => Missing::KeyOrVersion,
        }
    }

    /// Sends one request, repeating it per the retry policy.
    async fn exchange(
        &self,
        operation: Operation,
        key: &KeyId,
        method: &Method,
        url: &str,
        bearer: Option<&HeaderValue>,
        body: Option<&str>,
    ) -> Result<Exchange, KvError> {
        let build = || {
            self.requests.set(self.requests.get() + 1);
            self.build(method, url, bearer, body)
        };
        let sent = Retry::new(&self.options.retry)
            .transient_errors_only()
            .send(&build)
            .await;
        match sent {
            Ok(answer) => Ok(Exchange {
                status: answer.status,
                headers: answer.headers,
                body: Zeroizing::new(String::from_utf8_lossy(&answer.body).into_owned()),
                attempts: answer.attempts,
            }),
            Err(e) => Err(self.no_response(operation, key, &error_chain(&e.error), e.attempts)),
        }
    }

    fn build(
        &self,
        method: &Method,
        url: &str,
        bearer: Option<&HeaderValue>,
        body: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .header("x-ms-client-request-id", request_id());
        if let Some(bearer) = bearer {
            request = request.header(AUTHORIZATION, bearer.clone());
        }
        if let Some(body) = body {
            // Natively, say `Content-Length: 0` as Go does (some front ends want it for a
            // POST); in `fetch` the header is the browser's to set.
            #[cfg(not(target_arch = "wasm32"))]
            if body.is_empty() {
                request = request.header(reqwest::header::CONTENT_LENGTH, "0");
            }
            request = request.body(body.to_string());
        }
        request
    }

    /// The error for a request that got no HTTP answer.
    fn no_response(
        &self,
        operation: Operation,
        key: &KeyId,
        detail: &str,
        attempts: u32,
    ) -> KvError {
        let host = authority(self.endpoint.as_deref().unwrap_or(&key.vault_url));
        #[cfg(target_arch = "wasm32")]
        {
            if self.endpoint.is_none() && crate::keysource::rest::http::in_browser() {
                return KvError::BrowserBlocked {
                    key: Box::new(key.clone()),
                    operation,
                    host,
                };
            }
        }
        let hint = if is_certificate_problem(detail) {
            Some(
                "if the vault, or a proxy in between, uses a private or corporate CA, set \
                 SSL_CERT_FILE to its PEM bundle"
                    .to_string(),
            )
        } else if self.endpoint.is_some() {
            Some(format!(
                "is the endpoint {host} (e.g. `leafcrypt kv-proxy`) running, and does it \
                 allow this origin?"
            ))
        } else {
            Some("check the vault URL, DNS, firewall and HTTPS proxy settings".into())
        };
        KvError::Network {
            key: Box::new(key.clone()),
            operation,
            host,
            detail: detail.to_string(),
            hint,
            attempts,
        }
    }
}

/// A random UUID v4 for `x-ms-client-request-id`.
fn request_id() -> String {
    let mut b = [0u8; 16];
    // Only a correlation id: without a CSPRNG a constant one is acceptable.
    let _ = getrandom::getrandom(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::test_support::*;
    use crate::keysource::rest::test_server::{Reply, TestServer};

    fn key(version: Option<&str>) -> KeyId {
        KeyId::new(VAULT, "k", version)
    }

    fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::json(
            status,
            &serde_json::json!({"error": {"code": code, "message": message}}).to_string(),
        )
    }

    #[tokio::test]
    async fn challenge_flow_then_bearer_request() {
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
        ])
        .await;
        let (client, credential) = test_client(&server.url);
        let got = client.get_key(&key(None)).await.unwrap();
        assert_eq!(got.id, key(Some(KID_VERSION)));
        assert!(got.enabled);
        assert_eq!(got.jwk.kty, "RSA");

        let seen = server.requests();
        assert_eq!(seen.len(), 2);
        // Go's path for the latest version, the api-version sops sends.
        assert_eq!(seen[0].method, "GET");
        assert_eq!(seen[0].target, "/keys/k/?api-version=7.6");
        assert_eq!(seen[0].header("authorization"), None);
        assert_eq!(seen[1].target, seen[0].target);
        assert_eq!(
            seen[1].header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        for r in &seen {
            assert_eq!(r.header("accept"), Some("application/json"));
            assert_eq!(r.header("content-type"), Some("application/json"));
            let id = r.header("x-ms-client-request-id").unwrap();
            assert_eq!((id.len(), &id[14..15]), (36, "4"), "{id}");
        }
        assert_ne!(
            seen[0].header("x-ms-client-request-id"),
            seen[1].header("x-ms-client-request-id")
        );
        let asked = credential.requests.borrow();
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].scopes, ["https://vault.azure.net/.default"]);
        assert_eq!(asked[0].tenant_id.as_deref(), Some(TENANT));
    }

    #[tokio::test]
    async fn first_post_has_no_body_then_the_body_goes_with_the_token() {
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &operation_answer("k", KID_VERSION, &[9u8; 256])),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let result = client
            .encrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, &[1u8; 32])
            .await
            .unwrap();
        assert_eq!(*result.value, vec![9u8; 256]);
        assert_eq!(result.kid, format!("{VAULT}/keys/k/{KID_VERSION}"));
        let seen = server.requests();
        assert_eq!(seen[0].method, "POST");
        assert_eq!(
            seen[0].target,
            format!("/keys/k/{KID_VERSION}/encrypt?api-version=7.6")
        );
        assert_eq!(seen[0].body, "");
        assert_eq!(seen[0].header("content-length"), Some("0"));
        let body: serde_json::Value = serde_json::from_str(&seen[1].body).unwrap();
        assert_eq!(body["alg"], "RSA-OAEP-256");
        // 32 bytes as unpadded base64url: 43 characters, no '='.
        assert_eq!(body["value"], b64url(&[1u8; 32]));
        assert_eq!(body["value"].as_str().unwrap().len(), 43);
    }

    #[tokio::test]
    async fn the_challenge_is_cached_per_vault() {
        let answer = operation_answer("k", KID_VERSION, b"x");
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &answer),
            Reply::json(200, &answer),
            Reply::json(200, &answer),
        ])
        .await;
        let (client, credential) = test_client(&server.url);
        let k = key(Some(KID_VERSION));
        for op in [Operation::Decrypt, Operation::WrapKey, Operation::UnwrapKey] {
            let result = match op {
                Operation::Decrypt => client.decrypt(&k, Algorithm::RsaOaep256, b"c").await,
                Operation::WrapKey => client.wrap_key(&k, Algorithm::RsaOaep256, b"c").await,
                _ => client.unwrap_key(&k, Algorithm::RsaOaep256, b"c").await,
            };
            assert_eq!(*result.unwrap().value, b"x".to_vec());
        }
        let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
        let path = |op: &str| format!("/keys/k/{KID_VERSION}/{op}?api-version=7.6");
        assert_eq!(
            targets,
            [
                path("decrypt"),
                path("decrypt"),
                path("wrapkey"),
                path("unwrapkey")
            ]
        );
        assert_eq!(client.request_count(), 4);
        assert_eq!(credential.requests.borrow().len(), 3);
    }

    #[tokio::test]
    async fn concurrent_operations_share_the_client() {
        let answer = || Reply::json(200, &operation_answer("k", KID_VERSION, b"plain"));
        let server =
            TestServer::start(vec![unauthorized(), answer(), answer(), answer(), answer()]).await;
        let (client, _) = test_client(&server.url);
        let k = key(Some(KID_VERSION));
        client
            .decrypt(&k, Algorithm::RsaOaep256, b"c")
            .await
            .unwrap();
        let (a, b, c) = tokio::join!(
            client.decrypt(&k, Algorithm::RsaOaep256, b"1"),
            client.decrypt(&k, Algorithm::RsaOaep256, b"2"),
            client.decrypt(&k, Algorithm::RsaOaep256, b"3"),
        );
        for result in [a, b, c] {
            assert_eq!(*result.unwrap().value, b"plain".to_vec());
        }
        let seen = server.requests();
        assert_eq!(seen.len(), 5);
        assert!(seen[2..]
            .iter()
            .all(|r| r.header("authorization").is_some()));
    }

    #[tokio::test]
    async fn a_rejected_token_rechallenges_once_then_fails() {
        let rejected = || unauthorized();
        let server = TestServer::start(vec![unauthorized(), rejected(), rejected()]).await;
        let (client, credential) = test_client(&server.url);
        let err = client.get_key(&key(Some(KID_VERSION))).await.unwrap_err();
        assert!(matches!(err, KvError::Unauthorized { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("TestCredential") && text.contains("AKV10000"),
            "{text}"
        );
        assert!(text.contains(&key(Some(KID_VERSION)).to_string()), "{text}");
        assert!(!text.contains(TOKEN));
        let seen = server.requests();
        assert_eq!(seen.len(), 3);
        assert!(seen[1].header("authorization").is_some());
        assert!(seen[2].header("authorization").is_some());
        assert_eq!(credential.requests.borrow().len(), 2);
        assert_eq!(
            credential.invalidated.get(),
            2,
            "each rejected token is forgotten"
        );
    }

    #[tokio::test]
    async fn a_rechallenge_with_a_fresh_token_succeeds() {
        let server = TestServer::start(vec![
            unauthorized(),
            unauthorized(),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
        ])
        .await;
        let (client, credential) = test_client(&server.url);
        client.get_key(&key(None)).await.unwrap();
        assert_eq!(credential.requests.borrow().len(), 2);
    }

    #[tokio::test]
    async fn retry_after_is_honoured_and_counted() {
        let throttled = error(429, "Throttled", "Too many requests").header("Retry-After", "1");
        let server = TestServer::start(vec![
            unauthorized(),
            throttled,
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let started = std::time::Instant::now();
        client.get_key(&key(None)).await.unwrap();
        // The backoff base is 2 ms: only Retry-After explains a full second.
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(server.requests().len(), 3);
        assert_eq!(client.request_count(), 3);
    }

    #[tokio::test]
    async fn unavailable_is_retried_then_succeeds() {
        let server = TestServer::start(vec![
            unauthorized(),
            error(503, "ServiceUnavailable", "busy"),
            error(502, "BadGateway", "proxy"),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        client.get_key(&key(None)).await.unwrap();
        let seen = server.requests();
        assert_eq!(seen.len(), 4);
        assert!(seen[1..]
            .iter()
            .all(|r| r.header("authorization").is_some()));
    }

    #[tokio::test]
    async fn attempts_are_bounded_and_the_error_says_so() {
        let throttled = || {
            error(
                429,
                "Throttled",
                "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
            )
            .header("retry-after-ms", "1")
        };
        let mut script = vec![unauthorized()];
        script.extend((0..10).map(|_| throttled()));
        let server = TestServer::start(script).await;
        let (client, _) = test_client(&server.url);
        let err = client
            .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
            .await;
        let err = err.unwrap_err();
        assert!(
            matches!(err, KvError::Throttled { attempts: 4, .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("after 4 attempts") && text.contains("decrypt"),
            "{text}"
        );
        assert_eq!(server.requests().len(), 1 + 4);
    }

    #[tokio::test]
    async fn forbidden_names_the_permission_in_both_models() {
        let rbac = "Caller is not authorized to perform action on resource.\r\nCaller: appid=a\r\nAction: 'Microsoft.KeyVault/vaults/keys/decrypt/action'\r\nResource: '/subscriptions/s'\r\n";
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(
                403,
                &serde_json::json!({"error": {"code": "Forbidden", "message": rbac,
                    "innererror": {"code": "ForbiddenByRbac"}}})
                .to_string(),
            ),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let err = client
            .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
            .await
            .unwrap_err()
            .to_string();
        for part in [
            "denied decrypt on https://myvault.vault.azure.net/keys/k/46a35325fd3a49debd2b22d4b0d75719",
            "RBAC data action 'Microsoft.KeyVault/vaults/keys/decrypt/action'",
            "key permission 'keys/decrypt'",
            "Key Vault said: Action: 'Microsoft.KeyVault/vaults/keys/decrypt/action'",
        ] {
            assert!(err.contains(part), "missing {part:?} in {err}");
        }
    }

    #[tokio::test]
    async fn not_found_tells_a_missing_version_from_a_missing_key() {
        let missing = || {
            error(
                404,
                "KeyNotFound",
                "A key with (name/id) k was not found in this key vault.",
            )
        };
        // The version is missing: the latest version exists.
        let server = TestServer::start(vec![
            unauthorized(),
            missing(),
            Reply::json(
                200,
                &key_bundle("k", "ffffffffffffffffffffffffffffffff", true),
            ),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let err = client
            .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                KvError::NotFound {
                    missing: Missing::Version,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains(&format!("has no version '{KID_VERSION}'")));
        assert_eq!(server.requests()[2].target, "/keys/k/?api-version=7.6");

        // The key is missing: the probe is a 404 too.
        let server = TestServer::start(vec![unauthorized(), missing(), missing()]).await;
        let (client, _) = test_client(&server.url);
        let err = client
            .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                KvError::NotFound {
                    missing: Missing::Key,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("has no key named 'k'"), "{err}");

        // The probe itself is refused: the error says it could be either.
        let server = TestServer::start(vec![
            unauthorized(),
            missing(),
            error(403, "Forbidden", "no keys get permission"),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let err = client
            .decrypt(&key(Some(KID_VERSION)), Algorithm::RsaOaep256, b"c")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                KvError::NotFound {
                    missing: Missing::KeyOrVersion,
                    ..
                }
            ),
            "{err}"
        );

        // No version given: no probe.
        let server = TestServer::start(vec![unauthorized(), missing()]).await;
        let (client, _) = test_client(&server.url);
        let err = client.get_key(&key(None)).await.unwrap_err();
        assert!(
            matches!(
                err,
                KvError::NotFound {
                    missing: Missing::Key,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test]
    async fn a_network_error_names_the_host() {
        // A port that was free a moment ago: nothing listens there.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let (client, credential) = test_client(&format!("http://{addr}"));
        let err = client.get_key(&key(None)).await.unwrap_err();
        let KvError::Network { host, attempts, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(host, &addr.to_string());
        assert_eq!(*attempts, 4);
        let text = err.to_string();
        assert!(
            text.contains(&addr.to_string()) && text.contains("kv-proxy"),
            "{text}"
        );
        assert_eq!(client.request_count(), 4);
        assert!(credential.requests.borrow().is_empty());
    }

    #[tokio::test]
    async fn a_dropped_connection_is_retried() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let replies = [
            None,
            Some((
                "401 Unauthorized",
                format!("WWW-Authenticate: {}\r\n", challenge()),
                String::new(),
            )),
            Some(("200 OK", String::new(), key_bundle("k", KID_VERSION, true))),
        ];
        let server = tokio::spawn(async move {
            for reply in replies {
                let (mut stream, _) = listener.accept().await.unwrap();
                let Some((status, headers, body)) = reply else {
                    drop(stream); // closed without an answer
                    continue;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap() == 1 {
                    head.push(byte[0]);
                }
                let answer = format!(
                    "HTTP/1.1 {status}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let (client, _) = test_client(&url);
        let got = client.get_key(&key(None)).await.unwrap();
        assert_eq!(got.id.version.as_deref(), Some(KID_VERSION));
        assert_eq!(client.request_count(), 3);
        server.await.unwrap();
    }

    #[test]
    fn only_certificate_failures_suggest_a_ca_and_skip_retries() {
        assert!(is_certificate_problem(
            "error sending request: invalid peer certificate: UnknownIssuer"
        ));
        assert!(!is_certificate_problem(
            "connection error: peer closed connection without sending TLS close_notify"
        ));
        assert!(!is_certificate_problem(
            "tcp connect error: Connection refused"
        ));
    }

    #[tokio::test]
    async fn a_foreign_challenge_resource_is_refused_unless_the_check_is_off() {
        let foreign = || {
            Reply::json(401, "{}").header(
                "WWW-Authenticate",
                r#"Bearer authorization="https://login.microsoftonline.com/t", resource="https://attacker.example""#,
            )
        };
        let server = TestServer::start(vec![foreign()]).await;
        let (client, credential) = test_client(&server.url);
        let err = client.get_key(&key(None)).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, KvError::Challenge { .. }), "{text}");
        assert!(
            text.contains("\"https://attacker.example\"")
                && text.contains("\"myvault.vault.azure.net\""),
            "{text}"
        );
        assert!(text.contains("--azure-kv-skip-resource-check"), "{text}");
        assert!(
            credential.requests.borrow().is_empty(),
            "no token may be requested"
        );

        let server = TestServer::start(vec![
            foreign(),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
        ])
        .await;
        let (client, credential) =
            test_client_with(&server.url, |o| o.verify_challenge_resource = false);
        client.get_key(&key(None)).await.unwrap();
        assert_eq!(
            credential.requests.borrow()[0].scopes,
            ["https://attacker.example/.default"]
        );
    }

    #[tokio::test]
    async fn the_endpoint_may_carry_a_path_prefix() {
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
        ])
        .await;
        let (client, _) = test_client(&format!("{}/myvault.vault.azure.net/", server.url));
        client.get_key(&key(Some(KID_VERSION))).await.unwrap();
        assert_eq!(
            server.requests()[1].target,
            format!("/myvault.vault.azure.net/keys/k/{KID_VERSION}?api-version=7.6")
        );
    }

    #[test]
    fn options_and_encodings() {
        let bad = KeyVaultClient::new(
            reqwest::Client::new(),
            Rc::new(TestCredential::default()),
            ClientOptions {
                endpoint: Some("ftp://x".into()),
                ..ClientOptions::default()
            },
        );
        assert!(matches!(bad, Err(KvError::Config(_))));
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(*b64url_decode("AQAB").unwrap(), [1, 0, 1]);
        assert_eq!(*b64url_decode("+/8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(*b64url_decode("-_8").unwrap(), [0xfb, 0xff]);
        assert!(b64url_decode("*").is_err());
    }
}
