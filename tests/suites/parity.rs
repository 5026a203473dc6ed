//! CLI parity with the real sops 3.11.0 (issue 11, item 3): the same command through both
//! tools, comparing the exit code, stdout and the first line of stderr (leafcrypt's may
//! continue after sops's text, e.g. with the file name; logrus timestamps are masked).
//!
//! - a repeated flag takes its last value (`--output-type`, `--age`);
//! - `--version` parses as sops 3.11.0 and says leafcrypt; a symlink named `sops` answers
//!   as sops (version, unknown-flag error);
//! - `--verbose` writes sops's logrus lines (decrypt, encrypt, failed decrypt, `-i`);
//! - legacy `--set`, `--unset` (unknown to sops 3.11), `set --output-type`;
//! - YAML block scalars at the end of a file without a final newline;
//! - empty key groups and a Shamir threshold above the number of groups (file untouched);
//! - metadata `version` that is not semver, a truncated INI file, a plaintext with a
//!   top-level `sops` entry (encrypt and decrypt);
//! - `keyservice` says it is not available (`publish`: see the hc_vault suite); the key-service flags clients
//!   pass (`--enable-local-keyservice`, `--keyservice`) work as in sops;
//! - missing positional arguments (exit 100, sops's words) and extra ones (sops's warning,
//!   the first one used).

use leafcrypt_tests::harness::{key_file, recipient, Output, Tool, Workdir};
use regex::Regex;
use std::path::Path;

/// Problems found by one test; it fails with all of them at the end.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} parity problem(s):\n\n{}",
            self.0.len(),
            self.0.join("\n\n")
        );
    }
}

/// A stderr line with logrus's timestamp and sops's `Master keys available` pointers
/// (leafcrypt names the keys there) masked, and the text of a malformed dotenv/INI line that
/// sops echoes (leafcrypt never does: it may be a secret; see README, hostile input).
fn masked(line: &str) -> String {
    let time = Regex::new(r#"time="[^"]*""#).unwrap();
    let keys = Regex::new(r"Master keys available:  \[[^\]]*\]").unwrap();
    let echoed = Regex::new(
        r"(key-value delimiter not found|missing closing key quote|invalid dotenv input line|empty key name)\b.*$",
    )
    .unwrap();
    let line = time.replace_all(line, "time=\"T\"");
    let line = keys.replace_all(&line, "Master keys available:  [KEYS]");
    echoed.replace_all(&line, "$1 [LINE]").into_owned()
}

/// Exit code, stdout and the first stderr line of leafcrypt equal to sops's.
fn same(p: &mut Problems, what: &str, sops: &Output, leaf: &Output) {
    same_code_and_line(p, what, sops, leaf);
    p.check(sops.stdout == leaf.stdout, || {
        format!("{what}: stdout differs\n--- sops\n{sops:?}\n--- leafcrypt\n{leaf:?}")
    });
}

/// Exit code and first stderr line (leafcrypt's starts with sops's) only.
fn same_code_and_line(p: &mut Problems, what: &str, sops: &Output, leaf: &Output) {
    let (s, l) = (
        masked(&sops.first_stderr_line()),
        masked(&leaf.first_stderr_line()),
    );
    p.check(sops.code == leaf.code && l.starts_with(&s), || {
        format!(
            "{what}: differs from sops\n  sops      exit {}: {s}\n  leafcrypt exit {}: {l}\n--- sops\n{sops:?}\n--- leafcrypt\n{leaf:?}",
            sops.code, leaf.code
        )
    });
}

/// Runs `args` through both tools in `dir` with identity `key` (1-based), each on its
/// own copy of the files in `copies` (written fresh before each run).
fn both(dir: &Workdir, args: &[&str], key: usize, copies: &[(&str, &[u8])]) -> [Output; 2] {
    Tool::BOTH.map(|tool| {
        for (name, bytes) in copies {
            dir.write(name, bytes);
        }
        dir.cmd(tool).args(args).identity(key_file(key)).run()
    })
}

/// A file encrypted by sops for R1.
fn sops_encrypted(dir: &Workdir, name: &str, plain: &[u8]) -> Vec<u8> {
    let plain_name = format!("plain-{name}");
    dir.write(&plain_name, plain);
    let out = dir
        .cmd(Tool::Sops)
        .args([
            "-e",
            "--age",
            recipient(1),
            "--filename-override",
            name,
            &plain_name,
        ])
        .run()
        .expect_ok("sops encrypt");
    dir.write(name, &out.stdout);
    out.stdout
}

/// The sops-format log lines of stderr (not leafcrypt's own `[leafcrypt]` lines), masked.
fn sops_lines(out: &Output) -> Vec<String> {
    out.stderr_text()
        .lines()
        .filter(|l| l.starts_with('[') && !l.starts_with("[leafcrypt]"))
        .map(masked)
        .collect()
}

#[test]
fn a_repeated_flag_takes_its_last_value() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    let enc = sops_encrypted(&dir, "f.enc.yaml", b"a: 1\nb: [x, y]\n");
    let copies: &[(&str, &[u8])] = &[("f.enc.yaml", &enc)];
    for args in [
        &[
            "-d",
            "--output-type",
            "json",
            "--output-type",
            "yaml",
            "f.enc.yaml",
        ][..],
        &[
            "decrypt",
            "--output-type",
            "yaml",
            "--output-type",
            "json",
            "f.enc.yaml",
        ],
        &[
            "-d",
            "--extract",
            "[\"b\"]",
            "--extract",
            "[\"a\"]",
            "f.enc.yaml",
        ],
    ] {
        let [s, l] = both(&dir, args, 1, copies);
        same(&mut p, &args.join(" "), &s, &l);
    }
    // --age is a plain string flag in sops: the second one replaces the first.
    dir.write("plain.yaml", "k: v\n");
    for tool in Tool::BOTH {
        let out = dir
            .cmd(tool)
            .args([
                "-e",
                "--age",
                recipient(1),
                "--age",
                recipient(2),
                "plain.yaml",
            ])
            .run()
            .expect_ok("encrypt with --age twice");
        dir.write(&format!("age-{tool}.enc.yaml"), &out.stdout);
    }
    for key in [1, 2] {
        let outs: Vec<Output> = Tool::BOTH
            .iter()
            .map(|tool| {
                dir.cmd(Tool::Sops)
                    .args(["-d", &format!("age-{tool}.enc.yaml")])
                    .identity(key_file(key))
                    .run()
            })
            .collect();
        same(
            &mut p,
            &format!("--age R1 --age R2, decrypted by sops with key {key}"),
            &outs[0],
            &outs[1],
        );
    }
    p.finish();
}

