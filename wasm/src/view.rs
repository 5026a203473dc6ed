//! The file as a viewer shows it: every document as a tree of nodes with sops tree paths,
//! values masked (encrypted, `structure`) or decrypted with the MAC verdict
//! (`decryptStructure`).
//!
//! ```text
//! Node = { kind: "map" | "list", path, key?, index?, children: Node[] }
//!      | { kind: "value" | "comment", path, key?, index?, type, encrypted, ciphertext?, text? }
//!      | { kind: "null", path, key?, index? }
//! ```
//!
//! `path` is the sops tree path (`["db"]["hosts"][0]`, `""` for a document and for map
//! comments, which have none); list indices count comments, as in sops. `encrypted` says
//! whether the stored value is an `ENC[…]` envelope, `ciphertext` is that envelope and
//! `text` the plaintext: the stored text of unencrypted values, the decrypted text after
//! `decryptStructure`. `type` is the envelope's `type:` (`str`, `int`, `float`, `bool`,
//! `time`, `comment`, `bytes`) or the unencrypted value's own.

use crate::convert;
use crate::engine;
use crate::failure::{Failure, Result};
use crate::keys::Keys;
use crate::options::Options;
use js_sys::{Array, Object, Reflect};
use leafcrypt_core::cipher::{self, looks_encrypted, parse_envelope};
use leafcrypt_core::metadata::Metadata;
use leafcrypt_core::ops::{self, DecryptOptions};
use leafcrypt_core::tree::{Entry, Map, Tree, Value};
use leafcrypt_core::Error;
use wasm_bindgen::prelude::*;

/// Reads an encrypted file without a key: `{ documents: Node[], metadata }` (metadata as
/// `inspect` returns it), every encrypted value masked.
#[wasm_bindgen]
pub fn structure(input: &[u8], options: JsValue) -> Result<JsValue, JsValue> {
    let run = || -> Result<JsValue> {
        let options = Options::new(options)?;
        let (tree, metadata) = engine::load(input, options.format("format")?)?;
        Ok(view(&tree, None, &metadata))
    };
    run().map_err(Failure::into_js)
}

/// Decrypts a file for display: `{ documents, metadata, mac, macError?, warnings }`.
///
/// Unlike `decrypt`, a MAC that does not match is not an error: `mac` is `"mismatch"`
/// (`macError` says how) and the values are still shown, so that a reviewer sees both the
/// tampering and what was changed. Otherwise `mac` is `"verified"`. The data key is
/// recovered once. A value that does not decrypt still rejects (`DECRYPT_VALUE`).
#[wasm_bindgen(js_name = decryptStructure)]
pub async fn decrypt_structure(input: Vec<u8>, options: JsValue) -> Result<JsValue, JsValue> {
    open_for_view(&input, options)
        .await
        .map_err(Failure::into_js)
}

async fn open_for_view(input: &[u8], options: JsValue) -> Result<JsValue> {
    let options = Options::new(options)?;
    let format = options.format("format")?;
    let strict = options.flag("strict")?;
    let keys = Keys::from_options(&options)?;
    let (stored, metadata) = engine::load(input, format)?;
    let data_key = ops::recover(&metadata, &keys.keyring, strict).await?;
    let checked = DecryptOptions {
        ignore_mac: false,
        strict,
        skip_iv_stash: true,
    };
    let mut plain = stored.clone();
    let (session, mac_error) =
        match ops::open_tree(&mut plain, &metadata, data_key.clone(), checked) {
            Ok(session) => (session, None),
            Err(e @ (Error::MacMismatch { .. } | Error::MacDecrypt(_))) => {
                plain = stored.clone();
                let unchecked = DecryptOptions {
                    ignore_mac: true,
                    ..checked
                };
                let session = ops::open_tree(&mut plain, &metadata, data_key, unchecked)?;
                (session, Some(mac_problem(&e)))
            }
            Err(e) => return Err(e.into()),
        };
    let out = view(&stored, Some(&plain), &metadata);
    let verdict = if mac_error.is_some() {
        "mismatch"
    } else {
        "verified"
    };
    set(&out, "mac", &verdict.into());
    if let Some(message) = mac_error {
        set(&out, "macError", &message.into());
    }
    let warnings: Array = session
        .warnings
        .iter()
        .map(|w| JsValue::from_str(w))
        .collect();
    set(&out, "warnings", &warnings);
    Ok(out)
}

