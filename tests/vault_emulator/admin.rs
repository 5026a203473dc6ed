//! The admin API (no auth; loopback tests only): `POST /admin/fault` (a [`Fault`]),
//! `POST /admin/token` (`{"token", "rules": [Rule]}`), `POST /admin/seal`,
//! `GET /admin/requests` (the request log, never tokens), `DELETE /admin/requests`.

use hyper::StatusCode;
use serde_json::{json, Value};

use crate::errors;
use crate::http::{json, Resp};
use crate::state::{Fault, Rule, Shared};

/// Serves one admin request.
pub fn handle(shared: &Shared, method: &str, rest: &str, body: &[u8]) -> Resp {
    let mut st = shared.state();
    match (method, rest) {
        ("POST", "fault") => match serde_json::from_slice::<Fault>(body) {
            Ok(f) => {
                st.faults.push(f);
                errors::no_content()
            }
            Err(e) => errors::bad_request(&format!("bad fault: {e}")),
        },
        ("POST", "token") => {
            let parsed: Result<Value, _> = serde_json::from_slice(body);
            let token = parsed
                .as_ref()
                .ok()
                .and_then(|v| v.get("token"))
                .and_then(Value::as_str);
            let rules = parsed
                .as_ref()
                .ok()
                .and_then(|v| v.get("rules").cloned())
                .and_then(|r| serde_json::from_value::<Vec<Rule>>(r).ok());
            match (token, rules) {
                (Some(t), Some(r)) => {
                    st.tokens.insert(t.to_string(), r);
                    errors::no_content()
                }
                _ => errors::bad_request("expected {\"token\": ..., \"rules\": [...]}"),
            }
        }
        ("POST", "seal") => {
            st.sealed = true;
            errors::no_content()
        }
        ("GET", "requests") => json(StatusCode::OK, &json!(st.log)),
        ("DELETE", "requests") => {
            st.log.clear();
            errors::no_content()
        }
        _ => errors::error(StatusCode::NOT_FOUND, &["unknown admin route"]),
    }
}
