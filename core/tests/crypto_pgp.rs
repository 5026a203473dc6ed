//! The pure-Rust PGP key source (feature `pgp`) against files the real sops wrote with
//! gpg, and against the real `gpg` binary (Debian's gnupg) for the other direction.

use leafcrypt_core::keysource::pgp::{entry, PgpSource};
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource, Keyring};
use leafcrypt_core::metadata::KeyGroup;
use leafcrypt_core::ops::{self, DecryptOptions, EncryptOptions};
use leafcrypt_core::stores::Format;
use pollster::block_on;
use std::io::Write;
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pgp");
const KEY1: &str = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4";
const KEY1_SUBKEY: &str = "71D962851765394F76DB9CFC25294A17CD90507F";
const KEY2: &str = "D7229043384BCC60326C6FB9D8720D957C3D3074";
const KEY3: &str = "B611A2F9F11D0FF82568805119F9B5DAEA91FF86";
const PROTECTED: &str = "660341E9B82A2BFCFBFD8E2C2554E0810DDBA328";
const PASSPHRASE: &str = "correct horse battery";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(name: &str) -> String {
    String::from_utf8(read(name)).unwrap()
}

fn functional_keys() -> PgpSource {
    let mut source = PgpSource::new();
    source
        .add_private_keys_text(&text("sops_functional_tests_key.asc"))
        .unwrap();
    source
}

fn protected_keys(passphrase: Option<&str>) -> PgpSource {
    let mut source = PgpSource::new();
    source
        .add_private_keys_text(&text("protected.sec.asc"))
        .unwrap();
    if let Some(p) = passphrase {
        source.set_passphrase(Zeroizing::new(p.to_string()));
    }
    source
}

/// Decrypts the sops-made `name` with `source` and compares with sops's own output.
fn assert_decrypts_like_sops(name: &str, source: PgpSource) {
    let format = Format::from_path(name);
    let store = format.store(None);
    let mut doc = store.parse(&read(name)).unwrap();
    let metadata = doc.metadata.clone().unwrap();
    let keyring = Keyring::new().with(Box::new(source));
    block_on(ops::decrypt(
        &mut doc.tree,
        &metadata,
        &keyring,
        DecryptOptions::default(),
    ))
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let out = store.emit(&doc.tree, None).unwrap();
    let expected = read(&name.replace(".enc.", ".decrypted."));
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&expected),
        "{name}"
    );
}

#[test]
fn loads_every_key_of_a_multi_block_file() {
    let source = functional_keys();
    assert_eq!(source.private_fingerprints(), [KEY1, KEY2]);
    assert_eq!(source.public_fingerprints(), [KEY1, KEY2, KEY3]);
    let debug = format!("{source:?}");
    assert!(!debug.contains("PRIVATE"), "{debug}");
    let err = PgpSource::new()
        .add_public_keys_text("not a key")
        .unwrap_err();
    assert!(
        err.to_string().contains("no ASCII-armored OpenPGP key"),
        "{err}"
    );
    let mut broken = text("protected.pub.asc");
    broken.replace_range(100..104, "****");
    let err = PgpSource::new().add_public_keys_text(&broken).unwrap_err();
    assert!(err.to_string().contains("armored block 1"), "{err}");
}

#[test]
fn decrypts_files_sops_wrote_with_gpg() {
    // sops 3.6.1 and 3.3.1 (the functional suite's res files), RSA 2048 and 1024 keys.
    assert_decrypts_like_sops("sops-functional-comments.enc.yaml", functional_keys());
    assert_decrypts_like_sops("sops-functional-multiple_keys.enc.yaml", functional_keys());
    // sops 3.11.0 with GnuPG 2.2.40.
    assert_decrypts_like_sops("sops311-key1.enc.yaml", functional_keys());
}

