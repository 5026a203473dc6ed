//! encrypt → decrypt round trips: selectors, Shamir, rotate, update_keys, `--strict`,
//! and random trees.

use leafcrypt_core::keysource::age::AgeSource;
use leafcrypt_core::keysource::{KeyEntry, Keyring};
use leafcrypt_core::metadata::{KeyGroup, Metadata, Selector};
use leafcrypt_core::ops::{self, DecryptOptions, EncryptOptions};
use leafcrypt_core::tree::{Entry, Map, Tree, Value};
use leafcrypt_core::Error;
use pollster::block_on;

const AGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/age");
const NOW: &str = "2026-01-02T03:04:05Z";

fn identities(file: &str) -> AgeSource {
    AgeSource::from_identities_text(&std::fs::read_to_string(format!("{AGE}/{file}")).unwrap())
        .unwrap()
}

fn keyring(file: &str) -> Keyring {
    Keyring::new().with(Box::new(identities(file)))
}

fn recipient(n: usize) -> String {
    std::fs::read_to_string(format!("{AGE}/recipients.txt"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("age1"))
        .nth(n)
        .unwrap()
        .to_string()
}

fn group(recipients: &[usize]) -> KeyGroup {
    KeyGroup {
        keys: recipients
            .iter()
            .map(|&n| KeyEntry::new("age").with("recipient", recipient(n)))
            .collect(),
    }
}

fn opts(groups: Vec<KeyGroup>, selector: Option<Selector>) -> EncryptOptions {
    EncryptOptions {
        key_groups: groups,
        selector,
        store_selector: true,
        now: NOW.into(),
        ..Default::default()
    }
}

fn sample() -> Tree {
    let mut db = Map::new();
    db.entries.push(Entry::Comment(" sops:enc".into()));
    db.push("password", Value::Str("hunter2".into()));
    db.push("port", Value::Int(5432));
    db.push("url_public", Value::Str("https://x".into()));
    let mut root = Map::new();
    root.entries.push(Entry::Comment(" top".into()));
    root.push("db", Value::Map(db));
    root.push("ratio", Value::Float(0.25));
    root.push("on", Value::Bool(true));
    root.push("when", Value::Time("2024-01-02T03:04:05Z".into()));
    root.push(
        "list",
        Value::List(vec![
            Value::Str("a".into()),
            Value::Comment(" lc".into()),
            Value::Int(-1),
            Value::Null,
        ]),
    );
    root.push("token_secret", Value::Str("t".into()));
    root.push("key_unencrypted", Value::Str("visible".into()));
    root.push("empty", Value::Str(String::new()));
    root.push("nothing", Value::Null);
    root.push("em", Value::Map(Map::new()));
    Tree {
        branches: vec![root],
    }
}

/// Every string leaf that is an ENC envelope, by AAD-ish position (key name).
fn encrypted_keys(tree: &Tree) -> Vec<String> {
    fn visit(key: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Str(s) if s.starts_with("ENC[") => out.push(key.to_string()),
            Value::Map(m) => m.pairs().for_each(|(k, v)| visit(k, v, out)),
            Value::List(l) => l.iter().for_each(|v| visit(key, v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for b in &tree.branches {
        for e in &b.entries {
            match e {
                Entry::Pair(k, v) => visit(k, v, &mut out),
                Entry::Comment(c) if c.starts_with("ENC[") => out.push("#".into()),
                Entry::Comment(_) => {}
            }
        }
    }
    out
}

fn round_trip(selector: Option<Selector>) -> (Tree, Metadata) {
    let mut tree = sample();
    let metadata = block_on(ops::encrypt(
        &mut tree,
        &opts(vec![group(&[0])], selector),
        &keyring("key1.txt"),
    ))
    .unwrap();
    let encrypted = tree.clone();
    block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keyring("key1.txt"),
        DecryptOptions::default(),
    ))
    .unwrap();
    // The list comment comes back as a comment (sops's list quirk in reverse).
    assert_eq!(tree, sample());
    (encrypted, metadata)
}

#[test]
fn default_selector_encrypts_all_but_unencrypted_suffix() {
    let (enc, metadata) = round_trip(None);
    assert_eq!(
        metadata.selector,
        Some(Selector::UnencryptedSuffix("_unencrypted".into()))
    );
    assert_eq!(
        encrypted_keys(&enc),
        [
            "#",
            "password",
            "port",
            "url_public",
            "ratio",
            "on",
            "when",
            "list",
            "list",
            "list",
            "token_secret"
        ]
    );
    let root = &enc.branches[0];
    assert_eq!(
        root.get("key_unencrypted"),
        Some(&Value::Str("visible".into()))
    );
    assert_eq!(root.get("empty"), Some(&Value::Str(String::new())));
    assert_eq!(root.get("nothing"), Some(&Value::Null));
    assert_eq!(metadata.version, "3.11.0");
    assert_eq!(metadata.last_modified, NOW);
}

#[test]
fn every_selector_round_trips_and_selects() {
    let cases = [
        (
            Selector::EncryptedRegex("^(password|db)$".into()),
            vec!["password", "port", "url_public"],
        ),
        (
            Selector::EncryptedSuffix("_secret".into()),
            vec!["token_secret"],
        ),
        (
            Selector::UnencryptedSuffix("_public".into()),
            vec![
                "#",
                "password",
                "port",
                "ratio",
                "on",
                "when",
                "list",
                "list",
                "list",
                "token_secret",
            ],
        ),
        (
            Selector::UnencryptedRegex("^(db|list)$".into()),
            vec!["#", "ratio", "on", "when", "token_secret"],
        ),
        (
            Selector::EncryptedCommentRegex("sops:enc".into()),
            vec!["password"],
        ),
        (
            Selector::UnencryptedCommentRegex("sops:enc".into()),
            vec![
                "#",
                "port",
                "url_public",
                "ratio",
                "on",
                "when",
                "list",
                "list",
                "list",
                "token_secret",
            ],
        ),
    ];
    for (selector, expected) in cases {
        let (enc, metadata) = round_trip(Some(selector.clone()));
        let mut with_unencrypted = expected.clone();
        if !matches!(
            selector,
            Selector::EncryptedRegex(_)
                | Selector::EncryptedSuffix(_)
                | Selector::EncryptedCommentRegex(_)
        ) {
            // Custom selectors replace the default suffix: key_unencrypted is encrypted.
            let at = with_unencrypted.len();
            with_unencrypted.insert(at, "key_unencrypted");
        }
        assert_eq!(encrypted_keys(&enc), with_unencrypted, "{selector:?}");
        assert_eq!(metadata.selector, Some(selector));
    }
}

#[test]
fn mac_only_encrypted_ignores_plain_values() {
    let mut tree = sample();
    let mut o = opts(
        vec![group(&[0])],
        Some(Selector::EncryptedSuffix("_secret".into())),
    );
    o.mac_only_encrypted = true;
    let metadata = block_on(ops::encrypt(&mut tree, &o, &keyring("key1.txt"))).unwrap();
    assert!(metadata.mac_only_encrypted);
    // Changing a plain value goes unnoticed with mac_only_encrypted...
    *tree.branches[0].get_mut("ratio").unwrap() = Value::Float(9.0);
    let mut copy = tree.clone();
    block_on(ops::decrypt(
        &mut copy,
        &metadata,
        &keyring("key1.txt"),
        DecryptOptions::default(),
    ))
    .unwrap();
    // ...but not without it.
    let mut tree = sample();
    let mut o = opts(
        vec![group(&[0])],
        Some(Selector::EncryptedSuffix("_secret".into())),
    );
    o.mac_only_encrypted = false;
    let metadata = block_on(ops::encrypt(&mut tree, &o, &keyring("key1.txt"))).unwrap();
    *tree.branches[0].get_mut("ratio").unwrap() = Value::Float(9.0);
    let err = block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keyring("key1.txt"),
        DecryptOptions::default(),
    ));
    assert!(matches!(err, Err(Error::MacMismatch { .. })));
}

