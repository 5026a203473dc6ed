//! Request routing: the admin API, unauthenticated `sys/` routes, the seal, token and policy
//! checks, injected faults, then `sys/mounts`, `auth/token/lookup-self` and the mounted engines.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::{json, Value};

use crate::http::{self, json, Dropped, Resp};
use crate::state::{allowed, Engine, LogEntry, Shared};
use crate::{admin, errors, kv, transit};

/// A response in Vault's secret envelope around `data`.
pub fn secret(data: Value) -> Resp {
    secret_lease(data, 0)
}

/// [`secret`] with a lease duration (KV v1 reads have one).
pub fn secret_lease(data: Value, lease_duration: u64) -> Resp {
    json(
        StatusCode::OK,
        &json!({
            "request_id": crate::state::random_token().trim_start_matches("hvs."),
            "lease_id": "",
            "renewable": false,
            "lease_duration": lease_duration,
            "data": data,
            "wrap_info": null,
            "warnings": null,
            "auth": null,
        }),
    )
}

/// The headers Vault allows once CORS is enabled (its `StdAllowedHeaders`); `sys/config/cors`
/// `allowed_headers` adds to them. `X-Vault-Request` and `X-Vault-Namespace` are not among them.
const CORS_HEADERS: [&str; 10] = [
    "Content-Type",
    "X-Requested-With",
    "X-Vault-AWS-IAM-Server-ID",
    "X-Vault-MFA",
    "X-Vault-No-Request-Forwarding",
    "X-Vault-Wrap-Format",
    "X-Vault-Wrap-TTL",
    "X-Vault-Policy-Override",
    "Authorization",
    "X-Vault-Token",
];

/// The request's `Origin` and the allowed headers when `sys/config/cors` allows the origin.
fn cors_origin(shared: &Shared, req: &Request<Incoming>) -> Option<(String, String)> {
    let origin = http::header(req, "origin")?.to_string();
    let st = shared.state();
    let allowed = st.cors_origins.iter().any(|o| o == "*" || *o == origin);
    let mut headers: Vec<String> = CORS_HEADERS.iter().map(|h| h.to_string()).collect();
    headers.extend(st.cors_headers.iter().cloned());
    allowed.then(|| (origin, headers.join(", ")))
}

/// Adds Vault's CORS headers for `origin` (preflights also get methods and headers).
fn with_cors(
    mut resp: Resp,
    (origin, allowed_headers): &(String, String),
    preflight: bool,
) -> Resp {
    let headers = resp.headers_mut();
    let mut set = |k: &'static str, v: &str| {
        if let Ok(v) = v.parse() {
            headers.insert(k, v);
        }
    };
    set("access-control-allow-origin", origin);
    set("vary", "Origin");
    if preflight {
        set(
            "access-control-allow-methods",
            "DELETE, GET, OPTIONS, PATCH, POST, PUT",
        );
        set("access-control-allow-headers", allowed_headers);
        set("access-control-max-age", "300");
    }
    resp
}

/// Serves one request, with CORS headers when `sys/config/cors` allows its origin.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let origin = cors_origin(&shared, &req);
    if req.method() == hyper::Method::OPTIONS {
        // Vault answers a preflight only when CORS is enabled for the origin.
        return Ok(match origin {
            Some(o) => with_cors(errors::no_content(), &o, true),
            None => errors::error(StatusCode::METHOD_NOT_ALLOWED, &["unsupported operation"]),
        });
    }
    let resp = handle_api(shared, req).await?;
    Ok(match origin {
        Some(o) => with_cors(resp, &o, false),
        None => resp,
    })
}

