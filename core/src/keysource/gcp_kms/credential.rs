//! Credentials, found in sops 3.11's order and then as Google's libraries find them:
//! 1. `GOOGLE_CREDENTIALS` (sops's own): a credentials file's path, or its JSON;
//! 2. `GOOGLE_OAUTH_ACCESS_TOKEN`: an access token used as is;
//! 3. `GOOGLE_APPLICATION_CREDENTIALS`: a credentials file;
//! 4. gcloud's application-default credentials
//!    (`$CLOUDSDK_CONFIG` or `~/.config/gcloud`, `application_default_credentials.json`);
//! 5. the metadata server (`GCE_METADATA_HOST`, else `169.254.169.254`), probed last.
//!
//! Credential files are `service_account` (an RS256-signed JWT exchanged at the file's
//! `token_uri`) or `authorized_user` (a refresh token, as `gcloud auth
//! application-default login` writes). Tokens are cached until shortly before they expire.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::Digest;
use zeroize::Zeroizing;

use super::error::GcpKmsError;
use crate::keysource::rest::cache::{Expiring, ExpiringCache};
use crate::keysource::rest::platform::now_unix;
use crate::keysource::rest::redact;
use crate::keysource::rest::retry::RetryPolicy;
use crate::keysource::rest::send::Retry;

/// An environment lookup (the process environment in the CLI, a map in tests).
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Google's token endpoint, for files without `token_uri`.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The scope requested for Cloud KMS.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const DEFAULT_METADATA_HOST: &str = "169.254.169.254";
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// How a credential obtains its access tokens.
enum Kind {
    /// A token given directly.
    Static(Zeroizing<String>),
    /// A service-account key.
    ServiceAccount {
        email: String,
        key_id: String,
        key: Box<RsaPrivateKey>,
        token_uri: String,
    },
    /// gcloud's user credentials.
    AuthorizedUser {
        client_id: String,
        client_secret: Zeroizing<String>,
        refresh_token: Zeroizing<String>,
        token_uri: String,
    },
    /// The GCE metadata server at this host.
    Metadata(String),
}

/// A credential and where it came from.
pub struct Credential {
    kind: Kind,
    /// Where it came from and what it is, for messages (never a secret), e.g.
    /// `GOOGLE_APPLICATION_CREDENTIALS=/k.json (service account a@p.iam.gserviceaccount.com)`.
    pub origin: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({})", self.origin)
    }
}

/// An access token and its expiry (Unix seconds).
#[derive(Clone)]
pub struct Token {
    /// The bearer token.
    pub value: Zeroizing<String>,
    /// When it expires.
    pub expires_on: u64,
}

impl Expiring for Token {
    fn expires_on(&self) -> u64 {
        self.expires_on
    }
}