#[test]
fn version_parses_as_sops_and_a_sops_symlink_answers_as_sops() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    let re = Regex::new(r"^sops (\d+\.\d+\.\d+)").unwrap();
    let version = |out: &Output| {
        let first = out.stdout_text().lines().next().unwrap_or("").to_string();
        (re.captures(&first).map(|c| c[1].to_string()), first)
    };
    for args in [
        &["--version", "--disable-version-check"][..],
        &["-v", "--disable-version-check"],
    ] {
        // SOPS_DISABLE_VERSION_CHECK=1 is common in CI environments.
        let [s, l] = Tool::BOTH.map(|tool| {
            dir.cmd(tool)
                .args(args)
                .env("SOPS_DISABLE_VERSION_CHECK", "1")
                .run()
        });
        let ((sv, _), (lv, lfirst)) = (version(&s), version(&l));
        p.check(sv.is_some() && sv == lv && s.code == l.code, || {
            format!("{args:?}: version {sv:?} vs {lv:?}\n{s:?}\n{l:?}")
        });
        p.check(lfirst.contains("(leafcrypt "), || {
            format!("{args:?}: leafcrypt's line does not say leafcrypt: {lfirst}")
        });
        same_code_and_line(&mut p, &args.join(" "), &s, &l);
    }

    // Installed as `sops`: a symlink to the binary.
    let link = dir.join("sops");
    std::os::unix::fs::symlink(Tool::Leafcrypt.binary(), &link).unwrap();
    let run = |bin: &Path, args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .output()
            .unwrap();
        Output {
            command: format!("{} {}", bin.display(), args.join(" ")),
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
            timed_out: false,
        }
    };
    let (s, l) = (
        run(
            Tool::Sops.binary(),
            &["--version", "--disable-version-check"],
        ),
        run(&link, &["--version", "--disable-version-check"]),
    );
    p.check(
        version(&s).0 == version(&l).0 && version(&l).0.is_some(),
        || format!("symlink --version\n{s:?}\n{l:?}"),
    );
    // An unknown flag: exit 1, `Incorrect Usage.` on stdout, a logrus fatal line.
    let (s, l) = (
        run(Tool::Sops.binary(), &["--bogus", "f.yaml"]),
        run(&link, &["--bogus", "f.yaml"]),
    );
    same_code_and_line(&mut p, "sops --bogus", &s, &l);
    let first = |o: &Output| o.stdout_text().lines().next().unwrap_or("").to_string();
    p.check(first(&s) == first(&l), || {
        format!("sops --bogus: stdout\n{s:?}\n{l:?}")
    });
    let help = run(&link, &["--help"]);
    p.check(help.stdout_text().contains("Usage: sops "), || {
        format!("the symlink's help does not name sops\n{help:?}")
    });
    let completion = run(&link, &["completion", "bash"]);
    p.check(
        completion.code == 0 && completion.stdout_text().contains("_sops()"),
        || format!("the symlink's bash completion is not for sops\n{completion:?}"),
    );
    p.finish();
}

