//! `--recursive` on a 1,000-file tree (YAML, JSON, dotenv and INI secrets, notes no
//! creation rule matches, files `.gitignore` hides) with a Key Vault key in the emulator:
//! `encrypt --recursive` covers exactly the rule's files; `updatekeys --recursive --dry-run`
//! lists exactly the files whose key groups differ from their rule without any Key Vault
//! request; the real run makes one unwrap per file it changes, never more than `--jobs`
//! requests at once (the emulator's counters), and reports every failed file together.
//! Plus `decrypt`/`rotate`/`filestatus`/`azure-kv stale --recursive` on a small tree.

use leafcrypt_tests::harness::{recipient, Output, Tool, Workdir};
use leafcrypt_tests::kv::{Emulator, Fault};
use leafcrypt_tests::kv_emulator_bin;
use std::collections::BTreeSet;
use std::time::Instant;

const FILES: usize = 1000;

/// What the generator put at each path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A secret under `apps/` (a rule matches it).
    Secret,
    /// A `.txt` note under `apps/`: no rule matches.
    NoRule,
    /// Hidden by `.gitignore` (`ignored/` or `*.local.yaml`).
    Ignored,
}

/// File `i`: its path, role and plaintext.
fn file(i: usize) -> (String, Role, String) {
    let app = (i / 10) % 20;
    match i % 20 {
        0 | 10 => (
            format!("apps/app{app}/note{i}.txt"),
            Role::NoRule,
            format!("note {i}\n"),
        ),
        1 => (
            format!("ignored/s{i}.yaml"),
            Role::Ignored,
            format!("k: v{i}\n"),
        ),
        11 => (
            format!("apps/app{app}/s{i}.local.yaml"),
            Role::Ignored,
            format!("k: v{i}\n"),
        ),
        _ => {
            let (ext, body) = match i % 4 {
                0 => ("yaml", format!("db:\n    password: p{i}\nport: {i}\n")),
                1 => ("json", format!("{{\"password\": \"p{i}\", \"n\": {i}}}\n")),
                2 => ("env", format!("PASSWORD=p{i}\nN={i}\n")),
                _ => ("ini", format!("[db]\npassword = p{i}\n")),
            };
            (format!("apps/app{app}/s{i}.{ext}"), Role::Secret, body)
        }
    }
}

/// Whether the second config's first rule (apps 0-2: Key Vault + age) covers `path`.
fn gains_age(path: &str) -> bool {
    ["apps/app0/", "apps/app1/", "apps/app2/"]
        .iter()
        .any(|p| path.starts_with(p))
}

fn azure_env(kv: &Emulator) -> Vec<(String, String)> {
    let mut env = kv.env_for_sops();
    env.push(("IMDS_ENDPOINT".into(), kv.ready().imds_endpoint.clone()));
    env
}

