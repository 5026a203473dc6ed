//! The Cloud KMS REST API v1: `POST /v1/{cryptoKey}:encrypt` and `:decrypt`.
// Handlers return a finished response as their error: boxing it would buy nothing here.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::cipher::{self, Refused};
use crate::errors;
use crate::http::{self, Resp};
use crate::state::Shared;

/// Decodes a proto3 JSON `bytes` value: standard or URL-safe base64, padded or not (gcloud
/// sends URL-safe).
fn proto_bytes(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{
        general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig,
    };
    const ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let normal: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    ANY_PADDING.decode(normal).ok()
}

/// Whether `name` is `projects/*/locations/*/keyRings/*/cryptoKeys/*`.
pub fn valid_key_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    parts.len() == 8
        && ["projects", "locations", "keyRings", "cryptoKeys"]
            .iter()
            .enumerate()
            .all(|(i, lit)| parts[2 * i] == *lit && !parts[2 * i + 1].is_empty())
}

/// The identity behind the request's bearer token, or the 401 to answer.
pub fn authenticate<B>(shared: &Shared, req: &Request<B>) -> Result<String, Resp> {
    let Some(auth) = http::header(req, "authorization") else {
        return Err(errors::missing_credentials());
    };
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .unwrap_or("");
    if token.matches('.').count() == 2 {
        return crate::oauth::verify_self_signed(shared, token)
            .map_err(|_| errors::invalid_credentials());
    }
    let state = shared.lock();
    match state.tokens.get(token) {
        Some((identity, exp)) if *exp > crate::now() => Ok(identity.clone()),
        _ => Err(errors::invalid_credentials()),
    }
}

/// Handles `/v1/...`; `identity` is already authenticated.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>, identity: &str) -> Resp {
    let path = req.uri().path().to_string();
    let Some((name, op)) = path.strip_prefix("/v1/").and_then(|p| p.rsplit_once(':')) else {
        return errors::google(
            404,
            "NOT_FOUND",
            &format!("The requested URL {path} was not found on this server."),
        );
    };
    if req.method() != Method::POST || !matches!(op, "encrypt" | "decrypt" | "testIamPermissions") {
        return errors::google(
            404,
            "NOT_FOUND",
            &format!("The requested URL {path} was not found on this server."),
        );
    }
    let name = name.to_string();
    let op = op.to_string();
    let body = match http::body(req.into_body()).await {
        Ok(b) => b,
        Err(e) => return errors::google(400, "INVALID_ARGUMENT", &e),
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return errors::google(
                400,
                "INVALID_ARGUMENT",
                "Invalid JSON payload received. Expected an object.",
            )
        }
    };
    execute(&shared, identity, &name, &op, &body)
}

