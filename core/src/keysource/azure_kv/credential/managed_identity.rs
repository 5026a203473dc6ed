//! Managed identity: a token from the Azure host the program runs on.
//!
//! Two sources, chosen from the environment as the Azure SDKs do:
//! - **App Service / Functions / Container Apps**: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`;
//!   `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=R[&client_id=ID]` with the
//!   header `X-IDENTITY-HEADER`.
//! - **IMDS** (VMs, scale sets, AKS pod identity): `GET
//!   {IMDS_ENDPOINT | AZURE_POD_IDENTITY_AUTHORITY_HOST | http://169.254.169.254}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=R[&client_id=ID]`
//!   with `Metadata: true`. Until IMDS has answered once, a request gives up after
//!   [`PROBE_TIMEOUT`], so a chain falls through quickly off Azure; no answer means
//!   "unavailable".
//!
//! Transient answers (429 and 5xx; for IMDS also 404 and 410, which it sends while
//! updating) are retried under the Key Vault client's retry policy.
//!
//! `R` is the scope without `/.default`; `AZURE_CLIENT_ID` selects a user-assigned
//! identity. Not supported, reported as unavailable so a chain moves on: Azure Arc
//! (`IDENTITY_ENDPOINT` + `IMDS_ENDPOINT` without `IDENTITY_HEADER`), Service Fabric
//! (`IDENTITY_SERVER_THUMBPRINT`) and Cloud Shell / legacy App Service (`MSI_ENDPOINT`).

use super::entra::{describe_error_body, parse_token_response};
use super::{AccessToken, CredentialError, EnvLookup, TokenCredential, TokenRequest};
use crate::keysource::rest::redact::root_cause;
use crate::keysource::rest::retry::RetryPolicy;
use crate::keysource::rest::send::Retry;
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use zeroize::Zeroizing;

/// This credential's name in errors.
pub const NAME: &str = "ManagedIdentityCredential";

/// The link-local IMDS address used when nothing overrides it.
pub const IMDS_DEFAULT_HOST: &str = "http://169.254.169.254";

/// How long the first IMDS request may take before IMDS is deemed absent.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// Statuses IMDS answers while it is busy or updating (as the Azure SDKs retry them):
/// 404, 410, 429 and 5xx other than 501 and 505.
fn imds_retry_status(status: u16) -> bool {
    matches!(status, 404 | 410 | 429)
        || ((500..600).contains(&status) && !matches!(status, 501 | 505))
}

/// Where tokens come from.
enum Source {
    AppService {
        endpoint: String,
        header: Zeroizing<String>,
    },
    Imds {
        host: String,
    },
}

/// A managed-identity credential.
pub struct ManagedIdentityCredential {
    source: Source,
    client_id: Option<String>,
    http: reqwest::Client,
    probe_timeout: Option<Duration>,
    imds_answered: AtomicBool,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ManagedIdentityCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.source {
            Source::AppService { .. } => "AppService",
            Source::Imds { .. } => "IMDS",
        };
        write!(
            f,
            "ManagedIdentityCredential({kind}, {}, client_id={:?}, <redacted>)",
            self.endpoint(),
            self.client_id
        )
    }
}

impl ManagedIdentityCredential {
    fn with_source(source: Source, client_id: Option<String>, http: reqwest::Client) -> Self {
        Self {
            source,
            client_id: client_id.filter(|c| !c.trim().is_empty()),
            http,
            probe_timeout: Some(PROBE_TIMEOUT),
            imds_answered: AtomicBool::new(false),
            retry: RetryPolicy::default(),
        }
    }

    /// App Service style: `endpoint` (`IDENTITY_ENDPOINT`) and `header`
    /// (`IDENTITY_HEADER`); `client_id` for a user-assigned identity.
    pub fn app_service(
        endpoint: &str,
        header: Zeroizing<String>,
        client_id: Option<String>,
        http: reqwest::Client,
    ) -> Self {
        let source = Source::AppService {
            endpoint: endpoint.trim().into(),
            header,
        };
        Self::with_source(source, client_id, http)
    }

