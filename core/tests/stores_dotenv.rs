//! dotenv store against the sops 3.11 vectors.

use leafcrypt_core::stores::dotenv::DotenvStore;
use leafcrypt_core::stores::Store;
use leafcrypt_core::tree::{Entry, Map, Tree, Value};
use leafcrypt_core::Error;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn round_trip(path: &str) -> String {
    let doc = DotenvStore
        .parse(&read(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    text(&DotenvStore.emit(&doc.tree, doc.metadata.as_ref()).unwrap())
}

#[test]
fn plain_file_emits_as_sops_decrypt_does() {
    assert_eq!(
        round_trip("dotenv/plain.env"),
        text(&read("dotenv/decrypted.env"))
    );
    assert_eq!(
        round_trip("shamir/plain.env"),
        text(&read("shamir/decrypted.env"))
    );
}

#[test]
fn encrypted_files_round_trip_byte_for_byte() {
    for path in [
        "dotenv/encrypted.env",
        "shamir/shamir-2of3.env",
        "metadata/all-kinds.env",
    ] {
        assert_eq!(round_trip(path), text(&read(path)), "{path}");
    }
}

#[test]
fn keys_and_values_are_verbatim() {
    let doc = DotenvStore.parse(&read("dotenv/plain.env")).unwrap();
    assert!(doc.metadata.is_none());
    let map = &doc.tree.branches[0];
    assert_eq!(map.entries[0], Entry::Comment(" a comment".into()));
    assert_eq!(
        map.get("DB_PASS"),
        Some(&Value::Str("\"quoted value\"".into()))
    );
    assert_eq!(map.get("SPACED "), Some(&Value::Str(" x y ".into())));
    assert_eq!(map.get("MULTI"), Some(&Value::Str("line1\nline2".into())));
    assert_eq!(map.get("EQ"), Some(&Value::Str("a=b".into())));
    assert_eq!(map.get("export EXP"), Some(&Value::Str("1".into())));
    assert_eq!(map.get("EMPTY"), Some(&Value::Str(String::new())));
}

#[test]
fn metadata_lines_are_taken_out() {
    let doc = DotenvStore.parse(&read("shamir/shamir-2of3.env")).unwrap();
    let md = doc.metadata.expect("metadata");
    assert_eq!(md.shamir_threshold, 2);
    assert_eq!(md.key_groups.len(), 3);
    assert!(doc.tree.branches[0]
        .pairs()
        .all(|(k, _)| !k.starts_with("sops_")));
}

#[test]
fn a_line_without_equals_is_an_error() {
    let err = DotenvStore.parse(b"A=1\n#c\nBROKEN\n").unwrap_err();
    match &err {
        Error::Parse {
            format: "dotenv",
            line: Some(3),
            message,
        } => {
            assert_eq!(
                message,
                "invalid dotenv input line: no '=' (the line's text is not shown: it may be secret)"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn sops_keys_in_a_plain_file_are_not_data() {
    // sops refuses to encrypt such a file; here it is never mistaken for plain data.
    let result = DotenvStore.parse(b"A=1\nsops_note=hello\n");
    assert!(matches!(result, Err(Error::Metadata(_))), "{result:?}");
}

fn tree(map: Map) -> Tree {
    Tree {
        branches: vec![map],
    }
}

#[test]
fn nested_values_cannot_be_written() {
    let mut inner = Map::new();
    inner.push("b", Value::Int(1));
    let mut map = Map::new();
    map.push("c", Value::Str("x".into()));
    map.push("a", Value::Map(inner));
    let err = DotenvStore.emit(&tree(map), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Error dumping file: cannot use complex value in dotenv file; offending key a"
    );
    assert_eq!(err.exit_code(), 4);
}

#[test]
fn typed_scalars_are_written_as_sops_prints_them() {
    let mut map = Map::new();
    map.push("i", Value::Int(1));
    map.push("b", Value::Bool(true));
    map.push("f", Value::Float(1.5));
    map.push("g", Value::Float(1e21));
    map.push("h", Value::Float(f64::INFINITY));
    // Whole numbers and large ones as `sops set X 5432` / `100000000` print them.
    map.push("w", Value::Float(5432.0));
    map.push("e", Value::Float(1e8));
    map.push("n", Value::Null);
    map.push("t", Value::Time("2024-01-02T03:04:05+02:00".into()));
    let out = text(&DotenvStore.emit(&tree(map), None).unwrap());
    assert_eq!(
        out,
        "i=1\nb=true\nf=1.5\ng=1E+21\nh=+Inf\nw=5432.0\ne=1E+08\nn=<nil>\nt=2024-01-02T03:04:05+02:00\n"
    );
}

#[test]
fn extract_prints_the_bare_value() {
    assert_eq!(
        DotenvStore.emit_value(&Value::Str("admin".into())).unwrap(),
        b"admin"
    );
    assert!(DotenvStore.emit_value(&Value::List(vec![])).is_err());
}
