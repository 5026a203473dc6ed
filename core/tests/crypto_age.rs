//! The age key source against the throwaway vector identities.

use leafcrypt_core::keysource::age::AgeSource;
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource};
use pollster::block_on;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/age");

fn key_file(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}/{name}")).unwrap()
}

fn recipients() -> Vec<String> {
    key_file("recipients.txt")
        .lines()
        .filter(|l| l.starts_with("age1"))
        .map(str::to_string)
        .collect()
}

#[test]
fn identities_text_skips_comments_and_blank_lines() {
    let source = AgeSource::from_identities_text(&key_file("keys.txt")).unwrap();
    assert_eq!(source.identity_count(), 4);
    assert_eq!(source.recipients().collect::<Vec<_>>(), recipients());
    let err = AgeSource::from_identities_text("# c\n\nAGE-SECRET-KEY-1BOGUS\n").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("line 3") && !text.contains("BOGUS"), "{text}");
    assert!(!format!("{source:?}").contains("AGE-SECRET-KEY"));
}

#[test]
fn wraps_in_sops_armor_and_unwraps() {
    let r1 = &recipients()[0];
    let entry = block_on(AgeSource::new().wrap(
        &KeyEntry::new("age").with("recipient", r1),
        &[7; 32],
        "now",
    ))
    .unwrap();
    assert_eq!(
        entry
            .fields
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        ["recipient", "enc"]
    );
    let enc = entry.get("enc").unwrap();
    assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
    assert!(enc.ends_with("\n-----END AGE ENCRYPTED FILE-----\n"));
    let body: Vec<&str> = enc
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("-----"))
        .collect();
    assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
    assert!(body.last().unwrap().len() <= 64);

    let key1 = AgeSource::from_identities_text(&key_file("key1.txt")).unwrap();
    assert_eq!(block_on(key1.unwrap(&entry)).unwrap().expose(), &[7; 32]);
    let key2 = AgeSource::from_identities_text(&key_file("key2.txt")).unwrap();
    let err = block_on(key2.unwrap(&entry)).unwrap_err();
    assert!(
        err.to_string()
            .contains("identity did not match any of the recipients"),
        "{err}"
    );
    assert!(matches!(
        block_on(AgeSource::new().unwrap(&entry)),
        Err(KeyError::NoIdentity { .. })
    ));
}

#[test]
fn strict_unwrap_requires_the_named_recipient() {
    let rs = recipients();
    let entry =
        block_on(AgeSource::new().wrap(&KeyEntry::new("age").with("recipient", &rs[0]), b"k", ""))
            .unwrap();
    let all = AgeSource::from_identities_text(&key_file("keys.txt")).unwrap();
    assert_eq!(
        block_on(all.unwrap_verified(&entry)).unwrap().expose(),
        b"k"
    );
    // The recipient field edited to another key the reader also holds: sops (and plain
    // unwrap) still opens it; the strict unwrap refuses.
    let mut edited = entry.clone();
    edited.set("recipient", &rs[1]);
    assert!(block_on(all.unwrap(&edited)).is_ok());
    assert!(block_on(all.unwrap_verified(&edited)).is_err());
}

#[test]
fn rejects_bad_recipients() {
    let err = block_on(AgeSource::new().wrap(
        &KeyEntry::new("age").with("recipient", "age1nope"),
        b"k",
        "",
    ))
    .unwrap_err();
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
}

#[test]
fn probe_compares_recipients_without_decrypting() {
    use leafcrypt_core::keysource::ProbeStatus;
    let r = recipients();
    // The entry has no enc at all: a probe needs none, so it cannot have decrypted.
    let entry = |i: usize| KeyEntry::new("age").with("recipient", r[i].as_str());
    let source = AgeSource::from_identities_text(&key_file("keys-2-and-4.txt")).unwrap();
    assert_eq!(
        block_on(source.probe(&entry(1))).status,
        ProbeStatus::Usable
    );
    assert_eq!(
        block_on(source.probe(&entry(3))).status,
        ProbeStatus::Usable
    );
    let p = block_on(source.probe(&entry(0)));
    assert_eq!(p.status, ProbeStatus::Unusable);
    assert!(p.detail.contains("(2 identities loaded)"), "{}", p.detail);
    assert!(p.advice.unwrap().contains("SOPS_AGE_KEY_FILE"));
    let p = block_on(AgeSource::new().probe(&entry(0)));
    assert!(p.detail.contains("(0 identities loaded)"), "{}", p.detail);
}
