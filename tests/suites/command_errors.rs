//! Bad input for every workflow command: a missing file, the wrong key, a malformed tree
//! path, an output path under a regular file, `-i` in a directory that cannot be written,
//! a failing editor, and `filestatus` on odd inputs.
//!
//! For each: leafcrypt exits non-zero with the exit code sops 3.11.0 gives for the same
//! failure (the message wording is not compared: leafcrypt words its own), its stderr names
//! the file, and every input is byte-identical afterwards (for leafcrypt and for sops alike).
//! `-i` in a read-only directory is leafcrypt-only: sops writes in place where leafcrypt
//! writes a temp file and renames, so sops succeeds there.

use leafcrypt_tests::cases::{assert_no_failures, Checker};
use leafcrypt_tests::harness::{key_file, recipient, Output, Tool};
use leafcrypt_tests::workflow::{copy_vector, leftovers, private_tmp, script, LIMIT};
use std::path::{Path, PathBuf};

/// One failing invocation.
struct Bad {
    /// The arguments (file names relative to the test directory).
    args: Vec<String>,
    /// What leafcrypt's stderr must mention (the file).
    names: String,
    /// The identity given to both tools.
    identity: PathBuf,
    /// Extra environment (an editor).
    env: Vec<(String, String)>,
}

impl Bad {
    fn new(args: &[&str], names: &str) -> Bad {
        Bad {
            args: args.iter().map(|s| s.to_string()).collect(),
            names: names.to_string(),
            identity: key_file(1),
            env: Vec::new(),
        }
    }

    fn identity(mut self, path: PathBuf) -> Bad {
        self.identity = path;
        self
    }

    fn env(mut self, key: &str, value: &str) -> Bad {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    fn run(&self, c: &Checker, tool: Tool, tmp: &Path) -> Output {
        let mut cmd = c
            .dir
            .cmd(tool)
            .args(&self.args)
            .identity(&self.identity)
            .env("TMPDIR", tmp)
            .timeout(LIMIT);
        for (k, v) in &self.env {
            cmd = cmd.env(k, v);
        }
        cmd.run()
    }
}

/// The files every case must leave byte-identical.
fn snapshot(c: &Checker, files: &[&str]) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .map(|f| (f.to_string(), c.dir.read(f)))
        .collect()
}

fn restore(c: &Checker, files: &[(String, Vec<u8>)]) {
    for (name, bytes) in files {
        c.dir.write(name, bytes);
    }
}

/// Runs `bad` with leafcrypt (and sops when `compare`): both fail, with the same exit code;
/// leafcrypt's stderr names the file; `guarded` unchanged; `$TMPDIR` left empty.
fn check(c: &mut Checker, bad: &Bad, guarded: &[(String, Vec<u8>)], compare: bool) {
    let label = bad.args.join(" ");
    let tmp = private_tmp(&c.dir);
    let mut codes = Vec::new();
    let tools: &[Tool] = if compare {
        &Tool::BOTH
    } else {
        &[Tool::Leafcrypt]
    };
    for &tool in tools {
        restore(c, guarded);
        let out = bad.run(c, tool, &tmp);
        if out.ok() || out.timed_out {
            c.problem(format!("{label}: {tool} did not fail\n{out:?}"));
        }
        for (name, bytes) in guarded {
            if &c.dir.read(name) != bytes {
                c.problem(format!("{label}: {tool} changed {name}\n{out:?}"));
            }
        }
        if tool == Tool::Leafcrypt {
            if !out.stderr_text().contains(&bad.names) {
                c.problem(format!(
                    "{label}: leafcrypt's message does not name {}\n{out:?}",
                    bad.names
                ));
            }
            let left = leftovers(&tmp);
            if !left.is_empty() {
                c.problem(format!(
                    "{label}: leafcrypt left files in $TMPDIR: {left:?}"
                ));
            }
        }
        codes.push((out.code, out.first_stderr_line()));
    }
    if compare && codes[0].0 != codes[1].0 {
        c.problem(format!(
            "{label}: exit codes differ\n  sops      {}: {}\n  leafcrypt {}: {}",
            codes[0].0, codes[0].1, codes[1].0, codes[1].1
        ));
    }
}

/// A directory with an encrypted YAML (`w.yaml`), a plaintext (`p.yaml`), a regular file
/// `notadir`, rules `rules.yaml` (R2) and a changing editor.
fn setup(c: &Checker) -> Vec<(String, Vec<u8>)> {
    copy_vector(&c.dir, "yaml/encrypted.yaml", "w.yaml");
    copy_vector(&c.dir, "yaml/plain.yaml", "p.yaml");
    c.dir.write("notadir", "a regular file\n");
    c.dir.write(
        "rules.yaml",
        format!("creation_rules:\n  - age: {}\n", recipient(2)),
    );
    script(&c.dir, "editor.sh", "sed -i 's/hello/changed/' \"$1\"");
    snapshot(c, &["w.yaml", "p.yaml", "notadir", "rules.yaml"])
}

