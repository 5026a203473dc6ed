//! HashiCorp Vault transit through the vault emulator. First the emulator itself is judged
//! by independent clients — HashiCorp's `hvac` Python client and the real sops 3.11.0 —
//! then sops and leafcrypt read each other's `hc_vault` files both ways in every store,
//! in Shamir groups with age, across rotate/updatekeys, and leafcrypt's errors are checked
//! for a sealed vault, a denied policy, a missing key or engine, and injected faults.
//!
//! Every process gets the harness's loopback-only network guard; the emulator listens on
//! 127.0.0.1 only.

use leafcrypt_tests::harness::{key_file, recipient, sops_bin, Output, Tool, Workdir};
use leafcrypt_tests::vault::Vault;
use leafcrypt_tests::vault_emulator_bin;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PLAIN_YAML: &str =
    "db:\n    user: app\n    password: hunter2\nport: 5432\nlist:\n    - a\n    - b\n";

fn start() -> Vault {
    Vault::start(
        vault_emulator_bin!(),
        &["--key", "transit/app", "--key", "transit/other"],
    )
}

fn run(wd: &Workdir, vault: &Vault, tool: Tool, args: &[&str]) -> Output {
    let mut cmd = wd.cmd(tool).args(args);
    for (k, v) in vault.env() {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

/// stderr with sops's boxed error lines (`- | …`, `| …`) unwrapped onto one line.
fn flat(out: &Output) -> String {
    out.stderr_text()
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .trim_start_matches('|')
                .trim()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn ok(out: Output, what: &str) -> Vec<u8> {
    out.expect_ok(what).stdout
}

/// The `hc_vault` entries of an encrypted YAML file, each as its (field, value) lines in order.
fn hc_vault_entries(yaml: &str) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = Vec::new();
    let mut inside = false;
    for line in yaml.lines() {
        let t = line.trim_start();
        if t == "hc_vault:" {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        let entry_start = t.starts_with("- ");
        if !(entry_start || line.starts_with("          ")) {
            inside = false;
            continue;
        }
        let t = t.trim_start_matches("- ");
        let Some((k, v)) = t.split_once(": ") else {
            continue;
        };
        if entry_start {
            out.push(Vec::new());
        }
        if let Some(e) = out.last_mut() {
            e.push((k.to_string(), v.trim_matches('"').to_string()));
        }
    }
    out
}

// ---- the emulator against independent clients ---------------------------------------------

/// hvac: transit (mount, create, encrypt, rotate, decrypt old and new, read), KV v1 and v2,
/// a missing key, a bad token, sealing; prints one JSON object.
const HVAC_SCRIPT: &str = r#"
import base64, json, os
import hvac
addr, token = os.environ["VAULT_ADDR"], os.environ["VAULT_TOKEN"]
c = hvac.Client(url=addr, token=token, namespace="team-a")
errors = lambda e: json.loads(str(e).rsplit(", on ", 1)[0])["errors"]
out = {"authenticated": c.is_authenticated()}
c.sys.enable_secrets_engine("transit", path="hvac-transit")
c.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
out["mounts"] = sorted(c.sys.list_mounted_secrets_engines()["data"].keys())
t = c.secrets.transit
t.create_key("k", mount_point="hvac-transit")
e1 = t.encrypt_data("k", base64.b64encode(b"one").decode(), mount_point="hvac-transit")["data"]["ciphertext"]
t.rotate_key("k", mount_point="hvac-transit")
e2 = t.encrypt_data("k", base64.b64encode(b"two").decode(), mount_point="hvac-transit")["data"]["ciphertext"]
dec = lambda e: base64.b64decode(t.decrypt_data("k", e, mount_point="hvac-transit")["data"]["plaintext"]).decode()
out["prefixes"] = [e1[:9], e2[:9]]
out["decrypted"] = [dec(e1), dec(e2)]
out["latest_version"] = t.read_key("k", mount_point="hvac-transit")["data"]["latest_version"]
try:
    t.decrypt_data("absent", e1, mount_point="hvac-transit")
except hvac.exceptions.InvalidRequest as e:
    out["missing"] = errors(e)
c.secrets.kv.v1.create_or_update_secret("app/db", {"user": "u"}, mount_point="kv1")
out["kv1"] = c.secrets.kv.v1.read_secret("app/db", mount_point="kv1")["data"]
c.secrets.kv.v2.create_or_update_secret("app/db", {"v": "1"})
c.secrets.kv.v2.create_or_update_secret("app/db", {"v": "2"})
r = c.secrets.kv.v2.read_secret_version("app/db", raise_on_deleted_version=True)["data"]
out["kv2"] = [r["data"], r["metadata"]["version"],
              c.secrets.kv.v2.read_secret_version("app/db", version=1, raise_on_deleted_version=True)["data"]["data"]]
try:
    hvac.Client(url=addr, token="wrong").secrets.transit.encrypt_data("k", "aGk=", mount_point="hvac-transit")
except hvac.exceptions.Forbidden as e:
    out["forbidden"] = errors(e)
c.sys.seal()
out["sealed"] = c.sys.is_sealed()
try:
    t.encrypt_data("k", "aGk=", mount_point="hvac-transit")
except hvac.exceptions.VaultDown as e:
    out["sealed_error"] = errors(e)
print(json.dumps(out))
"#;

fn python() -> PathBuf {
    std::env::var_os("VAULT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| sops_bin().with_file_name("python"))
}

#[test]
fn hvac_accepts_the_emulator() {
    let vault = start();
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("hvac_check.py");
    std::fs::write(&script, HVAC_SCRIPT).expect("write script");
    let out = Command::new(python())
        .arg(&script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("NO_PROXY", "127.0.0.1")
        .envs(vault.env())
        .stdin(Stdio::null())
        .output()
        .expect("run python (scripts/setup installs hvac next to sops)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "hvac failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON ({e}): {stdout}"));
    assert_eq!(got["authenticated"], true);
    assert_eq!(
        got["mounts"],
        json!(["hvac-transit/", "kv1/", "secret/", "transit/"])
    );
    assert_eq!(got["prefixes"], json!(["vault:v1:", "vault:v2:"]));
    assert_eq!(got["decrypted"], json!(["one", "two"]));
    assert_eq!(got["latest_version"], 2);
    assert_eq!(got["missing"], json!(["encryption key not found"]));
    assert_eq!(got["kv1"], json!({"user": "u"}));
    assert_eq!(got["kv2"], json!([{"v": "2"}, 2, {"v": "1"}]));
    assert_eq!(
        got["forbidden"],
        json!(["1 error occurred:\n\t* permission denied\n\n"])
    );
    assert_eq!(got["sealed"], true);
    assert_eq!(got["sealed_error"], json!(["Vault is sealed"]));
    // hvac sent the namespace on every request; the log never holds a token.
    let log = vault.requests();
    assert!(
        log.iter()
            .filter(|r| r["token"] == true)
            .all(|r| r["namespace"] == "team-a" || r["path"] == "hvac-transit/encrypt/k"),
        "{log:?}"
    );
    assert!(!serde_json::to_string(&log).unwrap().contains(&vault.token));
}

#[test]
fn sops_encrypts_and_decrypts_through_the_emulator() {
    let vault = start();
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let url = vault.key_url("transit", "app");
    let enc = ok(
        run(
            &wd,
            &vault,
            Tool::Sops,
            &["encrypt", "--hc-vault-transit", &url, "plain.yaml"],
        ),
        "sops encrypt",
    );
    let text = String::from_utf8(enc.clone()).unwrap();
    let entries = hc_vault_entries(&text);
    assert_eq!(entries.len(), 1, "{text}");
    let fields: Vec<&str> = entries[0].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        fields,
        [
            "vault_address",
            "engine_path",
            "key_name",
            "created_at",
            "enc"
        ]
    );
    assert_eq!(entries[0][0].1, vault.addr);
    assert!(entries[0][4].1.starts_with("vault:v1:"), "{text}");
    wd.write("sops.yaml", &enc);
    let plain = ok(
        run(&wd, &vault, Tool::Sops, &["decrypt", "sops.yaml"]),
        "sops decrypt",
    );
    assert_eq!(String::from_utf8(plain).unwrap(), PLAIN_YAML);
    let log = vault.requests();
    let paths: Vec<(&str, &str)> = log
        .iter()
        .map(|r| (r["method"].as_str().unwrap(), r["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        paths,
        [
            ("PUT", "transit/encrypt/app"),
            ("PUT", "transit/decrypt/app")
        ]
    );
}

// ---- interop -------------------------------------------------------------------------------

#[test]
fn sops_and_leafcrypt_read_each_other_in_every_store() {
    let vault = start();
    let wd = Workdir::new();
    let url = vault.key_url("transit", "app");
    let cases: [(&str, &str); 5] = [
        ("yaml", PLAIN_YAML),
        ("json", "{\n\t\"a\": \"b\",\n\t\"n\": 1\n}\n"),
        ("env", "A=1\nB=two\n"),
        ("ini", "[s]\nk = v\n"),
        ("bin", "raw bytes\u{1}\n"),
    ];
    for (ext, plain) in cases {
        let name = format!("plain.{ext}");
        wd.write(&name, plain);
        let fmt: &[&str] = if ext == "bin" {
            &["--input-type", "binary", "--output-type", "binary"]
        } else {
            &[]
        };
        for (writer, reader) in [(Tool::Sops, Tool::Leafcrypt), (Tool::Leafcrypt, Tool::Sops)] {
            let mut args = vec!["encrypt", "--hc-vault-transit", &url];
            args.extend_from_slice(fmt);
            args.push(&name);
            let enc = ok(
                run(&wd, &vault, writer, &args),
                &format!("{writer} encrypt {ext}"),
            );
            let enc_name = format!("enc-{writer}.{ext}");
            wd.write(&enc_name, &enc);
            let mut args = vec!["decrypt"];
            args.extend_from_slice(fmt);
            args.push(&enc_name);
            let got = ok(
                run(&wd, &vault, reader, &args),
                &format!("{reader} decrypt {writer}'s {ext}"),
            );
            assert_eq!(
                String::from_utf8_lossy(&got),
                plain,
                "{reader} reading {writer}'s {ext}"
            );
        }
    }
    // Same entry layout as sops's.
    wd.write("p.yaml", PLAIN_YAML);
    let mine = ok(
        run(
            &wd,
            &vault,
            Tool::Leafcrypt,
            &["encrypt", "--hc-vault-transit", &url, "p.yaml"],
        ),
        "encrypt",
    );
    let entries = hc_vault_entries(&String::from_utf8(mine).unwrap());
    let fields: Vec<&str> = entries[0].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        fields,
        [
            "vault_address",
            "engine_path",
            "key_name",
            "created_at",
            "enc"
        ]
    );
    assert_eq!(
        (entries[0][1].1.as_str(), entries[0][2].1.as_str()),
        ("transit", "app")
    );
}

#[test]
fn sops_vault_uris_env_and_vault_token_file() {
    let vault = start();
    let wd = Workdir::new();
    wd.write("p.yaml", PLAIN_YAML);
    // No VAULT_TOKEN: the token comes from ~/.vault-token (HOME is <wd>/.home).
    std::fs::create_dir_all(wd.join(".home")).unwrap();
    std::fs::write(wd.join(".home/.vault-token"), format!("{}\n", vault.token)).unwrap();
    let enc = wd
        .cmd(Tool::Leafcrypt)
        .args(["encrypt", "p.yaml"])
        .env("SOPS_VAULT_URIS", vault.key_url("transit", "other"))
        .env("VAULT_NAMESPACE", "team-b")
        .run();
    let enc = ok(enc, "encrypt with SOPS_VAULT_URIS and ~/.vault-token");
    wd.write("e.yaml", &enc);
    let plain = ok(
        wd.cmd(Tool::Sops).args(["decrypt", "e.yaml"]).run(),
        "sops decrypt with ~/.vault-token",
    );
    assert_eq!(String::from_utf8(plain).unwrap(), PLAIN_YAML);
    let first = &vault.requests()[0];
    assert_eq!(
        (
            first["path"].as_str(),
            first["namespace"].as_str(),
            first["token"].as_bool()
        ),
        (Some("transit/encrypt/other"), Some("team-b"), Some(true))
    );
}

#[test]
fn shamir_groups_mixing_hc_vault_and_age_interoperate() {
    let vault = start();
    let wd = Workdir::new();
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - hc_vault:\n          - {}\n      - age:\n          - {}\n",
            vault.key_url("transit", "app"),
            recipient(1)
        ),
    );
    wd.write("p.yaml", PLAIN_YAML);
    for (writer, reader) in [(Tool::Sops, Tool::Leafcrypt), (Tool::Leafcrypt, Tool::Sops)] {
        let enc = ok(
            run(&wd, &vault, writer, &["encrypt", "p.yaml"]),
            &format!("{writer} encrypt"),
        );
        let text = String::from_utf8(enc.clone()).unwrap();
        assert!(
            text.contains("shamir_threshold: 2") && text.contains("hc_vault:"),
            "{text}"
        );
        wd.write("e.yaml", &enc);
        let mut cmd = wd
            .cmd(reader)
            .args(["decrypt", "e.yaml"])
            .identity(key_file(1));
        for (k, v) in vault.env() {
            cmd = cmd.env(k, v);
        }
        let plain = ok(
            cmd.run(),
            &format!("{reader} decrypt {writer}'s shamir file"),
        );
        assert_eq!(String::from_utf8(plain).unwrap(), PLAIN_YAML);
        // Both shares are needed: with Vault sealed off (a bad token), the age share alone fails.
        let denied = wd
            .cmd(reader)
            .args(["decrypt", "e.yaml"])
            .identity(key_file(1))
            .env("VAULT_ADDR", &vault.addr)
            .env("VAULT_TOKEN", "not-a-token")
            .run();
        assert_eq!(denied.code, 128, "{denied:?}");
    }
}

#[test]
fn rotate_and_updatekeys_with_hc_vault() {
    let vault = start();
    let wd = Workdir::new();
    wd.write("p.yaml", PLAIN_YAML);
    let app = vault.key_url("transit", "app");
    let other = vault.key_url("transit", "other");
    let enc = ok(
        run(
            &wd,
            &vault,
            Tool::Leafcrypt,
            &["encrypt", "--hc-vault-transit", &app, "p.yaml"],
        ),
        "encrypt",
    );
    wd.write("e.yaml", &enc);
    // A new key version in Vault: rotate re-wraps with it (vault:v2), sops still reads it.
    let (status, body) = vault.api("POST", "transit/keys/app/rotate", None);
    assert_eq!(status, 200, "{body}");
    ok(
        run(
            &wd,
            &vault,
            Tool::Leafcrypt,
            &[
                "rotate",
                "-i",
                "--add-hc-vault-transit",
                &other,
                "--rm-hc-vault-transit",
                &app,
                "e.yaml",
            ],
        ),
        "rotate",
    );
    let text = String::from_utf8(wd.read("e.yaml")).unwrap();
    let entries = hc_vault_entries(&text);
    assert_eq!(entries.len(), 1, "{text}");
    assert_eq!(entries[0][2].1, "other");
    let plain = ok(
        run(&wd, &vault, Tool::Sops, &["decrypt", "e.yaml"]),
        "sops decrypt after rotate",
    );
    assert_eq!(String::from_utf8(plain).unwrap(), PLAIN_YAML);
    ok(
        run(
            &wd,
            &vault,
            Tool::Leafcrypt,
            &["rotate", "-i", "--add-hc-vault-transit", &app, "e.yaml"],
        ),
        "rotate add",
    );
    let text = String::from_utf8(wd.read("e.yaml")).unwrap();
    let entries = hc_vault_entries(&text);
    let app_entry = entries.iter().find(|e| e[2].1 == "app").expect("app entry");
    assert!(app_entry[4].1.starts_with("vault:v2:"), "{text}");
    // updatekeys from a .sops.yaml naming only `app` drops `other`; sops reads the result.
    wd.write(
        ".sops.yaml",
        format!("creation_rules:\n  - hc_vault_transit_uri: {app}\n"),
    );
    ok(
        run(
            &wd,
            &vault,
            Tool::Leafcrypt,
            &["updatekeys", "--yes", "e.yaml"],
        ),
        "updatekeys",
    );
    let text = String::from_utf8(wd.read("e.yaml")).unwrap();
    let names: Vec<String> = hc_vault_entries(&text)
        .iter()
        .map(|e| e[2].1.clone())
        .collect();
    assert_eq!(names, ["app"], "{text}");
    let plain = ok(
        run(&wd, &vault, Tool::Sops, &["decrypt", "e.yaml"]),
        "sops decrypt after updatekeys",
    );
    assert_eq!(String::from_utf8(plain).unwrap(), PLAIN_YAML);
}

// ---- errors --------------------------------------------------------------------------------

#[test]
fn errors_name_the_key_and_what_to_do() {
    let vault = start();
    let wd = Workdir::new();
    wd.write("p.yaml", PLAIN_YAML);
    let app = vault.key_url("transit", "app");
    let enc = ok(
        run(
            &wd,
            &vault,
            Tool::Leafcrypt,
            &["encrypt", "--hc-vault-transit", &app, "p.yaml"],
        ),
        "encrypt",
    );
    wd.write("e.yaml", &enc);

    // A policy that may encrypt but not decrypt.
    vault.add_token(
        "hvs.encrypt-only-token",
        json!([{"path": "transit/encrypt/*", "capabilities": ["update"]}]),
    );
    let denied = wd
        .cmd(Tool::Leafcrypt)
        .args(["decrypt", "e.yaml"])
        .env("VAULT_ADDR", &vault.addr)
        .env("VAULT_TOKEN", "hvs.encrypt-only-token")
        .run();
    let sops_denied = wd
        .cmd(Tool::Sops)
        .args(["decrypt", "e.yaml"])
        .env("VAULT_ADDR", &vault.addr)
        .env("VAULT_TOKEN", "hvs.encrypt-only-token")
        .run();
    assert_eq!(denied.code, sops_denied.code, "{denied:?}\n{sops_denied:?}");
    assert_eq!(denied.first_stderr_line(), sops_denied.first_stderr_line());
    let err = flat(&denied);
    assert!(
        err.contains("denied decrypt with transit key")
            && err.contains("'transit/keys/app'")
            && err.contains("transit/decrypt/app"),
        "{err}"
    );
    assert!(
        !err.contains("hvs.encrypt-only-token"),
        "token leaked: {err}"
    );

    // A missing key and a missing engine.
    let missing = String::from_utf8(enc.clone())
        .unwrap()
        .replace("key_name: app", "key_name: gone");
    wd.write("missing.yaml", missing);
    let out = run(&wd, &vault, Tool::Leafcrypt, &["decrypt", "missing.yaml"]);
    assert_eq!(out.code, 128, "{out:?}");
    assert!(
        flat(&out).contains("has no transit key 'transit/keys/gone'"),
        "{out:?}"
    );
    let out = run(
        &wd,
        &vault,
        Tool::Leafcrypt,
        &[
            "encrypt",
            "--hc-vault-transit",
            &vault.key_url("nowhere", "k"),
            "p.yaml",
        ],
    );
    assert_ne!(out.code, 0);
    assert!(
        flat(&out).contains("no engine mounted at 'nowhere'"),
        "{out:?}"
    );

    // A bad URI is refused as sops refuses it.
    let bad = format!("{}/v1/transit/app", vault.addr);
    let out = run(
        &wd,
        &vault,
        Tool::Leafcrypt,
        &["encrypt", "--hc-vault-transit", &bad, "p.yaml"],
    );
    assert_ne!(out.code, 0);
    assert!(
        flat(&out).contains("vault path does not seem to be formatted correctly"),
        "{out:?}"
    );

    // Transient faults are retried: one 503 and one 429, then success.
    vault.fault(json!({"status": 503, "count": 1, "path_prefix": "transit/decrypt/"}));
    vault.fault(json!({"status": 429, "count": 1, "path_prefix": "transit/decrypt/"}));
    let before = vault.requests().len();
    let plain = ok(
        run(&wd, &vault, Tool::Leafcrypt, &["decrypt", "e.yaml"]),
        "decrypt through faults",
    );
    assert_eq!(String::from_utf8(plain).unwrap(), PLAIN_YAML);
    let statuses: Vec<u64> = vault.requests()[before..]
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 429, 200]);

    // Sealed.
    vault.seal();
    let out = run(&wd, &vault, Tool::Leafcrypt, &["decrypt", "e.yaml"]);
    let sops_out = run(&wd, &vault, Tool::Sops, &["decrypt", "e.yaml"]);
    assert_eq!(out.code, sops_out.code, "{out:?}\n{sops_out:?}");
    assert_eq!(out.first_stderr_line(), sops_out.first_stderr_line());
    assert!(
        flat(&out).contains("is sealed") && flat(&out).contains("unseal"),
        "{out:?}"
    );
}

// ---- publish -------------------------------------------------------------------------------

const PUBLISH_JSON: &str = "{\n    \"foo\": 2,\n    \"bar\": \"baz\",\n    \"nested\": {\"list\": [1, \"two\"], \"t\": true}\n}\n";

fn publish_config(vault: &Vault) -> String {
    format!(
        "creation_rules:\n  - age: {}\ndestination_rules:\n  - vault_path: \"app/\"\n    path_regex: v2\\.json$\n  - vault_path: legacy\n    vault_kv_mount_name: \"kv/\"\n    vault_kv_version: 1\n    vault_address: {}\n    path_regex: v1\\.json$\n  - s3_bucket: bucket\n    s3_prefix: p/\n    path_regex: s3\\.json$\n",
        recipient(1),
        vault.addr
    )
}

fn put_paths(vault: &Vault) -> Vec<String> {
    vault
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .map(|r| r["path"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn publish_to_vault_kv_v1_and_v2_as_sops() {
    let vault = Vault::start(vault_emulator_bin!(), &["--kv-v1", "kv"]);
    let wd = Workdir::new();
    wd.write(".sops.yaml", publish_config(&vault));
    let expected: Value = serde_json::from_str(PUBLISH_JSON).unwrap();
    for tool in Tool::BOTH {
        for kind in ["v1", "v2"] {
            let name = format!("{tool}-{kind}.json");
            wd.write(&name, PUBLISH_JSON);
            ok(
                run(&wd, &vault, Tool::Sops, &["encrypt", "-i", &name]),
                "sops encrypt",
            );
            let mut cmd = wd
                .cmd(tool)
                .args(["publish", "--yes", &name])
                .identity(key_file(1));
            for (k, v) in vault.env() {
                cmd = cmd.env(k, v);
            }
            // VAULT_ADDR is not needed for v1: the rule names the address.
            ok(cmd.run(), &format!("{tool} publish {kind}"));
        }
        let (status, v2) = vault.api("GET", &format!("secret/data/app/{tool}-v2.json"), None);
        assert_eq!(status, 200, "{tool}: {v2}");
        assert_eq!(v2["data"]["data"], expected, "{tool} KV v2");
        let (status, v1) = vault.api("GET", &format!("kv/legacy/{tool}-v1.json"), None);
        assert_eq!(status, 200, "{tool}: {v1}");
        assert_eq!(v1["data"], expected, "{tool} KV v1");
    }

    // --omit-extensions and --recursive name the secrets as sops does.
    std::fs::create_dir_all(wd.join("tree/sub")).unwrap();
    for f in ["tree/a-v2.json", "tree/sub/b-v2.json"] {
        wd.write(f, PUBLISH_JSON);
        ok(
            run(&wd, &vault, Tool::Sops, &["encrypt", "-i", f]),
            "sops encrypt",
        );
    }
    let mut paths = Vec::new();
    for tool in Tool::BOTH {
        vault.clear_requests();
        for args in [
            &["publish", "--yes", "--omit-extensions", "tree/a-v2.json"][..],
            &["publish", "--yes", "--recursive", "tree"],
        ] {
            let mut cmd = wd.cmd(tool).args(args).identity(key_file(1));
            for (k, v) in vault.env() {
                cmd = cmd.env(k, v);
            }
            ok(cmd.run(), &format!("{tool} {}", args.join(" ")));
        }
        paths.push(put_paths(&vault));
    }
    assert_eq!(paths[1], paths[0], "leafcrypt's writes differ from sops's");
    // Named relative to the directory given, extension dropped with --omit-extensions.
    assert_eq!(
        paths[1],
        [
            "secret/data/app/a-v2",
            "secret/data/app/a-v2.json",
            "secret/data/app/sub/b-v2.json"
        ]
    );
}

#[test]
fn publish_prompt_and_errors_as_sops() {
    let vault = Vault::start(vault_emulator_bin!(), &["--kv-v1", "kv"]);
    let wd = Workdir::new();
    wd.write(".sops.yaml", publish_config(&vault));
    for f in ["f-v2.json", "none.json", "f-s3.json"] {
        wd.write(f, PUBLISH_JSON);
        ok(
            run(&wd, &vault, Tool::Sops, &["encrypt", "-i", f]),
            "sops encrypt",
        );
    }
    vault.add_token(
        "hvs.read-only",
        json!([{"path": "secret/*", "capabilities": ["read"]}]),
    );
    let mut outs = Vec::new();
    for tool in Tool::BOTH {
        let with_env = |args: &[&str], token: &str, stdin: &str| {
            wd.cmd(tool)
                .args(args)
                .identity(key_file(1))
                .env("VAULT_ADDR", &vault.addr)
                .env("VAULT_TOKEN", token)
                .stdin(stdin.as_bytes().to_vec())
                .run()
        };
        outs.push([
            with_env(&["publish", "f-v2.json"], &vault.token, "maybe\nn\n"),
            with_env(&["publish", "--yes", "none.json"], &vault.token, ""),
            with_env(&["publish", "--yes", "f-v2.json"], "hvs.read-only", ""),
            with_env(&["publish", "f-v2.json"], &vault.token, ""),
        ]);
    }
    for (s, l) in outs[0].iter().zip(&outs[1]) {
        assert_eq!(l.code, s.code, "exit codes differ\n{s:?}\n{l:?}");
        assert_ne!(l.code, 0, "{l:?}");
    }
    // The prompt is asked again until y/n, and `n` cancels (nothing written).
    assert_eq!(outs[1][0].stdout_text(), outs[0][0].stdout_text());
    assert!(
        outs[1][0].stdout_text().matches("? (y/n): ").count() == 2,
        "{:?}",
        outs[1][0]
    );
    assert!(
        flat(&outs[1][0]).contains("Publication of ") && flat(&outs[1][0]).contains("canceled")
    );
    assert_eq!(
        outs[1][1].first_stderr_line(),
        "error loading config: no matching destination found in config"
    );
    assert!(
        flat(&outs[1][2]).contains("Code: 403") && !flat(&outs[1][2]).contains("hvs.read-only"),
        "{:?}",
        outs[1][2]
    );
    assert!(
        put_paths(&vault)
            .iter()
            .all(|p| p != "secret/data/app/f-v2.json")
            || vault.requests().iter().any(|r| r["status"] == 403)
    );
    let (status, _) = vault.api("GET", "secret/data/app/f-v2.json", None);
    assert_eq!(
        status, 404,
        "a cancelled or denied publish wrote the secret"
    );
}

#[test]
fn vault_cacert_trusts_an_https_vault_both_ways() {
    let certs = tempfile::tempdir().expect("tempdir");
    let dir = certs.path().to_str().expect("utf-8 path");
    let vault = Vault::start(
        vault_emulator_bin!(),
        &["--tls", dir, "--key", "transit/app"],
    );
    assert!(
        vault.addr.starts_with("https://127.0.0.1:"),
        "{}",
        vault.addr
    );
    let ca = certs.path().join("ca.pem");
    let wd = Workdir::new();
    wd.write("p.yaml", PLAIN_YAML);
    let url = vault.key_url("transit", "app");
    let with_ca = |tool: Tool, args: &[&str], ca: Option<&Path>| {
        let mut cmd = wd.cmd(tool).args(args);
        for (k, v) in vault.env() {
            cmd = cmd.env(k, v);
        }
        if let Some(ca) = ca {
            cmd = cmd.env("VAULT_CACERT", ca);
        }
        cmd.run()
    };
    // Without the CA neither tool trusts the vault.
    let untrusted = with_ca(
        Tool::Leafcrypt,
        &["encrypt", "--hc-vault-transit", &url, "p.yaml"],
        None,
    );
    assert_ne!(untrusted.code, 0, "{untrusted:?}");
    assert!(
        flat(&untrusted).contains("cannot reach Vault at 127.0.0.1:"),
        "{untrusted:?}"
    );
    for (writer, reader) in [(Tool::Sops, Tool::Leafcrypt), (Tool::Leafcrypt, Tool::Sops)] {
        let enc = ok(
            with_ca(
                writer,
                &["encrypt", "--hc-vault-transit", &url, "p.yaml"],
                Some(&ca),
            ),
            &format!("{writer} encrypt over HTTPS"),
        );
        wd.write("e.yaml", &enc);
        let plain = ok(
            with_ca(reader, &["decrypt", "e.yaml"], Some(&ca)),
            &format!("{reader} decrypt"),
        );
        assert_eq!(String::from_utf8(plain).unwrap(), PLAIN_YAML);
    }
}

// ---- publish to S3 (moto) ------------------------------------------------------------------

/// moto's S3 server on a loopback port; killed on drop.
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Moto {
    fn start() -> Moto {
        use std::io::BufRead;
        let server = sops_bin().with_file_name("moto_server");
        // A free loopback port (moto cannot report one it picked itself).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} (scripts/setup installs moto): {e}",
                    server.display()
                )
            });
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let url = format!("http://127.0.0.1:{port}");
        // Werkzeug announces `Running on http://127.0.0.1:PORT` once it listens.
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("Running on") => break,
                Some(Ok(_)) => continue,
                _ => panic!("moto_server exited before listening"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Moto { child, url }
    }

    fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_S3", self.url.as_str()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Runs boto3 against moto: `script` sees `s3` (a client); its last line is JSON.
    fn boto(&self, script: &str) -> Value {
        let code = format!(
            "import json, boto3\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n{script}",
            self.url
        );
        let out = Command::new(python())
            .args(["-c", &code])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_PROXY", "127.0.0.1")
            .output()
            .expect("python");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "boto3: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.lines().last().unwrap_or("null")).expect("JSON from boto3")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn publish_to_s3_as_sops() {
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='bkt')\nprint('null')");
    let wd = Workdir::new();
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - age: {}\ndestination_rules:\n  - s3_bucket: bkt\n    s3_prefix: as-is/\n    path_regex: plain\\.json$\n  - s3_bucket: bkt\n    s3_prefix: re/\n    recreation_rule:\n      age: {}\n",
            recipient(1),
            recipient(2)
        ),
    );
    for tool in Tool::BOTH {
        for f in ["plain.json", "x.json"] {
            wd.write(f, PUBLISH_JSON);
            ok(
                run_env(&wd, tool, &["encrypt", "-i", f], &moto.env()),
                "encrypt",
            );
        }
        let mut stdout = Vec::new();
        for f in ["plain.json", "x.json"] {
            stdout.push(
                String::from_utf8(ok(
                    run_env(&wd, tool, &["publish", "--yes", f], &moto.env()),
                    &format!("{tool} publish {f}"),
                ))
                .unwrap(),
            );
        }
        // As sops: nothing for an upload as is, the key-group changes for a re-encryption.
        assert_eq!(stdout[0], "", "{tool}");
        assert_eq!(
            stdout[1],
            format!(
                "The following changes will be made to the file's key groups:\nGroup 1\n+++ {}\n--- {}\n",
                recipient(2),
                recipient(1)
            ),
            "{tool}"
        );
        let got = moto.boto(
            "print(json.dumps([s3.get_object(Bucket='bkt', Key=k)['Body'].read().decode() for k in ['as-is/plain.json', 're/x.json']]))",
        );
        // Without recreation keys the file goes as it is; with them, re-encrypted for them.
        assert_eq!(
            got[0].as_str().unwrap().as_bytes(),
            wd.read("plain.json"),
            "{tool}"
        );
        let re = got[1].as_str().unwrap();
        assert!(
            re.contains(recipient(2)) && !re.contains(recipient(1)),
            "{tool}: {re}"
        );
        wd.write("re.json", re);
        for reader in Tool::BOTH {
            let plain = ok(
                wd.cmd(reader)
                    .args(["decrypt", "re.json"])
                    .identity(key_file(2))
                    .run(),
                &format!("{reader} decrypts {tool}'s re-encrypted upload"),
            );
            let plain: Value = serde_json::from_slice(&plain).unwrap();
            assert_eq!(plain, serde_json::from_str::<Value>(PUBLISH_JSON).unwrap());
        }
    }
}

fn run_env(wd: &Workdir, tool: Tool, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = wd.cmd(tool).args(args).identity(key_file(1));
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}
