//! Decrypts every sops-made vector and compares with sops's own decrypted output byte
//! for byte; every tamper case gives sops's exit code and first message line.

use leafcrypt_core::keysource::age::AgeSource;
use leafcrypt_core::keysource::Keyring;
use leafcrypt_core::ops::{self, DecryptOptions, Session};
use leafcrypt_core::stores::{Document, Format};
use leafcrypt_core::{tree::Value, treepath, Error};
use pollster::block_on;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(path: &str) -> String {
    String::from_utf8(read(path)).unwrap()
}

fn keyring(identities: &str) -> Keyring {
    let source = AgeSource::from_identities_text(&text(&format!("age/{identities}"))).unwrap();
    Keyring::new().with(Box::new(source))
}

fn format_of(path: &str) -> Format {
    Format::from_path(path)
}

/// Parses and decrypts `path`; returns the document (decrypted tree) and session.
fn open(path: &str, identities: &str, opts: DecryptOptions) -> Result<(Document, Session), Error> {
    let store = format_of(path).store(None);
    let mut doc = store.parse(&read(path))?;
    let metadata = doc
        .metadata
        .clone()
        .expect("an encrypted vector has metadata");
    let session = block_on(ops::decrypt(
        &mut doc.tree,
        &metadata,
        &keyring(identities),
        opts,
    ))?;
    Ok((doc, session))
}

fn decrypt(path: &str, identities: &str, opts: DecryptOptions) -> Result<Vec<u8>, Error> {
    let (doc, _) = open(path, identities, opts)?;
    format_of(path).store(None).emit(&doc.tree, None)
}

fn assert_decrypts_to(path: &str, identities: &str, expected: &str) {
    let out = decrypt(path, identities, DecryptOptions::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&read(expected)),
        "{path}"
    );
    assert_eq!(out, read(expected), "{path}");
    // The strict checks accept everything sops writes.
    let strict = DecryptOptions {
        strict: true,
        ..Default::default()
    };
    let out = decrypt(path, identities, strict).unwrap_or_else(|e| panic!("{path} (strict): {e}"));
    assert_eq!(out, read(expected), "{path} (strict)");
}

fn first_line(path: &str) -> String {
    text(path).lines().next().unwrap_or_default().to_string()
}

fn exit_code(path: &str) -> i32 {
    text(path).trim().parse().unwrap()
}

#[test]
fn json_dotenv_ini_binary() {
    assert_decrypts_to("json/encrypted.json", "keys.txt", "json/decrypted.json");
    assert_decrypts_to("dotenv/encrypted.env", "keys.txt", "dotenv/decrypted.env");
    assert_decrypts_to("ini/encrypted.ini", "keys.txt", "ini/decrypted.ini");
    assert_decrypts_to("binary/encrypted.bin", "key1.txt", "binary/decrypted.bin");
}

#[test]
fn yaml_single_multidoc_multi_recipient_rotated_updatekeys() {
    assert_decrypts_to("yaml/encrypted.yaml", "key1.txt", "yaml/decrypted.yaml");
    assert_decrypts_to(
        "yaml/multidoc.encrypted.yaml",
        "keys.txt",
        "yaml/multidoc.decrypted.yaml",
    );
    assert_decrypts_to(
        "yaml/multi-recipient.yaml",
        "key2.txt",
        "yaml/multi-recipient.decrypted.yaml",
    );
    assert_decrypts_to(
        "yaml/multi-recipient.yaml",
        "key1.txt",
        "yaml/decrypted.yaml",
    );
    assert_decrypts_to("yaml/rotated.yaml", "keys.txt", "yaml/decrypted.yaml");
    assert_decrypts_to("yaml/updatekeys.yaml", "key3.txt", "yaml/decrypted.yaml");
}

#[test]
fn selectors() {
    for name in [
        "encrypted-regex",
        "unencrypted-regex",
        "encrypted-suffix",
        "unencrypted-suffix",
        "encrypted-comment-regex",
        "unencrypted-comment-regex",
        "mac-only-encrypted",
    ] {
        assert_decrypts_to(
            &format!("selectors/{name}.yaml"),
            "keys.txt",
            "selectors/decrypted.yaml",
        );
    }
}

#[test]
fn sops_list_comment_bug_is_reproduced() {
    let err = decrypt(
        "selectors/bug-list-comment.yaml",
        "keys.txt",
        DecryptOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.exit_code(),
        exit_code("selectors/bug-list-comment.exit")
    );
    assert_eq!(
        err.to_string(),
        first_line("selectors/bug-list-comment.stderr")
    );
}

#[test]
fn shamir_two_of_three_in_every_format() {
    for ext in ["json", "env", "ini", "yaml"] {
        let path = format!("shamir/shamir-2of3.{ext}");
        assert_decrypts_to(
            &path,
            "keys-2-and-4.txt",
            &format!("shamir/decrypted.{ext}"),
        );
        assert_decrypts_to(&path, "keys.txt", &format!("shamir/decrypted.{ext}"));
    }
}

