//! The vault's `/keys/...` API: bearer check first (before the body is read), then
//! api-version, route, injected faults, deny rules, and finally the key operation.

// Handlers return a finished error response as their `Err`: built once per request and
// answered at once, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{self, Model};
use crate::crypto::{self, Alg};
use crate::errors::{self, Caller};
use crate::http::{self, Dropped, Resp};
use crate::jwt::{Claims, TokenError};
use crate::reqlog::Entry;
use crate::routes::{self, Op, Route};
use crate::state::{self, Shared};
use crate::store::{KeyVersion, Update};

/// api-versions accepted; the wire format of the key operations is the same in all of them.
const API_VERSIONS: [&str; 8] = [
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6",
    "2025-07-01",
];

/// Handles one `/keys/...` request and records it in the log.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let mut entry = Entry::new("vault", &req);
    let inside = shared.in_flight.enter();
    let result = keys(&shared, req, &mut entry).await;
    drop(inside);
    entry.status = result.as_ref().map_or(0, |r| r.status().as_u16());
    shared.record(entry);
    result
}

async fn keys(shared: &Shared, req: Request<Incoming>, entry: &mut Entry) -> Result<Resp, Dropped> {
    // Parsing the path reads nothing from the client; it only names the op in the log.
    let route = routes::parse(req.method(), req.uri().path());
    entry.op = route.as_ref().map(|r| r.op.policy_name().to_string());
    let claims = match authenticate(shared, &req) {
        Ok(claims) => claims,
        Err(resp) => return Ok(resp),
    };
    entry.authorized = true;
    entry.identity = Some(claims.oid.clone());
    if let Some(resp) = api_version_error(entry.api_version.as_deref()) {
        return Ok(resp);
    }
    let Some(route) = route else {
        let msg = format!(
            "{} {} is not a key operation.",
            req.method(),
            req.uri().path()
        );
        return Ok(errors::error(StatusCode::NOT_FOUND, "NotFound", &msg, None));
    };
    if let Some(answer) = injected(shared, route.op).await {
        return answer;
    }

    let host = host(shared, &req);
    let vault = host
        .rsplit_once(':')
        .map_or(host.as_str(), |(h, _)| h)
        .to_string();
    let denies = shared.controls().denies.clone();
    if let Some(model) = access::denied(&denies, &claims.oid, &route.name, route.op) {
        let caller = Caller {
            identity: &claims.oid,
            tenant: &claims.tid,
        };
        return Ok(match model {
            Model::Policy => errors::forbidden_by_policy(&caller, route.op, &vault),
            Model::Rbac => errors::forbidden_by_rbac(&caller, route.op, &vault, &route.name),
        });
    }

    let body = match http::body(req.into_body()).await {
        Ok(body) => body,
        Err(msg) => return Ok(errors::bad_parameter(&msg)),
    };
    Ok(operate(shared, &host, &route, &body).await)
}

/// 400 when `api-version` is missing or not one of [`API_VERSIONS`].
fn api_version_error(version: Option<&str>) -> Option<Resp> {
    match version {
        None => Some(errors::bad_parameter("The 'api-version' query parameter is missing.")),
        Some(v) if !API_VERSIONS.contains(&v) => Some(errors::bad_parameter(&format!(
            "The specified version ({v}) is not recognized. Consider using the latest supported version (7.6)."
        ))),
        Some(_) => None,
    }
}

/// Applies a pending fault for `op`: after its delay, `Some` answer (or a drop) when it has
/// a status or drops the connection, `None` when it only added latency.
async fn injected(shared: &Shared, op: Op) -> Option<Result<Resp, Dropped>> {
    let fault = shared.controls().faults.take(op.policy_name())?;
    tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    if fault.drop_connection {
        return Some(Err(Dropped));
    }
    match StatusCode::from_u16(fault.status?).ok()? {
        StatusCode::UNAUTHORIZED => {
            let challenge = shared.controls().challenge.clone();
            let msg = "AKV10032: Invalid token (refused by an injected fault).";
            Some(Ok(errors::unauthorized(&challenge, msg)))
        }
        status => Some(Ok(errors::injected(status, fault.retry_after))),
    }
}

