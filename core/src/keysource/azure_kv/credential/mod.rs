//! Azure credentials: how a token for Key Vault is obtained.
//!
//! One trait, [`TokenCredential`]; each credential implements it and knows nothing of the
//! others; the default chain tries them in the Azure SDKs' order. Tokens are secrets:
//! [`AccessToken`] zeroizes on drop and never prints its value.

use async_trait::async_trait;
use zeroize::Zeroizing;

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

/// A source of bearer tokens for Key Vault.
#[async_trait(?Send)]
pub trait TokenCredential {
    /// The credential's name as the Azure SDKs spell it (`EnvironmentCredential`, …).
    fn name(&self) -> &str;

    /// A token for `request`.
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError>;
}
