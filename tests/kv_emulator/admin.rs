//! The admin API tests drive the emulator with (plain HTTP, JSON in and out, under `/admin`):
//!
//! | Route | Body | Effect / answer |
//! |---|---|---|
//! | `POST /admin/keys` | `{name, size?}` | new key or version; the KeyBundle |
//! | `POST /admin/rotate` | `{name}` | new version like the latest; the KeyBundle |
//! | `POST /admin/version` | `{name, version, enabled}` | enable/disable a version; the KeyBundle |
//! | `POST /admin/export` | `{name, version?}` | `{version, pem}`: the private key (PKCS#8), test-only |
//! | `POST /admin/fault` | `{op, status?, count?, retry_after?, delay_ms?, drop_connection?}` | queue a fault |
//! | `POST /admin/deny` | `{identity?, key?, op, model: policy\|rbac}` | add a deny rule |
//! | `POST /admin/challenge` | `{resource?, tenant?, authority?}` | change the 401 challenge |
//! | `POST /admin/token_lifetime` | `{seconds}` | lifetime of tokens minted from now on |
//! | `POST /admin/token` | `{identity?, lifetime?}` | `{access_token, expires_on}` for the current resource |
//! | `GET /admin/log` | – | `{entries: [{listener, method, path, api_version, op, authorized, identity, status}]}` |
//! | `POST /admin/log/clear` | – | empty the log |
//! | `GET /admin/counters` | – | `{in_flight, max_in_flight, ops: {"<op> <key>": n}, unauthorized}`: vault requests now, most at once, authorized ones per op and key name, and 401 challenges (from the log) |
//! | `POST /admin/counters/clear` | – | the maximum starts again from the requests in flight |
//! | `POST /admin/reset` | – | no faults, no deny rules, startup challenge and lifetime, empty log (keys stay) |
//!
//! Errors are `{"error": "<text>"}` with status 400 (bad body) or 404 (unknown key/version).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::Deny;
use crate::crypto;
use crate::faults::Fault;
use crate::http::{self, Resp};
use crate::state::{Shared, SYSTEM_IDENTITY};
use crate::store::{KeyVersion, Update};
use crate::vault;

#[derive(Deserialize)]
struct KeyReq {
    name: String,
    size: Option<usize>,
}

#[derive(Deserialize)]
struct NameReq {
    name: String,
    version: Option<String>,
}

#[derive(Deserialize)]
struct VersionReq {
    name: String,
    version: String,
    enabled: bool,
}

#[derive(Deserialize)]
struct ChallengeReq {
    resource: Option<String>,
    tenant: Option<String>,
    authority: Option<String>,
}

#[derive(Deserialize)]
struct LifetimeReq {
    seconds: i64,
}

#[derive(Deserialize)]
struct TokenReq {
    identity: Option<String>,
    lifetime: Option<i64>,
}

type Answer = Result<Value, (StatusCode, String)>;

/// Serves one admin request.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let body = match http::body(req.into_body()).await {
        Ok(b) => b,
        Err(msg) => return http::json(StatusCode::BAD_REQUEST, &json!({ "error": msg })),
    };
    let answer = match (method, path.as_str()) {
        (Method::POST, "/admin/keys") => create(&shared, parse(&body)).await,
        (Method::POST, "/admin/rotate") => rotate(&shared, parse(&body)).await,
        (Method::POST, "/admin/version") => parse(&body).and_then(|r| set_enabled(&shared, r)),
        (Method::POST, "/admin/export") => parse(&body).and_then(|r| export(&shared, r)),
        (Method::POST, "/admin/fault") => parse(&body).and_then(|f| fault(&shared, f)),
        (Method::POST, "/admin/deny") => parse(&body).map(|d: Deny| {
            shared.controls().denies.push(d);
            json!({})
        }),
        (Method::POST, "/admin/challenge") => parse(&body).map(|r| challenge(&shared, r)),
        (Method::POST, "/admin/token_lifetime") => parse(&body).map(|r: LifetimeReq| {
            shared.controls().token_lifetime = r.seconds;
            json!({})
        }),
        (Method::POST, "/admin/token") => parse(&body).map(|r| token(&shared, r)),
        (Method::GET, "/admin/log") => Ok(json!({ "entries": shared.log_snapshot() })),
        (Method::GET, "/admin/counters") => Ok(counters(&shared)),
        (Method::POST, "/admin/counters/clear") => {
            shared.in_flight.clear();
            Ok(json!({}))
        }
        (Method::POST, "/admin/log/clear") => {
            shared.clear_log();
            Ok(json!({}))
        }
        (Method::POST, "/admin/reset") => {
            shared.controls().reset();
            shared.clear_log();
            Ok(json!({}))
        }
        (m, p) => Err((StatusCode::NOT_FOUND, format!("no admin route {m} {p}"))),
    };
    match answer {
        Ok(value) => http::json(StatusCode::OK, &value),
        Err((status, msg)) => http::json(status, &json!({ "error": msg })),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, (StatusCode, String)> {
    let body = if body.is_empty() { &b"{}"[..] } else { body };
    serde_json::from_slice(body).map_err(|e| (StatusCode::BAD_REQUEST, format!("bad body: {e}")))
}

fn not_found(name: &str) -> (StatusCode, String) {
    (StatusCode::NOT_FOUND, format!("no key or version {name}"))
}

fn internal(e: impl ToString) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Adds `version` to `name`; the bundle with kids on the vault listener's address.
fn add(shared: &Shared, name: &str, version: KeyVersion) -> Answer {
    let v = shared.store().add(name, version).map_err(internal)?;
    Ok(vault::bundle(&shared.vault_host, name, &v))
}

async fn create(shared: &Shared, req: Result<KeyReq, (StatusCode, String)>) -> Answer {
    let req = req?;
    let bits = req.size.unwrap_or(2048);
    if !crypto::KEY_SIZES.contains(&bits) || req.name.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "need a name and a size of 2048, 3072 or 4096".into(),
        ));
    }
    let key = vault::generate(bits).await.map_err(internal)?;
    add(shared, &req.name, KeyVersion::new(key))
}