    /// IMDS at `host` (e.g. [`IMDS_DEFAULT_HOST`]); `client_id` for a user-assigned
    /// identity. The first request times out after [`PROBE_TIMEOUT`].
    pub fn imds(host: &str, client_id: Option<String>, http: reqwest::Client) -> Self {
        let host = host.trim().trim_end_matches('/').to_string();
        Self::with_source(Source::Imds { host }, client_id, http)
    }

    /// Sets the IMDS probe timeout (`None`: only the HTTP client's own timeout, for a
    /// credential selected explicitly, where waiting is better than giving up).
    pub fn with_probe_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Sets how transient answers (429, 5xx; for IMDS also 404 and 410) and connection
    /// errors after the probe are retried (default: the Key Vault client's policy).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Chooses the source from the environment (see the module docs). Unavailable only
    /// for the unsupported hosts; IMDS is the fallback and is probed on first use.
    pub fn from_env(env: EnvLookup, http: reqwest::Client) -> Result<Self, CredentialError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let client_id = get("AZURE_CLIENT_ID");
        let unsupported = |what: &str| {
            CredentialError::unavailable(NAME, format!("{what} managed identity is not supported"))
        };
        match (get("IDENTITY_ENDPOINT"), get("IDENTITY_HEADER")) {
            (Some(_), Some(_)) if get("IDENTITY_SERVER_THUMBPRINT").is_some() => {
                Err(unsupported("Service Fabric (IDENTITY_SERVER_THUMBPRINT)"))
            }
            (Some(endpoint), Some(header)) => Ok(Self::app_service(
                &endpoint,
                Zeroizing::new(header),
                client_id,
                http,
            )),
            (Some(_), None) if get("IMDS_ENDPOINT").is_some() => Err(unsupported(
                "Azure Arc (IDENTITY_ENDPOINT and IMDS_ENDPOINT)",
            )),
            (Some(_), None) => Err(CredentialError::failed(
                NAME,
                "IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not",
            )),
            (None, _) if get("MSI_ENDPOINT").is_some() => Err(unsupported(
                "Cloud Shell or legacy App Service (MSI_ENDPOINT)",
            )),
            (None, _) => {
                let host = get("IMDS_ENDPOINT")
                    .or_else(|| get("AZURE_POD_IDENTITY_AUTHORITY_HOST"))
                    .unwrap_or_else(|| IMDS_DEFAULT_HOST.into());
                if !host.trim().starts_with("http://") && !host.trim().starts_with("https://") {
                    return Err(CredentialError::failed(
                        NAME,
                        format!("IMDS host \"{host}\" is not an http(s) URL"),
                    ));
                }
                Ok(Self::imds(&host, client_id, http))
            }
        }
    }

    /// The token endpoint this credential calls (no secret in it).
    pub fn endpoint(&self) -> String {
        match &self.source {
            Source::AppService { endpoint, .. } => endpoint.clone(),
            Source::Imds { host } => format!("{host}{IMDS_PATH}"),
        }
    }

    /// `scope` without `/.default`: the `resource` managed identity wants.
    fn resource(request: &TokenRequest) -> Result<String, CredentialError> {
        match request.scopes.as_slice() {
            [scope] => Ok(scope.strip_suffix("/.default").unwrap_or(scope).to_string()),
            _ => Err(CredentialError::failed(
                NAME,
                format!(
                    "managed identity takes exactly one scope, got {}",
                    request.scopes.len()
                ),
            )),
        }
    }

    fn query<'a>(&'a self, api_version: &'a str, resource: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut query = vec![("api-version", api_version), ("resource", resource)];
        if let Some(id) = &self.client_id {
            query.push(("client_id", id.as_str()));
        }
        query
    }

    async fn app_service_token(
        &self,
        endpoint: &str,
        header: &str,
        resource: &str,
    ) -> Result<AccessToken, CredentialError> {
        let failed = |m: String| CredentialError::failed(NAME, m);
        let query = self.query("2019-08-01", resource);
        let build = || {
            self.http
                .get(endpoint)
                .query(&query)
                .header("X-IDENTITY-HEADER", header)
                .header("Metadata", "true")
        };
        let answer = Retry::new(&self.retry).send(&build).await.map_err(|e| {
            failed(format!(
                "cannot reach IDENTITY_ENDPOINT {endpoint}: {}",
                root_cause(&e.error, &[header])
            ))
        })?;
        let (status, body) = (answer.status, answer.body);
        if !(200..300).contains(&status) {
            return Err(failed(format!(
                "IDENTITY_ENDPOINT {endpoint} answered {status}: {}",
                describe_error_body(&body, &[header])
            )));
        }
        parse_token_response(NAME, &format!("IDENTITY_ENDPOINT {endpoint}"), &body)
    }

    async fn imds_token(&self, host: &str, resource: &str) -> Result<AccessToken, CredentialError> {
        let url = format!("{host}{IMDS_PATH}");
        let query = self.query("2018-02-01", resource);
        let build = || self.http.get(&url).query(&query).header("Metadata", "true");
        let probing = !self.imds_answered.load(Ordering::SeqCst);
        let probe = self.probe_timeout.filter(|_| probing);
        let imds = Retry::new(&self.retry)
            .statuses(&imds_retry_status)
            .probe(probe);
        let answer = match imds.send(&build).await {
            Ok(answer) => answer,
            Err(e) if probing => {
                let why = if e.error.is_timeout() {
                    "no answer in time".to_string()
                } else {
                    root_cause(&e.error, &[])
                };
                return Err(CredentialError::unavailable(
                    NAME,
                    format!(
                        "no managed identity endpoint at {host} ({why}): not running on Azure?"
                    ),
                ));
            }
            Err(e) => {
                return Err(CredentialError::failed(
                    NAME,
                    format!("IMDS {url}: {}", root_cause(&e.error, &[])),
                ))
            }
        };
        self.imds_answered.store(true, Ordering::SeqCst);
        let (status, body) = (answer.status, answer.body);
        match status {
            200..=299 => parse_token_response(NAME, &format!("IMDS {url}"), &body),
            400 => Err(CredentialError::unavailable(
                NAME,
                format!(
                    "IMDS {url} answered 400: no such identity is assigned to this host ({})",
                    describe_error_body(&body, &[])
                ),
            )),
            403 if String::from_utf8_lossy(&body).contains("unreachable") => {
                Err(CredentialError::unavailable(
                    NAME,
                    format!("IMDS {url} is unreachable from here (a proxy answered 403)"),
                ))
            }
            _ => Err(CredentialError::failed(
                NAME,
                format!(
                    "IMDS {url} answered {status}: {}",
                    describe_error_body(&body, &[])
                ),
            )),
        }
    }
}

