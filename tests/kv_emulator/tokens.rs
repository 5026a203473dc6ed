//! Managed-identity token endpoints on the plain-HTTP listener, shaped like the real ones:
//! App Service (`GET /msi/token`, `X-IDENTITY-HEADER`) and IMDS
//! (`GET /metadata/identity/oauth2/token`, `Metadata: true`).
//!
//! The identity is the `client_id` (or `object_id` / `msi_res_id` / `principal_id`) asked
//! for, else [`SYSTEM_IDENTITY`].

// Handlers return a finished error response as their `Err`: built once per request and
// answered at once, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;

use crate::http::{self, Dropped, Resp};
use crate::reqlog::Entry;
use crate::state::{Shared, SYSTEM_IDENTITY};

/// The fault-injection and log name of token requests (also used by the Entra routes).
pub const TOKEN_OP: &str = "token";

/// Which managed-identity endpoint shape.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    AppService,
    Imds,
}

/// Serves a managed-identity token request, recording it in the log.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let mut entry = Entry::new("token", &req);
    entry.op = Some(TOKEN_OP.to_string());
    let result = respond(&shared, &req, &mut entry).await;
    entry.status = result.as_ref().map_or(0, |r| r.status().as_u16());
    shared.record(entry);
    result
}

/// An OAuth-style error body.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Resp {
    http::json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

/// Applies a pending `token` fault: `Some` answer (or a drop) when one fires.
pub async fn injected(shared: &Shared) -> Option<Result<Resp, Dropped>> {
    let fault = shared.controls().faults.take(TOKEN_OP)?;
    tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    if fault.drop_connection {
        return Some(Err(Dropped));
    }
    let status = StatusCode::from_u16(fault.status?).ok()?;
    let mut resp = oauth_error(
        status,
        "temporarily_unavailable",
        "injected by the emulator",
    );
    if let Some(secs) = fault.retry_after {
        resp.headers_mut()
            .insert(hyper::header::RETRY_AFTER, secs.into());
    }
    Some(Ok(resp))
}

async fn respond<B>(shared: &Shared, req: &Request<B>, entry: &mut Entry) -> Result<Resp, Dropped> {
    let kind = match (req.method(), req.uri().path()) {
        (&hyper::Method::GET, "/msi/token") => Kind::AppService,
        (&hyper::Method::GET, "/metadata/identity/oauth2/token") => Kind::Imds,
        _ => {
            return Ok(oauth_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint",
            ))
        }
    };
    if let Some(answer) = injected(shared).await {
        return answer;
    }
    let query = http::query(req);
    if let Err(resp) = check_request(shared, req, kind, &query) {
        return Ok(resp);
    }
    let Some(resource) = query.get("resource").filter(|r| !r.is_empty()) else {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "resource is required",
        ));
    };
    let identity = [
        "client_id",
        "object_id",
        "msi_res_id",
        "mi_res_id",
        "principal_id",
    ]
    .iter()
    .find_map(|k| query.get(*k).filter(|v| !v.is_empty()))
    .map_or(SYSTEM_IDENTITY, String::as_str);
    let (token, claims) = shared.issue(identity, resource, None);
    entry.authorized = true;
    entry.identity = Some(identity.to_string());
    let expires_in = claims.exp.saturating_sub(claims.iat);
    let body = match kind {
        Kind::AppService => json!({
            "access_token": token,
            "expires_on": claims.exp.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity,
        }),
        Kind::Imds => json!({
            "access_token": token,
            "refresh_token": "",
            "expires_in": expires_in.to_string(),
            "expires_on": claims.exp.to_string(),
            "ext_expires_in": expires_in.to_string(),
            "not_before": claims.nbf.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity,
        }),
    };
    Ok(http::json(StatusCode::OK, &body))
}

/// The endpoint's own header and api-version rules.
fn check_request<B>(
    shared: &Shared,
    req: &Request<B>,
    kind: Kind,
    query: &HashMap<String, String>,
) -> Result<(), Resp> {
    let api_version = query.get("api-version").map(String::as_str);
    match kind {
        Kind::AppService => {
            if http::header(req, "x-identity-header") != Some(shared.identity_header.as_str()) {
                return Err(oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request",
                    "X-IDENTITY-HEADER is missing or wrong",
                ));
            }
            if api_version != Some("2019-08-01") {
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "api-version must be 2019-08-01",
                ));
            }
        }
        Kind::Imds => {
            if !http::header(req, "metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Required metadata header not specified",
                ));
            }
            if api_version.is_none_or(str::is_empty) {
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "api-version is required",
                ));
            }
        }
    }
    Ok(())
}
