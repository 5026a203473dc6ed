//! `publish` to the clouds: to S3 (moto) with credentials from an AWS profile, and to Google
//! Cloud Storage through gcp-emulator's Cloud Storage front (tests/gcp_emulator/gcs.rs):
//! - S3: both tools publish with only `AWS_PROFILE` and the shared files (static keys and a
//!   role assumed through STS), the objects are the files, signed with the profile's keys;
//! - the front validated first by Google's `google-cloud-storage` Python client
//!   (`STORAGE_EMULATOR_HOST`);
//! - leafcrypt and the real sops 3.11 publish the same files (as is, and re-encrypted for a
//!   `recreation_rule` with gcp_kms + age); the stored objects decrypt with sops and leafcrypt;
//! - leafcrypt authenticates with the GCP KMS credential chain (sops's Go client sends no
//!   credentials to an emulator, so the emulator serves it anonymously);
//! - refusals (denied bucket, missing bucket) fail in leafcrypt naming the object, never the
//!   token — where sops 3.11 exits 0 without noticing the upload failed.

use leafcrypt_tests::gcp::Gcp;
use leafcrypt_tests::gcp_emulator_bin;
use leafcrypt_tests::harness::{key_file, recipient, sops_bin, Output, Tool, Workdir};
use leafcrypt_tests::moto::Moto;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};

const K1: &str = "projects/emu-project/locations/global/keyRings/sops/cryptoKeys/k1";
const PLAIN: &str = "{\n    \"foo\": 2,\n    \"bar\": \"baz\",\n    \"nested\": {\"t\": true}\n}\n";

/// gcp-emulator with a key K1 and bucket `bkt`, anonymous Cloud Storage allowed.
struct Emulator(Gcp);

impl std::ops::Deref for Emulator {
    type Target = Gcp;
    fn deref(&self) -> &Gcp {
        &self.0
    }
}

impl Emulator {
    fn start() -> Emulator {
        Emulator(Gcp::start(
            gcp_emulator_bin!(),
            &["--key", K1, "--bucket", "bkt", "--gcs-anonymous"],
        ))
    }

