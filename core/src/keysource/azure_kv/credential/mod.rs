//! Azure credentials: how a token for Key Vault is obtained.
//!
//! One trait, [`TokenCredential`]; each credential implements it and knows nothing of the
//! others; the default chain tries them in the Azure SDKs' order. Tokens are secrets:
//! [`AccessToken`] zeroizes on drop and never prints its value.
//!
//! Credentials, one module each (configuration is read through an [`EnvLookup`], never
//! from the process environment directly, so tests need not mutate it):
//! - [`environment::EnvironmentCredential`]: a service principal from `AZURE_TENANT_ID`,
//!   `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` or `AZURE_CLIENT_CERTIFICATE_PATH`
//!   (built on [`client_secret`] and [`client_certificate`]);
//! - [`workload_identity::WorkloadIdentityCredential`]: Kubernetes federated tokens;
//! - [`managed_identity::ManagedIdentityCredential`]: App Service and IMDS;
//! - `azure_cli::AzureCliCredential` (native only): `az account get-access-token`;
//! - [`static_token::StaticTokenCredential`]: a token pasted by a user;
//! - [`chain::DefaultChain`]: the default chain, cached by [`cache::CachingCredential`].
//!
//! [`authority`] holds the Entra ID authority host and tenant rules.

pub mod authority;
#[cfg(not(target_arch = "wasm32"))]
pub mod azure_cli;
pub mod cache;
pub mod chain;
pub mod client_certificate;
pub mod client_secret;
pub mod environment;
pub mod managed_identity;
pub mod static_token;
pub mod workload_identity;

mod assertion;
mod entra;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod test_support;

use async_trait::async_trait;
use zeroize::Zeroizing;

/// Reads one configuration variable (`AZURE_CLIENT_ID`, `PATH`, …). Natively
/// [`process_env`] reads the process environment; tests pass a closure over a map.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Native only: an [`EnvLookup`] over the process environment (unset or non-UTF-8
/// variables read as `None`).
#[cfg(not(target_arch = "wasm32"))]
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The Key Vault scope used when no challenge names one (public cloud).
pub const KEY_VAULT_SCOPE: &str = "https://vault.azure.net/.default";

/// What a token is requested for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// OAuth scopes, e.g. `https://vault.azure.net/.default`.
    pub scopes: Vec<String>,
    /// The tenant from Key Vault's challenge, when known.
    pub tenant_id: Option<String>,
}

/// A bearer token and when it expires.
#[derive(Clone)]
pub struct AccessToken {
    /// The token (never logged or printed).
    pub token: Zeroizing<String>,
    /// Expiry, seconds since the Unix epoch.
    pub expires_on: u64,
}

impl AccessToken {
    /// `expires_on` of a token whose expiry is not known (a pasted opaque token): it is
    /// used until the server rejects it.
    pub const UNKNOWN_EXPIRY: u64 = u64::MAX;

    /// Whether the expiry is known.
    pub fn expiry_known(&self) -> bool {
        self.expires_on != Self::UNKNOWN_EXPIRY
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessToken(<redacted>, expires_on={})", self.expires_on)
    }
}

/// A credential could not produce a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{credential}: {message}")]
pub struct CredentialError {
    /// The credential's name, e.g. `ManagedIdentityCredential`.
    pub credential: String,
    /// Why (never contains a token or secret).
    pub message: String,
    /// True when the credential is not configured here (the chain moves on quietly);
    /// false when it is configured but failed.
    pub unavailable: bool,
}

impl CredentialError {
    /// The credential is not configured here; a chain moves on to the next one.
    pub fn unavailable(credential: &str, message: impl Into<String>) -> Self {
        Self {
            credential: credential.into(),
            message: message.into(),
            unavailable: true,
        }
    }

    /// The credential is configured but could not get a token; a chain stops here.
    pub fn failed(credential: &str, message: impl Into<String>) -> Self {
        Self {
            credential: credential.into(),
            message: message.into(),
            unavailable: false,
        }
    }
}

/// A source of bearer tokens for Key Vault.
#[async_trait(?Send)]
pub trait TokenCredential {
    /// The credential's name as the Azure SDKs spell it (`EnvironmentCredential`, …).
    fn name(&self) -> &str;

    /// A token for `request`.
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError>;

    /// Forgets any token cached for `request` because Key Vault rejected it (a 401 to a
    /// request that carried it), so the next [`get_token`](Self::get_token) asks the
    /// source again. The default does nothing (nothing is cached).
    fn invalidate(&self, request: &TokenRequest) {
        let _ = request;
    }

    /// Like [`invalidate`](Self::invalidate), for the rejected `token` only: a cache keeps
    /// a newer token that a concurrent caller already fetched for `request` (so N
    /// operations rejected at once refresh once). The default forgets any token.
    fn invalidate_rejected(&self, request: &TokenRequest, token: &str) {
        let _ = token;
        self.invalidate(request);
    }
}
