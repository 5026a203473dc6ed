//! `leafcrypt doctor` and `leafcrypt explain` (issue 17 items 4 and 5): for each key kind,
//! a missing identity or credential, a denial, a stale key version and the all-fine case,
//! with their exit codes and report lines; a Shamir file decryptable with a quorum (the
//! verdict checked against whether the real sops 3.11 decrypts); proof from the
//! emulators' request logs that doctor never decrypts or unwraps; `explain` and
//! `--config-from-file` in nested directories against the working-directory search (the
//! default, checked against sops).
//!
//! Every process gets the harness's loopback-only network guard; the emulators listen on
//! 127.0.0.1 only.

use leafcrypt_tests::harness::{http_json, key_file, recipient, Output, Tool, Workdir};
use leafcrypt_tests::kv::{Deny, Emulator};
use leafcrypt_tests::kv_emulator_bin;
use leafcrypt_tests::vault::Vault;
use leafcrypt_tests::vault_emulator_bin;
use serde_json::{json, Value};
use std::path::Path;

const PLAIN: &str = "db:\n    user: app\n    password: hunter2\nport: 5432\n";

/// Runs leafcrypt with `env` in `dir` (a directory of `wd`, or `wd` itself).
fn lc(wd: &Workdir, dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = leafcrypt_tests::harness::Cmd::new(Tool::Leafcrypt, dir).args(args);
    let _ = wd;
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

/// `doctor FILE` in `wd`: (exit code, stdout).
fn doctor(wd: &Workdir, env: &[(String, String)], file: &str) -> (i32, String) {
    let out = lc(wd, wd.path(), env, &["doctor", file]);
    assert!(!out.timed_out, "{out:?}");
    (out.code, out.stdout_text())
}

/// `doctor --json FILE` in `wd`: the file's report.
fn doctor_json(wd: &Workdir, env: &[(String, String)], file: &str) -> (i32, Value) {
    let out = lc(wd, wd.path(), env, &["doctor", "--json", file]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json is not JSON ({e}): {out:?}"));
    (out.code, v["files"][0].clone())
}

fn has_line(text: &str, needle: &str) {
    assert!(
        text.lines().any(|l| l.contains(needle)),
        "no line contains {needle:?}:\n{text}"
    );
}

fn identity(path: &Path) -> Vec<(String, String)> {
    vec![("SOPS_AGE_KEY_FILE".into(), path.display().to_string())]
}

// ---- age -------------------------------------------------------------------------------

#[test]
fn age_missing_identity_wrong_identity_and_the_right_one() {
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let enc = wd
        .cmd(Tool::Sops)
        .args(["encrypt", "--age", recipient(1), "plain.yaml"])
        .run()
        .expect_ok("sops encrypt")
        .stdout;
    wd.write("enc.yaml", &enc);
    let r1 = recipient(1);

    let (code, text) = doctor(&wd, &[], "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(
        &text,
        &format!("age {r1}: unusable: no loaded identity matches (0 identities loaded)"),
    );
    has_line(
        &text,
        "decryptable here: no (0 of 1 needed group(s) have a usable key)",
    );
    has_line(
        &text,
        &format!("group 0, age {r1}: put the identity for this recipient in SOPS_AGE_KEY_FILE"),
    );

    let (code, text) = doctor(&wd, &identity(&key_file(2)), "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, "no loaded identity matches (1 identity loaded)");

    let (code, text) = doctor(&wd, &identity(&key_file(1)), "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(
        &text,
        &format!("age {r1}: usable: the identity for this recipient is loaded"),
    );
    has_line(
        &text,
        "decryptable here: yes (1 of 1 needed group(s) have a usable key)",
    );
    has_line(&text, "next: nothing to do");

    // The verdicts agree with the real sops: it decrypts exactly when doctor says yes.
    for (key, expected) in [(key_file(2), false), (key_file(1), true)] {
        let sops = wd
            .cmd(Tool::Sops)
            .identity(&key)
            .args(["decrypt", "enc.yaml"])
            .run();
        assert_eq!(sops.ok(), expected, "{sops:?}");
    }

    // SOPS_AGE_KEY (inline) counts too; --json carries the same verdict.
    let inline = std::fs::read_to_string(key_file(1)).unwrap();
    let (code, report) = doctor_json(&wd, &[("SOPS_AGE_KEY".into(), inline)], "enc.yaml");
    assert_eq!(code, 0);
    assert_eq!(report["decryptable"], "yes");
    assert_eq!(report["groups"][0]["keys"][0]["kind"], "age");
    assert_eq!(report["groups"][0]["keys"][0]["key"], r1);
    assert_eq!(report["groups"][0]["keys"][0]["status"], "usable");
}

#[test]
fn a_shamir_file_is_decryptable_with_a_quorum_of_groups_as_sops_agrees() {
    let wd = Workdir::new();
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - age: [{}]\n      - age: [{}]\n",
            recipient(1),
            recipient(2),
            recipient(3)
        ),
    );
    wd.write("plain.yaml", PLAIN);
    let enc = wd
        .cmd(Tool::Sops)
        .args(["encrypt", "plain.yaml"])
        .run()
        .expect_ok("sops encrypt")
        .stdout;
    wd.write("enc.yaml", &enc);
    let both = |a: usize, b: usize| {
        let text = format!(
            "{}\n{}",
            std::fs::read_to_string(key_file(a)).unwrap(),
            std::fs::read_to_string(key_file(b)).unwrap()
        );
        wd.write(&format!("keys-{a}-{b}.txt"), text)
    };
    let cases = [
        (key_file(1), 1usize, false),
        (key_file(3), 1, false),
        (both(1, 3), 2, true),
        (both(2, 3), 2, true),
        (both(2, 4), 1, false),
    ];
    for (key, usable, expected) in cases {
        let (code, text) = doctor(&wd, &identity(&key), "enc.yaml");
        has_line(&text, "key groups: 3 (needed: 2)");
        has_line(
            &text,
            &format!(
                "decryptable here: {} ({usable} of 2 needed group(s) have a usable key)",
                if expected { "yes" } else { "no" }
            ),
        );
        assert_eq!(code == 0, expected, "{}: {text}", key.display());
        let sops = wd
            .cmd(Tool::Sops)
            .identity(&key)
            .args(["decrypt", "enc.yaml"])
            .run();
        assert_eq!(
            sops.ok(),
            expected,
            "sops disagrees for {}: {sops:?}",
            key.display()
        );
    }
    // The rule is reported and yields the file's keys (no updatekeys advice); the one
    // missing identity is the only next step.
    let (_, text) = doctor(&wd, &identity(&both(1, 3)), "enc.yaml");
    has_line(
        &text,
        "creation_rules[0]: matches: no path_regex: it matches every file",
    );
    has_line(&text, "rule keys: 3 group(s), shamir_threshold 2");
    let next: Vec<&str> = text.lines().skip_while(|l| *l != "next:").skip(1).collect();
    assert_eq!(next.len(), 1, "{text}");
    assert!(
        next[0].starts_with(&format!(
            "  - group 1, age {}: put the identity",
            recipient(2)
        )),
        "{text}"
    );
}

#[test]
fn files_that_cannot_be_read_exit_as_sops_and_keys_off_the_rule_are_pointed_out() {
    let wd = Workdir::new();
    let (code, _) = doctor(&wd, &[], "absent.yaml");
    let sops = wd.cmd(Tool::Sops).args(["decrypt", "absent.yaml"]).run();
    assert_eq!(code, sops.code, "missing file: sops's exit code");

    wd.write("plain.yaml", PLAIN);
    let enc = wd
        .cmd(Tool::Leafcrypt)
        .args(["encrypt", "--age", recipient(1), "plain.yaml"])
        .run()
        .expect_ok("encrypt")
        .stdout;
    wd.write("enc.yaml", &enc);
    wd.write(
        ".sops.yaml",
        format!("creation_rules:\n  - age: {}\n", recipient(2)),
    );
    let (code, text) = doctor(&wd, &identity(&key_file(1)), "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(
        &text,
        "the file's keys differ from its .sops.yaml rule: `leafcrypt updatekeys enc.yaml`",
    );
}

// ---- explain and --config-from-file ----------------------------------------------------

/// `root/.sops.yaml` (rules: `^prod/` → R4, `^app/` → R1, anything → R2) and
/// `root/app/.sops.yaml` (anything → R3); `elsewhere/` has no config above it but the
/// workdir's (none).
fn nested(wd: &Workdir) {
    std::fs::create_dir_all(wd.join("root/app/deep")).unwrap();
    std::fs::create_dir_all(wd.join("elsewhere")).unwrap();
    wd.write(
        "root/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^prod/\n    age: {}\n  - path_regex: ^app/\n    age: {}\n  - age: {}\n",
            recipient(4),
            recipient(1),
            recipient(2)
        ),
    );
    wd.write(
        "root/app/.sops.yaml",
        format!("creation_rules:\n  - age: {}\n", recipient(3)),
    );
    wd.write("root/app/deep/s.yaml", PLAIN);
}