/// Runs `op` (`encrypt`/`decrypt`) on key `name` for `identity` with the REST request body
/// `body`; the REST answer (the gRPC front translates it).
pub fn execute(shared: &Shared, identity: &str, name: &str, op: &str, body: &Value) -> Resp {
    let name = name.to_string();
    if op == "testIamPermissions" {
        return test_permissions(shared, identity, &name, body);
    }
    if !valid_key_name(&name) {
        return errors::google(
            400,
            "INVALID_ARGUMENT",
            &format!("Resource name [{name}] does not match any known resource name pattern."),
        );
    }
    let permission = format!(
        "cloudkms.cryptoKeyVersions.useTo{}",
        if op == "encrypt" {
            "Encrypt"
        } else {
            "Decrypt"
        }
    );
    {
        let state = shared.lock();
        if !state.allowed(identity, &name) {
            return errors::permission_denied(&permission, &name);
        }
        if !state.keys.contains_key(&name) {
            return errors::google(404, "NOT_FOUND", &format!("CryptoKey {name} not found."));
        }
    }
    let bytes_field = |field: &str| -> Result<Vec<u8>, Resp> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => proto_bytes(s).ok_or_else(|| {
                errors::google(400, "INVALID_ARGUMENT", &format!("Invalid value at '{field}' (TYPE_BYTES), Base64 decoding failed for \"{s}\""))
            }),
            Some(_) => Err(errors::google(400, "INVALID_ARGUMENT", &format!("Invalid value at '{field}' (TYPE_BYTES)"))),
        }
    };
    let crc_field = |field: &str| -> Option<u32> {
        match body.get(field)? {
            Value::String(s) => s.parse::<u64>().ok().map(|v| v as u32),
            Value::Number(n) => n.as_u64().map(|v| v as u32),
            _ => None,
        }
    };
    let aad = match bytes_field("additionalAuthenticatedData") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let aad_crc = crc_field("additionalAuthenticatedDataCrc32c");
    if aad_crc.is_some_and(|c| c != cipher::crc32c(&aad)) {
        return errors::google(400, "INVALID_ARGUMENT", "The checksum in field additional_authenticated_data_crc32c did not match the data in field additional_authenticated_data.");
    }
    let state = shared.lock();
    let Some(key) = state.keys.get(&name) else {
        return errors::google(404, "NOT_FOUND", &format!("CryptoKey {name} not found."));
    };
    if op == "encrypt" {
        let plaintext = match bytes_field("plaintext") {
            Ok(p) => p,
            Err(r) => return r,
        };
        if plaintext.is_empty() {
            return errors::google(400, "INVALID_ARGUMENT", "Plaintext is empty.");
        }
        if plaintext.len() > 64 * 1024 {
            return errors::google(
                400,
                "INVALID_ARGUMENT",
                "The plaintext must be at most 65536 bytes.",
            );
        }
        let pt_crc = crc_field("plaintextCrc32c");
        if pt_crc.is_some_and(|c| c != cipher::crc32c(&plaintext)) {
            return errors::google(
                400,
                "INVALID_ARGUMENT",
                "The checksum in field plaintext_crc32c did not match the data in field plaintext.",
            );
        }
        let version = &key.versions[key.primary - 1];
        if !version.enabled {
            return errors::google(
                400,
                "FAILED_PRECONDITION",
                &format!(
                    "{name}/cryptoKeyVersions/{} is not enabled, current state is: DISABLED.",
                    key.primary
                ),
            );
        }
        let ct = cipher::seal(&name, key.primary, &version.secret, &plaintext, &aad);
        http::json(
            StatusCode::OK,
            &json!({
                "name": format!("{name}/cryptoKeyVersions/{}", key.primary),
                "ciphertext": STANDARD.encode(&ct),
                "ciphertextCrc32c": cipher::crc32c(&ct).to_string(),
                "verifiedPlaintextCrc32c": pt_crc.is_some(),
                "verifiedAdditionalAuthenticatedDataCrc32c": aad_crc.is_some(),
                "protectionLevel": "SOFTWARE",
            }),
        )
    } else {
        let ct = match bytes_field("ciphertext") {
            Ok(c) => c,
            Err(r) => return r,
        };
        if ct.is_empty() {
            return errors::google(400, "INVALID_ARGUMENT", "Ciphertext is empty.");
        }
        if crc_field("ciphertextCrc32c").is_some_and(|c| c != cipher::crc32c(&ct)) {
            return errors::google(400, "INVALID_ARGUMENT", "The checksum in field ciphertext_crc32c did not match the data in field ciphertext.");
        }
        let wrong = || {
            errors::google(
                400,
                "INVALID_ARGUMENT",
                "Decryption failed: the ciphertext is invalid.",
            )
        };
        let v = match cipher::version_of(&name, &ct) {
            Ok(v) if v >= 1 && v <= key.versions.len() => v,
            _ => return wrong(),
        };
        let version = &key.versions[v - 1];
        if !version.enabled {
            return errors::google(
                400,
                "FAILED_PRECONDITION",
                &format!(
                    "{name}/cryptoKeyVersions/{v} is not enabled, current state is: DISABLED."
                ),
            );
        }
        match cipher::open(&version.secret, &ct, &aad) {
            Ok(pt) => http::json(
                StatusCode::OK,
                &json!({
                    "plaintext": STANDARD.encode(&pt),
                    "plaintextCrc32c": cipher::crc32c(&pt).to_string(),
                    "usedPrimary": v == key.primary,
                    "protectionLevel": "SOFTWARE",
                }),
            ),
            Err(Refused::WrongKey | Refused::Corrupt) => wrong(),
        }
    }
}

/// `testIamPermissions`: the asked permissions the identity holds on the key (all of them
/// unless a deny rule matches; none then), 404 for a missing key. No side effect: the
/// request is logged but no key is used.
fn test_permissions(shared: &Shared, identity: &str, name: &str, body: &Value) -> Resp {
    let state = shared.lock();
    if !state.keys.contains_key(name) {
        return errors::google(404, "NOT_FOUND", &format!("CryptoKey {name} not found."));
    }
    let granted: Vec<Value> = if state.allowed(identity, name) {
        body.get("permissions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let answer = if granted.is_empty() {
        json!({})
    } else {
        json!({ "permissions": granted })
    };
    http::json(StatusCode::OK, &answer)
}
