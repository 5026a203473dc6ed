//! `leafcrypt azure-kv on-rotation` against the Key Vault emulator (issue 16 item 4): a key
//! is rotated in the emulator, the Event Grid event is fed (stdin in both schemas, and
//! through the webhook), and the files naming that key — only those — move to the new
//! version, keep their data key, and decrypt with leafcrypt and the real sops 3.11; files of
//! other keys stay byte-identical; a replayed or late event changes nothing; `--dry-run`
//! changes nothing; the webhook passes both validation handshakes and refuses a forged
//! delivery (wrong shared secret) with 401 before touching any file.

use leafcrypt_tests::harness::{self, key_file, recipient, Output, Tool, Workdir};
use leafcrypt_tests::kv::{Emulator, KeyInfo};
use leafcrypt_tests::kv_emulator_bin;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

const PLAIN_YAML: &str = "db:\n    user: app\n    password: hunter2\nport: 5432\n";
const PLAIN_JSON: &str = "{\"api\": {\"token\": \"s3cret\"}, \"n\": [1, 2]}\n";
const SECRET: &str = "webhook-shared-secret-0123456789";

/// The loopback-only Azure environment for both tools, and the age identity of R1.
fn env(kv: &Emulator) -> Vec<(String, String)> {
    let mut env = kv.env_for_sops();
    env.push(("IMDS_ENDPOINT".into(), kv.ready().imds_endpoint.clone()));
    env.push((
        "SOPS_AGE_KEY_FILE".into(),
        key_file(1).display().to_string(),
    ));
    env
}

