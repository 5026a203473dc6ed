//! Test helpers for the Key Vault modules: a fixed RSA key (tests may use private keys),
//! a counting credential, key bundles and challenges as Key Vault writes them, and a
//! client pointed at a loopback [`TestServer`](crate::keysource::rest::test_server::TestServer).

use super::client::{ClientOptions, KeyVaultClient};
use super::credential::{AccessToken, CredentialError, TokenCredential, TokenRequest};
use super::encoding::b64url;
use super::local::JsonWebKey;
use crate::keysource::rest::retry::RetryPolicy;
use async_trait::async_trait;
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;
use zeroize::Zeroizing;

/// The vault every client test talks to (through the loopback endpoint).
pub const VAULT: &str = "https://myvault.vault.azure.net";
/// A version in Key Vault's format.
pub const KID_VERSION: &str = "46a35325fd3a49debd2b22d4b0d75719";
/// The tenant in [`challenge`].
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// What [`TestCredential`] returns.
pub const TOKEN: &str = "test-token-value";

/// A fixed RSA-2048 key (PKCS#8), generated once with OpenSSL for these tests.
const TEST_KEY_PEM: &str = "
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDK+ppoRe/WN2cf
GC5DLrhK9KbH01lP5fCdZ2PtsUCk7I39FPTwx72v94+T0KDkzIBNDP9JRpBTOmFW
BvTdhBTNpRFA7AG4Mtc42EvScHhyE++jsgj4lgPB+jt8PJA00buc85QJAlo2lIDl
CaHfx4EP93BZMacMAbw/bjfmHnNCcgJ7RQp8VCyHj5Aw6FLh65RZB0s6nRToQoaz
k8O9t+N1biugZQeqnYt9mCdmLbP+zXkaTL8FgOnES4PLUYu4BrlxfOw5EQ472SQr
+8HOKUCmh/dfQZiZdGB5tWgQpFPF8mpI6eobtWTfdbmYPqnJR9ZnU5gYbOrWAy7K
yYMhskWJAgMBAAECggEAB9Br/1Wp7QpG+wh4R3fV+nS+svSs/IlyoOypCS6IuZCt
yq9y2o4l/E9AhMVEXGqPCehVL6H6zmlx89jitmBuWJhhOKmdS1URuguBp8FSsbmY
wSmKdN95l48lmRvPxWjJmzo5Wbtwc6d16ttbEv1gN5gkCBsEPk8Wyy5YEpDbiRQ+
99jM0u43Xbgtf7TE3m1PsQf6u+8/q4mIHvezzv6MmkW39wdhz/l8fwlfPmMe1mkS
O6Fufuyu8jsP+kRVkpwRE+lFjB+N7u9kD2KfXUEFl9fnCY0BIt1LP4jo4Dy+gWWC
ee7+zg+kc18dJz69d+Nj48Tf9NanmEuuKPhOAVwEAQKBgQDvLnIYWxhBUQamYBWE
59/cRGjuMpJ8gMg9uwrZJH2dhrBXOUH/dDS5yjKjlUpoCh1UImr5O92n6xAdDY+/
zYSREj4z2cUZknbHfwIg2UMFVY/zeLfWLdBlRxiKNTX7CYRwisNJflzRqaN/ulMW
F1drEMQR8a1tdsCRuVZf2vTwCQKBgQDZQHf2uSAWPckEnVpONeSKfMGyk49AjlGh
tBAXrjHkcP3utVUSOLZ+peo0ZGIbZqTq9a8GyqJbbUVS6/59Yvxa55SdpYBOguVB
GXmaea4I5q7et8IA7+jDnIcccnOmJAZ+HJF/h+QkGl4yUmoifwRuQ7Y166HrQ/AT
Ne44HG0JgQKBgBhKn0vZ9Jytnf9Hwue8pP+58u4+NKJwceXTGUb0bc2R4Fb7ebh4
FOLJplr2zpfCbzgcRsEJU3m6ZeiNeAwC03PoZmjdtSbjuSyJua2cYzInfnc7y2/1
NzUSA2wF+3WDge/sJ+lO7B5fHDvcsJONy1MUYNVxtitn5Cboq90QX9ABAoGBAMdU
yn0agGFH0T+lrGzkL8wNCZ/ymdZufmGyl61Si76BGcxCnkp4tKDhVFE75XQkqp5W
S4AcvfjK+ndJxpd/EfHKV2aJqn7exMAFQrjEejT6i2oYCi3X8aZA4QrtzESc+0QM
rEbqBR5G/zSGv5DlH8iX4f/5MfhtvkGyEt9y3WyBAoGBALPxb58a6J1hTAdFj6bd
VsQe9fNveH/mjjOvcn/Tl2kncXwfQqAmrCnSpIFR7lRhg46nZHA1JHj8rn3RKYpe
N52ocU6GSJmN9GQvQeXhwWz3WSZrIjE7CyeL0YzFQMYVaaJ3vD2zklrCBvoXg4Tr
nDKjl72ziZ87xxeMol+mpQYU
-----END PRIVATE KEY-----
";

