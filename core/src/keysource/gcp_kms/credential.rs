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
    /// Workload-identity federation: a subject token exchanged at an STS endpoint, then
    /// optionally a service account impersonated.
    ExternalAccount(Box<External>),
}

/// An `external_account` credentials file.
struct External {
    audience: String,
    subject_token_type: String,
    token_url: String,
    source: SubjectSource,
    /// JSON field holding the subject token (`format.type` = `json`), else plain text.
    json_field: Option<String>,
    impersonation_url: Option<String>,
}

/// Where the subject token comes from.
enum SubjectSource {
    /// A file (`credential_source.file`).
    File(String),
    /// A URL fetched with the given headers (`credential_source.url`).
    Url(String, Vec<(String, String)>),
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
        return match std::fs::read(&value).map(Zeroizing::new) {
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
        let bytes = std::fs::read(&path).map(Zeroizing::new).map_err(|e| {
            GcpKmsError::Credentials(format!("{origin}: cannot read the file: {e}"))
        })?;
        return from_json(&bytes, &origin);
    }
    let gcloud_dir = non_empty(env, "CLOUDSDK_CONFIG")
        .or_else(|| non_empty(env, "HOME").map(|h| format!("{h}/.config/gcloud")));
    if let Some(dir) = gcloud_dir {
        let path = format!("{dir}/application_default_credentials.json");
        if let Ok(bytes) = std::fs::read(&path).map(Zeroizing::new) {
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
    let file = CredentialsFile {
        json: serde_json::from_slice(bytes)
            .map_err(|_| bad_file(origin, "not a JSON credentials file"))?,
        origin,
    };
    match file.field("type") {
        Some("service_account") => file.service_account(),
        Some("authorized_user") => file.authorized_user(),
        Some("external_account") => file.external_account(),
        Some(other) => Err(file.bad(&format!(
            "credentials of type {other:?} are not supported; use a service_account, authorized_user or external_account file, or GOOGLE_OAUTH_ACCESS_TOKEN"
        ))),
        None => Err(file.bad("no \"type\" field: not a Google credentials file")),
    }
}

/// A credentials-file error naming where the file came from.
fn bad_file(origin: &str, what: &str) -> GcpKmsError {
    GcpKmsError::Credentials(format!("{origin}: {what}"))
}

/// A parsed credentials file and where it came from (for errors).
struct CredentialsFile<'a> {
    json: serde_json::Value,
    origin: &'a str,
}

impl CredentialsFile<'_> {
    /// A non-empty string field.
    fn field(&self, name: &str) -> Option<&str> {
        self.json[name].as_str().filter(|s| !s.is_empty())
    }

    /// A required non-empty string field.
    fn required(&self, name: &str, what: &str) -> Result<&str, GcpKmsError> {
        self.field(name).ok_or_else(|| self.bad(what))
    }

    fn bad(&self, what: &str) -> GcpKmsError {
        bad_file(self.origin, what)
    }

    fn token_uri(&self) -> String {
        self.field("token_uri")
            .unwrap_or(GOOGLE_TOKEN_URI)
            .to_string()
    }

    /// `service_account`: an RSA key (PKCS#8 or PKCS#1 PEM) that signs JWT assertions.
    fn service_account(&self) -> Result<Credential, GcpKmsError> {
        let email = self.required("client_email", "service account without client_email")?;
        let pem = Zeroizing::new(
            self.required("private_key", "service account without private_key")?
                .to_string(),
        );
        let key = {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::pkcs8::DecodePrivateKey;
            RsaPrivateKey::from_pkcs8_pem(&pem)
                .or_else(|_| RsaPrivateKey::from_pkcs1_pem(&pem))
                .map_err(|_| self.bad("private_key is not an RSA private key (PEM)"))?
        };
        Ok(Credential {
            origin: format!("{} (service account {email})", self.origin),
            kind: Kind::ServiceAccount {
                email: email.to_string(),
                key_id: self.field("private_key_id").unwrap_or("").to_string(),
                key: Box::new(key),
                token_uri: self.token_uri(),
            },
        })
    }

    /// `authorized_user` (gcloud's application-default login): a refresh token.
    fn authorized_user(&self) -> Result<Credential, GcpKmsError> {
        let client_id = self.required("client_id", "authorized_user without client_id")?;
        let refresh_token =
            self.required("refresh_token", "authorized_user without refresh_token")?;
        Ok(Credential {
            origin: format!("{} (authorized user)", self.origin),
            kind: Kind::AuthorizedUser {
                client_id: client_id.to_string(),
                client_secret: Zeroizing::new(
                    self.field("client_secret").unwrap_or("").to_string(),
                ),
                refresh_token: Zeroizing::new(refresh_token.to_string()),
                token_uri: self.token_uri(),
            },
        })
    }