/// What went wrong with the MAC, without the hashes (the computed one is derived from the
/// plaintext and has no place in a page).
fn mac_problem(error: &Error) -> &'static str {
    match error {
        Error::MacMismatch { stored, .. } if stored.is_empty() => {
            "the file has no MAC: its values are not authenticated"
        }
        Error::MacMismatch { .. } => {
            "the MAC does not match the values: the file was changed after it was encrypted"
        }
        _ => "the stored MAC does not decrypt with the data key: it was changed or belongs to another file",
    }
}

/// `{ documents, metadata }` for the stored tree, with `plain`'s values when given (a
/// decryption of `stored`: the same shape, leaves replaced).
fn view(stored: &Tree, plain: Option<&Tree>, metadata: &Metadata) -> JsValue {
    let out = Object::new();
    let documents: Array = stored
        .branches
        .iter()
        .enumerate()
        .map(|(i, map)| {
            let plain_map = plain.and_then(|p| p.branches.get(i));
            map_node(map, plain_map, "")
        })
        .collect();
    set(&out, "documents", &documents);
    set(&out, "metadata", &convert::metadata_to_js(metadata));
    out.into()
}

fn map_node(stored: &Map, plain: Option<&Map>, path: &str) -> JsValue {
    let node = Object::new();
    set(&node, "kind", &"map".into());
    set(&node, "path", &path.into());
    let children = Array::new();
    for (i, entry) in stored.entries.iter().enumerate() {
        let plain_entry = plain.and_then(|p| p.entries.get(i));
        let child = match entry {
            Entry::Pair(key, value) => {
                let plain_value = match plain_entry {
                    Some(Entry::Pair(_, v)) => Some(v),
                    _ => None,
                };
                let child_path = format!("{path}[{}]", quote_key(key));
                let child = value_node(value, plain_value, &child_path);
                set(&child, "key", &key.into());
                child
            }
            Entry::Comment(text) => {
                let plain_text = match plain_entry {
                    Some(Entry::Comment(t)) => Some(t.as_str()),
                    _ => None,
                };
                comment_node(text, plain_text, "")
            }
        };
        children.push(&child);
    }
    set(&node, "children", &children);
    node.into()
}

fn value_node(stored: &Value, plain: Option<&Value>, path: &str) -> JsValue {
    match stored {
        Value::Map(map) => {
            let plain_map = plain.and_then(Value::as_map);
            map_node(map, plain_map, path)
        }
        Value::List(items) => {
            let node = Object::new();
            set(&node, "kind", &"list".into());
            set(&node, "path", &path.into());
            let plain_items = plain.and_then(Value::as_list);
            let children: Array = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let child_path = format!("{path}[{i}]");
                    let plain_item = plain_items.and_then(|p| p.get(i));
                    let child = value_node(item, plain_item, &child_path);
                    set(&child, "index", &JsValue::from_f64(i as f64));
                    child
                })
                .collect();
            set(&node, "children", &children);
            node.into()
        }
        Value::Null => {
            let node = Object::new();
            set(&node, "kind", &"null".into());
            set(&node, "path", &path.into());
            node.into()
        }
        Value::Comment(text) => comment_node(text, plain_comment(plain), path),
        // sops stores an encrypted list comment as a plain string item.
        Value::Str(text)
            if looks_encrypted(text)
                && (matches!(plain, Some(Value::Comment(_)))
                    || (plain.is_none() && envelope_type(text) == "comment")) =>
        {
            comment_node(text, plain_comment(plain), path)
        }
        scalar => scalar_node(scalar, plain, path),
    }
}

