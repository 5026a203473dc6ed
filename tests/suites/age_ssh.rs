//! age beyond X25519, against the real sops 3.11.0:
//!
//! - SSH recipients (`ssh-ed25519`, `ssh-rsa`, keys made per test with `ssh-keygen`) from
//!   `--age`, `SOPS_AGE_RECIPIENTS`, `.sops.yaml` `age:` and key groups, and
//!   `rotate --add-age/--rm-age`: each tool encrypts, the other decrypts with
//!   `SOPS_AGE_SSH_PRIVATE_KEY_FILE` and with the `~/.ssh/id_*` defaults; both store the
//!   recipient string alike;
//! - a passphrase-protected SSH key without a terminal: not asked for when the file is not
//!   for it, and the same failure as sops when it is;
//! - an age plugin (the test plugin `age-plugin-leafcrypttest` on `PATH`) both ways, its
//!   calls counted; the same exit code as sops when the plugin is missing or cannot ask;
//! - on a terminal (a `script` pseudo-terminal): the SSH passphrase and the plugin's
//!   question are asked as sops asks them;
//! - passphrase-protected identity files (armored and binary): asked for on a terminal,
//!   the same failure without one or with a wrong passphrase;
//! - bad recipients refused before anything else, exit 1 with sops's first words;
//! - `--decryption-order` / `SOPS_DECRYPTION_ORDER`: the order keys are tried in (seen in
//!   the failure report) and the duplicate-kind error, as sops; and (leafcrypt only, with a
//!   SoftHSM2 token) which of two usable keys decrypts.

use leafcrypt_tests::harness::{
    clean_env, key_file, recipient, Output, Tool, Workdir, NETWORK_GUARD,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PLAIN: &str = "a: 1\nsecret: hunter2\nlist:\n    - x\n    - z\n";

/// Makes an SSH key pair `name` (`name.pub` beside it) with `ssh-keygen`; returns the
/// private key's path and the public line (with its comment).
fn ssh_key(dir: &Workdir, name: &str, kind: &str, passphrase: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args([
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-C",
        "test@leafcrypt",
        "-f",
    ])
    .arg(&path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("ssh-keygen is required (scripts/setup installs it): {e}"));
    assert!(out.status.success(), "ssh-keygen: {out:?}");
    let public = std::fs::read_to_string(dir.join(&format!("{name}.pub"))).unwrap();
    (path, public.trim().to_string())
}

/// A home directory `name` whose `~/.ssh/<file>` is a copy of `key` (and its `.pub`).
fn home_with(dir: &Workdir, name: &str, key: &Path, file: &str) -> PathBuf {
    let ssh = dir.join(name).join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::copy(key, ssh.join(file)).unwrap();
    std::fs::copy(key.with_extension("pub"), ssh.join(format!("{file}.pub"))).unwrap();
    dir.join(name)
}

/// The `recipient:` values of an encrypted YAML file, in order.
fn recipients_of(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|l| l.trim().strip_prefix("- recipient: "))
        .map(str::to_string)
        .collect()
}

fn assert_plain(out: &Output, what: &str) {
    assert!(out.ok(), "{what}: expected success\n{out:?}");
    assert_eq!(out.stdout_text(), PLAIN, "{what}\n{out:?}");
}

/// Runs `tool` without a controlling terminal (`setsid`), as CI does, so that nothing
/// can prompt: for the tests of what happens when a prompt is needed.
fn run_detached(dir: &Workdir, tool: Tool, args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = dir.join(".home");
    let mut command = Command::new("setsid");
    clean_env(&mut command, &home);
    let out = command
        .arg("-w")
        .arg(tool.binary())
        .args(args)
        .current_dir(dir.path())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("setsid (util-linux) is required: {e}"));
    Output {
        command: format!("setsid {tool} {}", args.join(" ")),
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
        timed_out: false,
    }
}

fn other(tool: Tool) -> Tool {
    match tool {
        Tool::Sops => Tool::Leafcrypt,
        Tool::Leafcrypt => Tool::Sops,
    }
}

