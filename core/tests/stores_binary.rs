//! Binary store against the sops 3.11 vectors.

use leafcrypt_core::stores::binary::BinaryStore;
use leafcrypt_core::stores::Store;
use leafcrypt_core::tree::{Map, Tree, Value};
use leafcrypt_core::Error;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn plain_input_is_one_data_value_and_emits_raw() {
    let store = BinaryStore::new(None);
    let plain = read("binary/plain.bin");
    let doc = store.parse(&plain).unwrap();
    assert!(doc.metadata.is_none());
    assert_eq!(
        doc.tree.branches[0].get("data"),
        Some(&Value::Bytes(plain.clone()))
    );
    assert_eq!(
        store.emit(&doc.tree, None).unwrap(),
        read("binary/decrypted.bin")
    );

    let doc = store.parse(b"hello\n").unwrap();
    assert_eq!(
        doc.tree.branches[0].get("data"),
        Some(&Value::Str("hello\n".into()))
    );
}

#[test]
fn encrypted_file_is_detected_and_round_trips() {
    let store = BinaryStore::new(None);
    let enc = read("binary/encrypted.bin");
    let doc = store.parse(&enc).unwrap();
    let md = doc.metadata.as_ref().expect("metadata");
    assert_eq!(md.selector, None, "binary files store no selector");
    assert!(
        matches!(doc.tree.branches[0].get("data"), Some(Value::Str(s)) if s.starts_with("ENC["))
    );
    assert_eq!(store.emit(&doc.tree, doc.metadata.as_ref()).unwrap(), enc);
}

#[test]
fn json_without_metadata_is_plain_data() {
    let store = BinaryStore::new(None);
    let input = br#"{"a": 1}"#;
    let doc = store.parse(input).unwrap();
    assert!(doc.metadata.is_none());
    assert_eq!(
        doc.tree.branches[0].get("data"),
        Some(&Value::Str(r#"{"a": 1}"#.into()))
    );
}

#[test]
fn a_tree_without_data_cannot_be_written() {
    let mut map = Map::new();
    map.push("other", Value::Str("x".into()));
    let err = BinaryStore::new(None)
        .emit(
            &Tree {
                branches: vec![map],
            },
            None,
        )
        .unwrap_err();
    assert!(matches!(&err, Error::Emit(m) if m.contains("no binary data found in tree")));
    assert_eq!(err.exit_code(), 4);
}
