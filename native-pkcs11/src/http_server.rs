//! The HTTP/1.1 plumbing the loopback servers share (`kv-proxy`, the `on-rotation`
//! webhook): one task per accepted connection, and JSON replies.

use crate::failure::{CliResult, Failure};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use leafcrypt_core::ExitCode;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Listens on `addr` and announces the bound address (`http://ADDR`, port 0 resolved) on
/// stdout; errors start with `who: `.
pub async fn listen(addr: SocketAddr, who: &str) -> CliResult<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("{who}: cannot listen on {addr}: {e}"),
        )
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Failure::new(ExitCode::ErrorGeneric, format!("{who}: {e}")))?;
    println!("http://{bound}");
    Ok((listener, bound))
}

/// A complete reply.
pub type Reply = Response<Full<Bytes>>;

/// Serves `stream` on its own task, each request answered by `handle(state, request)`.
/// With `header_timeout`, a client that does not finish its headers in time is dropped
/// (so it cannot hold a task forever).
pub fn spawn_connection<S, H, F>(
    stream: TcpStream,
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
