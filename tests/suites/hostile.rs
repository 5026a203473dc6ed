//! Hostile input against both tools: deep nesting and an alias bomb in YAML, through
//! `encrypt`, `decrypt` and `filestatus`. leafcrypt must fail cleanly (no signal, no abort)
//! with sops's exit code and, where the limit is the same, sops's first stderr line.

use leafcrypt_tests::harness::{key_file, recipient, Output, Tool, Workdir};

/// A block sequence nested `n` levels under `a:` (from ~7,300 levels this used to overflow
/// the stack and abort).
fn deep_block_seq(n: usize) -> String {
    let mut s = String::from("a:\n");
    for i in 1..=n {
        s.push_str(&"  ".repeat(i));
        s.push_str("-\n");
    }
    s
}

/// Nine anchors, each a list of ten aliases of the previous one (~450 bytes, 10^9 nodes).
fn alias_bomb() -> String {
    let mut s = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..9 {
        s.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(",")
        ));
    }
    s
}

fn run(dir: &Workdir, tool: Tool, args: &[&str]) -> Output {
    dir.cmd(tool).args(args).identity(key_file(1)).run()
}

/// Runs `args` through both tools on `file` holding `src`; both fail with the same code and
/// leafcrypt is not killed by a signal. Returns (sops, leafcrypt).
fn both_fail(name: &str, src: &str, args: &[&str]) -> (Output, Output) {
    let dir = Workdir::new();
    dir.write(name, src);
    let mut full: Vec<&str> = args.to_vec();
    full.push(name);
    let sops = run(&dir, Tool::Sops, &full);
    let ours = run(&dir, Tool::Leafcrypt, &full);
    assert!(!sops.ok(), "sops accepted {}", sops.command);
    assert_ne!(
        ours.code,
        -1,
        "leafcrypt was killed: {}\n{}",
        ours.command,
        ours.stderr_text()
    );
    assert_eq!(
        ours.code,
        sops.code,
        "exit code of `{}` (sops: {})\nleafcrypt: {}\nsops: {}",
        ours.command,
        sops.code,
        ours.stderr_text(),
        sops.stderr_text()
    );
    assert_eq!(dir.read(name), src.as_bytes(), "the input is untouched");
    (sops, ours)
}

#[test]
fn deep_nesting_fails_cleanly_in_every_command() {
    let src = deep_block_seq(12_000);
    let r = recipient(1);
    for args in [
        vec!["encrypt", "--age", r],
        vec!["decrypt"],
        vec!["filestatus"],
    ] {
        let (sops, ours) = both_fail("deep.yaml", &src, &args);
        // Same words as go-yaml; leafcrypt's limit is lower (tree::MAX_DEPTH) and so is the line.
        for out in [&sops, &ours] {
            assert!(
                out.stderr_text().contains("exceeded max depth of"),
                "{}: {}",
                out.command,
                out.stderr_text()
            );
        }
    }
}

#[test]
fn deep_flow_nesting_fails_cleanly() {
    let n = 20_000;
    let src = format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
    let (_, ours) = both_fail("flow.yaml", &src, &["encrypt", "--age", recipient(1)]);
    assert!(ours.stderr_text().contains("exceeded max depth of"));
}

#[test]
fn an_alias_bomb_is_refused_like_sops() {
    let src = alias_bomb();
    assert!(src.len() < 500);
    let (sops, ours) = both_fail("bomb.yaml", &src, &["encrypt", "--age", recipient(1)]);
    assert!(
        sops.first_stderr_line()
            .contains("document contains excessive aliasing"),
        "{}",
        sops.stderr_text()
    );
    assert_eq!(ours.first_stderr_line(), sops.first_stderr_line());
    // sops reads encrypted files without expanding aliases, so it only misses the metadata
    // (exit 1); leafcrypt expands them and stops at the budget, with the same exit code.
    let (_, ours) = both_fail("bomb.yaml", &src, &["decrypt"]);
    assert!(
        ours.stderr_text()
            .contains("document contains excessive aliasing"),
        "{}",
        ours.stderr_text()
    );
}

