//! The HTTP client shared by the Key Vault client and the credentials.
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
/// and the per-request timeout from `LEAFCRYPT_AZURE_KV_TIMEOUT` (seconds, fractions
/// allowed; default 30) — read through `env`, so tests need not touch the process
/// environment.
#[cfg(not(target_arch = "wasm32"))]
pub fn options_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<HttpOptions, String> {
    let mut options = HttpOptions::default();
    if let Some(path) = env("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
        let pem =
            std::fs::read(&path).map_err(|e| format!("SSL_CERT_FILE {path}: cannot read: {e}"))?;
        options.extra_roots_pem.push(pem);
    }
    if let Some(t) = env("LEAFCRYPT_AZURE_KV_TIMEOUT").filter(|t| !t.is_empty()) {
        let seconds = t
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
            .ok_or_else(|| {
                format!("LEAFCRYPT_AZURE_KV_TIMEOUT={t}: expected seconds between 0 and 3600")
            })?;
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
