//! AWS KMS interop through moto (an independent AWS implementation, server mode on a
//! 127.0.0.1 ephemeral port): the real sops 3.11.0 and leafcrypt read each other's files
//! in every store; encryption context, a role through STS, a profile from the shared
//! files (static keys, `source_profile` + `role_arn`, `credential_process`), web
//! identity, Shamir groups mixing kms + age + Key Vault, rotate/updatekeys and
//! `decrypt --output-dir --jobs` (one KMS request per file). moto's request recorder
//! shows what each tool sent. Errors moto cannot produce (AccessDenied, throttling) come
//! from a scripted loopback listener, and a test proves that no request leaves loopback.
//!
//! Every process gets the harness's clean environment and network guard (any non-loopback
//! request goes to a closed proxy), every AWS endpoint at moto and IMDS at loopback.

use leafcrypt_tests::harness::{key_file, recipient, Output, Tool, Workdir};
use leafcrypt_tests::kv::Emulator;
use leafcrypt_tests::kv_emulator_bin;
use leafcrypt_tests::moto::{form_value, Listener, Moto, Recorded};

const PLAIN_YAML: &str = "db:\n    user: app\n    password: hunter2\nport: 5432\n";

fn run(wd: &Workdir, env: &[(String, String)], tool: Tool, args: &[&str]) -> Output {
    let mut cmd = wd.cmd(tool).args(args);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

fn ok(out: Output, what: &str) -> Vec<u8> {
    out.expect_ok(what).stdout
}

/// moto's environment without the static keys (for profile and web-identity tests).
fn keyless(moto: &Moto) -> Vec<(String, String)> {
    moto.env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
        .collect()
}

/// The `kms` entries of an encrypted YAML file as `field: value` lines, with `enc` and
/// `created_at` values masked (they differ per run).
fn kms_block(yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in yaml.lines() {
        if line == "    kms:" {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with("        ") {
                break;
            }
            let t = line.trim_start();
            let masked = match t.split_once(": ") {
                Some((k, _)) if k.ends_with("enc") || k.ends_with("created_at") => {
                    format!("{k}: *")
                }
                _ => t.to_string(),
            };
            out.push(masked);
        }
    }
    out
}

fn ops<'a>(rec: &'a [Recorded], op: &str, leafcrypt: bool) -> Vec<&'a Recorded> {
    rec.iter()
        .filter(|r| r.operation == op && r.user_agent.starts_with("leafcrypt") == leafcrypt)
        .collect()
}

#[test]
fn sops_and_leafcrypt_read_each_others_files_in_every_store() {
    let moto = Moto::start();
    let arn = moto.create_key("eu-west-1");
    let env = moto.env();
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    wd.write(
        "plain.json",
        "{\"a\": {\"b\": \"secret\"}, \"n\": [1, 2.5, true]}\n",
    );
    wd.write("plain.env", "USER=app\nPASSWORD=hunter2\n");
    wd.write("plain.ini", "[db]\nuser = app\npassword = hunter2\n");
    wd.write("plain.bin", [0u8, 159, 146, 150, 10, 255]);
    // First: the reference accepts moto (sops reads AWS_ENDPOINT_URL like the SDK).
    ok(
        run(
            &wd,
            &env,
            Tool::Sops,
            &["encrypt", "--kms", &arn, "plain.yaml"],
        ),
        "sops encrypts against moto",
    );
    for file in [
        "plain.yaml",
        "plain.json",
        "plain.env",
        "plain.ini",
        "plain.bin",
    ] {
        let plain = wd.read(file);
        let binary = file.ends_with(".bin");
        let mut enc_args = vec!["encrypt", "--kms", &arn];
        let mut dec_args = vec!["decrypt"];
        if binary {
            enc_args.extend(["--input-type", "binary", "--output-type", "json"]);
            dec_args.extend(["--input-type", "json", "--output-type", "binary"]);
        }
        enc_args.push(file);
        for writer in [Tool::Sops, Tool::Leafcrypt] {
            let encrypted = ok(
                run(&wd, &env, writer, &enc_args),
                &format!("{writer} encrypt {file}"),
            );
            let name = format!("by-{writer}-{file}");
            wd.write(&name, &encrypted);
            let mut args = dec_args.clone();
            args.push(&name);
            let by_sops = ok(
                run(&wd, &env, Tool::Sops, &args),
                &format!("sops decrypt {name}"),
            );
            let by_us = ok(
                run(&wd, &env, Tool::Leafcrypt, &args),
                &format!("leafcrypt decrypt {name}"),
            );
            assert_eq!(by_us, by_sops, "both tools read {writer}'s {file} alike");
            // JSON and INI come back re-formatted (by both alike).
            if !file.ends_with(".json") && !file.ends_with(".ini") {
                assert_eq!(by_us, plain, "{writer}'s {file} round-trips");
            }
        }
    }
    // The entry is sops's, field for field and in order.
    let ours = String::from_utf8(wd.read("by-leafcrypt-plain.yaml")).unwrap();
    let theirs = String::from_utf8(wd.read("by-sops-plain.yaml")).unwrap();
    assert_eq!(kms_block(&ours), kms_block(&theirs));
    assert_eq!(
        kms_block(&ours),
        [
            format!("- arn: {arn}"),
            "created_at: *".into(),
            "enc: *".into(),
            "aws_profile: \"\"".into()
        ]
    );
}