/// `set` with a key under a list (sops 3.11 panics) or an index under a map (sops silently
/// does nothing) fails with a clear error and leaves the file byte-identical; a scalar on
/// the way still becomes the collection the path needs, as in sops.
#[test]
fn set_never_turns_a_list_into_a_map_or_a_map_into_a_list() {
    let dir = Workdir::new();
    dir.write("p.yaml", "list:\n    - a\n    - b\nm:\n    k: v\ns: str\n");
    let enc = run(
        &dir,
        Tool::Leafcrypt,
        &["encrypt", "--age", recipient(1), "p.yaml"],
    )
    .expect_ok("encrypt");
    dir.write("e.yaml", &enc.stdout);
    for (path, what) in [
        (r#"["list"]["x"]"#, r#"the value at ["list"] is a list"#),
        (r#"["m"][0]"#, r#"the value at ["m"] is a map"#),
        (r#"["list"][0][1]"#, ""),
    ] {
        let out = run(&dir, Tool::Leafcrypt, &["set", "e.yaml", path, "\"v\""]);
        if what.is_empty() {
            // A scalar list item becomes a list: allowed, as in sops.
            assert!(out.ok(), "{}", out.stderr_text());
            dir.write("e.yaml", &enc.stdout);
            continue;
        }
        assert_eq!(out.code, 1, "{}", out.stderr_text());
        assert!(
            out.first_stderr_line().contains(what),
            "{}",
            out.stderr_text()
        );
        assert!(out.stderr_text().contains("e.yaml"), "names the file");
        assert_eq!(dir.read("e.yaml"), enc.stdout, "{path}: file untouched");
    }
    let out = run(
        &dir,
        Tool::Leafcrypt,
        &["set", "e.yaml", r#"["s"]["x"]"#, "\"v\""],
    )
    .expect_ok("set");
    assert!(out.stdout.is_empty());
    let plain = run(&dir, Tool::Leafcrypt, &["decrypt", "e.yaml"]).expect_ok("decrypt");
    assert_eq!(
        plain.stdout_text(),
        "list:\n    - a\n    - b\nm:\n    k: v\ns:\n    x: v\n"
    );
}

/// `-i` through a symlink writes the file it points to and keeps the link, as sops does
/// (leafcrypt used to replace the link with a regular file and leave the target plaintext).
#[test]
fn in_place_writes_go_through_symlinks_like_sops() {
    for tool in Tool::BOTH {
        let dir = Workdir::new();
        std::fs::create_dir(dir.join("real")).unwrap();
        dir.write("real/s.yaml", "password: hunter2\n");
        std::os::unix::fs::symlink("real/s.yaml", dir.join("link.yaml")).unwrap();
        run(
            &dir,
            tool,
            &["encrypt", "-i", "--age", recipient(1), "link.yaml"],
        )
        .expect_ok("encrypt -i");
        let meta = std::fs::symlink_metadata(dir.join("link.yaml")).unwrap();
        assert!(
            meta.file_type().is_symlink(),
            "{tool:?}: the link stays a link"
        );
        let real = String::from_utf8(dir.read("real/s.yaml")).unwrap();
        assert!(
            real.contains("ENC[AES256_GCM") && !real.contains("hunter2"),
            "{tool:?}: {real}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.join("real"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            names.len(),
            1,
            "{tool:?}: nothing else in the directory: {names:?}"
        );
    }
}

/// SIGKILL at spread-out moments of `decrypt -i` and `encrypt -i` on a large file: the file
/// is always either the complete old or the complete new content, a temp file left behind
/// is 0600, and the next run on that file removes it.
#[test]
fn sigkill_during_in_place_writes_loses_nothing() {
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};
    let dir = Workdir::new();
    let plain: String = (0..8_000)
        .map(|i| format!("key{i}: value number {i}\n"))
        .collect();
    dir.write("p.yaml", &plain);
    let enc = run(
        &dir,
        Tool::Leafcrypt,
        &["encrypt", "--age", recipient(1), "p.yaml"],
    )
    .expect_ok("encrypt");
    let encrypted = enc.stdout.clone();
    // How long one decrypt -i takes, to spread the kills over it.
    dir.write("f.yaml", &encrypted);
    let start = Instant::now();
    run(&dir, Tool::Leafcrypt, &["decrypt", "-i", "f.yaml"]).expect_ok("decrypt -i");
    let span = start.elapsed();
    let plain_out = dir.read("f.yaml");
    let mut leftovers = 0;
    for round in 0..16u32 {
        let (args, before, after): (Vec<&str>, &[u8], &[u8]) = if round % 2 == 0 {
            (vec!["decrypt", "-i", "f.yaml"], &encrypted, &plain_out)
        } else {
            (
                vec!["encrypt", "-i", "--age", recipient(1), "f.yaml"],
                &plain_out,
                &[],
            )
        };
        dir.write("f.yaml", before);
        let mut child = std::process::Command::new(Tool::Leafcrypt.binary())
            .args(&args)
            .current_dir(dir.path())
            .env("SOPS_AGE_KEY_FILE", key_file(1))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Fault injection, not synchronisation: kill at a moment spread over the run.
        std::thread::sleep(span.mul_f64(f64::from(round) / 14.0) + Duration::from_micros(200));
        let _ = child.kill();
        let _ = child.wait();
        let now = dir.read("f.yaml");
        let complete_new = if after.is_empty() {
            now.starts_with(b"key0: ENC[AES256_GCM") && now.ends_with(b"    version: 3.11.0\n")
        } else {
            now == after
        };
        assert!(
            now == before || complete_new,
            "round {round}: the file is neither old nor new"
        );
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".f.yaml.leafcrypt-") {
                leftovers += 1;
                // Created 0600; given the target's own mode only once complete, just before
                // the rename (so it is never more open than the file it replaces).
                let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
                let target_mode = std::fs::metadata(dir.join("f.yaml"))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777;
                assert!(
                    mode == 0o600 || mode == target_mode,
                    "round {round}: a leftover temp file is {mode:o}"
                );
            }
        }
    }
    // The next run on the file removes what killed runs left.
    dir.write("f.yaml", &encrypted);
    run(&dir, Tool::Leafcrypt, &["decrypt", "-i", "f.yaml"]).expect_ok("decrypt -i");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".f.yaml.leafcrypt-"))
        .collect();
    assert!(
        left.is_empty(),
        "after {leftovers} leftovers, still: {left:?}"
    );
}

