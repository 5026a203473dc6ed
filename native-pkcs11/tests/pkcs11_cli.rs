//! The `leafcrypt` CLI with PKCS#11 KEKs on a private SoftHSM2 token per test: every
//! mechanism the backend offers, every store, rotation, age + pkcs11 files, Shamir groups,
//! interoperability with the real sops, and the errors people will meet.

mod softhsm;

use softhsm::{SoftHsm, PIN};
use std::path::PathBuf;

/// stderr with sops's wrapped report lines (`| …`) joined back into one line.
fn stderr(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let mut flat = String::with_capacity(text.len());
    for line in text.lines() {
        match line.trim_start().strip_prefix("| ") {
            Some(rest) => {
                flat.push(' ');
                flat.push_str(rest);
            }
            None => {
                flat.push('\n');
                flat.push_str(line);
            }
        }
    }
    flat
}

/// The real sops 3.11: `SOPS_BIN`, else the copies `scripts/setup` or the image install.
fn sops_bin() -> PathBuf {
    let candidates = [
        std::env::var_os("SOPS_BIN").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.tools/sops/bin/sops"
        ))),
        Some(PathBuf::from("/opt/sopsvenv/bin/sops")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .expect("the real sops 3.11 is needed: run scripts/setup or set SOPS_BIN")
}

const PLAIN: &[(&str, &str)] = &[
    (
        "yaml",
        "db:\n    password: s3cr3t\n    port: 5432\nlist:\n    - a\n    - 2\n",
    ),
    (
        "json",
        "{\n\t\"password\": \"s3cr3t\",\n\t\"port\": 5432\n}\n",
    ),
    ("env", "PASSWORD=s3cr3t\nPORT=5432\n"),
    ("ini", "[db]\npassword = s3cr3t\nport     = 5432\n"),
    ("bin", "raw \u{0} bytes\nline two\n"),
];

/// Each KEK kind and mechanism SoftHSM offers: encrypt and decrypt files of every store,
/// then rotate, with the mechanism and CKA_ID recorded in the entry.
#[test]
fn every_mechanism_round_trips_every_store_and_rotates() {
    let hsm = SoftHsm::new("lc-stores");
    let aes = hsm.keygen("kek-aes", "aes");
    let rsa = hsm.keygen("kek-rsa", "rsa");
    let id_of = |uri: &str| {
        uri.rsplit("id=")
            .next()
            .unwrap_or_default()
            .replace('%', "")
    };
    let keys = [
        (
            "pkcs11:token=lc-stores;object=kek-aes",
            "AES-GCM",
            id_of(&aes),
        ),
        (
            "pkcs11:token=lc-stores;object=kek-rsa?x-mechanism=RSA-OAEP-SHA1",
            "RSA-OAEP-SHA1",
            id_of(&rsa),
        ),
        (
            "pkcs11:token=lc-stores;object=kek-rsa?x-mechanism=RSA-X509%2BOAEP-SHA256",
            "RSA-X509+OAEP-SHA256",
            id_of(&rsa),
        ),
    ];
    for (uri, mechanism, id) in &keys {
        for (ext, text) in PLAIN {
            let plain = hsm.path(&format!("plain.{ext}"));
            std::fs::write(&plain, text).unwrap();
            let enc = hsm.path(&format!("enc-{mechanism}.{ext}"));
            let p = plain.to_str().unwrap();
            let e = enc.to_str().unwrap();
            hsm.ok(&["encrypt", "--pkcs11", uri, "--output", e, p]);
            let written = std::fs::read_to_string(&enc).unwrap();
            assert!(!written.contains("s3cr3t"), "{ext}: plaintext leaked");
            assert!(
                written.contains(mechanism),
                "{ext}: mechanism {mechanism} not recorded:\n{written}"
            );
            assert!(
                written.contains(id.as_str()),
                "{ext}: CKA_ID {id} not recorded"
            );
            assert!(!written.contains("x-mechanism") && !written.contains("module-path"));
            assert_eq!(hsm.ok(&["decrypt", e]), *text, "{mechanism} {ext}");
            hsm.ok(&["rotate", "-i", e]);
            let rotated = std::fs::read_to_string(&enc).unwrap();
            assert_ne!(rotated, written, "rotate re-encrypts");
            assert_eq!(
                hsm.ok(&["decrypt", e]),
                *text,
                "{mechanism} {ext} after rotate"
            );
        }
    }
}