#[test]
fn shamir_with_one_group_fails_like_sops() {
    for ext in ["json", "env", "ini", "yaml"] {
        let err = decrypt(
            &format!("shamir/shamir-2of3.{ext}"),
            "key2.txt",
            DecryptOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), exit_code("tamper/shamir-one-group.exit"));
        let got = err.to_string();
        let want = text("tamper/shamir-one-group.stderr");
        assert_eq!(got.lines().next(), want.lines().next());
        assert!(got.starts_with("Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: SUCCESS\n\nGroup 1: FAILED\n  age1p76takudzre9m80mnazswa30wdv36dqfg4qsmzlmrntkav9u2yqsrlt8gq: FAILED\n    - | failed to create reader for decrypting sops data key with\n      | age: identity did not match any of the recipients: incorrect\n      | identity for recipient block\n"), "{got}");
        let verdict = want.split("\n\n").last().unwrap().trim_end();
        assert!(got.ends_with(verdict), "{got}");
    }
}

#[test]
fn no_identity_fails_like_sops() {
    let err = decrypt("yaml/encrypted.yaml", "key2.txt", DecryptOptions::default()).unwrap_err();
    assert_eq!(err.exit_code(), exit_code("tamper/no-identity.exit"));
    let want = text("tamper/no-identity.stderr");
    assert_eq!(err.to_string().lines().next(), want.lines().next());
    let verdict = want.split("\n\n").last().unwrap().trim_end();
    assert!(err.to_string().ends_with(verdict), "{err}");
}

#[test]
fn legacy_layouts() {
    assert_decrypts_to(
        "legacy/legacy-3.7-style.yaml",
        "keys.txt",
        "legacy/legacy-3.7-style.decrypted.yaml",
    );
    assert_decrypts_to(
        "legacy/legacy-3.7-style.json",
        "keys.txt",
        "legacy/legacy-3.7-style.decrypted.json",
    );
}

#[test]
fn metadata_vectors_decrypt_with_age_first() {
    for path in [
        "metadata/all-kinds.yaml",
        "metadata/all-kinds.json",
        "metadata/all-kinds.env",
        "metadata/all-kinds.ini",
        "metadata/key-groups-all-kinds.yaml",
        "metadata/key-groups-all-kinds.json",
    ] {
        let (doc, _) = open(path, "keys.txt", DecryptOptions::default())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let added = treepath::get(
            &doc.tree.branches[0],
            &treepath::parse(r#"["added"]"#).unwrap(),
        )
        .unwrap();
        let expected = match added {
            Value::Map(m) => m.get("k").cloned(),
            other => Some(other.clone()),
        };
        assert_eq!(expected, Some(Value::Str("by sops set".into())), "{path}");
    }
}

#[test]
fn python_made_file() {
    assert_decrypts_to(
        "primitive/python-made.yaml",
        "key1.txt",
        "primitive/python-made.decrypted.yaml",
    );
}

/// Decrypt, add a value, re-encrypt with the same key: thanks to the IV stash every
/// value's ENC string is byte-identical to what sops wrote after the same `set`.
#[test]
fn reencrypt_reuses_ivs_like_sops_set() {
    let (mut doc, session) = open(
        "primitive/python-made.yaml",
        "key1.txt",
        DecryptOptions::default(),
    )
    .unwrap();
    let mut metadata = doc.metadata.clone().unwrap();
    let expected = text("primitive/python-made.sops-set.yaml");
    let now = expected
        .lines()
        .find_map(|l| l.trim().strip_prefix("lastmodified: "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    treepath::set(
        &mut doc.tree.branches[0],
        &treepath::parse(r#"["added"]"#).unwrap(),
        Value::Str("x".into()),
    )
    .unwrap();
    ops::reencrypt(&mut doc.tree, &mut metadata, &session, &now).unwrap();
    let out = String::from_utf8(
        Format::Yaml
            .store(None)
            .emit(&doc.tree, Some(&metadata))
            .unwrap(),
    )
    .unwrap();
    // Everything but `added` (fresh IV) and the MAC (fresh IV) is identical.
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("added: ") && !l.trim_start().starts_with("mac: "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&out), strip(&expected));
    // And the result decrypts with its new MAC.
    let mut tree = doc.tree.clone();
    block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keyring("key1.txt"),
        DecryptOptions::default(),
    ))
    .unwrap();
}

#[test]
fn tamper_cases_give_sops_exit_codes_and_messages() {
    for name in [
        "ciphertext-byte",
        "renamed-key",
        "unencrypted-value",
        "deleted-value",
        "list-swap",
        "mac-ciphertext",
        "lastmodified",
        "mac-empty",
        "renamed-unencrypted-key",
        "null-removed",
    ] {
        let path = format!("tamper/{name}.yaml");
        let code = exit_code(&format!("tamper/{name}.exit"));
        let result = decrypt(&path, "keys.txt", DecryptOptions::default());
        match result {
            Ok(_) => assert_eq!(code, 0, "{name} should fail"),
            Err(err) => {
                assert_eq!(err.exit_code(), code, "{name}: {err}");
                let want = first_line(&format!("tamper/{name}.stderr"));
                let got = err.to_string();
                // sops prints no key path; leafcrypt appends one in parentheses.
                assert!(
                    got == want || got.starts_with(&format!("{want} (at key path '")),
                    "{name}: {got}"
                );
            }
        }
    }
}

#[test]
fn ignore_mac_outputs_what_sops_outputs() {
    let opts = DecryptOptions {
        ignore_mac: true,
        ..Default::default()
    };
    let out = decrypt("tamper/unencrypted-value.yaml", "keys.txt", opts).unwrap();
    assert_eq!(out, read("tamper/unencrypted-value.ignore-mac.out"));
}