#[test]
fn shamir_two_of_three() {
    let mut tree = sample();
    let o = EncryptOptions {
        shamir_threshold: 2,
        ..opts(vec![group(&[1]), group(&[2]), group(&[3])], None)
    };
    let metadata = block_on(ops::encrypt(&mut tree, &o, &keyring("keys.txt"))).unwrap();
    assert_eq!(metadata.shamir_threshold, 2);
    assert_eq!(metadata.key_groups.len(), 3);
    // Any two groups' identities suffice.
    let mut copy = tree.clone();
    block_on(ops::decrypt(
        &mut copy,
        &metadata,
        &keyring("keys-2-and-4.txt"),
        DecryptOptions::default(),
    ))
    .unwrap();
    assert_eq!(copy, sample());
    // One is not enough.
    let err = block_on(ops::decrypt(
        &mut tree.clone(),
        &metadata,
        &keyring("key2.txt"),
        DecryptOptions::default(),
    ))
    .unwrap_err();
    assert_eq!(err.exit_code(), 128);
    assert!(
        err.to_string()
            .contains("Shamir threshold of\n2, but only 1 part(s)"),
        "{err}"
    );
}

#[test]
fn shamir_three_of_three_fails_with_two_keys() {
    let mut tree = sample();
    // Threshold 0 with several groups means all groups.
    let o = opts(vec![group(&[1]), group(&[2]), group(&[3])], None);
    let metadata = block_on(ops::encrypt(&mut tree, &o, &keyring("keys.txt"))).unwrap();
    assert_eq!(metadata.shamir_threshold, 3);
    let err = block_on(ops::decrypt(
        &mut tree.clone(),
        &metadata,
        &keyring("keys-2-and-4.txt"),
        DecryptOptions::default(),
    ))
    .unwrap_err();
    assert_eq!(err.exit_code(), 128);
    block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keyring("keys.txt"),
        DecryptOptions::default(),
    ))
    .unwrap();
}

