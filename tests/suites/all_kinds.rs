//! Shamir key groups mixing every key kind sops knows — age, PGP (a private GnuPG home),
//! AWS KMS (moto), Azure Key Vault (kv-emulator), GCP KMS (gcp-emulator; sops through its
//! gRPC proxy front) and Vault transit (vault-emulator) — with all emulators running at
//! once, judged against the real sops 3.11:
//! - each tool encrypts with 3 groups of 2 kinds and threshold 2, and both tools decrypt
//!   each other's files when only a quorum of groups is reachable, each kind being in
//!   turn the only reader of its group; one reachable group is not enough (same exit code);
//!   then with the GCP, Vault and Key Vault emulators really stopped;
//! - `updatekeys` adds one entry of each kind and then removes one of each, keeping the
//!   data key, exactly as sops does on the same file, and each added entry opens the file
//!   alone in its group;
//! - `rotate --add-*`/`--rm-*` with every kind gives sops's key groups and a new data key.
//!
//! - PKCS#11 (a private SoftHSM2 token) joins the Vault/GCP group in a leafcrypt-only test
//!   (sops has no PKCS#11 key source): quorum decryption, `rotate` and `updatekeys` with it.

use leafcrypt_tests::gcp::Gcp;
use leafcrypt_tests::harness::{key_file, recipient, vectors_dir, Output, Tool, Workdir};
use leafcrypt_tests::kv::{Deny, Emulator as KeyVault};
use leafcrypt_tests::moto::{Listener, Moto};
use leafcrypt_tests::vault::Vault;
use leafcrypt_tests::{gcp_emulator_bin, kv_emulator_bin, vault_emulator_bin};
use serde_json::{json, Value};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// The functional-test PGP keys with secrets (tests/vectors/pgp).
const FP: [&str; 2] = [
    "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4",
    "D7229043384BCC60326C6FB9D8720D957C3D3074",
];
/// Two Cloud KMS keys of the emulator.
const GCP: [&str; 2] = [
    "projects/emu-project/locations/global/keyRings/sops/cryptoKeys/k1",
    "projects/emu-project/locations/global/keyRings/sops/cryptoKeys/k2",
];
/// Two Key Vault key names and Vault transit key names.
const NAMES: [&str; 2] = ["app", "two"];
const PLAIN: &str = "{\"db\": {\"user\": \"app\", \"password\": \"hunter2\"}, \"port\": 5432}\n";

/// One key kind of a sops file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Age,
    Pgp,
    Kms,
    Azure,
    Gcp,
    Vault,
}

const KINDS: [Kind; 6] = [
    Kind::Age,
    Kind::Pgp,
    Kind::Kms,
    Kind::Azure,
    Kind::Gcp,
    Kind::Vault,
];

// ---- GnuPG homes --------------------------------------------------------

/// A private GnuPG home holding some of the functional-test secret keys; its daemons are
/// stopped on drop.
struct GnupgHome(tempfile::TempDir);