#[test]
fn encryption_context_is_sent_stored_and_required() {
    let moto = Moto::start();
    let arn = moto.create_key("us-east-2");
    let env = moto.env();
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    moto.start_recording();
    let enc = ok(
        run(
            &wd,
            &env,
            Tool::Leafcrypt,
            &[
                "encrypt",
                "--kms",
                &arn,
                "--encryption-context",
                "tier:db,app:demo",
                "plain.yaml",
            ],
        ),
        "leafcrypt encrypt with a context",
    );
    wd.write("ctx.yaml", &enc);
    let by_sops = ok(
        run(&wd, &env, Tool::Sops, &["decrypt", "ctx.yaml"]),
        "sops decrypt",
    );
    assert_eq!(by_sops, PLAIN_YAML.as_bytes());
    let rec = moto.recording();
    let ours = ops(&rec, "TrentService.Encrypt", true);
    assert_eq!(ours.len(), 1, "{rec:?}");
    let body: serde_json::Value = serde_json::from_str(&ours[0].body).unwrap();
    assert_eq!(
        body["EncryptionContext"],
        serde_json::json!({"app": "demo", "tier": "db"})
    );
    assert_eq!(body["KeyId"], arn.as_str());
    let theirs = ops(&rec, "TrentService.Decrypt", false);
    let body: serde_json::Value = serde_json::from_str(&theirs[0].body).unwrap();
    assert_eq!(
        body["EncryptionContext"],
        serde_json::json!({"app": "demo", "tier": "db"})
    );
    // Stored as sops stores it: a sorted map.
    let by_sops_enc = ok(
        run(
            &wd,
            &env,
            Tool::Sops,
            &[
                "encrypt",
                "--kms",
                &arn,
                "--encryption-context",
                "tier:db,app:demo",
                "plain.yaml",
            ],
        ),
        "sops encrypt with a context",
    );
    assert_eq!(
        kms_block(&String::from_utf8_lossy(&enc)),
        kms_block(&String::from_utf8_lossy(&by_sops_enc))
    );
    assert!(String::from_utf8_lossy(&enc)
        .contains("          context:\n            app: demo\n            tier: db\n"));
    // Another context cannot decrypt, in either tool.
    let tampered = String::from_utf8_lossy(&enc).replace("app: demo", "app: other");
    wd.write("tampered.yaml", tampered);
    let sops = run(&wd, &env, Tool::Sops, &["decrypt", "tampered.yaml"]);
    let us = run(&wd, &env, Tool::Leafcrypt, &["decrypt", "tampered.yaml"]);
    assert_eq!((us.code, sops.code), (128, 128), "{us:?}\n{sops:?}");
    let err = us.stderr_text().replace("\n      | ", " ");
    assert!(
        err.contains("kms:Decrypt on") && err.contains("InvalidCiphertextException"),
        "{err}"
    );
    // A malformed context is dropped with sops's warning, by both.
    for tool in [Tool::Sops, Tool::Leafcrypt] {
        let out = run(
            &wd,
            &env,
            tool,
            &[
                "encrypt",
                "--kms",
                &arn,
                "--encryption-context",
                "a:1,b",
                "plain.yaml",
            ],
        );
        assert!(!out.stdout_text().contains("context:"), "{tool}: {out:?}");
        assert!(
            out.stderr_text().contains("context will not be used"),
            "{tool}: {out:?}"
        );
    }
}

