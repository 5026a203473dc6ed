//! Workload identity (Kubernetes federated credentials): the client-credentials grant with
//! the projected service-account token as `client_assertion`.
//!
//! Configured by `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID` and `AZURE_TENANT_ID`
//! (plus `AZURE_AUTHORITY_HOST`), as the Azure Workload Identity webhook sets them. The file
//! rotates, so it is re-read (and trimmed) at every acquisition. Reading files is native
//! only: on wasm32 this credential reports itself unavailable.

use super::authority::{validate_tenant, EntraOptions};
use super::client_secret::scope_field;
use super::entra::request_token_with_assertion;
use super::{AccessToken, CredentialError, EnvLookup, TokenCredential, TokenRequest};
use async_trait::async_trait;
use zeroize::Zeroizing;

/// This credential's name in errors.
pub const NAME: &str = "WorkloadIdentityCredential";

/// A federated-token credential.
#[derive(Debug)]
pub struct WorkloadIdentityCredential {
    tenant_id: String,
    client_id: String,
    token_file: String,
    options: EntraOptions,
    http: reqwest::Client,
}

impl WorkloadIdentityCredential {
    /// A credential for `client_id` in `tenant_id` whose assertion is read from
    /// `token_file` at each acquisition.
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        token_file: &str,
        options: EntraOptions,
        http: reqwest::Client,
    ) -> Result<Self, CredentialError> {
        validate_tenant(tenant_id).map_err(|e| CredentialError::failed(NAME, e))?;
        if client_id.trim().is_empty() || token_file.is_empty() {
            return Err(CredentialError::failed(
                NAME,
                "the client id and token file must not be empty",
            ));
        }
        Ok(Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.trim().into(),
            token_file: token_file.into(),
            options,
            http,
        })
    }

    /// From `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
    /// `AZURE_AUTHORITY_HOST` and `AZURE_ADDITIONALLY_ALLOWED_TENANTS`. Unavailable when
    /// one of the first three is missing.
    pub fn from_env(env: EnvLookup, http: reqwest::Client) -> Result<Self, CredentialError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let vars = [
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
        ];
        let missing: Vec<&str> = vars.iter().copied().filter(|v| get(v).is_none()).collect();
        if !missing.is_empty() {
            return Err(CredentialError::unavailable(
                NAME,
                format!("not configured: {} not set", missing.join(", ")),
            ));
        }
        let options = EntraOptions::from_env(env).map_err(|e| CredentialError::failed(NAME, e))?;
        let value = |name: &str| get(name).unwrap_or_default();
        Self::new(
            value("AZURE_TENANT_ID").trim(),
            &value("AZURE_CLIENT_ID"),
            value("AZURE_FEDERATED_TOKEN_FILE").trim(),
            options,
            http,
        )
    }

    /// The federated token, trimmed.
    fn read_assertion(&self) -> Result<Zeroizing<String>, CredentialError> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let file = &self.token_file;
            let text = Zeroizing::new(std::fs::read_to_string(file).map_err(|e| {
                CredentialError::failed(
                    NAME,
                    format!("cannot read the federated token file {file}: {e}"),
                )
            })?);
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Err(CredentialError::failed(
                    NAME,
                    format!("the federated token file {file} is empty"),
                ));
            }
            Ok(Zeroizing::new(trimmed.to_string()))
        }
        #[cfg(target_arch = "wasm32")]
        {
            Err(CredentialError::unavailable(
                NAME,
                format!(
                    "the token file {} cannot be read in WebAssembly; pass a token callback instead",
                    self.token_file
                ),
            ))
        }
    }
}

