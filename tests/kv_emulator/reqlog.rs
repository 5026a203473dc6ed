//! The request log tests read through `/admin/log`: what was asked and how it was answered,
//! never a token or a body.

use serde::Serialize;

/// One request, as the log records it.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// `vault` (the HTTPS listener) or `token` (the plain-HTTP token listener).
    pub listener: &'static str,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The `api-version` query parameter, if any.
    pub api_version: Option<String>,
    /// The operation's policy name (`get`, `decrypt`, …; `token` for token endpoints).
    pub op: Option<String>,
    /// Whether a valid token was presented (vault) or a token was issued (token endpoints).
    pub authorized: bool,
    /// The identity that was authenticated or issued a token.
    pub identity: Option<String>,
    /// The status sent; 0 when the connection was dropped on purpose.
    pub status: u16,
}

impl Entry {
    /// An entry for a request on `listener`, filled in as the request is handled.
    pub fn new<B>(listener: &'static str, req: &hyper::Request<B>) -> Self {
        Self {
            listener,
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            api_version: crate::http::query(req).remove("api-version"),
            op: None,
            authorized: false,
            identity: None,
            status: 0,
        }
    }
}