#[test]
fn bad_thresholds_are_refused_like_sops() {
    for (threshold, why) in [
        (4, "parts cannot be less than threshold"),
        (1, "threshold must be at least 2"),
    ] {
        let o = EncryptOptions {
            shamir_threshold: threshold,
            ..opts(vec![group(&[0]), group(&[1]), group(&[2])], None)
        };
        let err = block_on(ops::encrypt(&mut sample(), &o, &keyring("keys.txt"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Could not generate data key: [could not split data key into parts for Shamir: {why}]")
        );
        assert_eq!(err.exit_code(), 1);
    }
}

#[test]
fn rotate_changes_key_keeps_ivs_and_update_keys_keeps_values() {
    let keys = keyring("keys.txt");
    let mut tree = sample();
    let mut metadata = block_on(ops::encrypt(
        &mut tree,
        &opts(vec![group(&[0])], None),
        &keys,
    ))
    .unwrap();
    let encrypted = tree.clone();
    let session = block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keys,
        DecryptOptions::default(),
    ))
    .unwrap();
    let new = block_on(ops::rotate(
        &mut tree,
        &mut metadata,
        &session,
        &keys,
        "2026-02-02T00:00:00Z",
    ))
    .unwrap();
    assert_ne!(new.data_key, session.data_key);
    assert_eq!(metadata.last_modified, "2026-02-02T00:00:00Z");
    // Same IVs, different ciphertexts.
    let iv_of = |t: &Tree| {
        let s = t.branches[0]
            .get("ratio")
            .and_then(Value::as_str)
            .unwrap()
            .to_string();
        s.split(",iv:")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(iv_of(&tree), iv_of(&encrypted));
    assert_ne!(
        tree.branches[0].get("ratio"),
        encrypted.branches[0].get("ratio")
    );

    // update_keys: R1 → R2 and R3, same data key, values and MAC untouched.
    let before = (
        tree.clone(),
        metadata.mac.clone(),
        metadata.last_modified.clone(),
    );
    block_on(ops::update_keys(
        &mut metadata,
        &[group(&[1, 2])],
        0,
        &keys,
        NOW,
    ))
    .unwrap();
    assert_eq!(
        (
            tree.clone(),
            metadata.mac.clone(),
            metadata.last_modified.clone()
        ),
        before
    );
    let recipients: Vec<_> = metadata.key_groups[0]
        .keys
        .iter()
        .map(KeyEntry::identity)
        .collect();
    assert_eq!(recipients, [recipient(1), recipient(2)]);
    let s = block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keyring("key3.txt"),
        DecryptOptions::default(),
    ))
    .unwrap();
    assert_eq!(s.data_key, new.data_key);
    assert_eq!(tree, sample());
}

#[test]
fn reencrypt_with_the_same_key_is_byte_identical() {
    let keys = keyring("key1.txt");
    let mut tree = sample();
    let mut metadata = block_on(ops::encrypt(
        &mut tree,
        &opts(vec![group(&[0])], None),
        &keys,
    ))
    .unwrap();
    let encrypted = tree.clone();
    let session = block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keys,
        DecryptOptions::default(),
    ))
    .unwrap();
    ops::reencrypt(&mut tree, &mut metadata, &session, NOW).unwrap();
    assert_eq!(tree, encrypted);
}

mod strict {
    use super::*;