impl GnupgHome {
    /// A home with the secret keys `FP[i]` for each `i` of `which`.
    fn with(which: &[usize]) -> GnupgHome {
        let dir = tempfile::Builder::new()
            .prefix("lc-gnupg-")
            .tempdir()
            .expect("GNUPGHOME");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod 0700");
        let home = GnupgHome(dir);
        if which.is_empty() {
            return home;
        }
        let all = GnupgHome::with(&[]);
        let armored =
            std::fs::read(vectors_dir().join("pgp/sops_functional_tests_key.asc")).expect("keys");
        all.gpg(&["--import"], &armored);
        let fps: Vec<&str> = which.iter().map(|&i| FP[i]).collect();
        let secret = all.gpg(
            &[&["--armor", "--export-secret-keys"], &fps[..]].concat(),
            b"",
        );
        home.gpg(&["--import"], &secret);
        home
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn gpg(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let mut child = Command::new("gpg")
            .arg("--batch")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GNUPGHOME", self.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg (scripts/setup installs gnupg)");
        let _ = child.stdin.take().expect("stdin").write_all(stdin);
        let out = child.wait_with_output().expect("gpg");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", self.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

// ---- every emulator at once ------------------------------------------------------------------

/// All key services, two keys of each kind, and what each tool needs to reach them.
struct World {
    /// Kept running for the whole test (the environment names its port).
    _moto: Moto,
    kms_denier: Listener,
    arns: [String; 2],
    kv: Option<KeyVault>,
    /// Key Vault key ids with their pinned version (`…/keys/NAME/VERSION`).
    kids: [String; 2],
    gcp: Option<Gcp>,
    vault: Option<Vault>,
    vault_urls: [String; 2],
    /// GnuPG homes holding none, FP[0], FP[1], both.
    homes: [GnupgHome; 4],
    /// age identities: key 1 and 2 together, for "every key reachable".
    dir: tempfile::TempDir,
    /// The environment every command gets, whether or not an emulator was stopped since.
    base: Vec<(String, String)>,
    vault_root: String,
}

impl World {
    fn start() -> World {
        let moto = Moto::start();
        let arns = [moto.create_key("eu-west-1"), moto.create_key("eu-west-1")];
        let kv = KeyVault::start_bin(kv_emulator_bin!());
        let kids = NAMES.map(|n| kv.create_key(n).kid);
        let gcp = Gcp::start(gcp_emulator_bin!(), &["--key", GCP[0], "--key", GCP[1]]);
        let vault = Vault::start(
            vault_emulator_bin!(),
            &["--key", "transit/app", "--key", "transit/two"],
        );
        let vault_urls = NAMES.map(|n| vault.key_url("transit", n));
        vault.add_token(
            "only-app",
            json!([{"path": "transit/decrypt/app", "capabilities": ["update"]}]),
        );
        vault.add_token(
            "only-two",
            json!([{"path": "transit/decrypt/two", "capabilities": ["update"]}]),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        // One bundle for both TLS fronts: Key Vault's and GCP's gRPC proxy (sops's Go reads
        // one SSL_CERT_FILE).
        let mut bundle = std::fs::read(kv.ca()).expect("kv ca");
        bundle.extend(std::fs::read(gcp.get("ca")).expect("gcp ca"));
        std::fs::write(dir.path().join("ca.pem"), bundle).expect("bundle");
        let mut ages = std::fs::read(key_file(1)).expect("key1");
        ages.extend(std::fs::read(key_file(2)).expect("key2"));
        std::fs::write(dir.path().join("ages.txt"), ages).expect("ages");
        let mut base = moto.env();
        base.extend(kv.env_for_sops());
        base.retain(|(k, _)| k != "SSL_CERT_FILE");
        let endpoint = gcp.get("endpoint");
        base.extend([
            ("IMDS_ENDPOINT".into(), kv.ready().imds_endpoint.clone()),
            (
                "SSL_CERT_FILE".into(),
                dir.path().join("ca.pem").display().to_string(),
            ),
            ("HTTPS_PROXY".into(), endpoint.clone()),
            ("https_proxy".into(), endpoint.clone()),
            ("SOPS_GCP_KMS_ENDPOINT".into(), endpoint),
            ("GOOGLE_OAUTH_ACCESS_TOKEN".into(), gcp.get("token")),
            ("VAULT_ADDR".into(), vault.addr.clone()),
        ]);
        let vault_root = vault.token.clone();
        World {
            base,
            vault_root,
            _moto: moto,
            kms_denier: Listener::start(vec![(
                400,
                vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
                "{\"__type\":\"AccessDeniedException\",\"message\":\"denied by the test\"}".into(),
            )]),
            arns,
            kv: Some(kv),
            kids,
            gcp: Some(gcp),
            vault: Some(vault),
            vault_urls,
            homes: [
                GnupgHome::with(&[]),
                GnupgHome::with(&[0]),
                GnupgHome::with(&[1]),
                GnupgHome::with(&[0, 1]),
            ],
            dir,
        }
    }

    /// The `.sops.yaml` rule: 3 groups, threshold 2, with key `i` of each kind per group
    /// (`keys[kind]` lists the indices).
    fn rule(&self, keys: &[(Kind, &[usize])]) -> String {
        let list = |k: Kind| {
            keys.iter()
                .find(|(kk, _)| *kk == k)
                .map_or(&[][..], |e| e.1)
        };
        let mut groups = String::new();
        for pair in [
            [Kind::Age, Kind::Pgp],
            [Kind::Kms, Kind::Azure],
            [Kind::Gcp, Kind::Vault],
        ] {
            let mut first = true;
            for kind in pair {
                let idx = list(kind);
                if idx.is_empty() {
                    continue;
                }
                let lead = if first { "      - " } else { "        " };
                first = false;
                groups.push_str(&format!("{lead}{}:\n", rule_name(kind)));
                for &i in idx {
                    groups.push_str(&match kind {
                        Kind::Age => format!("          - {}\n", recipient(i + 1)),
                        Kind::Pgp => format!("          - {}\n", FP[i]),
                        Kind::Kms => format!("          - arn: {}\n", self.arns[i]),
                        Kind::Azure => format!(
                            "          - vaultUrl: {}\n            key: {}\n            version: \"\"\n",
                            self.kids[i].split("/keys/").next().unwrap_or_default(),
                            NAMES[i]
                        ),
                        Kind::Gcp => format!("          - resource_id: {}\n", GCP[i]),
                        Kind::Vault => format!("          - {}\n", self.vault_urls[i]),
                    });
                }
            }
        }
        format!("creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n{groups}")
    }

    /// The identifier sops's `--add-KIND`/`--rm-KIND` flags take for key `i` of `kind`.
    fn flag_value(&self, kind: Kind, i: usize) -> String {
        match kind {
            Kind::Age => recipient(i + 1).to_string(),
            Kind::Pgp => FP[i].to_string(),
            Kind::Kms => self.arns[i].clone(),
            Kind::Azure => self.kids[i].clone(),
            Kind::Gcp => GCP[i].to_string(),
            Kind::Vault => self.vault_urls[i].clone(),
        }
    }

    /// Makes exactly the keys in `reach` (kind, index) usable and returns the environment
    /// both tools get: the others are denied by their emulator (Key Vault, GCP), disabled
    /// or lack a credential (KMS credentials, age identity, GnuPG secret key, Vault token).
    fn reach(&self, reach: &[(Kind, usize)]) -> Vec<(String, String)> {
        let has = |k: Kind, i: usize| reach.contains(&(k, i));
        if let Some(kv) = &self.kv {
            kv.reset();
            for (_, name) in NAMES
                .iter()
                .enumerate()
                .filter(|(i, _)| !has(Kind::Azure, *i))
            {
                kv.deny(&Deny {
                    identity: None,
                    key: Some(name.to_string()),
                    op: "*".into(),
                    model: "policy".into(),
                });
            }
        }
        if let Some(gcp) = &self.gcp {
            gcp.admin("POST", "reset", json!({}));
            for (i, key) in GCP.iter().enumerate() {
                if !has(Kind::Gcp, i) {
                    gcp.admin("POST", "deny", json!({ "key": key }));
                }
            }
        }
        let mut env = self.base.clone();
        // moto does not refuse disabled keys, so KMS is reached (or not) as a whole: when
        // not, KMS requests go to a listener answering AccessDeniedException (without
        // credentials sops's SDK would spend ~12 s retrying IMDS first).
        if !(has(Kind::Kms, 0) || has(Kind::Kms, 1)) {
            for (k, v) in env.iter_mut() {
                if k == "AWS_ENDPOINT_URL" || k == "AWS_ENDPOINT_URL_KMS" {
                    *v = self.kms_denier.url().to_string();
                }
            }
        }
        let token = match (has(Kind::Vault, 0), has(Kind::Vault, 1)) {
            (true, true) => self.vault_root.clone(),
            (true, false) => "only-app".into(),
            (false, true) => "only-two".into(),
            (false, false) => "not-a-token".into(),
        };
        env.push(("VAULT_TOKEN".into(), token));
        let ages = match (has(Kind::Age, 0), has(Kind::Age, 1)) {
            (true, true) => Some(self.dir.path().join("ages.txt")),
            (true, false) => Some(key_file(1)),
            (false, true) => Some(key_file(2)),
            (false, false) => None,
        };
        if let Some(file) = ages {
            env.push(("SOPS_AGE_KEY_FILE".into(), file.display().to_string()));
        }
        let home = &self.homes[usize::from(has(Kind::Pgp, 0)) + 2 * usize::from(has(Kind::Pgp, 1))];
        env.push(("GNUPGHOME".into(), home.path().display().to_string()));
        env
    }

    /// Every key of every kind.
    fn reach_all(&self) -> Vec<(String, String)> {
        let all: Vec<(Kind, usize)> = KINDS.iter().flat_map(|&k| [(k, 0), (k, 1)]).collect();
        self.reach(&all)
    }
}

/// The `.sops.yaml` name of a kind inside `key_groups`.
fn rule_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Age => "age",
        Kind::Pgp => "pgp",
        Kind::Kms => "kms",
        Kind::Azure => "azure_keyvault",
        Kind::Gcp => "gcp_kms",
        Kind::Vault => "hc_vault",
    }
}

// ---- reading files ---------------------------------------------------------------------------

fn run(wd: &Workdir, tool: Tool, env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = wd
        .cmd(tool)
        .args(args)
        .timeout(std::time::Duration::from_secs(120));
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

fn json_of(bytes: &[u8], what: &str) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// Each key group of an encrypted JSON file as `kind:identifier` strings in file order.
fn groups(file: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for group in file["sops"]["key_groups"].as_array().expect("key_groups") {
        let mut entries = Vec::new();
        for (kind, keys) in group.as_object().expect("group") {
            // sops writes `null` for a kind a group does not use.
            for k in keys.as_array().map_or(&[][..], Vec::as_slice) {
                let id = match kind.as_str() {
                    "age" => k["recipient"].as_str().map(str::to_string),
                    "pgp" => k["fp"].as_str().map(str::to_string),
                    "kms" => k["arn"].as_str().map(str::to_string),
                    "azure_kv" => Some(format!(
                        "{}/keys/{}/{}",
                        k["vault_url"].as_str().unwrap_or_default(),
                        k["name"].as_str().unwrap_or_default(),
                        k["version"].as_str().unwrap_or_default()
                    )),
                    "gcp_kms" => k["resource_id"].as_str().map(str::to_string),
                    "hc_vault" => Some(format!(
                        "{}/v1/{}/keys/{}",
                        k["vault_address"].as_str().unwrap_or_default(),
                        k["engine_path"].as_str().unwrap_or_default(),
                        k["key_name"].as_str().unwrap_or_default()
                    )),
                    "pkcs11" => k["uri"].as_str().map(str::to_string),
                    other => panic!("unexpected key kind {other}"),
                };
                assert!(
                    k["enc"].as_str().is_some_and(|e| !e.is_empty()),
                    "{kind} entry without enc: {k}"
                );
                entries.push(format!("{kind}:{}", id.expect("identifier")));
            }
        }
        out.push(entries);
    }
    out
}

/// The file's key groups as sorted sets, to compare with what a rule asks for.
fn sorted(groups: &[Vec<String>]) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|g| {
            let mut g = g.clone();
            g.sort();
            g
        })
        .collect()
}

