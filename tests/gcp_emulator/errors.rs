//! Google's JSON error bodies (`{"error":{"code","message","status"}}`) and OAuth's.

use hyper::StatusCode;
use serde_json::json;

use crate::http::{self, Resp};

/// A Google API error: HTTP code, canonical status name and message.
pub fn google(code: u16, status: &str, message: &str) -> Resp {
    let http_status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    http::json(
        http_status,
        &json!({"error": {"code": code, "message": message, "status": status}}),
    )
}

/// The canonical status name of an injected fault's HTTP code.
pub fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

/// The message Google sends with each injected fault.
pub fn fault_message(code: u16) -> &'static str {
    match code {
        429 => "Quota exceeded for quota metric 'Cryptographic requests' and limit 'Cryptographic requests per minute' of service 'cloudkms.googleapis.com'.",
        503 => "The service is currently unavailable.",
        504 => "Deadline expired before operation could complete.",
        _ => "Internal error encountered.",
    }
}

/// No `Authorization` header.
pub fn missing_credentials() -> Resp {
    google(401, "UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
}

/// An unknown or expired token.
pub fn invalid_credentials() -> Resp {
    google(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
}

/// The caller lacks `permission` on `resource`.
pub fn permission_denied(permission: &str, resource: &str) -> Resp {
    google(
        403,
        "PERMISSION_DENIED",
        &format!(
            "Permission '{permission}' denied on resource '{resource}' (or it may not exist)."
        ),
    )
}

/// An OAuth token-endpoint error (`{"error","error_description"}`).
pub fn oauth(code: u16, error: &str, description: &str) -> Resp {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    http::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}
