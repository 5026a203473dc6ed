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
use leafcrypt_core::cipher::{self, looks_encrypted};
use leafcrypt_core::metadata::Metadata;
use leafcrypt_core::tree::{Entry, Map, Tree, Value};
use leafcrypt_core::Error;
use serde_json::{Map as JsonMap, Value as Json};
use wasm_bindgen::prelude::*;

/// Reads an encrypted file without a key: `{ documents: Node[], metadata }` (metadata as
/// `inspect` returns it), every encrypted value masked.
#[wasm_bindgen]
pub fn structure(input: &[u8], options: JsValue) -> Result<JsValue, JsValue> {
    let run = || -> Result<JsValue> {
        let options = Options::new(options)?;
        let file = engine::load(input, options.format("format")?)?;
        view(&file.tree, None, &file.metadata)
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
    let file = engine::load(input, format)?;
    let viewed = file.view(&keys.keyring, strict).await?;
    let out = view(&file.tree, Some(&viewed.plain), &file.metadata)?;
    let verdict = match viewed.mac_error {
        Some(_) => "mismatch",
        None => "verified",
    };
    set(&out, "mac", &verdict.into());
    if let Some(e) = &viewed.mac_error {
        set(&out, "macError", &mac_problem(e).into());
    }
    let warnings: Array = viewed
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
/// decryption of `stored`: the same shape, leaves replaced). The documents cross into JS
/// as one JSON text: far cheaper than a property set per node for large files.
fn view(stored: &Tree, plain: Option<&Tree>, metadata: &Metadata) -> Result<JsValue> {
    let documents: Vec<Json> = stored
        .branches
        .iter()
        .enumerate()
        .map(|(i, map)| map_node(map, plain.and_then(|p| p.branches.get(i)), String::new()))
        .collect();
    let text = Json::Array(documents).to_string();
    // serde_json writes valid JSON, so this cannot fail short of running out of memory.
    let documents = js_sys::JSON::parse(&text)
        .map_err(|_| Error::Emit("the file's tree could not be handed to JS".into()))?;
    let out: JsValue = Object::new().into();
    set(&out, "documents", &documents);
    set(&out, "metadata", &convert::metadata_to_js(metadata));
    Ok(out)
}

/// A node object: `kind` and `path`, then the given fields.
fn node(kind: &str, path: String, fields: impl IntoIterator<Item = (&'static str, Json)>) -> Json {
    let mut object = JsonMap::new();
    object.insert("kind".into(), kind.into());
    object.insert("path".into(), path.into());
    for (name, value) in fields {
        object.insert(name.into(), value);
    }
    Json::Object(object)
}

/// Adds `field` to a node object.
fn with(mut node: Json, field: &str, value: Json) -> Json {
    if let Json::Object(object) = &mut node {
        object.insert(field.into(), value);
    }
    node
}

fn map_node(stored: &Map, plain: Option<&Map>, path: String) -> Json {
    let children: Vec<Json> = stored
        .entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let plain_entry = plain.and_then(|p| p.entries.get(i));
            match entry {
                Entry::Pair(key, value) => {
                    let plain_value = match plain_entry {
                        Some(Entry::Pair(_, v)) => Some(v),
                        _ => None,
                    };
                    let child_path = format!("{path}[{}]", quote_key(key));
                    with(
                        value_node(value, plain_value, child_path),
                        "key",
                        key.as_str().into(),
                    )
                }
                Entry::Comment(text) => {
                    let plain_text = match plain_entry {
                        Some(Entry::Comment(t)) => Some(t.as_str()),
                        _ => None,
                    };
                    comment_node(text, plain_text, String::new())
                }
            }
        })
        .collect();
    node("map", path, [("children", Json::Array(children))])
}

fn value_node(stored: &Value, plain: Option<&Value>, path: String) -> Json {
    match stored {
        Value::Map(map) => map_node(map, plain.and_then(Value::as_map), path),
        Value::List(items) => {
            let plain_items = plain.and_then(Value::as_list);
            let children: Vec<Json> = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let child_path = format!("{path}[{i}]");
                    let plain_item = plain_items.and_then(|p| p.get(i));
                    with(value_node(item, plain_item, child_path), "index", i.into())
                })
                .collect();
            node("list", path, [("children", Json::Array(children))])
        }
        Value::Null => node("null", path, []),
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

fn scalar_node(stored: &Value, plain: Option<&Value>, path: String) -> Json {
    let mut fields: Vec<(&'static str, Json)> = Vec::with_capacity(4);
    match stored {
        Value::Str(envelope) if looks_encrypted(envelope) => {
            fields.push(("encrypted", true.into()));
            fields.push(("ciphertext", envelope.as_str().into()));
            let (ty, text) = match plain {
                Some(value) => (value_type(value), display(value)),
                None => (envelope_type(envelope), None),
            };
            fields.push(("type", ty.into()));
            fields.extend(text.map(|t| ("text", t.into())));
        }
        value => {
            fields.push(("encrypted", false.into()));
            fields.push(("type", value_type(value).into()));
            fields.extend(display(value).map(|t| ("text", t.into())));
        }
    }
    node("value", path, fields)
}

fn comment_node(stored: &str, plain: Option<&str>, path: String) -> Json {
    let encrypted = looks_encrypted(stored);
    let mut fields: Vec<(&'static str, Json)> =
        vec![("type", "comment".into()), ("encrypted", encrypted.into())];
    if encrypted {
        fields.push(("ciphertext", stored.into()));
        fields.extend(plain.map(|t| ("text", t.into())));
    } else {
        fields.push(("text", stored.into()));
    }
    node("comment", path, fields)
}

/// The `type:` of an envelope (`"unknown"` when it has none): the text between the last
/// `,type:` and the `]` after it, as sops's pattern reads it. Only the name is needed for
/// display, so the base64 fields are not decoded.
fn envelope_type(envelope: &str) -> String {
    let line = envelope.split('\n').next().unwrap_or_default();
    line.rfind(",type:")
        .and_then(|at| {
            let rest = &line[at + 6..];
            rest.rfind(']').map(|end| &rest[..end])
        })
        .filter(|name| !name.is_empty())
        .unwrap_or("unknown")
        .to_string()
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
        assert_eq!(
            envelope_type("ENC[AES256_GCM,data:A,iv:B,tag:C,type:]"),
            "unknown"
        );
    }
}
