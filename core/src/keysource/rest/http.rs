//! The HTTP client shared by the REST key sources and their credentials.
//!
//! Natively: rustls with the system roots plus the PEM bundle in `SSL_CERT_FILE` (or one
//! given explicitly), a connect timeout and a per-request timeout. On wasm32: the JS
//! `fetch` (trust is the browser's or Node's; `NODE_EXTRA_CA_CERTS` adds roots in Node).

use std::time::Duration;

/// How to build the HTTP client.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    /// Extra trusted root certificates, PEM (a bundle may hold several).
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// Per-request timeout (default 30 s natively; not applied on wasm32).
    pub timeout: Option<Duration>,
}

/// Builds a client for `options`. Errors name what could not be loaded.
pub fn client(options: &HttpOptions) -> Result<reqwest::Client, String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(options.timeout.unwrap_or(Duration::from_secs(30)))
            .user_agent(concat!("leafcrypt/", env!("CARGO_PKG_VERSION")));
        for pem in &options.extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("invalid PEM certificate bundle: {e}"))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = options;
        reqwest::Client::builder()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }
}

/// Native only: [`HttpOptions`] with the bundle named by `SSL_CERT_FILE` when it is set,
/// and the per-request timeout from the backend's variable `timeout_var` (e.g.
/// `LEAFCRYPT_AZURE_KV_TIMEOUT`; seconds, fractions allowed; default 30) — read through
/// `env`, so tests need not touch the process environment.
#[cfg(not(target_arch = "wasm32"))]
pub fn options_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    timeout_var: &str,
) -> Result<HttpOptions, String> {
    let mut options = HttpOptions::default();
    if let Some(path) = env("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
        let pem =
            std::fs::read(&path).map_err(|e| format!("SSL_CERT_FILE {path}: cannot read: {e}"))?;
        options.extra_roots_pem.push(pem);
    }
    if let Some(t) = env(timeout_var).filter(|t| !t.is_empty()) {
        let seconds = t
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
            .ok_or_else(|| format!("{timeout_var}={t}: expected seconds between 0 and 3600"))?;
        options.timeout = Some(Duration::from_secs_f64(seconds));
    }
    Ok(options)
}

/// An error and its sources on one line, joined with `: ` (reqwest's own `Display` omits
/// the cause: "error sending request" without "connection refused").
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Whether a transport error's text (see [`error_chain`]) is about the server's
/// certificate (untrusted issuer, wrong name, expired): repeating cannot help, trusting
/// the right CA can. A connection the peer dropped mid-TLS is not that (it is retried).
pub fn is_certificate_problem(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    lower.contains("certificate") || lower.contains("unknownissuer")
}

/// Whether a request that got no answer is worth repeating: natively a connection,
/// timeout or body error that is not a certificate problem; on wasm32 (where `fetch`
/// hides the cause) only a timeout.
pub fn is_transient(e: &reqwest::Error) -> bool {
    #[cfg(not(target_arch = "wasm32"))]
    {
        (e.is_connect() || e.is_timeout() || e.is_request() || e.is_body())
            && !is_certificate_problem(&error_chain(e))
    }
    #[cfg(target_arch = "wasm32")]
    {
        e.is_timeout()
    }
}

/// wasm32 only: whether this runs in a browser (a window or a worker), where a request
/// the server does not allow by CORS fails without any detail.
#[cfg(target_arch = "wasm32")]
pub fn in_browser() -> bool {
    let global = js_sys::global();
    ["document", "importScripts"]
        .iter()
        .any(|name| js_sys::Reflect::has(&global, &(*name).into()).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn the_timeout_variable_is_the_backend_s() {
        let env = |name: &str| (name == "X_TIMEOUT").then(|| "2.5".to_string());
        let options = options_from_env(&env, "X_TIMEOUT").unwrap();
        assert_eq!(options.timeout, Some(Duration::from_millis(2500)));
        let bad = |name: &str| (name == "X_TIMEOUT").then(|| "0".to_string());
        assert_eq!(
            options_from_env(&bad, "X_TIMEOUT").unwrap_err(),
            "X_TIMEOUT=0: expected seconds between 0 and 3600"
        );
    }
}
