//! HTTP requests to Key Vault: the URL, the headers, the retried exchange, and the error
//! for a request that got no answer.

use super::KeyVaultClient;
use crate::keysource::authority;
use crate::keysource::azure_kv::error::{KvError, Operation};
use crate::keysource::azure_kv::key_id::KeyId;
use crate::keysource::rest::http::{error_chain, is_certificate_problem};
use crate::keysource::rest::send::Retry;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use zeroize::Zeroizing;

/// One HTTP exchange, retries included.
pub(super) struct Exchange {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: Zeroizing<String>,
    pub(super) attempts: u32,
}

impl KeyVaultClient {
    /// The request URL of `operation` on `key`. An unpinned key sends Go's paths:
    /// `GET /keys/{name}/` and `POST /keys/{name}/{op}`.
    pub(super) fn url(&self, operation: Operation, key: &KeyId) -> String {
        let base = self.endpoint.as_deref().unwrap_or(&key.vault_url);
        let mut path = format!("{base}/keys/{}/", segment(&key.name));
        if let Some(v) = &key.version {
            path.push_str(&segment(v));
        }
        if let Some(op) = operation.path() {
            if key.version.is_some() {
                path.push('/');
            }
            path.push_str(op);
        }
        format!("{path}?api-version={}", segment(&self.options.api_version))
    }

    /// Sends one request, repeating it per the retry policy.
    pub(super) async fn exchange(
        &self,
        operation: Operation,
        key: &KeyId,
        method: &Method,
        url: &str,
        bearer: Option<&HeaderValue>,
        body: Option<&str>,
    ) -> Result<Exchange, KvError> {
        let build = || {
            self.requests.set(self.requests.get() + 1);
            self.build(method, url, bearer, body)
        };
        let sent = Retry::new(&self.options.retry)
            .transient_errors_only()
            .send(&build)
            .await;
        match sent {
            Ok(answer) => Ok(Exchange {
                status: answer.status,
                headers: answer.headers,
                body: Zeroizing::new(String::from_utf8_lossy(&answer.body).into_owned()),
                attempts: answer.attempts,
            }),
            Err(e) => Err(self.no_response(operation, key, &error_chain(&e.error), e.attempts)),
        }
    }

    fn build(
        &self,
        method: &Method,
        url: &str,
        bearer: Option<&HeaderValue>,
        body: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .header("x-ms-client-request-id", request_id());
        if let Some(bearer) = bearer {
            request = request.header(AUTHORIZATION, bearer.clone());
        }
        if let Some(body) = body {
            // Natively, say `Content-Length: 0` as Go does (some front ends want it for a
            // POST); in `fetch` the header is the browser's to set.
            #[cfg(not(target_arch = "wasm32"))]
            if body.is_empty() {
                request = request.header(reqwest::header::CONTENT_LENGTH, "0");
            }
            request = request.body(body.to_string());
        }
        request
    }

    /// The error for a request that got no HTTP answer.
    pub(super) fn no_response(
        &self,
        operation: Operation,
        key: &KeyId,
        detail: &str,
        attempts: u32,
    ) -> KvError {
        let host = authority(self.endpoint.as_deref().unwrap_or(&key.vault_url));
        #[cfg(target_arch = "wasm32")]
        {
            if self.endpoint.is_none() && crate::keysource::rest::http::in_browser() {
                return KvError::BrowserBlocked {
                    key: Box::new(key.clone()),
                    operation,
                    host,
                };
            }
        }
        let hint = if is_certificate_problem(detail) {
            Some(
                "if the vault, or a proxy in between, uses a private or corporate CA, set \
                 SSL_CERT_FILE to its PEM bundle"
                    .to_string(),
            )
        } else if self.endpoint.is_some() {
            Some(format!(
                "is the endpoint {host} (e.g. `leafcrypt kv-proxy`) running, and does it \
                 allow this origin?"
            ))
        } else {
            Some("check the vault URL, DNS, firewall and HTTPS proxy settings".into())
        };
        KvError::Network {
            key: Box::new(key.clone()),
            operation,
            host,
            detail: detail.to_string(),
            hint,
            attempts,
        }
    }
}

/// A random UUID v4 for `x-ms-client-request-id`.
fn request_id() -> String {
    let mut b = [0u8; 16];
    // Only a correlation id: without a CSPRNG a constant one is acceptable.
    let _ = getrandom::getrandom(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
pub(super) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