#[test]
fn decrypts_with_a_passphrase_protected_key() {
    assert_decrypts_like_sops(
        "sops311-protected.enc.json",
        protected_keys(Some(PASSPHRASE)),
    );
    let doc = Format::Json
        .store(None)
        .parse(&read("sops311-protected.enc.json"))
        .unwrap();
    let pgp = doc.metadata.unwrap().key_groups[0].keys[0].clone();
    for (source, expected) in [
        (protected_keys(None), "no passphrase was given"),
        (
            protected_keys(Some("wrong")),
            "the passphrase given does not unlock it",
        ),
    ] {
        let err = block_on(source.unwrap(&pgp)).unwrap_err().to_string();
        assert!(err.contains(expected) && err.contains(PROTECTED), "{err}");
        assert!(!err.contains("wrong"), "the passphrase leaked: {err}");
    }
    // A key the message is not encrypted to: the error names the fingerprint and key id.
    let err = block_on(functional_keys().unwrap(&pgp))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no private key given for it") && err.contains(PROTECTED),
        "{err}"
    );
    assert!(matches!(
        block_on(PgpSource::new().unwrap(&pgp)),
        Err(KeyError::NoIdentity { .. })
    ));
}

#[test]
fn wraps_like_gpg_and_unwraps() {
    let source = functional_keys();
    let now = "2026-01-02T03:04:05Z";
    let wrapped = block_on(source.wrap(&entry(KEY1), &[9; 32], now)).unwrap();
    assert_eq!(wrapped.get("fp"), Some(KEY1));
    assert_eq!(wrapped.get("created_at"), Some(now));
    let enc = wrapped.get("enc").unwrap();
    // gpg's armor, trimmed as sops stores it.
    assert!(enc.starts_with("-----BEGIN PGP MESSAGE-----\n\n"), "{enc}");
    assert!(enc.ends_with("\n-----END PGP MESSAGE-----"), "{enc}");
    let lines: Vec<&str> = enc.lines().collect();
    let crc = lines[lines.len() - 2];
    assert!(crc.starts_with('=') && crc.len() == 5, "{enc}");
    assert!(
        lines[2..lines.len() - 3].iter().all(|l| l.len() == 64),
        "{enc}"
    );
    assert_eq!(
        block_on(source.unwrap(&wrapped)).unwrap().expose(),
        &[9; 32]
    );

    // A public key alone encrypts; a subkey fingerprint selects that subkey.
    let mut public = PgpSource::new();
    let added = public
        .add_public_keys_text(&text("protected.pub.asc"))
        .unwrap();
    assert_eq!(added, [PROTECTED]);
    let by_subkey = block_on(public.wrap(&entry(KEY1_SUBKEY), b"k", now));
    assert!(by_subkey
        .unwrap_err()
        .to_string()
        .contains("is not available"));
    let wrapped = block_on(public.wrap(&entry(PROTECTED), b"data key", now)).unwrap();
    let plain = block_on(protected_keys(Some(PASSPHRASE)).unwrap(&wrapped)).unwrap();
    assert_eq!(plain.expose(), b"data key");
    let wrapped = block_on(source.wrap(&entry(KEY1_SUBKEY), b"sub", now)).unwrap();
    assert_eq!(wrapped.get("fp"), Some(KEY1_SUBKEY));
    assert_eq!(block_on(source.unwrap(&wrapped)).unwrap().expose(), b"sub");

    // Key 3 has no secret key here; a short key id is refused.
    let wrapped = block_on(source.wrap(&entry(KEY3), b"x", now)).unwrap();
    let err = block_on(source.unwrap(&wrapped)).unwrap_err().to_string();
    assert!(err.contains("no private key given for it"), "{err}");
    let err = block_on(source.wrap(&entry("3D16CEE4A27381B4"), b"x", now)).unwrap_err();
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
}

#[test]
fn a_whole_file_for_two_pgp_groups_round_trips() {
    let mut tree = Format::Yaml
        .store(None)
        .parse(b"a: 1\nb: [x, y]\n")
        .unwrap()
        .tree;
    let original = tree.clone();
    let keyring = Keyring::new().with(Box::new(functional_keys()));
    let options = EncryptOptions {
        key_groups: vec![
            KeyGroup {
                keys: vec![entry(KEY1)],
            },
            KeyGroup {
                keys: vec![entry(KEY2)],
            },
        ],
        shamir_threshold: 2,
        now: "2026-01-02T03:04:05Z".into(),
        ..Default::default()
    };
    let metadata = block_on(ops::encrypt(&mut tree, &options, &keyring)).unwrap();
    let fps: Vec<Vec<String>> = metadata
        .key_groups
        .iter()
        .map(|g| g.keys.iter().map(KeyEntry::identity).collect())
        .collect();
    assert_eq!(fps, [[KEY1], [KEY2]]);
    block_on(ops::decrypt(
        &mut tree,
        &metadata,
        &keyring,
        DecryptOptions::default(),
    ))
    .unwrap();
    assert_eq!(tree, original);
}

