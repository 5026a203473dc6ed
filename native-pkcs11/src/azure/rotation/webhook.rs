//! The Event Grid webhook: an HTTP/1.1 server that answers Event Grid's two validation
//! handshakes and hands key rotations to the [`Runner`], one delivery at a time.
//!
//! - Every request must carry the shared secret (`?code=` or `X-Leafcrypt-Secret`), else
//!   401 and nothing is read further. The query string is never logged.
//! - `OPTIONS` with `WebHook-Request-Origin` (CloudEvents abuse protection) is answered
//!   with `WebHook-Allowed-Origin` and `WebHook-Allowed-Rate`.
//! - `POST` of a `Microsoft.EventGrid.SubscriptionValidationEvent` is answered with
//!   `{"validationResponse": code}`; of key rotations, with 200 and the totals once the
//!   files are written, or 500 when a file failed (Event Grid then redelivers, and a
//!   redelivery re-does only what is left).
//! - SIGTERM or SIGINT stops the server once the delivery in progress is done.
//!
//! Connections are served on their own tasks; the deliveries go through a channel to the
//! one task that owns the key sources, so files are never written by two deliveries at once.

use super::apply::{Runner, Totals};
use super::secret::{self, SharedSecret};
use crate::failure::{CliResult, Failure};
use crate::http_server::{self, json, Reply};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use leafcrypt_core::keysource::azure_kv::event::{self, Event, KeyRotation};
use leafcrypt_core::ExitCode;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The largest delivery read (Event Grid sends at most 1 MB per batch).
const MAX_BODY: usize = 1024 * 1024 + 64 * 1024;

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A delivery for the runner, and where its totals go.
struct Job {
    events: Vec<Event>,
    done: oneshot::Sender<Totals>,
}

struct State {
    secret: SharedSecret,
    jobs: mpsc::Sender<Job>,
}

/// Serves on `listen` until SIGTERM/SIGINT.
pub async fn serve(listen: SocketAddr, secret: SharedSecret, runner: Runner) -> CliResult<()> {
    let mut stop = stop_signal()
        .map_err(|e| Failure::new(ExitCode::ErrorGeneric, format!("on-rotation: {e}")))?;
    let (listener, bound) = http_server::listen(listen, "on-rotation").await?;
    eprintln!("on-rotation: listening on http://{bound} for Event Grid deliveries (SIGTERM stops)");
    let (jobs, mut queue) = mpsc::channel::<Job>(16);
    let state = Arc::new(State { secret, jobs });
    loop {
        tokio::select! {
            _ = &mut stop => {
                eprintln!("on-rotation: stopped");
                return Ok(());
            }
            Some(job) = queue.recv() => {
                let totals = runner.delivery(&job.events).await;
                let _ = job.done.send(totals);
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                http_server::spawn_connection(
                    stream,
                    state.clone(),
                    Some(HEADER_TIMEOUT),
                    |state, req| async move { handle(&state, req).await },
                );
            }
        }
    }
}

/// SIGTERM or SIGINT, registered before the server announces itself.
fn stop_signal() -> std::io::Result<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(Box::pin(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    }))
}

fn error(status: StatusCode, message: &str) -> Reply {
    json(status, &serde_json::json!({ "error": message }))
}

async fn handle(state: &State, req: Request<Incoming>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let reply = respond(state, req).await;
    // One line per request: never the query string or headers (the secret).
    eprintln!(
        "on-rotation: {method} {path} -> {}",
        reply.status().as_u16()
    );
    reply
}

fn authorized(state: &State, req: &Request<Incoming>) -> bool {
    let from_query = req.uri().query().and_then(secret::code_from_query);
    if let Some(code) = from_query {
        if state.secret.matches(&code) {
            return true;
        }
    }
    req.headers()
        .get(secret::HEADER)
        .is_some_and(|v| state.secret.matches(v.as_bytes()))
}

async fn respond(state: &State, req: Request<Incoming>) -> Reply {
    if !authorized(state, &req) {
        return error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong shared secret (?code= or X-Leafcrypt-Secret)",
        );
    }
    match *req.method() {
        Method::OPTIONS => abuse_protection(&req),
        Method::POST => deliver(state, req).await,
        _ => {
            let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "POST or OPTIONS only");
            r.headers_mut()
                .insert("allow", "POST, OPTIONS".parse().expect("static"));
            r
        }
    }
}

/// CloudEvents 1.0 webhook abuse protection: the origin asking is allowed.
fn abuse_protection(req: &Request<Incoming>) -> Reply {
    let mut r = Response::new(Full::new(Bytes::new()));
    r.headers_mut()
        .insert("allow", "POST, OPTIONS".parse().expect("static"));
    if let Some(origin) = req.headers().get("webhook-request-origin") {
        r.headers_mut()
            .insert("webhook-allowed-origin", origin.clone());
        r.headers_mut()
            .insert("webhook-allowed-rate", "*".parse().expect("static"));
    }
    r
}

async fn deliver(state: &State, req: Request<Incoming>) -> Reply {
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "delivery too large"),
    };
    let events = match event::parse_events(&body) {
        Ok(events) => events,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    if let Some(code) = events.iter().find_map(|e| match e {
        Event::Validation { code, .. } => Some(code.clone()),
        _ => None,
    }) {
        eprintln!("on-rotation: Event Grid subscription validation answered");
        let mut r = Response::new(Full::new(Bytes::from(event::validation_response(&code))));
        r.headers_mut()
            .insert("content-type", "application/json".parse().expect("static"));
        return r;
    }
    let rotations: Vec<&KeyRotation> = events
        .iter()
        .filter_map(|e| match e {
            Event::KeyNewVersion(r) => Some(r),
            _ => None,
        })
        .collect();
    let count = rotations.len();
    let (done, totals) = oneshot::channel();
    if state.jobs.send(Job { events, done }).await.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    let Ok(totals) = totals.await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let status = if totals.failed > 0 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    json(
        status,
        &serde_json::json!({
            "key_versions": count,
            "rewrapped": totals.rewrapped,
            "up_to_date": totals.up_to_date,
            "failed": totals.failed,
        }),
    )
}
