//! Azure Key Vault interop through the emulator: the real sops 3.11.0 and leafcrypt read
//! each other's files both ways (local and remote encryption, key groups with Shamir),
//! across a key rotation; `azure-kv stale`; and leafcrypt's errors for every way Key Vault
//! says no (403 policy/RBAC, 404 key/version, 429/503 retries seen in the emulator's log,
//! a foreign challenge resource, an unreachable vault, no usable credential).
//!
//! Every process gets a loopback-only Azure environment: the App Service managed identity
//! points at the emulator's token listener and `IMDS_ENDPOINT` at loopback too, so nothing
//! can reach 169.254.169.254 or any other address.

use leafcrypt_tests::harness::{recipient, Output, Tool, Workdir};
use leafcrypt_tests::kv::{Deny, Emulator, Fault, LogEntry};
use leafcrypt_tests::kv_emulator_bin;
use std::path::Path;

const PLAIN_YAML: &str =
    "db:\n    user: app\n    password: hunter2\nport: 5432\nlist:\n    - a\n    - b\n";

fn start(keys: &[&str]) -> Emulator {
    let kv = Emulator::start_bin(kv_emulator_bin!());
    for k in keys {
        kv.create_key(k);
    }
    kv
}

/// The loopback-only Azure environment for both tools.
fn azure_env(kv: &Emulator) -> Vec<(String, String)> {
    let mut env = kv.env_for_sops();
    env.push(("IMDS_ENDPOINT".into(), kv.ready().imds_endpoint.clone()));
    env
}

fn run(wd: &Workdir, kv: &Emulator, tool: Tool, args: &[&str]) -> Output {
    let mut cmd = wd.cmd(tool).args(args);
    for (k, v) in azure_env(kv) {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

fn ok(out: Output, what: &str) -> Vec<u8> {
    out.expect_ok(what).stdout
}

/// The `azure_kv` entries of an encrypted YAML file: (vault_url, name, version, enc).
fn azure_entries(yaml: &str) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let mut lines = yaml.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_start() == "azure_kv:" {
            let mut current: Vec<(String, String)> = Vec::new();
            while let Some(next) = lines.peek() {
                let t = next.trim_start();
                if !(t.starts_with("- ") || next.starts_with("          ")) {
                    break;
                }
                let t = t.trim_start_matches("- ");
                if let Some((k, v)) = t.split_once(": ") {
                    if k == "vault_url" && !current.is_empty() {
                        out.push(entry_of(&current));
                        current.clear();
                    }
                    current.push((k.to_string(), v.trim_matches('"').to_string()));
                }
                lines.next();
            }
            if !current.is_empty() {
                out.push(entry_of(&current));
            }
        }
    }
    out
}

fn entry_of(fields: &[(String, String)]) -> (String, String, String, String) {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["vault_url", "name", "version", "created_at", "enc"],
        "azure_kv fields in sops's order"
    );
    (get("vault_url"), get("name"), get("version"), get("enc"))
}

fn vault_ops(log: &[LogEntry], op: &str) -> usize {
    log.iter()
        .filter(|e| e.listener == "vault" && e.op.as_deref() == Some(op) && e.authorized)
        .count()
}

