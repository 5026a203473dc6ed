//! Encrypting the vectors' plaintexts encrypts exactly the leaves sops encrypted, with
//! the same types, in the same layout: our output equals sops's once every ENC string
//! is reduced to its type and the (random) `sops` block is dropped. Then it decrypts
//! back to sops's decrypted output.

use leafcrypt_core::keysource::age::AgeSource;
use leafcrypt_core::keysource::{KeyEntry, Keyring};
use leafcrypt_core::metadata::{KeyGroup, Selector};
use leafcrypt_core::ops::{self, DecryptOptions, EncryptOptions};
use leafcrypt_core::stores::Format;
use pollster::block_on;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors");
const R1: &str = "age1n9rcejd5w44ruwspt4zcefh25afkkkvjfx0e2cknz9v23nsy9f5qlfswh9";

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn keyring() -> Keyring {
    let text = String::from_utf8(read("age/key1.txt")).unwrap();
    Keyring::new().with(Box::new(AgeSource::from_identities_text(&text).unwrap()))
}

/// `ENC[AES256_GCM,…,type:t]` → `ENC[t]`, and the metadata left out.
fn mask(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line == "sops:"
            || line.starts_with("sops_")
            || line.starts_with("\t\"sops\"")
            || line == "[sops]"
        {
            break;
        }
        let mut rest = line;
        while let Some(start) = rest.find("ENC[AES256_GCM,") {
            out.push_str(&rest[..start]);
            let tail = &rest[start..];
            let ty_at = tail.find(",type:").expect("an ENC string has a type");
            let end = ty_at + tail[ty_at..].find(']').expect("closing bracket");
            out.push_str(&format!("ENC[{}]", &tail[ty_at + 6..end]));
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}

fn check(
    plain: &str,
    sops_encrypted: &str,
    sops_decrypted: &str,
    selector: Option<Selector>,
    mac_only: bool,
) {
    let format = Format::from_path(plain);
    let store = format.store(None);
    let mut tree = store.parse(&read(plain)).unwrap().tree;
    let opts = EncryptOptions {
        key_groups: vec![KeyGroup {
            keys: vec![KeyEntry::new("age").with("recipient", R1)],
        }],
        selector,
        store_selector: format != Format::Binary,
        mac_only_encrypted: mac_only,
        now: "2026-11-29T01:29:59Z".into(),
        ..Default::default()
    };
    let metadata = block_on(ops::encrypt(&mut tree, &opts, &keyring())).unwrap();
    let ours = String::from_utf8(store.emit(&tree, Some(&metadata)).unwrap()).unwrap();
    let theirs = String::from_utf8(read(sops_encrypted)).unwrap();
    assert_eq!(mask(&ours), mask(&theirs), "{plain} vs {sops_encrypted}");

    // Our file, parsed back, decrypts to what sops decrypts its own to.
    let doc = store.parse(ours.as_bytes()).unwrap();
    let mut tree = doc.tree;
    let metadata = doc.metadata.expect("metadata written");
    block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keyring(),
        DecryptOptions {
            strict: true,
            ignore_mac: false,
            ..Default::default()
        },
    ))
    .unwrap_or_else(|e| panic!("{plain}: {e}"));
    assert_eq!(
        store.emit(&tree, None).unwrap(),
        read(sops_decrypted),
        "{plain}"
    );
}

#[test]
fn default_selector_in_every_store() {
    check(
        "yaml/plain.yaml",
        "yaml/encrypted.yaml",
        "yaml/decrypted.yaml",
        None,
        false,
    );
    check(
        "json/plain.json",
        "json/encrypted.json",
        "json/decrypted.json",
        None,
        false,
    );
    check(
        "dotenv/plain.env",
        "dotenv/encrypted.env",
        "dotenv/decrypted.env",
        None,
        false,
    );
    check(
        "ini/plain.ini",
        "ini/encrypted.ini",
        "ini/decrypted.ini",
        None,
        false,
    );
    check(
        "yaml/multidoc.plain.yaml",
        "yaml/multidoc.encrypted.yaml",
        "yaml/multidoc.decrypted.yaml",
        None,
        false,
    );
}

#[test]
fn every_selector_like_sops() {
    let cases = [
        (
            "encrypted-regex",
            Selector::EncryptedRegex("^(password|data)$".into()),
            false,
        ),
        (
            "unencrypted-regex",
            Selector::UnencryptedRegex("^(app|name|note)$".into()),
            false,
        ),
        (
            "encrypted-suffix",
            Selector::EncryptedSuffix("_secret".into()),
            false,
        ),
        (
            "unencrypted-suffix",
            Selector::UnencryptedSuffix("_public".into()),
            false,
        ),
        (
            "encrypted-comment-regex",
            Selector::EncryptedCommentRegex("sops:enc".into()),
            false,
        ),
        (
            "unencrypted-comment-regex",
            Selector::UnencryptedCommentRegex("sops:plain".into()),
            false,
        ),
        (
            "mac-only-encrypted",
            Selector::EncryptedRegex("^(password|data)$".into()),
            true,
        ),
    ];
    for (name, selector, mac_only) in cases {
        check(
            "selectors/plain.yaml",
            &format!("selectors/{name}.yaml"),
            "selectors/decrypted.yaml",
            Some(selector),
            mac_only,
        );
    }
}

/// sops writes a file it cannot read back here (§4 quirk); so do we, identically.
#[test]
fn list_comment_bug_is_written_like_sops() {
    let store = Format::Yaml.store(None);
    let mut tree = store
        .parse(&read("selectors/bug-list-comment.plain.yaml"))
        .unwrap()
        .tree;
    let opts = EncryptOptions {
        key_groups: vec![KeyGroup {
            keys: vec![KeyEntry::new("age").with("recipient", R1)],
        }],
        selector: Some(Selector::EncryptedCommentRegex("sops:enc".into())),
        store_selector: true,
        now: "2026-11-29T01:29:59Z".into(),
        ..Default::default()
    };
    let metadata = block_on(ops::encrypt(&mut tree, &opts, &keyring())).unwrap();
    let ours = String::from_utf8(store.emit(&tree, Some(&metadata)).unwrap()).unwrap();
    let theirs = String::from_utf8(read("selectors/bug-list-comment.yaml")).unwrap();
    assert_eq!(mask(&ours), mask(&theirs));
    let err = block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keyring(),
        DecryptOptions::default(),
    ))
    .unwrap_err();
    assert_eq!(err.exit_code(), 51);
    assert!(err.to_string().starts_with("MAC mismatch."), "{err}");
}