#[test]
fn ssh_recipients_round_trip_both_ways_with_the_env_file_and_the_home_defaults() {
    for (kind, default_file) in [("ed25519", "id_ed25519"), ("rsa", "id_rsa")] {
        let dir = Workdir::new();
        dir.write("p.yaml", PLAIN);
        let (key, public) = ssh_key(&dir, "key", kind, "");
        let home = home_with(&dir, "home", &key, default_file);
        let mut stored = Vec::new();
        for tool in Tool::BOTH {
            let enc = dir
                .cmd(tool)
                .args(["encrypt", "--age", &public, "p.yaml"])
                .run()
                .expect_ok(&format!("{tool} encrypts to {kind}"));
            let text = enc.stdout_text();
            stored.push(recipients_of(&text));
            let name = format!("by-{tool}.yaml");
            dir.write(&name, &enc.stdout);
            for reader in Tool::BOTH {
                let what = format!("{kind}: {tool}'s file, {reader} decrypts");
                let out = dir
                    .cmd(reader)
                    .args(["decrypt", &name])
                    .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &key)
                    .run();
                assert_plain(&out, &format!("{what} with SOPS_AGE_SSH_PRIVATE_KEY_FILE"));
                let out = dir
                    .cmd(reader)
                    .args(["decrypt", &name])
                    .env("HOME", &home)
                    .run();
                assert_plain(&out, &format!("{what} with ~/.ssh/{default_file}"));
                // No identity at all: both fail alike.
                let out = dir.cmd(reader).args(["decrypt", &name]).run();
                assert_eq!(out.code, 128, "{what} without a key\n{out:?}");
            }
        }
        assert_eq!(
            stored[0],
            std::slice::from_ref(&public),
            "sops stores the recipient as given"
        );
        assert_eq!(stored[0], stored[1], "{kind}: the stored recipients differ");
    }
}

#[test]
fn ssh_recipients_from_the_environment_sops_yaml_and_key_groups() {
    let dir = Workdir::new();
    dir.write("p.yaml", PLAIN);
    let (ed, ed_pub) = ssh_key(&dir, "ed", "ed25519", "");
    let (rsa, rsa_pub) = ssh_key(&dir, "rsa", "rsa", "");
    let rsa_home = home_with(&dir, "rsa-home", &rsa, "id_rsa");
    let config_flat = format!(
        "creation_rules:\n  - path_regex: flat/.*\n    age: '{ed_pub},{rsa_pub}'\n  - path_regex: groups/.*\n    \
         key_groups:\n      - age:\n          - '{ed_pub}'\n          - {}\n      - age:\n          - '{rsa_pub}'\n",
        recipient(1)
    );
    // Not .sops.yaml: given with --config to the rule runs only.
    dir.write("rules.yaml", config_flat);
    for tool in Tool::BOTH {
        // SOPS_AGE_RECIPIENTS
        let enc = dir
            .cmd(tool)
            .args(["encrypt", "p.yaml"])
            .env("SOPS_AGE_RECIPIENTS", format!("{rsa_pub},{ed_pub}"))
            .run()
            .expect_ok(&format!("{tool}: SOPS_AGE_RECIPIENTS"));
        assert_eq!(
            recipients_of(&enc.stdout_text()),
            [rsa_pub.clone(), ed_pub.clone()]
        );
        dir.write("env.yaml", &enc.stdout);
        // .sops.yaml age: and key groups (matched by --filename-override).
        for (rule, expected) in [
            ("flat/p.yaml", vec![ed_pub.clone(), rsa_pub.clone()]),
            (
                "groups/p.yaml",
                vec![ed_pub.clone(), recipient(1).to_string(), rsa_pub.clone()],
            ),
        ] {
            let enc = dir
                .cmd(tool)
                .args([
                    "--config",
                    "rules.yaml",
                    "encrypt",
                    "--filename-override",
                    rule,
                    "p.yaml",
                ])
                .run()
                .expect_ok(&format!("{tool}: rule {rule}"));
            assert_eq!(
                recipients_of(&enc.stdout_text()),
                expected,
                "{tool}: {rule}"
            );
            dir.write("rule.yaml", &enc.stdout);
            if rule.starts_with("flat") {
                for key in [&ed, &rsa] {
                    let out = dir
                        .cmd(other(tool))
                        .args(["decrypt", "rule.yaml"])
                        .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", key)
                        .run();
                    assert_plain(
                        &out,
                        &format!("{tool}'s {rule} file with {}", key.display()),
                    );
                }
            } else {
                // Two groups, both needed: ed25519 from the variable, rsa from ~/.ssh.
                let out = dir
                    .cmd(other(tool))
                    .args(["decrypt", "rule.yaml"])
                    .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &ed)
                    .env("HOME", &rsa_home)
                    .run();
                assert_plain(&out, &format!("{tool}'s {rule} file"));
                let out = dir
                    .cmd(other(tool))
                    .args(["decrypt", "rule.yaml"])
                    .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &ed)
                    .run();
                assert_eq!(
                    out.code, 128,
                    "{tool}'s {rule} file, one group only\n{out:?}"
                );
            }
        }
        let out = dir
            .cmd(other(tool))
            .args(["decrypt", "env.yaml"])
            .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &ed)
            .run();
        assert_plain(&out, &format!("{tool}'s SOPS_AGE_RECIPIENTS file"));
    }
}