fn non_empty(env: &Env, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

/// Finds the credential to use, in the order of the module documentation.
pub fn discover(env: &Env) -> Result<Credential, GcpKmsError> {
    if let Some(value) = non_empty(env, "GOOGLE_CREDENTIALS") {
        // sops: a path if such a file exists, else the JSON itself.
        return match std::fs::read(&value) {
            Ok(bytes) => from_json(&bytes, &format!("GOOGLE_CREDENTIALS={value}")),
            Err(_) => from_json(value.as_bytes(), "GOOGLE_CREDENTIALS (JSON)"),
        };
    }
    if let Some(token) = non_empty(env, "GOOGLE_OAUTH_ACCESS_TOKEN") {
        return Ok(Credential {
            kind: Kind::Static(Zeroizing::new(token)),
            origin: "GOOGLE_OAUTH_ACCESS_TOKEN".into(),
        });
    }
    if let Some(path) = non_empty(env, "GOOGLE_APPLICATION_CREDENTIALS") {
        let origin = format!("GOOGLE_APPLICATION_CREDENTIALS={path}");
        let bytes = std::fs::read(&path).map_err(|e| {
            GcpKmsError::Credentials(format!("{origin}: cannot read the file: {e}"))
        })?;
        return from_json(&bytes, &origin);
    }
    let gcloud_dir = non_empty(env, "CLOUDSDK_CONFIG")
        .or_else(|| non_empty(env, "HOME").map(|h| format!("{h}/.config/gcloud")));
    if let Some(dir) = gcloud_dir {
        let path = format!("{dir}/application_default_credentials.json");
        if let Ok(bytes) = std::fs::read(&path) {
            return from_json(
                &bytes,
                &format!("gcloud application-default credentials {path}"),
            );
        }
    }
    let host = non_empty(env, "GCE_METADATA_HOST").unwrap_or_else(|| DEFAULT_METADATA_HOST.into());
    Ok(Credential {
        origin: format!("the metadata server at {host} (no GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN, GOOGLE_APPLICATION_CREDENTIALS or gcloud application-default credentials)"),
        kind: Kind::Metadata(host),
    })
}

/// A credential from a credentials file's JSON.
pub fn from_json(bytes: &[u8], origin: &str) -> Result<Credential, GcpKmsError> {
    let bad = |what: &str| GcpKmsError::Credentials(format!("{origin}: {what}"));
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| bad("not a JSON credentials file"))?;
    let field = |name: &str| json[name].as_str().filter(|s| !s.is_empty());
    let token_uri = field("token_uri").unwrap_or(GOOGLE_TOKEN_URI).to_string();
    match field("type") {
        Some("service_account") => {
            let email = field("client_email").ok_or_else(|| bad("service account without client_email"))?;
            let pem = Zeroizing::new(
                field("private_key").ok_or_else(|| bad("service account without private_key"))?.to_string(),
            );
            let key = {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                use rsa::pkcs8::DecodePrivateKey;
                RsaPrivateKey::from_pkcs8_pem(&pem)
                    .or_else(|_| RsaPrivateKey::from_pkcs1_pem(&pem))
                    .map_err(|_| bad("private_key is not an RSA private key (PEM)"))?
            };
            Ok(Credential {
                origin: format!("{origin} (service account {email})"),
                kind: Kind::ServiceAccount {
                    email: email.to_string(),
                    key_id: field("private_key_id").unwrap_or("").to_string(),
                    key: Box::new(key),
                    token_uri,
                },
            })
        }
        Some("authorized_user") => {
            let client_id = field("client_id").ok_or_else(|| bad("authorized_user without client_id"))?;
            Ok(Credential {
                origin: format!("{origin} (authorized user)"),
                kind: Kind::AuthorizedUser {
                    client_id: client_id.to_string(),
                    client_secret: Zeroizing::new(field("client_secret").unwrap_or("").to_string()),
                    refresh_token: Zeroizing::new(
                        field("refresh_token").ok_or_else(|| bad("authorized_user without refresh_token"))?.to_string(),
                    ),
                    token_uri,
                },
            })
        }
        Some(other) => Err(bad(&format!(
            "credentials of type {other:?} are not supported; use a service_account or authorized_user file, or GOOGLE_OAUTH_ACCESS_TOKEN"
        ))),
        None => Err(bad("no \"type\" field: not a Google credentials file")),
    }
}

