//! The Key Vault REST client: get a key, encrypt, decrypt, wrap and unwrap, with the
//! SDKs' challenge flow, retries and errors that say what to do.
//!
//! Challenge flow (as the Go and Python SDKs): the first request to a vault goes out
//! without `Authorization` and without a body; Key Vault answers 401 with a
//! `WWW-Authenticate` challenge naming the token scope and tenant; the client checks the
//! challenge's resource against the vault host, gets a token from its credential and
//! resends. The challenge is then cached per vault. A 401 on a request that carried a
//! token re-challenges once, then fails. Concurrent operations on a vault share one
//! discovery: while one unauthenticated request is out, the others wait for its
//! challenge instead of each meeting the 401 (and the caching credential fetches one
//! token per scope and tenant for all of them).
//!
//! One client serves any number of vaults and may be shared (`Rc`) by concurrent
//! operations on one thread: no `RefCell` borrow is held across an `.await`.
//!
//! Files: this one holds the public types and the key operations; `versions` gets keys,
//! their latest versions and public keys; `flow` runs the challenge flow and maps
//! statuses to errors; `transport` builds and sends the HTTP requests.

mod flow;
mod transport;
mod versions;

use super::challenge::Challenge;
use super::credential::TokenCredential;
use super::encoding::{b64url, b64url_decode};
use super::error::{KvError, Operation};
use super::key_id::KeyId;
use super::local::{JsonWebKey, PublicKeyStore, PublicKeys};
use crate::keysource::authority;
use crate::keysource::rest::retry::RetryPolicy;
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
    discovering: RefCell<HashMap<String, Rc<futures_util::lock::Mutex<()>>>>,
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
            discovering: RefCell::default(),
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
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