    /// Where an `external_account`'s subject token comes from: a file or a URL.
    fn subject_source(&self) -> Result<SubjectSource, GcpKmsError> {
        let source = &self.json["credential_source"];
        let src_field = |name: &str| source[name].as_str().filter(|s| !s.is_empty());
        if let Some(file) = src_field("file") {
            return Ok(SubjectSource::File(file.to_string()));
        }
        let Some(url) = src_field("url") else {
            return Err(self.bad(
                "external_account credential_source must be a file or a url (executable and AWS sources are not supported)",
            ));
        };
        let headers = source["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(SubjectSource::Url(url.to_string(), headers))
    }

    /// `external_account` (workload-identity federation): subject token → STS →
    /// optional service-account impersonation.
    fn external_account(&self) -> Result<Credential, GcpKmsError> {
        let source = &self.json["credential_source"];
        let subject = self.subject_source()?;
        let json_field = (source["format"]["type"].as_str() == Some("json")).then(|| {
            source["format"]["subject_token_field_name"]
                .as_str()
                .unwrap_or("")
                .to_string()
        });
        let audience = self.required("audience", "external_account without audience")?;
        let impersonation_url = self
            .field("service_account_impersonation_url")
            .map(str::to_string);
        let who = impersonation_url
            .as_deref()
            .and_then(|u| u.rsplit('/').next())
            .and_then(|t| t.strip_suffix(":generateAccessToken"))
            .map(|email| format!(", impersonating {email}"))
            .unwrap_or_default();
        Ok(Credential {
            origin: format!("{} (external account {audience}{who})", self.origin),
            kind: Kind::ExternalAccount(Box::new(External {
                audience: audience.to_string(),
                subject_token_type: self
                    .field("subject_token_type")
                    .unwrap_or("urn:ietf:params:oauth:token-type:jwt")
                    .to_string(),
                token_url: self
                    .field("token_url")
                    .unwrap_or("https://sts.googleapis.com/v1/token")
                    .to_string(),
                source: subject,
                json_field,
                impersonation_url,
            })),
        })
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
            Kind::Static(token) => {
                return Ok(Token {
                    value: token.clone(),
                    expires_on: u64::MAX,
                })
            }
            Kind::ExternalAccount(external) => return self.external(external).await.map_err(err),
            Kind::ServiceAccount { token_uri, .. } | Kind::AuthorizedUser { token_uri, .. } => {
                (token_uri.clone(), Retry::new(&self.policy))
            }
            Kind::Metadata(host) => (
                format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token"),
                Retry::new(&self.policy).probe(Some(Duration::from_secs(2))),
            ),
        };
        let form = token_form(&credential.kind, now).map_err(err)?;
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
        token_from_answer(&url, answer.status, &answer.body, now).map_err(err)
    }
}

