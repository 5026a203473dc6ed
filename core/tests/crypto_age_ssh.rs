//! SSH keys and age plugins in the age key source, with the throwaway keys of
//! `tests/vectors/age-ssh` (and the file sops 3.11 encrypted to them).

use leafcrypt_core::keysource::age::{parse_recipient, AgeRecipient, AgeSource, AgeUi};
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource, Keyring};
use leafcrypt_core::ops::{self, DecryptOptions};
use leafcrypt_core::stores::Format;
use pollster::block_on;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/age-ssh");

fn file(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}/{name}")).unwrap()
}

fn public(name: &str) -> String {
    file(&format!("{name}.pub")).trim().to_string()
}

fn with_key(name: &str) -> AgeSource {
    let mut source = AgeSource::new();
    source
        .add_ssh_identity(&file(name), &format!("{DIR}/{name}"))
        .unwrap();
    source
}

fn wrap_to(recipient: &str) -> KeyEntry {
    block_on(AgeSource::new().wrap(
        &KeyEntry::new("age").with("recipient", recipient),
        &[9; 32],
        "",
    ))
    .unwrap()
}

/// A user interface that answers every passphrase request with `answer`, counting them.
struct Answer {
    answer: &'static str,
    asked: AtomicUsize,
}

impl AgeUi for Answer {
    fn message(&self, _: &str) {}
    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Result<bool, String> {
        Err("no".into())
    }
    fn request_public(&self, _: &str) -> Result<String, String> {
        Err("no".into())
    }
    fn request_secret(&self, prompt: &str) -> Result<age::secrecy::SecretString, String> {
        assert!(prompt.contains("locked_ed25519"), "{prompt}");
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(self.answer.to_string().into())
    }
}

#[test]
fn decrypts_the_sops_vector_with_each_ssh_key() {
    let text = std::fs::read(format!("{DIR}/encrypted.yaml")).unwrap();
    for key in ["id_ed25519", "id_rsa"] {
        let store = Format::Yaml.store(None);
        let mut doc = store.parse(&text).unwrap();
        let metadata = doc.metadata.clone().unwrap();
        let keyring = Keyring::new().with(Box::new(with_key(key)));
        block_on(ops::decrypt(
            &mut doc.tree,
            &metadata,
            &keyring,
            DecryptOptions {
                strict: true,
                ..Default::default()
            },
        ))
        .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(
            store.emit(&doc.tree, None).unwrap(),
            file("plain.yaml").into_bytes()
        );
    }
}

#[test]
fn ssh_recipients_wrap_and_unwrap_keeping_the_given_text() {
    for key in ["id_ed25519", "id_rsa"] {
        let recipient = public(key);
        assert!(recipient.ends_with(" throwaway@leafcrypt-vectors"));
        assert!(matches!(
            parse_recipient(&recipient).unwrap(),
            AgeRecipient::Ssh(_)
        ));
        let entry = wrap_to(&recipient);
        assert_eq!(entry.get("recipient"), Some(recipient.as_str()));
        let source = with_key(key);
        assert_eq!(source.identity_count(), 1);
        // The identity's recipient is the key without its comment.
        let listed: Vec<&str> = source.recipients().collect();
        assert_eq!(
            listed,
            [recipient.rsplit_once(' ').unwrap().0],
            "{key}: {listed:?}"
        );
        assert_eq!(block_on(source.unwrap(&entry)).unwrap().expose(), &[9; 32]);
        assert_eq!(
            block_on(source.unwrap_verified(&entry)).unwrap().expose(),
            &[9; 32]
        );
        // The same key given inside an identity text (the WebAssembly form).
        let text = format!("# ssh key\n{}\n", file(key));
        let source = AgeSource::from_identities_text(&text).unwrap();
        assert_eq!(block_on(source.unwrap(&entry)).unwrap().expose(), &[9; 32]);
    }
    // --strict: an entry whose recipient names another key is refused.
    let mut edited = wrap_to(&public("id_ed25519"));
    edited.set("recipient", public("id_rsa"));
    let both = {
        let mut s = with_key("id_ed25519");
        s.add_ssh_identity(&file("id_rsa"), "id_rsa").unwrap();
        s
    };
    assert!(block_on(both.unwrap(&edited)).is_ok());
    assert!(block_on(both.unwrap_verified(&edited)).is_err());
}

