//! The transit engine: keys (create, read, list, rotate) and encrypt/decrypt with
//! AES-256-GCM, ciphertext `vault:v<version>:<base64(nonce ‖ ciphertext ‖ tag)>` as Vault writes it.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hyper::StatusCode;
use rand::RngCore;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::errors;
use crate::http::Resp;
use crate::routes::secret;
use crate::state::{new_key, TransitKey};

/// Serves `rest` (the path inside the mount) for `method` with JSON `body`.
pub fn handle(
    keys: &mut BTreeMap<String, TransitKey>,
    method: &str,
    rest: &str,
    body: &Value,
) -> Resp {
    let parts: Vec<&str> = rest.split('/').collect();
    let write = matches!(method, "POST" | "PUT");
    match (method, parts.as_slice()) {
        ("LIST", ["keys"]) | ("GET", ["keys"]) => {
            if keys.is_empty() {
                return errors::not_found();
            }
            secret(json!({ "keys": keys.keys().collect::<Vec<_>>() }))
        }
        (_, ["keys", name]) if write => {
            keys.entry(name.to_string()).or_insert_with(new_key);
            describe(name, &keys[*name])
        }
        ("GET", ["keys", name]) => match keys.get(*name) {
            Some(key) => describe(name, key),
            None => errors::not_found(),
        },
        (_, ["keys", name, "config"]) if write => match keys.get_mut(*name) {
            Some(key) => {
                if let Some(v) = body.get("min_decryption_version").and_then(Value::as_u64) {
                    key.min_decryption_version = v as usize;
                }
                describe(name, key)
            }
            None => errors::bad_request("encryption key not found"),
        },
        (_, ["keys", name, "rotate"]) if write => match keys.get_mut(*name) {
            Some(key) => {
                key.rotate();
                describe(name, key)
            }
            None => errors::bad_request("encryption key not found"),
        },
        (_, ["encrypt", name]) if write => {
            // Vault upserts: encrypting with an absent key creates it.
            let key = keys.entry(name.to_string()).or_insert_with(new_key);
            encrypt(key, body)
        }
        (_, ["decrypt", name]) if write => match keys.get(*name) {
            Some(key) => decrypt(key, body),
            None => errors::bad_request("encryption key not found"),
        },
        (_, ["keys", ..] | ["encrypt", ..] | ["decrypt", ..]) => errors::unsupported_operation(),
        _ => errors::no_route(rest),
    }
}

fn describe(name: &str, key: &TransitKey) -> Resp {
    let versions: serde_json::Map<String, Value> = key
        .created
        .iter()
        .enumerate()
        .map(|(i, t)| ((i + 1).to_string(), json!(t)))
        .collect();
    secret(json!({
        "name": name,
        "type": "aes256-gcm96",
        "latest_version": key.versions.len(),
        "min_decryption_version": key.min_decryption_version,
        "min_encryption_version": 0,
        "deletion_allowed": false,
        "derived": false,
        "exportable": false,
        "supports_encryption": true,
        "supports_decryption": true,
        "keys": versions,
    }))
}

fn encrypt(key: &TransitKey, body: &Value) -> Resp {
    let Some(plaintext) = body.get("plaintext").and_then(Value::as_str) else {
        return errors::bad_request("missing plaintext to encrypt");
    };
    let Ok(plaintext) = STANDARD.decode(plaintext).map(Zeroizing::new) else {
        return errors::bad_request("failed to base64-decode plaintext");
    };
    let version = match body.get("key_version").and_then(Value::as_u64) {
        None | Some(0) => key.versions.len(),
        Some(v) if (v as usize) <= key.versions.len() => v as usize,
        Some(_) => return errors::bad_request("invalid key version"),
    };
    let cipher =
        Aes256Gcm::new_from_slice(key.versions[version - 1].as_ref()).expect("32-byte key");
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let Ok(sealed) = cipher.encrypt(Nonce::from_slice(&nonce), plaintext.as_slice()) else {
        return errors::error(StatusCode::INTERNAL_SERVER_ERROR, &["encryption failed"]);
    };
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    let ciphertext = format!("vault:v{version}:{}", STANDARD.encode(blob));
    secret(json!({ "ciphertext": ciphertext, "key_version": version }))
}

fn decrypt(key: &TransitKey, body: &Value) -> Resp {
    let Some(ciphertext) = body.get("ciphertext").and_then(Value::as_str) else {
        return errors::bad_request("missing ciphertext to decrypt");
    };
    let Some(rest) = ciphertext.strip_prefix("vault:v") else {
        return errors::bad_request("invalid ciphertext: no prefix");
    };
    let Some((version, b64)) = rest.split_once(':') else {
        return errors::bad_request("invalid ciphertext: wrong number of fields");
    };
    let Ok(version) = version.parse::<usize>() else {
        return errors::bad_request("invalid ciphertext: version number could not be decoded");
    };
    if version < key.min_decryption_version {
        return errors::bad_request(
            "ciphertext or signature version is disallowed by policy (too old)",
        );
    }
    if version == 0 || version > key.versions.len() {
        return errors::bad_request("invalid ciphertext: version is too new");
    }
    let Ok(blob) = STANDARD.decode(b64) else {
        return errors::bad_request("invalid ciphertext: could not decode base64");
    };
    if blob.len() < 12 + 16 {
        return errors::bad_request("invalid ciphertext: ciphertext too short");
    }
    let cipher =
        Aes256Gcm::new_from_slice(key.versions[version - 1].as_ref()).expect("32-byte key");
    match cipher.decrypt(Nonce::from_slice(&blob[..12]), &blob[12..]) {
        Ok(plain) => {
            let plain = Zeroizing::new(plain);
            secret(json!({ "plaintext": STANDARD.encode(plain.as_slice()) }))
        }
        Err(_) => errors::bad_request("cipher: message authentication failed"),
    }
}
