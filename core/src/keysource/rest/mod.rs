//! The plumbing every REST key source shares (feature `rest`, enabled by `azure-kv` and
//! the other network backends): one HTTP client per target, one retry loop, one token
//! cache, one way to keep secrets out of error text.
//!
//! - [`http`]: the HTTP client (reqwest with rustls natively, the JS `fetch` on wasm32),
//!   extra trusted roots from `SSL_CERT_FILE`, per-backend timeouts, the one-line
//!   [`http::error_chain`] of a transport error, and which transport errors are worth
//!   repeating ([`http::is_transient`]);
//! - [`platform`]: the clock, sleeping and jitter on each target;
//! - [`retry`]: [`retry::RetryPolicy`] (backoff with full jitter, attempts, deadline) and
//!   the server's `Retry-After` in all its forms;
//! - [`send`]: one request sent under a policy, with a probe mode for endpoints that may
//!   not exist (instance metadata);
//! - [`cache`]: tokens or temporary credentials reused until shortly before they expire,
//!   one refresh at a time;
//! - [`redact`]: server or child-process text quoted with JWTs and known
//!   secrets masked, cut to one short line.
//!
//! # Writing a new REST backend
//!
//! A backend lives in its own module tree (`keysource/<kind>/`) behind its own cargo
//! feature, which enables `rest`. It provides:
//! 1. a [`KeySource`](crate::keysource::KeySource) for its metadata kind (`wrap`,
//!    `unwrap`), reading and writing the entry fields exactly as sops does;
//! 2. a client that builds its requests and sends them with [`send::Retry`] over a
//!    [`http::client`] (so retries, `Retry-After` and the timeouts behave alike);
//! 3. its credentials, each reading configuration through an env lookup closure (never
//!    the process environment directly, so tests need not mutate it), cached with
//!    [`cache::ExpiringCache`];
//! 4. an error type (`thiserror`) whose messages name the host
//!    ([`authority`](crate::keysource::authority)), the key and the operation, say what
//!    to do, and quote server text only through [`redact`]; secret values (tokens, keys,
//!    signatures) never appear in `Display` or `Debug`;
//! 5. a feature in `core/Cargo.toml` (`<kind> = ["rest", "dep:…"]`) and the front ends'
//!    features (`native-pkcs11/Cargo.toml`, `wasm/Cargo.toml`) naming it.
//!
//! On wasm32 futures are not `Send` and there is no tokio: only [`platform`] may sleep
//! or read the clock.

pub mod cache;
pub mod http;
pub mod platform;
pub mod redact;
pub mod retry;
pub mod send;
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod test_server;