/// Two `set` commands racing on one file: every command that reports success has its value
/// in the final file; the loser of a race fails with a clear message (no silent lost update).
#[test]
fn concurrent_sets_never_lose_an_update_silently() {
    let dir = Workdir::new();
    dir.write("p.yaml", "base: 0\n");
    let enc = run(
        &dir,
        Tool::Leafcrypt,
        &["encrypt", "--age", recipient(1), "p.yaml"],
    )
    .expect_ok("encrypt");
    let (mut both, mut refused) = (0, 0);
    for round in 0..20 {
        dir.write("c.yaml", &enc.stdout);
        let spawn = |key: &str| {
            std::process::Command::new(Tool::Leafcrypt.binary())
                .args([
                    "set",
                    "c.yaml",
                    &format!("[\"{key}\"]"),
                    &format!("\"{key}{round}\""),
                ])
                .current_dir(dir.path())
                .env("SOPS_AGE_KEY_FILE", key_file(1))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("a"), spawn("b"));
        let results = [
            ("a", a.wait_with_output().unwrap()),
            ("b", b.wait_with_output().unwrap()),
        ];
        let plain = run(&dir, Tool::Leafcrypt, &["decrypt", "c.yaml"]).expect_ok("decrypt");
        let text = plain.stdout_text();
        let mut ok = 0;
        for (key, out) in &results {
            let line = format!("{key}: {key}{round}\n");
            if out.status.success() {
                ok += 1;
                assert!(
                    text.contains(&line),
                    "round {round}: `set {key}` succeeded but its value is gone:\n{text}"
                );
            } else {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    err.contains("changed since leafcrypt read it"),
                    "round {round}: {err}"
                );
                assert!(!text.contains(&line));
            }
        }
        assert!(ok >= 1, "round {round}: at least one writer wins");
        if ok == 2 {
            both += 1
        } else {
            refused += 1
        }
    }
    eprintln!("20 races: {both} serialised, {refused} refused");
}