/// A key made by `pkcs11 keygen --type rsa` works as created: SoftHSM2 has no OAEP-SHA256
/// on the token, so the default falls back to raw RSA with OAEP-SHA256 in software (same
/// ciphertext), recorded in the entry, and the file decrypts on the token.
#[test]
fn rsa_keygen_then_encrypt_works_on_softhsm_without_flags() {
    let hsm = SoftHsm::new("lc-sha256");
    hsm.keygen("kek-rsa", "rsa");
    let plain = hsm.path("s.yaml");
    std::fs::write(&plain, "a: secret\n").unwrap();
    let out = hsm.run(&[
        "encrypt",
        "--pkcs11",
        "pkcs11:token=lc-sha256;object=kek-rsa",
        plain.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let enc = String::from_utf8(out.stdout).unwrap();
    assert!(enc.contains("mechanism: RSA-X509+OAEP-SHA256"), "{enc}");
    let enc_path = hsm.path("s.enc.yaml");
    std::fs::write(&enc_path, &enc).unwrap();
    let out = hsm.run(&[
        "decrypt",
        "--pkcs11",
        "pkcs11:token=lc-sha256",
        enc_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "a: secret\n");
}

/// Asked for explicitly, a mechanism the token lacks is an error that names the alternative.
#[test]
fn rsa_oaep_sha256_asked_for_on_softhsm_names_the_alternative() {
    let hsm = SoftHsm::new("lc-sha256x");
    hsm.keygen("kek-rsa", "rsa");
    let plain = hsm.path("s.yaml");
    std::fs::write(&plain, "a: 1\n").unwrap();
    let out = hsm.run(&[
        "encrypt",
        "--pkcs11",
        "pkcs11:token=lc-sha256x;object=kek-rsa?x-mechanism=RSA-OAEP-SHA256",
        plain.to_str().unwrap(),
    ]);
    // A key that cannot wrap is sops's "Could not generate data key" (exit 1).
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.trim_start()
            .starts_with("Could not generate data key: ["),
        "{err}"
    );
    assert!(err.contains("does not support RSA-OAEP-SHA256"), "{err}");
    assert!(err.contains("x-mechanism=RSA-X509+OAEP-SHA256"), "{err}");
}

/// A file with an age key and a pkcs11 key decrypts with either; the real sops decrypts it
/// with the age key; after sops rewrites it (dropping the unknown pkcs11 entry),
/// `leafcrypt updatekeys` restores the entry and the token alone decrypts it again.
#[test]
fn age_plus_pkcs11_with_sops_interop_and_updatekeys_restore() {
    let hsm = SoftHsm::new("lc-interop");
    hsm.keygen("kek", "aes");
    let key_file = hsm.path("age.txt");
    let out = hsm.run(&["age-keygen", "--output", key_file.to_str().unwrap()]);
    assert!(out.status.success());
    let recipient = stderr(&out)
        .split_whitespace()
        .find(|w| w.starts_with("age1"))
        .expect("recipient on stderr")
        .to_string();
    let uri = "pkcs11:token=lc-interop;object=kek";
    let plain = hsm.path("s.yaml");
    std::fs::write(&plain, "password: s3cr3t\ncount: 3\n").unwrap();
    let enc = hsm.path("s.enc.yaml");
    let e = enc.to_str().unwrap();
    hsm.ok(&[
        "encrypt",
        "--age",
        &recipient,
        "--pkcs11",
        uri,
        "--output",
        e,
        plain.to_str().unwrap(),
    ]);
    let written = std::fs::read_to_string(&enc).unwrap();
    assert!(
        written.contains("    age:") && written.contains("    pkcs11:"),
        "{written}"
    );

    // Either key alone.
    let by_age = hsm
        .leafcrypt()
        .env_remove("LEAFCRYPT_PKCS11_PIN")
        .env("SOPS_AGE_KEY_FILE", &key_file)
        .args(["decrypt", e])
        .output()
        .unwrap();
    assert!(by_age.status.success(), "{}", stderr(&by_age));
    assert_eq!(hsm.ok(&["decrypt", e]), "password: s3cr3t\ncount: 3\n");

    // The real sops, via age.
    let sops = sops_bin();
    let run_sops = |args: &[&str]| {
        std::process::Command::new(&sops)
            .env("SOPS_AGE_KEY_FILE", &key_file)
            .current_dir(hsm.dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run_sops(&["decrypt", e]);
    assert!(out.status.success(), "sops: {}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "password: s3cr3t\ncount: 3\n"
    );
    let out = run_sops(&["set", e, "[\"count\"]", "4"]);
    assert!(out.status.success(), "sops set: {}", stderr(&out));
    let rewritten = std::fs::read_to_string(&enc).unwrap();
    assert!(
        !rewritten.contains("pkcs11"),
        "sops 3.11 drops the unknown entry"
    );
    let hsm_only = hsm.run(&["decrypt", e]);
    assert_eq!(
        hsm_only.status.code(),
        Some(128),
        "no pkcs11 entry any more"
    );

    // updatekeys brings it back from .sops.yaml (the age key recovers the data key).
    let conf_dir = hsm.path("conf");
    std::fs::create_dir(&conf_dir).unwrap();
    let conf = conf_dir.join(".sops.yaml");
    std::fs::write(
        &conf,
        format!("creation_rules:\n  - age: {recipient}\n    pkcs11: {uri}\n"),
    )
    .unwrap();
    let out = hsm
        .leafcrypt()
        .env("SOPS_AGE_KEY_FILE", &key_file)
        .args(["updatekeys", "-y", "--config", conf.to_str().unwrap(), e])
        .output()
        .unwrap();
    assert!(out.status.success(), "updatekeys: {}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("+++ {uri}")),
        "{}",
        stderr(&out)
    );
    let restored = std::fs::read_to_string(&enc).unwrap();
    assert!(
        restored.contains("    pkcs11:") && restored.contains("mechanism: AES-GCM"),
        "{restored}"
    );
    assert_eq!(
        hsm.ok(&["decrypt", e]),
        "password: s3cr3t\ncount: 4\n",
        "the token alone"
    );
    // And the config's view now matches the file: nothing more to do.
    let out = hsm
        .leafcrypt()
        .args(["updatekeys", "-y", "--config", conf.to_str().unwrap(), e])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("already up to date"),
        "{}",
        stderr(&out)
    );

    // rotate --rm-pkcs11 / --add-pkcs11.
    hsm.ok(&["rotate", "-i", "--rm-pkcs11", uri, e]);
    assert!(!std::fs::read_to_string(&enc).unwrap().contains("pkcs11"));
    let out = hsm
        .leafcrypt()
        .env("SOPS_AGE_KEY_FILE", &key_file)
        .args(["rotate", "-i", "--add-pkcs11", uri, e])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hsm.ok(&["decrypt", e]), "password: s3cr3t\ncount: 4\n");
}

/// Three groups (age, pkcs11, age) with threshold 2: the token plus one age key recover the
/// data key; one age key alone does not.
#[test]
fn shamir_groups_mixing_pkcs11_and_age() {
    let hsm = SoftHsm::new("lc-shamir");
    hsm.keygen("kek", "rsa");
    let mut recipients = Vec::new();
    for n in ["a1.txt", "a2.txt"] {
        let out = hsm.run(&["age-keygen", "--output", hsm.path(n).to_str().unwrap()]);
        recipients.push(
            stderr(&out)
                .split_whitespace()
                .find(|w| w.starts_with("age1"))
                .unwrap()
                .to_string(),
        );
    }
    std::fs::write(
        hsm.path(".sops.yaml"),
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - pkcs11:\n          - pkcs11:token=lc-shamir;object=kek?x-mechanism=RSA-X509%2BOAEP-SHA256\n      - age: [{}]\n",
            recipients[0], recipients[1]
        ),
    )
    .unwrap();
    std::fs::write(hsm.path("s.json"), "{\"k\": \"v\"}").unwrap();
    let enc = hsm.ok(&["encrypt", "s.json"]);
    assert!(
        enc.contains("\"shamir_threshold\": 2") && enc.contains("RSA-X509+OAEP-SHA256"),
        "{enc}"
    );
    std::fs::write(hsm.path("s.enc.json"), &enc).unwrap();
    let with = |pin: bool| {
        let mut c = hsm.leafcrypt();
        c.env("SOPS_AGE_KEY_FILE", hsm.path("a1.txt"));
        if !pin {
            c.env_remove("LEAFCRYPT_PKCS11_PIN");
        }
        c.args(["decrypt", "s.enc.json"]).output().unwrap()
    };
    let out = with(true);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\n\t\"k\": \"v\"\n}\n"
    );
    let out = with(false);
    assert_eq!(out.status.code(), Some(128));
    assert!(
        stderr(&out).contains("no PIN for token 'lc-shamir'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn wrong_pin_is_a_clear_error_that_never_shows_a_pin() {
    let hsm = SoftHsm::new("lc-pin");
    hsm.keygen("kek", "aes");
    hsm.keygen("kek2", "aes");
    std::fs::write(hsm.path("s.yaml"), "a: b\n").unwrap();
    let enc = hsm.ok(&[
        "encrypt",
        "--pkcs11",
        "pkcs11:token=lc-pin;object=kek,pkcs11:token=lc-pin;object=kek2",
        "s.yaml",
    ]);
    std::fs::write(hsm.path("e.yaml"), enc).unwrap();
    let out = hsm
        .leafcrypt()
        .env("LEAFCRYPT_PKCS11_PIN", "999111")
        .args(["decrypt", "e.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128));
    let err = stderr(&out);
    assert!(err.contains("CKR_PIN_INCORRECT"), "{err}");
    assert!(!err.contains("999111") && !err.contains(PIN), "{err}");
    // The right PIN from a pin-source file still works (the token is not locked).
    let pin_file = hsm.path("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let hint = format!("pkcs11:token=lc-pin?pin-source=file:{}", pin_file.display());
    let out = hsm
        .leafcrypt()
        .env_remove("LEAFCRYPT_PKCS11_PIN")
        .args(["decrypt", "--pkcs11", &hint, "e.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a: b\n");
}

#[test]
fn missing_object_token_and_module_are_clear_errors() {
    let hsm = SoftHsm::new("lc-missing");
    hsm.keygen("kek", "aes");
    std::fs::write(hsm.path("s.yaml"), "a: b\n").unwrap();
    let cases = [
        (
            "pkcs11:token=lc-missing;object=nope",
            "no key object matches pkcs11:token=lc-missing;object=nope",
        ),
        (
            "pkcs11:token=elsewhere;object=kek",
            "no PKCS#11 token matches pkcs11:token=elsewhere;object=kek",
        ),
        (
            "pkcs11:token=lc-missing;object=kek?module-path=/nonexistent/p11.so",
            "cannot load PKCS#11 module /nonexistent/p11.so",
        ),
        ("token=lc-missing", "does not start with pkcs11:"),
    ];
    for (uri, want) in cases {
        let out = hsm.run(&["encrypt", "--pkcs11", uri, "s.yaml"]);
        assert!(!out.status.success(), "{uri}");
        assert!(stderr(&out).contains(want), "{uri}: {}", stderr(&out));
    }
    // A file whose key object was deleted: decrypt names the object and its CKA_ID.
    let enc = hsm.ok(&[
        "encrypt",
        "--pkcs11",
        "pkcs11:token=lc-missing;object=kek",
        "s.yaml",
    ]);
    let gone = enc.replace("object=kek", "object=deleted");
    std::fs::write(hsm.path("e.yaml"), gone).unwrap();
    let out = hsm.run(&["decrypt", "--ignore-mac", "e.yaml"]);
    assert_eq!(out.status.code(), Some(128));
    assert!(
        stderr(&out).contains(
            "no key object matches pkcs11:token=lc-missing;object=deleted (AES secret key, CKA_ID"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn keygen_refuses_an_existing_label_and_list_shows_usable_keys() {
    let hsm = SoftHsm::new("lc-list");
    let aes = hsm.keygen("kek", "aes");
    assert!(
        aes.starts_with("pkcs11:token=lc-list;object=kek;id=%"),
        "{aes}"
    );
    let out = hsm.run(&["pkcs11", "keygen", "pkcs11:token=lc-list;object=kek"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    hsm.keygen("pair", "rsa");
    let listed = hsm.ok(&["pkcs11", "list"]);
    assert!(
        listed.contains(&format!("{aes}  AES-256 secret key (AES-GCM)")),
        "{listed}"
    );
    assert!(
        listed.contains("object=pair;") && listed.contains("RSA-2048 private key (unwraps)"),
        "{listed}"
    );
    let public_only = hsm
        .leafcrypt()
        .env_remove("LEAFCRYPT_PKCS11_PIN")
        .args(["pkcs11", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&public_only.stdout);
    assert!(
        text.contains("public objects only")
            && text.contains("RSA-2048 public key")
            && !text.contains("AES-256"),
        "{text}"
    );
}