#[test]
fn rotate_adds_and_removes_ssh_recipients_like_sops() {
    let dir = Workdir::new();
    dir.write("p.yaml", PLAIN);
    let (ed, ed_pub) = ssh_key(&dir, "ed", "ed25519", "");
    for tool in Tool::BOTH {
        let enc = dir
            .cmd(tool)
            .args(["encrypt", "--age", recipient(1), "p.yaml"])
            .run()
            .expect_ok("encrypt to R1");
        dir.write("f.yaml", &enc.stdout);
        let added = dir
            .cmd(tool)
            .args(["rotate", "--add-age", &ed_pub, "f.yaml"])
            .identity(key_file(1))
            .run()
            .expect_ok(&format!("{tool} rotate --add-age ssh"));
        assert_eq!(
            recipients_of(&added.stdout_text()),
            [recipient(1).to_string(), ed_pub.clone()]
        );
        dir.write("added.yaml", &added.stdout);
        for reader in Tool::BOTH {
            let out = dir
                .cmd(reader)
                .args(["decrypt", "added.yaml"])
                .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &ed)
                .run();
            assert_plain(
                &out,
                &format!("{tool} added the SSH key, {reader} decrypts"),
            );
        }
        let removed = dir
            .cmd(tool)
            .args(["rotate", "--rm-age", &ed_pub, "added.yaml"])
            .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &ed)
            .run()
            .expect_ok(&format!("{tool} rotate --rm-age ssh"));
        assert_eq!(
            recipients_of(&removed.stdout_text()),
            [recipient(1).to_string()]
        );
        dir.write("removed.yaml", &removed.stdout);
        for reader in Tool::BOTH {
            let out = dir
                .cmd(reader)
                .args(["decrypt", "removed.yaml"])
                .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &ed)
                .run();
            assert_eq!(
                out.code, 128,
                "{tool} removed the SSH key, {reader}\n{out:?}"
            );
        }
    }
}

