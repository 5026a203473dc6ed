//! A service principal with a certificate: the client-credentials grant with a signed
//! client assertion instead of a secret.
//!
//! The certificate file is PEM holding the certificate (one or more `CERTIFICATE`
//! blocks; the one whose public key matches is used) and an unencrypted RSA private key
//! (`PRIVATE KEY`, PKCS#8, or `RSA PRIVATE KEY`, PKCS#1). Not supported, with an error
//! that says how to convert: PKCS#12 (`.pfx`/`.p12`) files, password-protected keys
//! (`AZURE_CLIENT_CERTIFICATE_PASSWORD`), EC keys, and sending the chain (`x5c`).

use super::assertion::{client_assertion, x5t};
use super::authority::{validate_tenant, EntraOptions};
use super::client_secret::scope_field;
use super::entra::request_token_with_assertion;
use super::{AccessToken, CredentialError, TokenCredential, TokenRequest};
use crate::keysource::rest::platform::now_unix;
use async_trait::async_trait;
use base64::Engine;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::RsaPrivateKey;
use zeroize::Zeroizing;

/// This credential's name in errors.
pub const NAME: &str = "ClientCertificateCredential";

/// How to turn a PKCS#12 file into the PEM this credential reads.
const CONVERT_HINT: &str = "convert it to an unencrypted PEM with \
     `openssl pkcs12 -in cert.pfx -out cert.pem -nodes` and keep that file private";

/// A service principal authenticating with a certificate.
pub struct ClientCertificateCredential {
    tenant_id: String,
    client_id: String,
    key: RsaPrivateKey,
    x5t: String,
    options: EntraOptions,
    http: reqwest::Client,
}

impl std::fmt::Debug for ClientCertificateCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(NAME)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("x5t", &self.x5t)
            .field("key", &"<redacted>")
            .field("authority", &self.options.authority)
            .finish()
    }
}

/// One PEM block: its label and decoded contents (zeroized: it may be a key).
struct PemBlock {
    label: String,
    der: Zeroizing<Vec<u8>>,
}

/// Every `-----BEGIN X-----` … `-----END X-----` block of `text`.
fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = Zeroizing::new(String::new());
        let mut closed = false;
        for line in lines.by_ref() {
            if line.trim() == end {
                closed = true;
                break;
            }
            body.push_str(line.trim());
        }
        if !closed {
            return Err(format!("PEM block \"{label}\" has no END line"));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|_| format!("PEM block \"{label}\" is not valid base64"))?;
        blocks.push(PemBlock {
            label: label.to_string(),
            der: Zeroizing::new(der),
        });
    }
    Ok(blocks)
}

/// The private key and the `x5t` of its certificate, from PEM text.
fn load_pem(pem: &[u8]) -> Result<(RsaPrivateKey, String), String> {
    let text = std::str::from_utf8(pem)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
        .ok_or_else(|| {
            format!("not a PEM file; PKCS#12 (.pfx/.p12) is not supported: {CONVERT_HINT}")
        })?;
    let blocks = pem_blocks(text)?;
    let mut key = None;
    for block in &blocks {
        let parsed = match block.label.as_str() {
            "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_der(&block.der)
                .map_err(|_| "the PKCS#8 private key is not an RSA key this tool can read (only RSA is supported)".to_string())?,
            "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(&block.der)
                .map_err(|_| "the PKCS#1 RSA private key cannot be read".to_string())?,
            "ENCRYPTED PRIVATE KEY" => {
                return Err(format!(
                    "the private key is password-protected, which is not supported: decrypt it with \
                     `openssl pkcs8 -in key.pem -out plain.pem`, or for a .pfx {CONVERT_HINT}"
                ))
            }
            "EC PRIVATE KEY" => return Err("EC keys are not supported: use an RSA certificate".into()),
            _ => continue,
        };
        if key.replace(parsed).is_some() {
            return Err("the file holds more than one private key".into());
        }
    }
    let key = key.ok_or("the file holds no private key (PRIVATE KEY or RSA PRIVATE KEY block)")?;
    let spki = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| format!("cannot encode the public key: {e}"))?;
    let certs: Vec<&PemBlock> = blocks.iter().filter(|b| b.label == "CERTIFICATE").collect();
    if certs.is_empty() {
        return Err("the file holds no CERTIFICATE block".into());
    }
    // A certificate embeds its SubjectPublicKeyInfo verbatim.
    let cert = certs
        .iter()
        .find(|c| {
            c.der
                .windows(spki.as_bytes().len())
                .any(|w| w == spki.as_bytes())
        })
        .ok_or("no certificate in the file matches its private key")?;
    Ok((key, x5t(&cert.der)))
}