async fn rotate(shared: &Shared, req: Result<NameReq, (StatusCode, String)>) -> Answer {
    let req = req?;
    let latest = shared
        .store()
        .get(&req.name, None)
        .cloned()
        .ok_or_else(|| not_found(&req.name))?;
    let key = vault::generate(crypto::bits(&latest.key))
        .await
        .map_err(internal)?;
    let mut version = KeyVersion::new(key);
    version.key_ops = latest.key_ops;
    add(shared, &req.name, version)
}

fn set_enabled(shared: &Shared, req: VersionReq) -> Answer {
    let change = Update {
        enabled: Some(req.enabled),
        ..Update::default()
    };
    let v = shared
        .store()
        .update(&req.name, &req.version, change)
        .map_err(internal)?
        .ok_or_else(|| not_found(&format!("{}/{}", req.name, req.version)))?;
    Ok(vault::bundle(&shared.vault_host, &req.name, &v))
}

fn export(shared: &Shared, req: NameReq) -> Answer {
    let v = shared
        .store()
        .get(&req.name, req.version.as_deref())
        .cloned()
        .ok_or_else(|| not_found(&req.name))?;
    let pem = crypto::to_pem(&v.key).map_err(internal)?;
    Ok(json!({ "version": v.version, "pem": pem }))
}

/// Queues a fault whose status is one a client can meet: 401, 408, 429 or 5xx.
fn fault(shared: &Shared, fault: Fault) -> Answer {
    let status_ok = fault
        .status
        .is_none_or(|s| matches!(s, 401 | 408 | 429 | 500..=599));
    if !status_ok || fault.count == 0 {
        let msg = "a fault needs count >= 1 and a status of 401, 408, 429 or 5xx (or none)";
        return Err((StatusCode::BAD_REQUEST, msg.into()));
    }
    shared.controls().faults.add(fault);
    Ok(json!({}))
}

/// Vault requests in flight, the most at once, the logged vault requests that carried a
/// valid token counted by `"<op> <key name>"` (e.g. `"decrypt app-key": 50`), and those
/// that did not (answered with the 401 challenge).
fn counters(shared: &Shared) -> Value {
    let mut ops = serde_json::Map::new();
    let log = shared.log_snapshot();
    let vault = || log.iter().filter(|e| e.listener == "vault");
    let unauthorized = vault().filter(|e| !e.authorized).count();
    for e in vault().filter(|e| e.authorized) {
        let key = e.path.split('/').nth(2).unwrap_or_default();
        let name = format!("{} {key}", e.op.as_deref().unwrap_or("?"));
        let n = ops.get(&name).and_then(Value::as_u64).unwrap_or(0);
        ops.insert(name, json!(n + 1));
    }
    let (now, max) = shared.in_flight.snapshot();
    json!({ "in_flight": now, "max_in_flight": max, "ops": ops, "unauthorized": unauthorized })
}

fn challenge(shared: &Shared, req: ChallengeReq) -> Value {
    let mut controls = shared.controls();
    let c = &mut controls.challenge;
    if let Some(r) = req.resource {
        c.resource = r;
    }
    if let Some(t) = req.tenant {
        c.tenant = t;
    }
    if let Some(a) = req.authority {
        c.authority = a;
    }
    json!({ "resource": c.resource, "tenant": c.tenant, "authority": c.authority })
}

fn token(shared: &Shared, req: TokenReq) -> Value {
    let resource = shared.controls().challenge.resource.clone();
    let identity = req.identity.as_deref().unwrap_or(SYSTEM_IDENTITY);
    let (access_token, claims) = shared.issue(identity, &resource, req.lifetime);
    json!({ "access_token": access_token, "expires_on": claims.exp })
}