#[test]
fn verbose_writes_sops_log_lines() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    let enc = sops_encrypted(&dir, "f.enc.yaml", b"a: 1\n");
    let copies: &[(&str, &[u8])] = &[("f.enc.yaml", &enc), ("f.yaml", b"a: 1\n")];
    let cases: [(&[&str], usize); 4] = [
        (&["--verbose", "-d", "f.enc.yaml"], 1),
        (&["--verbose", "-d", "f.enc.yaml"], 2),
        (&["--verbose", "-e", "--age", recipient(1), "f.yaml"], 1),
        (&["--verbose", "-d", "-i", "f.enc.yaml"], 1),
    ];
    for (args, key) in cases {
        let [s, l] = both(&dir, args, key, copies);
        let what = format!("{} (key {key})", args.join(" "));
        if s.ok() {
            // Encrypted output differs by nature; decrypted output must not.
            if args.contains(&"-d") {
                same(&mut p, &what, &s, &l);
            } else {
                same_code_and_line(&mut p, &what, &s, &l);
            }
        } else {
            same_code_and_line(&mut p, &what, &s, &l);
        }
        p.check(sops_lines(&s) == sops_lines(&l), || {
            format!(
                "{what}: log lines differ\n  sops:      {:?}\n  leafcrypt: {:?}",
                sops_lines(&s),
                sops_lines(&l)
            )
        });
    }
    // Edit mode (no action flag): an editor that rewrites the value.
    let editor = dir.write("editor.sh", "#!/bin/sh\nprintf 'a: 2\\n' > \"$1\"\n");
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let [s, l] = Tool::BOTH.map(|tool| {
        dir.write("f.enc.yaml", &enc);
        dir.cmd(tool)
            .args(["--verbose", "f.enc.yaml"])
            .identity(key_file(1))
            .env("EDITOR", &editor)
            .run()
    });
    p.check(s.ok(), || format!("sops's edit failed\n{s:?}"));
    same(&mut p, "--verbose f.enc.yaml (edit)", &s, &l);
    p.check(sops_lines(&s) == sops_lines(&l), || {
        format!(
            "edit: log lines differ\n  sops:      {:?}\n  leafcrypt: {:?}",
            sops_lines(&s),
            sops_lines(&l)
        )
    });
    p.finish();
}

