//! The HTTP/1.1 plumbing the loopback servers share (`kv-proxy`, the `on-rotation`
//! webhook): one task per accepted connection, and JSON replies.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A complete reply.
pub type Reply = Response<Full<Bytes>>;

/// Serves `stream` on its own task, each request answered by `handle(state, request)`.
/// With `header_timeout`, a client that does not finish its headers in time is dropped
/// (so it cannot hold a task forever).
pub fn spawn_connection<S, H, F>(
    stream: tokio::net::TcpStream,
    state: Arc<S>,
    header_timeout: Option<Duration>,
    handle: H,
) where
    S: Send + Sync + 'static,
    H: Fn(Arc<S>, Request<Incoming>) -> F + Send + Sync + Copy + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |req| {
            let reply = handle(state.clone(), req);
            async move { Ok::<_, std::convert::Infallible>(reply.await) }
        });
        let io = hyper_util::rt::TokioIo::new(stream);
        let mut builder = hyper::server::conn::http1::Builder::new();
        if let Some(timeout) = header_timeout {
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(timeout);
        }
        let _ = builder.serve_connection(io, service).await;
    });
}

/// A reply of `status` with `body` as `application/json`.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("static"));
    r
}