fn plain_comment(plain: Option<&Value>) -> Option<&str> {
    match plain {
        Some(Value::Comment(t) | Value::Str(t)) => Some(t.as_str()),
        _ => None,
    }
}

fn scalar_node(stored: &Value, plain: Option<&Value>, path: &str) -> JsValue {
    let node = Object::new();
    set(&node, "kind", &"value".into());
    set(&node, "path", &path.into());
    match stored {
        Value::Str(envelope) if looks_encrypted(envelope) => {
            set(&node, "encrypted", &true.into());
            set(&node, "ciphertext", &envelope.as_str().into());
            let (ty, text) = match plain {
                Some(value) => (value_type(value), display(value)),
                None => (envelope_type(envelope), None),
            };
            set(&node, "type", &ty.into());
            if let Some(text) = text {
                set(&node, "text", &text.into());
            }
        }
        value => {
            set(&node, "encrypted", &false.into());
            set(&node, "type", &value_type(value).into());
            if let Some(text) = display(value) {
                set(&node, "text", &text.into());
            }
        }
    }
    node.into()
}

fn comment_node(stored: &str, plain: Option<&str>, path: &str) -> JsValue {
    let node = Object::new();
    set(&node, "kind", &"comment".into());
    set(&node, "path", &path.into());
    set(&node, "type", &"comment".into());
    let encrypted = looks_encrypted(stored);
    set(&node, "encrypted", &encrypted.into());
    if encrypted {
        set(&node, "ciphertext", &stored.into());
        if let Some(text) = plain {
            set(&node, "text", &text.into());
        }
    } else {
        set(&node, "text", &stored.into());
    }
    node.into()
}

/// The `type:` of an envelope (`"unknown"` when it does not parse).
fn envelope_type(envelope: &str) -> String {
    parse_envelope(envelope)
        .map(|e| e.type_name.to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// The type name of a plaintext value, as sops tags it (`bytes` for non-UTF-8 strings).
fn value_type(value: &Value) -> String {
    match value {
        Value::Bytes(_) => "bytes".into(),
        Value::Null => "null".into(),
        other => cipher::plaintext(other)
            .map(|(_, ty)| ty.name().to_string())
            .unwrap_or_else(|| "unknown".into()),
    }
}

/// The text a value is shown as: its plaintext (what sops encrypts), booleans as
/// `true`/`false`, non-UTF-8 bytes lossily.
fn display(value: &Value) -> Option<String> {
    match value {
        Value::Bool(b) => Some(b.to_string()),
        other => cipher::plaintext(other).map(|(p, _)| String::from_utf8_lossy(&p).into_owned()),
    }
}

/// A map key as a tree-path step: `"key"`, or `'key'` when the key holds a `"` (the
/// path syntax has no escapes; a key with both quotes cannot be addressed).
fn quote_key(key: &str) -> String {
    if key.contains('"') {
        format!("'{key}'")
    } else {
        format!("\"{key}\"")
    }
}

/// Sets `key` on a fresh plain object (which cannot fail; keys here are fixed names).
fn set(object: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quoted_for_tree_paths() {
        assert_eq!(quote_key("db"), "\"db\"");
        assert_eq!(quote_key("say \"hi\""), "'say \"hi\"'");
    }

    #[test]
    fn displayed_text_is_the_plaintext_with_readable_booleans() {
        assert_eq!(display(&Value::Bool(true)).as_deref(), Some("true"));
        assert_eq!(display(&Value::Int(-4)).as_deref(), Some("-4"));
        assert_eq!(display(&Value::Str("x".into())).as_deref(), Some("x"));
        assert_eq!(display(&Value::Null), None);
        assert_eq!(value_type(&Value::Bytes(vec![0xff])), "bytes");
        assert_eq!(value_type(&Value::Float(1.5)), "float");
    }

    #[test]
    fn envelope_types_come_from_the_envelope() {
        let envelope = "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:int]";
        assert_eq!(envelope_type(envelope), "int");
        assert_eq!(envelope_type("ENC[AES256_GCM,data:broken"), "unknown");
    }
}