#[test]
fn a_role_is_assumed_through_sts_before_kms() {
    let moto = Moto::start();
    let arn = moto.create_key("eu-central-1");
    let role = "arn:aws:iam::123456789012:role/sops-role";
    let env = moto.env();
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    moto.start_recording();
    let enc = ok(
        run(
            &wd,
            &env,
            Tool::Leafcrypt,
            &["encrypt", "--kms", &format!("{arn}+{role}"), "plain.yaml"],
        ),
        "leafcrypt encrypt through a role",
    );
    wd.write("role.yaml", &enc);
    assert!(String::from_utf8_lossy(&enc).contains(&format!("          role: {role}\n")));
    ok(
        run(&wd, &env, Tool::Sops, &["decrypt", "role.yaml"]),
        "sops decrypts through the role",
    );
    let rec = moto.recording();
    for leafcrypt in [true, false] {
        let assume = ops(&rec, "AssumeRole", leafcrypt);
        assert_eq!(assume.len(), 1, "leafcrypt={leafcrypt}: {rec:?}");
        assert_eq!(
            form_value(&assume[0].body, "RoleArn").as_deref(),
            Some(role)
        );
        assert!(form_value(&assume[0].body, "RoleSessionName")
            .unwrap()
            .starts_with("sops@"));
        assert_eq!(
            assume[0].access_key, "AKIDMOTOTEST",
            "STS is called with the base credentials"
        );
    }
    // Both sops and leafcrypt pick the same session name.
    let names: Vec<_> = [true, false]
        .iter()
        .map(|l| form_value(&ops(&rec, "AssumeRole", *l)[0].body, "RoleSessionName"))
        .collect();
    assert_eq!(names[0], names[1]);
    let kms = ops(&rec, "TrentService.Encrypt", true);
    assert!(
        kms[0].access_key.starts_with("ASIA"),
        "KMS is called with the role's credentials: {kms:?}"
    );
}

#[test]
fn profiles_from_the_shared_files() {
    let moto = Moto::start();
    let arn = moto.create_key("us-west-2");
    let env = keyless(&moto);
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    std::fs::create_dir_all(wd.join(".home/.aws")).unwrap();
    wd.write(
        ".home/.aws/credentials",
        "[dev]\naws_access_key_id = AKIDDEVPROFILE\naws_secret_access_key = devsecret\n",
    );
    wd.write(
        ".home/.aws/config",
        "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/chained\nsource_profile = dev\n\
         [profile proc]\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"AKIDPROCESS\",\"SecretAccessKey\":\"p\"}'\n",
    );
    for (profile, expected_key) in [
        ("dev", "AKIDDEVPROFILE"),
        ("chained", "ASIA"),
        ("proc", "AKIDPROCESS"),
    ] {
        moto.start_recording();
        let enc = ok(
            run(
                &wd,
                &env,
                Tool::Leafcrypt,
                &[
                    "encrypt",
                    "--kms",
                    &arn,
                    "--aws-profile",
                    profile,
                    "plain.yaml",
                ],
            ),
            &format!("leafcrypt encrypt with profile {profile}"),
        );
        assert!(
            String::from_utf8_lossy(&enc).contains(&format!("          aws_profile: {profile}\n"))
        );
        let name = format!("{profile}.yaml");
        wd.write(&name, &enc);
        ok(
            run(&wd, &env, Tool::Sops, &["decrypt", &name]),
            &format!("sops decrypts with profile {profile}"),
        );
        let rec = moto.recording();
        let ours = ops(&rec, "TrentService.Encrypt", true);
        assert!(
            ours[0].access_key.starts_with(expected_key),
            "{profile}: {rec:?}"
        );
        if profile == "chained" {
            let assume = ops(&rec, "AssumeRole", true);
            assert_eq!(
                assume[0].access_key, "AKIDDEVPROFILE",
                "source_profile signs AssumeRole"
            );
        }
        let back = ok(
            run(&wd, &env, Tool::Leafcrypt, &["decrypt", &name]),
            "leafcrypt decrypt",
        );
        assert_eq!(back, PLAIN_YAML.as_bytes());
    }
    // A profile that does not exist says where it was looked for.
    let out = run(
        &wd,
        &env,
        Tool::Leafcrypt,
        &[
            "encrypt",
            "--kms",
            &arn,
            "--aws-profile",
            "nope",
            "plain.yaml",
        ],
    );
    assert_ne!(out.code, 0);
    let err = out.stderr_text();
    assert!(
        err.contains("profile nope: not found in") && err.contains(".aws/config"),
        "{err}"
    );
}

