//! Every store's parser (plaintext and encrypted files: the `sops` metadata is read by the
//! same parse), and the promise that a store reads back what it writes: the first byte picks
//! the store, the rest is the file.
#![no_main]

use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::{Entry, Map, Tree, Value};
use libfuzzer_sys::fuzz_target;

/// The tree without comments: where a comment lands after a round trip may move between
/// neighbouring nodes (tests/KNOWN_FAILURES.md lists such layouts); the data may not.
/// Numbers compare by value: like go-yaml, the YAML store writes the float 1.0 as `1`, which
/// reads back as an integer (sops does the same).
fn data_only(tree: &Tree) -> Vec<Map> {
    fn map(m: &Map) -> Map {
        Map {
            entries: m
                .entries
                .iter()
                .filter_map(|e| match e {
                    Entry::Pair(k, v) => Some(Entry::Pair(k.clone(), value(v))),
                    Entry::Comment(_) => None,
                })
                .collect(),
            layout: None,
        }
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
            // NaN is not equal to itself.
            Value::Float(f) if f.is_nan() => Value::Str("NaN".into()),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::Int(*f as i64),
            other => other.clone(),
        }
    }
    tree.branches.iter().map(map).collect()
}

const FORMATS: [Format; 5] = [
    Format::Yaml,
    Format::Json,
    Format::Dotenv,
    Format::Ini,
    Format::Binary,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(pick) % FORMATS.len()];
    let store = format.store(None);
    let Ok(doc) = store.parse(input) else {
        return;
    };
    // What parses must emit (or fail cleanly), and what is emitted must parse to the same tree.
    let Ok(out) = store.emit(&doc.tree, doc.metadata.as_ref()) else {
        return;
    };
    let again = store
        .parse(&out)
        .unwrap_or_else(|e| panic!("{format:?} cannot read what it wrote: {e}"));
    if matches!(format, Format::Yaml | Format::Json) {
        assert!(
            data_only(&again.tree) == data_only(&doc.tree),
            "{format:?} round trip changed the data"
        );
    }
});