#[async_trait(?Send)]
impl TokenCredential for ManagedIdentityCredential {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        let resource = Self::resource(request)?;
        match &self.source {
            Source::AppService { endpoint, header } => {
                self.app_service_token(endpoint, header, &resource).await
            }
            Source::Imds { host } => self.imds_token(host, &resource).await,
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::credential::test_support::{env_of, owned, split_target};
    use crate::keysource::rest::send::fast_policy;
    use crate::keysource::rest::test_server::{Reply, TestServer};

    fn request(scope: &str) -> TokenRequest {
        TokenRequest {
            scopes: vec![scope.into()],
            tenant_id: Some("ignored-tenant".into()),
        }
    }

    fn from(vars: &[(&str, &str)]) -> Result<ManagedIdentityCredential, CredentialError> {
        ManagedIdentityCredential::from_env(&env_of(vars), reqwest::Client::new())
    }

    #[tokio::test]
    async fn app_service_request_shape_and_string_expiry() {
        let server = TestServer::start(vec![Reply::json(
            200,
            r#"{"access_token":"mi-tok","expires_on":"1900000000","resource":"https://0.0.1:8443","token_type":"Bearer"}"#,
        )])
        .await;
        let endpoint = format!("{}/msi/token", server.url);
        let credential = from(&[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", "hdr-secret"),
            ("AZURE_CLIENT_ID", "user-assigned-id"),
        ])
        .unwrap();
        let token = credential
            .get_token(&request("https://0.0.1:8443/.default"))
            .await
            .unwrap();
        assert_eq!(
            (token.token.as_str(), token.expires_on),
            ("mi-tok", 1_900_000_000)
        );
        let seen = server.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "GET");
        let (path, query) = split_target(&seen[0].target);
        assert_eq!(path, "/msi/token");
        assert_eq!(
            query,
            owned(&[
                ("api-version", "2019-08-01"),
                ("resource", "https://0.0.1:8443"),
                ("client_id", "user-assigned-id"),
            ])
        );
        assert_eq!(seen[0].header("x-identity-header"), Some("hdr-secret"));
        assert!(!format!("{credential:?}").contains("hdr-secret"));
    }

