//! GCP Cloud KMS (`gcp_kms`) through the loopback emulator (`gcp-emulator`, see
//! tests/gcp_emulator/main.rs):
//! - the emulator validated by Google's own clients: google-cloud-kms over REST with
//!   google-auth (self-signed JWT, JWT-bearer grant, authorized_user, metadata server) and
//!   `gcloud kms encrypt/decrypt` with `CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS`;
//! - leafcrypt against it with every credential kind, `enc` read back by Google's client;
//! - the real sops 3.11 through the emulator: its Go client speaks only gRPC to
//!   cloudkms.googleapis.com:443 with no endpoint override, so it goes through `HTTPS_PROXY`
//!   to the emulator's CONNECT/gRPC front (TLS from the emulator's CA in `SSL_CERT_FILE`);
//!   sops ⇄ leafcrypt both ways in every store, Shamir, rotate/updatekeys across the tools,
//!   and equal exit codes and first lines on denial;
//! - sops 3.11 reading leafcrypt's files with gcp_kms beside age without GCP at all;
//! - Shamir groups mixing gcp_kms and age, rotate and updatekeys;
//! - errors (403, 404, 401, bad resource, throttling retried, persistent 503, no
//!   credential) naming the key and the credential, never a token;
//! - no request leaves loopback (the metadata server included).

use leafcrypt_tests::harness::{http_json, key_file, recipient, Output, Tool, Workdir};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const K1: &str = "projects/emu-project/locations/global/keyRings/sops/cryptoKeys/k1";
const K2: &str = "projects/emu-project/locations/global/keyRings/sops/cryptoKeys/k2";
const K3: &str = "projects/emu-project/locations/europe-west1/keyRings/other/cryptoKeys/k3";
const SA: &str = "sops-sa@emu-project.iam.gserviceaccount.com";
const PLAIN: &str = "db:\n    user: app\n    password: hunter2\nport: 5432\n";

/// Environment variables for one command.
type Env = Vec<(String, String)>;

/// A running emulator; it exits when dropped (its stdin closes).
struct Emulator {
    child: Child,
    ready: serde_json::Value,
    _dir: tempfile::TempDir,
}

