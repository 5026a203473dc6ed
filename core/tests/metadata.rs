//! The `sops` block: reading every layout in the vectors, sops's field order on output,
//! the flat dotenv/INI form, and sops's load errors.

use leafcrypt_core::keysource::KeyEntry;
use leafcrypt_core::metadata::{Flavor, KeyGroup, Metadata, Selector};
use leafcrypt_core::stores::json::JsonStore;
use leafcrypt_core::stores::Store;
use leafcrypt_core::tree::{Map, Value};
use leafcrypt_core::Error;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{VECTORS}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `sops` block of a JSON vector as a tree map.
fn sops_map(path: &str) -> Map {
    let mut map = Map::new();
    let doc = JsonStore::new(None).parse(read(path).as_bytes()).unwrap();
    map.push(
        "sops",
        Value::Map(doc.metadata.unwrap().to_map(Flavor::Json)),
    );
    map
}

fn metadata(path: &str) -> Metadata {
    JsonStore::new(None)
        .parse(read(path).as_bytes())
        .unwrap()
        .metadata
        .unwrap()
}

/// The `sops_…` lines of a dotenv vector as flat pairs, prefix removed.
fn dotenv_flat(path: &str) -> Vec<(String, String)> {
    read(path)
        .lines()
        .filter_map(|l| l.strip_prefix("sops_"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn kinds(group: &KeyGroup) -> Vec<&str> {
    group.keys.iter().map(|k| k.kind.as_str()).collect()
}

#[test]
fn single_group_with_every_kind() {
    let md = metadata("metadata/all-kinds.json");
    assert_eq!(md.key_groups.len(), 1);
    assert_eq!(
        kinds(&md.key_groups[0]),
        ["kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age", "pgp"]
    );
    let kms = &md.key_groups[0].keys[0];
    assert_eq!(kms.get("role"), Some("arn:aws:iam::111122223333:role/sops"));
    let context = kms
        .fields
        .iter()
        .find(|(k, _)| k == "context")
        .map(|(_, v)| v);
    assert!(
        matches!(context, Some(Value::Map(m)) if m.get("env") == Some(&Value::Str("prod".into())))
    );
    assert_eq!(
        md.selector,
        Some(Selector::UnencryptedSuffix("_unencrypted".into()))
    );
    assert_eq!(md.last_modified, "2026-11-29T01:30:03Z");
    assert_eq!(md.version, "3.11.0");
    assert_eq!(md.shamir_threshold, 0);
    assert!(md.mac.starts_with("ENC[AES256_GCM,data:"));
}

#[test]
fn key_groups_with_every_kind() {
    let md = metadata("metadata/key-groups-all-kinds.json");
    assert_eq!(md.shamir_threshold, 2);
    assert_eq!(md.key_groups.len(), 3);
    assert_eq!(
        kinds(&md.key_groups[0]),
        ["pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age"]
    );
    assert_eq!(kinds(&md.key_groups[1]), ["age"]);
    assert_eq!(
        md.key_groups[2].keys[0].get("recipient"),
        Some("age1su8vlgrxhglng9ad7kq2j46f9adz2977r6zpe8d3h2t7wudhtphq5c8qa8")
    );
}

#[test]
fn legacy_null_lists_are_accepted() {
    let md = metadata("legacy/legacy-3.7-style.json");
    assert_eq!(kinds(&md.key_groups[0]), ["age"]);
    assert_eq!(md.version, "3.7.3");
}

#[test]
fn yaml_flavor_writes_empty_group_lists_as_empty_lists() {
    let md = metadata("metadata/key-groups-all-kinds.json");
    let yaml = md.to_map(Flavor::Yaml);
    let json = md.to_map(Flavor::Json);
    let group = |m: &Map, i: usize| {
        m.get("key_groups").and_then(Value::as_list).unwrap()[i]
            .as_map()
            .unwrap()
            .clone()
    };
    assert_eq!(group(&yaml, 1).get("hc_vault"), Some(&Value::List(vec![])));
    assert_eq!(group(&json, 1).get("hc_vault"), Some(&Value::Null));
    let keys: Vec<&str> = yaml.pairs().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "shamir_threshold",
            "key_groups",
            "lastmodified",
            "mac",
            "unencrypted_suffix",
            "version"
        ]
    );
    assert_eq!(yaml.get("shamir_threshold"), Some(&Value::Int(2)));
}

#[test]
fn to_map_then_from_map_is_the_identity() {
    for path in [
        "metadata/all-kinds.json",
        "metadata/key-groups-all-kinds.json",
        "legacy/legacy-3.7-style.json",
        "shamir/shamir-2of3.json",
        "json/encrypted.json",
    ] {
        let md = metadata(path);
        for flavor in [Flavor::Json, Flavor::Yaml] {
            assert_eq!(
                Metadata::from_map(&md.to_map(flavor)).unwrap(),
                md,
                "{path}"
            );
        }
        assert!(sops_map(path).get("sops").is_some());
    }
}

#[test]
fn flat_form_matches_sops_dotenv_lines() {
    for path in [
        "dotenv/encrypted.env",
        "shamir/shamir-2of3.env",
        "metadata/all-kinds.env",
    ] {
        let flat = dotenv_flat(path);
        let md = Metadata::from_flat(&flat).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(md.to_flat(), flat, "{path}");
    }
    let md = Metadata::from_flat(&dotenv_flat("shamir/shamir-2of3.env")).unwrap();
    assert_eq!(md.shamir_threshold, 2);
    assert!(md.key_groups[0].keys[0].get("enc").unwrap().contains("\n"));
}

#[test]
fn flat_form_of_the_json_vectors_drops_nulls_and_escapes_newlines() {
    let flat = metadata("metadata/key-groups-all-kinds.json").to_flat();
    assert!(flat
        .iter()
        .all(|(k, _)| !k.contains("hc_vault") || k.starts_with("key_groups__list_0")));
    assert!(flat
        .iter()
        .any(|(k, v)| k == "shamir_threshold" && v == "2"));
    assert!(flat.iter().all(|(_, v)| !v.contains('\n')));
    let mut sorted = flat.clone();
    sorted.sort();
    assert_eq!(flat, sorted);
    assert!(flat.iter().any(|(k, v)| k
        == "key_groups__list_0__map_kms__list_0__map_context__map_env"
        && v == "prod"));
}

fn base() -> Map {
    let mut age = Map::new();
    age.push("recipient", Value::Str("age1x".into()));
    age.push("enc", Value::Str("e".into()));
    let mut map = Map::new();
    map.push("age", Value::List(vec![Value::Map(age)]));
    map.push("lastmodified", Value::Str("2024-01-01T00:00:00Z".into()));
    map.push("mac", Value::Str(String::new()));
    map.push("version", Value::Str("3.11.0".into()));
    map
}

fn load_error(map: &Map) -> String {
    match Metadata::from_map(map) {
        Err(Error::Metadata(m)) => m,
        other => panic!("expected a metadata error, got {other:?}"),
    }
}

#[test]
fn load_errors_use_sops_wording() {
    let mut no_keys = base();
    no_keys.remove("age");
    assert_eq!(load_error(&no_keys), "No keys found in file");

    let mut empty_lists = no_keys.clone();
    empty_lists.push("kms", Value::Null);
    empty_lists.push("pgp", Value::List(vec![]));
    assert_eq!(load_error(&empty_lists), "No keys found in file");

    let mut bad_time = base();
    *bad_time.get_mut("lastmodified").unwrap() = Value::Str("2024-01-01T00:00:00".into());
    assert_eq!(
        load_error(&bad_time),
        r#"parsing time "2024-01-01T00:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00""#
    );

    let mut two = base();
    two.push("encrypted_regex", Value::Str("a".into()));
    two.push("unencrypted_suffix", Value::Str("b".into()));
    assert!(load_error(&two).starts_with("Cannot use more than one of encrypted_suffix"));

    let mut pgp = Map::new();
    pgp.push("fp", Value::Str("x".into()));
    pgp.push("created_at", Value::Str("bad".into()));
    let mut bad_created = base();
    bad_created.push("pgp", Value::List(vec![Value::Map(pgp)]));
    assert!(load_error(&bad_created).contains(r#"cannot parse "bad" as "2006""#));

    let mut bad_threshold = base();
    bad_threshold.push("shamir_threshold", Value::Float(2.5));
    assert!(load_error(&bad_threshold).contains("shamir_threshold"));
}

#[test]
fn threshold_accepts_int_whole_float_and_text() {
    for v in [
        Value::Int(2),
        Value::Float(2.0),
        Value::Str("2".into()),
        Value::Str("2.0".into()),
    ] {
        let mut map = base();
        map.push("shamir_threshold", v.clone());
        assert_eq!(
            Metadata::from_map(&map).unwrap().shamir_threshold,
            2,
            "{v:?}"
        );
    }
}

#[test]
fn mac_only_encrypted_and_unknown_fields() {
    let mut map = base();
    map.push("mac_only_encrypted", Value::Bool(true));
    map.push("future_field", Value::Str("ignored".into()));
    let md = Metadata::from_map(&map).unwrap();
    assert!(md.mac_only_encrypted);
    assert_eq!(md.selector, None);
    let out = md.to_map(Flavor::Yaml);
    let keys: Vec<&str> = out.pairs().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "age",
            "lastmodified",
            "mac",
            "mac_only_encrypted",
            "version"
        ]
    );
    assert_eq!(out.get("mac_only_encrypted"), Some(&Value::Bool(true)));
}

fn pkcs11() -> KeyEntry {
    KeyEntry::new("pkcs11")
        .with("uri", "pkcs11:token=t;object=k")
        .with("enc", "wrapped")
        .with("created_at", "whatever, not checked for unknown kinds")
}

#[test]
fn unknown_kinds_are_kept_after_the_known_ones() {
    let age = KeyEntry::new("age")
        .with("recipient", "age1x")
        .with("enc", "e");
    let md = Metadata {
        key_groups: vec![KeyGroup {
            keys: vec![pkcs11(), age.clone()],
        }],
        last_modified: "2024-01-01T00:00:00Z".into(),
        version: "3.11.0".into(),
        ..Metadata::default()
    };
    let map = md.to_map(Flavor::Yaml);
    let keys: Vec<&str> = map.pairs().map(|(k, _)| k).collect();
    assert_eq!(keys, ["age", "pkcs11", "lastmodified", "mac", "version"]);
    let entry = map.get("pkcs11").and_then(Value::as_list).unwrap()[0]
        .as_map()
        .unwrap();
    let fields: Vec<&str> = entry.pairs().map(|(k, _)| k).collect();
    assert_eq!(fields, ["uri", "enc", "created_at"], "stored order");
    let back = Metadata::from_map(&map).unwrap();
    assert_eq!(kinds(&back.key_groups[0]), ["age", "pkcs11"]);
    assert_eq!(back.key_groups[0].keys[1], pkcs11());

    // In key groups: after the always-present hc_vault and age.
    let grouped = Metadata {
        key_groups: vec![
            KeyGroup {
                keys: vec![pkcs11()],
            },
            KeyGroup { keys: vec![age] },
        ],
        shamir_threshold: 2,
        ..md
    };
    let map = grouped.to_map(Flavor::Json);
    let g0 = map.get("key_groups").and_then(Value::as_list).unwrap()[0]
        .as_map()
        .unwrap();
    let keys: Vec<&str> = g0.pairs().map(|(k, _)| k).collect();
    assert_eq!(keys, ["hc_vault", "age", "pkcs11"]);
    let back = Metadata::from_map(&map).unwrap();
    assert_eq!(back.key_groups, grouped.key_groups);
    // And through the flat form.
    assert_eq!(
        Metadata::from_flat(&grouped.to_flat()).unwrap().key_groups[0].keys[0].get("uri"),
        Some("pkcs11:token=t;object=k")
    );
}

#[test]
fn known_kinds_are_written_in_sops_field_order() {
    let kms = KeyEntry::new("kms")
        .with("enc", "E")
        .with("created_at", "2024-01-01T00:00:00Z")
        .with("arn", "arn:x");
    let md = Metadata {
        key_groups: vec![KeyGroup { keys: vec![kms] }],
        last_modified: "2024-01-01T00:00:00Z".into(),
        version: "3.11.0".into(),
        ..Metadata::default()
    };
    let map = md.to_map(Flavor::Json);
    let entry = map.get("kms").and_then(Value::as_list).unwrap()[0]
        .as_map()
        .unwrap();
    let fields: Vec<(&str, &Value)> = entry.pairs().collect();
    assert_eq!(
        fields,
        [
            ("arn", &Value::Str("arn:x".into())),
            ("created_at", &Value::Str("2024-01-01T00:00:00Z".into())),
            ("enc", &Value::Str("E".into())),
            ("aws_profile", &Value::Str(String::new())),
        ]
    );
}

/// Found by the `stores` fuzz target: a key group without any key entry was read, then
/// dropped when written, leaving a file with "No keys found". sops never writes one.
#[test]
fn a_key_group_without_keys_is_refused() {
    use leafcrypt_core::stores::dotenv::DotenvStore;
    let src = "A=1\nsops_key_groups__list_0__map_age__list_0__map_recipient=age1x\nsops_key_groups__list_1__map_age_ipient=age1y\nsops_lastmodified=2026-11-29T01:30:02Z\nsops_version=3.11.0\n";
    match DotenvStore.parse(src.as_bytes()) {
        Err(e) => assert!(e.to_string().contains("key group 1 has no keys"), "{e}"),
        Ok(doc) => panic!("accepted: {:?}", doc.metadata),
    }
}

/// Found by the `stores` fuzz target: a key group holding a "kind" named like a top-level
/// field (`mac: [{recipient: …}]`) was read as a key kind and, written back in the
/// single-group layout as `sops_mac__list_0__…` beside `sops_mac`, made the file
/// unreadable. Such a field is not a key kind (sops ignores it); the group then has no keys.
#[test]
fn a_key_group_kind_named_like_a_top_level_field_is_not_a_key() {
    use leafcrypt_core::stores::dotenv::DotenvStore;
    for field in [
        "mac",
        "version",
        "lastmodified",
        "encrypted_regex",
        "key_groups",
    ] {
        let src = format!(
            "A=1\nsops_key_groups__list_0__map_{field}__list_0__map_recipient=age1x\nsops_lastmodified=2026-11-29T01:30:02Z\nsops_version=3.11.0\n"
        );
        match DotenvStore.parse(src.as_bytes()) {
            Err(e) => assert!(
                e.to_string().contains("key group 0 has no keys"),
                "{field}: {e}"
            ),
            Ok(doc) => panic!("{field}: accepted: {:?}", doc.metadata),
        }
        // Beside a real key it is ignored, and what is written reads back.
        let src = src.replace(
            "sops_lastmodified",
            "sops_key_groups__list_0__map_age__list_0__map_recipient=age1y\nsops_key_groups__list_0__map_age__list_0__map_enc=E\nsops_lastmodified",
        );
        let doc = DotenvStore.parse(src.as_bytes()).expect(field);
        let md = doc.metadata.expect("metadata");
        assert!(
            md.key_groups[0].keys.iter().all(|k| k.kind == "age"),
            "{field}"
        );
        let out = DotenvStore.emit(&doc.tree, Some(&md)).expect("emits");
        DotenvStore.parse(&out).expect("reads back what it wrote");
    }
}
