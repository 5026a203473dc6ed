//! A service principal with a client secret: Entra ID v2's client-credentials grant,
//! posted straight to the token endpoint.
//!
//! `POST {authority}/{tenant}/oauth2/v2.0/token` with the form
//! `grant_type=client_credentials&client_id=…&client_secret=…&scope=…`.

use super::authority::{validate_tenant, EntraOptions};
use super::entra::request_token;
use super::{AccessToken, CredentialError, TokenCredential, TokenRequest};
use async_trait::async_trait;
use zeroize::Zeroizing;

/// This credential's name in errors.
pub const NAME: &str = "ClientSecretCredential";

/// A service principal authenticating with a secret.
pub struct ClientSecretCredential {
    tenant_id: String,
    client_id: String,
    secret: Zeroizing<String>,
    options: EntraOptions,
    http: reqwest::Client,
}

impl std::fmt::Debug for ClientSecretCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(NAME)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("secret", &"<redacted>")
            .field("authority", &self.options.authority)
            .finish()
    }
}

impl ClientSecretCredential {
    /// A credential for `client_id` in `tenant_id`. Errors if the tenant id is malformed
    /// or the client id or secret is empty.
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        secret: Zeroizing<String>,
        options: EntraOptions,
        http: reqwest::Client,
    ) -> Result<Self, CredentialError> {
        validate_tenant(tenant_id).map_err(|e| CredentialError::failed(NAME, e))?;
        if client_id.trim().is_empty() || secret.is_empty() {
            return Err(CredentialError::failed(
                NAME,
                "the client id and secret must not be empty",
            ));
        }
        Ok(Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.trim().into(),
            secret,
            options,
            http,
        })
    }
}

/// Space-separated scopes for Entra's `scope` field.
pub(crate) fn scope_field(
    credential: &str,
    request: &TokenRequest,
) -> Result<String, CredentialError> {
    if request.scopes.is_empty() {
        return Err(CredentialError::failed(credential, "no scope requested"));
    }
    Ok(request.scopes.join(" "))
}

#[async_trait(?Send)]
impl TokenCredential for ClientSecretCredential {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        let tenant = self
            .options
            .resolve_tenant(&self.tenant_id, request.tenant_id.as_deref())
            .map_err(|e| CredentialError::failed(NAME, e))?;
        let scope = scope_field(NAME, request)?;
        let url = self.options.authority.token_endpoint(&tenant);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.as_str()),
            ("scope", scope.as_str()),
        ];
        request_token(&self.http, NAME, &url, &form, &[self.secret.as_str()]).await
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::credential::authority::AuthorityHost;
    use crate::keysource::azure_kv::credential::test_support::{owned, pairs};
    use crate::keysource::rest::test_server::{Reply, TestServer};

    fn credential(server: &TestServer, secret: &str) -> ClientSecretCredential {
        let options = EntraOptions {
            authority: AuthorityHost::parse(&server.url).unwrap(),
            additionally_allowed_tenants: vec![],
        };
        ClientSecretCredential::new(
            "tenant-1",
            "app-id",
            Zeroizing::new(secret.into()),
            options,
            reqwest::Client::new(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn posts_the_client_credentials_form_to_the_tenant_endpoint() {
        let server = TestServer::start(vec![Reply::json(
            200,
            r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"at-1"}"#,
        )])
        .await;
        let token = credential(&server, "s3cret&=+")
            .get_token(&TokenRequest {
                scopes: vec!["https://0.0.1:8443/.default".into()],
                tenant_id: None,
            })
            .await
            .unwrap();
        assert_eq!(token.token.as_str(), "at-1");
        let seen = server.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].target, "/tenant-1/oauth2/v2.0/token");
        assert_eq!(
            seen[0].header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            pairs(&seen[0].body),
            owned(&[
                ("grant_type", "client_credentials"),
                ("client_id", "app-id"),
                ("client_secret", "s3cret&=+"),
                ("scope", "https://0.0.1:8443/.default"),
            ])
        );
    }

    #[tokio::test]
    async fn an_allowed_challenge_tenant_changes_the_endpoint() {
        let server = TestServer::start(vec![Reply::json(
            200,
            r#"{"access_token":"a","expires_in":60}"#,
        )])
        .await;
        let mut c = credential(&server, "s");
        c.options.additionally_allowed_tenants = vec!["*".into()];
        c.get_token(&TokenRequest {
            scopes: vec!["s/.default".into()],
            tenant_id: Some("tenant-2".into()),
        })
        .await
        .unwrap();
        assert_eq!(server.requests()[0].target, "/tenant-2/oauth2/v2.0/token");
    }

    #[tokio::test]
    async fn a_rejection_is_a_hard_failure_naming_the_entra_error_not_the_secret() {
        let server = TestServer::start(vec![Reply::json(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: wrong-secret"}"#,
        )])
        .await;
        let err = credential(&server, "wrong-secret")
            .get_token(&TokenRequest {
                scopes: vec!["https://vault.azure.net/.default".into()],
                tenant_id: None,
            })
            .await
            .unwrap_err();
        assert!(!err.unavailable);
        assert!(
            err.message
                .contains("answered 401: invalid_client: AADSTS7000215"),
            "{err}"
        );
        assert!(!err.to_string().contains("wrong-secret"), "{err}");
        let debug = format!("{:?}", credential(&server, "wrong-secret"));
        assert!(!debug.contains("wrong-secret"), "{debug}");
    }
}
