//! End-to-end tests of the `leafcrypt` binary's own behaviour: atomic in-place writes that keep
//! the file mode, inputs left untouched on failure, `.sops.yaml` discovery from the working
//! directory upwards, stdin input, `--extract`, and age identity sources.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const R1: &str = "age1n9rcejd5w44ruwspt4zcefh25afkkkvjfx0e2cknz9v23nsy9f5qlfswh9";
const R2: &str = "age1c3l436ppmthz5pma4jtjlugdenxc8wsjwjh8fpjtknkyld3w850sl603nf";

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn key(name: &str) -> PathBuf {
    vectors().join("age").join(name)
}

/// Runs leafcrypt in `cwd` with only the given identity file configured.
fn run(cwd: &Path, identity: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leafcrypt"));
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("SOPS_AGE_RECIPIENTS")
        .env_remove("SOPS_CONFIG")
        .env("XDG_CONFIG_HOME", cwd.join("no-such-config-home"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match identity {
        Some(p) => cmd.env("SOPS_AGE_KEY_FILE", p),
        None => cmd.env_remove("SOPS_AGE_KEY_FILE"),
    };
    let mut child = cmd.spawn().expect("leafcrypt runs");
    if let Some(data) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn in_place_round_trip_keeps_mode_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("app.yaml");
    fs::write(&f, "db:\n    password: hunter2\n    port: 5432\n").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();

    let o = run(
        dir.path(),
        None,
        &["encrypt", "-i", "--age", R1, "app.yaml"],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let enc = fs::read_to_string(&f).unwrap();
    assert!(
        enc.contains("password: ENC[AES256_GCM,") && !enc.contains("hunter2"),
        "{enc}"
    );
    assert_eq!(
        fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o640
    );

    let o = run(
        dir.path(),
        Some(&key("key1.txt")),
        &["decrypt", "-i", "app.yaml"],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "db:\n    password: hunter2\n    port: 5432\n"
    );
    assert_eq!(
        fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temp files left behind"
    );
}

#[test]
fn failed_in_place_decrypt_leaves_input_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.yaml");
    let tampered = fs::read(vectors().join("tamper/unencrypted-value.yaml")).unwrap();
    fs::write(&f, &tampered).unwrap();
    let o = run(
        dir.path(),
        Some(&key("keys.txt")),
        &["decrypt", "-i", "t.yaml"],
        None,
    );
    assert_eq!(o.status.code(), Some(51), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("MAC mismatch. File has "),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("t.yaml"),
        "the message names the file: {}",
        stderr(&o)
    );
    assert_eq!(fs::read(&f).unwrap(), tampered);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

    // Without the identity: exit 128, input unchanged, no output file created.
    let out = dir.path().join("out.yaml");
    let o = run(
        dir.path(),
        None,
        &["decrypt", "--output", "out.yaml", "t.yaml"],
        None,
    );
    assert_eq!(o.status.code(), Some(128), "{}", stderr(&o));
    assert!(!out.exists());
    assert_eq!(fs::read(&f).unwrap(), tampered);
}

#[test]
fn plaintext_output_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        Some(&key("key1.txt")),
        &[
            "decrypt",
            "--output",
            "plain.yaml",
            vectors().join("yaml/encrypted.yaml").to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let p = dir.path().join("plain.yaml");
    assert_eq!(
        fs::read(&p).unwrap(),
        fs::read(vectors().join("yaml/decrypted.yaml")).unwrap()
    );
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn config_is_found_from_the_working_directory_upwards() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("a/b");
    fs::create_dir_all(&sub).unwrap();
    fs::write(
        dir.path().join(".sops.yaml"),
        format!("creation_rules:\n  - path_regex: secret\\.yaml$\n    age: {R2}\n    encrypted_regex: ^pw$\n"),
    )
    .unwrap();
    fs::write(sub.join("secret.yaml"), "pw: x\nuser: bob\n").unwrap();
    let o = run(&sub, None, &["encrypt", "secret.yaml"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let enc = String::from_utf8(o.stdout).unwrap();
    assert!(
        enc.contains(R2) && enc.contains("user: bob") && enc.contains("encrypted_regex: ^pw$"),
        "{enc}"
    );

    // A file no rule matches: sops's error, even with --age.
    fs::write(sub.join("other.yaml"), "a: 1\n").unwrap();
    let o = run(&sub, None, &["encrypt", "--age", R1, "other.yaml"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error loading config: no matching creation rules found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn stdin_and_extract() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        None,
        &["encrypt", "--input-type", "json", "--age", R1],
        Some(b"{\"a\": {\"b\": [1, \"two\"]}}"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let enc = o.stdout;
    let o = run(
        dir.path(),
        Some(&key("key1.txt")),
        &[
            "decrypt",
            "--input-type",
            "json",
            "--extract",
            "[\"a\"][\"b\"][1]",
        ],
        Some(&enc),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"two");
}

#[test]
fn bad_input_is_reported_with_sops_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), None, &["decrypt", "missing.yaml"], None);
    assert_eq!(o.status.code(), Some(100));
    assert!(stderr(&o).contains("missing.yaml"));

    fs::write(dir.path().join("plain.yaml"), "a: 1\n").unwrap();
    let o = run(dir.path(), None, &["decrypt", "plain.yaml"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("sops metadata not found"),
        "{}",
        stderr(&o)
    );

    let o = run(dir.path(), None, &["encrypt", "plain.yaml"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("config file not found, or has no creation rules"),
        "{}",
        stderr(&o)
    );

    let enc = vectors().join("yaml/encrypted.yaml");
    let o = run(
        dir.path(),
        None,
        &["encrypt", "--age", R1, enc.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(203), "{}", stderr(&o));
}

#[test]
fn age_key_cmd_and_inline_key_are_identity_sources() {
    let dir = tempfile::tempdir().unwrap();
    let enc = vectors().join("yaml/encrypted.yaml");
    let secret = fs::read_to_string(key("key1.txt")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leafcrypt"));
    let o = cmd
        .current_dir(dir.path())
        .args(["decrypt", enc.to_str().unwrap()])
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("XDG_CONFIG_HOME", dir.path())
        .env(
            "SOPS_AGE_KEY_CMD",
            format!("cat {}", key("key1.txt").display()),
        )
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_leafcrypt"))
        .current_dir(dir.path())
        .args(["decrypt", enc.to_str().unwrap()])
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env("XDG_CONFIG_HOME", dir.path())
        .env("SOPS_AGE_KEY", secret)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        o.stdout,
        fs::read(vectors().join("yaml/decrypted.yaml")).unwrap()
    );
}

#[test]
fn decrypt_output_dir_writes_every_good_file_and_reports_every_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let mut args: Vec<String> = vec!["decrypt".into(), "--output-dir".into(), "out".into()];
    for i in 0..5 {
        let name = format!("f{i}.yaml");
        fs::write(
            dir.path().join(&name),
            format!("count: {i}\nsecret: s{i}\n"),
        )
        .unwrap();
        let o = run(
            dir.path(),
            None,
            &["encrypt", "-i", "--age", R1, &name],
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        args.push(name);
    }
    fs::write(dir.path().join("broken.yaml"), "count: 1\n").unwrap();
    args.push("broken.yaml".into());
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::copy(dir.path().join("f0.yaml"), dir.path().join("sub/f0.yaml")).unwrap();
    args.push("sub/f0.yaml".into());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();

    let o = run(dir.path(), Some(&key("key1.txt")), &argv, None);
    // The first failing file's code: sops exits 1 for a file without metadata.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("2 of 7 files failed to decrypt"), "{err}");
    assert!(
        err.contains("broken.yaml: ") && err.contains("sops metadata"),
        "{err}"
    );
    assert!(
        err.contains("sub/f0.yaml: another input already writes"),
        "{err}"
    );
    for i in 0..5 {
        let plain = fs::read_to_string(out.join(format!("f{i}.yaml"))).unwrap();
        assert_eq!(plain, format!("count: {i}\nsecret: s{i}\n"));
        let mode = fs::metadata(out.join(format!("f{i}.yaml")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!out.join("broken.yaml").exists());
}