/// Keys go-yaml writes explicitly (`? key`: longer than 128 bytes, or multi-line as `? |-`),
/// with map, list and scalar values, and a leading `!!merge <<:`: each tool reads what the
/// other wrote, and both write the same shape and decrypt to the same bytes.
#[test]
fn explicit_keys_and_merge_keys_interoperate_both_ways() {
    let long = "q".repeat(140);
    let json = format!(
        r#"{{"multi\nline": {{"a": 1}}, "x": {{"{long}": [1, 2], "two\nlines": {{"deep\nkey": "v"}}}}, "<<": {{"b": 2}}, "{long}s": "scalar"}}"#
    );
    let dir = Workdir::new();
    dir.write("k.json", &json);
    let mut written = Vec::new();
    for tool in Tool::BOTH {
        let out = run(
            &dir,
            tool,
            &[
                "encrypt",
                "--age",
                recipient(1),
                "--output-type",
                "yaml",
                "k.json",
            ],
        )
        .expect_ok("encrypt");
        let name = format!("k.{tool:?}.yaml");
        dir.write(&name, &out.stdout);
        written.push(name);
    }
    let shape = |name: &str| -> Vec<String> {
        String::from_utf8(dir.read(name))
            .unwrap()
            .lines()
            .map(|l| match l.find("ENC[") {
                Some(i) => l[..i].to_string(),
                None => l.to_string(),
            })
            .take_while(|l| l != "sops:")
            .collect()
    };
    assert_eq!(
        shape(&written[0]),
        shape(&written[1]),
        "same layout as sops"
    );
    let mut plains = Vec::new();
    for file in &written {
        for tool in Tool::BOTH {
            let out = run(&dir, tool, &["decrypt", file]).expect_ok("decrypt");
            plains.push(out.stdout);
        }
    }
    assert!(
        plains.windows(2).all(|w| w[0] == w[1]),
        "every decryption is the same"
    );
    let text = String::from_utf8(plains[0].clone()).unwrap();
    assert!(
        text.starts_with("? |-\n    multi\n    line\n:   a: 1\n"),
        "{text}"
    );
    assert!(text.contains("!!merge <<:\n    b: 2\n"), "{text}");
}

/// An INI key that is empty once unquoted (`"" = v`) is refused like sops refuses it (leafcrypt
/// used to write a file that neither tool could read back).
#[test]
fn an_empty_ini_key_is_refused_like_sops() {
    let (sops, ours) = both_fail(
        "e.ini",
        "[s]\n\"\" = v\nk = 1\n",
        &["encrypt", "--age", recipient(1)],
    );
    // leafcrypt adds the line number.
    assert!(
        ours.first_stderr_line()
            .starts_with(&sops.first_stderr_line()),
        "{}\n{}",
        ours.first_stderr_line(),
        sops.first_stderr_line()
    );
}

/// A malformed plaintext line is reported by number, never echoed: it may be a secret (sops
/// prints it).
#[test]
fn parse_errors_never_echo_the_offending_line() {
    for (name, src) in [
        ("s.env", "A=1\nhunter2-pasted-without-a-key\n"),
        ("s.ini", "[s]\nhunter2-pasted-without-a-key\n"),
        ("q.ini", "[s]\n\"hunter2-unclosed = x\n"),
    ] {
        let dir = Workdir::new();
        dir.write(name, src);
        let ours = run(
            &dir,
            Tool::Leafcrypt,
            &["encrypt", "--age", recipient(1), name],
        );
        assert!(!ours.ok());
        let err = ours.stderr_text();
        assert!(!err.contains("hunter2"), "{name}: {err}");
        assert!(
            err.contains("line 2") && err.contains(name),
            "{name}: {err}"
        );
    }
}

/// Floats beyond f64 (`1e400`) stay text, as go-yaml keeps them: a sops file with one left
/// unencrypted passes leafcrypt's MAC check (it failed with 51), and each tool reads the
/// other's file to the same bytes.
#[test]
fn out_of_range_floats_stay_text_both_ways() {
    let dir = Workdir::new();
    let plain = "a_unencrypted: 1e400\nc: 1e400\ne: -1e400\ng: 1e-400\n";
    dir.write("n.yaml", plain);
    let mut files = Vec::new();
    for tool in Tool::BOTH {
        let out =
            run(&dir, tool, &["encrypt", "--age", recipient(1), "n.yaml"]).expect_ok("encrypt");
        let name = format!("n.{tool:?}.yaml");
        dir.write(&name, &out.stdout);
        files.push(name);
    }
    for file in &files {
        let text = String::from_utf8(dir.read(file)).unwrap();
        assert!(text.contains("a_unencrypted: 1e400\n"), "{file}: {text}");
        for tool in Tool::BOTH {
            let out = run(&dir, tool, &["decrypt", file]).expect_ok("decrypt");
            assert_eq!(
                out.stdout_text(),
                "a_unencrypted: 1e400\nc: 1e400\ne: -1e400\ng: 0\n",
                "{tool:?} {file}"
            );
        }
    }
}

