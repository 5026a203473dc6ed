//! Engine values to plain JS values: decrypted trees for `decryptToObject`, metadata for
//! `inspect`.

use js_sys::{Array, BigInt, Object, Reflect, Uint8Array};
use leafcrypt_core::keysource::KeyEntry;
use leafcrypt_core::metadata::Metadata;
use leafcrypt_core::tree::{Entry, Map, Tree, Value};
use wasm_bindgen::JsValue;

/// Largest integer a JS number holds exactly (2^53 − 1).
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A decrypted tree as plain JS data: the document object for single-document files, an
/// array of document objects for multi-document YAML.
pub fn tree_to_js(tree: &Tree) -> JsValue {
    match tree.branches.as_slice() {
        [single] => map_to_js(single),
        branches => branches.iter().map(map_to_js).collect::<Array>().into(),
    }
}

/// A map as a plain object in entry order; comments are left out.
fn map_to_js(map: &Map) -> JsValue {
    let object = Object::new();
    for entry in &map.entries {
        if let Entry::Pair(key, value) = entry {
            set(&object, key, &value_to_js(value));
        }
    }
    object.into()
}

/// One value: strings, numbers (integers beyond 2^53 as `BigInt`), booleans, `null`,
/// timestamps as their RFC 3339 text, non-UTF-8 strings as `Uint8Array`; list comments
/// are left out.
pub fn value_to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Str(s) | Value::Time(s) => JsValue::from_str(s),
        Value::Bytes(b) => Uint8Array::from(b.as_slice()).into(),
        Value::Int(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(i) => {
            JsValue::from_f64(*i as f64)
        }
        Value::Int(i) => BigInt::from(*i).into(),
        Value::Float(f) => JsValue::from_f64(*f),
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Comment(_) => JsValue::UNDEFINED,
        Value::Map(m) => map_to_js(m),
        Value::List(items) => items
            .iter()
            .filter(|v| !matches!(v, Value::Comment(_)))
            .map(value_to_js)
            .collect::<Array>()
            .into(),
    }
}

/// The metadata as `inspect` returns it (see the package's `Inspection` type).
pub fn metadata_to_js(metadata: &Metadata) -> JsValue {
    let object = Object::new();
    let groups: Array = metadata
        .key_groups
        .iter()
        .map(|group| group.keys.iter().map(entry_to_js).collect::<Array>())
        .collect();
    set(&object, "keyGroups", &groups);
    set(
        &object,
        "shamirThreshold",
        &JsValue::from_f64(metadata.shamir_threshold as f64),
    );
    set(
        &object,
        "lastModified",
        &metadata.last_modified.as_str().into(),
    );
    set(&object, "hasMac", &(!metadata.mac.is_empty()).into());
    let selector = match &metadata.selector {
        Some(s) => {
            let sel = Object::new();
            set(&sel, "type", &s.field().into());
            set(&sel, "pattern", &s.pattern().into());
            sel.into()
        }
        None => JsValue::NULL,
    };
    set(&object, "selector", &selector);
    set(
        &object,
        "macOnlyEncrypted",
        &metadata.mac_only_encrypted.into(),
    );
    set(&object, "version", &metadata.version.as_str().into());
    object.into()
}

/// A key entry: `{ kind, identity, ...fields }` with the fields as stored.
fn entry_to_js(entry: &KeyEntry) -> JsValue {
    let object = Object::new();
    set(&object, "kind", &entry.kind.as_str().into());
    set(&object, "identity", &entry.identity().into());
    for (field, value) in &entry.fields {
        set(&object, field, &value_to_js(value));
    }
    object.into()
}

/// Defines `key` as an own data property. A plain assignment would make a file's
/// `__proto__` key replace the object's prototype instead of becoming a property.
fn set(object: &Object, key: &str, value: &JsValue) {
    let is_proto = key == "__proto__";
    let key = JsValue::from_str(key);
    // Defining a property on a fresh, extensible plain object cannot fail.
    if is_proto {
        let descriptor = Object::new();
        let _ = Reflect::set(&descriptor, &"value".into(), value);
        for flag in ["writable", "enumerable", "configurable"] {
            let _ = Reflect::set(&descriptor, &flag.into(), &JsValue::TRUE);
        }
        let _ = Reflect::define_property(object, &key, &descriptor);
    } else {
        let _ = Reflect::set(object, &key, value);
    }
}