#[test]
fn explain_names_the_config_how_it_was_found_and_why_each_rule_did_or_did_not_match() {
    let wd = Workdir::new();
    nested(&wd);
    let root = wd.join("root");
    let app = wd.join("root/app");

    // From root, the working-directory search finds root/.sops.yaml (sops's way).
    let out = lc(&wd, &root, &[], &["explain", "app/deep/s.yaml"]);
    assert_eq!(out.code, 0, "{out:?}");
    let text = out.stdout_text();
    has_line(
        &text,
        &format!(
            "config: {} (found searching upward from the working directory {})",
            root.join(".sops.yaml").display(),
            root.display()
        ),
    );
    has_line(&text, "path matched against the rules: app/deep/s.yaml");
    has_line(
        &text,
        "creation_rules[0] (path_regex '^prod/'): skipped: path_regex '^prod/' does not match 'app/deep/s.yaml'",
    );
    has_line(
        &text,
        "creation_rules[1] (path_regex '^app/'): matches: path_regex '^app/' matches 'app/deep/s.yaml'",
    );
    has_line(&text, &format!("group 0: age {}", recipient(1)));
    assert!(
        !text.contains("creation_rules[2]"),
        "rules after the match are not examined:\n{text}"
    );

    // --config-from-file: the search starts at the file's directory and finds app's config.
    for env in [
        vec![],
        vec![("LEAFCRYPT_CONFIG_FROM_FILE".to_string(), "1".to_string())],
    ] {
        let mut args = vec!["explain", "app/deep/s.yaml"];
        if env.is_empty() {
            args.insert(1, "--config-from-file");
        }
        let out = lc(&wd, &root, &env, &args);
        assert_eq!(out.code, 0, "{out:?}");
        let text = out.stdout_text();
        has_line(
            &text,
            &format!(
                "config: {} (found searching upward from the file's directory {} (--config-from-file))",
                app.join(".sops.yaml").display(),
                app.join("deep").display()
            ),
        );
        has_line(&text, "path matched against the rules: deep/s.yaml");
        has_line(&text, &format!("group 0: age {}", recipient(3)));
    }

    // From a directory with no config above it: none by default (exit 1), app's with the flag.
    let elsewhere = wd.join("elsewhere");
    let out = lc(
        &wd,
        &elsewhere,
        &[],
        &["explain", "../root/app/deep/s.yaml"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    has_line(
        &out.stdout_text(),
        "config: none (no .sops.yaml found searching upward from the working directory",
    );
    let out = lc(
        &wd,
        &elsewhere,
        &[],
        &[
            "explain",
            "--json",
            "--config-from-file",
            "../root/app/deep/s.yaml",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["path"], app.join(".sops.yaml").display().to_string());
    assert_eq!(v["matched_rule"], 0);
    assert_eq!(v["key_groups"], json!([[format!("age {}", recipient(3))]]));

    // A path no rule matches: every rule's reason, exit 1.
    std::fs::write(
        wd.join("root/.sops.yaml"),
        "creation_rules:\n  - path_regex: ^prod/\n    age: age1x\n",
    )
    .unwrap();
    let out = lc(&wd, &root, &[], &["explain", "dev/s.yaml"]);
    assert_eq!(out.code, 1, "{out:?}");
    has_line(&out.stdout_text(), "no creation rule matches");
    has_line(
        &out.stdout_text(),
        "config error: error loading config: no matching creation rules found",
    );
}

/// The recipient of the (one) age entry of an encrypted YAML file.
fn age_recipient(yaml: &[u8]) -> String {
    String::from_utf8_lossy(yaml)
        .lines()
        .find_map(|l| l.trim().strip_prefix("- recipient: ").map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn config_from_file_changes_only_where_the_search_starts() {
    let wd = Workdir::new();
    nested(&wd);
    let root = wd.join("root");
    let elsewhere = wd.join("elsewhere");
    let file = "app/deep/s.yaml";
    // Default: the same config and rule as the real sops, from the working directory.
    let sops = leafcrypt_tests::harness::Cmd::new(Tool::Sops, &root)
        .args(["encrypt", file])
        .run()
        .expect_ok("sops encrypt");
    let lc_default = lc(&wd, &root, &[], &["encrypt", file]).expect_ok("leafcrypt encrypt");
    assert_eq!(age_recipient(&sops.stdout), recipient(1));
    assert_eq!(age_recipient(&lc_default.stdout), recipient(1));
    // With the flag (or the variable) from root and from elsewhere: app's config, R3.
    for (dir, path) in [
        (&root, file.to_string()),
        (&elsewhere, format!("../root/{file}")),
    ] {
        let out = lc(&wd, dir, &[], &["encrypt", "--config-from-file", &path])
            .expect_ok("encrypt --config-from-file");
        assert_eq!(age_recipient(&out.stdout), recipient(3));
        let env = [("LEAFCRYPT_CONFIG_FROM_FILE".to_string(), "true".to_string())];
        let out = lc(&wd, dir, &env, &["encrypt", &path]).expect_ok("encrypt with the variable");
        assert_eq!(age_recipient(&out.stdout), recipient(3));
    }
    // LEAFCRYPT_CONFIG_FROM_FILE=0 is the default behaviour.
    let env = [("LEAFCRYPT_CONFIG_FROM_FILE".to_string(), "0".to_string())];
    let out = lc(&wd, &root, &env, &["encrypt", file]).expect_ok("encrypt, variable off");
    assert_eq!(age_recipient(&out.stdout), recipient(1));
    // updatekeys with the flag: app's rule (R3) for a file encrypted for R1.
    wd.write("root/app/deep/enc.yaml", &lc_default.stdout);
    let key1 = key_file(1).display().to_string();
    let env = [("SOPS_AGE_KEY_FILE".to_string(), key1)];
    lc(
        &wd,
        &elsewhere,
        &env,
        &[
            "updatekeys",
            "-y",
            "--config-from-file",
            "../root/app/deep/enc.yaml",
        ],
    )
    .expect_ok("updatekeys --config-from-file");
    assert_eq!(
        age_recipient(&wd.read("root/app/deep/enc.yaml")),
        recipient(3)
    );
}

// ---- Azure Key Vault -------------------------------------------------------------------

fn kv_env(kv: &Emulator) -> Vec<(String, String)> {
    let mut env = kv.env_for_sops();
    env.push(("IMDS_ENDPOINT".into(), kv.ready().imds_endpoint.clone()));
    env
}

/// The Key Vault operations in the emulator's log (`get`, `decrypt`, …).
fn kv_ops(kv: &Emulator) -> Vec<String> {
    kv.log()
        .iter()
        .filter(|e| e.listener == "vault")
        .filter_map(|e| e.op.clone())
        .collect()
}

#[test]
fn key_vault_fine_stale_denied_and_without_credential_and_never_a_decrypt() {
    let kv = Emulator::start_bin(kv_emulator_bin!());
    let v1 = kv.create_key("app").version;
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let env = kv_env(&kv);
    let enc = lc(
        &wd,
        wd.path(),
        &env,
        &["encrypt", "--azure-kv", &kv.key_url("app"), "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout;
    wd.write("enc.yaml", &enc);
    let entry = format!("azure_kv {}/keys/app/{v1}", kv.vault());

    // All fine.
    kv.clear_log();
    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(&text, &format!("{entry}: usable: key {}/keys/app/{v1} readable with the DefaultAzureCredential credential", kv.vault()));
    has_line(&text, "decryptable here: yes");
    let ops = kv_ops(&kv);
    assert!(
        !ops.is_empty() && ops.iter().all(|o| o == "get"),
        "doctor only reads keys: {ops:?}"
    );
    let authorized = kv
        .log()
        .iter()
        .filter(|e| e.listener == "vault" && e.authorized)
        .count();
    assert_eq!(
        authorized, 2,
        "one GET of the pinned version, one of the current key"
    );

    // Stale: the key has a newer version; the file still decrypts (exit 0) but is pointed out.
    let v2 = kv.rotate("app").version;
    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(
        &text,
        &format!("stale: version {v1} is not the current one ({v2})"),
    );
    has_line(&text, &format!("group 0, {entry}: version {v1} is not the current one ({v2}): run `leafcrypt rotate -i enc.yaml`"));
    let (_, report) = doctor_json(&wd, &env, "enc.yaml");
    assert!(report["groups"][0]["keys"][0]["stale"]
        .as_str()
        .unwrap()
        .contains(&v2));

    // 403: the caller may not read the key.
    kv.deny(&Deny {
        identity: None,
        key: Some("app".into()),
        op: "*".into(),
        model: "rbac".into(),
    });
    kv.clear_log();
    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, &format!("{entry}: unusable: Azure Key Vault denied"));
    has_line(&text, "decryptable here: no");
    has_line(&text, "grant the caller the 'Key Vault Crypto User' role");
    kv.reset();
    kv.create_key("app");

    // No credential: IMDS on a closed loopback port, no `az`.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let imds = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let bare = vec![
        ("SSL_CERT_FILE".to_string(), kv.ca().display().to_string()),
        ("IMDS_ENDPOINT".to_string(), imds),
        ("PATH".to_string(), "/nonexistent".to_string()),
    ];
    let (code, text) = doctor(&wd, &bare, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(
        &text,
        "unusable: cannot get a token for Azure Key Vault key",
    );
    has_line(&text, "sign in: `az login`, or set AZURE_TENANT_ID");
    assert!(!text.contains("eyJ"), "no token in the report");
    let ops = kv_ops(&kv);
    assert!(ops.iter().all(|o| o == "get"), "no decrypt, ever: {ops:?}");
}

// ---- HashiCorp Vault -------------------------------------------------------------------

fn vault_paths(vault: &Vault) -> Vec<String> {
    vault
        .requests()
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn vault_fine_no_token_denied_stale_and_below_min_decryption_version() {
    let vault = Vault::start(vault_emulator_bin!(), &["--key", "transit/app"]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let env = vault.env();
    let enc = lc(
        &wd,
        wd.path(),
        &env,
        &[
            "encrypt",
            "--hc-vault-transit",
            &vault.key_url("transit", "app"),
            "plain.yaml",
        ],
    )
    .expect_ok("encrypt")
    .stdout;
    wd.write("enc.yaml", &enc);
    let entry = format!("hc_vault {}/v1/transit/keys/app", vault.addr);

    vault.clear_requests();
    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(
        &text,
        &format!("{entry}: usable: the token may update transit/decrypt/app"),
    );

    // No token at all.
    let addr_only = vec![("VAULT_ADDR".to_string(), vault.addr.clone())];
    let (code, text) = doctor(&wd, &addr_only, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, &format!("{entry}: unusable: no Vault token"));
    has_line(&text, "set VAULT_TOKEN or run `vault login`");

    // A token whose policy may only encrypt: denied decrypt, said from capabilities-self.
    vault.add_token(
        "enc-only",
        json!([{"path": "transit/encrypt/*", "capabilities": ["update"]}]),
    );
    let env_enc = vec![
        ("VAULT_ADDR".to_string(), vault.addr.clone()),
        ("VAULT_TOKEN".to_string(), "enc-only".to_string()),
    ];
    let (code, text) = doctor(&wd, &env_enc, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(
        &text,
        "unusable: the token's capabilities on transit/decrypt/app are [deny]",
    );
    has_line(
        &text,
        "ask for a policy granting 'update' on transit/decrypt/app",
    );
    // An invalid token.
    let env_bad = vec![
        ("VAULT_ADDR".to_string(), vault.addr.clone()),
        ("VAULT_TOKEN".to_string(), "hvs.not-a-token".to_string()),
    ];
    let (code, text) = doctor(&wd, &env_bad, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(
        &text,
        "unusable: Vault denied the token (invalid or expired)",
    );
    assert!(
        !text.contains("hvs.not-a-token"),
        "the token is never shown"
    );

    // Stale: the transit key was rotated; the file (v1) still decrypts.
    let (status, _) = vault.api("POST", "transit/keys/app/rotate", None);
    assert_eq!(status, 200);
    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(
        &text,
        "stale: the data key is wrapped with version 1, the key's latest is 2",
    );
    // Below min_decryption_version: not decryptable, and sops agrees.
    let (status, _) = vault.api(
        "POST",
        "transit/keys/app/config",
        Some(&json!({"min_decryption_version": 2})),
    );
    assert_eq!(status, 200);
    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, "unusable: the data key was wrapped with version 1 of 'transit/keys/app', below its min_decryption_version 2");
    let paths = vault_paths(&vault);
    assert!(
        paths.iter().all(|p| !p.starts_with("transit/decrypt")),
        "doctor never calls transit decrypt: {paths:?}"
    );
    assert!(
        paths.iter().any(|p| p == "sys/capabilities-self"),
        "{paths:?}"
    );
    let mut sops = wd.cmd(Tool::Sops).args(["decrypt", "enc.yaml"]);
    for (k, v) in &env {
        sops = sops.env(k, v);
    }
    assert!(!sops.run().ok(), "sops cannot decrypt either");
}

// ---- GCP Cloud KMS ---------------------------------------------------------------------

const GCP_KEY: &str = "projects/emu-project/locations/global/keyRings/sops/cryptoKeys/k1";

/// The GCP emulator (tests/gcp_emulator); it exits when dropped (its stdin closes).
struct Gcp {
    child: std::process::Child,
    ready: Value,
    _dir: tempfile::TempDir,
}

impl Gcp {
    fn start() -> Gcp {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gcp-emulator"))
            .arg("--dir")
            .arg(dir.path())
            .args(["--key", GCP_KEY])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start gcp-emulator");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let ready = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        Gcp {
            child,
            ready,
            _dir: dir,
        }
    }

    fn get(&self, field: &str) -> String {
        self.ready[field].as_str().expect(field).to_string()
    }

    /// One admin call (`log` is a GET); the JSON answer.
    fn admin(&self, op: &str, body: Value) -> Value {
        let endpoint = self.get("endpoint");
        let host = endpoint.trim_start_matches("http://");
        let (method, body) = if op == "log" {
            ("GET", String::new())
        } else {
            ("POST", body.to_string())
        };
        http_json(host, method, &format!("/admin/{op}"), &body)
    }

    /// The paths of the logged KMS requests.
    fn paths(&self) -> Vec<String> {
        self.admin("log", Value::Null)
            .as_array()
            .expect("log")
            .iter()
            .filter_map(|e| e["path"].as_str().map(str::to_string))
            .collect()
    }
}

impl Drop for Gcp {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn gcp_kms_fine_denied_missing_and_without_credential_and_never_a_decrypt() {
    let emu = Gcp::start();
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let env = vec![
        ("SOPS_GCP_KMS_ENDPOINT".to_string(), emu.get("endpoint")),
        ("GOOGLE_OAUTH_ACCESS_TOKEN".to_string(), emu.get("token")),
    ];
    let enc = lc(
        &wd,
        wd.path(),
        &env,
        &["encrypt", "--gcp-kms", GCP_KEY, "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout;
    wd.write("enc.yaml", &enc);
    let entry = format!("gcp_kms {GCP_KEY}");
    emu.admin("log/clear", json!({}));

    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(&text, &format!("{entry}: usable: the caller holds cloudkms.cryptoKeyVersions.useToDecrypt on {GCP_KEY}"));

    emu.admin("deny", json!({"key": GCP_KEY}));
    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(
        &text,
        &format!("{entry}: unusable: the caller lacks cloudkms.cryptoKeyVersions.useToDecrypt"),
    );
    has_line(&text, "grant roles/cloudkms.cryptoKeyDecrypter");
    emu.admin("reset", json!({}));

    let missing = GCP_KEY.replace("k1", "gone");
    wd.write(
        "missing.yaml",
        String::from_utf8_lossy(&enc).replace(GCP_KEY, &missing),
    );
    let (code, text) = doctor(&wd, &env, "missing.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, "NOT_FOUND");
    has_line(&text, "check the resource ID: the key does not exist");

    // No credential: no token, no key file, the metadata server on a closed loopback port.
    let bare = vec![
        ("SOPS_GCP_KMS_ENDPOINT".to_string(), emu.get("endpoint")),
        ("GCE_METADATA_HOST".to_string(), "127.0.0.1:9".to_string()),
    ];
    let (code, text) = doctor(&wd, &bare, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, &format!("{entry}: unusable: GCP KMS credentials"));
    has_line(&text, "gcloud auth application-default login");

    let paths = emu.paths();
    assert!(
        paths.iter().any(|p| p.ends_with(":testIamPermissions")),
        "{paths:?}"
    );
    assert!(
        paths.iter().all(|p| !p.ends_with(":decrypt")),
        "doctor never decrypts: {paths:?}"
    );
}

// ---- AWS KMS ---------------------------------------------------------------------------

/// A KMS JSON call to moto (unchecked signature, as moto accepts).
fn moto_call(moto: &leafcrypt_tests::moto::Moto, target: &str, body: &Value) -> (u16, String) {
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDMOTOTEST/20240101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0";
    moto.request(
        "POST",
        "/",
        &[
            ("X-Amz-Target", target),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", auth),
        ],
        &body.to_string(),
    )
}

#[test]
fn aws_kms_fine_disabled_missing_and_without_credentials_and_never_a_decrypt() {
    let moto = leafcrypt_tests::moto::Moto::start();
    let arn = moto.create_key("us-east-1");
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let env = moto.env();
    let enc = lc(
        &wd,
        wd.path(),
        &env,
        &["encrypt", "--kms", &arn, "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout;
    wd.write("enc.yaml", &enc);
    let entry = format!("kms {arn}");
    moto.start_recording();

    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(
        &text,
        &format!("{entry}: usable: DescribeKey on {arn} answered: key Enabled"),
    );

    let key_id = arn.rsplit('/').next().unwrap();
    let (status, body) = moto_call(&moto, "TrentService.DisableKey", &json!({"KeyId": key_id}));
    assert_eq!(status, 200, "{body}");
    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, &format!("{entry}: unusable: key {arn} is Disabled"));
    has_line(&text, "enable the key (aws kms enable-key)");

    let missing = arn
        .rsplit_once('/')
        .map(|(a, _)| format!("{a}/00000000-0000-0000-0000-000000000000"))
        .unwrap();
    wd.write(
        "missing.yaml",
        String::from_utf8_lossy(&enc).replace(&arn, &missing),
    );
    let (code, text) = doctor(&wd, &env, "missing.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, "NotFoundException");

    // No credentials anywhere (IMDS on a closed loopback port).
    let bare: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
        .cloned()
        .collect();
    let (code, text) = doctor(&wd, &bare, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(
        &text,
        &format!("{entry}: unusable: no AWS credentials for {arn}"),
    );
    has_line(&text, "provide AWS credentials");

    // Denied: a KMS endpoint answering AccessDeniedException (moto does not enforce IAM).
    let denied = leafcrypt_tests::moto::Listener::start(vec![(
        400,
        vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
        r#"{"__type":"AccessDeniedException","message":"User is not authorized"}"#.into(),
    )]);
    let mut denied_env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_ENDPOINT_URL"))
        .cloned()
        .collect();
    denied_env.push(("AWS_ENDPOINT_URL_KMS".into(), denied.url().to_string()));
    let (code, text) = doctor(&wd, &denied_env, "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(
        &text,
        &format!("{entry}: unusable: kms:DescribeKey on {arn} was denied (AccessDeniedException)"),
    );
    has_line(
        &text,
        "grant kms:DescribeKey and kms:Decrypt on this key to the caller",
    );
    let seen = denied.seen();
    assert!(
        seen.iter().all(|r| r
            .headers
            .iter()
            .any(|(k, v)| k == "x-amz-target" && v == "TrentService.DescribeKey")),
        "only DescribeKey: {seen:?}"
    );

    let ops: Vec<String> = moto.recording().into_iter().map(|r| r.operation).collect();
    assert!(
        ops.iter().any(|o| o == "TrentService.DescribeKey"),
        "{ops:?}"
    );
    assert!(
        ops.iter().all(|o| o != "TrentService.Decrypt"),
        "doctor never decrypts: {ops:?}"
    );
}

// ---- PGP -------------------------------------------------------------------------------

/// Functional-test key 1 of sops (public + secret in tests/vectors/pgp).
const FP1: &str = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4";

/// A private GNUPGHOME (mode 0700); its gpg daemons are killed on drop.
struct GnupgHome(tempfile::TempDir);

impl GnupgHome {
    fn new(import: Option<&[u8]>) -> GnupgHome {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("lc-gnupg-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let home = GnupgHome(dir);
        if let Some(key) = import {
            home.gpg(&["--import"], key);
        }
        home
    }

    fn gpg(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut child = std::process::Command::new("gpg")
            .arg("--batch")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GNUPGHOME", self.0.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("gpg is required (scripts/setup): {e}"));
        let _ = child.stdin.take().unwrap().write_all(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![("GNUPGHOME".into(), self.0.path().display().to_string())]
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = std::process::Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", self.0.path())
            .output();
    }
}

#[test]
fn pgp_secret_key_present_or_only_the_public_key_and_gpg_never_decrypts() {
    let key = std::fs::read(
        leafcrypt_tests::harness::vectors_dir().join("pgp/sops_functional_tests_key.asc"),
    )
    .unwrap();
    let full = GnupgHome::new(Some(&key));
    let public = GnupgHome::new(Some(&full.gpg(&["--armor", "--export", FP1], b"")));
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let enc = lc(
        &wd,
        wd.path(),
        &full.env(),
        &["encrypt", "--pgp", FP1, "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout;
    wd.write("enc.yaml", &enc);

    let (code, text) = doctor(&wd, &full.env(), "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(
        &text,
        &format!("pgp {FP1}: usable: gpg holds the secret key {FP1}"),
    );

    let (code, text) = doctor(&wd, &public.env(), "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(
        &text,
        &format!("pgp {FP1}: unusable: no secret key for {FP1} in the GnuPG keyring"),
    );
    has_line(
        &text,
        &format!("import the secret key for {FP1} (gpg --import KEY.asc)"),
    );

    // A gpg that records its arguments: doctor lists keys, it never runs `gpg -d`.
    let log = wd.join("gpg.log");
    let wrapper = wd.write(
        "gpg-wrapper",
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec gpg \"$@\"\n",
            log.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut env = full.env();
    env.push(("SOPS_GPG_EXEC".into(), wrapper.display().to_string()));
    let (code, text) = doctor(&wd, &env, "enc.yaml");
    assert_eq!(code, 0, "{text}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains("--list-secret-keys"), "{calls}");
    assert!(
        calls
            .lines()
            .all(|l| !l.split(' ').any(|a| a == "-d" || a == "--decrypt")),
        "doctor never decrypts: {calls}"
    );
    // sops agrees: decryptable with the full keyring, not with the public key only.
    for (home, expected) in [(&full, true), (&public, false)] {
        let mut cmd = wd.cmd(Tool::Sops).args(["decrypt", "enc.yaml"]);
        for (k, v) in home.env() {
            cmd = cmd.env(k, v);
        }
        assert_eq!(cmd.run().ok(), expected);
    }
}

// ---- PKCS#11 (SoftHSM2) ----------------------------------------------------------------

#[test]
fn pkcs11_token_pin_and_key_object_are_checked_without_decrypting() {
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    std::fs::create_dir_all(wd.join("tokens")).unwrap();
    let conf = wd.write(
        "softhsm2.conf",
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            wd.join("tokens").display()
        ),
    );
    let init = std::process::Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "doc",
            "--pin",
            "246810",
            "--so-pin",
            "13579",
        ])
        .output()
        .unwrap_or_else(|e| panic!("softhsm2-util is required (scripts/setup): {e}"));
    assert!(init.status.success(), "{init:?}");
    let conf_env = ("SOFTHSM2_CONF".to_string(), conf.display().to_string());
    let pin_env = ("LEAFCRYPT_PKCS11_PIN".to_string(), "246810".to_string());
    let with_pin = vec![conf_env.clone(), pin_env.clone()];
    let uri = lc(
        &wd,
        wd.path(),
        &with_pin,
        &[
            "pkcs11",
            "keygen",
            "pkcs11:token=doc;object=kek",
            "--type",
            "aes",
        ],
    )
    .expect_ok("keygen")
    .stdout_text()
    .trim()
    .to_string();
    let enc = lc(
        &wd,
        wd.path(),
        &with_pin,
        &["encrypt", "--pkcs11", &uri, "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout;
    wd.write("enc.yaml", &enc);

    let (code, text) = doctor(&wd, &with_pin, "enc.yaml");
    assert_eq!(code, 0, "{text}");
    has_line(
        &text,
        "usable: token 'doc' present, PIN from LEAFCRYPT_PKCS11_PIN accepted, AES secret key found",
    );
    assert!(!text.contains("246810"), "the PIN is never shown");

    // No PIN anywhere (stdin is not a terminal).
    let (code, text) = doctor(&wd, std::slice::from_ref(&conf_env), "enc.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(
        &text,
        "unusable: token 'doc' found, but no PIN is available",
    );
    has_line(&text, "set LEAFCRYPT_PKCS11_PIN");

    // A PIN from a pin-source file given with --pkcs11.
    let pin_file = wd.write("pin", "246810\n");
    let hint = format!("pkcs11:token=doc?pin-source=file:{}", pin_file.display());
    let out = lc(
        &wd,
        wd.path(),
        std::slice::from_ref(&conf_env),
        &["doctor", "--pkcs11", &hint, "enc.yaml"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    has_line(
        &out.stdout_text(),
        &format!("PIN from pin-source file:{} accepted", pin_file.display()),
    );

    // The key object is gone from the token.
    let gone = String::from_utf8_lossy(&enc).replace("object=kek", "object=gone");
    wd.write("gone.yaml", gone);
    let (code, text) = doctor(&wd, &with_pin, "gone.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, "but no AES secret key pkcs11:token=doc;object=gone");

    // No token with that label.
    let other = String::from_utf8_lossy(&enc).replace("token=doc", "token=absent");
    wd.write("other.yaml", other);
    let (code, text) = doctor(&wd, &with_pin, "other.yaml");
    assert_eq!(code, 1, "{text}");
    has_line(&text, "insert the token");
}

// ---- the emulators' read-only calls, judged by independent clients ----------------------

/// The Python next to sops (scripts/setup installs hvac and google-cloud-kms into it).
fn python_with(modules: &str) -> std::path::PathBuf {
    let python = leafcrypt_tests::harness::sops_bin().with_file_name("python");
    let ok = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{modules} missing beside {}: run scripts/setup",
        python.display()
    );
    python
}

fn python_json(python: &Path, script: &str, env: &[(&str, String)]) -> Value {
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

#[test]
fn hvac_and_googles_client_accept_the_emulators_read_only_calls() {
    let vault = Vault::start(vault_emulator_bin!(), &["--key", "transit/app"]);
    vault.add_token(
        "dec-only",
        json!([{"path": "transit/decrypt/*", "capabilities": ["update"]}]),
    );
    let script = r#"
import json, os, hvac
root = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
dec = hvac.Client(url=os.environ["VAULT_ADDR"], token="dec-only")
paths = ["transit/decrypt/app", "transit/encrypt/app"]
out = {"dec": dec.sys.get_capabilities(paths=paths), "root": root.sys.get_capabilities(paths=paths)}
root.secrets.transit.rotate_key("app")
root.secrets.transit.update_key_configuration("app", min_decryption_version=2)
out["key"] = root.secrets.transit.read_key("app")["data"]
print(json.dumps(out))
"#;
    let v = python_json(
        &python_with("hvac"),
        script,
        &[
            ("VAULT_ADDR", vault.addr.clone()),
            ("VAULT_TOKEN", vault.token.clone()),
        ],
    );
    assert_eq!(v["dec"]["transit/decrypt/app"], json!(["update"]), "{v}");
    assert_eq!(v["dec"]["transit/encrypt/app"], json!(["deny"]), "{v}");
    assert_eq!(v["root"]["transit/decrypt/app"], json!(["root"]), "{v}");
    assert_eq!(v["key"]["latest_version"], 2, "{v}");
    assert_eq!(v["key"]["min_decryption_version"], 2, "{v}");

    let emu = Gcp::start();
    let script = r#"
import json, os
from google.cloud import kms
from google.api_core.client_options import ClientOptions
from google.oauth2.credentials import Credentials
c = kms.KeyManagementServiceClient(credentials=Credentials(os.environ["TOKEN"]), transport="rest",
    client_options=ClientOptions(api_endpoint=os.environ["ENDPOINT"]))
ask = lambda: list(c.test_iam_permissions(request={"resource": os.environ["KEY"],
    "permissions": ["cloudkms.cryptoKeyVersions.useToDecrypt"]}).permissions)
print(json.dumps({"granted": ask()}))
"#;
    let env = [
        ("TOKEN", emu.get("token")),
        ("ENDPOINT", emu.get("endpoint")),
        ("KEY", GCP_KEY.to_string()),
    ];
    let python = python_with("google.cloud.kms");
    let v = python_json(&python, script, &env);
    assert_eq!(
        v["granted"],
        json!(["cloudkms.cryptoKeyVersions.useToDecrypt"])
    );
    emu.admin("deny", json!({"key": GCP_KEY}));
    let v = python_json(&python, script, &env);
    assert_eq!(v["granted"], json!([]));
}

#[test]
fn the_explain_flag_reports_on_stderr_and_changes_nothing_else() {
    let wd = Workdir::new();
    nested(&wd);
    let root = wd.join("root");
    let plain = lc(&wd, &root, &[], &["encrypt", "app/deep/s.yaml"]).expect_ok("encrypt");
    let explained = lc(
        &wd,
        &root,
        &[],
        &["encrypt", "--explain", "app/deep/s.yaml"],
    )
    .expect_ok("--explain");
    assert_eq!(
        age_recipient(&explained.stdout),
        age_recipient(&plain.stdout)
    );
    let err = explained.stderr_text();
    has_line(
        &err,
        "[leafcrypt] explain:   creation_rules[1] (path_regex '^app/'): matches: path_regex '^app/' matches 'app/deep/s.yaml'",
    );
    assert!(plain.stderr_text().is_empty(), "{plain:?}");
    // --filename-override: the rules see the override's name.
    let out = lc(
        &wd,
        &root,
        &[],
        &[
            "explain",
            "--filename-override",
            "prod/x.yaml",
            "app/deep/s.yaml",
        ],
    );
    has_line(
        &out.stdout_text(),
        "path matched against the rules: prod/x.yaml",
    );
    has_line(
        &out.stdout_text(),
        &format!("group 0: age {}", recipient(4)),
    );
}

/// `updatekeys --explain` reports each file's config and rule on stderr, and `publish
/// --config-from-file` finds the file's own `.sops.yaml` (from a directory with none above
/// it, the working-directory search finds nothing: sops's `config file not found`).
#[test]
fn updatekeys_explains_and_publish_finds_the_config_from_the_file() {
    let wd = Workdir::new();
    nested(&wd);
    let root = wd.join("root");
    let elsewhere = wd.join("elsewhere");
    let enc = lc(&wd, &root, &[], &["encrypt", "app/deep/s.yaml"]).expect_ok("encrypt");
    wd.write("root/app/deep/enc.yaml", &enc.stdout);
    let env = [(
        "SOPS_AGE_KEY_FILE".to_string(),
        key_file(1).display().to_string(),
    )];
    let out = lc(
        &wd,
        &elsewhere,
        &env,
        &[
            "updatekeys",
            "-y",
            "--config-from-file",
            "--explain",
            "../root/app/deep/enc.yaml",
        ],
    )
    .expect_ok("updatekeys --explain");
    let stderr = out.stderr_text();
    let explained: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("[leafcrypt] explain: "))
        .collect();
    assert!(
        explained
            .iter()
            .any(|l| l.contains("root/app/.sops.yaml") && l.contains("--config-from-file")),
        "no explain line names app's config:\n{stderr}"
    );
    // Without --explain, no such line.
    let quiet = lc(
        &wd,
        &elsewhere,
        &env,
        &[
            "updatekeys",
            "-y",
            "--config-from-file",
            "../root/app/deep/enc.yaml",
        ],
    )
    .expect_ok("updatekeys");
    assert!(!quiet.stderr_text().contains("[leafcrypt] explain: "));

    // publish: from `elsewhere` the working-directory search finds no config at all…
    let file = "../root/app/deep/enc.yaml";
    let cwd_search = lc(&wd, &elsewhere, &[], &["publish", "-y", file]);
    assert_ne!(cwd_search.code, 0);
    assert!(
        cwd_search.stderr_text().contains("config file not found"),
        "{}",
        cwd_search.stderr_text()
    );
    // …with --config-from-file it reads app's config, which has no destination rule.
    let from_file = lc(
        &wd,
        &elsewhere,
        &[],
        &["publish", "-y", "--config-from-file", file],
    );
    assert_ne!(from_file.code, 0);
    assert!(
        from_file
            .stderr_text()
            .contains("no matching destination found in config"),
        "{}",
        from_file.stderr_text()
    );
}
