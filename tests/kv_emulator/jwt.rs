//! The emulator's access tokens: HS256 JWTs signed with a per-process random secret, so the
//! vault accepts only tokens its own token endpoints minted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a token says: who (`oid`, `appid`), for which resource (`aud`), until when (`exp`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The resource the token is for, e.g. `https://0.0.1:8443`.
    pub aud: String,
    /// The issuer, `https://sts.windows.net/<tenant>/`.
    pub iss: String,
    /// The identity (object id); the vault's permissions are keyed by it.
    pub oid: String,
    /// The application id; equal to `oid` for the emulator's identities.
    pub appid: String,
    /// The tenant.
    pub tid: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Not before, Unix seconds.
    pub nbf: u64,
    /// Expiry, Unix seconds.
    pub exp: u64,
}

/// Why a bearer token was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts with a JSON payload.
    #[error("malformed token")]
    Malformed,
    /// The signature is not ours.
    #[error("invalid signature")]
    BadSignature,
    /// `exp` is in the past.
    #[error("token expired")]
    Expired,
}

/// Signs and verifies tokens with a secret that never leaves the process (wiped on drop).
#[derive(zeroize::ZeroizeOnDrop)]
pub struct Minter {
    secret: [u8; 32],
}

impl Minter {
    /// A minter with a fresh random secret.
    pub fn new() -> Self {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Self { secret }
    }

    /// A signed compact JWT carrying `claims`.
    pub fn mint(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        // Serializing a struct of strings and integers cannot fail.
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signing_input).finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The claims of a token this minter signed that has not expired at `now`.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (_, payload) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        self.mac(signing_input)
            .verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn mac(&self, signing_input: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(signing_input.as_bytes());
        mac
    }
}

/// Whether `text` looks like a compact JWT: three base64url parts, the first two JSON objects.
/// (Client assertions are checked for shape only.)
pub fn is_jwt_shaped(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    let json_object = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v.is_object())
    };
    parts.len() == 3 && json_object(parts[0]) && json_object(parts[1]) && !parts[2].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            aud: "https://0.0.1:8443".into(),
            iss: "https://sts.windows.net/adfs/".into(),
            oid: "app".into(),
            appid: "app".into(),
            tid: "adfs".into(),
            iat: 100,
            nbf: 100,
            exp,
        }
    }

    #[test]
    fn verifies_its_own_tokens_only() {
        let minter = Minter::new();
        let token = minter.mint(&claims(200));
        assert!(is_jwt_shaped(&token));
        assert_eq!(minter.verify(&token, 150), Ok(claims(200)));
        assert_eq!(minter.verify(&token, 200), Err(TokenError::Expired));
        assert_eq!(
            Minter::new().verify(&token, 150),
            Err(TokenError::BadSignature)
        );
        let mut tampered = token.clone();
        tampered.insert(token.find('.').map_or(0, |i| i + 2), 'A');
        assert!(minter.verify(&tampered, 150).is_err());
        assert_eq!(minter.verify("abc", 150), Err(TokenError::Malformed));
    }

    #[test]
    fn jwt_shape() {
        assert!(!is_jwt_shaped("a.b.c"));
        assert!(!is_jwt_shaped("secret"));
        assert!(is_jwt_shaped("eyJhbGciOiJub25lIn0.e30.sig"));
    }
}