async fn handle_api(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/admin/") {
        let rest = rest.to_string();
        let method = req.method().as_str().to_string();
        let body = http::body(req.into_body()).await.unwrap_or_default();
        return Ok(admin::handle(&shared, &method, &rest, &body));
    }
    let method = req.method().as_str().to_string();
    let query = http::query(&req);
    let namespace = http::header(&req, "x-vault-namespace").map(str::to_string);
    let token = http::header(&req, "x-vault-token")
        .map(str::to_string)
        .or_else(|| {
            http::header(&req, "authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
                .map(str::to_string)
        });
    let body = match http::body(req.into_body()).await {
        Ok(b) => b,
        Err(e) => return Ok(errors::bad_request(&e)),
    };
    let Some(p) = path.strip_prefix("/v1/") else {
        return Ok(errors::error(StatusCode::NOT_FOUND, &["not found"]));
    };
    let p = p.trim_end_matches('/').to_string();
    let fault = shared.state().take_fault(&p);
    if let Some(fault) = &fault {
        if fault.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        }
    }
    let resp = match fault.and_then(|f| f.status) {
        Some(429) => errors::error(
            StatusCode::TOO_MANY_REQUESTS,
            &[&format!("request path \"{p}\": rate limit quota exceeded")],
        ),
        Some(code) => errors::error(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &["internal error"],
        ),
        None => serve(&shared, &method, &p, &query, token.as_deref(), &body),
    };
    shared.state().log.push(LogEntry {
        method,
        path: p,
        namespace,
        token: token.is_some(),
        status: resp.status().as_u16(),
    });
    Ok(resp)
}