impl Emulator {
    fn start(keys: &[&str]) -> Emulator {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gcp-emulator"));
        cmd.arg("--dir")
            .arg(dir.path())
            .args(["--service-account", SA]);
        for k in keys {
            cmd.args(["--key", k]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start gcp-emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let ready =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line {line:?}: {e}"));
        Emulator {
            child,
            ready,
            _dir: dir,
        }
    }

    fn get(&self, field: &str) -> String {
        self.ready[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field}"))
            .to_string()
    }

    fn sa_file(&self) -> PathBuf {
        PathBuf::from(
            self.ready["service_accounts"][SA]
                .as_str()
                .expect("sa file"),
        )
    }

    /// One admin call; returns the JSON answer.
    fn admin(&self, op: &str, body: serde_json::Value) -> serde_json::Value {
        let url = self.get("endpoint");
        let host = url.trim_start_matches("http://");
        let (method, body) = if op == "log" {
            ("GET", String::new())
        } else {
            ("POST", body.to_string())
        };
        http_json(host, method, &format!("/admin/{op}"), &body)
    }

    /// `(host, path, identity, status)` of each logged KMS/token/metadata request.
    fn log(&self) -> Vec<(String, String, String, u64)> {
        self.admin("log", serde_json::Value::Null)
            .as_array()
            .expect("log")
            .iter()
            .map(|e| {
                (
                    e["host"].as_str().unwrap_or("").to_string(),
                    e["path"].as_str().unwrap_or("").to_string(),
                    e["identity"].as_str().unwrap_or("").to_string(),
                    e["status"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }

    /// The environment that points sops 3.11 (gRPC) at the emulator with an access token.
    fn sops_env(&self) -> Vec<(String, String)> {
        let endpoint = self.get("endpoint");
        vec![
            ("HTTPS_PROXY".into(), endpoint.clone()),
            ("https_proxy".into(), endpoint),
            ("SSL_CERT_FILE".into(), self.get("ca")),
            ("GOOGLE_OAUTH_ACCESS_TOKEN".into(), self.get("token")),
        ]
    }

    /// The environment that points leafcrypt at the emulator with an access token.
    fn token_env(&self) -> Vec<(String, String)> {
        vec![
            ("SOPS_GCP_KMS_ENDPOINT".into(), self.get("endpoint")),
            ("GOOGLE_OAUTH_ACCESS_TOKEN".into(), self.get("token")),
        ]
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn run(wd: &Workdir, tool: Tool, env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = wd.cmd(tool).args(args);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

/// `(resource_id, enc)` of each gcp_kms entry of an encrypted YAML file.
fn gcp_entries(yaml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut id = None;
    for line in yaml.lines() {
        let t = line.trim_start().trim_start_matches("- ");
        if let Some(v) = t.strip_prefix("resource_id: ") {
            id = Some(v.to_string());
        } else if let (Some(v), Some(current)) = (t.strip_prefix("enc: "), id.as_ref()) {
            out.push((current.clone(), v.to_string()));
            id = None;
        }
    }
    out
}

fn python() -> PathBuf {
    let sops = leafcrypt_tests::harness::sops_bin();
    let python = sops.with_file_name("python");
    let ok = Command::new(&python)
        .args(["-c", "import google.cloud.kms, google.auth"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "google-cloud-kms is missing beside {}: run scripts/setup",
        sops.display()
    );
    python
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("gcp_emulator")
        .join(name)
}

#[test]
fn google_python_client_accepts_the_emulator() {
    let emu = Emulator::start(&[K1]);
    let out = Command::new(python())
        .arg(script("google_client_check.py"))
        .arg(emu.ready.to_string())
        .arg(K1)
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .expect("python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for check in [
        "self-signed-jwt",
        "jwt-bearer-grant",
        "authorized-user",
        "metadata-server",
        "external-account",
        "unauthenticated",
        "not-found 404",
        "corrupt 400",
    ] {
        assert!(
            stdout.contains(&format!("ok {check}")),
            "{check} missing:\n{stdout}"
        );
    }
    // Every request stayed on the emulator; the token endpoint verified the RS256 grant.
    let log = emu.log();
    assert!(log
        .iter()
        .any(|(_, p, id, s)| p == "/token" && id.is_empty() && *s == 200));
    assert!(log.iter().any(|(_, _, id, s)| id == SA && *s == 200));
    assert!(
        log.iter().all(|(h, ..)| h.starts_with("127.0.0.1:")),
        "{log:?}"
    );
}

#[test]
fn gcloud_accepts_the_emulator() {
    let Ok(gcloud) = which("gcloud") else {
        eprintln!("gcloud is not installed: skipped (the Python client test covers the emulator)");
        return;
    };
    let emu = Emulator::start(&[K1]);
    let wd = Workdir::new();
    let token = wd.write("token", emu.get("token"));
    let plain = wd.write("plain", b"gcloud data key \x00\xff");
    let gcloud_run = |args: &[&str]| {
        let out = Command::new(&gcloud)
            .args(args)
            .args(["--access-token-file", token.to_str().unwrap(), "--key", K1])
            .env("CLOUDSDK_CONFIG", wd.join("gcloud"))
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
            .env(
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS",
                format!("{}/", emu.get("endpoint")),
            )
            .env("NO_PROXY", "127.0.0.1")
            .current_dir(wd.path())
            .output()
            .expect("gcloud");
        assert!(
            out.status.success(),
            "gcloud {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    gcloud_run(&[
        "kms",
        "encrypt",
        "--plaintext-file",
        plain.to_str().unwrap(),
        "--ciphertext-file",
        "ct",
    ]);
    gcloud_run(&[
        "kms",
        "decrypt",
        "--ciphertext-file",
        "ct",
        "--plaintext-file",
        "back",
    ]);
    assert_eq!(wd.read("back"), b"gcloud data key \x00\xff");
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

#[test]
fn every_credential_kind_round_trips_and_google_reads_enc() {
    let emu = Emulator::start(&[K1]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let enc = run(
        &wd,
        Tool::Leafcrypt,
        &emu.token_env(),
        &["encrypt", "--gcp-kms", K1, "plain.yaml"],
    )
    .expect_ok("encrypt with GOOGLE_OAUTH_ACCESS_TOKEN")
    .stdout_text();
    wd.write("enc.yaml", &enc);
    let entries = gcp_entries(&enc);
    assert_eq!(entries.len(), 1, "{enc}");
    assert_eq!(entries[0].0, K1);
    // sops's entry layout: resource_id, created_at, enc (standard padded base64).
    let block: Vec<&str> = enc
        .lines()
        .skip_while(|l| !l.contains("gcp_kms:"))
        .skip(1)
        .take(3)
        .collect();
    assert!(
        block[0].trim_start().starts_with("- resource_id: "),
        "{block:?}"
    );
    assert!(
        block[1].trim_start().starts_with("created_at: \""),
        "{block:?}"
    );
    assert!(block[2].trim_start().starts_with("enc: "), "{block:?}");

    let endpoint = ("SOPS_GCP_KMS_ENDPOINT".to_string(), emu.get("endpoint"));
    let sa = emu.sa_file();
    let sa_json = std::fs::read_to_string(&sa).unwrap();
    let gcloud_dir = wd.join("gcloud-config");
    std::fs::create_dir_all(&gcloud_dir).unwrap();
    std::fs::copy(
        emu.get("adc"),
        gcloud_dir.join("application_default_credentials.json"),
    )
    .unwrap();
    let cases: Vec<(&str, Env, &str)> = vec![
        (
            "GOOGLE_APPLICATION_CREDENTIALS (service account)",
            vec![(
                "GOOGLE_APPLICATION_CREDENTIALS".into(),
                sa.display().to_string(),
            )],
            SA,
        ),
        (
            "GOOGLE_CREDENTIALS (JSON)",
            vec![("GOOGLE_CREDENTIALS".into(), sa_json)],
            SA,
        ),
        (
            "GOOGLE_CREDENTIALS (path)",
            vec![("GOOGLE_CREDENTIALS".into(), sa.display().to_string())],
            SA,
        ),
        (
            "gcloud application-default credentials",
            vec![("CLOUDSDK_CONFIG".into(), gcloud_dir.display().to_string())],
            "adc-user@emu-project.example",
        ),
        (
            "external_account (workload-identity federation)",
            vec![(
                "GOOGLE_APPLICATION_CREDENTIALS".into(),
                emu.get("external_account"),
            )],
            SA,
        ),
        (
            "metadata server",
            vec![("GCE_METADATA_HOST".into(), emu.get("metadata_host"))],
            "default-compute@emu-project.iam.gserviceaccount.com",
        ),
    ];
    for (what, extra, identity) in cases {
        emu.admin("log/clear", serde_json::json!({}));
        let mut env = vec![endpoint.clone()];
        env.extend(extra);
        let out = run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"]).expect_ok(what);
        assert_eq!(out.stdout_text(), PLAIN, "{what}");
        let log = emu.log();
        assert!(
            log.iter()
                .any(|(_, p, id, s)| p.ends_with(":decrypt") && id == identity && *s == 200),
            "{what}: {log:?}"
        );
    }

    // Google's client decrypts the base64-decoded enc to a 32-byte data key.
    let code = format!(
        "import base64,sys\nfrom google.cloud import kms\nfrom google.api_core.client_options import ClientOptions\nfrom google.oauth2.credentials import Credentials\nc=kms.KeyManagementServiceClient(credentials=Credentials({tok:?}),transport='rest',client_options=ClientOptions(api_endpoint={ep:?}))\nr=c.decrypt(request={{'name':{K1:?},'ciphertext':base64.b64decode({enc:?},validate=True)}})\nprint(len(r.plaintext))",
        tok = emu.get("token"),
        ep = emu.get("endpoint"),
        enc = entries[0].1,
    );
    let out = Command::new(python())
        .args(["-c", &code])
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "32",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sops_reads_leafcrypt_files_with_gcp_kms_beside_age() {
    let emu = Emulator::start(&[K1]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let enc = run(
        &wd,
        Tool::Leafcrypt,
        &emu.token_env(),
        &[
            "encrypt",
            "--gcp-kms",
            K1,
            "--age",
            recipient(1),
            "plain.yaml",
        ],
    )
    .expect_ok("encrypt gcp_kms + age")
    .stdout_text();
    wd.write("enc.yaml", &enc);
    // sops keeps the gcp_kms entry it cannot use and opens the file with age.
    let out = wd
        .cmd(Tool::Sops)
        .identity(key_file(1))
        .args(["decrypt", "enc.yaml"])
        .run()
        .expect_ok("sops decrypt");
    assert_eq!(out.stdout_text(), PLAIN);
    // sops edits it (set) and keeps the gcp_kms entry byte for byte; leafcrypt opens sops's
    // output with GCP KMS alone.
    wd.cmd(Tool::Sops)
        .identity(key_file(1))
        .args(["set", "enc.yaml", "[\"port\"]", "6543"])
        .run()
        .expect_ok("sops set");
    let after = String::from_utf8(wd.read("enc.yaml")).unwrap();
    assert_eq!(gcp_entries(&after), gcp_entries(&enc));
    let out = run(
        &wd,
        Tool::Leafcrypt,
        &emu.token_env(),
        &["decrypt", "enc.yaml"],
    )
    .expect_ok("leafcrypt decrypt sops's file");
    assert_eq!(out.stdout_text(), PLAIN.replace("5432", "6543"));
}

#[test]
fn shamir_groups_mixing_gcp_kms_and_age() {
    let emu = Emulator::start(&[K1, K2]);
    let wd = Workdir::new();
    wd.write(
        ".sops.yaml",
        format!("creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - gcp_kms:\n          - resource_id: {K1}\n      - gcp_kms:\n          - resource_id: {K2}\n      - age:\n          - {}\n", recipient(1)),
    );
    wd.write("plain.yaml", PLAIN);
    let enc = run(
        &wd,
        Tool::Leafcrypt,
        &emu.token_env(),
        &["encrypt", "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout_text();
    wd.write("enc.yaml", &enc);
    assert_eq!(gcp_entries(&enc).len(), 2);
    // Two of three shares: K1 + age with K2 denied; K1 + K2 without age.
    emu.admin("deny", serde_json::json!({"key": K2}));
    let mut env = emu.token_env();
    env.push((
        "SOPS_AGE_KEY_FILE".into(),
        key_file(1).display().to_string(),
    ));
    assert_eq!(
        run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"])
            .expect_ok("K1 + age")
            .stdout_text(),
        PLAIN
    );
    // One share (age) is not enough: with K1 denied too, decryption fails as sops's does.
    emu.admin("deny", serde_json::json!({"key": K1}));
    let out = run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"]);
    assert_eq!(out.code, 128, "{out:?}");
    emu.admin("reset", serde_json::json!({}));
    assert_eq!(
        run(
            &wd,
            Tool::Leafcrypt,
            &emu.token_env(),
            &["decrypt", "enc.yaml"]
        )
        .expect_ok("K1 + K2")
        .stdout_text(),
        PLAIN
    );
}

#[test]
fn rotate_and_updatekeys_with_gcp_kms() {
    let emu = Emulator::start(&[K1, K2, K3]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let env = emu.token_env();
    let enc = run(
        &wd,
        Tool::Leafcrypt,
        &env,
        &["encrypt", "--gcp-kms", K1, "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout_text();
    wd.write("enc.yaml", &enc);
    run(
        &wd,
        Tool::Leafcrypt,
        &env,
        &[
            "rotate",
            "-i",
            "--add-gcp-kms",
            K2,
            "--rm-gcp-kms",
            K1,
            "enc.yaml",
        ],
    )
    .expect_ok("rotate");
    let rotated = String::from_utf8(wd.read("enc.yaml")).unwrap();
    let ids: Vec<String> = gcp_entries(&rotated).into_iter().map(|e| e.0).collect();
    assert_eq!(ids, [K2]);
    // A new primary version of K2 encrypts from now on; the old version still decrypts.
    emu.admin("rotate", serde_json::json!({"name": K2}));
    emu.admin("deny", serde_json::json!({"key": K1}));
    assert_eq!(
        run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"])
            .expect_ok("decrypt after rotate")
            .stdout_text(),
        PLAIN
    );
    emu.admin("reset", serde_json::json!({}));
    // updatekeys from a rule naming K3 (SOPS_GCP_KMS_IDS is no rule: the .sops.yaml wins).
    wd.write(
        ".sops.yaml",
        format!("creation_rules:\n  - gcp_kms: {K3}\n"),
    );
    run(
        &wd,
        Tool::Leafcrypt,
        &env,
        &["updatekeys", "-y", "enc.yaml"],
    )
    .expect_ok("updatekeys");
    let updated = String::from_utf8(wd.read("enc.yaml")).unwrap();
    let ids: Vec<String> = gcp_entries(&updated).into_iter().map(|e| e.0).collect();
    assert_eq!(ids, [K3]);
    emu.admin("deny", serde_json::json!({"key": K2}));
    assert_eq!(
        run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"])
            .expect_ok("decrypt with K3")
            .stdout_text(),
        PLAIN
    );
    // SOPS_GCP_KMS_IDS stands for --gcp-kms.
    let mut ids_env = env.clone();
    ids_env.push(("SOPS_GCP_KMS_IDS".into(), format!("{K1},{K2}")));
    std::fs::remove_file(wd.join(".sops.yaml")).unwrap();
    emu.admin("reset", serde_json::json!({}));
    let both = run(&wd, Tool::Leafcrypt, &ids_env, &["encrypt", "plain.yaml"])
        .expect_ok("SOPS_GCP_KMS_IDS")
        .stdout_text();
    let ids: Vec<String> = gcp_entries(&both).into_iter().map(|e| e.0).collect();
    assert_eq!(ids, [K1, K2]);
}

#[test]
fn errors_name_the_key_and_the_credential_and_hide_the_token() {
    let emu = Emulator::start(&[K1]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let env = emu.token_env();
    let token = emu.get("token");
    let enc = run(
        &wd,
        Tool::Leafcrypt,
        &env,
        &["encrypt", "--gcp-kms", K1, "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout_text();
    wd.write("enc.yaml", &enc);
    let check = |out: &Output, code: i32, wants: &[&str]| {
        let text = out.stderr_text();
        assert_eq!(out.code, code, "{text}");
        for w in wants {
            assert!(text.contains(w), "want {w:?} in:\n{text}");
        }
        assert!(!text.contains(&token), "the token leaked:\n{text}");
    };
    // 403 on decrypt: exit 128 (sops's could-not-retrieve-key), the permission and the fix.
    emu.admin("deny", serde_json::json!({"key": K1}));
    let out = run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"]);
    check(
        &out,
        128,
        &[
            "PERMISSION_DENIED",
            "cloudkms.cryptoKeyVersions.useToDecrypt",
            K1,
            "GOOGLE_OAUTH_ACCESS_TOKEN",
            "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        ],
    );
    // 403 on encrypt: exit 1 (a data key that cannot be wrapped), input intact.
    let out = run(
        &wd,
        Tool::Leafcrypt,
        &env,
        &["encrypt", "--gcp-kms", K1, "plain.yaml"],
    );
    check(&out, 1, &["useToEncrypt", K1]);
    emu.admin("reset", serde_json::json!({}));
    // 404.
    let missing = K1.replace("k1", "missing");
    let out = run(
        &wd,
        Tool::Leafcrypt,
        &env,
        &["encrypt", "--gcp-kms", &missing, "plain.yaml"],
    );
    check(&out, 1, &["NOT_FOUND", &missing, "gcloud kms keys list"]);
    // A bad resource ID, before any request.
    let out = run(
        &wd,
        Tool::Leafcrypt,
        &env,
        &["encrypt", "--gcp-kms", "projects/p/keys/k", "plain.yaml"],
    );
    check(
        &out,
        1,
        &[
            "projects/p/keys/k",
            "projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY",
        ],
    );
    // An unknown token: 401 with what to do.
    let bad = vec![
        env[0].clone(),
        (
            "GOOGLE_OAUTH_ACCESS_TOKEN".into(),
            "ya29.bogus-token-value".into(),
        ),
    ];
    let out = run(&wd, Tool::Leafcrypt, &bad, &["decrypt", "enc.yaml"]);
    check(
        &out,
        128,
        &["UNAUTHENTICATED", "gcloud auth application-default login"],
    );
    assert!(!out.stderr_text().contains("ya29.bogus-token-value"));
    // Throttling then success: retried.
    emu.admin("log/clear", serde_json::json!({}));
    emu.admin("fault", serde_json::json!({"status": 429, "count": 2}));
    assert_eq!(
        run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"])
            .expect_ok("after 429s")
            .stdout_text(),
        PLAIN
    );
    let statuses: Vec<u64> = emu.log().into_iter().map(|e| e.3).collect();
    assert_eq!(statuses, [429, 429, 200]);
    // A persistent 503: bounded attempts, then a clear failure.
    emu.admin("log/clear", serde_json::json!({}));
    emu.admin("fault", serde_json::json!({"status": 503, "count": 10}));
    let out = run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"]);
    check(&out, 128, &["UNAVAILABLE", "try again later"]);
    assert_eq!(emu.log().len(), 4, "the default policy's attempts");
    emu.admin("reset", serde_json::json!({}));
    // A service-account file the token endpoint rejects (another emulator's key).
    let other = Emulator::start(&[]);
    let sa_env = vec![
        env[0].clone(),
        (
            "GOOGLE_APPLICATION_CREDENTIALS".into(),
            other.sa_file().display().to_string(),
        ),
    ];
    let out = run(&wd, Tool::Leafcrypt, &sa_env, &["decrypt", "enc.yaml"]);
    check(&out, 128, &["GOOGLE_APPLICATION_CREDENTIALS=", SA]);
}

#[test]
fn no_request_leaves_loopback() {
    let emu = Emulator::start(&[K1]);
    // A recorder standing for the world: every proxy variable points at it, so any request
    // for a non-loopback host (googleapis, 169.254.169.254) reaches it and is logged.
    let world = Emulator::start(&[]);
    let world_url = world.get("endpoint");
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN);
    let proxies = |env: &mut Vec<(String, String)>| {
        for var in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            env.push((var.into(), world_url.clone()));
        }
    };
    // Metadata server and Cloud KMS on loopback: all traffic is the emulator's.
    let mut env = vec![
        ("SOPS_GCP_KMS_ENDPOINT".to_string(), emu.get("endpoint")),
        ("GCE_METADATA_HOST".to_string(), emu.get("metadata_host")),
    ];
    proxies(&mut env);
    let enc = run(
        &wd,
        Tool::Leafcrypt,
        &env,
        &["encrypt", "--gcp-kms", K1, "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout_text();
    wd.write("enc.yaml", &enc);
    run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"]).expect_ok("decrypt");
    let log = emu.log();
    assert!(
        log.iter()
            .any(|(_, p, ..)| p.ends_with("/service-accounts/default/token")),
        "{log:?}"
    );
    assert!(
        log.iter().all(|(h, ..)| h.starts_with("127.0.0.1:")),
        "{log:?}"
    );
    assert_eq!(world.log(), vec![], "a request left loopback");
    // The recorder does see what would leave: the default metadata address and endpoint.
    let mut env = Vec::new();
    proxies(&mut env);
    let out = run(&wd, Tool::Leafcrypt, &env, &["decrypt", "enc.yaml"]);
    assert_eq!(out.code, 128, "{out:?}");
    let seen: Vec<String> = world.log().into_iter().map(|e| e.0).collect();
    assert!(
        seen.iter().any(|h| h.starts_with("169.254.169.254")),
        "{seen:?}"
    );
}

/// The lines of the `sops` metadata block with values removed: its layout.
fn metadata_layout(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("sops:"))
        .filter(|l| l.contains(':'))
        .map(|l| l.split(':').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn sops_and_leafcrypt_both_ways_through_the_emulator() {
    let emu = Emulator::start(&[K1]);
    let wd = Workdir::new();
    let (sops_env, lc_env) = (emu.sops_env(), emu.token_env());
    let plains = [
        ("yaml", PLAIN.to_string()),
        (
            "json",
            "{\n\t\"db\": {\n\t\t\"password\": \"hunter2\"\n\t},\n\t\"port\": 5432\n}\n"
                .to_string(),
        ),
        ("env", "PASSWORD=hunter2\nPORT=5432\n".to_string()),
        ("ini", "[db]\npassword = hunter2\n".to_string()),
    ];
    for (ext, plain) in &plains {
        let file = format!("plain.{ext}");
        wd.write(&file, plain);
        let by_sops = run(
            &wd,
            Tool::Sops,
            &sops_env,
            &["encrypt", "--gcp-kms", K1, &file],
        )
        .expect_ok("sops encrypt")
        .stdout_text();
        let by_lc = run(
            &wd,
            Tool::Leafcrypt,
            &lc_env,
            &["encrypt", "--gcp-kms", K1, &file],
        )
        .expect_ok("leafcrypt encrypt")
        .stdout_text();
        if *ext == "yaml" {
            assert_eq!(
                metadata_layout(&by_sops),
                metadata_layout(&by_lc),
                "metadata layout"
            );
            let (s, l) = (gcp_entries(&by_sops), gcp_entries(&by_lc));
            assert_eq!((s.len(), l.len()), (1, 1));
            // Same enc encoding: standard padded base64 of ciphertexts of one length.
            assert_eq!(s[0].1.len(), l[0].1.len(), "{s:?} {l:?}");
        }
        wd.write(&format!("s.{ext}"), &by_sops);
        wd.write(&format!("l.{ext}"), &by_lc);
        let out = run(
            &wd,
            Tool::Leafcrypt,
            &lc_env,
            &["decrypt", &format!("s.{ext}")],
        )
        .expect_ok("leafcrypt reads sops");
        assert_eq!(
            &out.stdout_text(),
            plain,
            "{ext}: leafcrypt reading sops's file"
        );
        let out = run(
            &wd,
            Tool::Sops,
            &sops_env,
            &["decrypt", &format!("l.{ext}")],
        )
        .expect_ok("sops reads leafcrypt");
        assert_eq!(
            &out.stdout_text(),
            plain,
            "{ext}: sops reading leafcrypt's file"
        );
    }
    // sops really went through the gRPC front.
    let log = emu.log();
    assert!(
        log.iter()
            .any(|(h, p, _, s)| h == "cloudkms.googleapis.com:443"
                && p.ends_with("/Encrypt")
                && *s == 0),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|(h, p, _, s)| h == "cloudkms.googleapis.com:443"
                && p.ends_with("/Decrypt")
                && *s == 0),
        "{log:?}"
    );
}

#[test]
fn shamir_rotate_and_updatekeys_across_the_tools() {
    let emu = Emulator::start(&[K1, K2, K3]);
    let wd = Workdir::new();
    let (sops_env, lc_env) = (emu.sops_env(), emu.token_env());
    wd.write(
        ".sops.yaml",
        format!("creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - gcp_kms:\n          - resource_id: {K1}\n      - gcp_kms:\n          - resource_id: {K2}\n      - age:\n          - {}\n", recipient(1)),
    );
    wd.write("plain.yaml", PLAIN);
    let by_sops = run(&wd, Tool::Sops, &sops_env, &["encrypt", "plain.yaml"])
        .expect_ok("sops encrypt")
        .stdout_text();
    wd.write("s.yaml", &by_sops);
    let by_lc = run(&wd, Tool::Leafcrypt, &lc_env, &["encrypt", "plain.yaml"])
        .expect_ok("leafcrypt encrypt")
        .stdout_text();
    wd.write("l.yaml", &by_lc);
    assert_eq!(metadata_layout(&by_sops), metadata_layout(&by_lc));
    // K2 denied: K1 + age are two shares, for both tools and both files.
    emu.admin("deny", serde_json::json!({"key": K2}));
    let age = (
        "SOPS_AGE_KEY_FILE".to_string(),
        key_file(1).display().to_string(),
    );
    let (mut s_env, mut l_env) = (sops_env.clone(), lc_env.clone());
    s_env.push(age.clone());
    l_env.push(age);
    for f in ["s.yaml", "l.yaml"] {
        assert_eq!(
            run(&wd, Tool::Sops, &s_env, &["decrypt", f])
                .expect_ok("sops K1+age")
                .stdout_text(),
            PLAIN,
            "{f}"
        );
        assert_eq!(
            run(&wd, Tool::Leafcrypt, &l_env, &["decrypt", f])
                .expect_ok("leafcrypt K1+age")
                .stdout_text(),
            PLAIN,
            "{f}"
        );
    }
    emu.admin("reset", serde_json::json!({}));

    // rotate by one tool, read by the other.
    std::fs::remove_file(wd.join(".sops.yaml")).unwrap();
    let single = run(
        &wd,
        Tool::Leafcrypt,
        &lc_env,
        &["encrypt", "--gcp-kms", K1, "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout_text();
    wd.write("r.yaml", &single);
    run(
        &wd,
        Tool::Sops,
        &sops_env,
        &["rotate", "-i", "--add-gcp-kms", K2, "r.yaml"],
    )
    .expect_ok("sops rotate --add-gcp-kms");
    let rotated = String::from_utf8(wd.read("r.yaml")).unwrap();
    let ids: Vec<String> = gcp_entries(&rotated).into_iter().map(|e| e.0).collect();
    assert_eq!(ids, [K1, K2]);
    emu.admin("deny", serde_json::json!({"key": K1}));
    assert_eq!(
        run(&wd, Tool::Leafcrypt, &lc_env, &["decrypt", "r.yaml"])
            .expect_ok("leafcrypt reads sops's rotation")
            .stdout_text(),
        PLAIN
    );
    emu.admin("reset", serde_json::json!({}));
    run(
        &wd,
        Tool::Leafcrypt,
        &lc_env,
        &["rotate", "-i", "--rm-gcp-kms", K1, "r.yaml"],
    )
    .expect_ok("leafcrypt rotate --rm-gcp-kms");
    assert_eq!(
        run(&wd, Tool::Sops, &sops_env, &["decrypt", "r.yaml"])
            .expect_ok("sops reads leafcrypt's rotation")
            .stdout_text(),
        PLAIN
    );

    // updatekeys by each tool to K3, read by the other.
    wd.write(
        ".sops.yaml",
        format!("creation_rules:\n  - gcp_kms: {K3}\n"),
    );
    for (writer, reader, w_env, r_env) in [
        (Tool::Sops, Tool::Leafcrypt, &sops_env, &lc_env),
        (Tool::Leafcrypt, Tool::Sops, &lc_env, &sops_env),
    ] {
        let f = wd.write("u.yaml", &single);
        let f = f.file_name().unwrap().to_str().unwrap().to_string();
        run(&wd, writer, w_env, &["updatekeys", "-y", &f]).expect_ok("updatekeys");
        let updated = String::from_utf8(wd.read(&f)).unwrap();
        let ids: Vec<String> = gcp_entries(&updated).into_iter().map(|e| e.0).collect();
        assert_eq!(ids, [K3], "{writer:?}");
        emu.admin("deny", serde_json::json!({"key": K1}));
        assert_eq!(
            run(&wd, reader, r_env, &["decrypt", &f])
                .expect_ok("reader after updatekeys")
                .stdout_text(),
            PLAIN
        );
        emu.admin("reset", serde_json::json!({}));
    }
}

#[test]
fn denials_fail_alike_in_both_tools() {
    let emu = Emulator::start(&[K1]);
    let wd = Workdir::new();
    let (sops_env, lc_env) = (emu.sops_env(), emu.token_env());
    wd.write("plain.yaml", PLAIN);
    let enc = run(
        &wd,
        Tool::Sops,
        &sops_env,
        &["encrypt", "--gcp-kms", K1, "plain.yaml"],
    )
    .expect_ok("encrypt")
    .stdout_text();
    wd.write("enc.yaml", &enc);
    emu.admin("deny", serde_json::json!({"key": K1}));
    let (s, l) = (
        run(&wd, Tool::Sops, &sops_env, &["decrypt", "enc.yaml"]),
        run(&wd, Tool::Leafcrypt, &lc_env, &["decrypt", "enc.yaml"]),
    );
    assert_eq!((s.code, l.code), (128, 128), "{s:?}\n{l:?}");
    assert_eq!(s.first_stderr_line(), l.first_stderr_line());
    for out in [&s, &l] {
        assert!(out.stderr_text().contains("useToDecrypt"), "{out:?}");
    }
    let (s, l) = (
        run(
            &wd,
            Tool::Sops,
            &sops_env,
            &["encrypt", "--gcp-kms", K1, "plain.yaml"],
        ),
        run(
            &wd,
            Tool::Leafcrypt,
            &lc_env,
            &["encrypt", "--gcp-kms", K1, "plain.yaml"],
        ),
    );
    assert_eq!((s.code, l.code), (1, 1), "{s:?}\n{l:?}");
    for out in [&s, &l] {
        let first = out.first_stderr_line();
        assert!(
            first.starts_with("Could not generate data key: [")
                && (first.contains("PermissionDenied") || first.contains("PERMISSION_DENIED"))
                && first.contains(K1),
            "{first}"
        );
    }
}