fn leafcrypt(wd: &Workdir, kv: &Emulator, args: &[&str]) -> Output {
    let mut cmd = wd.cmd(Tool::Leafcrypt).args(args);
    for (k, v) in azure_env(kv) {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

/// The file names a `--recursive` run printed on stdout, without the `./` prefix.
fn listed(out: &Output) -> BTreeSet<String> {
    out.stdout_text()
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .collect()
}

/// The number in the summary table's row `label`.
fn row(out: &Output, label: &str) -> usize {
    let err = out.stderr_text();
    let line = err
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no row {label}:\n{err}"));
    line.split_whitespace().last().unwrap().parse().unwrap()
}

/// Replaces the Key Vault `enc` of an encrypted YAML file with bytes Key Vault cannot
/// decrypt (right length, wrong key).
fn corrupt_enc(wd: &Workdir, path: &str) {
    let text = String::from_utf8(wd.read(path)).unwrap();
    let bogus = "A".repeat(342);
    let mut seen = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| match l.split_once("enc: ") {
            Some((indent, _)) if indent.trim().is_empty() && !seen => {
                seen = true;
                format!("{indent}enc: {bogus}")
            }
            _ => l.to_string(),
        })
        .collect();
    assert!(seen, "{path} has no enc line:\n{text}");
    wd.write(path, out.join("\n") + "\n");
}

#[test]
fn a_thousand_files_updatekeys_dry_run_one_unwrap_per_file_bounded_concurrency() {
    let kv = Emulator::start_bin(kv_emulator_bin!());
    let key = kv.create_key("k");
    let wd = Workdir::new();
    wd.write(".gitignore", "ignored/\n*.local.yaml\n");
    for i in 0..FILES {
        let (path, _, body) = file(i);
        std::fs::create_dir_all(wd.join(&path).parent().unwrap()).unwrap();
        wd.write(&path, body);
    }
    let rule = r"^apps/.*\.(yaml|json|env|ini)$";
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: '{rule}'\n    azure_keyvault: {}\n",
            key.kid
        ),
    );
    let secrets: BTreeSet<String> = (0..FILES)
        .map(file)
        .filter(|(_, r, _)| *r == Role::Secret)
        .map(|(p, _, _)| p)
        .collect();
    let no_rule = (0..FILES).filter(|i| file(*i).1 == Role::NoRule).count();

    // encrypt --recursive: exactly the rule's files, in place; ignored files untouched.
    let t = Instant::now();
    let out = leafcrypt(&wd, &kv, &["encrypt", "--recursive", "."]).expect_ok("encrypt -r");
    let encrypt_time = t.elapsed();
    assert_eq!(
        listed(&out),
        secrets,
        "encrypt --recursive changed other files"
    );
    assert_eq!(row(&out, "no creation rule matches"), no_rule);
    assert!(
        !out.stderr.contains(&b'\r'),
        "a progress line without a terminal"
    );
    assert_eq!(row(&out, "changed"), secrets.len());
    for i in 0..FILES {
        let (path, role, body) = file(i);
        let now = String::from_utf8(wd.read(&path)).unwrap();
        assert_eq!(role == Role::Secret, now != body, "{path} ({role:?})");
    }

    // The second config: apps 0-2 also get an age recipient; the rest stay as they are.
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: '^apps/app[012]/.*\\.(yaml|json|env|ini)$'\n    azure_keyvault: {kid}\n    age: {age}\n  - path_regex: '{rule}'\n    azure_keyvault: {kid}\n",
            kid = key.kid,
            age = recipient(1)
        ),
    );
    let expected: BTreeSet<String> = secrets.iter().filter(|p| gains_age(p)).cloned().collect();
    let broken: Vec<String> = expected
        .iter()
        .filter(|p| p.ends_with(".yaml"))
        .take(3)
        .cloned()
        .collect();
    for b in &broken {
        corrupt_enc(&wd, b);
    }

    // --dry-run: exactly those files, and not one Key Vault request.
    kv.clear_log();
    let t = Instant::now();
    let out = leafcrypt(&wd, &kv, &["updatekeys", "--recursive", "--dry-run", "."]);
    let dry_time = t.elapsed();
    let out = out.expect_ok("updatekeys --dry-run");
    assert_eq!(listed(&out), expected);
    assert!(
        kv.counters().ops.is_empty(),
        "dry run asked Key Vault: {:?}",
        kv.counters()
    );

    // The real run, 4 at a time, each unwrap held 30 ms so that requests overlap.
    let jobs = 4;
    kv.fault(&Fault {
        op: "decrypt".into(),
        delay_ms: 30,
        count: expected.len() as u32,
        ..Fault::default()
    });
    kv.clear_log();
    kv.clear_counters();
    let t = Instant::now();
    let out = leafcrypt(
        &wd,
        &kv,
        &[
            "updatekeys",
            "-y",
            "--recursive",
            "--jobs",
            &jobs.to_string(),
            ".",
        ],
    );
    let run_time = t.elapsed();
    assert!(!out.ok(), "a failed file must fail the run\n{out:?}");
    let counters = kv.counters();
    assert_eq!(
        counters.count("decrypt", "k"),
        expected.len() as u64,
        "one unwrap per file to update: {counters:?}"
    );
    // The first requests share one discovery of Key Vault's 401 challenge.
    assert_eq!(counters.unauthorized, 1, "{counters:?}");
    assert!(counters.max_in_flight <= jobs, "{counters:?}");
    assert!(
        counters.max_in_flight >= 2,
        "no overlap at all: {counters:?}"
    );
    let changed = listed(&out);
    let good: BTreeSet<String> = expected
        .iter()
        .filter(|p| !broken.contains(p))
        .cloned()
        .collect();
    assert_eq!(changed, good);
    let err = out.stderr_text();
    assert!(err.contains("3 file(s) failed to update:"), "{err}");
    for b in &broken {
        assert!(
            err.contains(&format!("./{b}: ")),
            "{b} not reported:\n{err}"
        );
    }
    for p in &good {
        let text = String::from_utf8(wd.read(p)).unwrap();
        assert!(text.contains(recipient(1)), "{p} did not gain the age key");
    }

    // Afterwards only the broken files still differ from their rule.
    let out = leafcrypt(&wd, &kv, &["updatekeys", "--recursive", "--dry-run", "."]);
    assert_eq!(listed(&out), broken.iter().cloned().collect());
    eprintln!(
        "bulk timings ({FILES} files, {} secrets, {} updated, jobs {jobs}): encrypt -r {encrypt_time:?}, \
         updatekeys --dry-run {dry_time:?}, updatekeys -y {run_time:?} (30 ms per unwrap), max in flight {}",
        secrets.len(),
        expected.len(),
        counters.max_in_flight
    );
}

