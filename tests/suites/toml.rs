//! The TOML store end to end through the `leafcrypt` CLI (a leafcrypt extension: issue 17
//! item 6). Encrypt → decrypt gives the plaintext back byte for byte (by extension, with
//! `--input-type toml` on stdin, and with `-i`); `set`, `unset` and `--extract` on TOML
//! paths; selectors; conversions to and from TOML; `--help` names TOML as leafcrypt's own;
//! malformed TOML fails with its line number and no panic; and the real sops 3.11 cannot
//! read the result (which is why the README marks the store as an extension).

use leafcrypt_tests::harness::{key_file, recipient, Output, Tool, Workdir};
use leafcrypt_tests::workflow::LIMIT;

const PLAIN: &str = r#"# Service configuration
title = "demo"   # shown in the UI

[database]
user = "app"
password = 'p@ss\word'
port = 5432
ratio = 0.75
enabled = true
replicas = [ "db-1", "db-2" ]  # primary first
started = 1979-05-27T07:32:00Z
backup_day = 2026-12-07
window = 02:30:00
tuned = 2026-12-07T02:30:00.5
options = { sslmode = "require", timeout = 30 }

[[endpoints]]
name = "api"
token = """
line one
line two
"""

[[endpoints]]
name = "metrics"
token_unencrypted = "public"
"#;

fn leafcrypt(dir: &Workdir, args: &[&str]) -> Output {
    dir.cmd(Tool::Leafcrypt)
        .args(args)
        .identity(key_file(1))
        .timeout(LIMIT)
        .run()
}

fn encrypt_file(dir: &Workdir, name: &str, plain: &str, extra: &[&str]) -> String {
    dir.write(name, plain);
    let mut args = vec!["encrypt", "--age", recipient(1)];
    args.extend_from_slice(extra);
    args.push(name);
    let out = leafcrypt(dir, &args).expect_ok("encrypt");
    out.stdout_text()
}

#[test]
fn encrypt_then_decrypt_gives_the_bytes_back() {
    let dir = Workdir::new();
    let enc = encrypt_file(&dir, "app.toml", PLAIN, &[]);
    assert!(enc.contains("\n[sops]\n"), "{enc}");
    assert!(enc.contains("password = 'ENC[AES256_GCM,"), "{enc}");
    assert!(enc.contains("token_unencrypted = \"public\""), "{enc}");
    assert!(enc.contains(",type:date-local]"), "{enc}");
    assert!(!enc.contains("p@ss") && !enc.contains("line one"), "{enc}");
    dir.write("app.enc.toml", &enc);
    let dec = leafcrypt(&dir, &["decrypt", "app.enc.toml"]).expect_ok("decrypt");
    assert_eq!(dec.stdout_text(), PLAIN);

    // stdin: the format from --input-type.
    let enc = dir
        .cmd(Tool::Leafcrypt)
        .args(["encrypt", "--input-type", "toml", "--age", recipient(1)])
        .stdin(PLAIN)
        .timeout(LIMIT)
        .run()
        .expect_ok("encrypt stdin")
        .stdout_text();
    let dec = dir
        .cmd(Tool::Leafcrypt)
        .args(["decrypt", "--input-type", "toml"])
        .identity(key_file(1))
        .stdin(enc)
        .timeout(LIMIT)
        .run()
        .expect_ok("decrypt stdin");
    assert_eq!(dec.stdout_text(), PLAIN);

    // In place, both ways.
    dir.write("inplace.toml", PLAIN);
    leafcrypt(
        &dir,
        &["encrypt", "-i", "--age", recipient(1), "inplace.toml"],
    )
    .expect_ok("encrypt -i");
    assert_ne!(dir.read("inplace.toml"), PLAIN.as_bytes());
    leafcrypt(&dir, &["decrypt", "-i", "inplace.toml"]).expect_ok("decrypt -i");
    assert_eq!(dir.read("inplace.toml"), PLAIN.as_bytes());
}