impl ClientCertificateCredential {
    /// A credential for `client_id` in `tenant_id` from PEM text (certificate and key).
    pub fn from_pem(
        tenant_id: &str,
        client_id: &str,
        pem: &[u8],
        options: EntraOptions,
        http: reqwest::Client,
    ) -> Result<Self, CredentialError> {
        validate_tenant(tenant_id).map_err(|e| CredentialError::failed(NAME, e))?;
        if client_id.trim().is_empty() {
            return Err(CredentialError::failed(
                NAME,
                "the client id must not be empty",
            ));
        }
        let (key, x5t) = load_pem(pem).map_err(|e| CredentialError::failed(NAME, e))?;
        Ok(Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.trim().into(),
            key,
            x5t,
            options,
            http,
        })
    }

    /// Native only: reads the PEM file at `path`. A `password` (from
    /// `AZURE_CLIENT_CERTIFICATE_PASSWORD`) is refused: protected files are not supported.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_path(
        tenant_id: &str,
        client_id: &str,
        path: &std::path::Path,
        password: Option<&str>,
        options: EntraOptions,
        http: reqwest::Client,
    ) -> Result<Self, CredentialError> {
        let shown = path.display();
        if password.is_some_and(|p| !p.is_empty()) {
            return Err(CredentialError::failed(
                NAME,
                format!(
                    "{shown}: password-protected certificates (AZURE_CLIENT_CERTIFICATE_PASSWORD) \
                     are not supported: {CONVERT_HINT}"
                ),
            ));
        }
        let pem =
            Zeroizing::new(std::fs::read(path).map_err(|e| {
                CredentialError::failed(NAME, format!("{shown}: cannot read: {e}"))
            })?);
        Self::from_pem(tenant_id, client_id, &pem, options, http)
            .map_err(|e| CredentialError::failed(NAME, format!("{shown}: {}", e.message)))
    }

    /// The certificate's `x5t` thumbprint (base64url SHA-1), as Entra ID shows it.
    pub fn thumbprint(&self) -> &str {
        &self.x5t
    }
}

#[async_trait(?Send)]
impl TokenCredential for ClientCertificateCredential {
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
        let assertion = client_assertion(&self.key, &self.x5t, &self.client_id, &url, now_unix())
            .map_err(|e| CredentialError::failed(NAME, e))?;
        request_token_with_assertion(&self.http, NAME, &url, &self.client_id, &assertion, &scope)
            .await
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::credential::assertion::tests::decode;
    use crate::keysource::azure_kv::credential::authority::AuthorityHost;
    use crate::keysource::azure_kv::credential::test_support::pairs;
    use crate::keysource::rest::test_server::{Reply, TestServer};

    const CERT: &str = include_str!("testdata/cert.pem");
    const KEY_PKCS8: &str = include_str!("testdata/key.pem");
    const KEY_PKCS1: &str = include_str!("testdata/key-pkcs1.pem");
    /// `openssl x509 -in cert.pem -outform der | openssl dgst -sha1 -binary | base64url`.
    const CERT_X5T: &str = "89NpnDOLCc69RldeCN0ukYx-1HQ";

    fn options(url: &str) -> EntraOptions {
        EntraOptions {
            authority: AuthorityHost::parse(url).unwrap(),
            additionally_allowed_tenants: vec![],
        }
    }