#[test]
fn sops_and_leafcrypt_read_each_others_files_both_ways() {
    let kv = start(&["app"]);
    let url = kv.key_url("app");
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    wd.write(
        "plain.json",
        "{\"a\": {\"b\": \"secret\"}, \"n\": [1, 2.5, true]}\n",
    );
    wd.write("plain.env", "USER=app\nPASSWORD=hunter2\n");
    wd.write("plain.bin", [0u8, 159, 146, 150, 10, 255]);
    for file in ["plain.yaml", "plain.json", "plain.env", "plain.bin"] {
        let plain = wd.read(file);
        let binary = file.ends_with(".bin");
        let mut enc_args = vec!["encrypt", "--azure-kv", &url];
        if binary {
            enc_args.extend(["--input-type", "binary", "--output-type", "json"]);
        }
        enc_args.push(file);
        let mut dec_args: Vec<&str> = vec!["decrypt"];
        if binary {
            dec_args.extend(["--input-type", "json", "--output-type", "binary"]);
        }
        for writer in [Tool::Sops, Tool::Leafcrypt] {
            let encrypted = ok(
                run(&wd, &kv, writer, &enc_args),
                &format!("{writer} encrypt {file}"),
            );
            let name = format!("by-{writer}-{file}");
            wd.write(&name, &encrypted);
            let mut args = dec_args.clone();
            args.push(&name);
            let by_sops = ok(
                run(&wd, &kv, Tool::Sops, &args),
                &format!("sops decrypt {name}"),
            );
            let by_us = ok(
                run(&wd, &kv, Tool::Leafcrypt, &args),
                &format!("leafcrypt decrypt {name}"),
            );
            assert_eq!(by_us, by_sops, "both tools read {writer}'s {file} alike");
            if !file.ends_with(".json") {
                assert_eq!(by_us, plain, "{writer}'s {file} round-trips");
            }
        }
    }
    // The entry leafcrypt writes is sops's: pinned version, fields in order, 342-char enc.
    let ours = String::from_utf8(ok(
        run(
            &wd,
            &kv,
            Tool::Leafcrypt,
            &["encrypt", "--azure-kv", &url, "plain.yaml"],
        ),
        "leafcrypt encrypt",
    ))
    .unwrap();
    let theirs = String::from_utf8(ok(
        run(
            &wd,
            &kv,
            Tool::Sops,
            &["encrypt", "--azure-kv", &url, "plain.yaml"],
        ),
        "sops encrypt",
    ))
    .unwrap();
    let (a, b) = (azure_entries(&ours), azure_entries(&theirs));
    assert_eq!(a.len(), 1);
    assert_eq!((&a[0].0, &a[0].1, &a[0].2), (&b[0].0, &b[0].1, &b[0].2));
    assert_eq!(a[0].3.len(), 342, "RSA-2048 ciphertext, unpadded base64url");
    assert!(a[0]
        .3
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
}

#[test]
fn local_encryption_needs_no_encrypt_call_and_remote_uses_one() {
    let kv = start(&["app"]);
    let version = kv.create_key("app").version;
    let pinned = format!("{}/{version}", kv.key_url("app"));
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);

    kv.clear_log();
    let local = ok(
        run(
            &wd,
            &kv,
            Tool::Leafcrypt,
            &["encrypt", "--azure-kv", &pinned, "plain.yaml"],
        ),
        "local encrypt",
    );
    let log = kv.log();
    assert_eq!(vault_ops(&log, "encrypt"), 0, "{log:?}");
    assert_eq!(vault_ops(&log, "get"), 1, "{log:?}");

    // A second run reads the public key from the on-disk cache: no vault request at all.
    kv.clear_log();
    ok(
        run(
            &wd,
            &kv,
            Tool::Leafcrypt,
            &["encrypt", "--azure-kv", &pinned, "plain.yaml"],
        ),
        "cached encrypt",
    );
    let log = kv.log();
    assert!(log.iter().all(|e| e.listener != "vault"), "{log:?}");

    kv.clear_log();
    let remote = ok(
        run(
            &wd,
            &kv,
            Tool::Leafcrypt,
            &[
                "encrypt",
                "--azure-kv-remote-encrypt",
                "--azure-kv",
                &pinned,
                "plain.yaml",
            ],
        ),
        "remote encrypt",
    );
    let log = kv.log();
    assert_eq!(vault_ops(&log, "encrypt"), 1, "{log:?}");
    assert_eq!(
        vault_ops(&log, "get"),
        0,
        "pinned + remote needs no get: {log:?}"
    );

    for (name, file) in [("local.yaml", local), ("remote.yaml", remote)] {
        wd.write(name, &file);
        let plain = ok(run(&wd, &kv, Tool::Sops, &["decrypt", name]), name);
        assert_eq!(plain, PLAIN_YAML.as_bytes());
    }
}