/// A MAC whose `type:` was changed (the type is outside the AAD) is rejected like sops
/// rejects it — exit 51, nothing printed — with and without `--strict`.
#[test]
fn a_mac_with_a_changed_type_is_rejected_like_sops() {
    let dir = Workdir::new();
    dir.write("m.yaml", "a: 1\nb: two\n");
    let enc = run(
        &dir,
        Tool::Sops,
        &["encrypt", "--age", recipient(1), "m.yaml"],
    )
    .expect_ok("encrypt");
    let text = enc.stdout_text();
    let mac_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("mac: ENC["))
        .expect("a mac");
    for ty in ["int", "bytes", "float", "bool"] {
        let swapped = text.replace(
            mac_line,
            &mac_line.replace("type:str]", &format!("type:{ty}]")),
        );
        assert_ne!(swapped, text);
        dir.write("s.yaml", &swapped);
        let sops = run(&dir, Tool::Sops, &["decrypt", "s.yaml"]);
        for args in [
            vec!["decrypt", "s.yaml"],
            vec!["decrypt", "--strict", "s.yaml"],
        ] {
            let ours = run(&dir, Tool::Leafcrypt, &args);
            assert_eq!(ours.code, 51, "{ty}: {}", ours.stderr_text());
            assert!(ours.stdout.is_empty(), "{ty}: nothing printed");
            assert!(ours.first_stderr_line().starts_with("Cannot decrypt MAC:"));
            if ty != "bytes" {
                assert_eq!(ours.code, sops.code, "{ty}: sops {}", sops.stderr_text());
            }
        }
    }
}

/// A kill moment, found by polling the directory for the command's temp file (no timing).
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// Right after the process starts.
    AtStart,
    /// As soon as the temp file exists.
    TempCreated,
    /// Once the temp file holds data.
    TempWritten,
    /// Once the temp file has the target's mode (complete, just before the rename).
    TempComplete,
    /// Once the temp file is gone again (renamed over the target).
    AfterRename,
}

/// The hidden temp files beside `name` in `dir`.
fn temps(dir: &Workdir, name: &str) -> Vec<std::path::PathBuf> {
    let prefix = format!(".{name}.leafcrypt-");
    std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// Runs leafcrypt `args` in `dir` and SIGKILLs it at `moment` (or lets it finish if it gets
/// there first). Returns whether the kill happened before the process exited.
fn kill_at(dir: &Workdir, args: &[&str], name: &str, moment: Moment) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let target_mode = std::fs::metadata(dir.join(name))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    let home = dir.join(".home");
    let _ = std::fs::create_dir_all(&home);
    let mut cmd = std::process::Command::new(Tool::Leafcrypt.binary());
    leafcrypt_tests::harness::clean_env(&mut cmd, &home);
    let mut child = cmd
        .args(args)
        .current_dir(dir.path())
        .env("SOPS_AGE_KEY_FILE", key_file(1))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = false;
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let found = temps(dir, name);
        let reached = match moment {
            Moment::AtStart => true,
            Moment::TempCreated => !found.is_empty(),
            Moment::TempWritten => found
                .iter()
                .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0)),
            Moment::TempComplete => found.iter().any(|p| {
                std::fs::metadata(p)
                    .is_ok_and(|m| m.len() > 0 && m.permissions().mode() & 0o777 == target_mode)
            }),
            Moment::AfterRename => {
                seen |= !found.is_empty();
                seen && found.is_empty()
            }
        };
        if reached {
            let killed = child.kill().is_ok();
            let status = child.wait().unwrap();
            use std::os::unix::process::ExitStatusExt;
            return killed && status.signal() == Some(9);
        }
        std::thread::yield_now();
    }
}