fn editor(c: &Checker) -> String {
    c.dir.join("editor.sh").display().to_string()
}

fn finish(c: Checker, name: &str) {
    assert_no_failures(
        &c.finish(name, b"(see the cases)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

#[test]
fn missing_file() {
    let mut c = Checker::new();
    let guarded = setup(&c);
    let m = "missing.yaml";
    let cases = [
        Bad::new(&["decrypt", m], m),
        Bad::new(&["decrypt", "--extract", r#"["a"]"#, m], m),
        Bad::new(&["rotate", m], m),
        Bad::new(&["filestatus", m], m),
        Bad::new(&["exec-env", m, "true"], m),
        Bad::new(&["exec-file", m, "cat {}"], m),
        Bad::new(&["set", m, r#"["a"]"#, "1"], m),
        Bad::new(&["unset", m, r#"["a"]"#], m),
        Bad::new(&["--config", "rules.yaml", "updatekeys", "-y", m], m),
    ];
    for bad in &cases {
        check(&mut c, bad, &guarded, true);
        if c.dir.join(m).exists() {
            c.problem(format!("{}: created {m}", bad.args.join(" ")));
            let _ = std::fs::remove_file(c.dir.join(m));
        }
    }
    finish(c, "missing file");
}

#[test]
fn wrong_key() {
    let mut c = Checker::new();
    let guarded = setup(&c);
    let ed = editor(&c);
    let w = "w.yaml";
    let cases = [
        Bad::new(&["decrypt", w], w),
        Bad::new(&["decrypt", "--extract", r#"["str"]"#, w], w),
        Bad::new(&["rotate", "-i", w], w),
        Bad::new(&["edit", w], w).env("SOPS_EDITOR", &ed),
        Bad::new(&["exec-env", w, "true"], w),
        Bad::new(&["exec-file", w, "cat {}"], w),
        Bad::new(&["set", w, r#"["str"]"#, r#""x""#], w),
        Bad::new(&["unset", w, r#"["str"]"#], w),
        Bad::new(&["--config", "rules.yaml", "updatekeys", "-y", w], w),
    ];
    for bad in cases {
        check(&mut c, &bad.identity(key_file(3)), &guarded, true);
    }
    finish(c, "wrong key");
}

#[test]
fn malformed_tree_path() {
    let mut c = Checker::new();
    let guarded = setup(&c);
    let w = "w.yaml";
    for path in [r#"["a""#, "[x]", "a", r#"["str"]x"#] {
        for args in [
            vec!["set", w, path, r#""v""#],
            vec!["unset", w, path],
            vec!["decrypt", "--extract", path, w],
        ] {
            check(&mut c, &Bad::new(&args, w), &guarded, true);
        }
    }
    // A missing key or index is not malformed but fails too.
    for args in [
        vec!["unset", w, r#"["no_such_key"]"#],
        vec!["unset", w, r#"["nested"]["list"][9]"#],
        vec!["decrypt", "--extract", r#"["no_such_key"]"#, w],
    ] {
        check(&mut c, &Bad::new(&args, w), &guarded, true);
    }
    // A value that is not JSON.
    check(
        &mut c,
        &Bad::new(&["set", w, r#"["str"]"#, "notjson"], w),
        &guarded,
        true,
    );
    finish(c, "malformed path");
}

#[test]
fn output_under_a_regular_file() {
    let mut c = Checker::new();
    let guarded = setup(&c);
    let ed = editor(&c);
    let out = "notadir/x.yaml";
    let cases = [
        Bad::new(&["decrypt", "--output", out, "w.yaml"], out),
        Bad::new(
            &["encrypt", "--age", recipient(1), "--output", out, "p.yaml"],
            out,
        ),
        Bad::new(&["rotate", "--output", out, "w.yaml"], out),
        Bad::new(&["edit", "--age", recipient(1), out], out).env("SOPS_EDITOR", &ed),
    ];
    for bad in &cases {
        check(&mut c, bad, &guarded, true);
    }
    finish(c, "output under a regular file");
}

/// A directory nobody may write to, even root: mode 0555, plus the immutable attribute
/// when running as root (undone on drop, else the test directory could not be removed).
struct ReadOnlyDir {
    path: PathBuf,
    immutable: bool,
}

impl ReadOnlyDir {
    /// `None` when neither works here (root on a file system without `chattr +i`).
    fn new(path: &Path) -> Option<ReadOnlyDir> {
        use std::os::unix::fs::PermissionsExt;
        let set = |mode| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        set(0o555).ok()?;
        let mut dir = ReadOnlyDir {
            path: path.to_path_buf(),
            immutable: false,
        };
        if dir.writable() {
            dir.immutable = std::process::Command::new("chattr")
                .arg("+i")
                .arg(path)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
        }
        (!dir.writable()).then_some(dir)
    }

    fn writable(&self) -> bool {
        let probe = self.path.join(".probe");
        let ok = std::fs::write(&probe, b"").is_ok();
        let _ = std::fs::remove_file(&probe);
        ok
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.path)
                .status();
        }
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o755));
    }
}

/// `-i` (and every in-place command) in a directory that cannot be written: a clean failure
/// naming the file, the file intact, no temp file left beside it. leafcrypt only.
#[test]
fn in_place_in_a_read_only_directory() {
    let mut c = Checker::new();
    setup(&c);
    let ro = c.dir.join("ro");
    std::fs::create_dir_all(&ro).unwrap_or_else(|e| panic!("cannot create ro: {e}"));
    copy_vector(&c.dir, "yaml/encrypted.yaml", "ro/w.yaml");
    copy_vector(&c.dir, "yaml/plain.yaml", "ro/p.yaml");
    std::fs::write(
        ro.join("rules.yaml"),
        format!("creation_rules:\n  - age: {}\n", recipient(2)),
    )
    .unwrap_or_else(|e| panic!("cannot write rules: {e}"));
    let guarded = snapshot(&c, &["ro/w.yaml", "ro/p.yaml"]);
    let Some(guard) = ReadOnlyDir::new(&ro) else {
        eprintln!("SKIPPED: cannot make a directory read-only here (root without chattr +i)");
        return;
    };
    let ed = editor(&c);
    let (w, p) = ("ro/w.yaml", "ro/p.yaml");
    let cases = [
        Bad::new(&["decrypt", "-i", w], w),
        Bad::new(&["encrypt", "-i", "--age", recipient(1), p], p),
        Bad::new(&["rotate", "-i", w], w),
        Bad::new(&["set", w, r#"["str"]"#, r#""x""#], w),
        Bad::new(&["unset", w, r#"["str"]"#], w),
        Bad::new(&["edit", w], w).env("SOPS_EDITOR", &ed),
        Bad::new(&["--config", "ro/rules.yaml", "updatekeys", "-y", w], w),
    ];
    for bad in &cases {
        // `restore` cannot write into the directory; the files must simply never change.
        check(&mut c, bad, &[], false);
        for (name, bytes) in &guarded {
            if &c.dir.read(name) != bytes {
                c.problem(format!("{}: changed {name}", bad.args.join(" ")));
            }
        }
        let left = leftovers(&ro);
        if left != ["p.yaml", "rules.yaml", "w.yaml"] {
            c.problem(format!(
                "{}: the directory now holds {left:?}",
                bad.args.join(" ")
            ));
        }
    }
    drop(guard);
    finish(c, "in place in a read-only directory");
}

/// The editor fails or cannot be started: the file untouched, nothing left in `$TMPDIR`,
/// sops's exit code.
#[test]
fn editor_failures() {
    let mut c = Checker::new();
    let guarded = setup(&c);
    let failing = script(
        &c.dir,
        "failing.sh",
        "sed -i 's/hello/changed/' \"$1\"\nexit 1",
    );
    let cases = [
        Bad::new(&["edit", "w.yaml"], "w.yaml").env("SOPS_EDITOR", &failing.display().to_string()),
        Bad::new(&["edit", "w.yaml"], "w.yaml").env("SOPS_EDITOR", "/nonexistent/editor"),
    ];
    for bad in &cases {
        check(&mut c, bad, &guarded, true);
    }
    finish(c, "editor failures");
}

/// `filestatus` prints what sops prints for plaintext and encrypted files, and fails like
/// sops on unparsable input.
#[test]
fn filestatus_like_sops() {
    let mut c = Checker::new();
    copy_vector(&c.dir, "yaml/encrypted.yaml", "enc.yaml");
    copy_vector(&c.dir, "json/encrypted.json", "enc.json");
    copy_vector(&c.dir, "yaml/plain.yaml", "plain.yaml");
    copy_vector(&c.dir, "json/plain.json", "plain.json");
    c.dir.write("bad.json", "{\"a\": }\n");
    c.dir.write("bad.yaml", "a: [1, 2\n");
    for file in [
        "enc.yaml",
        "enc.json",
        "plain.yaml",
        "plain.json",
        "bad.json",
        "bad.yaml",
    ] {
        let sops = c
            .dir
            .cmd(Tool::Sops)
            .args(["filestatus", file])
            .timeout(LIMIT)
            .run();
        let leaf = c
            .dir
            .cmd(Tool::Leafcrypt)
            .args(["filestatus", file])
            .timeout(LIMIT)
            .run();
        if sops.ok() {
            c.same_bytes(&format!("filestatus {file}"), &sops.stdout, &leaf);
        } else if leaf.code != sops.code {
            c.problem(format!(
                "filestatus {file}: sops exits {} ({}), leafcrypt {}\n{leaf:?}",
                sops.code,
                sops.first_stderr_line(),
                leaf.code
            ));
        }
    }
    finish(c, "filestatus");
}
