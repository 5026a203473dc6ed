//! JSON store against the sops 3.11 vectors: parse + emit reproduces sops's bytes.

use leafcrypt_core::metadata::Selector;
use leafcrypt_core::stores::json::JsonStore;
use leafcrypt_core::stores::{Format, Store};
use leafcrypt_core::tree::{Map, Tree, Value};
use leafcrypt_core::Error;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Parses `path` and emits it again, metadata included.
fn round_trip(path: &str) -> Vec<u8> {
    let store = JsonStore::new(None);
    let doc = store
        .parse(&read(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    store.emit(&doc.tree, doc.metadata.as_ref()).unwrap()
}

#[test]
fn plain_inputs_emit_as_sops_decrypt_does() {
    for (input, expected) in [
        ("json/plain.json", "json/decrypted.json"),
        ("shamir/plain.json", "shamir/decrypted.json"),
        ("emitter/10-json.in.json", "emitter/10-json.dec.json"),
        (
            "emitter/11b-json-emptyobj.in.json",
            "emitter/11b-json-emptyobj.dec.json",
        ),
        (
            "emitter/11d-json-dupkey.in.json",
            "emitter/11d-json-dupkey.dec.json",
        ),
        (
            "emitter/11e-json-keys.in.json",
            "emitter/11e-json-keys.dec.json",
        ),
        (
            "emitter/11f-json-multi.in.json",
            "emitter/11f-json-multi.dec.json",
        ),
    ] {
        assert_eq!(text(&round_trip(input)), text(&read(expected)), "{input}");
    }
}

#[test]
fn encrypted_files_round_trip_byte_for_byte() {
    for path in [
        "json/encrypted.json",
        "shamir/shamir-2of3.json",
        "metadata/all-kinds.json",
        "metadata/key-groups-all-kinds.json",
        "emitter/10-json.enc.json",
        "emitter/10-json.full.json",
        "emitter/11d-json-dupkey.full.json",
        "emitter/11e-json-keys.full.json",
        "emitter/12b-sopsblock.full.json",
        "binary/encrypted.bin",
    ] {
        let doc = JsonStore::new(None).parse(&read(path)).unwrap();
        assert!(doc.metadata.is_some(), "{path}: metadata expected");
        assert_eq!(text(&round_trip(path)), text(&read(path)), "{path}");
    }
}

#[test]
fn legacy_layout_is_read_and_rewritten_in_the_311_layout() {
    let out = text(&round_trip("legacy/legacy-3.7-style.json"));
    // The legacy file is json/encrypted.json with `null` key lists and version 3.7.3.
    let expected = text(&read("json/encrypted.json")).replace("\"3.11.0\"", "\"3.7.3\"");
    assert_eq!(out, expected);
}

#[test]
fn numbers_are_floats_and_strings_keep_their_text() {
    let doc = JsonStore::new(None)
        .parse(br#"{"i": 8080, "s": "8080", "t": true, "n": null}"#)
        .unwrap();
    let map = &doc.tree.branches[0];
    assert_eq!(map.get("i"), Some(&Value::Float(8080.0)));
    assert_eq!(map.get("s"), Some(&Value::Str("8080".into())));
    assert_eq!(map.get("t"), Some(&Value::Bool(true)));
    assert_eq!(map.get("n"), Some(&Value::Null));
    assert!(doc.metadata.is_none());
}

#[test]
fn top_level_must_be_an_object_with_sops_wording() {
    let store = JsonStore::new(None);
    let err = store
        .parse(&read("emitter/11-json-toparray.in.json"))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Parse {
                format: "json",
                line: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    let sops = text(&read("emitter/11-json-toparray.enc.err"));
    let Error::Parse { message, .. } = &err else {
        unreachable!()
    };
    assert!(sops.contains(message.as_str()), "{message} not in {sops}");
    assert_eq!(err.exit_code(), 2);

    let err = store
        .parse(&read("emitter/11c-json-scalar.in.json"))
        .unwrap_err();
    let Error::Parse { message, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(text(&read("emitter/11c-json-scalar.enc.err")).contains(message.as_str()));
}

#[test]
fn space_indent_is_honoured() {
    let doc = JsonStore::new(None)
        .parse(br#"{"a": {"b": [1, {}]}}"#)
        .unwrap();
    let out = JsonStore::new(Some(2)).emit(&doc.tree, None).unwrap();
    assert_eq!(
        text(&out),
        "{\n  \"a\": {\n    \"b\": [\n      1,\n      {}\n    ]\n  }\n}\n"
    );
}

/// A tree as the YAML store would build it: typed scalars, comments, a timestamp.
fn yaml_like_tree() -> Tree {
    let mut inner = Map::new();
    inner
        .entries
        .push(leafcrypt_core::tree::Entry::Comment(" dropped".into()));
    inner.push("n", Value::Int(-7));
    let mut map = Map::new();
    map.entries
        .push(leafcrypt_core::tree::Entry::Comment(" top".into()));
    map.push("b", Value::Int(1));
    map.push("d", Value::Time("2024-01-01T00:00:00Z".into()));
    map.push("f", Value::Float(1e-7));
    map.push(
        "l",
        Value::List(vec![Value::Comment(" c".into()), Value::Bool(false)]),
    );
    map.push("m", Value::Map(inner));
    map.push("raw", Value::Bytes(b"a\xffb".to_vec()));
    Tree {
        branches: vec![map],
    }
}

#[test]
fn trees_from_other_formats_are_written_as_sops_converts_them() {
    let out = Format::Json
        .store(None)
        .emit(&yaml_like_tree(), None)
        .unwrap();
    assert_eq!(
        text(&out),
        "{\n\t\"b\": 1,\n\t\"d\": \"2024-01-01T00:00:00Z\",\n\t\"f\": 1e-7,\n\t\"l\": [\n\t\tfalse\n\t],\n\t\"m\": {\n\t\t\"n\": -7\n\t},\n\t\"raw\": \"a\u{fffd}b\"\n}\n"
    );
}

#[test]
fn non_finite_floats_cannot_be_written() {
    let mut map = Map::new();
    map.push("a", Value::Float(f64::INFINITY));
    let err = JsonStore::new(None)
        .emit(
            &Tree {
                branches: vec![map],
            },
            None,
        )
        .unwrap_err();
    assert_eq!(err.exit_code(), 4);
    assert!(
        err.to_string().ends_with("json: unsupported value: +Inf"),
        "{err}"
    );
}

#[test]
fn extract_output_matches_sops() {
    let store = JsonStore::new(None);
    let doc = store
        .parse(br#"{"s":"a<b\n","n":1e21,"e":1e8,"m":{"x":[1,"y"],"e":{}},"l":[1,{"z":null}],"t":true,"nul":null,"el":[]}"#)
        .unwrap();
    let map = &doc.tree.branches[0];
    let extract = |k: &str| text(&store.emit_value(map.get(k).unwrap()).unwrap());
    assert_eq!(extract("s"), "a<b\n");
    assert_eq!(extract("n"), "1e+21");
    assert_eq!(extract("e"), "100000000");
    assert_eq!(
        extract("m"),
        "{\n\t\"x\": [\n\t\t1,\n\t\t\"y\"\n\t],\n\t\"e\": {}\n}\n"
    );
    assert_eq!(extract("l"), "[\n\t1,\n\t{\n\t\t\"z\": null\n\t}\n]");
    assert_eq!(extract("t"), "true");
    assert_eq!(extract("nul"), "null");
    assert_eq!(extract("el"), "[]");
}

#[test]
fn sops_entry_becomes_metadata() {
    let doc = JsonStore::new(None)
        .parse(&read("emitter/12b-sopsblock.full.json"))
        .unwrap();
    assert!(doc.tree.branches[0].get("sops").is_none());
    let md = doc.metadata.unwrap();
    assert_eq!(
        md.selector,
        Some(Selector::EncryptedCommentRegex("^enc".into()))
    );
    assert_eq!(md.version, "3.11.0");
}

#[test]
fn hundred_thousand_values_parse_and_emit_quickly() {
    let mut src = String::from("{");
    for i in 0..100_000 {
        if i > 0 {
            src.push(',');
        }
        src.push_str(&format!(
            "\"key{i}\": {{\"s\": \"value {i} <x>\", \"n\": {i}.5}}"
        ));
    }
    src.push('}');
    let store = JsonStore::new(None);
    let start = std::time::Instant::now();
    let doc = store.parse(src.as_bytes()).unwrap();
    let out = store.emit(&doc.tree, None).unwrap();
    let elapsed = start.elapsed();
    assert!(out.len() > src.len());
    eprintln!("100k entries / 200k leaves parse+emit: {elapsed:?}");
    // 200k leaves; generous bound so debug builds pass too (release is ~20x faster).
    assert!(elapsed.as_secs_f64() < 2.0, "took {elapsed:?}");
}

/// A small deterministic generator (xorshift) for the round-trip property tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn string(&mut self) -> String {
        const PICKS: [char; 16] = [
            'a', '"', '\\', '/', '<', '>', '&', '\n', '\t', '\u{1}', '\u{7f}', '\u{2028}',
            '\u{2029}', 'é', '😀', '\u{8}',
        ];
        let len = (self.next() % 12) as usize;
        (0..len)
            .map(|_| PICKS[(self.next() % 16) as usize])
            .collect()
    }

    fn float(&mut self) -> f64 {
        let bits = self.next();
        let v = f64::from_bits(bits);
        if v.is_finite() {
            v
        } else {
            (bits % 1_000_000) as f64 / 7.0
        }
    }
}

#[test]
fn emit_then_parse_round_trips_strings_and_floats() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let store = JsonStore::new(None);
    for _ in 0..300 {
        let mut map = Map::new();
        for _ in 0..8 {
            map.push(rng.string(), Value::Str(rng.string()));
            map.push(rng.string(), Value::Float(rng.float()));
        }
        let tree = Tree {
            branches: vec![map],
        };
        let out = store.emit(&tree, None).unwrap();
        let back = store.parse(&out).unwrap();
        assert_eq!(back.tree, tree, "{}", text(&out));
        assert_eq!(store.emit(&back.tree, None).unwrap(), out);
    }
}
