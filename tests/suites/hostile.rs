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