#[test]
fn web_identity_from_the_environment() {
    let moto = Moto::start();
    let arn = moto.create_key("ap-southeast-2");
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    // No trailing newline: sops's SDK sends the file as is, leafcrypt trims it.
    let token = wd.write("token", "eyJ.web-identity.token");
    let mut env = keyless(&moto);
    env.push((
        "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
        token.display().to_string(),
    ));
    env.push((
        "AWS_ROLE_ARN".into(),
        "arn:aws:iam::123456789012:role/irsa".into(),
    ));
    moto.start_recording();
    let enc = ok(
        run(
            &wd,
            &env,
            Tool::Leafcrypt,
            &["encrypt", "--kms", &arn, "plain.yaml"],
        ),
        "leafcrypt encrypt (IRSA)",
    );
    wd.write("wi.yaml", &enc);
    ok(
        run(&wd, &env, Tool::Sops, &["decrypt", "wi.yaml"]),
        "sops decrypt (IRSA)",
    );
    let rec = moto.recording();
    for leafcrypt in [true, false] {
        let calls = ops(&rec, "AssumeRoleWithWebIdentity", leafcrypt);
        assert_eq!(calls.len(), 1, "leafcrypt={leafcrypt}: {rec:?}");
        assert_eq!(
            form_value(&calls[0].body, "WebIdentityToken").as_deref(),
            Some("eyJ.web-identity.token")
        );
        assert_eq!(
            form_value(&calls[0].body, "RoleArn").as_deref(),
            Some("arn:aws:iam::123456789012:role/irsa")
        );
    }
}

#[test]
fn shamir_groups_mix_kms_age_and_key_vault() {
    let moto = Moto::start();
    let arn = moto.create_key("eu-west-1");
    let kv = Emulator::start_bin(kv_emulator_bin!());
    kv.create_key("app");
    let mut env = moto.env();
    env.extend(kv.env_for_sops());
    env.push(("IMDS_ENDPOINT".into(), kv.ready().imds_endpoint.clone()));
    env.push((
        "SOPS_AGE_KEY_FILE".into(),
        key_file(1).display().to_string(),
    ));
    let wd = Workdir::new();
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - kms:\n          - arn: {arn}\n            context:\n              team: blue\n      - age:\n          - {}\n      - azure_keyvault:\n          - vaultUrl: {}\n            key: app\n            version: \"\"\n",
            recipient(1),
            kv.vault()
        ),
    );
    wd.write("plain.yaml", PLAIN_YAML);
    for writer in [Tool::Sops, Tool::Leafcrypt] {
        let enc = ok(
            run(&wd, &env, writer, &["encrypt", "plain.yaml"]),
            &format!("{writer} encrypt (3 groups)"),
        );
        let text = String::from_utf8_lossy(&enc).into_owned();
        assert!(
            text.contains("shamir_threshold: 2") && text.contains("team: blue"),
            "{text}"
        );
        let name = format!("groups-{writer}.yaml");
        wd.write(&name, &enc);
        for reader in [Tool::Sops, Tool::Leafcrypt] {
            let out = ok(
                run(&wd, &env, reader, &["decrypt", &name]),
                &format!("{reader} decrypts {writer}'s groups"),
            );
            assert_eq!(out, PLAIN_YAML.as_bytes());
        }
        // Two groups suffice: without the age key, kms + Key Vault still decrypt.
        let no_age: Vec<_> = env
            .iter()
            .filter(|(k, _)| k != "SOPS_AGE_KEY_FILE")
            .cloned()
            .collect();
        let out = ok(
            run(&wd, &no_age, Tool::Leafcrypt, &["decrypt", &name]),
            "kms + Key Vault alone",
        );
        assert_eq!(out, PLAIN_YAML.as_bytes());
    }
}