#[test]
fn files_survive_key_rotation_and_stale_finds_them() {
    let kv = start(&["app"]);
    let url = kv.key_url("app");
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let old = ok(
        run(
            &wd,
            &kv,
            Tool::Leafcrypt,
            &["encrypt", "--azure-kv", &url, "plain.yaml"],
        ),
        "encrypt",
    );
    wd.write("a.yaml", &old);
    let by_sops = ok(
        run(
            &wd,
            &kv,
            Tool::Sops,
            &["encrypt", "--azure-kv", &url, "plain.yaml"],
        ),
        "sops",
    );
    wd.write("b.yaml", &by_sops);
    let v1 = azure_entries(&String::from_utf8_lossy(&old))[0].2.clone();

    let v2 = kv.rotate("app").version;
    assert_ne!(v1, v2);
    for f in ["a.yaml", "b.yaml"] {
        for tool in [Tool::Sops, Tool::Leafcrypt] {
            let plain = ok(
                run(&wd, &kv, tool, &["decrypt", f]),
                &format!("{tool} after rotation"),
            );
            assert_eq!(plain, PLAIN_YAML.as_bytes());
        }
    }

    let stale = run(
        &wd,
        &kv,
        Tool::Leafcrypt,
        &["azure-kv", "stale", "a.yaml", "b.yaml"],
    );
    assert_eq!(stale.code, 1, "{stale:?}");
    let report = stale.stdout_text();
    for f in ["a.yaml", "b.yaml"] {
        assert!(
            report.contains(&format!("{f}: {url} is at version {v1}, current is {v2}")),
            "{report}"
        );
    }

    ok(
        run(&wd, &kv, Tool::Leafcrypt, &["rotate", "-i", "a.yaml"]),
        "rotate",
    );
    let rotated = String::from_utf8(wd.read("a.yaml")).unwrap();
    assert_eq!(
        azure_entries(&rotated)[0].2,
        v2,
        "rotate re-wraps with the latest"
    );
    let plain = ok(
        run(&wd, &kv, Tool::Sops, &["decrypt", "a.yaml"]),
        "sops after rotate",
    );
    assert_eq!(plain, PLAIN_YAML.as_bytes());
    let stale = run(&wd, &kv, Tool::Leafcrypt, &["azure-kv", "stale", "a.yaml"]);
    assert_eq!(stale.code, 0, "{stale:?}");
}

#[test]
fn shamir_groups_mixing_age_and_key_vault_interoperate() {
    let kv = start(&["grp"]);
    let wd = Workdir::new();
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age:\n          - {}\n      - azure_keyvault:\n          - vaultUrl: {}\n            key: grp\n      - age:\n          - {}\n",
            recipient(1),
            kv.vault(),
            recipient(2)
        ),
    );
    wd.write("plain.yaml", PLAIN_YAML);
    // Only the first age key is given: the Key Vault share is needed for the threshold.
    let key0 = leafcrypt_tests::harness::key_file(1);
    for (writer, reader) in [(Tool::Sops, Tool::Leafcrypt), (Tool::Leafcrypt, Tool::Sops)] {
        let mut cmd = wd.cmd(writer).args(["encrypt", "plain.yaml"]);
        for (k, v) in azure_env(&kv) {
            cmd = cmd.env(k, v);
        }
        let encrypted = ok(cmd.run(), &format!("{writer} encrypt"));
        wd.write("groups.enc.yaml", &encrypted);
        let mut cmd = wd
            .cmd(reader)
            .args(["decrypt", "groups.enc.yaml"])
            .identity(&key0);
        for (k, v) in azure_env(&kv) {
            cmd = cmd.env(k, v);
        }
        assert_eq!(
            ok(cmd.run(), &format!("{reader} decrypt")),
            PLAIN_YAML.as_bytes()
        );
    }
}

fn encrypted_file(kv: &Emulator, wd: &Workdir, key: &str) -> String {
    let enc = ok(
        run(
            wd,
            kv,
            Tool::Leafcrypt,
            &["encrypt", "--azure-kv", &kv.key_url(key), "plain.yaml"],
        ),
        "encrypt",
    );
    wd.write("enc.yaml", &enc);
    String::from_utf8(enc).unwrap()
}