/// The form body of a token request: a signed JWT assertion for a service account, the
/// refresh token for an authorized user; empty for the metadata server.
fn token_form(kind: &Kind, now: u64) -> Result<Zeroizing<String>, String> {
    let z = |s: &str| Zeroizing::new(s.to_string());
    let form: Vec<(&str, Zeroizing<String>)> = match kind {
        Kind::ServiceAccount {
            email,
            key_id,
            key,
            token_uri,
        } => {
            let jwt = assertion(email, key_id, key, token_uri, now)?;
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
    Ok(Zeroizing::new(
        form.iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&"),
    ))
}

/// The access token of a token endpoint's answer, or what it said instead.
fn token_from_answer(url: &str, status: u16, body: &[u8], now: u64) -> Result<Token, String> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if status != 200 {
        let detail = match (json["error"].as_str(), json["error_description"].as_str()) {
            (Some(e), Some(d)) => format!("{e}: {d}"),
            (Some(e), None) => e.to_string(),
            _ => String::from_utf8_lossy(body).into_owned(),
        };
        return Err(format!(
            "{} answered {status}: {}",
            crate::keysource::authority(url),
            redact::quote(&detail, &[])
        ));
    }
    let value = json["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("{} sent no access_token", crate::keysource::authority(url)))?;
    Ok(Token {
        value: Zeroizing::new(value.to_string()),
        expires_on: now + json["expires_in"].as_u64().unwrap_or(3600),
    })
}

impl TokenProvider {
    /// Sends one request; the answer's status and JSON, or what went wrong.
    async fn exchange(
        &self,
        build: &dyn Fn() -> reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(u16, serde_json::Value, Zeroizing<Vec<u8>>), String> {
        let answer = Retry::new(&self.policy).send(build).await.map_err(|e| {
            format!(
                "cannot reach {}: {}",
                crate::keysource::authority(url),
                redact::root_cause(&e.error, &[])
            )
        })?;
        let json = serde_json::from_slice(&answer.body).unwrap_or_default();
        Ok((answer.status, json, answer.body))
    }

    /// Workload-identity federation: subject token → STS → (impersonation).
    async fn external(&self, e: &External) -> Result<Token, String> {
        let now = now_unix();
        let subject = self.subject_token(e).await?;
        if subject.is_empty() {
            return Err("the subject token is empty".into());
        }
        let (sts_token, expires_in) = self.sts_exchange(e, &subject).await?;
        match &e.impersonation_url {
            None => Ok(Token {
                value: sts_token,
                expires_on: now + expires_in,
            }),
            Some(url) => self.impersonate(url, &sts_token, now).await,
        }
    }

    /// The subject token of an external account, read from its file or URL.
    async fn subject_token(&self, e: &External) -> Result<Zeroizing<String>, String> {
        let raw = match &e.source {
            SubjectSource::File(path) => Zeroizing::new(
                std::fs::read(path)
                    .map_err(|err| format!("cannot read the subject token file {path}: {err}"))?,
            ),
            SubjectSource::Url(url, headers) => {
                let (status, _, body) = self
                    .exchange(
                        &|| {
                            headers.iter().fold(self.http.get(url), |r, (k, v)| {
                                r.header(k.as_str(), v.as_str())
                            })
                        },
                        url,
                    )
                    .await?;
                if status != 200 {
                    return Err(format!(
                        "the subject token URL {} answered {status}",
                        crate::keysource::authority(url)
                    ));
                }
                body
            }
        };
        let subject = Zeroizing::new(match &e.json_field {
            Some(name) => serde_json::from_slice::<serde_json::Value>(&raw)
                .ok()
                .and_then(|v| v[name.as_str()].as_str().map(str::to_string))
                .ok_or_else(|| format!("the subject token is not JSON with a {name:?} field"))?,
            None => String::from_utf8_lossy(&raw).trim().to_string(),
        });
        Ok(subject)
    }

    /// Exchanges the subject token at Google's STS: the federated token and its lifetime.
    async fn sts_exchange(
        &self,
        e: &External,
        subject: &Zeroizing<String>,
    ) -> Result<(Zeroizing<String>, u64), String> {
        let form = Zeroizing::new(
            [
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("audience", e.audience.as_str()),
                ("scope", SCOPE),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
                ("subject_token", subject.as_str()),
                ("subject_token_type", e.subject_token_type.as_str()),
            ]
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&"),
        );
        let (status, json, _) = self
            .exchange(
                &|| {
                    self.http
                        .post(&e.token_url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form.to_string())
                },
                &e.token_url,
            )
            .await?;
        let sts_token = json["access_token"]
            .as_str()
            .filter(|_| status == 200)
            .ok_or_else(|| {
                let detail = format!(
                    "{}: {}",
                    json["error"].as_str().unwrap_or(""),
                    json["error_description"].as_str().unwrap_or("")
                );
                format!(
                    "the STS endpoint {} answered {status}: {}",
                    crate::keysource::authority(&e.token_url),
                    redact::quote(&detail, &[subject.as_str()])
                )
            })?;
        let sts_token = Zeroizing::new(sts_token.to_string());
        Ok((sts_token, json["expires_in"].as_u64().unwrap_or(3600)))
    }

    /// Trades the federated token for the service account's own (IAM generateAccessToken).
    async fn impersonate(&self, url: &str, sts_token: &str, now: u64) -> Result<Token, String> {
        let body = serde_json::json!({"scope": [SCOPE], "lifetime": "3600s"}).to_string();
        let (status, json, _) = self
            .exchange(
                &|| {
                    self.http
                        .post(url)
                        .bearer_auth(sts_token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                },
                url,
            )
            .await?;
        let token = json["accessToken"]
            .as_str()
            .filter(|_| status == 200)
            .ok_or_else(|| {
                format!(
                    "impersonation at {} answered {status}: {}",
                    crate::keysource::authority(url),
                    redact::quote(
                        json["error"]["message"].as_str().unwrap_or(""),
                        &[sts_token]
                    )
                )
            })?;
        // IAM answers an RFC 3339 expireTime; the requested hour, less a margin, is enough.
        Ok(Token {
            value: Zeroizing::new(token.to_string()),
            expires_on: now + 3000,
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
        let e = from_json(br#"{"type":"impersonated_service_account"}"#, "f")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"impersonated_service_account\" are not supported"),
            "{e}"
        );
        let e = from_json(br#"{"type":"external_account","audience":"a","credential_source":{"executable":{"command":"x"}}}"#, "f")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("executable and AWS sources are not supported"),
            "{e}"
        );
        let c = from_json(br#"{"type":"external_account","audience":"//iam/aud","credential_source":{"file":"/t"},"service_account_impersonation_url":"https://h/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken"}"#, "f").unwrap();
        assert_eq!(
            c.origin,
            "f (external account //iam/aud, impersonating a@p.iam.gserviceaccount.com)"
        );
        let e = from_json(br#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"}"#, "f")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not an RSA private key") && !e.contains("c2VjcmV0"),
            "{e}"
        );
    }
}