#[test]
fn a_passphrase_protected_ssh_key_without_a_terminal() {
    let dir = Workdir::new();
    dir.write("p.yaml", PLAIN);
    let (key, public) = ssh_key(&dir, "locked", "ed25519", "correct horse");
    // The key sits in ~/.ssh (HOME is .home for run_detached).
    home_with(&dir, ".home", &key, "id_ed25519");
    let to_x25519 = dir
        .cmd(Tool::Sops)
        .args(["encrypt", "--age", recipient(1), "p.yaml"])
        .run()
        .expect_ok("encrypt to R1");
    dir.write("x.yaml", &to_x25519.stdout);
    let to_ssh = dir
        .cmd(Tool::Sops)
        .args(["encrypt", "--age", &public, "p.yaml"])
        .run()
        .expect_ok("encrypt to the locked key");
    dir.write("s.yaml", &to_ssh.stdout);
    let key_file = key_file(1);
    let key_file = key_file.to_str().unwrap();
    let mut failures = Vec::new();
    for tool in Tool::BOTH {
        // Not for the locked key: it is never asked for.
        let out = run_detached(
            &dir,
            tool,
            &["decrypt", "x.yaml"],
            &[("SOPS_AGE_KEY_FILE", key_file)],
        );
        assert_plain(&out, &format!("{tool}: file for R1, locked key in ~/.ssh"));
        // For the locked key: the passphrase cannot be asked for.
        let out = run_detached(&dir, tool, &["decrypt", "s.yaml"], &[]);
        assert_eq!(out.code, 128, "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        failures.push(out);
    }
    assert_eq!(
        failures[0].first_stderr_line(),
        failures[1].first_stderr_line()
    );
    let text = failures[1].stderr_text().replace("\n      | ", " ");
    assert!(
        text.contains("could not read passphrase for")
            && text.contains("id_ed25519")
            && !text.contains("correct horse"),
        "{text}"
    );
}

/// A directory holding the test plugin, to put on `PATH`.
fn plugin_path(dir: &Workdir) -> String {
    let bin = dir.join("plugins");
    std::fs::create_dir_all(&bin).unwrap();
    let plugin = Path::new(env!("CARGO_BIN_EXE_age-plugin-leafcrypttest"));
    std::os::unix::fs::symlink(plugin, bin.join("age-plugin-leafcrypttest")).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The test plugin's identity and recipient for key `n`.
fn plugin_key(n: u32) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_age-plugin-leafcrypttest"))
        .args(["--keygen", &n.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().map(str::to_string);
    (lines.next().unwrap(), lines.next().unwrap())
}

#[test]
fn age_plugin_recipients_and_identities_both_ways() {
    let dir = Workdir::new();
    dir.write("p.yaml", PLAIN);
    let path = plugin_path(&dir);
    let (identity, public) = plugin_key(1);
    let (other_identity, _) = plugin_key(2);
    assert!(
        public.starts_with("age1leafcrypttest1")
            && identity.starts_with("AGE-PLUGIN-LEAFCRYPTTEST-1")
    );
    let ids = dir.write("ids.txt", format!("# plugin identity\n{identity}\n"));
    let wrong = dir.write("wrong.txt", format!("{other_identity}\n"));
    let log = dir.join("plugin.log");
    let log_text = log.to_str().unwrap();
    let calls = || std::fs::read_to_string(&log).unwrap_or_default();
    for tool in Tool::BOTH {
        std::fs::write(&log, "").unwrap();
        let enc = dir
            .cmd(tool)
            .args(["encrypt", "--age", &public, "p.yaml"])
            .env("PATH", &path)
            .env("LEAFCRYPTTEST_LOG", log_text)
            .run()
            .expect_ok(&format!("{tool} encrypts to the plugin"));
        assert_eq!(calls(), "wrap\n", "{tool}: one plugin call to wrap");
        assert_eq!(
            recipients_of(&enc.stdout_text()),
            std::slice::from_ref(&public)
        );
        let name = format!("by-{tool}.yaml");
        dir.write(&name, &enc.stdout);
        for reader in Tool::BOTH {
            std::fs::write(&log, "").unwrap();
            let out = dir
                .cmd(reader)
                .args(["decrypt", &name])
                .env("PATH", &path)
                .env("LEAFCRYPTTEST_LOG", log_text)
                .identity(&ids)
                .run();
            assert_plain(&out, &format!("{tool}'s plugin file, {reader} decrypts"));
            assert_eq!(calls(), "unwrap\n", "{reader}: one plugin call to unwrap");
            // Another plugin key: no match, exit 128 in both.
            let out = dir
                .cmd(reader)
                .args(["decrypt", &name])
                .env("PATH", &path)
                .identity(&wrong)
                .run();
            assert_eq!(out.code, 128, "{reader} with the wrong plugin key\n{out:?}");
        }
    }
    // The plugin's request for a secret, with no terminal: both fail the same way.
    dir.write(
        "s.yaml",
        dir.cmd(Tool::Sops)
            .args(["encrypt", "--age", &public, "p.yaml"])
            .env("PATH", &path)
            .run()
            .expect_ok("encrypt")
            .stdout,
    );
    let asked: Vec<Output> = Tool::BOTH
        .iter()
        .map(|&tool| {
            run_detached(
                &dir,
                tool,
                &["decrypt", "s.yaml"],
                &[
                    ("PATH", &path),
                    ("SOPS_AGE_KEY_FILE", ids.to_str().unwrap()),
                    ("LEAFCRYPTTEST_ASK_SECRET", "test PIN"),
                ],
            )
        })
        .collect();
    for out in &asked {
        assert_eq!(out.code, 128, "{out:?}");
    }
    let text = asked[1].stderr_text().replace("\n      | ", " ");
    assert!(
        text.contains("could not ask for the secret") && text.contains("/dev/tty"),
        "{text}"
    );
    assert_eq!(asked[0].first_stderr_line(), asked[1].first_stderr_line());
    // The plugin program missing from PATH: both refuse to encrypt (exit 1), leafcrypt
    // naming the program.
    let missing: Vec<Output> = Tool::BOTH
        .iter()
        .map(|&tool| {
            dir.cmd(tool)
                .args(["encrypt", "--age", &public, "p.yaml"])
                .env("PATH", "/usr/bin:/bin")
                .run()
        })
        .collect();
    assert_eq!(missing[0].code, 1, "{:?}", missing[0]);
    assert_eq!(missing[1].code, 1, "{:?}", missing[1]);
    assert!(
        missing[1]
            .stderr_text()
            .contains("age-plugin-leafcrypttest"),
        "{:?}",
        missing[1]
    );
}

/// A file with an age key and a pgp key in one group; neither can decrypt here, so the
/// failure report lists the keys in the order they were tried.
fn two_kind_file(dir: &Workdir) -> (String, String) {
    let (_, public) = plugin_key(3);
    let enc = dir
        .cmd(Tool::Sops)
        .args(["encrypt", "--age", &public, "p.yaml"])
        .env("PATH", plugin_path(dir))
        .run()
        .expect_ok("encrypt to the plugin");
    let fingerprint = "0123456789ABCDEF0123456789ABCDEF01234567";
    let pgp = format!(
        "    pgp:\n        - created_at: \"2026-01-01T00:00:00Z\"\n          enc: |\n            \
         -----BEGIN PGP MESSAGE-----\n\n            hQ==\n            -----END PGP MESSAGE-----\n          \
         fp: {fingerprint}\n"
    );
    let text =
        enc.stdout_text()
            .replacen("    lastmodified:", &format!("{pgp}    lastmodified:"), 1);
    dir.write("two.yaml", text);
    (public, fingerprint.to_string())
}

/// The key names of the failure report, in order.
fn tried(out: &Output) -> Vec<String> {
    out.stderr_text()
        .lines()
        .filter_map(|l| l.strip_prefix("  ")?.strip_suffix(": FAILED"))
        .map(str::to_string)
        .collect()
}

#[test]
fn decryption_order_sets_the_order_keys_are_tried_in_like_sops() {
    let dir = Workdir::new();
    dir.write("p.yaml", PLAIN);
    let (age, pgp) = two_kind_file(&dir);
    let gnupg = dir.join("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    for tool in Tool::BOTH {
        let run = |args: &[&str], env: Option<&str>| {
            let mut cmd = dir.cmd(tool).args(args).env("GNUPGHOME", &gnupg);
            if let Some(order) = env {
                cmd = cmd.env("SOPS_DECRYPTION_ORDER", order);
            }
            let out = cmd.run();
            assert_eq!(out.code, 128, "{out:?}");
            tried(&out)
        };
        let age_first = vec![age.clone(), pgp.clone()];
        let pgp_first = vec![pgp.clone(), age.clone()];
        assert_eq!(
            run(&["decrypt", "two.yaml"], None),
            age_first,
            "{tool}: default"
        );
        assert_eq!(
            run(
                &["decrypt", "--decryption-order", "pgp,age", "two.yaml"],
                None
            ),
            pgp_first,
            "{tool}: flag"
        );
        assert_eq!(
            run(&["decrypt", "two.yaml"], Some("pgp")),
            pgp_first,
            "{tool}: env, unlisted kinds after"
        );
        assert_eq!(
            run(&["decrypt", "two.yaml"], Some("nonesuch,age,pgp")),
            age_first,
            "{tool}: unknown kinds are ignored"
        );
        assert_eq!(
            run(
                &["decrypt", "--decryption-order", "age", "two.yaml"],
                Some("pgp")
            ),
            age_first,
            "{tool}: the flag wins over the environment"
        );
    }
    // A kind given twice: exit 112 with sops's message, for decrypt and legacy -e, not for
    // the encrypt subcommand (sops does not read the flag there).
    for (args, env) in [
        (
            vec!["decrypt", "--decryption-order", "age,pgp,age", "two.yaml"],
            None,
        ),
        (vec!["-d", "two.yaml"], Some("pgp,pgp")),
        (vec!["-e", "--age", recipient(1), "p.yaml"], Some("age,age")),
        (
            vec!["encrypt", "--age", recipient(1), "p.yaml"],
            Some("age,age"),
        ),
    ] {
        let outs: Vec<Output> = Tool::BOTH
            .iter()
            .map(|&tool| {
                let mut cmd = dir.cmd(tool).args(&args);
                if let Some(order) = env {
                    cmd = cmd.env("SOPS_DECRYPTION_ORDER", order);
                }
                cmd.run()
            })
            .collect();
        assert_eq!(outs[0].code, outs[1].code, "{:?}\n{:?}", outs[0], outs[1]);
        assert_eq!(
            outs[0].first_stderr_line(),
            outs[1].first_stderr_line(),
            "{:?}\n{:?}",
            outs[0],
            outs[1]
        );
        if args[0] != "encrypt" {
            assert_eq!(outs[1].code, 112, "{:?}", outs[1]);
        }
    }
}

/// Runs `tool` on a terminal (`script` gives it a pseudo-terminal) with `typed` as what the
/// user types; returns the exit code and everything the terminal showed.
fn run_on_terminal(
    dir: &Workdir,
    tool: Tool,
    args: &str,
    env: &[(&str, &str)],
    typed: &str,
) -> (i32, String) {
    let mut line = String::from("env -i");
    let home = dir.join(".home");
    let path = std::env::var("PATH").unwrap_or_default();
    let base = [
        ("PATH", path.as_str()),
        ("HOME", home.to_str().unwrap()),
        ("LANG", "C.UTF-8"),
    ];
    for (k, v) in base.iter().chain(NETWORK_GUARD.iter()).chain(env.iter()) {
        line.push_str(&format!(" {k}='{v}'"));
    }
    line.push_str(&format!(" '{}' {args}", tool.binary().display()));
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("script (util-linux) is required: {e}"));
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
    )
}

#[test]
fn on_a_terminal_the_ssh_passphrase_and_plugin_questions_are_asked_like_sops() {
    let dir = Workdir::new();
    dir.write("p.yaml", PLAIN);
    let (key, public) = ssh_key(&dir, "locked", "ed25519", "correct horse");
    let home = home_with(&dir, ".home", &key, "id_ed25519");
    let prompt = format!(
        "Enter passphrase for \"{}\":",
        home.join(".ssh/id_ed25519").display()
    );
    let path = plugin_path(&dir);
    let (identity, plugin_public) = plugin_key(4);
    let ids = dir.write("ids.txt", format!("{identity}\n"));
    for tool in Tool::BOTH {
        for (recipient, name) in [(&public, "ssh.yaml"), (&plugin_public, "plugin.yaml")] {
            let enc = dir
                .cmd(other(tool))
                .args(["encrypt", "--age", recipient, "p.yaml"])
                .env("PATH", &path)
                .run()
                .expect_ok("encrypt");
            dir.write(name, &enc.stdout);
        }
        let (code, shown) = run_on_terminal(&dir, tool, "-d ssh.yaml", &[], "correct horse\n");
        assert_eq!(code, 0, "{tool}: right passphrase\n{shown}");
        assert!(
            shown.contains(&prompt) && shown.contains("secret: hunter2"),
            "{tool}\n{shown}"
        );
        let (code, shown) = run_on_terminal(&dir, tool, "-d ssh.yaml", &[], "battery staple\n");
        assert_eq!(code, 128, "{tool}: wrong passphrase\n{shown}");
        // The plugin asks for a secret: the question is shown, the answer goes back.
        let (code, shown) = run_on_terminal(
            &dir,
            tool,
            "-d plugin.yaml",
            &[
                ("PATH", &path),
                ("SOPS_AGE_KEY_FILE", ids.to_str().unwrap()),
                ("LEAFCRYPTTEST_ASK_SECRET", "leafcrypttest PIN:"),
            ],
            "1234\n",
        );
        assert_eq!(code, 0, "{tool}: plugin question\n{shown}");
        assert!(
            shown.contains("leafcrypttest PIN:") && shown.contains("secret: hunter2"),
            "{tool}\n{shown}"
        );
    }
}

#[test]
fn decryption_order_changes_which_key_is_used() {
    // leafcrypt only: sops has no PKCS#11 key source. A group with an age key (the test
    // plugin, whose calls are logged) and a PKCS#11 key (a private SoftHSM2 token), both
    // usable: the first kind in the order decrypts, the other is never tried.
    let dir = Workdir::new();
    dir.write("p.yaml", PLAIN);
    let conf = dir.write(
        "softhsm2.conf",
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        ),
    );
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "order",
            "--pin",
            "246810",
            "--so-pin",
            "13579",
        ])
        .output()
        .unwrap_or_else(|e| panic!("softhsm2-util is required (scripts/setup): {e}"));
    assert!(init.status.success(), "{init:?}");
    let path = plugin_path(&dir);
    let (identity, public) = plugin_key(5);
    let ids = dir.write("ids.txt", format!("{identity}\n"));
    let log = dir.join("plugin.log");
    let leafcrypt = |args: &[&str]| {
        dir.cmd(Tool::Leafcrypt)
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .env("LEAFCRYPT_PKCS11_PIN", "246810")
            .env("PATH", &path)
            .env("LEAFCRYPTTEST_LOG", &log)
            .identity(&ids)
            .run()
    };
    let uri = leafcrypt(&[
        "pkcs11",
        "keygen",
        "pkcs11:token=order;object=kek",
        "--type",
        "aes",
    ])
    .expect_ok("pkcs11 keygen")
    .stdout_text()
    .trim()
    .to_string();
    let enc = leafcrypt(&["encrypt", "--pkcs11", &uri, "--age", &public, "p.yaml"])
        .expect_ok("encrypt to pkcs11 and the plugin");
    dir.write("e.yaml", &enc.stdout);
    for (order, plugin_calls) in [
        (None, "unwrap\n"),
        (Some("age,pkcs11"), "unwrap\n"),
        (Some("pkcs11,age"), ""),
        (Some("pkcs11"), ""),
    ] {
        std::fs::write(&log, "").unwrap();
        let mut args = vec!["decrypt"];
        if let Some(order) = order {
            args.extend(["--decryption-order", order]);
        }
        args.push("e.yaml");
        let out = leafcrypt(&args);
        assert_plain(&out, &format!("order {order:?}"));
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            plugin_calls,
            "order {order:?}: plugin calls"
        );
    }
}