#[async_trait(?Send)]
impl TokenCredential for WorkloadIdentityCredential {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        let tenant = self
            .options
            .resolve_tenant(&self.tenant_id, request.tenant_id.as_deref())
            .map_err(|e| CredentialError::failed(NAME, e))?;
        let scope = scope_field(NAME, request)?;
        let assertion = self.read_assertion()?;
        let url = self.options.authority.token_endpoint(&tenant);
        request_token_with_assertion(&self.http, NAME, &url, &self.client_id, &assertion, &scope)
            .await
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::credential::test_support::{env_of, owned, pairs};
    use crate::keysource::rest::test_server::{Reply, TestServer};

    fn request() -> TokenRequest {
        TokenRequest {
            scopes: vec!["https://vault.azure.net/.default".into()],
            tenant_id: None,
        }
    }

    #[tokio::test]
    async fn re_reads_and_trims_the_token_file_at_each_acquisition() {
        let server = TestServer::start(vec![
            Reply::json(200, r#"{"access_token":"wi-1","expires_in":3600}"#),
            Reply::json(200, r#"{"access_token":"wi-2","expires_in":3600}"#),
        ])
        .await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "federated-one\n").unwrap();
        let file_name = file.to_string_lossy().to_string();
        let env = env_of(&[
            ("AZURE_FEDERATED_TOKEN_FILE", &file_name),
            ("AZURE_CLIENT_ID", "wi-client"),
            ("AZURE_TENANT_ID", "wi-tenant"),
            ("AZURE_AUTHORITY_HOST", &server.url),
        ]);
        let credential =
            WorkloadIdentityCredential::from_env(&env, reqwest::Client::new()).unwrap();
        assert_eq!(
            credential
                .get_token(&request())
                .await
                .unwrap()
                .token
                .as_str(),
            "wi-1"
        );
        std::fs::write(&file, "  federated-two \n").unwrap();
        assert_eq!(
            credential
                .get_token(&request())
                .await
                .unwrap()
                .token
                .as_str(),
            "wi-2"
        );
        let seen = server.requests();
        assert_eq!(seen[0].target, "/wi-tenant/oauth2/v2.0/token");
        assert_eq!(
            pairs(&seen[0].body),
            owned(&[
                ("grant_type", "client_credentials"),
                ("client_id", "wi-client"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                ),
                ("client_assertion", "federated-one"),
                ("scope", "https://vault.azure.net/.default"),
            ])
        );
        assert_eq!(pairs(&seen[1].body)[3].1, "federated-two");
    }

    #[tokio::test]
    async fn unavailable_without_configuration_and_failing_on_a_missing_file() {
        let err = WorkloadIdentityCredential::from_env(
            &env_of(&[("AZURE_CLIENT_ID", "c")]),
            reqwest::Client::new(),
        )
        .unwrap_err();
        assert!(err.unavailable);
        assert!(
            err.message
                .contains("AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID not set"),
            "{err}"
        );
        let env = env_of(&[
            ("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/leafcrypt/token"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9"),
        ]);
        let err = WorkloadIdentityCredential::from_env(&env, reqwest::Client::new())
            .unwrap()
            .get_token(&request())
            .await
            .unwrap_err();
        assert!(!err.unavailable);
        assert!(
            err.message
                .contains("cannot read the federated token file /nonexistent/leafcrypt/token"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_rejected_assertion_is_not_echoed() {
        let server = TestServer::start(vec![Reply::json(
            400,
            r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion federated-secret is not within its valid time range."}"#,
        )])
        .await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "federated-secret").unwrap();
        let credential = WorkloadIdentityCredential::new(
            "t",
            "c",
            &file.to_string_lossy(),
            EntraOptions {
                authority: crate::keysource::azure_kv::credential::authority::AuthorityHost::parse(
                    &server.url,
                )
                .unwrap(),
                additionally_allowed_tenants: vec![],
            },
            reqwest::Client::new(),
        )
        .unwrap();
        let err = credential.get_token(&request()).await.unwrap_err();
        assert!(err.message.contains("AADSTS700024"), "{err}");
        assert!(!err.message.contains("federated-secret"), "{err}");
    }
}