#[test]
fn legacy_set_unset_and_set_output_type() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    let enc = sops_encrypted(&dir, "f.enc.yaml", b"a: 1\nb: x\n");
    let copies: &[(&str, &[u8])] = &[("f.enc.yaml", &enc)];
    let decrypted_after = |args: &[&str], decrypt: &[&str]| {
        Tool::BOTH.map(|tool| {
            dir.write("f.enc.yaml", &enc);
            let out = dir.cmd(tool).args(args).identity(key_file(1)).run();
            let plain = dir
                .cmd(Tool::Sops)
                .args(decrypt)
                .identity(key_file(1))
                .run();
            (out, plain)
        })
    };
    for (args, decrypt) in [
        (
            &["--set", r#"["a"] {"x": [1, "two"]}"#, "f.enc.yaml"][..],
            &["-d", "f.enc.yaml"][..],
        ),
        (
            &["--set", r#"["c"]["d"]   5"#, "f.enc.yaml"],
            &["-d", "f.enc.yaml"],
        ),
        (
            &["--set", r#"["c"] 5"#, "--output-type", "json", "f.enc.yaml"],
            &[
                "-d",
                "--input-type",
                "json",
                "--output-type",
                "json",
                "f.enc.yaml",
            ],
        ),
        (
            &[
                "set",
                "--output-type",
                "json",
                "f.enc.yaml",
                r#"["d"]"#,
                "6",
            ],
            &[
                "-d",
                "--input-type",
                "json",
                "--output-type",
                "json",
                "f.enc.yaml",
            ],
        ),
    ] {
        let [(s, sd), (l, ld)] = decrypted_after(args, decrypt);
        let what = args.join(" ");
        same(&mut p, &what, &s, &l);
        same(
            &mut p,
            &format!("{what}, then sops {}", decrypt.join(" ")),
            &sd,
            &ld,
        );
    }
    for args in [
        &["--set", r#"["a"]"#, "f.enc.yaml"][..],
        &["--set", r#"["a"] {nope"#, "f.enc.yaml"],
        &["--set", r#"a "v""#, "f.enc.yaml"],
        &["--unset", r#"["a"]"#, "f.enc.yaml"],
        &["set", "--bogus", "f.enc.yaml", r#"["a"]"#, "1"],
        &[
            "decrypt",
            "--output-type",
            "json",
            "--bogus=1",
            "f.enc.yaml",
        ],
    ] {
        let [s, l] = both(&dir, args, 1, copies);
        same_code_and_line(&mut p, &args.join(" "), &s, &l);
        let first = |o: &Output| o.stdout_text().lines().next().unwrap_or("").to_string();
        p.check(first(&s) == first(&l), || {
            format!("{}: first stdout line\n{s:?}\n{l:?}", args.join(" "))
        });
        p.check(dir.read("f.enc.yaml") == enc, || {
            format!("{}: the file changed", args.join(" "))
        });
    }
    p.finish();
}

#[test]
fn yaml_block_scalars_at_the_end_of_a_file_without_newline() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    for (i, text) in [
        "a: |\n  x\n  y",
        "a: |+\n  x",
        "a: >\n  x\n  y",
        "a: |-\n  x",
        "a: >+\n  x\n\n  y",
        "a: [1]\nb: |\n    deep\n    text",
        "l:\n  - |\n    item",
        "a: |\n  x\n",
        "a: |+\n  x\n\n",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("b{i}.enc.yaml");
        let enc = sops_encrypted(&dir, &name, text.as_bytes());
        let [s, l] = both(&dir, &["-d", &name], 1, &[(&name, &enc)]);
        same(&mut p, &format!("decrypt sops's file of {text:?}"), &s, &l);
        // And leafcrypt's own encryption reads the plaintext as sops does.
        let plain = format!("b{i}.yaml");
        dir.write(&plain, text);
        let ours = dir
            .cmd(Tool::Leafcrypt)
            .args(["-e", "--age", recipient(1), &plain])
            .run()
            .expect_ok("leafcrypt encrypt");
        dir.write(&name, &ours.stdout);
        let by_sops = dir
            .cmd(Tool::Sops)
            .args(["-d", &name])
            .identity(key_file(1))
            .run();
        same(
            &mut p,
            &format!("sops decrypts leafcrypt's file of {text:?}"),
            &s,
            &by_sops,
        );
    }
    p.finish();
}

#[test]
fn empty_key_groups_fail_like_sops_and_leave_the_file() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    let r1 = recipient(1);
    let plain = b"a: 1\n";
    for config in [
        "key_groups: []".to_string(),
        "key_groups: [{}]".to_string(),
        format!("key_groups: [{{age: [{r1}]}}, {{}}]"),
        format!("key_groups: [{{}}, {{age: [{r1}]}}]"),
        "unencrypted_suffix: _plain".to_string(),
        format!("key_groups: [{{age: [{r1}]}}, {{age: [{r1}]}}]\n    shamir_threshold: 3"),
    ] {
        dir.write(".sops.yaml", format!("creation_rules:\n  - {config}\n"));
        for args in [&["-e", "-i", "f.yaml"][..], &["encrypt", "f.yaml"]] {
            let [s, l] = both(&dir, args, 1, &[("f.yaml", plain)]);
            same(&mut p, &format!("{config}: {}", args.join(" ")), &s, &l);
            p.check(dir.read("f.yaml") == plain, || {
                format!("{config}: {}: the file changed", args.join(" "))
            });
        }
    }
    std::fs::remove_file(dir.join(".sops.yaml")).unwrap();
    // A threshold above the number of groups (one group from --age).
    let args = [
        "-e",
        "--age",
        r1,
        "--shamir-secret-sharing-threshold",
        "3",
        "f.yaml",
    ];
    let [s, l] = both(&dir, &args, 1, &[("f.yaml", plain)]);
    same_code_and_line(&mut p, &args.join(" "), &s, &l);
    p.check(
        s.stdout_text().contains("shamir_threshold: 3")
            == l.stdout_text().contains("shamir_threshold: 3"),
        || format!("threshold 3 with one group\n{s:?}\n{l:?}"),
    );
    p.finish();
}

#[test]
fn bad_metadata_version_truncated_ini_and_a_sops_entry_fail_like_sops() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    let enc = String::from_utf8(sops_encrypted(&dir, "f.enc.yaml", b"a: 1\n")).unwrap();
    let version_line = Regex::new(r"(?m)^    version: .*\n").unwrap();
    for version in [
        Some("\"3.11\""),
        Some("abc"),
        None,
        Some("3.11.0.1"),
        Some("\"v3.11.0\""),
        Some("3.12.0"),
        Some("1.0"),
        Some("3.11.0-rc.01"),
    ] {
        let text = match version {
            Some(v) => version_line
                .replace(&enc, format!("    version: {v}\n").as_str())
                .into_owned(),
            None => version_line.replace(&enc, "").into_owned(),
        };
        for args in [&["-d", "v.enc.yaml"][..], &["decrypt", "v.enc.yaml"]] {
            let [s, l] = both(&dir, args, 1, &[("v.enc.yaml", text.as_bytes())]);
            same(
                &mut p,
                &format!("version {version:?}: {}", args.join(" ")),
                &s,
                &l,
            );
        }
    }
    let r1 = recipient(1);
    for (name, text) in [
        ("t.ini", "[sec]\na = 1\nb"),
        ("t2.ini", "[sec\na = 1\n"),
        ("s.yaml", "sops: 1\na: 2\n"),
        ("s2.yaml", "a: 2\nsops:\n  x: 1\n"),
        ("s.json", "{\"a\": 1, \"sops\": \"x\"}"),
        ("s2.json", "{\"sops\": [1], \"a\": 1}"),
        ("s3.json", "{\"sops\": 2}"),
        ("s3.yaml", "sops: [1]\n"),
        ("s4.yaml", "sops: {}\n"),
        ("s.env", "sops_x=1\na=2\n"),
        ("s.ini", "[sops]\nx=1\n[a]\nb=2\n"),
    ] {
        let copies: &[(&str, &[u8])] = &[(name, text.as_bytes())];
        let [s, l] = both(&dir, &["-e", "--age", r1, name], 1, copies);
        same(&mut p, &format!("encrypt {name}"), &s, &l);
        let [s, l] = both(&dir, &["-d", name], 1, copies);
        same(&mut p, &format!("decrypt {name}"), &s, &l);
    }
    p.finish();
}

#[test]
fn keyservice_says_it_is_not_available() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    dir.write("f.yaml", "a: 1\n");
    let help = dir.cmd(Tool::Sops).arg("--help").run();
    for args in [
        &["keyservice", "--network", "tcp", "--address", "127.0.0.1:0"][..],
        &["keyservice"],
    ] {
        p.check(
            help.stdout_text().contains(&format!("   {}", args[0])),
            || format!("sops --help does not list {}", args[0]),
        );
        let out = dir.cmd(Tool::Leafcrypt).args(args).run();
        let lines: Vec<String> = out.stderr_text().lines().map(str::to_string).collect();
        p.check(
            out.code != 0
                && out.stdout.is_empty()
                && lines.len() == 1
                && lines[0].contains(&format!("{}: not available in leafcrypt", args[0])),
            || format!("{}\n{out:?}", args.join(" ")),
        );
    }
    p.finish();
}

#[test]
fn missing_and_extra_positionals_as_sops() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    let enc = sops_encrypted(&dir, "f.enc.yaml", b"a: 1\n");
    let copies: &[(&str, &[u8])] = &[("f.enc.yaml", &enc), ("f.yaml", b"a: 1\n")];
    let r1 = recipient(1);
    for args in [
        &[][..],
        &["filestatus"],
        &["edit"],
        &["unset"],
        &["unset", "f.enc.yaml"],
        &["set", "f.enc.yaml", r#"["a"]"#],
        &["set", "--value-stdin", "f.enc.yaml", r#"["a"]"#, "1"],
        &[
            "set",
            "--value-file",
            "--value-stdin",
            "f.enc.yaml",
            r#"["a"]"#,
        ],
        &["decrypt", "f.enc.yaml", "f.yaml"],
        &["-d", "f.enc.yaml", "extra"],
        &["encrypt", "--age", r1, "f.enc.yaml", "f.yaml"],
        &["filestatus", "f.enc.yaml", "x"],
        &["exec-env"],
        &["exec-env", "f.enc.yaml"],
        &["exec-env", "f.enc.yaml", "true", "extra"],
        &["exec-file", "f.enc.yaml"],
        &["groups", "delete", "-f", "f.enc.yaml"],
    ] {
        let [s, l] = both(&dir, args, 1, copies);
        same(&mut p, &format!("{args:?}"), &s, &l);
        p.check(dir.read("f.enc.yaml") == enc, || {
            format!("{args:?}: the file changed")
        });
    }
    p.finish();
}

/// On a terminal sops writes logrus's colored lines (`INFO[0000] …`, the logger name bold
/// when stdout is a terminal too); run under `script` (a pseudo-terminal), leafcrypt's
/// sops lines must be the same bytes, seconds since start masked.
#[test]
fn verbose_on_a_terminal_writes_logrus_colored_lines() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    sops_encrypted(&dir, "f.enc.yaml", b"a: 1\n");
    let seconds = Regex::new(r"\[\d{4}\]").unwrap();
    let run = |tool: Tool, redirect: &str| {
        let line = format!(
            "'{}' --verbose -d f.enc.yaml {redirect}",
            tool.binary().display()
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("TERM", "xterm")
            .env("SOPS_AGE_KEY_FILE", key_file(1))
            .output()
            .unwrap_or_else(|e| panic!("cannot run script (util-linux): {e}"));
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains("\x1b[36mINFO") || l.contains("\x1b[37mDEBU"))
            .map(|l| seconds.replace(l, "[SSSS]").into_owned())
            .collect();
        (out.status.code(), lines)
    };
    for redirect in ["", ">/dev/null"] {
        let (s, l) = (run(Tool::Sops, redirect), run(Tool::Leafcrypt, redirect));
        p.check(s.0 == Some(0) && s.1.len() == 3 && s == l, || {
            format!("terminal lines ({redirect:?})\n  sops:      {s:?}\n  leafcrypt: {l:?}")
        });
    }
    p.finish();
}

/// How Ansible's community.sops and similar clients call sops: options first, the file as
/// `/dev/stdin`, `--enable-local-keyservice` and `--keyservice` when configured.
#[test]
fn client_invocations_with_key_service_flags() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    let enc = sops_encrypted(&dir, "f.enc.yaml", b"a: 1\nb: [x]\n");
    for args in [
        &[
            "--enable-local-keyservice",
            "--input-type",
            "yaml",
            "--output-type",
            "json",
            "--decrypt",
            "/dev/stdin",
        ][..],
        &[
            "--keyservice",
            "unix:///nonexistent/sops.sock",
            "--decrypt",
            "f.enc.yaml",
        ],
        &["decrypt", "--enable-local-keyservice", "f.enc.yaml"],
    ] {
        let [s, l] = Tool::BOTH.map(|tool| {
            dir.cmd(tool)
                .args(args)
                .identity(key_file(1))
                .stdin(enc.clone())
                .run()
        });
        p.check(s.ok(), || format!("sops failed: {s:?}"));
        same(&mut p, &args.join(" "), &s, &l);
    }
    p.finish();
}

/// sops's flags for the cloud key kinds (AWS/GCP KMS, Vault transit) and their companions,
/// with no cloud to reach: accepted; decrypting an age file ignores them as sops does, and
/// a Vault key on a closed loopback port fails with sops's exit code and
/// `Could not generate data key: [`, nothing written.
#[test]
fn flags_of_cloud_key_kinds_without_a_cloud() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    let enc = sops_encrypted(&dir, "f.enc.yaml", b"a: 1\n");
    let copies: &[(&str, &[u8])] = &[("f.enc.yaml", &enc), ("f.yaml", b"a: 1\n")];
    let kms = "arn:aws:kms:us-east-1:111122223333:key/k";
    for args in [
        &["--aws-profile", "p", "--decrypt", "f.enc.yaml"][..],
        &["-s", "-d", "f.enc.yaml"],
        &["--kms", kms, "-d", "f.enc.yaml"],
        &["--encryption-context", "a:b", "-d", "f.enc.yaml"],
        &["-r", "--rm-kms", kms, "--rm-gcp-kms", "x", "f.enc.yaml"],
    ] {
        let [s, l] = both(&dir, args, 1, copies);
        p.check(s.ok(), || format!("sops failed: {s:?}"));
        if args[0] == "-r" {
            same_code_and_line(&mut p, &args.join(" "), &s, &l);
        } else {
            same(&mut p, &args.join(" "), &s, &l);
        }
    }
    // A Vault transit key on a closed loopback port: both fail before writing anything.
    let vault = "https://127.0.0.1:1/v1/transit/keys/dev";
    for args in [
        &["-e", "--hc-vault-transit", vault, "f.yaml"][..],
        &[
            "-e",
            "--age",
            recipient(1),
            "--hc-vault-transit",
            vault,
            "-i",
            "f.yaml",
        ],
        &["-r", "--add-hc-vault-transit", vault, "-i", "f.enc.yaml"],
    ] {
        let [s, l] = both(&dir, args, 1, copies);
        let prefix = "Could not generate data key: [";
        p.check(
            s.code == l.code
                && s.first_stderr_line().starts_with(prefix)
                && l.first_stderr_line().starts_with(prefix)
                && s.stdout == l.stdout,
            || format!("{}\n{s:?}\n{l:?}", args.join(" ")),
        );
        p.check(
            dir.read("f.enc.yaml") == enc && dir.read("f.yaml") == b"a: 1\n",
            || format!("{}: a file changed", args.join(" ")),
        );
    }
    p.finish();
}

/// sops picks the format from the extension case-sensitively: `x.YAML`, `x.JSON`, `x.Env`,
/// `x.INI` and `x.Yml` are binary files to it, and so to leafcrypt. Each tool's encryption
/// of them decrypts with the other to the same bytes.
#[test]
fn extension_case_picks_the_format_as_sops() {
    let mut p = Problems::default();
    let dir = Workdir::new();
    for (name, text) in [
        ("x.YAML", "a: 1\n"),
        ("x.Yml", "a: 1\n"),
        ("x.JSON", "{\"a\": 1}"),
        ("x.Env", "A=1\n"),
        ("x.INI", "[s]\na = 1\n"),
        ("x.yaml", "a: 1\n"),
    ] {
        dir.write(name, text);
        let outs = Tool::BOTH.map(|tool| {
            dir.cmd(tool)
                .args(["-e", "--age", recipient(1), name])
                .run()
                .expect_ok("encrypt")
        });
        let binary = |out: &Output| out.stdout_text().contains("\"data\": \"ENC[");
        p.check(binary(&outs[0]) == binary(&outs[1]), || {
            format!(
                "{name}: sops binary = {}, leafcrypt binary = {}",
                binary(&outs[0]),
                binary(&outs[1])
            )
        });
        for (i, out) in outs.iter().enumerate() {
            let enc = format!("enc{i}-{name}");
            dir.write(&enc, &out.stdout);
            for tool in Tool::BOTH {
                let back = dir.cmd(tool).args(["-d", &enc]).identity(key_file(1)).run();
                p.check(back.stdout_text() == text, || {
                    format!(
                        "{name}: {tool:?} decrypts the file of tool #{i} to {:?}",
                        back.stdout_text()
                    )
                });
            }
        }
    }
    p.finish();
}