    #[tokio::test]
    async fn app_service_numeric_expiry_and_failure_without_the_header_value() {
        let boom = Reply::json(
            500,
            r#"{"error":{"code":"InternalError","message":"boom hdr-secret"}}"#,
        );
        let mut replies = vec![Reply::json(
            200,
            r#"{"access_token":"t","expires_on":1900000001}"#,
        )];
        replies.extend(vec![boom; 3]);
        let server = TestServer::start(replies).await;
        let credential = ManagedIdentityCredential::app_service(
            &format!("{}/msi/token", server.url),
            Zeroizing::new("hdr-secret".into()),
            None,
            reqwest::Client::new(),
        )
        .with_retry(fast_policy());
        let token = credential
            .get_token(&request("https://vault.azure.net/.default"))
            .await
            .unwrap();
        assert_eq!(token.expires_on, 1_900_000_001);
        let (_, query) = split_target(&server.requests()[0].target);
        assert_eq!(
            query,
            owned(&[
                ("api-version", "2019-08-01"),
                ("resource", "https://vault.azure.net")
            ])
        );
        let err = credential
            .get_token(&request("https://vault.azure.net/.default"))
            .await
            .unwrap_err();
        assert!(!err.unavailable);
        assert!(
            err.message
                .contains("answered 500: InternalError: boom <redacted>"),
            "{err}"
        );
        assert_eq!(server.requests().len(), 4, "one success, then 3 attempts");
    }

    #[tokio::test]
    async fn imds_uses_the_endpoint_override() {
        for var in ["IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST"] {
            let server = TestServer::start(vec![Reply::json(
                200,
                r#"{"access_token":"imds-tok","expires_on":"1900000002","expires_in":"3599"}"#,
            )])
            .await;
            let credential = from(&[(var, &format!("{}/", server.url))]).unwrap();
            assert_eq!(credential.endpoint(), format!("{}{IMDS_PATH}", server.url));
            let token = credential
                .get_token(&request("https://vault.azure.net/.default"))
                .await
                .unwrap();
            assert_eq!(
                (token.token.as_str(), token.expires_on),
                ("imds-tok", 1_900_000_002)
            );
            let seen = server.requests();
            assert_eq!(seen.len(), 1, "{var}: the override received the request");
            let (path, query) = split_target(&seen[0].target);
            assert_eq!(path, IMDS_PATH);
            assert_eq!(
                query,
                owned(&[
                    ("api-version", "2018-02-01"),
                    ("resource", "https://vault.azure.net")
                ])
            );
            assert_eq!(seen[0].header("metadata"), Some("true"));
        }
    }

    #[test]
    fn imds_defaults_to_the_link_local_address_without_calling_it() {
        let credential = from(&[]).unwrap();
        assert_eq!(
            credential.endpoint(),
            "http://169.254.169.254/metadata/identity/oauth2/token"
        );
    }