/// A signed service-account assertion (RS256 JWT) for `token_uri` at `now`.
fn assertion(
    email: &str,
    key_id: &str,
    key: &RsaPrivateKey,
    token_uri: &str,
    now: u64,
) -> Result<Zeroizing<String>, String> {
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key_id});
    let claims = serde_json::json!({
        "iss": email, "scope": SCOPE, "aud": token_uri, "iat": now, "exp": now + 3600,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let hash = sha2::Sha256::digest(signing_input.as_bytes());
    let padding = Pkcs1v15Sign {
        hash_len: Some(hash.len()),
        prefix: SHA256_DIGEST_INFO_PREFIX.into(),
    };
    let signature = key
        .sign(padding, &hash)
        .map_err(|e| format!("cannot sign the token request: {e}"))?;
    Ok(Zeroizing::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A caller-supplied token source, used instead of the discovered credentials (the wasm
/// bindings' JS callback, an application's own OAuth flow).
#[async_trait::async_trait(?Send)]
pub trait TokenSource {
    /// What to call it in messages, e.g. `gcpKms.getToken`.
    fn name(&self) -> &str;

    /// A current access token; the error says what went wrong (never a secret).
    async fn token(&self) -> Result<Token, String>;
}

/// Fetches access tokens for credentials, caching them by origin.
pub struct TokenProvider {
    http: reqwest::Client,
    policy: RetryPolicy,
    cache: ExpiringCache<String, Token>,
}

impl TokenProvider {
    /// A provider sending with `http` under `policy`.
    pub fn new(http: reqwest::Client, policy: RetryPolicy) -> Self {
        Self {
            http,
            policy,
            cache: ExpiringCache::new(),
        }
    }

    /// Forgets the cached token of `credential` (after the service refused it).
    pub fn forget(&self) {
        self.cache.clear();
    }

    /// An access token for `credential`, cached until shortly before it expires.
    pub async fn token(&self, credential: &Credential) -> Result<Token, GcpKmsError> {
        if let Kind::Static(token) = &credential.kind {
            return Ok(Token {
                value: token.clone(),
                expires_on: u64::MAX,
            });
        }
        self.cache
            .get_or_fetch(credential.origin.clone(), || self.fetch(credential))
            .await
    }

    async fn fetch(&self, credential: &Credential) -> Result<Token, GcpKmsError> {
        let err = |message: String| GcpKmsError::Token {
            credential: credential.origin.clone(),
            message,
        };
        let now = now_unix();
        let (url, retry) = match &credential.kind {
            Kind::Static(_) => unreachable!("handled by token()"),
            Kind::ServiceAccount { token_uri, .. } | Kind::AuthorizedUser { token_uri, .. } => {
                (token_uri.clone(), Retry::new(&self.policy))
            }
            Kind::Metadata(host) => (
                format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token"),
                Retry::new(&self.policy).probe(Some(Duration::from_secs(2))),
            ),
        };
        let z = |s: &str| Zeroizing::new(s.to_string());
        let form: Vec<(&str, Zeroizing<String>)> = match &credential.kind {
            Kind::ServiceAccount {
                email,
                key_id,
                key,
                token_uri,
            } => {
                let jwt = assertion(email, key_id, key, token_uri, now).map_err(err)?;
                vec![
                    (
                        "grant_type",
                        z("urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ),
                    ("assertion", jwt),
                ]
            }
            Kind::AuthorizedUser {
                client_id,
                client_secret,
                refresh_token,
                ..
            } => vec![
                ("grant_type", z("refresh_token")),
                ("client_id", z(client_id)),
                ("client_secret", client_secret.clone()),
                ("refresh_token", refresh_token.clone()),
            ],
            _ => Vec::new(),
        };
        let form = Zeroizing::new(
            form.iter()
                .map(|(k, v)| format!("{k}={}", form_encode(v)))
                .collect::<Vec<_>>()
                .join("&"),
        );
        let is_metadata = matches!(credential.kind, Kind::Metadata(_));
        let answer = retry
            .send(&|| {
                if is_metadata {
                    self.http.get(&url).header("Metadata-Flavor", "Google")
                } else {
                    self.http
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form.to_string())
                }
            })
            .await
            .map_err(|e| {
                err(format!(
                    "cannot reach {}: {}{}",
                    crate::keysource::authority(&url),
                    redact::root_cause(&e.error, &[]),
                    if is_metadata {
                        "; outside Google Cloud, set GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN or run gcloud auth application-default login"
                    } else {
                        ""
                    }
                ))
            })?;
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        if answer.status != 200 {
            let detail = match (body["error"].as_str(), body["error_description"].as_str()) {
                (Some(e), Some(d)) => format!("{e}: {d}"),
                (Some(e), None) => e.to_string(),
                _ => String::from_utf8_lossy(&answer.body).into_owned(),
            };
            return Err(err(format!(
                "{} answered {}: {}",
                crate::keysource::authority(&url),
                answer.status,
                redact::quote(&detail, &[])
            )));
        }
        let value = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                err(format!(
                    "{} sent no access_token",
                    crate::keysource::authority(&url)
                ))
            })?;
        Ok(Token {
            value: Zeroizing::new(value.to_string()),
            expires_on: now + body["expires_in"].as_u64().unwrap_or(3600),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Arc::new(move |k| map.get(k).cloned())
    }

    #[test]
    fn order_follows_sops_then_google() {
        let c = discover(&env(&[
            ("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.t"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent"),
        ]))
        .unwrap();
        assert_eq!(c.origin, "GOOGLE_OAUTH_ACCESS_TOKEN");
        let e = discover(&env(&[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "/nonexistent/k.json",
        )]))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("GOOGLE_APPLICATION_CREDENTIALS=/nonexistent/k.json: cannot read"),
            "{e}"
        );
        let c = discover(&env(&[
            ("HOME", "/nonexistent"),
            ("GCE_METADATA_HOST", "127.0.0.1:9"),
        ]))
        .unwrap();
        assert!(
            c.origin.starts_with("the metadata server at 127.0.0.1:9"),
            "{}",
            c.origin
        );
        let json =
            r#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}"#;
        let c = discover(&env(&[
            ("GOOGLE_CREDENTIALS", json),
            ("GOOGLE_OAUTH_ACCESS_TOKEN", "t"),
        ]))
        .unwrap();
        assert_eq!(c.origin, "GOOGLE_CREDENTIALS (JSON) (authorized user)");
    }

    #[test]
    fn unsupported_and_bad_files_say_so_without_secrets() {
        let e = from_json(br#"{"type":"external_account"}"#, "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"external_account\" are not supported"), "{e}");
        let e = from_json(br#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"}"#, "f")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not an RSA private key") && !e.contains("c2VjcmV0"),
            "{e}"
        );
    }
}