fn run_in(wd: &Workdir, kv: &Emulator, tool: Tool, args: &[&str], stdin: &str) -> Output {
    let mut cmd = wd.cmd(tool).args(args).stdin(stdin.as_bytes().to_vec());
    for (k, v) in env(kv) {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

fn run(wd: &Workdir, kv: &Emulator, tool: Tool, args: &[&str]) -> Output {
    run_in(wd, kv, tool, args, "")
}

/// The files of a test: which key each names, and how it was made.
struct Files {
    wd: Workdir,
}

/// Files naming `app`: by leafcrypt, by sops (JSON), age + Key Vault in one group, and two
/// Shamir groups (age | Key Vault). Files naming `other`, and an age-only file, must not
/// change when `app` rotates. A plaintext file with "azure_kv" in it is not a sops file.
const APP_FILES: [&str; 4] = ["a.yaml", "b.json", "sub/e.yaml", "sub/deeper/g.yaml"];
const OTHER_FILES: [&str; 3] = ["sub/c.yaml", "sub/d.yaml", "notes.txt"];

fn files(kv: &Emulator) -> Files {
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    wd.write("plain.json", PLAIN_JSON);
    std::fs::create_dir_all(wd.join("sub/deeper")).unwrap();
    let app = kv.key_url("app");
    let other = kv.key_url("other");
    let encrypt = |tool: Tool, args: &[&str], out: &str| {
        let enc = run(&wd, kv, tool, args).expect_ok(&format!("encrypt {out}"));
        wd.write(out, enc.stdout);
    };
    encrypt(
        Tool::Leafcrypt,
        &["encrypt", "--azure-kv", &app, "plain.yaml"],
        "a.yaml",
    );
    encrypt(
        Tool::Sops,
        &["encrypt", "--azure-kv", &app, "plain.json"],
        "b.json",
    );
    encrypt(
        Tool::Leafcrypt,
        &["encrypt", "--azure-kv", &other, "plain.yaml"],
        "sub/c.yaml",
    );
    encrypt(
        Tool::Sops,
        &["encrypt", "--age", recipient(1), "plain.yaml"],
        "sub/d.yaml",
    );
    encrypt(
        Tool::Sops,
        &[
            "encrypt",
            "--age",
            recipient(1),
            "--azure-kv",
            &app,
            "plain.yaml",
        ],
        "sub/e.yaml",
    );
    wd.write(
        "rules.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age:\n          - {}\n      - azure_keyvault:\n          - vaultUrl: {}\n            key: app\n",
            recipient(1),
            kv.vault()
        ),
    );
    encrypt(
        Tool::Leafcrypt,
        &["encrypt", "--config", "rules.yaml", "plain.yaml"],
        "sub/deeper/g.yaml",
    );
    wd.write("notes.txt", "azure_kv: this is not an encrypted file\n");
    Files { wd }
}

impl Files {
    fn read(&self, name: &str) -> String {
        String::from_utf8(self.wd.read(name)).unwrap()
    }

    fn snapshot(&self, names: &[&str]) -> Vec<Vec<u8>> {
        names.iter().map(|n| self.wd.read(n)).collect()
    }

    /// `on-rotation --stdin` over the whole directory.
    fn feed(&self, kv: &Emulator, body: &str, extra: &[&str]) -> Output {
        let mut args = vec!["azure-kv", "on-rotation", "--stdin", "--recursive"];
        args.extend(extra);
        args.push(".");
        run_in(&self.wd, kv, Tool::Leafcrypt, &args, body)
    }

    /// Both tools decrypt `name` to its plaintext.
    fn assert_decrypts(&self, kv: &Emulator, name: &str) {
        let plain = if name.ends_with(".json") {
            // sops writes JSON plaintext its own way: compare the tools with each other.
            run(&self.wd, kv, Tool::Sops, &["decrypt", "b.json"])
                .expect_ok("reference")
                .stdout
        } else {
            PLAIN_YAML.as_bytes().to_vec()
        };
        for tool in [Tool::Leafcrypt, Tool::Sops] {
            let out =
                run(&self.wd, kv, tool, &["decrypt", name]).expect_ok(&format!("{tool} {name}"));
            assert_eq!(out.stdout, plain, "{tool} decrypts {name}");
        }
    }
}

/// The lines that changed between two versions of a file: the same number of lines, and
/// only a Key Vault entry's `version`, `created_at` and `enc` differ.
fn assert_only_the_entry_changed(name: &str, before: &str, after: &str) {
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(
        b.len(),
        a.len(),
        "{name}: line count\n{before}\n---\n{after}"
    );
    let changed: Vec<&str> = b
        .iter()
        .zip(&a)
        .filter(|(x, y)| x != y)
        .map(|(_, y)| y.trim_start().trim_start_matches("- "))
        .collect();
    assert!(!changed.is_empty(), "{name} did not change");
    for line in &changed {
        let field = line.trim_start_matches('"');
        assert!(
            ["version", "created_at", "enc"]
                .iter()
                .any(|f| field.starts_with(&format!("{f}:"))
                    || field.starts_with(&format!("{f}\":"))),
            "{name}: unexpected change {line:?}"
        );
    }
}

fn event_grid(info: &KeyInfo, name: &str, id: &str) -> String {
    serde_json::json!([{
        "id": id,
        "topic": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/emulator",
        "subject": name,
        "eventType": "Microsoft.KeyVault.KeyNewVersionCreated",
        "eventTime": "2026-12-07T23:00:00.0000000Z",
        "data": {
            "Id": info.kid, "VaultName": "emulator", "ObjectType": "Key",
            "ObjectName": name, "Version": info.version, "NBF": null, "EXP": null
        },
        "dataVersion": "1",
        "metadataVersion": "1"
    }])
    .to_string()
}

fn cloud_event(info: &KeyInfo, name: &str, id: &str) -> serde_json::Value {
    serde_json::json!({
        "specversion": "1.0",
        "id": id,
        "source": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/emulator",
        "subject": name,
        "type": "Microsoft.KeyVault.KeyNewVersionCreated",
        "time": "2026-12-07T23:00:00.0000000Z",
        "data": {
            "Id": info.kid, "VaultName": "emulator", "ObjectType": "Key",
            "ObjectName": name, "Version": info.version, "NBF": null, "EXP": null
        }
    })
}

fn start() -> (Emulator, KeyInfo, KeyInfo) {
    let kv = Emulator::start_bin(kv_emulator_bin!());
    let app = kv.create_key("app");
    let other = kv.create_key("other");
    (kv, app, other)
}

#[test]
fn events_on_stdin_rewrap_only_the_files_of_that_key_in_both_schemas() {
    let (kv, v1, other_v1) = start();
    let f = files(&kv);
    let before_app: Vec<String> = APP_FILES.iter().map(|n| f.read(n)).collect();
    let others = f.snapshot(&OTHER_FILES);
    for text in &before_app {
        assert!(text.contains(&v1.version));
    }

    // Event Grid schema.
    let v2 = kv.rotate("app");
    let out = f.feed(&kv, &event_grid(&v2, "app", "eg-1"), &[]);
    let report = out.stdout_text();
    assert_eq!(out.code, 0, "{out:?}");
    for name in APP_FILES {
        assert!(
            report.contains(&format!(
                "re-wrapped ./{name}: {} {} -> {}",
                kv.key_url("app"),
                v1.version,
                v2.version
            )),
            "{report}"
        );
    }
    assert!(
        report.contains(&format!(
            "event eg-1 (Event Grid schema): {} version {}: 4 re-wrapped, 0 up to date, 0 failed",
            kv.key_url("app"),
            v2.version
        )),
        "{report}"
    );
    assert!(
        !report.contains("c.yaml") && !report.contains("notes.txt"),
        "{report}"
    );
    for (name, before) in APP_FILES.iter().zip(&before_app) {
        let after = f.read(name);
        assert!(
            after.contains(&v2.version) && !after.contains(&v1.version),
            "{name}:\n{after}"
        );
        assert_only_the_entry_changed(name, before, &after);
        f.assert_decrypts(&kv, name);
    }
    assert_eq!(
        f.snapshot(&OTHER_FILES),
        others,
        "files of other keys untouched"
    );
    // Same data key: the age entry alone still opens the age + Key Vault file.
    let age_only =
        f.wd.cmd(Tool::Sops)
            .args(["decrypt", "sub/e.yaml"])
            .identity(key_file(1))
            .run()
            .expect_ok("age alone");
    assert_eq!(age_only.stdout, PLAIN_YAML.as_bytes());

    // The same event again: nothing changes.
    let rotated = f.snapshot(&APP_FILES);
    let out = f.feed(&kv, &event_grid(&v2, "app", "eg-1"), &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout_text().contains("0 re-wrapped, 4 up to date"),
        "{out:?}"
    );
    assert_eq!(f.snapshot(&APP_FILES), rotated, "a replay changes nothing");

    // CloudEvents batch: a newer version, with an event of another type beside it.
    let v3 = kv.rotate("app");
    let batch = serde_json::json!([
        {
            "specversion": "1.0", "id": "s-1", "source": "/x", "subject": "pw",
            "type": "Microsoft.KeyVault.SecretNewVersionCreated", "data": {}
        },
        cloud_event(&v3, "app", "ce-1")
    ])
    .to_string();
    let out = f.feed(&kv, &batch, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.stdout_text();
    assert!(
        report.contains("event s-1: Microsoft.KeyVault.SecretNewVersionCreated ignored"),
        "{report}"
    );
    assert!(report.contains("event ce-1 (CloudEvents)"), "{report}");
    assert!(report.contains("4 re-wrapped"), "{report}");
    for name in APP_FILES {
        assert!(f.read(name).contains(&v3.version), "{name}");
        f.assert_decrypts(&kv, name);
    }

    // A late delivery of the v2 event never moves files back.
    let current = f.snapshot(&APP_FILES);
    let out = f.feed(&kv, &event_grid(&v2, "app", "eg-1"), &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr_text()
            .contains(&format!("its current version is {}", v3.version)),
        "{out:?}"
    );
    assert_eq!(
        f.snapshot(&APP_FILES),
        current,
        "a late event changes nothing"
    );

    // A single structured CloudEvent for the other key: only its file moves.
    let other_v2 = kv.rotate("other");
    let out = f.feed(
        &kv,
        &cloud_event(&other_v2, "other", "ce-2").to_string(),
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout_text().contains(&format!(
            "re-wrapped ./sub/c.yaml: {} {} -> {}",
            kv.key_url("other"),
            other_v1.version,
            other_v2.version
        )),
        "{out:?}"
    );
    assert_eq!(f.snapshot(&APP_FILES), current, "files of app untouched");
    f.assert_decrypts(&kv, "sub/c.yaml");
}

#[test]
fn dry_run_lists_and_changes_nothing() {
    let (kv, v1, _) = start();
    let f = files(&kv);
    let all: Vec<&str> = APP_FILES.iter().chain(&OTHER_FILES).copied().collect();
    let before = f.snapshot(&all);
    let v2 = kv.rotate("app");
    let out = f.feed(&kv, &event_grid(&v2, "app", "eg-dry"), &["--dry-run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.stdout_text();
    for name in APP_FILES {
        assert!(
            report.contains(&format!(
                "would re-wrap ./{name}: {} {} -> {}",
                kv.key_url("app"),
                v1.version,
                v2.version
            )),
            "{report}"
        );
    }
    assert!(report.contains("4 would be re-wrapped"), "{report}");
    assert_eq!(f.snapshot(&all), before, "--dry-run changes nothing");
}

#[test]
fn malformed_deliveries_and_bad_flags_fail_clearly() {
    let (kv, _, _) = start();
    let f = files(&kv);
    let out = f.feed(&kv, "{\"id\": 1", &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr_text().contains("the events are not JSON"),
        "{out:?}"
    );
    let forged = r#"[{"id":"x","eventType":"Microsoft.KeyVault.KeyNewVersionCreated","data":{"Id":"https://127.0.0.1:1/keys/app/1","ObjectName":"nope"}}]"#;
    let out = f.feed(&kv, forged, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr_text().contains("ObjectName does not match"),
        "{out:?}"
    );
    // Listening off loopback, or without a secret, is refused.
    let out = run(
        &f.wd,
        &kv,
        Tool::Leafcrypt,
        &[
            "azure-kv",
            "on-rotation",
            ".",
            "--listen",
            "0.0.0.0:0",
            "--secret-env",
            "S",
        ],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr_text().contains("not a loopback address"),
        "{out:?}"
    );
    let out = run(
        &f.wd,
        &kv,
        Tool::Leafcrypt,
        &["azure-kv", "on-rotation", ".", "--listen", "127.0.0.1:0"],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr_text().contains("needs a shared secret"),
        "{out:?}"
    );
}

/// `on-rotation --listen 127.0.0.1:0` as a child; its URL from its first stdout line.
struct Webhook {
    child: Child,
    url: String,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Webhook {
    fn start(f: &Files, kv: &Emulator) -> Webhook {
        let home = f.wd.join(".home");
        std::fs::create_dir_all(&home).unwrap();
        let mut cmd = Command::new(harness::leafcrypt_bin());
        harness::clean_env(&mut cmd, &home);
        cmd.current_dir(f.wd.path())
            .args([
                "azure-kv",
                "on-rotation",
                "--recursive",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--secret-env", "HOOK_SECRET", "."])
            .envs(env(kv))
            .env("HOOK_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start the webhook");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        assert!(
            line.starts_with("http://127.0.0.1:"),
            "first line: {line:?}"
        );
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        Webhook {
            child,
            url: line.trim().to_string(),
            stdout,
            stderr,
        }
    }

    /// Sends SIGTERM and returns (exit status, stdout, stderr).
    fn stop(mut self) -> (std::process::ExitStatus, String, String) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: a signal to our own child, which has not been waited for yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = self.child.wait().unwrap();
        (
            status,
            self.stdout.join().unwrap(),
            self.stderr.join().unwrap(),
        )
    }
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

fn send(
    rt: &tokio::runtime::Runtime,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    rt.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut req = client.request(method, url).body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("the webhook answers");
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    })
}

#[test]
fn webhook_handshakes_refuses_forgeries_and_rewraps() {
    let (kv, _, _) = start();
    let f = files(&kv);
    let hook = Webhook::start(&f, &kv);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let with_code = format!("{}/events?code={SECRET}", hook.url);
    let wrong_code = format!("{}/events?code=not-the-secret-at-all", hook.url);
    let bare = format!("{}/events", hook.url);
    let eg = ("aeg-event-type", "SubscriptionValidation");

    // Event Grid schema handshake.
    let validation = r#"[{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/0000","subject":"",
        "data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6","validationUrl":"https://rp-eastus2.eventgrid.azure.net:553/x"},
        "eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-12-07T23:00:00Z","metadataVersion":"1","dataVersion":"1"}]"#;
    let r = send(&rt, reqwest::Method::POST, &with_code, &[eg], validation);
    assert_eq!(r.status, 200, "{}", r.body);
    let answer: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    );
    for url in [&wrong_code, &bare] {
        let r = send(&rt, reqwest::Method::POST, url, &[eg], validation);
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(!r.body.contains("512d38b6"));
    }

    // CloudEvents abuse-protection handshake (secret in the header this time).
    let origin = ("WebHook-Request-Origin", "eventgrid.azure.net");
    let r = send(
        &rt,
        reqwest::Method::OPTIONS,
        &bare,
        &[origin, ("X-Leafcrypt-Secret", SECRET)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.headers
            .get("webhook-allowed-origin")
            .map(|v| v.to_str().unwrap()),
        Some("eventgrid.azure.net")
    );
    let r = send(&rt, reqwest::Method::OPTIONS, &bare, &[origin], "");
    assert_eq!(r.status, 401);
    assert!(r.headers.get("webhook-allowed-origin").is_none());

    // A forged delivery (wrong secret) is refused before any file is looked at.
    let all: Vec<&str> = APP_FILES.iter().chain(&OTHER_FILES).copied().collect();
    let before = f.snapshot(&all);
    let v2 = kv.rotate("app");
    let event = event_grid(&v2, "app", "hook-1");
    let r = send(&rt, reqwest::Method::POST, &wrong_code, &[], &event);
    assert_eq!(r.status, 401);
    let r = send(
        &rt,
        reqwest::Method::POST,
        &bare,
        &[("X-Leafcrypt-Secret", "webhook-shared-secret-0123456788")],
        &event,
    );
    assert_eq!(r.status, 401);
    assert_eq!(f.snapshot(&all), before, "a forged event touches nothing");

    // The real delivery: answered once the files are written.
    let r = send(
        &rt,
        reqwest::Method::POST,
        &with_code,
        &[("content-type", "application/json")],
        &event,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let totals: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        totals,
        serde_json::json!({"key_versions": 1, "rewrapped": 4, "up_to_date": 0, "failed": 0})
    );
    for name in APP_FILES {
        assert!(f.read(name).contains(&v2.version), "{name}");
        f.assert_decrypts(&kv, name);
    }
    assert_eq!(
        f.snapshot(&OTHER_FILES),
        before[APP_FILES.len()..],
        "other keys' files untouched"
    );

    // Redelivered (CloudEvents batch this time): nothing changes.
    let rotated = f.snapshot(&APP_FILES);
    let batch = serde_json::json!([cloud_event(&v2, "app", "hook-1")]).to_string();
    let r = send(
        &rt,
        reqwest::Method::POST,
        &with_code,
        &[(
            "content-type",
            "application/cloudevents-batch+json; charset=utf-8",
        )],
        &batch,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"up_to_date\":4"), "{}", r.body);
    assert_eq!(f.snapshot(&APP_FILES), rotated, "a replay changes nothing");

    let (status, stdout, stderr) = hook.stop();
    assert!(status.success(), "exit on SIGTERM: {status:?}\n{stderr}");
    assert!(stderr.contains("on-rotation: stopped"), "{stderr}");
    assert!(stdout.contains("re-wrapped ./a.yaml"), "{stdout}");
    assert!(
        !stderr.contains(SECRET) && !stdout.contains(SECRET),
        "the secret is never logged"
    );
    assert!(stderr.contains("POST /events -> 401"), "{stderr}");
}

#[test]
fn rewritten_files_keep_the_indentation_of_indent() {
    let (kv, _, _) = start();
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let app = kv.key_url("app");
    let enc = run(
        &wd,
        &kv,
        Tool::Sops,
        &["--indent", "2", "-e", "--azure-kv", &app, "plain.yaml"],
    )
    .expect_ok("sops --indent 2 -e");
    wd.write("two.yaml", &enc.stdout);
    let before = String::from_utf8(enc.stdout).unwrap();
    assert!(before.contains("\n  password: ENC["), "{before}");
    let v2 = kv.rotate("app");
    let out = run_in(
        &wd,
        &kv,
        Tool::Leafcrypt,
        &[
            "azure-kv",
            "on-rotation",
            "--stdin",
            "--indent",
            "2",
            "two.yaml",
        ],
        &event_grid(&v2, "app", "eg-indent"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let after = String::from_utf8(wd.read("two.yaml")).unwrap();
    assert!(after.contains(&v2.version));
    assert_only_the_entry_changed("two.yaml", &before, &after);
}

#[test]
fn the_walk_honours_gitignore_and_jobs_is_accepted() {
    let (kv, _, _) = start();
    let f = files(&kv);
    f.wd.write(".gitignore", "deeper/\n");
    let before = f.read("sub/deeper/g.yaml");
    let v2 = kv.rotate("app");
    let out = f.feed(&kv, &event_grid(&v2, "app", "eg-ignored"), &["--jobs", "1"]);
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.stdout_text();
    assert!(
        !report.contains("g.yaml"),
        "an ignored file is not walked: {report}"
    );
    assert!(report.contains("3 re-wrapped"), "{report}");
    assert_eq!(f.read("sub/deeper/g.yaml"), before);
    let out = f.feed(&kv, &event_grid(&v2, "app", "eg-jobs-x"), &["--jobs", "x"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr_text().contains("--jobs"), "{out:?}");
}