    #[tokio::test]
    async fn imds_that_refuses_connections_is_unavailable() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let credential = ManagedIdentityCredential::imds(
            &format!("http://127.0.0.1:{port}"),
            None,
            reqwest::Client::new(),
        );
        let err = credential
            .get_token(&request("https://vault.azure.net/.default"))
            .await
            .unwrap_err();
        assert!(err.unavailable, "{err}");
        assert!(
            err.message
                .contains("no managed identity endpoint at http://127.0.0.1"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn imds_that_never_answers_is_unavailable_after_the_probe_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = format!("http://{}", listener.local_addr().unwrap());
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let credential = ManagedIdentityCredential::imds(&host, None, reqwest::Client::new())
            .with_probe_timeout(Some(Duration::from_millis(200)));
        let started = std::time::Instant::now();
        let err = credential
            .get_token(&request("https://vault.azure.net/.default"))
            .await
            .unwrap_err();
        assert!(
            err.unavailable && err.message.contains("no answer in time"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        hold.abort();
    }

    #[tokio::test]
    async fn imds_400_is_unavailable_and_500_is_a_failure() {
        let server = TestServer::start(vec![
            Reply::json(
                400,
                r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
            ),
            Reply::json(500, r#"{"error":"server_error"}"#),
        ])
        .await;
        let credential = ManagedIdentityCredential::imds(
            &server.url,
            Some("uai".into()),
            reqwest::Client::new(),
        )
        .with_retry(fast_policy());
        let err = credential
            .get_token(&request("https://vault.azure.net/.default"))
            .await
            .unwrap_err();
        assert!(
            err.unavailable && err.message.contains("Identity not found"),
            "{err}"
        );
        let (_, query) = split_target(&server.requests()[0].target);
        assert_eq!(query.last(), Some(&("client_id".into(), "uai".into())));
        let err = credential
            .get_token(&request("https://vault.azure.net/.default"))
            .await
            .unwrap_err();
        assert!(
            !err.unavailable && err.message.contains("answered 500"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn imds_updating_answers_are_retried() {
        let server = TestServer::start(vec![
            Reply::json(410, r#"{"error":"gone"}"#),
            Reply::json(503, r#"{"error":"busy"}"#).header("Retry-After", "0"),
            Reply::json(
                200,
                r#"{"access_token":"after-retries","expires_on":"1900000000"}"#,
            ),
        ])
        .await;
        let credential = ManagedIdentityCredential::imds(&server.url, None, reqwest::Client::new())
            .with_retry(fast_policy());
        let token = credential
            .get_token(&request("https://vault.azure.net/.default"))
            .await
            .unwrap();
        assert_eq!(token.token.as_str(), "after-retries");
        assert_eq!(server.requests().len(), 3);
        assert!(imds_retry_status(404) && imds_retry_status(599));
        assert!(!imds_retry_status(400) && !imds_retry_status(501) && !imds_retry_status(505));
    }

    #[test]
    fn unsupported_hosts_are_unavailable_and_half_configuration_fails() {
        let arc = from(&[
            ("IDENTITY_ENDPOINT", "http://localhost:40342/x"),
            ("IMDS_ENDPOINT", "http://localhost:40342"),
        ]);
        assert!(arc.unwrap_err().message.contains("Azure Arc"));
        let sf = from(&[
            ("IDENTITY_ENDPOINT", "https://x"),
            ("IDENTITY_HEADER", "h"),
            ("IDENTITY_SERVER_THUMBPRINT", "ab"),
        ]);
        assert!(sf.unwrap_err().unavailable);
        let shell = from(&[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")]).unwrap_err();
        assert!(
            shell.unavailable && shell.message.contains("MSI_ENDPOINT"),
            "{shell}"
        );
        let half = from(&[("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi")]).unwrap_err();
        assert!(
            !half.unavailable && half.message.contains("IDENTITY_HEADER is not"),
            "{half}"
        );
        assert!(from(&[("IMDS_ENDPOINT", "169.254.169.254")]).is_err());
    }

    #[tokio::test]
    async fn exactly_one_scope() {
        let credential =
            ManagedIdentityCredential::imds("http://127.0.0.1:1", None, reqwest::Client::new());
        let err = credential
            .get_token(&TokenRequest {
                scopes: vec![],
                tenant_id: None,
            })
            .await
            .unwrap_err();
        assert!(err.message.contains("exactly one scope"), "{err}");
    }
}