fn failing(out: Output, code: i32, needles: &[&str]) -> String {
    let err = out.stderr_text();
    assert_eq!(out.code, code, "{out:?}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    assert!(!err.contains("eyJ"), "a token leaked into stderr:\n{err}");
    err
}

#[test]
fn forbidden_and_missing_keys_say_what_to_fix() {
    let kv = start(&["app"]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let enc = encrypted_file(&kv, &wd, "app");
    let version = azure_entries(&enc)[0].2.clone();

    kv.deny(&Deny {
        identity: None,
        key: Some("app".into()),
        op: "decrypt".into(),
        model: "rbac".into(),
    });
    failing(
        run(&wd, &kv, Tool::Leafcrypt, &["decrypt", "enc.yaml"]),
        128,
        &[
            "Microsoft.KeyVault/vaults/keys/decrypt/action",
            "keys/decrypt",
            "app",
        ],
    );
    kv.reset();
    kv.deny(&Deny {
        identity: None,
        key: Some("app".into()),
        op: "decrypt".into(),
        model: "policy".into(),
    });
    failing(
        run(&wd, &kv, Tool::Leafcrypt, &["decrypt", "enc.yaml"]),
        128,
        &["keys/decrypt", "does not have keys decrypt permission"],
    );
    kv.reset();

    // An unknown key (encrypt resolves its version) and an unknown version (decrypt).
    let missing = format!("{}/keys/nope", kv.vault());
    failing(
        run(
            &wd,
            &kv,
            Tool::Leafcrypt,
            &["encrypt", "--azure-kv", &missing, "plain.yaml"],
        ),
        1,
        &["nope", "not found"],
    );
    wd.write(
        "enc.yaml",
        enc.replace(&version, "0123456789abcdef0123456789abcdef"),
    );
    failing(
        run(&wd, &kv, Tool::Leafcrypt, &["decrypt", "enc.yaml"]),
        128,
        &["0123456789abcdef0123456789abcdef", "version"],
    );
}

#[test]
fn throttling_and_outages_are_retried_within_bounds() {
    let kv = start(&["app"]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    encrypted_file(&kv, &wd, "app");

    kv.clear_log();
    kv.fault(&Fault {
        op: "decrypt".into(),
        status: Some(429),
        count: 2,
        retry_after: Some(1),
        ..Fault::default()
    });
    let plain = ok(
        run(&wd, &kv, Tool::Leafcrypt, &["decrypt", "enc.yaml"]),
        "after 2×429",
    );
    assert_eq!(plain, PLAIN_YAML.as_bytes());
    let decrypts: Vec<u16> = kv
        .log()
        .iter()
        .filter(|e| e.op.as_deref() == Some("decrypt") && e.authorized)
        .map(|e| e.status)
        .collect();
    assert_eq!(decrypts, [429, 429, 200]);

    kv.clear_log();
    kv.fault(&Fault {
        op: "decrypt".into(),
        status: Some(503),
        count: 50,
        ..Fault::default()
    });
    let err = failing(
        run(&wd, &kv, Tool::Leafcrypt, &["decrypt", "enc.yaml"]),
        128,
        &["503"],
    );
    let attempts = kv
        .log()
        .iter()
        .filter(|e| e.op.as_deref() == Some("decrypt") && e.authorized)
        .count();
    assert_eq!(attempts, 4, "bounded retries: {err}");
    kv.reset();

    kv.fault(&Fault {
        op: "decrypt".into(),
        count: 1,
        drop_connection: true,
        ..Fault::default()
    });
    let plain = ok(
        run(&wd, &kv, Tool::Leafcrypt, &["decrypt", "enc.yaml"]),
        "after a reset",
    );
    assert_eq!(plain, PLAIN_YAML.as_bytes());
}

#[test]
fn a_foreign_challenge_resource_is_refused_unless_opted_out() {
    let kv = start(&["app"]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    encrypted_file(&kv, &wd, "app");
    kv.set_challenge(Some("https://vault.azure.net"), None, None);
    kv.clear_log();
    let err = failing(
        run(&wd, &kv, Tool::Leafcrypt, &["decrypt", "enc.yaml"]),
        128,
        &["vault.azure.net", "--azure-kv-skip-resource-check"],
    );
    assert!(
        kv.log()
            .iter()
            .all(|e| !(e.listener == "vault" && e.authorized)),
        "no token may be sent to a vault whose challenge names another resource: {err}"
    );
    let plain = ok(
        run(
            &wd,
            &kv,
            Tool::Leafcrypt,
            &["decrypt", "--azure-kv-skip-resource-check", "enc.yaml"],
        ),
        "opted out",
    );
    assert_eq!(plain, PLAIN_YAML.as_bytes());
}

#[test]
fn unreachable_vaults_and_missing_credentials_are_explained() {
    let kv = start(&["app"]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let enc = encrypted_file(&kv, &wd, "app");

    // A vault on a closed loopback port: the host is named.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("https://{}", closed.local_addr().unwrap());
    drop(closed);
    wd.write("dead.yaml", enc.replace(kv.vault(), &dead));
    let host = dead.trim_start_matches("https://");
    failing(
        run(&wd, &kv, Tool::Leafcrypt, &["decrypt", "dead.yaml"]),
        128,
        &[host],
    );

    // No credential configured (IMDS on a closed loopback port, no `az`): every member of
    // the chain is listed with its reason.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let imds = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    kv.clear_log();
    let out = wd
        .cmd(Tool::Leafcrypt)
        .args(["decrypt", "enc.yaml"])
        .env("SSL_CERT_FILE", kv.ca())
        .env("IMDS_ENDPOINT", &imds)
        .env("PATH", "/nonexistent")
        .run();
    failing(
        out,
        128,
        &[
            "EnvironmentCredential",
            "WorkloadIdentityCredential",
            "ManagedIdentityCredential",
            "AzureCliCredential",
        ],
    );
    assert!(
        kv.log()
            .iter()
            .all(|e| e.listener != "vault" || !e.authorized),
        "nothing authorised without a credential"
    );
}

#[test]
fn batch_decrypt_shares_one_token_and_overlaps_requests() {
    let kv = start(&["app"]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let enc = encrypted_file(&kv, &wd, "app");
    let names: Vec<String> = (0..12).map(|i| format!("f{i}.yaml")).collect();
    for n in &names {
        wd.write(n, &enc);
    }
    std::fs::create_dir(wd.join("out")).unwrap();
    kv.clear_log();
    let mut args = vec!["decrypt", "--output-dir", "out", "--jobs", "4"];
    args.extend(names.iter().map(String::as_str));
    run(&wd, &kv, Tool::Leafcrypt, &args).expect_ok("batch decrypt");
    for n in &names {
        assert_eq!(wd.read(&format!("out/{n}")), PLAIN_YAML.as_bytes());
    }
    let log = kv.log();
    assert_eq!(vault_ops(&log, "decrypt"), 12, "{log:?}");
    let tokens = log
        .iter()
        .filter(|e| e.listener == "token" && e.status == 200)
        .count();
    assert_eq!(tokens, 1, "one token for the whole batch: {log:?}");
    assert!(Path::new(&wd.join("out/f0.yaml")).exists());
}

#[test]
fn a_slow_vault_times_out_per_request_and_is_retried() {
    let kv = start(&["app"]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    encrypted_file(&kv, &wd, "app");
    let decrypt = |wd: &Workdir| {
        let mut cmd = wd
            .cmd(Tool::Leafcrypt)
            .args(["decrypt", "enc.yaml"])
            .env("LEAFCRYPT_AZURE_KV_TIMEOUT", "0.5");
        for (k, v) in azure_env(&kv) {
            cmd = cmd.env(k, v);
        }
        cmd.run()
    };
    // One slow answer: that attempt times out, the retry succeeds.
    kv.fault(&Fault {
        op: "decrypt".into(),
        count: 1,
        delay_ms: 3000,
        ..Fault::default()
    });
    let plain = ok(decrypt(&wd), "after one timeout");
    assert_eq!(plain, PLAIN_YAML.as_bytes());
    // Always slow: bounded attempts, then an error that names the host and the timeout.
    kv.fault(&Fault {
        op: "decrypt".into(),
        count: 20,
        delay_ms: 3000,
        ..Fault::default()
    });
    let host = kv.vault().trim_start_matches("https://").to_string();
    let err = failing(decrypt(&wd), 128, &[&host]);
    assert!(
        err.contains("timed out") || err.contains("timeout"),
        "{err}"
    );
}

#[test]
fn a_file_naming_a_real_vault_never_reaches_it_from_the_tests() {
    // metadata/all-kinds.yaml names https://myvault.vault.azure.net; without the age key
    // the Key Vault entry is tried, and the harness's proxy guard stops it on loopback.
    let wd = Workdir::new();
    let vector = leafcrypt_tests::harness::vectors_dir().join("metadata/all-kinds.yaml");
    wd.write("all.yaml", std::fs::read(vector).unwrap());
    let out = wd
        .cmd(Tool::Leafcrypt)
        .args(["decrypt", "all.yaml"])
        .env("AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential")
        .env("IMDS_ENDPOINT", "http://127.0.0.1:9")
        .run();
    let err = failing(out, 128, &["myvault.vault.azure.net"]);
    assert!(
        err.contains("tunnel error"),
        "the request went to the loopback guard: {err}"
    );
}

#[test]
fn updatekeys_pins_the_rules_key_vault_keys_and_catches_up_after_rotation() {
    let kv = start(&["app"]);
    let wd = Workdir::new();
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - azure_keyvault: {}\n",
            kv.key_url("app")
        ),
    );
    wd.write("plain.yaml", PLAIN_YAML);
    let enc = ok(
        run(&wd, &kv, Tool::Leafcrypt, &["encrypt", "plain.yaml"]),
        "encrypt",
    );
    wd.write("f.yaml", &enc);
    let v1 = azure_entries(&String::from_utf8_lossy(&enc))[0].2.clone();

    let same =
        run(&wd, &kv, Tool::Leafcrypt, &["updatekeys", "-y", "f.yaml"]).expect_ok("up to date");
    assert!(
        same.stderr_text().contains("already up to date"),
        "{same:?}"
    );
    assert_eq!(wd.read("f.yaml"), enc);

    let v2 = kv.rotate("app").version;
    let moved =
        run(&wd, &kv, Tool::Leafcrypt, &["updatekeys", "-y", "f.yaml"]).expect_ok("rotated");
    let err = moved.stderr_text();
    assert!(
        err.contains(&format!("+++ {}/{v2}", kv.key_url("app"))),
        "{err}"
    );
    assert!(
        err.contains(&format!("--- {}/{v1}", kv.key_url("app"))),
        "{err}"
    );
    let updated = String::from_utf8(wd.read("f.yaml")).unwrap();
    assert_eq!(azure_entries(&updated)[0].2, v2);
    let plain = ok(
        run(&wd, &kv, Tool::Sops, &["decrypt", "f.yaml"]),
        "sops after updatekeys",
    );
    assert_eq!(plain, PLAIN_YAML.as_bytes());
}

/// One raw HTTP/1.1 exchange with the proxy: (status, lowercased head, body).
fn http(addr: &str, request: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn kv_proxy_forwards_only_key_operations_for_allowed_origins() {
    use std::io::BufRead;
    let kv = start(&["app"]);
    let mut proxy = std::process::Command::new(leafcrypt_tests::harness::leafcrypt_bin())
        .args([
            "kv-proxy",
            "--vault",
            kv.vault(),
            "--allow-origin",
            "http://127.0.0.1:8080",
        ])
        .args(["--port", "0", "--exit-with-stdin"])
        .env_clear()
        .env("SSL_CERT_FILE", kv.ca())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(proxy.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().trim_start_matches("http://").to_string();
    let ask = |method: &str, path: &str, headers: &str| {
        http(
            &addr,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    let origin = "Origin: http://127.0.0.1:8080\r\n";

    let (status, head, _) = ask("OPTIONS", "/keys/app/decrypt", origin);
    assert_eq!(status, 204, "{head}");
    assert!(
        head.contains("access-control-allow-origin: http://127.0.0.1:8080"),
        "{head}"
    );
    assert!(
        head.contains("access-control-expose-headers: www-authenticate"),
        "{head}"
    );

    // Forwarded: Key Vault's own challenge comes back, with CORS headers added.
    let (status, head, body) = ask("POST", "/keys/app/decrypt?api-version=7.6", origin);
    assert_eq!(status, 401, "{head}");
    assert!(head.contains("www-authenticate: bearer"), "{head}");
    assert!(head.contains("access-control-allow-origin"), "{head}");
    assert!(body.contains("Unauthorized"), "{body}");

    let (status, head, body) = ask("GET", "/keys/app", "Origin: http://evil.example\r\n");
    assert_eq!(status, 403, "{head}");
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    assert!(
        body.contains("--allow-origin http://evil.example"),
        "{body}"
    );

    let (status, _, body) = ask("GET", "/secrets/s", origin);
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = ask("GET", "/evil.example/keys/k", origin);
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = http(
        &addr,
        "GET /keys/app HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 421, "DNS rebinding: another Host is refused");

    // Only the allowed request reached the vault; the proxy logs no header or token.
    let vault_paths: Vec<String> = kv
        .log()
        .iter()
        .filter(|e| e.listener == "vault")
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(vault_paths, ["/keys/app/decrypt"], "{vault_paths:?}");
    drop(proxy.stdin.take());
    let out = proxy.wait_with_output().unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("POST /keys/app/decrypt -> 401"), "{log}");
    assert!(!log.to_ascii_lowercase().contains("origin: "), "{log}");
}

#[test]
fn every_credential_kind_opens_a_file_through_the_cli() {
    use std::os::unix::fs::PermissionsExt;
    let kv = start(&["app"]);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    encrypted_file(&kv, &wd, "app");
    let ready = kv.ready().clone();

    // A fake `az` printing a token minted by the emulator, as `az account get-access-token` does.
    let token = kv.mint_token(Some("cli-user"), None);
    let bin = wd.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let az = bin.join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args\"\nprintf '{{\"accessToken\":\"{token}\",\"expires_on\":%s,\"tokenType\":\"Bearer\"}}' $(( $(date +%s) + 3600 ))\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3bCJ9.c2ln";
    let federated = wd.write("federated.jwt", format!("{jwt}\n"));

    // (what, environment, flags)
    type Route<'a> = (&'a str, Vec<(&'a str, String)>, Vec<&'a str>);
    let routes: Vec<Route> = vec![
        (
            "client secret",
            vec![
                ("AZURE_TENANT_ID", "adfs".into()),
                ("AZURE_CLIENT_ID", "secret-app".into()),
                ("AZURE_CLIENT_SECRET", "s3cret".into()),
                ("AZURE_AUTHORITY_HOST", ready.authority.clone()),
            ],
            vec![],
        ),
        (
            "workload identity",
            vec![
                ("AZURE_TENANT_ID", "adfs".into()),
                ("AZURE_CLIENT_ID", "wl-app".into()),
                (
                    "AZURE_FEDERATED_TOKEN_FILE",
                    federated.display().to_string(),
                ),
                ("AZURE_AUTHORITY_HOST", ready.authority.clone()),
            ],
            vec![],
        ),
        (
            "azure cli",
            vec![("PATH", format!("{}:/usr/bin:/bin", bin.display()))],
            vec!["--azure-credential", "AzureCliCredential"],
        ),
    ];
    for (what, env, flags) in routes {
        let mut args = flags.clone();
        args.extend(["decrypt", "enc.yaml"]);
        let mut cmd = wd
            .cmd(Tool::Leafcrypt)
            .args(&args)
            .env("SSL_CERT_FILE", &ready.ca)
            .env("IMDS_ENDPOINT", "http://127.0.0.1:9");
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        kv.clear_log();
        let plain = ok(cmd.run(), what);
        assert_eq!(plain, PLAIN_YAML.as_bytes(), "{what}");
        let log = kv.log();
        assert!(
            log.iter()
                .any(|e| e.op.as_deref() == Some("decrypt") && e.authorized && e.status == 200),
            "{what}: {log:?}"
        );
    }
    let args = std::fs::read_to_string(bin.join("args")).unwrap();
    assert!(
        args.contains("account get-access-token") && args.contains("--resource"),
        "{args}"
    );
}
