//! `exec-env` and `exec-file` against the real sops 3.11.0.
//!
//! The child writes what it sees into a file of the test's own directory (the test's
//! evidence, not a leak); both tools must give the child the same view. Proves:
//! - `exec-env`: the child sees the file's top-level values as variables, plus the parent's
//!   environment, or only the secrets (and what sops keeps) with `--pristine`;
//! - `exec-file`: the child reads the plaintext through a FIFO (default) or a 0600 regular
//!   file (`--no-fifo`) named `tmp-file` or `--filename`, in a 0700 directory under
//!   `$TMPDIR`; the content equals `sops decrypt`;
//! - the child's exit code is passed through (also with `--same-process`);
//! - afterwards `$TMPDIR` is empty (no plaintext left), even when the child fails or never
//!   opens the FIFO.

use leafcrypt_tests::cases::{assert_no_failures, Checker};
use leafcrypt_tests::harness::{key_file, recipient, Output, Tool};
use leafcrypt_tests::workflow::{leftovers, private_tmp, sops_encrypt, sops_plaintext, LIMIT};
use std::path::PathBuf;

const SECRETS: &[u8] = b"A: one\nB: two words\nN: 5\nF: 1.5\nT: true\nEMPTY: \"\"\n";

/// Runs `exec-* FILE COMMAND` with `tool`, `FOO=bar` in the parent's environment and a
/// private `TMPDIR` (returned, to check it is empty afterwards).
fn exec(c: &Checker, tool: Tool, args: &[&str], label: &str) -> (Output, PathBuf) {
    let tmp = private_tmp(&c.dir).join(format!("{label}-{tool}"));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("cannot create tmp: {e}"));
    let out = c
        .dir
        .cmd(tool)
        .args(args)
        .identity(key_file(1))
        .env("FOO", "bar")
        .env("TMPDIR", &tmp)
        .timeout(LIMIT)
        .run();
    (out, tmp)
}

/// Both tools run `args` (`{out}` in them replaced by a per-tool evidence file); the child's
/// exit code must be `code`, the evidence files equal (and returned), `$TMPDIR` empty.
fn both_see_the_same(c: &mut Checker, args: &[&str], label: &str, code: i32) -> Option<String> {
    let mut seen = Vec::new();
    for tool in Tool::BOTH {
        let evidence = c.dir.join(&format!("{label}-{tool}.seen"));
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{out}", &evidence.display().to_string()))
            .collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, tmp) = exec(c, tool, &refs, label);
        if out.code != code {
            c.problem(format!(
                "{label}: {tool} exited {}, expected the child's {code}\n{out:?}",
                out.code
            ));
        }
        let left = leftovers(&tmp);
        if !left.is_empty() {
            c.problem(format!("{label}: {tool} left files in $TMPDIR: {left:?}"));
        }
        let text = std::fs::read_to_string(&evidence).unwrap_or_default();
        seen.push(random_suffix().replace_all(&text, "tmp-file").into_owned());
    }
    if seen[0] != seen[1] {
        c.problem(format!(
            "{label}: the child saw different things\n--- under sops\n{}\n--- under leafcrypt\n{}",
            seen[0], seen[1]
        ));
        return None;
    }
    seen.pop()
}

/// sops's `--no-fifo` file without `--filename` is `tmp-file` plus random digits (Go's
/// `CreateTemp`); leafcrypt's is `tmp-file` in its private directory. Tolerated: the name is
/// private either way.
fn random_suffix() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"(?m)^tmp-file\d+$").expect("valid regex"))
}

fn expect_lines(c: &mut Checker, label: &str, seen: &str, lines: &[&str]) {
    for line in lines {
        if !seen.lines().any(|l| l == *line) {
            c.problem(format!(
                "{label}: the child did not see `{line}`; it saw\n{seen}"
            ));
        }
    }
}

const SHOW_ENV: &str = "printf 'A=%s\\nB=%s\\nN=%s\\nF=%s\\nT=%s\\nEMPTY=%s\\nFOO=%s\\n' \"$A\" \"$B\" \"$N\" \"$F\" \"$T\" \"${EMPTY-unset}\" \"${FOO-unset}\" > '{out}'";

