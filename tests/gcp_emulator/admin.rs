//! The admin API (`/admin/...`, JSON): keys and versions, deny rules, faults, tokens, the
//! request log.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::http::{self, Resp};
use crate::kms::valid_key_name;
use crate::state::{Fault, Key, Shared};

fn bad(msg: &str) -> Resp {
    http::json(StatusCode::BAD_REQUEST, &json!({"error": msg}))
}

/// Handles one admin request.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Resp {
    let op = req.uri().path().trim_start_matches("/admin/").to_string();
    if req.method() == Method::GET && op == "log" {
        let log = shared.lock().log.clone();
        return http::json(StatusCode::OK, &json!(log));
    }
    if req.method() == Method::GET && op == "objects" {
        return http::json(StatusCode::OK, &crate::gcs::listing(&shared));
    }
    if req.method() != Method::POST {
        return bad("admin operations are POST (GET log, objects)");
    }
    let body = match http::body(req.into_body()).await {
        Ok(b) if b.is_empty() => Value::Object(Default::default()),
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(v) => v,
            Err(e) => return bad(&format!("bad JSON: {e}")),
        },
        Err(e) => return bad(&e),
    };
    let s = |f: &str| body[f].as_str().unwrap_or("").to_string();
    let mut state = shared.lock();
    match op.as_str() {
        "keys" => {
            let name = s("name");
            if !valid_key_name(&name) {
                return bad("name must be projects/*/locations/*/keyRings/*/cryptoKeys/*");
            }
            state.keys.entry(name).or_insert_with(Key::new);
            http::json(StatusCode::OK, &json!({"version": 1}))
        }
        "bucket" => {
            state.buckets.entry(s("name")).or_default();
            http::json(StatusCode::OK, &json!({}))
        }
        "rotate" => match state.keys.get_mut(&s("name")) {
            Some(key) => http::json(StatusCode::OK, &json!({"version": key.rotate()})),
            None => bad("no such key"),
        },
        "version" => {
            let v = body["version"].as_u64().unwrap_or(0) as usize;
            let enabled = body["enabled"].as_bool().unwrap_or(true);
            match state
                .keys
                .get_mut(&s("name"))
                .and_then(|k| k.versions.get_mut(v.wrapping_sub(1)))
            {
                Some(version) => {
                    version.enabled = enabled;
                    http::json(StatusCode::OK, &json!({}))
                }
                None => bad("no such key version"),
            }
        }
        "deny" => {
            let identity = if s("identity").is_empty() {
                "*".into()
            } else {
                s("identity")
            };
            let key = if s("key").is_empty() {
                "*".into()
            } else {
                s("key")
            };
            state.deny.insert((identity, key));
            http::json(StatusCode::OK, &json!({}))
        }
        "fault" => {
            state.faults.push_back(Fault {
                status: body["status"].as_u64().unwrap_or(0) as u16,
                count: body["count"].as_u64().unwrap_or(1) as u32,
                delay_ms: body["delay_ms"].as_u64().unwrap_or(0),
            });
            http::json(StatusCode::OK, &json!({}))
        }
        "token" => {
            let identity = if s("identity").is_empty() {
                "user@emu-project.example".into()
            } else {
                s("identity")
            };
            let lifetime = body["lifetime"].as_u64().unwrap_or(3599);
            let token = state.mint(&identity, lifetime);
            http::json(StatusCode::OK, &json!({"access_token": token}))
        }
        "log/clear" => {
            state.log.clear();
            http::json(StatusCode::OK, &json!({}))
        }
        "reset" => {
            state.deny.clear();
            state.faults.clear();
            state.log.clear();
            http::json(StatusCode::OK, &json!({}))
        }
        _ => http::json(
            StatusCode::NOT_FOUND,
            &json!({"error": "unknown admin operation"}),
        ),
    }
}
