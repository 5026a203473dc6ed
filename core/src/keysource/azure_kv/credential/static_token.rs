//! A fixed token, e.g. pasted by a user from `az account get-access-token`.
//!
//! If the token is a JWT its `exp` claim gives the expiry (the token is not verified:
//! only Key Vault can do that); otherwise the expiry is
//! [`AccessToken::UNKNOWN_EXPIRY`] and the token is used until Key Vault rejects it.

use super::{AccessToken, CredentialError, TokenCredential, TokenRequest};
use crate::keysource::rest::platform::now_unix;
use async_trait::async_trait;
use base64::Engine;
use zeroize::Zeroizing;

/// This credential's name in errors.
pub const NAME: &str = "StaticTokenCredential";

/// A fixed bearer token.
pub struct StaticTokenCredential {
    token: Zeroizing<String>,
    expires_on: u64,
}

impl std::fmt::Debug for StaticTokenCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StaticTokenCredential(<redacted>, expires_on={})",
            self.expires_on
        )
    }
}

impl StaticTokenCredential {
    /// Takes `token` (surrounding whitespace and a `Bearer ` prefix are dropped). Errors
    /// if it is empty or contains whitespace or control characters.
    pub fn new(token: &str) -> Result<Self, CredentialError> {
        let trimmed = token.trim();
        let trimmed = trimmed
            .strip_prefix("Bearer ")
            .or_else(|| trimmed.strip_prefix("bearer "))
            .unwrap_or(trimmed)
            .trim();
        if trimmed.is_empty() {
            return Err(CredentialError::failed(NAME, "the token is empty"));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CredentialError::failed(
                NAME,
                "the token contains whitespace or control characters: paste only the token",
            ));
        }
        Ok(Self {
            expires_on: jwt_expiry(trimmed).unwrap_or(AccessToken::UNKNOWN_EXPIRY),
            token: Zeroizing::new(trimmed.to_string()),
        })
    }

    /// The expiry read from the token, if it is a JWT with an `exp` claim.
    pub fn expires_on(&self) -> Option<u64> {
        (self.expires_on != AccessToken::UNKNOWN_EXPIRY).then_some(self.expires_on)
    }
}

/// The `exp` claim of a JWS compact token (`header.payload.signature`), unverified.
pub fn jwt_expiry(token: &str) -> Option<u64> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_u64()
}

#[async_trait(?Send)]
impl TokenCredential for StaticTokenCredential {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, _request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        let now = now_unix();
        if self.expires_on <= now {
            let minutes = (now - self.expires_on) / 60;
            return Err(CredentialError::failed(
                NAME,
                format!(
                    "the token expired {minutes} minute(s) ago (exp {}): get a new one",
                    self.expires_on
                ),
            ));
        }
        Ok(AccessToken {
            token: self.token.clone(),
            expires_on: self.expires_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.c2lnbmF0dXJl",
            enc(r#"{"alg":"RS256","typ":"JWT"}"#),
            enc(claims)
        )
    }

    fn request() -> TokenRequest {
        TokenRequest {
            scopes: vec!["https://vault.azure.net/.default".into()],
            tenant_id: None,
        }
    }

    #[tokio::test]
    async fn a_jwt_expires_at_its_exp_claim() {
        let exp = now_unix() + 1800;
        let token = jwt(&format!(
            r#"{{"aud":"https://vault.azure.net","exp":{exp}}}"#
        ));
        let credential = StaticTokenCredential::new(&format!("  Bearer {token}\n")).unwrap();
        assert_eq!(credential.expires_on(), Some(exp));
        let got = credential.get_token(&request()).await.unwrap();
        assert_eq!((got.token.as_str(), got.expires_on), (token.as_str(), exp));
    }

    #[tokio::test]
    async fn an_opaque_token_has_an_unknown_expiry() {
        let credential = StaticTokenCredential::new("opaque-token-value").unwrap();
        assert_eq!(credential.expires_on(), None);
        let got = credential.get_token(&request()).await.unwrap();
        assert!(!got.expiry_known());
        assert_eq!(got.token.as_str(), "opaque-token-value");
    }

    #[tokio::test]
    async fn an_expired_jwt_is_refused_without_quoting_it() {
        let token = jwt(&format!(r#"{{"exp":{}}}"#, now_unix() - 600));
        let err = StaticTokenCredential::new(&token)
            .unwrap()
            .get_token(&request())
            .await
            .unwrap_err();
        assert!(err.message.contains("expired 10 minute(s) ago"), "{err}");
        assert!(!err.to_string().contains(&token[..20]));
        assert!(!err.unavailable);
    }

    #[test]
    fn malformed_input() {
        assert!(StaticTokenCredential::new("  ").is_err());
        assert!(StaticTokenCredential::new("two words").is_err());
        assert_eq!(jwt_expiry("a.b"), None);
        assert_eq!(jwt_expiry("a.!!.c"), None);
        assert_eq!(jwt_expiry(&jwt(r#"{"exp":"soon"}"#)), None);
        let debug = format!("{:?}", StaticTokenCredential::new("secret-value").unwrap());
        assert!(!debug.contains("secret-value"), "{debug}");
    }
}