#[test]
fn bad_recipients_are_refused_before_anything_else_like_sops() {
    let dir = Workdir::new();
    dir.write("p.yaml", PLAIN);
    let enc = dir
        .cmd(Tool::Sops)
        .args(["encrypt", "--age", recipient(1), "p.yaml"])
        .run()
        .expect_ok("encrypt");
    dir.write("e.yaml", &enc.stdout);
    for bad in [
        "foo",
        "ssh-ed25519 AAAAbad",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
        "age1leafcrypttest1qqqq",
        "age1nope",
    ] {
        dir.write("rules.yaml", format!("creation_rules:\n  - age: '{bad}'\n"));
        for args in [
            vec!["encrypt", "--age", bad, "p.yaml"],
            vec!["--config", "rules.yaml", "encrypt", "p.yaml"],
            // No identity: sops refuses the recipient before it tries to decrypt.
            vec!["rotate", "--add-age", bad, "e.yaml"],
            vec!["rotate", "--rm-age", bad, "e.yaml"],
        ] {
            let outs: Vec<Output> = Tool::BOTH
                .iter()
                .map(|&tool| dir.cmd(tool).args(&args).run())
                .collect();
            let (sops, leaf) = (&outs[0], &outs[1]);
            assert_eq!(sops.code, 1, "{sops:?}");
            assert_eq!(leaf.code, 1, "{leaf:?}");
            // The first words are sops's; the rest comes from the Go or Rust parser.
            let (s, l) = (sops.first_stderr_line(), leaf.first_stderr_line());
            assert_eq!(
                s.split_once(": ").map(|p| p.0),
                l.split_once(": ").map(|p| p.0),
                "{bad} {args:?}\n{sops:?}\n{leaf:?}"
            );
            if bad == "foo" {
                assert_eq!(s, l);
            }
        }
    }
}

