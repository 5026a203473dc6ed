//! The signed client assertion of certificate authentication: an RS256 JWT whose header
//! names the certificate by `x5t` (base64url SHA-1 of its DER) and whose claims are
//! `aud` = the token endpoint, `iss` = `sub` = the client id, a random `jti`, `iat`,
//! `nbf` = now and `exp` = now + 10 minutes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha1::Digest as _;
use zeroize::Zeroizing;

/// How long an assertion is valid.
const LIFETIME_SECS: u64 = 600;

/// DER of `DigestInfo { sha256, NULL }` before the 32-byte hash (RFC 8017, 9.2 note 1).
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// `x5t`: base64url (unpadded) SHA-1 of a certificate's DER.
pub(crate) fn x5t(cert_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(cert_der))
}

/// Builds and signs an assertion for `client_id` towards `audience` at `now`.
pub(crate) fn client_assertion(
    key: &RsaPrivateKey,
    x5t: &str,
    client_id: &str,
    audience: &str,
    now: u64,
) -> Result<Zeroizing<String>, String> {
    let mut jti = [0u8; 16];
    getrandom::getrandom(&mut jti)
        .map_err(|e| format!("no randomness for the assertion id: {e}"))?;
    let jti: String = jti.iter().map(|b| format!("{b:02x}")).collect();
    let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "x5t": x5t });
    let claims = serde_json::json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": jti,
        "iat": now,
        "nbf": now,
        "exp": now + LIFETIME_SECS,
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
        .sign_with_rng(&mut rsa::rand_core::OsRng, padding, &hash)
        .map_err(|e| format!("cannot sign the client assertion: {e}"))?;
    Ok(Zeroizing::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fixed 2048-bit test key (generated once with openssl for these tests only).
    pub(crate) fn test_key() -> RsaPrivateKey {
        use rsa::pkcs8::DecodePrivateKey;
        RsaPrivateKey::from_pkcs8_pem(include_str!("testdata/key.pem")).unwrap()
    }

    /// Splits a compact JWT into its decoded header, claims and raw signature.
    pub(crate) fn decode(jwt: &str) -> (serde_json::Value, serde_json::Value, Vec<u8>) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "compact JWS");
        let json = |p: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
        (
            json(parts[0]),
            json(parts[1]),
            URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
    }

    #[test]
    fn x5t_is_base64url_sha1() {
        // SHA-1("abc") = a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d
        assert_eq!(x5t(b"abc"), "qZk-NkcGgWq6PiVxeFDCbJzQ2J0");
    }

    #[test]
    fn the_assertion_is_an_rs256_jwt_with_the_expected_claims() {
        let key = test_key();
        let jwt = client_assertion(
            &key,
            "thumb",
            "app-id",
            "https://h/t/oauth2/v2.0/token",
            1_000,
        )
        .unwrap();
        let (header, claims, signature) = decode(&jwt);
        assert_eq!(
            header,
            serde_json::json!({"alg":"RS256","typ":"JWT","x5t":"thumb"})
        );
        assert_eq!(claims["aud"], "https://h/t/oauth2/v2.0/token");
        assert_eq!(
            (claims["iss"].as_str(), claims["sub"].as_str()),
            (Some("app-id"), Some("app-id"))
        );
        assert_eq!(
            (claims["nbf"].as_u64(), claims["exp"].as_u64()),
            (Some(1_000), Some(1_600))
        );
        assert_eq!(claims["jti"].as_str().map(str::len), Some(32));
        let signed = &jwt[..jwt.rfind('.').unwrap()];
        let padding = Pkcs1v15Sign {
            hash_len: Some(32),
            prefix: SHA256_DIGEST_INFO_PREFIX.into(),
        };
        key.to_public_key()
            .verify(
                padding,
                &sha2::Sha256::digest(signed.as_bytes()),
                &signature,
            )
            .expect("a valid RS256 signature");
        let other = client_assertion(&key, "thumb", "app-id", "aud", 1_000).unwrap();
        assert_ne!(decode(&other).1["jti"], claims["jti"], "jti is random");
    }
}
