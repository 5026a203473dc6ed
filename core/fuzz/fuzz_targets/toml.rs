//! The TOML store (a leafcrypt extension): no panic on any input; a plaintext it reads is
//! written back byte for byte; and the same tree written without its source layout (as
//! after a conversion or an added key) reads back to the same data.
#![no_main]

use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::{Entry, Map, Tree, Value};
use libfuzzer_sys::fuzz_target;

/// The data without comments or layout, NaN made comparable.
fn data_only(tree: &Tree) -> Vec<Map> {
    fn map(m: &Map) -> Map {
        let mut out = Map::new();
        for e in &m.entries {
            if let Entry::Pair(k, v) = e {
                out.push(k.clone(), value(v));
            }
        }
        out
    }
    fn value(v: &Value) -> Value {
        match v {
            Value::Map(m) => Value::Map(map(m)),
            Value::List(items) => Value::List(
                items
                    .iter()
                    .filter(|i| !matches!(i, Value::Comment(_)))
                    .map(value)
                    .collect(),
            ),
            Value::Float(f) if f.is_nan() => Value::Str("NaN".into()),
            other => other.clone(),
        }
    }
    tree.branches.iter().map(map).collect()
}

fuzz_target!(|input: &[u8]| {
    let store = Format::Toml.store(None);
    let Ok(doc) = store.parse(input) else {
        return;
    };
    let Ok(out) = store.emit(&doc.tree, doc.metadata.as_ref()) else {
        return;
    };
    let again = store
        .parse(&out)
        .unwrap_or_else(|e| panic!("TOML cannot read what it wrote: {e}"));
    assert!(data_only(&again.tree) == data_only(&doc.tree), "round trip changed the data");
    if doc.metadata.is_none() && doc.tree.branches[0].layout.is_some() {
        assert!(out == input, "a plaintext was not written back byte for byte");
    }
    // Without the layout: the fresh writer.
    let mut fresh = doc.tree.clone();
    fresh.branches[0].layout = None;
    let Ok(out) = store.emit(&fresh, None) else {
        return;
    };
    let again = store
        .parse(&out)
        .unwrap_or_else(|e| panic!("TOML cannot read what it wrote fresh: {e}\n{}", String::from_utf8_lossy(&out)));
    assert!(data_only(&again.tree) == data_only(&doc.tree), "fresh writing changed the data");
});