/// The expected `kind:identifier` of key `i` of `kind`.
fn entry(w: &World, kind: Kind, i: usize) -> String {
    let name = match kind {
        Kind::Azure => "azure_kv",
        other => rule_name(other),
    };
    format!("{name}:{}", w.flag_value(kind, i))
}

/// The encrypted values (the data key's ciphertexts) and the MAC of an encrypted file.
fn ciphertexts(file: &Value) -> Vec<String> {
    let mut out = vec![
        file["db"]["user"].as_str().unwrap_or_default().to_string(),
        file["db"]["password"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        file["port"].as_str().unwrap_or_default().to_string(),
        file["sops"]["mac"].as_str().unwrap_or_default().to_string(),
    ];
    assert!(
        out.iter().all(|c| c.starts_with("ENC[AES256_GCM,")),
        "{out:?}"
    );
    out.dedup();
    out
}

/// Both tools decrypt every file in `files` with `env`, to the plaintext.
fn both_read(wd: &Workdir, env: &[(String, String)], files: &[&str], what: &str) {
    let plain: Value = serde_json::from_str(PLAIN).expect("plain");
    for file in files {
        let mut outputs = Vec::new();
        for reader in Tool::BOTH {
            let out = run(wd, reader, env, &["decrypt", file])
                .expect_ok(&format!("{what}: {reader} decrypts {file}"));
            assert_eq!(
                json_of(&out.stdout, what),
                plain,
                "{what}: {reader} reading {file}"
            );
            outputs.push(out.stdout);
        }
        assert_eq!(
            outputs[0], outputs[1],
            "{what}: both tools print {file} alike"
        );
    }
}

/// Encrypts plain.json by `tool` into `name` with every key reachable.
fn encrypt(wd: &Workdir, w: &World, tool: Tool, name: &str) -> Value {
    let out = run(wd, tool, &w.reach_all(), &["encrypt", "plain.json"])
        .expect_ok(&format!("{tool} encrypts with the mixed groups"));
    wd.write(name, &out.stdout);
    json_of(&out.stdout, name)
}

// ---- tests -----------------------------------------------------------------------------------

#[test]
fn both_tools_read_mixed_groups_with_only_a_quorum_reachable() {
    let mut w = World::start();
    let wd = Workdir::new();
    wd.write("plain.json", PLAIN);
    let all: Vec<(Kind, &[usize])> = KINDS.iter().map(|&k| (k, &[0usize][..])).collect();
    wd.write(".sops.yaml", w.rule(&all));
    let by_sops = encrypt(&wd, &w, Tool::Sops, "s.json");
    let by_lc = encrypt(&wd, &w, Tool::Leafcrypt, "l.json");
    let expected: Vec<Vec<String>> = [
        [Kind::Age, Kind::Pgp],
        [Kind::Kms, Kind::Azure],
        [Kind::Gcp, Kind::Vault],
    ]
    .iter()
    .map(|pair| pair.iter().map(|&k| entry(&w, k, 0)).collect())
    .collect();
    assert_eq!(
        sorted(&groups(&by_sops)),
        sorted(&expected),
        "sops's groups"
    );
    assert_eq!(
        groups(&by_lc),
        groups(&by_sops),
        "leafcrypt writes sops's groups"
    );
    assert_eq!(by_lc["sops"]["shamir_threshold"], json!(2));
    assert_eq!(by_sops["sops"]["shamir_threshold"], json!(2));

    // Two groups of three, each kind in turn the only reader of its group.
    let files = ["s.json", "l.json"];
    for quorum in [
        [(Kind::Age, 0), (Kind::Kms, 0)],
        [(Kind::Pgp, 0), (Kind::Gcp, 0)],
        [(Kind::Azure, 0), (Kind::Vault, 0)],
    ] {
        both_read(&wd, &w.reach(&quorum), &files, &format!("{quorum:?}"));
    }
    // One group is not enough: both tools fail alike.
    let env = w.reach(&[(Kind::Age, 0), (Kind::Pgp, 0)]);
    for file in files {
        let (s, l) = (
            run(&wd, Tool::Sops, &env, &["decrypt", file]),
            run(&wd, Tool::Leafcrypt, &env, &["decrypt", file]),
        );
        assert_ne!(s.code, 0, "{s:?}");
        assert_eq!(
            l.code, s.code,
            "one group of {file}: sops {s:?}\nleafcrypt {l:?}"
        );
    }
    // The Vault and Key Vault emulators stopped for real (GCP denied): age + KMS still open
    // both. (With gcp-emulator's proxy front stopped too, sops 3.11 spends ~60 s per decrypt
    // retrying gRPC although a quorum is reached; leafcrypt stops at the quorum.)
    w.vault = None;
    w.kv = None;
    both_read(
        &wd,
        &w.reach(&[(Kind::Age, 0), (Kind::Kms, 0)]),
        &files,
        "emulators stopped",
    );
}

#[test]
fn updatekeys_adds_and_removes_an_entry_of_each_kind_keeping_the_data_key() {
    let w = World::start();
    let wd = Workdir::new();
    wd.write("plain.json", PLAIN);
    let first: Vec<(Kind, &[usize])> = KINDS.iter().map(|&k| (k, &[0usize][..])).collect();
    wd.write(".sops.yaml", w.rule(&first));
    let original = encrypt(&wd, &w, Tool::Leafcrypt, "l.json");
    std::fs::copy(wd.join("l.json"), wd.join("s.json")).expect("copy");
    let data_key = ciphertexts(&original);
    let files = ["s.json", "l.json"];
    let updatekeys = |what: &str| {
        for (tool, file) in Tool::BOTH.into_iter().zip(files) {
            run(&wd, tool, &w.reach_all(), &["updatekeys", "-y", file])
                .expect_ok(&format!("{what}: {tool} updatekeys {file}"));
        }
        let (s, l) = (
            json_of(&wd.read("s.json"), "s.json"),
            json_of(&wd.read("l.json"), "l.json"),
        );
        assert_eq!(
            groups(&l),
            groups(&s),
            "{what}: leafcrypt's groups are sops's"
        );
        for f in [&s, &l] {
            assert_eq!(ciphertexts(f), data_key, "{what}: the data key is kept");
        }
        groups(&l)
    };

    // Add key 2 of every kind beside key 1.
    let both: Vec<(Kind, &[usize])> = KINDS.iter().map(|&k| (k, &[0usize, 1][..])).collect();
    wd.write(".sops.yaml", w.rule(&both));
    let added = updatekeys("add");
    let expected: Vec<Vec<String>> = [
        [Kind::Age, Kind::Pgp],
        [Kind::Kms, Kind::Azure],
        [Kind::Gcp, Kind::Vault],
    ]
    .iter()
    .map(|pair| {
        pair.iter()
            .flat_map(|&k| [entry(&w, k, 0), entry(&w, k, 1)])
            .collect()
    })
    .collect();
    assert_eq!(sorted(&added), sorted(&expected));
    // Each added entry opens its group alone (key 1 of every kind unreachable; KMS is
    // isolated after the removal below, see `World::reach`).
    for quorum in [
        [(Kind::Age, 1), (Kind::Kms, 1)],
        [(Kind::Pgp, 1), (Kind::Gcp, 1)],
        [(Kind::Azure, 1), (Kind::Vault, 1)],
    ] {
        both_read(&wd, &w.reach(&quorum), &files, &format!("added {quorum:?}"));
    }

    // Remove key 1 of every kind.
    let second: Vec<(Kind, &[usize])> = KINDS.iter().map(|&k| (k, &[1usize][..])).collect();
    wd.write(".sops.yaml", w.rule(&second));
    let removed = updatekeys("remove");
    let expected: Vec<Vec<String>> = [
        [Kind::Age, Kind::Pgp],
        [Kind::Kms, Kind::Azure],
        [Kind::Gcp, Kind::Vault],
    ]
    .iter()
    .map(|pair| pair.iter().map(|&k| entry(&w, k, 1)).collect())
    .collect();
    assert_eq!(sorted(&removed), sorted(&expected));
    for quorum in [
        vec![(Kind::Kms, 1), (Kind::Gcp, 1)],
        vec![(Kind::Pgp, 1), (Kind::Azure, 1), (Kind::Vault, 1)],
    ] {
        both_read(
            &wd,
            &w.reach(&quorum),
            &files,
            &format!("after removal {quorum:?}"),
        );
    }
    // Key 1 alone no longer opens the files.
    let env = w.reach(&KINDS.map(|k| (k, 0)));
    for tool in Tool::BOTH {
        let out = run(&wd, tool, &env, &["decrypt", "l.json"]);
        assert_ne!(out.code, 0, "{tool} with only the removed keys: {out:?}");
    }
}

#[test]
fn rotate_adds_and_removes_each_kind_with_a_new_data_key() {
    let w = World::start();
    let wd = Workdir::new();
    wd.write("plain.json", PLAIN);
    let first: Vec<(Kind, &[usize])> = KINDS.iter().map(|&k| (k, &[0usize][..])).collect();
    wd.write(".sops.yaml", w.rule(&first));
    let original = encrypt(&wd, &w, Tool::Sops, "s.json");
    std::fs::copy(wd.join("s.json"), wd.join("l.json")).expect("copy");
    std::fs::remove_file(wd.join(".sops.yaml")).expect("no rule for rotate");
    let files = ["s.json", "l.json"];
    let mut data_key = ciphertexts(&original);
    let mut rotate = |what: &str, args: &[String]| {
        let mut results = Vec::new();
        for (tool, file) in Tool::BOTH.into_iter().zip(files) {
            let mut full: Vec<&str> = vec!["rotate", "-i"];
            full.extend(args.iter().map(String::as_str));
            full.push(file);
            run(&wd, tool, &w.reach_all(), &full).expect_ok(&format!("{what}: {tool} rotate"));
            results.push(json_of(&wd.read(file), file));
        }
        assert_eq!(
            groups(&results[1]),
            groups(&results[0]),
            "{what}: leafcrypt's groups are sops's"
        );
        for r in &results {
            let now = ciphertexts(r);
            assert!(
                now.iter().all(|c| !data_key.contains(c)),
                "{what}: a new data key"
            );
        }
        data_key = ciphertexts(&results[1]);
        groups(&results[1])
    };
    let flag = |verb: &str, kind: Kind| {
        format!(
            "--{verb}-{}",
            match kind {
                Kind::Azure => "azure-kv",
                Kind::Gcp => "gcp-kms",
                Kind::Vault => "hc-vault-transit",
                other => rule_name(other),
            }
        )
    };
    // Add key 2 of every kind (sops puts added keys in the first group).
    let adds: Vec<String> = KINDS
        .iter()
        .flat_map(|&k| [flag("add", k), w.flag_value(k, 1)])
        .collect();
    let added = rotate("add", &adds);
    assert_eq!(added.len(), 3, "{added:?}");
    let mut group0: Vec<String> = [Kind::Age, Kind::Pgp].map(|k| entry(&w, k, 0)).to_vec();
    group0.extend(KINDS.map(|k| entry(&w, k, 1)));
    group0.sort();
    assert_eq!(sorted(&added)[0], group0);
    // Remove one entry of each kind: key 1 of age and pgp, key 2 of the others.
    let removes: Vec<String> = KINDS
        .iter()
        .flat_map(|&k| {
            let i = usize::from(!matches!(k, Kind::Age | Kind::Pgp));
            [flag("rm", k), w.flag_value(k, i)]
        })
        .collect();
    let removed = rotate("remove", &removes);
    let expected = vec![
        vec![entry(&w, Kind::Age, 1), entry(&w, Kind::Pgp, 1)],
        vec![entry(&w, Kind::Kms, 0), entry(&w, Kind::Azure, 0)],
        vec![entry(&w, Kind::Gcp, 0), entry(&w, Kind::Vault, 0)],
    ];
    assert_eq!(sorted(&removed), sorted(&expected));
    for quorum in [
        [(Kind::Age, 1), (Kind::Kms, 0)],
        [(Kind::Pgp, 1), (Kind::Gcp, 0)],
        [(Kind::Azure, 0), (Kind::Vault, 0)],
    ] {
        both_read(
            &wd,
            &w.reach(&quorum),
            &files,
            &format!("rotated {quorum:?}"),
        );
    }
}

// ---- PKCS#11 (leafcrypt only) ----------------------------------------------------------------

/// A SoftHSM2 token in `wd` with AES KEKs `kek-1` and `kek-2`: (environment, their URIs).
fn softhsm(wd: &Workdir) -> (Vec<(String, String)>, [String; 2]) {
    let tokens = wd.join("tokens");
    std::fs::create_dir_all(&tokens).expect("token dir");
    let conf = wd.write(
        "softhsm2.conf",
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    );
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "kinds",
            "--pin",
            "246810",
            "--so-pin",
            "13579",
        ])
        .output()
        .unwrap_or_else(|e| panic!("softhsm2-util is required (scripts/setup): {e}"));
    assert!(init.status.success(), "{init:?}");
    let env = vec![
        ("SOFTHSM2_CONF".to_string(), conf.display().to_string()),
        ("LEAFCRYPT_PKCS11_PIN".to_string(), "246810".to_string()),
    ];
    let uris = ["kek-1", "kek-2"].map(|name| {
        run(
            wd,
            Tool::Leafcrypt,
            &env,
            &[
                "pkcs11",
                "keygen",
                &format!("pkcs11:token=kinds;object={name}"),
                "--type",
                "aes",
            ],
        )
        .expect_ok("pkcs11 keygen")
        .stdout_text()
        .trim()
        .to_string()
    });
    (env, uris)
}

