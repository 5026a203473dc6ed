//! Vault's error responses: `{"errors":[...]}` with the status and texts the real server uses.

use hyper::StatusCode;
use serde_json::json;

use crate::http::{json, Resp};

/// An error answer with Vault's body.
pub fn error(status: StatusCode, messages: &[&str]) -> Resp {
    json(status, &json!({ "errors": messages }))
}

/// 403 for a missing, unknown or under-privileged token (Vault's multierror text).
pub fn permission_denied() -> Resp {
    error(
        StatusCode::FORBIDDEN,
        &["1 error occurred:\n\t* permission denied\n\n"],
    )
}

/// 503 while sealed.
pub fn sealed() -> Resp {
    error(StatusCode::SERVICE_UNAVAILABLE, &["Vault is sealed"])
}

/// 404 for a path no mount serves.
pub fn no_route(path: &str) -> Resp {
    let text = format!("no handler for route \"{path}\". route entry not found.");
    error(StatusCode::NOT_FOUND, &[&text])
}

/// 400 with one message.
pub fn bad_request(message: &str) -> Resp {
    error(StatusCode::BAD_REQUEST, &[message])
}

/// 404 with no message, as Vault answers reads of absent KV secrets.
pub fn not_found() -> Resp {
    json(StatusCode::NOT_FOUND, &json!({ "errors": [] }))
}

/// 405 for a method the path does not take.
pub fn unsupported_operation() -> Resp {
    error(StatusCode::METHOD_NOT_ALLOWED, &["unsupported operation"])
}

/// 204, what Vault answers writes with no data.
pub fn no_content() -> Resp {
    let mut resp = json(StatusCode::NO_CONTENT, &serde_json::Value::Null);
    *resp.body_mut() = http_body_util::Full::new(bytes::Bytes::new());
    resp.headers_mut().remove(hyper::header::CONTENT_TYPE);
    resp
}