/// `text` encrypted with `passphrase` (scrypt, a small work factor), armored or binary.
fn passphrase_protected(text: &str, passphrase: &str, armored: bool) -> Vec<u8> {
    use std::io::Write;
    let mut recipient = age::scrypt::Recipient::new(passphrase.to_string().into());
    recipient.set_work_factor(10);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .unwrap();
    let mut out = Vec::new();
    let format = if armored {
        age::armor::Format::AsciiArmor
    } else {
        age::armor::Format::Binary
    };
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, format).unwrap();
    let mut writer = encryptor.wrap_output(armor).unwrap();
    writer.write_all(text.as_bytes()).unwrap();
    writer.finish().and_then(|a| a.finish()).unwrap();
    out
}

#[test]
fn passphrase_protected_identity_files_like_sops() {
    let dir = Workdir::new();
    dir.write("p.yaml", PLAIN);
    let enc = dir
        .cmd(Tool::Sops)
        .args(["encrypt", "--age", recipient(1), "p.yaml"])
        .run()
        .expect_ok("encrypt");
    dir.write("e.yaml", &enc.stdout);
    let identity = std::fs::read_to_string(key_file(1)).unwrap();
    for armored in [true, false] {
        let name = if armored { "keys.age.asc" } else { "keys.age" };
        let file = dir.write(
            name,
            passphrase_protected(&identity, "correct horse", armored),
        );
        let file = file.to_str().unwrap();
        let env = [("SOPS_AGE_KEY_FILE", file)];
        let mut detached = Vec::new();
        for tool in Tool::BOTH {
            let what = format!("{tool}, {name}");
            let (code, shown) = run_on_terminal(&dir, tool, "-d e.yaml", &env, "correct horse\n");
            assert_eq!(code, 0, "{what}\n{shown}");
            assert!(
                shown.contains("Enter passphrase for identity 'SOPS_AGE_KEY_FILE':")
                    && shown.contains("secret: hunter2"),
                "{what}\n{shown}"
            );
            let (code, shown) = run_on_terminal(&dir, tool, "-d e.yaml", &env, "battery staple\n");
            assert_eq!(code, 128, "{what}: wrong passphrase\n{shown}");
            let out = run_detached(&dir, tool, &["-d", "e.yaml"], &env);
            assert_eq!(out.code, 128, "{what}: no terminal\n{out:?}");
            detached.push(out);
        }
        assert_eq!(
            detached[0].first_stderr_line(),
            detached[1].first_stderr_line()
        );
        // leafcrypt tries plain keys first: no question when one of them decrypts.
        let out = run_detached(
            &dir,
            Tool::Leafcrypt,
            &["-d", "e.yaml"],
            &[("SOPS_AGE_KEY_FILE", file), ("SOPS_AGE_KEY", &identity)],
        );
        assert_plain(&out, "a plain key beside the protected file");
    }
}