#[test]
fn pkcs11_in_a_mixed_group_quorum_rotate_and_updatekeys_leafcrypt_only() {
    let w = World::start();
    let wd = Workdir::new();
    wd.write("plain.json", PLAIN);
    let (hsm, uris) = softhsm(&wd);
    let first: Vec<(Kind, &[usize])> = KINDS.iter().map(|&k| (k, &[0usize][..])).collect();
    // The last group (gcp_kms, hc_vault) gains pkcs11 kek-1.
    let rule = |extra: &[&String]| {
        let mut r = w.rule(&first);
        r.push_str("        pkcs11:\n");
        for u in extra {
            r.push_str(&format!("          - {u}\n"));
        }
        r
    };
    wd.write(".sops.yaml", rule(&[&uris[0]]));
    // Each call sets the emulators' denials: only the keys named are reachable.
    let with_hsm = |reach: &[(Kind, usize)]| {
        let mut env = w.reach(reach);
        env.extend(hsm.iter().cloned());
        env
    };
    let all_hsm = || {
        let mut env = w.reach_all();
        env.extend(hsm.iter().cloned());
        env
    };
    let out = run(&wd, Tool::Leafcrypt, &all_hsm(), &["encrypt", "plain.json"])
        .expect_ok("encrypt with pkcs11 in a group");
    wd.write("f.json", &out.stdout);
    let file = json_of(&out.stdout, "f.json");
    let pkcs11 = format!("pkcs11:{}", uris[0]);
    assert!(groups(&file)[2].contains(&pkcs11), "{:?}", groups(&file));
    let plain: Value = serde_json::from_str(PLAIN).expect("plain");
    let decrypt = |env: &[(String, String)]| run(&wd, Tool::Leafcrypt, env, &["decrypt", "f.json"]);
    // age + PKCS#11 alone in the third group (GCP and Vault unreachable) are a quorum.
    let opened = decrypt(&with_hsm(&[(Kind::Age, 0)])).expect_ok("age + pkcs11");
    assert_eq!(json_of(&opened.stdout, "decrypted"), plain);
    // Without the token's configuration the age group alone is not.
    let alone = decrypt(&w.reach(&[(Kind::Age, 0)]));
    assert_eq!(alone.code, 128, "{alone:?}");

    // updatekeys: kek-2 added to the group, the data key kept.
    let before = ciphertexts(&file);
    wd.write(".sops.yaml", rule(&[&uris[0], &uris[1]]));
    run(
        &wd,
        Tool::Leafcrypt,
        &all_hsm(),
        &["updatekeys", "-y", "f.json"],
    )
    .expect_ok("updatekeys");
    let updated = json_of(&wd.read("f.json"), "f.json");
    assert_eq!(
        ciphertexts(&updated),
        before,
        "updatekeys keeps the data key"
    );
    assert!(groups(&updated)[2].contains(&format!("pkcs11:{}", uris[1])));

    // rotate: kek-1 removed, a new data key; kek-2 (and KMS) still open it.
    std::fs::remove_file(wd.join(".sops.yaml")).expect("no rule for rotate");
    run(
        &wd,
        Tool::Leafcrypt,
        &all_hsm(),
        &["rotate", "-i", "--rm-pkcs11", &uris[0], "f.json"],
    )
    .expect_ok("rotate --rm-pkcs11");
    let rotated = json_of(&wd.read("f.json"), "f.json");
    assert!(
        ciphertexts(&rotated).iter().all(|c| !before.contains(c)),
        "a new data key"
    );
    let kinds: Vec<String> = groups(&rotated).concat();
    assert!(
        !kinds.contains(&pkcs11) && kinds.contains(&format!("pkcs11:{}", uris[1])),
        "{kinds:?}"
    );
    let opened = decrypt(&with_hsm(&[(Kind::Kms, 0)])).expect_ok("kms + pkcs11 kek-2");
    assert_eq!(json_of(&opened.stdout, "decrypted"), plain);
}