    /// Encrypts the sample, applies `edit` to the encrypted tree, and decrypts it
    /// plain and strict.
    fn tampered(
        edit: impl FnOnce(&mut Tree, &mut Metadata),
    ) -> (Result<Tree, Error>, Result<Tree, Error>) {
        let keys = keyring("keys.txt");
        let mut tree = sample();
        let mut metadata = block_on(ops::encrypt(
            &mut tree,
            &opts(vec![group(&[0])], None),
            &keys,
        ))
        .unwrap();
        edit(&mut tree, &mut metadata);
        let run = |strict| {
            let mut t = tree.clone();
            block_on(ops::decrypt(
                &mut t,
                &metadata,
                &keys,
                DecryptOptions {
                    strict,
                    ignore_mac: false,
                    ..Default::default()
                },
            ))
            .map(|_| t)
        };
        (run(false), run(true))
    }

    fn replace(tree: &mut Tree, key: &str, from: &str, to: &str) {
        let v = tree.branches[0].get_mut(key).unwrap();
        let Value::Str(s) = v else {
            panic!("{key} is not encrypted")
        };
        assert!(s.contains(from));
        *s = s.replace(from, to);
    }

    #[test]
    fn trailing_text_after_the_envelope() {
        let (plain, strict) =
            tampered(|t, _| replace(t, "ratio", "type:float]", "type:float]junk"));
        assert!(plain.is_ok());
        assert!(matches!(strict, Err(Error::Strict(_))), "{strict:?}");
    }

    #[test]
    fn type_tag_changes_that_break_canonical_form() {
        // bool True → str "True" stays canonical (undetectable by design, documented);
        // an int-tagged "True" fails to parse for both.
        let (plain, strict) = tampered(|t, _| replace(t, "on", "type:bool]", "type:str]"));
        assert_eq!(
            plain.unwrap().branches[0].get("on"),
            Some(&Value::Str("True".into()))
        );
        assert!(strict.is_ok());
        // A float 0.25 re-tagged as a comment in a map value: MAC catches it anyway
        // (comments are not hashed); strict names the cause.
        let (plain, strict) = tampered(|t, _| replace(t, "ratio", "type:float]", "type:comment]"));
        assert!(matches!(plain, Err(Error::MacMismatch { .. })));
        assert!(matches!(strict, Err(Error::Strict(_))), "{strict:?}");
        // The legacy `bytes` type decodes the same plaintext; strict refuses it.
        let (plain, strict) =
            tampered(|t, _| replace(t, "token_secret", "type:str]", "type:bytes]"));
        assert!(plain.is_ok());
        assert!(matches!(strict, Err(Error::Strict(_))), "{strict:?}");
    }

    #[test]
    fn non_canonical_plaintext_for_the_declared_type() {
        // Encrypt "true" as a string, then re-tag it bool: sops decodes it as true and
        // the MAC (over "true") still matches; strict sees "true" is not "True".
        let keys = keyring("key1.txt");
        let mut tree = sample();
        *tree.branches[0].get_mut("on").unwrap() = Value::Str("true".into());
        let metadata = block_on(ops::encrypt(
            &mut tree,
            &opts(vec![group(&[0])], None),
            &keys,
        ))
        .unwrap();
        replace(&mut tree, "on", "type:str]", "type:bool]");
        let mut t = tree.clone();
        block_on(ops::decrypt(
            &mut t,
            &metadata,
            &keys,
            DecryptOptions::default(),
        ))
        .unwrap();
        assert_eq!(t.branches[0].get("on"), Some(&Value::Bool(true)));
        let strict = block_on(ops::decrypt(
            &mut tree,
            &metadata,
            &keys,
            DecryptOptions {
                strict: true,
                ignore_mac: false,
                ..Default::default()
            },
        ));
        assert!(
            matches!(strict, Err(Error::Strict(ref m)) if m.contains("canonical form of its declared type 'bool'")),
            "{:?}",
            strict.err()
        );
    }

    #[test]
    fn corrupted_encrypted_comment() {
        let (plain, strict) = tampered(|t, _| {
            let Entry::Comment(c) = &mut t.branches[0].entries[0] else {
                panic!()
            };
            *c = c.replacen("data:", "data:AAAA", 1);
        });
        let tree = plain.unwrap();
        assert!(matches!(&tree.branches[0].entries[0], Entry::Comment(c) if c.starts_with("ENC[")));
        assert!(
            matches!(strict, Err(Error::Strict(ref m)) if m.contains("comment")),
            "{strict:?}"
        );
    }

    #[test]
    fn changed_recipient() {
        let (plain, strict) =
            tampered(|_, m| m.key_groups[0].keys[0].set("recipient", recipient(1)));
        assert!(plain.is_ok());
        let err = strict.unwrap_err();
        assert_eq!(err.exit_code(), 128, "{err}");
    }
}