fn serve(
    shared: &Shared,
    method: &str,
    p: &str,
    query: &std::collections::HashMap<String, String>,
    token: Option<&str>,
    raw: &[u8],
) -> Resp {
    let mut st = shared.state();
    // Unauthenticated routes.
    match (method, p) {
        ("GET", "sys/health") => {
            let status = if st.sealed {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            return json(
                status,
                &json!({ "initialized": true, "sealed": st.sealed, "standby": false, "version": "1.17.0" }),
            );
        }
        ("GET", "sys/seal-status") => return seal_status(st.sealed),
        ("PUT" | "POST", "sys/unseal") => {
            st.sealed = false;
            return seal_status(false);
        }
        _ => {}
    }
    if st.sealed {
        return errors::sealed();
    }
    let body: Value = if raw.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(raw) {
            Ok(v) => v,
            Err(_) => return errors::bad_request("failed to parse JSON input"),
        }
    };
    let list = method == "LIST" || query.get("list").is_some_and(|v| v == "true");
    let capability = match method {
        _ if list => "list",
        "GET" => "read",
        "DELETE" => "delete",
        _ => "update",
    };
    let is_root = token == Some(shared.root.as_str());
    // Vault's default policy lets every valid token ask for its own capabilities.
    if p == "sys/capabilities-self" && matches!(method, "POST" | "PUT") {
        return capabilities_self(&st, is_root, token, &body);
    }
    if !is_root {
        let permitted = token.and_then(|t| st.tokens.get(t)).is_some_and(|rules| {
            p == "auth/token/lookup-self"
                || allowed(rules, p, capability)
                || (capability == "update" && allowed(rules, p, "create"))
        });
        if !permitted {
            return errors::permission_denied();
        }
    }
    match p {
        "auth/token/lookup-self" => {
            let policies = if is_root {
                vec!["root"]
            } else {
                vec!["default", "restricted"]
            };
            return secret(
                json!({ "policies": policies, "renewable": false, "ttl": 0, "type": "service" }),
            );
        }
        "sys/config/cors" if matches!(method, "PUT" | "POST") => {
            if !is_root {
                return errors::permission_denied();
            }
            let enabled = body["enabled"].as_bool().unwrap_or(true);
            let origins: Vec<String> = match &body["allowed_origins"] {
                Value::String(s) => s.split(',').map(|o| o.trim().to_string()).collect(),
                Value::Array(a) => a
                    .iter()
                    .filter_map(|o| o.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            let list = |v: &Value| -> Vec<String> {
                match v {
                    Value::String(s) => s.split(',').map(|o| o.trim().to_string()).collect(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|o| o.as_str().map(str::to_string))
                        .collect(),
                    _ => Vec::new(),
                }
            };
            st.cors_headers = if enabled {
                list(&body["allowed_headers"])
            } else {
                Vec::new()
            };
            st.cors_origins = if enabled { origins } else { Vec::new() };
            return errors::no_content();
        }
        "sys/config/cors" if method == "GET" => {
            let enabled = !st.cors_origins.is_empty();
            return secret(
                json!({ "enabled": enabled, "allowed_origins": st.cors_origins, "allowed_headers": st.cors_headers }),
            );
        }
        "sys/seal" if matches!(method, "PUT" | "POST") => {
            if !is_root {
                return errors::permission_denied();
            }
            st.sealed = true;
            return errors::no_content();
        }
        "sys/mounts" if method == "GET" => {
            let mounts: serde_json::Map<String, Value> = st
                .mounts
                .iter()
                .map(|(k, e)| (k.clone(), mount_info(e)))
                .collect();
            let mut top = mounts.clone();
            top.insert("data".into(), Value::Object(mounts));
            return json(StatusCode::OK, &Value::Object(top));
        }
        _ => {}
    }
    if let Some(mount) = p.strip_prefix("sys/mounts/") {
        return match method {
            "POST" | "PUT" => {
                let engine = match body.get("type").and_then(Value::as_str) {
                    Some("transit") => Engine::transit(),
                    Some("kv" | "kv-v1") | Some("generic") => {
                        let v2 =
                            body.pointer("/options/version").and_then(Value::as_str) == Some("2");
                        Engine::kv(if v2 { 2 } else { 1 })
                    }
                    Some("kv-v2") => Engine::kv(2),
                    Some(other) => {
                        return errors::bad_request(&format!(
                            "plugin not found in the catalog: {other}"
                        ))
                    }
                    None => return errors::bad_request("missing mount type"),
                };
                if st.mount(mount, engine) {
                    errors::no_content()
                } else {
                    errors::bad_request(&format!(
                        "path is already in use at {}",
                        crate::state::mount_key(mount)
                    ))
                }
            }
            "DELETE" => {
                st.mounts.remove(&crate::state::mount_key(mount));
                errors::no_content()
            }
            _ => errors::unsupported_operation(),
        };
    }
    let Some((mount, rest)) = st.route(p) else {
        return errors::no_route(p);
    };
    let query_version = query.get("version").and_then(|v| v.parse().ok());
    match st.mounts.get_mut(&mount) {
        Some(Engine::Transit(keys)) => transit::handle(keys, method, rest, &body),
        Some(Engine::Kv(version, store)) => {
            kv::handle(*version, store, method, rest, list, &body, query_version)
        }
        None => errors::no_route(p),
    }
}

fn seal_status(sealed: bool) -> Resp {
    json(
        StatusCode::OK,
        &json!({ "type": "shamir", "initialized": true, "sealed": sealed, "t": 1, "n": 1, "progress": 0, "version": "1.17.0" }),
    )
}

fn mount_info(engine: &Engine) -> Value {
    let options = match engine {
        Engine::Kv(v, _) => json!({ "version": v.to_string() }),
        Engine::Transit(_) => Value::Null,
    };
    json!({ "type": engine.kind(), "description": "", "options": options, "config": { "default_lease_ttl": 0, "max_lease_ttl": 0 } })
}

/// `sys/capabilities-self`: the token's capabilities on each of `paths` (`["root"]` for
/// the root token, `["deny"]` where no rule grants anything), as Vault answers it.
fn capabilities_self(
    st: &crate::state::State,
    is_root: bool,
    token: Option<&str>,
    body: &Value,
) -> Resp {
    let rules = match token.and_then(|t| st.tokens.get(t)) {
        Some(rules) => Some(rules),
        None if is_root => None,
        None => return errors::permission_denied(),
    };
    let paths: Vec<String> = body
        .get("paths")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .or_else(|| {
            body.get("path")
                .and_then(Value::as_str)
                .map(|p| vec![p.to_string()])
        })
        .unwrap_or_default();
    let mut answer = serde_json::Map::new();
    let mut all = Vec::new();
    for path in &paths {
        let caps: Vec<&str> = match rules {
            None => vec!["root"],
            Some(rules) => {
                let granted: Vec<&str> = ["create", "read", "update", "delete", "list", "sudo"]
                    .into_iter()
                    .filter(|c| allowed(rules, path.trim_matches('/'), c))
                    .collect();
                if granted.is_empty() {
                    vec!["deny"]
                } else {
                    granted
                }
            }
        };
        all = caps.clone();
        answer.insert(path.clone(), json!(caps));
    }
    answer.insert("capabilities".into(), json!(all));
    let data = Value::Object(answer.clone());
    answer.insert("data".into(), data);
    json(StatusCode::OK, &Value::Object(answer))
}
