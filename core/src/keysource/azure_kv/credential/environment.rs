//! A service principal configured by environment variables, as the Azure SDKs'
//! `EnvironmentCredential`:
//! - `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`, and
//! - `AZURE_CLIENT_SECRET` (a [`ClientSecretCredential`]), or else
//!   `AZURE_CLIENT_CERTIFICATE_PATH` (a [`ClientCertificateCredential`], native only; a
//!   `AZURE_CLIENT_CERTIFICATE_PASSWORD` is refused as unsupported).
//!
//! `AZURE_USERNAME`/`AZURE_PASSWORD` (username/password) is not supported and says so.

use super::authority::EntraOptions;
use super::client_secret::ClientSecretCredential;
use super::{AccessToken, CredentialError, EnvLookup, TokenCredential, TokenRequest};
use async_trait::async_trait;
use zeroize::Zeroizing;

/// This credential's name in errors.
pub const NAME: &str = "EnvironmentCredential";

/// The service principal chosen from the environment.
pub struct EnvironmentCredential {
    inner: Box<dyn TokenCredential>,
}

impl std::fmt::Debug for EnvironmentCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnvironmentCredential({})", self.inner.name())
    }
}

/// Re-labels an inner credential's error as this credential's, keeping the inner name.
fn relabel(error: CredentialError) -> CredentialError {
    CredentialError {
        message: format!("{}: {}", error.credential, error.message),
        credential: NAME.into(),
        unavailable: error.unavailable,
    }
}

impl EnvironmentCredential {
    /// Reads the variables above. Unavailable when the tenant, client id or both of
    /// secret and certificate are missing; failed when they are set but unusable.
    pub fn from_env(env: EnvLookup, http: reqwest::Client) -> Result<Self, CredentialError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let (tenant, client) = match (get("AZURE_TENANT_ID"), get("AZURE_CLIENT_ID")) {
            (Some(t), Some(c)) => (t.trim().to_string(), c),
            (t, c) => {
                let missing: Vec<&str> = [
                    ("AZURE_TENANT_ID", t.is_none()),
                    ("AZURE_CLIENT_ID", c.is_none()),
                ]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| *n)
                .collect();
                return Err(CredentialError::unavailable(
                    NAME,
                    format!("not configured: {} not set", missing.join(", ")),
                ));
            }
        };
        let options = EntraOptions::from_env(env).map_err(|e| CredentialError::failed(NAME, e))?;
        if let Some(secret) = env("AZURE_CLIENT_SECRET").filter(|s| !s.is_empty()) {
            let inner = ClientSecretCredential::new(
                &tenant,
                &client,
                Zeroizing::new(secret),
                options,
                http,
            )
            .map_err(relabel)?;
            return Ok(Self {
                inner: Box::new(inner),
            });
        }
        if let Some(path) = get("AZURE_CLIENT_CERTIFICATE_PATH") {
            return Self::certificate(env, &tenant, &client, &path, options, http);
        }
        let hint = if get("AZURE_USERNAME").is_some() {
            "AZURE_USERNAME/AZURE_PASSWORD (username/password) is not supported; set"
        } else {
            "not configured: set"
        };
        Err(CredentialError::unavailable(
            NAME,
            format!("{hint} AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH"),
        ))
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn certificate(
        env: EnvLookup,
        tenant: &str,
        client: &str,
        path: &str,
        options: EntraOptions,
        http: reqwest::Client,
    ) -> Result<Self, CredentialError> {
        let password = env("AZURE_CLIENT_CERTIFICATE_PASSWORD");
        let inner = super::client_certificate::ClientCertificateCredential::from_path(
            tenant,
            client,
            std::path::Path::new(path.trim()),
            password.as_deref(),
            options,
            http,
        )
        .map_err(relabel)?;
        Ok(Self {
            inner: Box::new(inner),
        })
    }

    #[cfg(target_arch = "wasm32")]
    fn certificate(
        _env: EnvLookup,
        _tenant: &str,
        _client: &str,
        _path: &str,
        _options: EntraOptions,
        _http: reqwest::Client,
    ) -> Result<Self, CredentialError> {
        Err(CredentialError::unavailable(
            NAME,
            "AZURE_CLIENT_CERTIFICATE_PATH cannot be read in WebAssembly",
        ))
    }

    /// The chosen credential's name (`ClientSecretCredential` or
    /// `ClientCertificateCredential`).
    pub fn kind(&self) -> &str {
        self.inner.name()
    }
}