#[test]
fn decrypt_rotate_filestatus_and_stale_recursive() {
    let kv = Emulator::start_bin(kv_emulator_bin!());
    let key = kv.create_key("k");
    let wd = Workdir::new();
    std::fs::create_dir_all(wd.join("s/deep")).unwrap();
    wd.write("s/a.yaml", "a: 1\n");
    wd.write("s/deep/b.json", "{\"b\": 2}\n");
    wd.write("s/plain.txt", "hello\n");
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: '\\.(yaml|json)$'\n    azure_keyvault: {}\n",
            key.kid
        ),
    );
    leafcrypt(&wd, &kv, &["encrypt", "--recursive", "s"]).expect_ok("encrypt");
    let out = leafcrypt(&wd, &kv, &["filestatus", "--recursive", "s"]).expect_ok("filestatus");
    assert_eq!(
        out.stdout_text(),
        "{\"file\":\"s/a.yaml\",\"encrypted\":true}\n\
         {\"file\":\"s/deep/b.json\",\"encrypted\":true}\n\
         {\"file\":\"s/plain.txt\",\"encrypted\":false}\n"
    );

    // decrypt mirrors the tree into --output-dir (0700 directories, 0600 files).
    std::fs::create_dir(wd.join("out")).unwrap();
    let out = leafcrypt(
        &wd,
        &kv,
        &["decrypt", "--recursive", "--output-dir", "out", "s"],
    )
    .expect_ok("decrypt -r");
    assert_eq!(
        listed(&out),
        ["s/a.yaml", "s/deep/b.json"].map(String::from).into()
    );
    assert_eq!(wd.read("out/a.yaml"), b"a: 1\n");
    assert_eq!(wd.read("out/deep/b.json"), b"{\n\t\"b\": 2\n}\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| std::fs::metadata(wd.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode("out/a.yaml"), mode("out/deep")), (0o600, 0o700));
    assert!(!wd.join("out/plain.txt").exists());

    // Two roots mirrored into one directory: the inputs that would share a target fail,
    // neither is written; the others are.
    std::fs::create_dir_all(wd.join("t")).unwrap();
    wd.write("t/a.yaml", "other: 2\n");
    leafcrypt(&wd, &kv, &["encrypt", "--recursive", "t"]).expect_ok("encrypt t");
    std::fs::create_dir(wd.join("out2")).unwrap();
    let out = leafcrypt(
        &wd,
        &kv,
        &["decrypt", "--recursive", "--output-dir", "out2", "s", "t"],
    );
    assert_eq!(out.code, 8, "{out:?}");
    assert!(
        out.stderr_text().contains("2 file(s) failed to decrypt:"),
        "{out:?}"
    );
    assert!(!wd.join("out2/a.yaml").exists());
    assert_eq!(wd.read("out2/deep/b.json"), b"{\n\t\"b\": 2\n}\n");

    // A new key version: stale finds both files, rotate --recursive moves them to it.
    kv.rotate("k");
    let out = leafcrypt(&wd, &kv, &["azure-kv", "stale", "--recursive", "s"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout_text().lines().count(), 2, "{out:?}");
    let before = wd.read("s/a.yaml");
    leafcrypt(&wd, &kv, &["rotate", "--recursive", "s"]).expect_ok("rotate -r");
    assert_ne!(wd.read("s/a.yaml"), before);
    leafcrypt(&wd, &kv, &["azure-kv", "stale", "--recursive", "s"]).expect_ok("stale after");
    let out = leafcrypt(&wd, &kv, &["decrypt", "s/a.yaml"]).expect_ok("decrypt after");
    assert_eq!(out.stdout, b"a: 1\n");

    // Refusals: updatekeys --recursive without --yes/--dry-run; decrypt -r without a dir.
    let out = leafcrypt(&wd, &kv, &["updatekeys", "--recursive", "s"]);
    assert_eq!(out.code, 8, "{out:?}");
    let out = leafcrypt(&wd, &kv, &["decrypt", "--recursive", "s"]);
    assert_ne!(out.code, 0, "{out:?}");
}

/// The progress line is drawn when stderr is a terminal (a pseudo-terminal from
/// util-linux `script`), and never otherwise (checked on the 1,000-file runs above).
#[test]
fn progress_line_only_on_a_terminal() {
    let wd = Workdir::new();
    std::fs::create_dir_all(wd.join("t")).unwrap();
    wd.write("t/a.yaml", "a: 1\n");
    wd.write("t/b.txt", "b\n");
    let bin = leafcrypt_tests::harness::leafcrypt_bin();
    let line = format!("'{}' filestatus --recursive t >/dev/null", bin.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(wd.path())
        .output()
        .expect("util-linux `script` is needed for the terminal test (scripts/setup installs it)");
    assert!(out.status.success(), "{out:?}");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(tty.contains("\r\x1b[2K[2/2] check t/b.txt"), "{tty:?}");
    assert!(
        tty.contains("encrypted"),
        "no summary on the terminal: {tty:?}"
    );
}

/// Token requests the emulator logged (IMDS/App Service/Entra answers that issued one).
fn token_requests(kv: &Emulator) -> usize {
    kv.log()
        .iter()
        .filter(|e| e.listener == "token" && e.op.as_deref() == Some("token") && e.authorized)
        .count()
}

/// Whether two token requests were ever logged with no vault request between them (the
/// callers of one run fetching a token each instead of sharing one).
fn back_to_back_tokens(kv: &Emulator) -> bool {
    let log = kv.log();
    let kinds: Vec<&str> = log
        .iter()
        .filter_map(|e| match (e.listener.as_str(), e.op.as_deref()) {
            ("token", Some("token")) if e.authorized => Some("token"),
            ("vault", _) => Some("vault"),
            _ => None,
        })
        .collect();
    kinds.windows(2).any(|w| w == ["token", "token"])
}

/// `updatekeys --recursive -y --jobs 8` over 40 Key Vault files: the first eight files
/// share one challenge discovery (one unauthenticated request, answered 401) and one token
/// request, then one unwrap per file; `decrypt --recursive --output-dir --jobs 8` too. A second run with 2 s tokens outlives its first
/// token: the refresh is one request for all callers, never an expired token at the vault.
#[test]
fn concurrent_files_share_one_challenge_and_one_token() {
    const N: usize = 40;
    let jobs = 8;
    let kv = Emulator::start_bin(kv_emulator_bin!());
    let key = kv.create_key("k");
    let wd = Workdir::new();
    std::fs::create_dir(wd.join("s")).unwrap();
    for i in 0..N {
        wd.write(&format!("s/f{i}.yaml"), format!("secret: v{i}\n"));
    }
    let kv_only = format!(
        "creation_rules:\n  - path_regex: '\\.yaml$'\n    azure_keyvault: {}\n",
        key.kid
    );
    let with_age = format!(
        "creation_rules:\n  - path_regex: '\\.yaml$'\n    azure_keyvault: {}\n    age: {}\n",
        key.kid,
        recipient(1)
    );
    wd.write(".sops.yaml", &kv_only);
    leafcrypt(&wd, &kv, &["encrypt", "--recursive", "s"]).expect_ok("encrypt -r");

    let run = |config: &str| {
        wd.write(".sops.yaml", config);
        kv.clear_log();
        let out = leafcrypt(
            &wd,
            &kv,
            &[
                "updatekeys",
                "-y",
                "--recursive",
                "--jobs",
                &jobs.to_string(),
                "s",
            ],
        )
        .expect_ok("updatekeys -r");
        assert_eq!(listed(&out).len(), N, "{out:?}");
        (kv.counters(), token_requests(&kv), back_to_back_tokens(&kv))
    };

    // Every request held a while, so that the first `jobs` files all ask before the
    // challenge and the token are known.
    for op in ["decrypt", "token"] {
        kv.fault(&Fault {
            op: op.into(),
            delay_ms: 50,
            count: 1000,
            ..Fault::default()
        });
    }
    let (counters, tokens, _) = run(&with_age);
    eprintln!("jobs {jobs}, {N} files: {counters:?}, {tokens} token request(s)");
    assert_eq!(counters.unauthorized, 1, "one challenge: {counters:?}");
    assert_eq!(tokens, 1, "one token request");
    assert_eq!(counters.count("decrypt", "k"), N as u64, "{counters:?}");
    assert!(counters.max_in_flight >= 2, "no overlap: {counters:?}");

    // decrypt --output-dir, 8 at a time: the same, one decrypt per file.
    std::fs::create_dir(wd.join("out")).unwrap();
    kv.clear_log();
    leafcrypt(
        &wd,
        &kv,
        &[
            "decrypt",
            "--recursive",
            "--output-dir",
            "out",
            "--jobs",
            "8",
            "s",
        ],
    )
    .expect_ok("decrypt -r");
    let counters = kv.counters();
    assert_eq!(
        (counters.unauthorized, token_requests(&kv)),
        (1, 1),
        "{counters:?}"
    );
    assert_eq!(counters.count("decrypt", "k"), N as u64, "{counters:?}");
    assert_eq!(wd.read("out/f7.yaml"), b"secret: v7\n");

    // 2 s tokens (refreshed after about 1 s) and unwraps of 300 ms: 5 rounds of 8 take at
    // least 1.5 s, so the first token is due for refresh mid-run.
    kv.reset();
    kv.set_token_lifetime(2);
    kv.fault(&Fault {
        op: "decrypt".into(),
        delay_ms: 300,
        count: 1000,
        ..Fault::default()
    });
    let (counters, tokens, back_to_back) = run(&kv_only);
    eprintln!("2 s tokens: {counters:?}, {tokens} token request(s)");
    assert_eq!(
        counters.unauthorized, 1,
        "one challenge, no expired token sent: {counters:?}"
    );
    assert!(tokens >= 2, "the token was not refreshed: {tokens}");
    assert!(!back_to_back, "a refresh fetched more than one token");
    assert_eq!(counters.count("decrypt", "k"), N as u64, "{counters:?}");
}