/// The token's claims, or the 401 challenge explaining why there are none.
fn authenticate<B>(shared: &Shared, req: &Request<B>) -> Result<Claims, Resp> {
    let challenge = shared.controls().challenge.clone();
    let token = http::header(req, "authorization")
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(errors::unauthorized(
            &challenge,
            "AKV10000: Request is missing a Bearer or PoP token.",
        ));
    };
    let claims = shared.minter.verify(token, crate::now()).map_err(|e| {
        let msg = match e {
            TokenError::Expired => "AKV10020: Invalid token. The token has expired.",
            TokenError::BadSignature | TokenError::Malformed => {
                "AKV10031: Invalid token signature."
            }
        };
        errors::unauthorized(&challenge, msg)
    })?;
    let expected = state::audience(&challenge.resource);
    if claims.aud != expected {
        let msg = format!(
            "AKV10022: Invalid audience. Expected {expected}, found: {}.",
            claims.aud
        );
        return Err(errors::unauthorized(&challenge, &msg));
    }
    Ok(claims)
}

/// The request's `Host` (kids are built from it so clients can follow them), else the listener's.
fn host<B>(shared: &Shared, req: &Request<B>) -> String {
    http::header(req, "host")
        .filter(|h| !h.is_empty())
        .unwrap_or(&shared.vault_host)
        .to_string()
}

/// `https://{host}/keys/{name}/{version}`.
pub fn kid(host: &str, name: &str, version: &str) -> String {
    format!("https://{host}/keys/{name}/{version}")
}

fn attributes(v: &KeyVersion) -> Value {
    json!({
        "enabled": v.enabled,
        "created": v.created,
        "updated": v.updated,
        "recoveryLevel": "Recoverable+Purgeable",
        "recoverableDays": 90,
        "exportable": false,
    })
}

/// The KeyBundle of a version: public JWK, attributes, tags.
pub fn bundle(host: &str, name: &str, v: &KeyVersion) -> Value {
    let (n, e) = crypto::public_jwk(&v.key);
    json!({
        "key": {
            "kid": kid(host, name, &v.version),
            "kty": "RSA",
            "key_ops": v.key_ops,
            "n": n,
            "e": e,
        },
        "attributes": attributes(v),
        "tags": v.tags,
    })
}

#[derive(Deserialize)]
struct Attributes {
    enabled: Option<bool>,
}

#[derive(Deserialize)]
struct CreateBody {
    kty: String,
    key_size: Option<usize>,
    key_ops: Option<Vec<String>>,
    attributes: Option<Attributes>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    n: String,
    e: String,
    d: Option<String>,
    p: Option<String>,
    q: Option<String>,
    key_ops: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ImportBody {
    key: Jwk,
    attributes: Option<Attributes>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct UpdateBody {
    attributes: Option<Attributes>,
    key_ops: Option<Vec<String>>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct CryptoBody {
    alg: String,
    value: String,
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Resp> {
    serde_json::from_slice(body)
        .map_err(|e| errors::bad_parameter(&format!("The request body is invalid: {e}.")))
}

/// Runs an authorised, permitted operation.
async fn operate(shared: &Shared, host: &str, route: &Route, body: &[u8]) -> Resp {
    let result = match route.op {
        Op::Get => get(shared, host, route),
        Op::List => list(shared, host, route),
        Op::Create => create(shared, host, route, body).await,
        Op::Rotate => rotate(shared, host, route).await,
        Op::Import => import(shared, host, route, body),
        Op::Update => update(shared, host, route, body),
        Op::Encrypt | Op::Decrypt | Op::WrapKey | Op::UnwrapKey => crypt(shared, host, route, body),
    };
    result.unwrap_or_else(|resp| resp)
}

fn found(shared: &Shared, route: &Route) -> Result<KeyVersion, Resp> {
    shared
        .store()
        .get(&route.name, route.version.as_deref())
        .cloned()
        .ok_or_else(|| errors::key_not_found(&route.name, route.version.as_deref()))
}

fn get(shared: &Shared, host: &str, route: &Route) -> Result<Resp, Resp> {
    let v = found(shared, route)?;
    Ok(http::json(StatusCode::OK, &bundle(host, &route.name, &v)))
}

fn list(shared: &Shared, host: &str, route: &Route) -> Result<Resp, Resp> {
    let store = shared.store();
    let versions = store
        .versions(&route.name)
        .ok_or_else(|| errors::key_not_found(&route.name, None))?;
    let value: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "kid": kid(host, &route.name, &v.version), "attributes": attributes(v), "tags": v.tags }))
        .collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({ "value": value, "nextLink": null }),
    ))
}

