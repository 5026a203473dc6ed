//! The deterministic vectors of `primitive/value-vectors.json` (fixed key and IVs,
//! computed by an independent implementation and accepted byte-for-byte by sops).

use leafcrypt_core::cipher::{self, Cipher, ValueType};
use leafcrypt_core::mac;
use leafcrypt_core::secret::Secret;
use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::{Map, Value};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/vectors/primitive/value-vectors.json"
);

fn load() -> Map {
    let bytes = std::fs::read(VECTORS).unwrap();
    let doc = Format::Json.store(None).parse(&bytes).unwrap();
    doc.tree.branches.into_iter().next().unwrap()
}

fn field<'a>(m: &'a Map, key: &str) -> &'a str {
    m.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing {key}"))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn iv(s: &str) -> [u8; 32] {
    hex(s).try_into().unwrap()
}

#[test]
fn every_value_vector_encrypts_and_decrypts_exactly() {
    let root = load();
    let values = root.get("values").and_then(Value::as_list).unwrap();
    assert_eq!(values.len(), 10);
    for v in values {
        let v = v.as_map().unwrap();
        let cipher = Cipher::new(&Secret::new(hex(field(v, "key_hex")))).unwrap();
        let ty = ValueType::from_name(field(v, "type")).unwrap();
        let plain = hex(field(v, "plaintext_hex"));
        let aad = field(v, "aad").as_bytes();
        let expected = field(v, "expected");
        assert_eq!(
            cipher.seal(&plain, ty, aad, &iv(field(v, "iv_hex"))),
            expected,
            "{aad:?}"
        );
        if expected.is_empty() {
            continue;
        }
        let opened = cipher.open(expected, aad).unwrap();
        assert_eq!(opened.plain.as_slice(), plain.as_slice());
        assert_eq!((opened.ty, opened.iv), (ty, Some(iv(field(v, "iv_hex")))));
        // The decoded value re-encodes to the same plaintext (these are canonical).
        let decoded = opened.value().unwrap();
        let (again, again_ty) = cipher::plaintext(&decoded).unwrap();
        assert_eq!(again.as_ref(), plain.as_slice());
        assert_eq!(again_ty, ty);
        // Any other AAD fails authentication.
        assert!(cipher.open(expected, b"other:").is_err());
    }
}

#[test]
fn the_mac_vector() {
    let root = load();
    let f = root.get("file").and_then(Value::as_map).unwrap();
    let mut hasher = mac::MacHasher::new(false);
    hasher.leaf(
        field(f, "mac_hash_input_utf8").as_bytes(),
        ValueType::Str,
        true,
    );
    let computed = hasher.finish();
    assert_eq!(computed, field(f, "mac_plaintext"));
    let cipher = Cipher::new(&Secret::new(hex(field(f, "data_key_hex")))).unwrap();
    let last_modified = field(f, "lastmodified");
    let sealed = cipher.seal(
        computed.as_bytes(),
        ValueType::Str,
        last_modified.as_bytes(),
        &iv(field(f, "mac_iv_hex")),
    );
    assert_eq!(sealed, field(f, "mac_expected"));
    let mut stash = leafcrypt_core::cipher::IvStash::new();
    mac::verify(&cipher, &sealed, last_modified, &computed, &mut stash).unwrap();
    let err = mac::verify(
        &cipher,
        &sealed,
        last_modified,
        &"0".repeat(128),
        &mut stash,
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 51);
}
