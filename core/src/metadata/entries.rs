//! Key entries in the `sops` block: the field layout sops writes for each known kind, and
//! reading entries back (unknown kinds and fields are kept as read).

use super::rfc3339;
use crate::error::{Error, Result};
use crate::keysource::KeyEntry;
use crate::tree::{Entry, Map, Value};

/// How one field of a known kind is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// Always written (`""` when missing).
    Always,
    /// Omitted when missing or empty.
    OmitEmpty,
    /// A map written with its keys sorted, omitted when missing or empty (kms `context`).
    SortedMap,
}

use Presence::{Always, OmitEmpty, SortedMap};

/// The known kinds and their fields in sops 3.11's emission order.
const SCHEMAS: [(&str, &[(&str, Presence)]); 7] = [
    (
        "kms",
        &[
            ("arn", Always),
            ("role", OmitEmpty),
            ("context", SortedMap),
            ("created_at", Always),
            ("enc", Always),
            ("aws_profile", Always),
        ],
    ),
    (
        "gcp_kms",
        &[
            ("resource_id", Always),
            ("created_at", Always),
            ("enc", Always),
        ],
    ),
    (
        "hckms",
        &[("key_id", Always), ("created_at", Always), ("enc", Always)],
    ),
    (
        "azure_kv",
        &[
            ("vault_url", Always),
            ("name", Always),
            ("version", Always),
            ("created_at", Always),
            ("enc", Always),
        ],
    ),
    (
        "hc_vault",
        &[
            ("vault_address", Always),
            ("engine_path", Always),
            ("key_name", Always),
            ("created_at", Always),
            ("enc", Always),
        ],
    ),
    ("age", &[("recipient", Always), ("enc", Always)]),
    (
        "pgp",
        &[("created_at", Always), ("enc", Always), ("fp", Always)],
    ),
];

fn schema(kind: &str) -> Option<&'static [(&'static str, Presence)]> {
    SCHEMAS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, fields)| *fields)
}

/// Whether `kind` is one of the kinds sops itself knows.
pub(crate) fn is_known(kind: &str) -> bool {
    schema(kind).is_some()
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Str(s) => s.is_empty(),
        Value::Map(m) => m.entries.is_empty(),
        _ => false,
    }
}

/// The entry as a map: known kinds in sops's field order (missing fields as `""`, fields
/// sops does not know appended in stored order); unknown kinds in stored order.
pub(crate) fn entry_to_map(entry: &KeyEntry) -> Map {
    let mut map = Map::new();
    let Some(fields) = schema(&entry.kind) else {
        for (k, v) in &entry.fields {
            map.push(k.clone(), v.clone());
        }
        return map;
    };
    let stored = |name: &str| entry.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    for &(name, presence) in fields {
        let value = stored(name).unwrap_or(&Value::Null);
        match presence {
            Always if matches!(value, Value::Null) => map.push(name, Value::Str(String::new())),
            Always => map.push(name, value.clone()),
            OmitEmpty if is_empty(value) => {}
            OmitEmpty => map.push(name, value.clone()),
            SortedMap => match value {
                Value::Map(m) if !m.entries.is_empty() => map.push(name, Value::Map(sorted(m))),
                _ => {}
            },
        }
    }
    for (k, v) in &entry.fields {
        if !fields.iter().any(|(name, _)| name == k) {
            map.push(k.clone(), v.clone());
        }
    }
    map
}

fn sorted(map: &Map) -> Map {
    let mut pairs: Vec<(&str, &Value)> = map.pairs().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Map::new();
    for (k, v) in pairs {
        out.push(k, v.clone());
    }
    out
}

/// Reads the list stored under `kind`: `null` and `[]` are empty; anything but a list of
/// maps is an error. Known kinds must have a valid RFC 3339 `created_at`.
pub(crate) fn entries_from_value(kind: &str, value: &Value) -> Result<Vec<KeyEntry>> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::List(items) => items,
        _ => {
            return Err(Error::Metadata(format!(
                "'{kind}' must be a list of key entries"
            )))
        }
    };
    items
        .iter()
        .filter(|item| !matches!(item, Value::Comment(_)))
        .map(|item| match item {
            Value::Map(m) => entry_from_map(kind, m),
            _ => Err(Error::Metadata(format!(
                "'{kind}' must be a list of key entries"
            ))),
        })
        .collect()
}

fn entry_from_map(kind: &str, map: &Map) -> Result<KeyEntry> {
    let mut entry = KeyEntry::new(kind);
    for e in &map.entries {
        if let Entry::Pair(k, v) = e {
            // An unquoted YAML timestamp is still the string sops stores.
            let v = match v {
                Value::Time(t) => Value::Str(t.clone()),
                other => other.clone(),
            };
            entry.fields.push((k.clone(), v));
        }
    }
    if schema(kind).is_some_and(|fields| fields.iter().any(|(f, _)| *f == "created_at")) {
        rfc3339::validate(entry.get("created_at").unwrap_or_default()).map_err(Error::Metadata)?;
    }
    Ok(entry)
}

/// Whether `value` looks like a list of key entries (how an unknown top-level kind such as
/// `pkcs11` is told apart from an unknown scalar field).
pub(crate) fn looks_like_entries(value: &Value) -> bool {
    matches!(value, Value::List(items) if !items.is_empty()
        && items.iter().all(|i| matches!(i, Value::Map(_) | Value::Comment(_))))
}