/// A throwaway GnuPG home with the functional-test keys, its agent killed on drop.
struct GnupgHome(tempfile::TempDir);

impl GnupgHome {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = Self(dir);
        let out = home
            .gpg(&[
                "--batch",
                "--import",
                &format!("{DIR}/sops_functional_tests_key.asc"),
            ])
            .output()
            .expect("gpg (Debian's gnupg) is needed for this test: apt-get install gnupg");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        home
    }

    fn gpg(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.0.path()).args(args);
        cmd
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.0.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

#[test]
fn real_gpg_decrypts_what_we_encrypt() {
    let home = GnupgHome::new();
    let secret: Vec<u8> = (0u8..32).collect();
    for fp in [KEY1, KEY2] {
        let wrapped =
            block_on(functional_keys().wrap(&entry(fp), &secret, "2026-01-02T03:04:05Z")).unwrap();
        let mut child = home
            .gpg(&["--batch", "--decrypt"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(wrapped.get("enc").unwrap().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{fp}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, secret, "{fp}");
    }
}

#[test]
fn we_decrypt_what_real_gpg_encrypts() {
    let home = GnupgHome::new();
    let mut child = home
        .gpg(&[
            "--batch",
            "--no-default-recipient",
            "--yes",
            "--encrypt",
            "-a",
            "-r",
            KEY2,
            "--trusted-key",
            &KEY2[24..],
            "--no-encrypt-to",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&[5; 32]).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let enc = String::from_utf8(out.stdout).unwrap();
    let wrapped = entry(KEY2).with("enc", enc.trim());
    let plain = block_on(functional_keys().unwrap(&wrapped)).unwrap();
    assert_eq!(plain.expose(), &[5; 32]);
}

#[test]
fn a_sign_only_key_is_refused_with_what_to_do() {
    let home = GnupgHome::new();
    let made = home
        .gpg(&[
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            "sign only <sign@leafcrypt.invalid>",
            "ed25519",
            "sign",
            "never",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let exported = home
        .gpg(&["--armor", "--export", "sign@leafcrypt.invalid"])
        .output()
        .unwrap();
    let mut source = PgpSource::new();
    source
        .add_public_keys_text(&String::from_utf8(exported.stdout).unwrap())
        .unwrap();
    let fp = source.public_fingerprints().remove(0);
    let err = block_on(source.wrap(&entry(&fp), b"k", "2026-01-02T03:04:05Z"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&fp) && err.contains("no valid encryption subkey"),
        "{err}"
    );
}

#[test]
fn strict_unwrap_requires_the_key_the_fp_names() {
    let source = functional_keys();
    let wrapped = block_on(source.wrap(&entry(KEY1), b"k", "2026-01-02T03:04:05Z")).unwrap();
    assert_eq!(
        block_on(source.unwrap_verified(&wrapped)).unwrap().expose(),
        b"k"
    );
    // The subkey's fingerprint names the same key.
    let by_subkey = entry(KEY1_SUBKEY).with("enc", wrapped.get("enc").unwrap());
    assert_eq!(
        block_on(source.unwrap_verified(&by_subkey))
            .unwrap()
            .expose(),
        b"k"
    );
    // The fp swapped for another loaded key: plain unwrap still opens it, strict refuses.
    let swapped = entry(KEY2).with("enc", wrapped.get("enc").unwrap());
    assert_eq!(block_on(source.unwrap(&swapped)).unwrap().expose(), b"k");
    let err = block_on(source.unwrap_verified(&swapped))
        .unwrap_err()
        .to_string();
    assert!(err.contains("strict") && err.contains(KEY2), "{err}");
}