    /// `name → (bytes, uploader)` of every object in `bkt`.
    fn objects(&self) -> Vec<(String, Vec<u8>, String)> {
        use base64::Engine as _;
        self.admin("GET", "objects", Value::Null)
            .as_array()
            .expect("listing")
            .iter()
            .map(|o| {
                let data = base64::engine::general_purpose::STANDARD
                    .decode(o["data"].as_str().unwrap_or_default())
                    .expect("base64");
                (
                    o["name"].as_str().unwrap_or_default().to_string(),
                    data,
                    o["uploader"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// What both tools get: the Cloud Storage endpoint, an access token, Cloud KMS for
    /// leafcrypt (REST) and for sops (gRPC through the proxy front).
    fn env(&self) -> Vec<(String, String)> {
        let endpoint = self.get("endpoint");
        vec![
            ("STORAGE_EMULATOR_HOST".into(), endpoint.clone()),
            ("SOPS_GCP_KMS_ENDPOINT".into(), endpoint.clone()),
            ("HTTPS_PROXY".into(), endpoint.clone()),
            ("https_proxy".into(), endpoint),
            ("SSL_CERT_FILE".into(), self.get("ca")),
            ("GOOGLE_OAUTH_ACCESS_TOKEN".into(), self.get("token")),
        ]
    }
}

fn run(wd: &Workdir, tool: Tool, env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = wd.cmd(tool).args(args);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

fn with(env: &[(String, String)], extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    env
}

#[test]
fn google_storage_client_accepts_the_emulator() {
    let emu = Emulator::start();
    emu.admin("POST", "bucket", json!({"name": "published"}));
    let python = sops_bin().with_file_name("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("gcp_emulator/google_storage_check.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(emu.ready.to_string())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_PROXY", "127.0.0.1")
        .stdin(Stdio::null())
        .output()
        .expect("run python (scripts/setup installs google-cloud-storage next to sops)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "google-cloud-storage failed (run scripts/setup if it is missing):\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON ({e}): {stdout}"));
    assert_eq!(
        got,
        json!({
            "uploaded": ["dir/app.yaml", 14, "application/x-yaml", true],
            "metadata": ["dir/app.yaml", 14, true],
            "download": "key: ENC[...]\n",
            "bucket": "published",
            "missing_object": 404,
            "missing_bucket": 404,
            "bad_token": 401
        })
    );
}

#[test]
fn publish_to_gcs_as_sops_and_the_objects_decrypt_with_sops() {
    let emu = Emulator::start();
    let env = emu.env();
    let wd = Workdir::new();
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - age: {}\ndestination_rules:\n  - gcs_bucket: bkt\n    gcs_prefix: as-is/\n    path_regex: plain\\.json$\n  - gcs_bucket: bkt\n    gcs_prefix: re/\n    recreation_rule:\n      age: {}\n      gcp_kms: {K1}\n",
            recipient(1),
            recipient(2)
        ),
    );
    let age1 = with(
        &env,
        &[("SOPS_AGE_KEY_FILE", key_file(1).display().to_string())],
    );
    let mut stdouts = Vec::new();
    for tool in Tool::BOTH {
        for f in ["plain.json", "x.json"] {
            wd.write(f, PLAIN);
            run(&wd, tool, &age1, &["encrypt", "-i", f]).expect_ok("encrypt");
        }
        let mut printed = Vec::new();
        for f in ["plain.json", "x.json"] {
            let out = run(&wd, tool, &age1, &["publish", "--yes", f])
                .expect_ok(&format!("{tool} publish {f}"));
            printed.push(out.stdout_text());
        }
        let objects = emu.objects();
        let get = |name: &str| {
            objects
                .iter()
                .find(|o| o.0 == name)
                .unwrap_or_else(|| panic!("{tool}: no object {name} in {objects:?}"))
                .clone()
        };
        // Without recreation keys the file goes as it is.
        let (_, as_is, uploader) = get("as-is/plain.json");
        assert_eq!(as_is, wd.read("plain.json"), "{tool}");
        let expected_uploader = match tool {
            Tool::Sops => "anonymous",
            Tool::Leafcrypt => "user@emu-project.example",
        };
        assert_eq!(uploader, expected_uploader, "{tool}'s credentials");
        // With them, re-encrypted for gcp_kms K1 and age R2 only.
        let (_, re, _) = get("re/x.json");
        let re_text = String::from_utf8(re.clone()).expect("utf-8");
        assert!(
            re_text.contains(recipient(2))
                && !re_text.contains(recipient(1))
                && re_text.contains(K1),
            "{tool}: {re_text}"
        );
        wd.write("re.json", &re);
        let expected: Value = serde_json::from_str(PLAIN).unwrap();
        // sops opens it through Cloud KMS alone (no age key); leafcrypt with age key 2 alone.
        for (reader, reader_env) in [
            (Tool::Sops, env.clone()),
            (
                Tool::Leafcrypt,
                vec![(
                    "SOPS_AGE_KEY_FILE".to_string(),
                    key_file(2).display().to_string(),
                )],
            ),
        ] {
            let out = run(&wd, reader, &reader_env, &["decrypt", "re.json"])
                .expect_ok(&format!("{reader} decrypts {tool}'s re-encrypted object"));
            let got: Value = serde_json::from_slice(&out.stdout).expect("json");
            assert_eq!(got, expected);
        }
        stdouts.push(printed);
    }
    assert_eq!(stdouts[0], stdouts[1], "both tools print the same");
    assert_eq!(stdouts[1][0], "", "nothing printed for an upload as is");
}

#[test]
fn refused_uploads_fail_naming_the_object_and_never_the_token() {
    let emu = Emulator::start();
    let env = emu.env();
    let token = emu.get("token");
    let wd = Workdir::new();
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - age: {}\ndestination_rules:\n  - gcs_bucket: absent\n    path_regex: ^a\\.json$\n  - gcs_bucket: bkt\n    gcs_prefix: p/\n",
            recipient(1)
        ),
    );
    for f in ["a.json", "b.json"] {
        wd.write(f, PLAIN);
        run(&wd, Tool::Leafcrypt, &env, &["encrypt", "-i", f]).expect_ok("encrypt");
    }
    // A missing bucket: sops 3.11 does not look at the upload's outcome and exits 0.
    let sops = run(&wd, Tool::Sops, &env, &["publish", "--yes", "a.json"]);
    assert_eq!(sops.code, 0, "{sops:?}");
    let out = run(&wd, Tool::Leafcrypt, &env, &["publish", "--yes", "a.json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let first = out.first_stderr_line();
    assert!(
        first.contains("gcs://absent/a.json") && first.contains("HTTP 404"),
        "{first}"
    );
    // A denied bucket: 403 with Google's message; the token is never printed.
    emu.admin("POST", "deny", json!({"key": "buckets/bkt"}));
    let out = run(&wd, Tool::Leafcrypt, &env, &["publish", "--yes", "b.json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let text = out.stderr_text();
    assert!(
        text.contains("gcs://bkt/p/b.json")
            && text.contains("HTTP 403")
            && text.contains("storage.objects.create")
            && text.contains("GOOGLE_OAUTH_ACCESS_TOKEN"),
        "{text}"
    );
    assert!(!text.contains(&token), "the token leaked: {text}");
    // An expired/unknown token: 401.
    let bad = with(&env, &[("GOOGLE_OAUTH_ACCESS_TOKEN", "not-a-token".into())]);
    emu.admin("POST", "reset", json!({}));
    let out = run(&wd, Tool::Leafcrypt, &bad, &["publish", "--yes", "b.json"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr_text().contains("HTTP 401"), "{out:?}");
    assert!(emu.objects().is_empty(), "nothing was stored");
}

// ---- S3 with an AWS profile ------------------------------------------------------------------

/// A fake SigV4 header moto accepts (it does not check signatures) for its S3 API.
const MOTO_S3_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDMOTOTEST/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

#[test]
fn publish_to_s3_with_credentials_from_an_aws_profile() {
    let moto = Moto::start();
    let (status, body) = moto.request("PUT", "/bkt", &[("Authorization", MOTO_S3_AUTH)], "");
    assert_eq!(status, 200, "create bucket: {body}");
    let wd = Workdir::new();
    // The harness's HOME is <workdir>/.home: the shared files live there, and the
    // environment names only the profile (no AWS_ACCESS_KEY_ID).
    let aws = wd.path().join(".home/.aws");
    std::fs::create_dir_all(&aws).expect("~/.aws");
    std::fs::write(
        aws.join("credentials"),
        "[team]\naws_access_key_id = AKIDPROFILETEAM\naws_secret_access_key = profilesecret\n\n[base]\naws_access_key_id = AKIDPROFILEBASE\naws_secret_access_key = basesecret\n",
    )
    .expect("credentials");
    std::fs::write(
        aws.join("config"),
        "[profile team]\nregion = eu-west-1\n\n[profile viarole]\nrole_arn = arn:aws:iam::123456789012:role/publisher\nsource_profile = base\nregion = eu-west-1\n",
    )
    .expect("config");
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - age: {}\ndestination_rules:\n  - s3_bucket: bkt\n    s3_prefix: p/\n",
            recipient(1)
        ),
    );
    let endpoints: Vec<(String, String)> = moto
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && k != "AWS_SECRET_ACCESS_KEY")
        .collect();
    for profile in ["team", "viarole"] {
        for tool in Tool::BOTH {
            let name = format!("{profile}-{tool}.json");
            wd.write(&name, PLAIN);
            let env = with(&endpoints, &[("AWS_PROFILE", profile.to_string())]);
            run(&wd, tool, &env, &["encrypt", "-i", &name]).expect_ok("encrypt");
            moto.start_recording();
            run(&wd, tool, &env, &["publish", "--yes", &name])
                .expect_ok(&format!("{tool} publish with profile {profile}"));
            let recorded = moto.recording();
            let (status, object) = moto.request(
                "GET",
                &format!("/bkt/p/{name}"),
                &[("Authorization", MOTO_S3_AUTH)],
                "",
            );
            assert_eq!(status, 200, "{tool} {profile}: {object}");
            assert_eq!(object.as_bytes(), wd.read(&name), "{tool} {profile}");
            // Signed with the profile's keys (the role's temporary keys come from moto's STS).
            let keys: Vec<&str> = recorded
                .iter()
                .filter(|r| r.operation.is_empty())
                .map(|r| r.access_key.as_str())
                .collect();
            match profile {
                "team" => assert_eq!(keys, ["AKIDPROFILETEAM"], "{tool}: {recorded:?}"),
                _ => {
                    let assumed: Vec<&str> = recorded
                        .iter()
                        .filter(|r| r.operation == "AssumeRole")
                        .map(|r| r.access_key.as_str())
                        .collect();
                    assert_eq!(assumed, ["AKIDPROFILEBASE"], "{tool}: {recorded:?}");
                    assert!(
                        keys.len() == 1 && !keys[0].starts_with("AKIDPROFILE"),
                        "{tool}: the upload uses the role's keys: {recorded:?}"
                    );
                }
            }
        }
    }
}