#[test]
fn rotate_and_updatekeys_add_and_remove_kms_keys() {
    let moto = Moto::start();
    let arn = moto.create_key("eu-west-1");
    let mut env = moto.env();
    env.push((
        "SOPS_AGE_KEY_FILE".into(),
        key_file(1).display().to_string(),
    ));
    let kms_only: Vec<_> = env
        .iter()
        .filter(|(k, _)| k != "SOPS_AGE_KEY_FILE")
        .cloned()
        .collect();
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let enc = ok(
        run(
            &wd,
            &env,
            Tool::Leafcrypt,
            &["encrypt", "--age", recipient(1), "plain.yaml"],
        ),
        "encrypt with age",
    );
    wd.write("f.yaml", &enc);
    ok(
        run(
            &wd,
            &env,
            Tool::Leafcrypt,
            &["rotate", "-i", "--add-kms", &arn, "f.yaml"],
        ),
        "rotate --add-kms",
    );
    let by_sops = ok(
        run(&wd, &kms_only, Tool::Sops, &["decrypt", "f.yaml"]),
        "sops decrypts with kms only",
    );
    assert_eq!(by_sops, PLAIN_YAML.as_bytes());
    ok(
        run(
            &wd,
            &env,
            Tool::Leafcrypt,
            &["rotate", "-i", "--rm-kms", &arn, "f.yaml"],
        ),
        "rotate --rm-kms",
    );
    assert!(!String::from_utf8_lossy(&wd.read("f.yaml")).contains("kms:\n        - arn"));
    assert_ne!(
        run(&wd, &kms_only, Tool::Sops, &["decrypt", "f.yaml"]).code,
        0,
        "no kms key left"
    );
    // sops's own rotate output is readable by leafcrypt with kms only.
    ok(
        run(
            &wd,
            &env,
            Tool::Sops,
            &["rotate", "-i", "--add-kms", &arn, "f.yaml"],
        ),
        "sops rotate --add-kms",
    );
    ok(
        run(&wd, &kms_only, Tool::Leafcrypt, &["decrypt", "f.yaml"]),
        "leafcrypt decrypts sops's rotation",
    );
    // updatekeys: the rule gains a kms key (with the rule's flat `kms` + `aws_profile`).
    let enc = ok(
        run(
            &wd,
            &env,
            Tool::Leafcrypt,
            &["encrypt", "--age", recipient(1), "plain.yaml"],
        ),
        "encrypt with age",
    );
    wd.write("u.yaml", &enc);
    wd.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - age: {}\n    kms: {arn}\n",
            recipient(1)
        ),
    );
    ok(
        run(&wd, &env, Tool::Leafcrypt, &["updatekeys", "-y", "u.yaml"]),
        "updatekeys",
    );
    let by_sops = ok(
        run(&wd, &kms_only, Tool::Sops, &["decrypt", "u.yaml"]),
        "sops decrypts the added kms key",
    );
    assert_eq!(by_sops, PLAIN_YAML.as_bytes());
}