#[async_trait(?Send)]
impl TokenCredential for EnvironmentCredential {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        self.inner.get_token(request).await.map_err(relabel)
    }

    fn invalidate(&self, request: &TokenRequest) {
        self.inner.invalidate(request)
    }

    fn invalidate_rejected(&self, request: &TokenRequest, token: &str) {
        self.inner.invalidate_rejected(request, token)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::credential::test_support::{env_of, pairs};
    use crate::keysource::rest::test_server::{Reply, TestServer};

    fn from(vars: &[(&str, &str)]) -> Result<EnvironmentCredential, CredentialError> {
        EnvironmentCredential::from_env(&env_of(vars), reqwest::Client::new())
    }

    #[tokio::test]
    async fn a_secret_selects_the_client_secret_flow() {
        let server = TestServer::start(vec![Reply::json(
            200,
            r#"{"access_token":"env-tok","expires_in":3600}"#,
        )])
        .await;
        let credential = from(&[
            ("AZURE_TENANT_ID", "env-tenant"),
            ("AZURE_CLIENT_ID", "env-client"),
            ("AZURE_CLIENT_SECRET", "env-secret"),
            (
                "AZURE_CLIENT_CERTIFICATE_PATH",
                "/ignored/when/a/secret/is/set",
            ),
            ("AZURE_AUTHORITY_HOST", &server.url),
        ])
        .unwrap();
        assert_eq!(credential.kind(), "ClientSecretCredential");
        let token = credential
            .get_token(&TokenRequest {
                scopes: vec!["https://vault.azure.net/.default".into()],
                tenant_id: None,
            })
            .await
            .unwrap();
        assert_eq!(token.token.as_str(), "env-tok");
        let seen = server.requests();
        assert_eq!(seen[0].target, "/env-tenant/oauth2/v2.0/token");
        assert!(pairs(&seen[0].body).contains(&("client_secret".into(), "env-secret".into())));
    }

    #[test]
    fn a_certificate_path_selects_the_certificate_flow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sp.pem");
        let pem = format!(
            "{}{}",
            include_str!("testdata/cert.pem"),
            include_str!("testdata/key.pem")
        );
        std::fs::write(&path, pem).unwrap();
        let path = path.to_string_lossy().to_string();
        let vars = [
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", path.as_str()),
        ];
        assert_eq!(from(&vars).unwrap().kind(), "ClientCertificateCredential");
        let err = from(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", "/nonexistent/sp.pem"),
        ])
        .unwrap_err();
        assert!(
            !err.unavailable,
            "a configured but unreadable certificate is a failure"
        );
        assert!(
            err.to_string().starts_with(
                "EnvironmentCredential: ClientCertificateCredential: /nonexistent/sp.pem"
            ),
            "{err}"
        );
    }

    #[test]
    fn says_what_is_missing() {
        let err = from(&[("AZURE_CLIENT_SECRET", "s")]).unwrap_err();
        assert!(err.unavailable);
        assert!(
            err.message
                .contains("AZURE_TENANT_ID, AZURE_CLIENT_ID not set"),
            "{err}"
        );
        let err = from(&[("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c")]).unwrap_err();
        assert!(
            err.unavailable
                && err
                    .message
                    .contains("AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH"),
            "{err}"
        );
        let err = from(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_USERNAME", "u"),
        ])
        .unwrap_err();
        assert!(
            err.message.contains("username/password) is not supported"),
            "{err}"
        );
        let err = from(&[
            ("AZURE_TENANT_ID", "bad/tenant"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
        ])
        .unwrap_err();
        assert!(
            !err.unavailable && err.message.contains("invalid tenant id"),
            "{err}"
        );
    }
}