/// SIGKILL of `set`, `rotate -i` and `updatekeys -y` on a large file at every stage of the
/// write (found by polling for the temp file): the file is always the complete old or the
/// complete new version, a leftover temp file holds no plaintext and is 0600 or the
/// target's mode, and the next run on the file removes it.
#[test]
fn sigkill_during_set_rotate_and_updatekeys_loses_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let plain: String = (0..8_000)
        .map(|i| format!("key{i}: value number {i}\n"))
        .collect();
    let rule = format!(
        "creation_rules:\n  - path_regex: .*\n    age: {},{}\n",
        recipient(1),
        recipient(2)
    );
    let commands: [(&str, Vec<&str>); 3] = [
        ("set", vec!["set", "f.yaml", "[\"key0\"]", "\"changed\""]),
        ("rotate", vec!["rotate", "-i", "f.yaml"]),
        ("updatekeys", vec!["updatekeys", "-y", "f.yaml"]),
    ];
    let moments = [
        Moment::AtStart,
        Moment::TempCreated,
        Moment::TempWritten,
        Moment::TempComplete,
        Moment::AfterRename,
    ];
    let mut mid_write = 0;
    for (what, args) in &commands {
        let dir = Workdir::new();
        dir.write("p.yaml", &plain);
        let encrypted = run(
            &dir,
            Tool::Leafcrypt,
            &["encrypt", "--age", recipient(1), "p.yaml"],
        )
        .expect_ok("encrypt")
        .stdout;
        dir.write(".sops.yaml", &rule);
        // The new version, from one run to completion.
        dir.write("f.yaml", &encrypted);
        run(&dir, Tool::Leafcrypt, args).expect_ok(what);
        let new_plain = run(&dir, Tool::Leafcrypt, &["decrypt", "f.yaml"])
            .expect_ok("decrypt")
            .stdout;
        let is_new = |bytes: &[u8]| {
            dir.write("check.yaml", bytes);
            let out = run(&dir, Tool::Leafcrypt, &["decrypt", "check.yaml"]);
            let keys_ok =
                *what != "updatekeys" || String::from_utf8_lossy(bytes).contains(recipient(2));
            bytes != encrypted.as_slice() && out.ok() && out.stdout == new_plain && keys_ok
        };
        for round in 0..2 {
            for moment in moments {
                dir.write("f.yaml", &encrypted);
                if kill_at(&dir, args, "f.yaml", moment) && !matches!(moment, Moment::AtStart) {
                    mid_write += 1;
                }
                let now = dir.read("f.yaml");
                assert!(
                    now == encrypted || is_new(&now),
                    "{what} killed at {moment:?} (round {round}): neither old nor new"
                );
                for tmp in temps(&dir, "f.yaml") {
                    let data = std::fs::read(&tmp).unwrap_or_default();
                    assert!(
                        !String::from_utf8_lossy(&data).contains("value number"),
                        "{what} at {moment:?}: plaintext in {}",
                        tmp.display()
                    );
                    let mode = std::fs::metadata(&tmp)
                        .map(|m| m.permissions().mode() & 0o777)
                        .unwrap_or(0o600);
                    let target_mode = std::fs::metadata(dir.join("f.yaml"))
                        .unwrap()
                        .permissions()
                        .mode()
                        & 0o777;
                    assert!(
                        mode == 0o600 || mode == target_mode,
                        "{what} at {moment:?}: a leftover temp file is {mode:o}"
                    );
                }
            }
        }
        // The next run on the file removes what killed runs left.
        dir.write("f.yaml", &encrypted);
        run(&dir, Tool::Leafcrypt, args).expect_ok(what);
        assert!(
            is_new(&dir.read("f.yaml")),
            "{what}: the next run completes"
        );
        let left = temps(&dir, "f.yaml");
        assert!(left.is_empty(), "{what}: still {left:?}");
    }
    // The polling reached the write itself in most rounds (not only kills at the start).
    eprintln!("{mid_write} of 24 kills after the start landed before the process exited");
    assert!(
        mid_write >= 6,
        "only {mid_write} kills landed during a write"
    );
}
