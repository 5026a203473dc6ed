//! `leafcrypt kv-proxy`: a loopback CORS proxy to Azure Key Vault for browser pages.
//!
//! Key Vault sends no CORS headers, so a page cannot call it. This proxy binds
//! 127.0.0.1, forwards key operations (`/keys/…`) only to the vaults it was given, adds
//! CORS headers only for the origins it was given, passes the bearer token through without
//! storing or logging it, and returns Key Vault's status, challenge and error bodies as
//! they are. It is never an open proxy: any other host, path or origin is refused.

mod cors;
mod route;

use crate::failure::{CliResult, Failure};
use crate::http_server::{self, Reply};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use leafcrypt_core::keysource::rest::http;
use leafcrypt_core::ExitCode;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the proxy serves.
pub struct ProxyOptions {
    /// Vault origins (`https://NAME.vault.azure.net`); at least one.
    pub vaults: Vec<String>,
    /// Browser origins allowed to call the proxy (`http://127.0.0.1:8080`).
    pub allow_origins: Vec<String>,
    /// Port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Exit when stdin reaches end of file (for supervisors and tests).
    pub exit_with_stdin: bool,
}

struct State {
    routes: route::Routes,
    cors: cors::Cors,
    upstream: reqwest::Client,
    listen: SocketAddr,
}

/// Largest request body forwarded (Key Vault key operations are a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// Runs the proxy until interrupted (or stdin closes with `exit_with_stdin`).
pub fn run(options: ProxyOptions) -> CliResult<()> {
    let routes = route::Routes::new(&options.vaults).map_err(|e| {
        Failure::new(
            ExitCode::ErrorConflictingParameters,
            format!("kv-proxy: {e}"),
        )
    })?;
    let cors = cors::Cors::new(&options.allow_origins).map_err(|e| {
        Failure::new(
            ExitCode::ErrorConflictingParameters,
            format!("kv-proxy: {e}"),
        )
    })?;
    let env = |k: &str| std::env::var(k).ok();
    let http = http::options_from_env(&env, leafcrypt_core::keysource::azure_kv::TIMEOUT_VAR)
        .and_then(|o| http::client(&o))
        .map_err(|e| Failure::new(ExitCode::ErrorGeneric, format!("kv-proxy: {e}")))?;
    crate::runtime::block_on(serve(
        routes,
        cors,
        http,
        options.port,
        options.exit_with_stdin,
    ))
}

async fn serve(
    routes: route::Routes,
    cors: cors::Cors,
    upstream: reqwest::Client,
    port: u16,
    exit_with_stdin: bool,
) -> CliResult<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let (listener, listen) = http_server::listen(addr, "kv-proxy").await?;
    eprintln!(
        "kv-proxy: forwarding {} for {} (Ctrl-C stops)",
        routes.describe(),
        cors.describe()
    );
    let state = Arc::new(State {
        routes,
        cors,
        upstream,
        listen,
    });
    let stop = stop_signal(exit_with_stdin);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                http_server::spawn_connection(
                    stream,
                    state.clone(),
                    None,
                    |state, req| async move { handle(&state, req).await },
                );
            }
        }
    }
}

async fn stop_signal(exit_with_stdin: bool) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if exit_with_stdin {
        let stdin_eof = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        });
        tokio::select! { _ = ctrl_c => {}, _ = stdin_eof => {} }
    } else {
        ctrl_c.await
    }
}

fn plain(status: StatusCode, message: &str) -> Reply {
    let body = serde_json::json!({ "error": { "code": "LeafcryptProxy", "message": message } });
    http_server::json(status, &body)
}

async fn handle(state: &State, req: Request<Incoming>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let reply = respond(state, req).await;
    // One line per request: never the query, headers or bodies (tokens, key material).
    eprintln!("kv-proxy: {method} {path} -> {}", reply.status().as_u16());
    reply
}

async fn respond(state: &State, req: Request<Incoming>) -> Reply {
    // DNS rebinding: only requests addressed to the proxy itself.
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let port = state.listen.port();
    if host != format!("127.0.0.1:{port}") && host != format!("localhost:{port}") {
        return plain(
            StatusCode::MISDIRECTED_REQUEST,
            "kv-proxy serves only 127.0.0.1",
        );
    }
    let origin = req
        .headers()
        .get("origin")
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let allowed_origin = match origin.as_deref() {
        Some(o) if state.cors.allows(o) => Some(o.to_string()),
        Some(o) => {
            return plain(
                StatusCode::FORBIDDEN,
                &format!("origin {o} is not allowed: start kv-proxy with --allow-origin {o}"),
            )
        }
        None => None,
    };
    let mut reply = if req.method() == Method::OPTIONS {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NO_CONTENT;
        r
    } else {
        forward(state, req).await
    };
    if let Some(origin) = allowed_origin {
        state.cors.decorate(&origin, reply.headers_mut());
    }
    reply
}

async fn forward(state: &State, req: Request<Incoming>) -> Reply {
    if req.method() != Method::GET && req.method() != Method::POST {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "kv-proxy forwards GET and POST only",
        );
    }
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let target = match state.routes.target(&path_and_query) {
        Ok(t) => t,
        Err(e) => return plain(StatusCode::NOT_FOUND, &e),
    };
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
    };
    let mut up = state.upstream.request(
        if method == Method::GET {
            reqwest::Method::GET
        } else {
            reqwest::Method::POST
        },
        &target,
    );
    for name in [
        "authorization",
        "content-type",
        "accept",
        "x-ms-client-request-id",
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            up = up.header(name, v);
        }
    }
    let response = match up.body(body).send().await {
        Ok(r) => r,
        Err(e) => {
            return plain(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "cannot reach {}: {}",
                    route::host_of(&target),
                    http::error_chain(&e)
                ),
            )
        }
    };
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut keep = Vec::new();
    for name in [
        "content-type",
        "www-authenticate",
        "retry-after",
        "retry-after-ms",
        "x-ms-retry-after-ms",
        "x-ms-request-id",
    ] {
        if let Some(v) = response.headers().get(name) {
            keep.push((name, v.as_bytes().to_vec()));
        }
    }
    let bytes = response.bytes().await.unwrap_or_default();
    let mut r = Response::new(Full::new(bytes));
    *r.status_mut() = status;
    for (name, value) in keep {
        if let Ok(v) = hyper::header::HeaderValue::from_bytes(&value) {
            r.headers_mut().insert(name, v);
        }
    }
    r
}