/// The test key.
pub fn test_key() -> RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::from_pkcs8_pem(TEST_KEY_PEM.trim()).expect("test key"))
        .clone()
}

/// The challenge header of a real vault, for [`VAULT`].
pub fn challenge() -> String {
    format!(
        r#"Bearer authorization="https://login.microsoftonline.com/{TENANT}", resource="https://vault.azure.net""#
    )
}

/// Key Vault's 401 answer to a request without a token.
pub fn unauthorized() -> crate::keysource::rest::test_server::Reply {
    crate::keysource::rest::test_server::Reply::json(
        401,
        r#"{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}"#,
    )
    .header("WWW-Authenticate", &challenge())
}

/// A key bundle for `name`/`version` holding the test key's public part.
pub fn key_bundle(name: &str, version: &str, enabled: bool) -> String {
    let kid = format!("{VAULT}/keys/{name}/{version}");
    let jwk = JsonWebKey::from_rsa(kid, &test_key().to_public_key());
    serde_json::json!({
        "key": {
            "kid": jwk.kid, "kty": "RSA", "key_ops": ["encrypt", "decrypt"],
            "n": jwk.n, "e": jwk.e,
        },
        "attributes": {"enabled": enabled, "created": 1_700_000_000, "updated": 1_700_000_000,
                       "recoveryLevel": "Recoverable+Purgeable"},
        "tags": {}
    })
    .to_string()
}

/// An encrypt/decrypt answer.
pub fn operation_answer(name: &str, version: &str, value: &[u8]) -> String {
    format!(
        r#"{{"kid":"{VAULT}/keys/{name}/{version}","value":"{}"}}"#,
        b64url(value)
    )
}

/// A credential that returns [`TOKEN`] and records what it was asked.
#[derive(Default)]
pub struct TestCredential {
    /// The requests seen.
    pub requests: RefCell<Vec<TokenRequest>>,
    /// How many tokens were invalidated.
    pub invalidated: Cell<u32>,
}

#[async_trait(?Send)]
impl TokenCredential for TestCredential {
    fn name(&self) -> &str {
        "TestCredential"
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        self.requests.borrow_mut().push(request.clone());
        Ok(AccessToken {
            token: Zeroizing::new(TOKEN.into()),
            expires_on: u64::MAX,
        })
    }

    fn invalidate(&self, _request: &TokenRequest) {
        self.invalidated.set(self.invalidated.get() + 1);
    }
}

/// Millisecond retries (4 attempts) for fast tests.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_secs(5),
        deadline: Duration::from_secs(30),
    }
}

/// A client whose requests go to `endpoint` (a loopback server), with its credential.
pub fn test_client(endpoint: &str) -> (Rc<KeyVaultClient>, Rc<TestCredential>) {
    test_client_with(endpoint, |_| {})
}

/// [`test_client`] with adjusted options.
pub fn test_client_with(
    endpoint: &str,
    adjust: impl FnOnce(&mut ClientOptions),
) -> (Rc<KeyVaultClient>, Rc<TestCredential>) {
    let credential = Rc::new(TestCredential::default());
    let mut options = ClientOptions {
        endpoint: Some(endpoint.into()),
        retry: fast_retry(),
        ..ClientOptions::default()
    };
    adjust(&mut options);
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let client = KeyVaultClient::new(http, credential.clone(), options).expect("client");
    (Rc::new(client), credential)
}