#[test]
fn exec_env_child_sees_the_secrets() {
    let mut c = Checker::new();
    sops_encrypt(&c.dir, "secrets.yaml", SECRETS, recipient(1));
    let secrets = ["A=one", "B=two words", "N=5", "F=1.5", "T=true", "EMPTY="];
    if let Some(seen) = both_see_the_same(&mut c, &["exec-env", "secrets.yaml", SHOW_ENV], "env", 0)
    {
        expect_lines(&mut c, "exec-env", &seen, &secrets);
        expect_lines(&mut c, "exec-env", &seen, &["FOO=bar"]);
    }
    let pristine = ["exec-env", "--pristine", "secrets.yaml", SHOW_ENV];
    if let Some(seen) = both_see_the_same(&mut c, &pristine, "pristine", 0) {
        expect_lines(&mut c, "exec-env --pristine", &seen, &secrets);
        expect_lines(&mut c, "exec-env --pristine", &seen, &["FOO=unset"]);
    }
    let same = ["exec-env", "--same-process", "secrets.yaml", SHOW_ENV];
    if let Some(seen) = both_see_the_same(&mut c, &same, "same-process", 0) {
        expect_lines(&mut c, "exec-env --same-process", &seen, &secrets);
    }
    assert_no_failures(
        &c.finish("exec-env", SECRETS)
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// A dotenv file's values (quotes kept, as sops stores them) reach the child alike.
#[test]
fn exec_env_from_dotenv_like_sops() {
    let mut c = Checker::new();
    leafcrypt_tests::workflow::copy_vector(&c.dir, "dotenv/encrypted.env", "secrets.env");
    let show = "printf 'DB_USER=%s\\nDB_PASS=%s\\nMULTI=%s\\n' \"$DB_USER\" \"$DB_PASS\" \"$MULTI\" > '{out}'";
    if let Some(seen) = both_see_the_same(&mut c, &["exec-env", "secrets.env", show], "dotenv", 0) {
        expect_lines(
            &mut c,
            "exec-env dotenv",
            &seen,
            &["DB_USER=admin", "DB_PASS=\"quoted value\""],
        );
    }
    assert_no_failures(
        &c.finish("exec-env dotenv", b"(dotenv vector)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

#[test]
fn exit_codes_pass_through() {
    let mut c = Checker::new();
    sops_encrypt(&c.dir, "secrets.yaml", SECRETS, recipient(1));
    for (label, args) in [
        (
            "env-exit",
            vec!["exec-env", "secrets.yaml", "echo $A > '{out}'; exit 7"],
        ),
        (
            "same-exit",
            vec![
                "exec-env",
                "--same-process",
                "secrets.yaml",
                "echo $A > '{out}'; exit 9",
            ],
        ),
        (
            "file-exit",
            vec![
                "exec-file",
                "secrets.yaml",
                "head -n 1 {} > '{out}'; exit 5",
            ],
        ),
        (
            "nofifo-exit",
            vec![
                "exec-file",
                "--no-fifo",
                "secrets.yaml",
                "head -n 1 {} > '{out}'; exit 6",
            ],
        ),
    ] {
        let code = args[args.len() - 1]
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if let Some(seen) = both_see_the_same(&mut c, &args, label, code) {
            if !seen.contains("one") {
                c.problem(format!(
                    "{label}: the child did not see the secret: {seen:?}"
                ));
            }
        }
    }
    assert_no_failures(
        &c.finish("exit codes", SECRETS)
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// What the child reports about `{}`: FIFO or regular file, name, mode, directory mode,
/// whether it is under `$TMPDIR`, then the content.
const SHOW_FILE: &str = "{ if [ -p {} ]; then echo fifo; elif [ -f {} ]; then echo regular; else echo other; fi; basename {}; stat -c %a {}; stat -c %a \"$(dirname {})\"; case {} in \"$TMPDIR\"/*) echo under-tmpdir;; *) echo elsewhere;; esac; cat {}; } > '{out}'";

#[test]
fn exec_file_fifo_and_regular_file() {
    let mut c = Checker::new();
    sops_encrypt(&c.dir, "secrets.yaml", SECRETS, recipient(1));
    let plain =
        String::from_utf8_lossy(&sops_plaintext(&c.dir, "secrets.yaml", &key_file(1))).into_owned();
    let cases: [(&str, Vec<&str>, &str, &str); 3] = [
        (
            "fifo",
            vec!["exec-file", "secrets.yaml", SHOW_FILE],
            "fifo",
            "tmp-file",
        ),
        (
            "no-fifo",
            vec!["exec-file", "--no-fifo", "secrets.yaml", SHOW_FILE],
            "regular",
            "tmp-file",
        ),
        (
            "filename",
            vec![
                "exec-file",
                "--no-fifo",
                "--filename",
                "app.yaml",
                "secrets.yaml",
                SHOW_FILE,
            ],
            "regular",
            "app.yaml",
        ),
    ];
    for (label, args, kind, name) in cases {
        let Some(seen) = both_see_the_same(&mut c, &args, label, 0) else {
            continue;
        };
        let expected = format!("{kind}\n{name}\n600\n700\nunder-tmpdir\n{plain}");
        if seen != expected {
            c.problem(format!(
                "{label}: the child saw\n{seen}\nexpected\n{expected}"
            ));
        }
    }
    assert_no_failures(
        &c.finish("exec-file", SECRETS)
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// A child that never opens the FIFO, or fails before reading the file, ends the command
/// (no hang) and leaves nothing behind.
#[test]
fn nothing_left_when_the_child_does_not_read() {
    let mut c = Checker::new();
    sops_encrypt(&c.dir, "secrets.yaml", SECRETS, recipient(1));
    for (label, args, code) in [
        (
            "fifo-unread",
            vec!["exec-file", "secrets.yaml", "echo ran > '{out}'"],
            0,
        ),
        (
            "fifo-unread-fail",
            vec!["exec-file", "secrets.yaml", "echo ran > '{out}'; exit 3"],
            3,
        ),
        (
            "file-unread-fail",
            vec![
                "exec-file",
                "--no-fifo",
                "secrets.yaml",
                "echo ran > '{out}'; exit 4",
            ],
            4,
        ),
    ] {
        if let Some(seen) = both_see_the_same(&mut c, &args, label, code) {
            if seen != "ran\n" {
                c.problem(format!("{label}: the child did not run: {seen:?}"));
            }
        }
    }
    assert_no_failures(
        &c.finish("unread plaintext", SECRETS)
            .into_iter()
            .collect::<Vec<_>>(),
    );
}