#[test]
fn a_locked_key_is_asked_for_only_when_the_file_is_for_it() {
    let locked = public("locked_ed25519");
    let for_locked = wrap_to(&locked);
    let for_other = wrap_to(&public("id_ed25519"));
    let ui = Arc::new(Answer {
        answer: "correct horse",
        asked: AtomicUsize::new(0),
    });
    let source = with_key("locked_ed25519").with_ui(ui.clone());
    // Not for it: never asked, the usual no-match error.
    let err = block_on(source.unwrap(&for_other)).unwrap_err();
    assert!(err.to_string().contains("did not match"), "{err}");
    assert_eq!(ui.asked.load(Ordering::SeqCst), 0);
    // For it: asked once, then the unlocked key is kept.
    assert_eq!(
        block_on(source.unwrap(&for_locked)).unwrap().expose(),
        &[9; 32]
    );
    assert_eq!(
        block_on(source.unwrap(&for_locked)).unwrap().expose(),
        &[9; 32]
    );
    assert_eq!(ui.asked.load(Ordering::SeqCst), 1);
    // A wrong passphrase, and no user interface at all.
    let wrong = with_key("locked_ed25519").with_ui(Arc::new(Answer {
        answer: "battery staple",
        asked: AtomicUsize::new(0),
    }));
    let err = block_on(wrong.unwrap(&for_locked)).unwrap_err().to_string();
    assert!(
        err.contains("incorrect passphrase") && !err.contains("staple"),
        "{err}"
    );
    let err = block_on(with_key("locked_ed25519").unwrap(&for_locked))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("could not read passphrase for") && err.contains("locked_ed25519"),
        "{err}"
    );
}

#[test]
fn bad_ssh_keys_and_recipients_are_clear_errors_without_key_material() {
    let mut source = AgeSource::new();
    let private = file("id_ed25519");
    let broken = private.replace('b', "#");
    // Parsed only when a file holds an SSH stanza; then named in the error.
    source
        .add_ssh_identity(&broken, "/home/u/.ssh/id_ed25519")
        .unwrap();
    let for_x25519 = wrap_to("age1n9rcejd5w44ruwspt4zcefh25afkkkvjfx0e2cknz9v23nsy9f5qlfswh9");
    let text = block_on(source.unwrap(&for_x25519))
        .unwrap_err()
        .to_string();
    assert!(
        !text.contains("id_ed25519"),
        "not parsed for an X25519 file: {text}"
    );
    let text = block_on(source.unwrap(&wrap_to(&public("id_ed25519"))))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("malformed SSH identity in \"/home/u/.ssh/id_ed25519\"")
            && !text.contains('#'),
        "{text}"
    );
    assert!(source.add_ssh_identity("not a key", "k").is_err());
    let err = AgeSource::from_identities_text(&format!("\n{broken}")).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    for (recipient, says) in [
        ("ssh-dss AAAAB3NzaC1kc3M=", "age-ssh public key"),
        ("ssh-ed25519 !!!", "age-ssh public key"),
        ("gpg:1234", "unknown recipient type"),
        ("age1nope", "Bech32-encoded age public key"),
        ("age1bad1name", "age plugin"),
    ] {
        let err = parse_recipient(recipient).unwrap_err();
        assert!(
            matches!(&err, KeyError::InvalidKey { message, .. } if message.contains(says)),
            "{recipient}: {err}"
        );
    }
}

#[test]
fn plugin_recipients_and_identities_are_told_apart() {
    let recipient = "age1leafcrypttest1x9ruz62pt63jzvt4845mcrxxpudt4mmmkxh86gknlwyq423hgfwsrk8m9h";
    match parse_recipient(recipient).unwrap() {
        AgeRecipient::Plugin(p) => assert_eq!(p.name(), "leafcrypttest"),
        other => panic!("{other:?}"),
    }
    let identity =
        "AGE-PLUGIN-LEAFCRYPTTEST-1YFG6NWVRP2NMKS3ZU5CL2SERNV57GF6YW0VQFXAHZLX0R97QG2EQ3ZS9RV";
    let source = AgeSource::from_identities_text(identity).unwrap();
    assert_eq!(source.identity_count(), 1);
    assert_eq!(source.recipients().count(), 0);
    // The plugin program is not on this PATH: wrapping names it.
    let err = block_on(AgeSource::new().wrap(
        &KeyEntry::new("age").with(
            "recipient",
            "age1nosuchplugin1x9ruz62pt63jzvt4845mcrxxpudt4mmmkxh86gknlwyq423hgfwsvf4ga8",
        ),
        b"k",
        "",
    ));
    if let Err(e) = err {
        assert!(e.to_string().contains("age-plugin-nosuchplugin"), "{e}");
    } else {
        panic!("a missing plugin cannot wrap");
    }
}