    fn load_bytes(pem: &[u8]) -> Result<ClientCertificateCredential, CredentialError> {
        ClientCertificateCredential::from_pem(
            "t1",
            "app",
            pem,
            options("https://x"),
            reqwest::Client::new(),
        )
    }

    fn load(pem: &str) -> Result<ClientCertificateCredential, CredentialError> {
        load_bytes(pem.as_bytes())
    }

    #[test]
    fn reads_pkcs8_and_pkcs1_keys_in_either_order() {
        assert_eq!(
            load(&format!("{CERT}{KEY_PKCS8}")).unwrap().thumbprint(),
            CERT_X5T
        );
        assert_eq!(
            load(&format!("{KEY_PKCS1}\n{CERT}")).unwrap().thumbprint(),
            CERT_X5T
        );
    }

    #[test]
    fn explains_what_is_not_supported() {
        let err = |pem: &str| load(pem).unwrap_err().message;
        let pfx = load_bytes(b"\x30\x82\x0a\xff binary PKCS#12").unwrap_err();
        assert!(
            pfx.message.contains("PKCS#12 (.pfx/.p12) is not supported"),
            "{pfx}"
        );
        assert!(err(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        )
        .contains("password-protected"));
        assert!(err(CERT).contains("no private key"));
        assert!(err(KEY_PKCS8).contains("no CERTIFICATE"));
        assert!(err("-----BEGIN CERTIFICATE-----\nAAAA\n").contains("no END line"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.pem");
        std::fs::write(&path, format!("{CERT}{KEY_PKCS8}")).unwrap();
        let protected = ClientCertificateCredential::from_path(
            "t1",
            "app",
            &path,
            Some("pw"),
            options("https://x"),
            reqwest::Client::new(),
        )
        .unwrap_err();
        assert!(
            protected
                .message
                .contains("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
            "{protected}"
        );
        let debug = format!("{:?}", load(&format!("{CERT}{KEY_PKCS8}")).unwrap());
        assert!(
            debug.contains("<redacted>") && !debug.contains("BEGIN"),
            "{debug}"
        );
    }

    #[test]
    fn refuses_a_certificate_that_does_not_match_the_key() {
        let other_key = include_str!("testdata/other-key.pem");
        let err = load(&format!("{CERT}{other_key}")).unwrap_err();
        assert!(err.message.contains("matches its private key"), "{err}");
    }

    #[tokio::test]
    async fn posts_a_signed_assertion_for_the_token_endpoint() {
        let server = TestServer::start(vec![Reply::json(
            200,
            r#"{"access_token":"cert-token","expires_in":3600}"#,
        )])
        .await;
        let credential = ClientCertificateCredential::from_pem(
            "t1",
            "app-id",
            format!("{CERT}{KEY_PKCS8}").as_bytes(),
            options(&server.url),
            reqwest::Client::new(),
        )
        .unwrap();
        let token = credential
            .get_token(&TokenRequest {
                scopes: vec!["https://vault.azure.net/.default".into()],
                tenant_id: None,
            })
            .await
            .unwrap();
        assert_eq!(token.token.as_str(), "cert-token");
        let seen = server.requests();
        assert_eq!(
            (seen[0].method.as_str(), seen[0].target.as_str()),
            ("POST", "/t1/oauth2/v2.0/token")
        );
        let form = pairs(&seen[0].body);
        let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "grant_type",
                "client_id",
                "client_assertion_type",
                "client_assertion",
                "scope"
            ]
        );
        assert_eq!(form[0].1, "client_credentials");
        assert_eq!(
            form[2].1,
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert_eq!(form[4].1, "https://vault.azure.net/.default");
        let (header, claims, _) = decode(&form[3].1);
        assert_eq!(header["x5t"], CERT_X5T);
        assert_eq!(
            claims["aud"],
            format!("{}/t1/oauth2/v2.0/token", server.url)
        );
        assert_eq!(claims["iss"], "app-id");
    }
}