#[test]
fn batch_decrypt_sends_one_kms_request_per_file() {
    let moto = Moto::start();
    let arn = moto.create_key("eu-west-1");
    let env = moto.env();
    let wd = Workdir::new();
    let mut names = Vec::new();
    for i in 0..6 {
        wd.write(&format!("p{i}.yaml"), format!("v: {i}\n"));
        let enc = ok(
            run(
                &wd,
                &env,
                Tool::Sops,
                &["encrypt", "--kms", &arn, &format!("p{i}.yaml")],
            ),
            "sops encrypt",
        );
        let name = format!("e{i}.yaml");
        wd.write(&name, &enc);
        names.push(name);
    }
    std::fs::create_dir(wd.join("out")).unwrap();
    moto.start_recording();
    let mut args = vec!["decrypt", "--output-dir", "out", "--jobs", "3"];
    args.extend(names.iter().map(String::as_str));
    ok(
        run(&wd, &env, Tool::Leafcrypt, &args),
        "decrypt --output-dir --jobs 3",
    );
    for i in 0..6 {
        assert_eq!(
            wd.read(&format!("out/e{i}.yaml")),
            format!("v: {i}\n").as_bytes()
        );
    }
    let rec = moto.recording();
    assert_eq!(
        ops(&rec, "TrentService.Decrypt", true).len(),
        6,
        "one Decrypt per file: {rec:?}"
    );
    assert_eq!(rec.len(), 6, "and nothing else: {rec:?}");
}

fn kms_reply(status: u16, code: &str, message: &str) -> (u16, Vec<(String, String)>, String) {
    (
        status,
        vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
        format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
    )
}

#[test]
fn access_denied_names_the_action_and_key_and_throttling_is_retried() {
    let arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let denied = Listener::start(vec![kms_reply(
        400,
        "AccessDeniedException",
        "User is not authorized",
    )]);
    let env = |url: &str| {
        vec![
            ("AWS_ACCESS_KEY_ID".to_string(), "AKIDDENIED".to_string()),
            ("AWS_SECRET_ACCESS_KEY".into(), "s".into()),
            ("AWS_ENDPOINT_URL_KMS".into(), url.to_string()),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT".into(),
                "http://127.0.0.1:9".into(),
            ),
        ]
    };
    let out = run(
        &wd,
        &env(denied.url()),
        Tool::Leafcrypt,
        &["encrypt", "--kms", arn, "plain.yaml"],
    );
    assert_ne!(out.code, 0);
    let err = out.stderr_text();
    assert!(
        err.contains(&format!("kms:Encrypt on {arn} was denied (AccessDeniedException): User is not authorized; grant kms:Encrypt on this key to the caller (access key AKIDDENIED from environment)")),
        "{err}"
    );
    let sops = run(
        &wd,
        &env(denied.url()),
        Tool::Sops,
        &["encrypt", "--kms", arn, "plain.yaml"],
    );
    assert_eq!(out.code, sops.code, "sops's exit code\n{sops:?}");
    // Throttled twice (429, then 400 ThrottlingException), then served: one wrap.
    let throttled = Listener::start(vec![
        (429, vec![("Retry-After".into(), "0".into())], String::new()),
        kms_reply(400, "ThrottlingException", "Rate exceeded"),
        (
            200,
            vec![],
            format!("{{\"CiphertextBlob\":\"AAEC\",\"KeyId\":\"{arn}\"}}"),
        ),
    ]);
    let out = ok(
        run(
            &wd,
            &env(throttled.url()),
            Tool::Leafcrypt,
            &["encrypt", "--kms", arn, "plain.yaml"],
        ),
        "retried",
    );
    assert!(String::from_utf8_lossy(&out).contains("enc: AAEC"));
    let seen = throttled.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s
        .headers
        .iter()
        .any(|(k, v)| k == "x-amz-target" && v == "TrentService.Encrypt")));
}