mod random_trees {
    use super::*;
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Value> + Clone {
        prop_oneof![
            Just(Value::Null),
            ".{0,12}".prop_map(Value::Str),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::Bytes),
            any::<i64>().prop_map(Value::Int),
            any::<f64>()
                .prop_filter("NaN never equals itself", |f| !f.is_nan())
                .prop_map(Value::Float),
            any::<bool>().prop_map(Value::Bool),
        ]
    }

    fn value() -> impl Strategy<Value = Value> + Clone {
        scalar().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                // Comments are list elements or map entries, never map values.
                proptest::collection::vec(
                    prop_oneof![inner.clone(), " ?[a-z ]{0,8}".prop_map(Value::Comment)],
                    0..4
                )
                .prop_map(Value::List),
                map(inner).prop_map(Value::Map),
            ]
        })
    }

    fn map(inner: impl Strategy<Value = Value> + Clone) -> impl Strategy<Value = Map> {
        proptest::collection::vec(
            prop_oneof![
                ("[a-z_]{1,6}", inner).prop_map(|(k, v)| Entry::Pair(k, v)),
                " ?[a-z]{0,6}".prop_map(Entry::Comment),
            ],
            0..5,
        )
        .prop_map(|entries| Map {
            entries,
            layout: None,
        })
    }

    /// What decryption gives back: bytes that are UTF-8 come back as strings, empty list
    /// comments that were "encrypted" come back as empty strings (sops's quirk).
    fn normalize(v: &mut Value, selected_list_comment_empty: bool) {
        match v {
            Value::Bytes(b) => {
                if let Ok(s) = String::from_utf8(b.clone()) {
                    *v = Value::Str(s);
                }
            }
            Value::Map(m) => m.entries.iter_mut().for_each(|e| match e {
                Entry::Pair(_, v) => {
                    if matches!(v, Value::Comment(c) if c.is_empty()) {
                        *v = Value::Str(String::new());
                    } else {
                        normalize(v, selected_list_comment_empty);
                    }
                }
                Entry::Comment(_) => {}
            }),
            Value::List(l) => l.iter_mut().for_each(|item| {
                if selected_list_comment_empty && matches!(item, Value::Comment(c) if c.is_empty())
                {
                    *item = Value::Str(String::new());
                } else {
                    normalize(item, selected_list_comment_empty)
                }
            }),
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn encrypt_then_decrypt_is_identity(root in map(value()), second in map(value())) {
            let keys = keyring("key1.txt");
            let original = Tree { branches: vec![root, second] };
            let mut tree = original.clone();
            let metadata = block_on(ops::encrypt(&mut tree, &opts(vec![group(&[0])], None), &keys)).unwrap();
            let session = block_on(ops::decrypt(&mut tree, &metadata, &keys, DecryptOptions::default())).unwrap();
            let mut expected = original.clone();
            for b in &mut expected.branches {
                let mut v = Value::Map(std::mem::take(b));
                normalize(&mut v, true);
                let Value::Map(m) = v else { unreachable!() };
                *b = m;
            }
            prop_assert_eq!(&tree, &expected);
            // Re-encrypting with the session and decrypting again is stable.
            let mut metadata = metadata;
            ops::reencrypt(&mut tree, &mut metadata, &session, NOW).unwrap();
            block_on(ops::decrypt(&mut tree, &metadata, &keys, DecryptOptions { strict: true, ..Default::default() })).unwrap();
            prop_assert_eq!(&tree, &expected);
        }
    }
}

/// 100k values must encrypt and decrypt well under 0.3 s in release builds.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "timing is only meaningful in release builds"
)]
fn hundred_thousand_values_are_fast() {
    let mut root = Map::new();
    for i in 0..1000 {
        let mut m = Map::new();
        for j in 0..100 {
            m.push(
                format!("key{j}"),
                Value::Str(format!("value number {i}-{j}")),
            );
        }
        root.push(format!("service{i}"), Value::Map(m));
    }
    let mut tree = Tree {
        branches: vec![root],
    };
    let keys = keyring("key1.txt");
    let start = std::time::Instant::now();
    let metadata = block_on(ops::encrypt(
        &mut tree,
        &opts(vec![group(&[0])], None),
        &keys,
    ))
    .unwrap();
    let encrypt = start.elapsed();
    let start = std::time::Instant::now();
    block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keys,
        DecryptOptions::default(),
    ))
    .unwrap();
    let decrypt = start.elapsed();
    eprintln!("100k values: encrypt {encrypt:?}, decrypt {decrypt:?}");
    assert!(
        encrypt.as_secs_f64() < 0.3 && decrypt.as_secs_f64() < 0.3,
        "{encrypt:?} {decrypt:?}"
    );
}