#[test]
fn set_unset_and_extract_work_on_toml_paths() {
    let dir = Workdir::new();
    let enc = encrypt_file(&dir, "app.toml", PLAIN, &[]);
    dir.write("s.toml", &enc);
    let extract = |path: &str| {
        leafcrypt(&dir, &["decrypt", "--extract", path, "s.toml"])
            .expect_ok("extract")
            .stdout_text()
    };
    assert_eq!(extract(r#"["database"]["password"]"#), r"p@ss\word");
    assert_eq!(extract(r#"["database"]["port"]"#), "5432");
    assert_eq!(extract(r#"["database"]["backup_day"]"#), "2026-12-07");
    assert_eq!(extract(r#"["endpoints"][1]["name"]"#), "metrics");
    assert_eq!(
        extract(r#"["database"]["options"]"#),
        "sslmode = \"require\"\ntimeout = 30\n"
    );

    // A changed value: everything else stays byte for byte.
    leafcrypt(&dir, &["set", "s.toml", r#"["database"]["port"]"#, "5433"]).expect_ok("set");
    let dec = leafcrypt(&dir, &["decrypt", "s.toml"])
        .expect_ok("decrypt")
        .stdout_text();
    assert_eq!(dec, PLAIN.replace("port = 5432", "port = 5433"));
    leafcrypt(
        &dir,
        &[
            "set",
            "s.toml",
            r#"["endpoints"][0]["name"]"#,
            r#""gateway""#,
        ],
    )
    .expect_ok("set");
    let dec = leafcrypt(&dir, &["decrypt", "s.toml"])
        .expect_ok("decrypt")
        .stdout_text();
    assert_eq!(
        dec,
        PLAIN
            .replace("port = 5432", "port = 5433")
            .replace("\"api\"", "\"gateway\"")
    );

    // A new key and a removed one: the data is right (the file is rewritten).
    leafcrypt(
        &dir,
        &[
            "set",
            "s.toml",
            r#"["database"]["host"]"#,
            r#""db.internal""#,
        ],
    )
    .expect_ok("set new");
    leafcrypt(&dir, &["unset", "s.toml", r#"["database"]["ratio"]"#]).expect_ok("unset");
    assert_eq!(extract(r#"["database"]["host"]"#), "db.internal");
    let missing = leafcrypt(
        &dir,
        &["decrypt", "--extract", r#"["database"]["ratio"]"#, "s.toml"],
    );
    assert!(!missing.ok(), "{missing:?}");
    let json = leafcrypt(&dir, &["decrypt", "--output-type", "json", "s.toml"])
        .expect_ok("to json")
        .stdout_text();
    assert!(json.contains("\"host\": \"db.internal\""), "{json}");
    assert!(!json.contains("\"ratio\""), "{json}");
    assert!(json.contains("\"user\": \"app\""), "{json}");
}

#[test]
fn selectors_work_on_toml() {
    let dir = Workdir::new();
    let enc = encrypt_file(
        &dir,
        "a.toml",
        PLAIN,
        &["--encrypted-regex", "^(password|token)$"],
    );
    assert!(enc.contains("user = \"app\""), "{enc}");
    assert!(enc.contains("port = 5432"), "{enc}");
    assert!(enc.contains("password = 'ENC["), "{enc}");
    assert!(enc.contains("token = \"\"\"\nENC["), "{enc}");
    assert!(
        enc.contains("encrypted_regex = \"^(password|token)$\""),
        "{enc}"
    );
    dir.write("a.enc.toml", &enc);
    assert_eq!(
        leafcrypt(&dir, &["decrypt", "a.enc.toml"])
            .expect_ok("decrypt")
            .stdout_text(),
        PLAIN
    );

    let enc = encrypt_file(
        &dir,
        "b.toml",
        PLAIN,
        &[
            "--unencrypted-suffix",
            "_unencrypted",
            "--mac-only-encrypted",
        ],
    );
    assert!(enc.contains("mac_only_encrypted = true"), "{enc}");
    // A clear value may change without breaking the MAC when only encrypted values are covered.
    let changed = enc.replace(
        "token_unencrypted = \"public\"",
        "token_unencrypted = \"changed\"",
    );
    dir.write("b.enc.toml", &changed);
    let dec = leafcrypt(&dir, &["decrypt", "b.enc.toml"]).expect_ok("decrypt");
    assert_eq!(
        dec.stdout_text(),
        PLAIN.replace("\"public\"", "\"changed\"")
    );
}

#[test]
fn conversions_to_and_from_toml() {
    let dir = Workdir::new();
    dir.write(
        "c.yaml",
        "db:\n    user: app\n    port: 5432\nlist:\n    - 1\n    - 2\n",
    );
    let enc = leafcrypt(
        &dir,
        &[
            "encrypt",
            "--age",
            recipient(1),
            "--output-type",
            "toml",
            "c.yaml",
        ],
    )
    .expect_ok("yaml → toml")
    .stdout_text();
    assert!(enc.contains("[sops]"), "{enc}");
    dir.write("c.enc.toml", &enc);
    let dec = leafcrypt(&dir, &["decrypt", "c.enc.toml"])
        .expect_ok("decrypt")
        .stdout_text();
    // Key order kept: a table before a plain key is written with dotted keys.
    assert_eq!(dec, "db.user = \"app\"\ndb.port = 5432\nlist = [1, 2]\n");
    let yaml = leafcrypt(&dir, &["decrypt", "--output-type", "yaml", "c.enc.toml"])
        .expect_ok("toml → yaml")
        .stdout_text();
    assert_eq!(
        yaml,
        "db:\n    user: app\n    port: 5432\nlist:\n    - 1\n    - 2\n"
    );
    // TOML has no null.
    dir.write("n.json", r#"{"a": null}"#);
    let out = leafcrypt(
        &dir,
        &[
            "encrypt",
            "--age",
            recipient(1),
            "--output-type",
            "toml",
            "n.json",
        ],
    );
    assert!(
        !out.ok()
            && out
                .stderr_text()
                .contains("TOML has no null value at key path 'a'"),
        "{out:?}"
    );
}

#[test]
fn help_marks_toml_as_a_leafcrypt_extension() {
    let dir = Workdir::new();
    let help = leafcrypt(&dir, &["decrypt", "--help"])
        .expect_ok("help")
        .stdout_text();
    let flag = help.split("--input-type").nth(1).unwrap_or("");
    assert!(
        flag.contains("toml")
            && flag.contains("leafcrypt extension")
            && flag.contains("sops cannot read"),
        "{help}"
    );
    dir.write("x", "a = 1\n");
    let bad = leafcrypt(&dir, &["decrypt", "--input-type", "tom", "x"]);
    assert!(
        !bad.ok() && bad.stderr_text().contains("toml (a leafcrypt extension)"),
        "{bad:?}"
    );
}

#[test]
fn malformed_toml_fails_with_its_line_and_no_panic() {
    let dir = Workdir::new();
    for (text, line) in [
        ("a = 1\nb = \n", 2),
        ("[t]\nx = 1\n[t]\n", 3),
        ("a = 1\na = 2\n", 2),
        ("k = 'unterminated\n", 1),
    ] {
        dir.write("bad.toml", text);
        let out = leafcrypt(&dir, &["encrypt", "--age", recipient(1), "bad.toml"]);
        assert!(!out.ok(), "{out:?}");
        assert!(!out.stderr_text().contains("panicked"), "{out:?}");
        assert!(
            out.first_stderr_line()
                .contains(&format!("toml: line {line}:")),
            "{out:?}"
        );
    }
    let deep = format!("a = {}{}\n", "[".repeat(5000), "]".repeat(5000));
    dir.write("deep.toml", deep);
    let out = leafcrypt(&dir, &["encrypt", "--age", recipient(1), "deep.toml"]);
    assert!(
        !out.ok() && !out.stderr_text().contains("panicked"),
        "{out:?}"
    );
    assert!(out.code != 134 && out.code != -1, "{out:?}");
}

#[test]
fn sops_cannot_read_a_toml_file() {
    let dir = Workdir::new();
    let enc = encrypt_file(&dir, "app.toml", PLAIN, &[]);
    dir.write("app.enc.toml", &enc);
    let sops = dir
        .cmd(Tool::Sops)
        .args(["decrypt", "app.enc.toml"])
        .identity(key_file(1))
        .timeout(LIMIT)
        .run();
    assert!(
        !sops.ok(),
        "sops 3.11 read a TOML file; the README says it cannot:\n{sops:?}"
    );
}

/// sops has no TOML store: it encrypts a `.toml` file as binary (a JSON file). Such files
/// keep opening by their name (their content starts with `{`, which no TOML document does),
/// and `--input-type binary` encrypts a `.toml` file as sops does.
#[test]
fn sops_binary_toml_files_still_open() {
    let dir = Workdir::new();
    dir.write("legacy.toml", PLAIN);
    let sops = dir
        .cmd(Tool::Sops)
        .args(["encrypt", "--age", recipient(1), "legacy.toml"])
        .timeout(LIMIT)
        .run()
        .expect_ok("sops encrypt");
    assert!(sops.stdout_text().trim_start().starts_with('{'), "{sops:?}");
    dir.write("legacy.enc.toml", &sops.stdout);
    let dec = leafcrypt(&dir, &["decrypt", "legacy.enc.toml"]).expect_ok("decrypt sops's file");
    assert_eq!(dec.stdout_text(), PLAIN);

    let ours = leafcrypt(
        &dir,
        &[
            "encrypt",
            "--input-type",
            "binary",
            "--age",
            recipient(1),
            "legacy.toml",
        ],
    )
    .expect_ok("encrypt as binary");
    dir.write("ours.enc.toml", &ours.stdout);
    let back = dir
        .cmd(Tool::Sops)
        .args(["decrypt", "ours.enc.toml"])
        .identity(key_file(1))
        .timeout(LIMIT)
        .run()
        .expect_ok("sops decrypts leafcrypt's binary .toml");
    assert_eq!(back.stdout_text(), PLAIN);
}