/// Generates an RSA key off the async threads.
pub async fn generate(bits: usize) -> Result<rsa::RsaPrivateKey, String> {
    tokio::task::spawn_blocking(move || crypto::generate(bits))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Adds `version` to `name` and answers with its bundle.
fn added(shared: &Shared, host: &str, name: &str, version: KeyVersion) -> Result<Resp, Resp> {
    let v = shared
        .store()
        .add(name, version)
        .map_err(|e| errors::internal(&e.to_string()))?;
    Ok(http::json(StatusCode::OK, &bundle(host, name, &v)))
}

async fn create(shared: &Shared, host: &str, route: &Route, body: &[u8]) -> Result<Resp, Resp> {
    let req: CreateBody = parse(body)?;
    if req.kty != "RSA" && req.kty != "RSA-HSM" {
        return Err(errors::bad_parameter(
            "The emulator supports only kty RSA and RSA-HSM.",
        ));
    }
    let bits = req.key_size.unwrap_or(2048);
    if !crypto::KEY_SIZES.contains(&bits) {
        return Err(errors::bad_parameter(&format!(
            "Invalid key_size {bits}: use 2048, 3072 or 4096."
        )));
    }
    let key = generate(bits).await.map_err(|e| errors::internal(&e))?;
    let mut version = KeyVersion::new(key);
    version.enabled = req.attributes.and_then(|a| a.enabled).unwrap_or(true);
    version.key_ops = req.key_ops.unwrap_or(version.key_ops);
    version.tags = req.tags.unwrap_or_default();
    added(shared, host, &route.name, version)
}

async fn rotate(shared: &Shared, host: &str, route: &Route) -> Result<Resp, Resp> {
    let latest = found(shared, route)?;
    let key = generate(crypto::bits(&latest.key))
        .await
        .map_err(|e| errors::internal(&e))?;
    let mut version = KeyVersion::new(key);
    version.key_ops = latest.key_ops;
    version.tags = latest.tags;
    added(shared, host, &route.name, version)
}

fn import(shared: &Shared, host: &str, route: &Route, body: &[u8]) -> Result<Resp, Resp> {
    let req: ImportBody = parse(body)?;
    let jwk = req.key;
    let key = match (jwk.kty.as_str(), jwk.d, jwk.p, jwk.q) {
        ("RSA" | "RSA-HSM", Some(d), Some(p), Some(q)) => {
            crypto::from_jwk(&jwk.n, &jwk.e, &d, &p, &q)
        }
        _ => None,
    }
    .ok_or_else(|| {
        errors::bad_parameter("The key must be an RSA private JWK with n, e, d, p and q.")
    })?;
    let mut version = KeyVersion::new(key);
    version.enabled = req.attributes.and_then(|a| a.enabled).unwrap_or(true);
    version.key_ops = jwk.key_ops.unwrap_or(version.key_ops);
    version.tags = req.tags.unwrap_or_default();
    added(shared, host, &route.name, version)
}

fn update(shared: &Shared, host: &str, route: &Route, body: &[u8]) -> Result<Resp, Resp> {
    let req: UpdateBody = parse(body)?;
    let version = route.version.as_deref().unwrap_or_default();
    let change = Update {
        enabled: req.attributes.and_then(|a| a.enabled),
        key_ops: req.key_ops,
        tags: req.tags,
    };
    let updated = shared
        .store()
        .update(&route.name, version, change)
        .map_err(|e| errors::internal(&e.to_string()))?
        .ok_or_else(|| errors::key_not_found(&route.name, Some(version)))?;
    Ok(http::json(
        StatusCode::OK,
        &bundle(host, &route.name, &updated),
    ))
}

fn crypt(shared: &Shared, host: &str, route: &Route, body: &[u8]) -> Result<Resp, Resp> {
    let req: CryptoBody = parse(body)?;
    let v = found(shared, route)?;
    if !v.allows(route.op.policy_name()) {
        return Err(errors::operation_not_permitted(route.op));
    }
    let decrypting = matches!(route.op, Op::Decrypt | Op::UnwrapKey);
    if decrypting && !v.enabled {
        return Err(errors::key_disabled(route.op));
    }
    let alg = Alg::parse(&req.alg).ok_or_else(|| {
        errors::bad_parameter(&format!("Invalid algorithm {:?} for an RSA key.", req.alg))
    })?;
    let input = crypto::b64_lenient(&req.value)
        .ok_or_else(|| errors::bad_parameter("The value is not base64url."))?;
    // Either side may be a data key: wipe both once answered.
    let input = zeroize::Zeroizing::new(input);
    let output = if decrypting {
        crypto::decrypt(&v.key, alg, &input)
    } else {
        crypto::encrypt(&v.key, alg, &input)
    }
    .map(zeroize::Zeroizing::new)
    .map_err(|_| errors::bad_parameter("The parameter is incorrect."))?;
    let kid = kid(host, &route.name, &v.version);
    Ok(http::json(
        StatusCode::OK,
        &json!({ "kid": kid, "value": crypto::b64url(&output) }),
    ))
}