#[test]
fn no_request_leaves_loopback() {
    // Every AWS endpoint, IMDS and the container endpoint at one recording listener;
    // no credentials anywhere. Both tools must fail having talked only to it.
    let arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    let listener = Listener::start(vec![]);
    let url = listener.url().to_string();
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let mut env: Vec<(String, String)> = [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_ENDPOINT_URL_STS",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    ]
    .iter()
    .map(|k| (k.to_string(), url.clone()))
    .collect();
    for tool in [Tool::Leafcrypt, Tool::Sops] {
        let before = listener.seen().len();
        let out = wd
            .cmd(tool)
            .args(["encrypt", "--kms", arn, "plain.yaml"])
            .timeout(std::time::Duration::from_secs(120));
        let out = env.iter().fold(out, |c, (k, v)| c.env(k, v)).run();
        assert!(!out.timed_out && out.code != 0, "{out:?}");
        let seen = listener.seen()[before..].to_vec();
        assert!(
            seen.iter()
                .any(|s| s.line.starts_with("PUT /latest/api/token")),
            "{tool} asked IMDS at the loopback listener: {seen:?}\n{out:?}"
        );
    }
    let err = run(
        &wd,
        &env,
        Tool::Leafcrypt,
        &["encrypt", "--kms", arn, "plain.yaml"],
    )
    .stderr_text();
    for tried in [
        "environment:",
        "web identity:",
        "profile default:",
        "container credentials:",
        "EC2 instance metadata",
    ] {
        assert!(err.contains(tried), "{tried} in {err}");
    }
    // Container credentials at the listener too.
    env.push((
        "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        format!("{url}/creds"),
    ));
    let out = run(
        &wd,
        &env,
        Tool::Leafcrypt,
        &["encrypt", "--kms", arn, "plain.yaml"],
    );
    assert_ne!(out.code, 0);
    assert!(listener
        .seen()
        .iter()
        .any(|s| s.line.starts_with("GET /creds")));
    assert!(
        out.stderr_text()
            .contains(&format!("container credentials {url}/creds: HTTP 404")),
        "{out:?}"
    );
}

#[test]
fn sops_kms_arn_and_sops_yaml_rules_write_the_entries_sops_writes() {
    let moto = Moto::start();
    let arn = moto.create_key("eu-west-1");
    let role = "arn:aws:iam::123456789012:role/rule-role";
    let wd = Workdir::new();
    wd.write("plain.yaml", PLAIN_YAML);
    let mut env = moto.env();
    env.push(("SOPS_KMS_ARN".into(), arn.clone()));
    let blocks: Vec<Vec<String>> = [Tool::Sops, Tool::Leafcrypt]
        .iter()
        .map(|t| {
            let out = ok(
                run(&wd, &env, *t, &["encrypt", "plain.yaml"]),
                &format!("{t} with SOPS_KMS_ARN"),
            );
            kms_block(&String::from_utf8_lossy(&out))
        })
        .collect();
    assert_eq!(blocks[0], blocks[1]);
    assert_eq!(blocks[0][0], format!("- arn: {arn}"));
    // A rule's flat `kms` (ARN+role) and `aws_profile`; sops gives rule keys no context
    // from --encryption-context, and neither does leafcrypt.
    std::fs::create_dir_all(wd.join(".home/.aws")).unwrap();
    wd.write(
        ".home/.aws/credentials",
        "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s\n",
    );
    wd.write(
        ".sops.yaml",
        format!("creation_rules:\n  - kms: '{arn}+{role}'\n    aws_profile: ops\n"),
    );
    let env = moto.env();
    let blocks: Vec<Vec<String>> = [Tool::Sops, Tool::Leafcrypt]
        .iter()
        .map(|t| {
            let out = ok(
                run(
                    &wd,
                    &env,
                    *t,
                    &["encrypt", "--encryption-context", "team:blue", "plain.yaml"],
                ),
                &format!("{t} with a .sops.yaml kms rule"),
            );
            kms_block(&String::from_utf8_lossy(&out))
        })
        .collect();
    assert_eq!(
        blocks[0], blocks[1],
        "sops and leafcrypt write the same kms entry"
    );
    assert_eq!(
        blocks[1],
        [
            format!("- arn: {arn}"),
            format!("role: {role}"),
            "created_at: *".into(),
            "enc: *".into(),
            "aws_profile: ops".into(),
        ]
    );
}
