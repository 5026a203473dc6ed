//! Git integration (issue 17 item 1) with the real `git` in temporary repositories:
//! `leafcrypt git setup` registers the textconv and the merge driver; two branches that
//! change different keys of one encrypted file merge cleanly through the driver, and the
//! result decrypts with the real sops 3.11 (MAC checked) with both changes, unchanged
//! values keeping their `ENC[…]` text; the same key changed on both sides fails naming
//! the key path and leaves ours; `--markers` writes encrypted conflict markers; a key
//! change on one side only is refused; `git diff`/`git log -p` are readable with the key
//! and structural without it; `--undo` removes exactly what setup added. Inputs are made
//! by sops and by leafcrypt; YAML, JSON and dotenv.
//!
//! Every command runs with a clean environment: `HOME`/`XDG_CONFIG_HOME` in the test's
//! directory, `GIT_CONFIG_NOSYSTEM=1`, the age identity only where a test says so.

use leafcrypt_tests::harness::{
    clean_env, key_file, leafcrypt_bin, recipient, run_command, sops_bin, Output, Workdir,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One temporary repository (`<dir>/repo`) with its own home (`<dir>/home`).
struct Repo {
    dir: Workdir,
    root: PathBuf,
    home: PathBuf,
}

/// Whether a command gets the age identity of R1.
#[derive(Clone, Copy, PartialEq)]
enum Key {
    With,
    Without,
}

impl Repo {
    fn new() -> Repo {
        let dir = Workdir::new();
        let root = dir.join("repo");
        let home = dir.join("home");
        std::fs::create_dir_all(&root).expect("create the repository directory");
        std::fs::create_dir_all(&home).expect("create the home directory");
        let repo = Repo { dir, root, home };
        repo.git(&["init", "-q", "-b", "main"])
            .expect_ok("git init");
        for (k, v) in [
            ("user.name", "Leafcrypt Test"),
            ("user.email", "test@example.invalid"),
            ("commit.gpgsign", "false"),
        ] {
            repo.git(&["config", k, v]).expect_ok("git config");
        }
        repo
    }

    fn run(&self, program: &Path, args: &[&str], key: Key) -> Output {
        let mut command = Command::new(program);
        clean_env(&mut command, &self.home);
        command
            .args(args)
            .current_dir(&self.root)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_EDITOR", "true")
            .env("GIT_PAGER", "cat");
        if key == Key::With {
            command.env("SOPS_AGE_KEY_FILE", key_file(1));
        }
        let described = format!("{} {}", program.display(), args.join(" "));
        run_command(&mut command, &[], described)
    }

    fn git(&self, args: &[&str]) -> Output {
        self.run(Path::new("git"), args, Key::With)
    }

    fn git_as(&self, key: Key, args: &[&str]) -> Output {
        self.run(Path::new("git"), args, key)
    }

    fn leafcrypt(&self, args: &[&str]) -> Output {
        self.run(leafcrypt_bin(), args, Key::With)
    }

    fn sops(&self, args: &[&str]) -> Output {
        self.run(sops_bin(), args, Key::With)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.root.join(name), bytes).expect("write a repository file");
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.root.join(name))
            .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]).expect_ok("git add");
        self.git(&["commit", "-q", "-m", message])
            .expect_ok("git commit");
    }

    /// A repository with `.sops.yaml` (R1 for `*.enc.{yaml,json,env}`), the driver set
    /// up by `leafcrypt git setup` (with `extra` flags), and `name` encrypted by `maker`
    /// from `plain`, committed on `main`.
    fn with_file(name: &str, plain: &str, maker: &str, extra: &[&str]) -> Repo {
        let repo = Repo::new();
        let rules: String = ["yaml", "json", "env", "ini"]
            .iter()
            .map(|ext| {
                format!(
                    "  - path_regex: \\.enc\\.{ext}$\n    age: {}\n",
                    recipient(1)
                )
            })
            .collect();
        repo.write(".sops.yaml", format!("creation_rules:\n{rules}"));
        let mut setup = vec!["git", "setup"];
        setup.extend_from_slice(extra);
        repo.leafcrypt(&setup).expect_ok("leafcrypt git setup");
        repo.write(name, plain);
        let out = if maker == "sops" {
            repo.sops(&["encrypt", "-i", name])
        } else {
            repo.leafcrypt(&["encrypt", "-i", name])
        };
        out.expect_ok(&format!("{maker} encrypt"));
        repo.commit("base");
        repo
    }

    /// Work-tree files (outside `.git`) that contain any of `secrets`.
    fn plaintext_in_work_tree(&self, secrets: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("read the work tree")
                .flatten()
            {
                let path = entry.path();
                if path.file_name().is_some_and(|n| n == ".git") {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    let text = String::from_utf8_lossy(&bytes);
                    for s in secrets {
                        if text.contains(s) {
                            found.push(format!("{} holds {s:?}", path.display()));
                        }
                    }
                }
            }
        }
        found
    }
}

/// A file of one format and the two edits the branches make.
struct Case {
    name: &'static str,
    plain: &'static str,
    /// (path, JSON value, key name in the file) changed on `theirs` by sops.
    theirs: [(&'static str, &'static str, &'static str); 2],
    /// (path, JSON value) changed on `main` (ours) by leafcrypt.
    ours: (&'static str, &'static str),
    maker: &'static str,
}

const YAML: Case = Case {
    name: "app.enc.yaml",
    plain: "db:\n    user: admin\n    password: s3cret-base\napi:\n    token: tok-base\n    retries: 3\nhosts:\n    - alpha\n    - beta\nnote_unencrypted: visible\n",
    theirs: [
        (r#"["api"]["token"]"#, r#""tok-theirs""#, "token"),
        (r#"["api"]["added"]"#, r#""added-theirs""#, "added"),
    ],
    ours: (r#"["db"]["password"]"#, r#""pw-ours""#),
    maker: "sops",
};

const JSON: Case = Case {
    name: "app.enc.json",
    plain: "{\n\t\"db\": {\n\t\t\"user\": \"admin\",\n\t\t\"password\": \"s3cret-base\"\n\t},\n\t\"api\": {\n\t\t\"token\": \"tok-base\",\n\t\t\"retries\": 3\n\t},\n\t\"hosts\": [\"alpha\", \"beta\"]\n}\n",
    theirs: [
        (r#"["api"]["token"]"#, r#""tok-theirs""#, "token"),
        (r#"["api"]["added"]"#, r#""added-theirs""#, "added"),
    ],
    ours: (r#"["db"]["password"]"#, r#""pw-ours""#),
    maker: "leafcrypt",
};

const DOTENV: Case = Case {
    name: "app.enc.env",
    plain: "DB_USER=admin\nDB_PASSWORD=s3cret-base\nAPI_TOKEN=tok-base\nRETRIES=3\n",
    theirs: [
        (r#"["API_TOKEN"]"#, r#""tok-theirs""#, "API_TOKEN"),
        (r#"["ADDED"]"#, r#""added-theirs""#, "ADDED"),
    ],
    ours: (r#"["DB_PASSWORD"]"#, r#""pw-ours""#),
    maker: "sops",
};

const INI: Case = Case {
    name: "app.enc.ini",
    plain: "[db]\nuser = admin\npassword = s3cret-base\n\n[api]\ntoken = tok-base\nretries = 3\n",
    theirs: [
        (r#"["api"]["token"]"#, r#""tok-theirs""#, "token"),
        (r#"["api"]["added"]"#, r#""added-theirs""#, "added"),
    ],
    ours: (r#"["db"]["password"]"#, r#""pw-ours""#),
    maker: "leafcrypt",
};

/// key → `ENC[…]` of every encrypted value line (the MAC left out).
fn ciphertexts(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let at = line.find("ENC[")?;
            let end = at + line[at..].find(']')? + 1;
            let key = line[..at]
                .trim_matches(|c: char| c.is_whitespace() || "\":=-".contains(c))
                .to_string();
            (key != "mac" && !key.starts_with("sops_") && !key.is_empty())
                .then(|| (key, line[at..end].to_string()))
        })
        .collect()
}

/// Branch `theirs` applies `case.theirs` with sops, `main` applies `case.ours` with
/// leafcrypt; returns ours' file text before the merge.
fn diverge(repo: &Repo, case: &Case, ours_value: &str) -> String {
    repo.git(&["checkout", "-q", "-b", "theirs"])
        .expect_ok("branch");
    for (path, value, _) in case.theirs {
        repo.sops(&["set", case.name, path, value])
            .expect_ok("sops set on theirs");
    }
    repo.commit("theirs");
    repo.git(&["checkout", "-q", "main"]).expect_ok("checkout");
    repo.leafcrypt(&["set", case.name, case.ours.0, ours_value])
        .expect_ok("leafcrypt set on ours");
    repo.commit("ours");
    repo.read(case.name)
}

/// The plaintext sops prints after applying both branches' edits to the base in turn.
fn expected_plaintext(repo: &Repo, case: &Case) -> Vec<u8> {
    let reference = format!("reference.{}", case.name);
    let base = repo.git(&["show", &format!("main~1:{}", case.name)]);
    std::fs::write(repo.dir.join(&reference), &base.stdout).expect("write the reference");
    let in_dir = |args: &[&str]| {
        let mut command = Command::new(sops_bin());
        clean_env(&mut command, &repo.home);
        let out = command
            .args(args)
            .current_dir(repo.dir.path())
            .env("SOPS_AGE_KEY_FILE", key_file(1))
            .output()
            .expect("run sops");
        assert!(
            out.status.success(),
            "sops {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    for (path, value, _) in case.theirs {
        in_dir(&["set", &reference, path, value]);
    }
    in_dir(&["set", &reference, case.ours.0, case.ours.1]);
    in_dir(&["decrypt", &reference])
}

fn merges_different_keys(case: &Case) {
    let repo = Repo::with_file(case.name, case.plain, case.maker, &[]);
    let ours = diverge(&repo, case, case.ours.1);
    let merge = repo.git(&["merge", "--no-edit", "theirs"]);
    assert!(merge.ok(), "{}: git merge failed\n{merge:?}", case.name);
    let merged = repo.read(case.name);
    let by_sops = repo.sops(&["decrypt", case.name]);
    assert!(
        by_sops.ok(),
        "{}: sops 3.11 cannot decrypt the merge\n{by_sops:?}",
        case.name
    );
    assert_eq!(
        by_sops.stdout_text(),
        String::from_utf8_lossy(&expected_plaintext(&repo, case)),
        "{}: the merge lacks a change",
        case.name
    );
    let (before, after) = (ciphertexts(&ours), ciphertexts(&merged));
    let theirs_keys: Vec<&str> = case.theirs.iter().map(|t| t.2).collect();
    for (key, enc) in &before {
        if theirs_keys.contains(&key.as_str()) {
            assert_ne!(after.get(key), Some(enc), "{}: {key} kept ours", case.name);
        } else {
            assert_eq!(
                after.get(key),
                Some(enc),
                "{}: {key} was re-encrypted although the merge did not change it",
                case.name
            );
        }
    }
    assert!(
        after.contains_key(case.theirs[1].2),
        "{}: {merged}",
        case.name
    );
}

#[test]
fn different_keys_merge_cleanly_yaml_made_by_sops() {
    merges_different_keys(&YAML);
}

#[test]
fn different_keys_merge_cleanly_json_made_by_leafcrypt() {
    merges_different_keys(&JSON);
}

#[test]
fn different_keys_merge_cleanly_dotenv_made_by_sops() {
    merges_different_keys(&DOTENV);
}

#[test]
fn different_keys_merge_cleanly_ini_made_by_leafcrypt() {
    merges_different_keys(&INI);
}

fn same_key_conflicts(case: &Case) {
    let repo = Repo::with_file(case.name, case.plain, case.maker, &[]);
    // Theirs sets the same key as ours, to another value.
    let case_theirs = Case {
        theirs: [(case.ours.0, r#""pw-theirs""#, "x"), case.theirs[1]],
        ..*case
    };
    let ours = diverge(&repo, &case_theirs, r#""pw-ours""#);
    let merge = repo.git(&["merge", "--no-edit", "theirs"]);
    assert!(
        !merge.ok(),
        "{}: the merge should fail\n{merge:?}",
        case.name
    );
    let said = format!("{}{}", merge.stdout_text(), merge.stderr_text());
    assert!(
        said.contains(&format!(
            "CONFLICT: both sides changed these keys:\n  {}",
            case.ours.0
        )),
        "{}: the key path is not named\n{merge:?}",
        case.name
    );
    assert!(said.contains("Merge conflict in"), "{merge:?}");
    assert_eq!(
        repo.read(case.name),
        ours,
        "{}: ours was changed",
        case.name
    );
    let status = repo.git(&["status", "--porcelain"]).stdout_text();
    assert!(status.contains(&format!("UU {}", case.name)), "{status}");
    let leaks = repo.plaintext_in_work_tree(&["pw-ours", "pw-theirs", "s3cret-base", "tok-base"]);
    assert!(leaks.is_empty(), "plaintext in the work tree: {leaks:?}");
}

#[test]
fn the_same_key_changed_on_both_sides_fails_naming_it_yaml() {
    same_key_conflicts(&YAML);
}

#[test]
fn the_same_key_changed_on_both_sides_fails_naming_it_json() {
    same_key_conflicts(&JSON);
}

#[test]
fn markers_are_written_encrypted_and_sops_reads_them() {
    let repo = Repo::with_file(YAML.name, YAML.plain, "sops", &["--markers"]);
    let case = Case {
        theirs: [(YAML.ours.0, r#""pw-theirs""#, "x"), YAML.theirs[0]],
        ..YAML
    };
    diverge(&repo, &case, r#""pw-ours""#);
    let merge = repo.git(&["merge", "--no-edit", "theirs"]);
    assert!(!merge.ok(), "a conflict must stop the merge\n{merge:?}");
    let value = repo.sops(&["decrypt", "--extract", YAML.ours.0, YAML.name]);
    assert!(value.ok(), "sops cannot decrypt the marked file\n{value:?}");
    assert_eq!(
        value.stdout_text(),
        "<<<<<<< ours\npw-ours\n||||||| base\ns3cret-base\n=======\npw-theirs\n>>>>>>> theirs"
    );
    let token = repo.sops(&["decrypt", "--extract", r#"["api"]["token"]"#, YAML.name]);
    assert_eq!(token.stdout_text(), "tok-theirs", "{token:?}");
    let leaks = repo.plaintext_in_work_tree(&["pw-ours", "pw-theirs", "<<<<<<<"]);
    assert!(leaks.is_empty(), "plaintext in the work tree: {leaks:?}");
}

#[test]
fn a_key_change_on_theirs_only_is_refused() {
    let repo = Repo::with_file(YAML.name, YAML.plain, "sops", &[]);
    repo.git(&["checkout", "-q", "-b", "theirs"])
        .expect_ok("branch");
    repo.leafcrypt(&["rotate", "-i", "--add-age", recipient(2), YAML.name])
        .expect_ok("rotate on theirs");
    repo.commit("theirs adds R2");
    repo.git(&["checkout", "-q", "main"]).expect_ok("checkout");
    repo.leafcrypt(&["set", YAML.name, YAML.ours.0, YAML.ours.1])
        .expect_ok("set on ours");
    repo.commit("ours");
    let ours = repo.read(YAML.name);
    let merge = repo.git(&["merge", "--no-edit", "theirs"]);
    assert!(!merge.ok(), "{merge:?}");
    assert!(
        merge
            .stderr_text()
            .contains("their version changed the file's key groups"),
        "{merge:?}"
    );
    assert_eq!(repo.read(YAML.name), ours);
}

#[test]
fn a_key_change_on_ours_only_is_kept() {
    let repo = Repo::with_file(YAML.name, YAML.plain, "sops", &[]);
    repo.git(&["checkout", "-q", "-b", "theirs"])
        .expect_ok("branch");
    repo.sops(&["set", YAML.name, r#"["api"]["token"]"#, r#""tok-theirs""#])
        .expect_ok("set on theirs");
    repo.commit("theirs");
    repo.git(&["checkout", "-q", "main"]).expect_ok("checkout");
    repo.leafcrypt(&["rotate", "-i", "--add-age", recipient(2), YAML.name])
        .expect_ok("rotate on ours");
    repo.commit("ours adds R2");
    let merge = repo.git(&["merge", "--no-edit", "theirs"]);
    assert!(merge.ok(), "{merge:?}");
    // R2 alone decrypts the merge with sops, and it has theirs' change.
    let mut command = Command::new(sops_bin());
    clean_env(&mut command, &repo.home);
    let out = command
        .args(["decrypt", "--extract", r#"["api"]["token"]"#, YAML.name])
        .current_dir(&repo.root)
        .env("SOPS_AGE_KEY_FILE", key_file(2))
        .output()
        .expect("run sops");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tok-theirs");
}

#[test]
fn comments_added_on_theirs_survive_the_merge() {
    let repo = Repo::with_file(
        YAML.name,
        "# top comment\ndb:\n    user: admin\n    password: s3cret-base\napi:\n    token: tok-base\n",
        "sops",
        &[],
    );
    let editor = repo.dir.join("add-comment.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/^api:/# api keys, added by theirs\\napi:/' \"$1\"\n",
    )
    .expect("write the editor script");
    let mut perms = std::fs::metadata(&editor).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&editor, perms).expect("chmod");
    repo.git(&["checkout", "-q", "-b", "theirs"])
        .expect_ok("branch");
    let mut command = Command::new(sops_bin());
    clean_env(&mut command, &repo.home);
    let edit = command
        .args(["edit", YAML.name])
        .current_dir(&repo.root)
        .env("SOPS_AGE_KEY_FILE", key_file(1))
        .env("EDITOR", &editor)
        .output()
        .expect("run sops edit");
    assert!(
        edit.status.success(),
        "{}",
        String::from_utf8_lossy(&edit.stderr)
    );
    repo.commit("theirs: a comment");
    repo.git(&["checkout", "-q", "main"]).expect_ok("checkout");
    repo.leafcrypt(&["set", YAML.name, YAML.ours.0, YAML.ours.1])
        .expect_ok("set on ours");
    repo.commit("ours");
    let merge = repo.git(&["merge", "--no-edit", "theirs"]);
    assert!(merge.ok(), "{merge:?}");
    let plain = repo.sops(&["decrypt", YAML.name]).expect_ok("sops decrypt");
    assert_eq!(
        plain.stdout_text(),
        "# top comment\ndb:\n    user: admin\n    password: pw-ours\n# api keys, added by theirs\napi:\n    token: tok-base\n"
    );
}

#[test]
fn a_tampered_version_is_refused_and_ours_left() {
    let repo = Repo::with_file(YAML.name, YAML.plain, "sops", &[]);
    repo.git(&["checkout", "-q", "-b", "theirs"])
        .expect_ok("branch");
    // A value removed by hand: the MAC no longer matches.
    let text = repo.read(YAML.name);
    let tampered: String = text
        .split_inclusive('\n')
        .filter(|l| !l.trim_start().starts_with("retries:"))
        .collect();
    assert_ne!(tampered, text);
    repo.write(YAML.name, tampered);
    repo.commit("theirs, tampered");
    repo.git(&["checkout", "-q", "main"]).expect_ok("checkout");
    repo.leafcrypt(&["set", YAML.name, YAML.ours.0, YAML.ours.1])
        .expect_ok("set on ours");
    repo.commit("ours");
    let ours = repo.read(YAML.name);
    let merge = repo.git(&["merge", "--no-edit", "theirs"]);
    assert!(!merge.ok(), "{merge:?}");
    assert!(
        merge.stderr_text().contains(&format!(
            "leafcrypt merge of {}: the theirs version: MAC mismatch",
            YAML.name
        )),
        "{merge:?}"
    );
    assert_eq!(repo.read(YAML.name), ours);
}

/// The line `key: value` as `case`'s format writes it at depth 1 (for diff lines).
fn line(case: &Case, key: &str, value: &str) -> String {
    if case.name.ends_with(".json") {
        format!("\t\t\"{key}\": \"{value}\"")
    } else {
        format!("    {key}: {value}")
    }
}

fn diff_and_log(case: &Case) {
    let repo = Repo::with_file(case.name, case.plain, case.maker, &[]);
    repo.sops(&["set", case.name, r#"["api"]["token"]"#, r#""tok-new""#])
        .expect_ok("sops set");
    repo.commit("new token");
    for args in [
        &["diff", "HEAD~1", "HEAD", "--", case.name][..],
        &["log", "-p", "-1", "--", case.name][..],
    ] {
        let with = repo.git_as(Key::With, args).expect_ok("git with the key");
        let text = with.stdout_text();
        assert!(
            text.contains(&format!("\n-{}", line(case, "token", "tok-base"))),
            "{text}"
        );
        assert!(
            text.contains(&format!("\n+{}", line(case, "token", "tok-new"))),
            "{text}"
        );
        assert!(!text.contains("ENC[AES256_GCM"), "{text}");
        let user = line(case, "user", "");
        let user = user.trim_end_matches('"');
        assert!(
            !text.lines().any(|l| l.starts_with(&format!("-{user}"))),
            "unchanged value shown as changed: {text}"
        );

        let without = repo
            .git_as(Key::Without, args)
            .expect_ok("git without a key");
        let text = without.stdout_text();
        assert!(!text.contains("tok-"), "plaintext without a key: {text}");
        assert!(!text.contains("admin"), "plaintext without a key: {text}");
        assert!(!text.contains("ENC[AES256_GCM"), "ciphertext noise: {text}");
        let masked = line(case, "token", "<encrypted str, sha256:");
        let masked = masked.trim_end_matches('"');
        for sign in ['-', '+'] {
            assert!(
                text.lines()
                    .any(|l| l.starts_with(&format!("{sign}{masked}"))),
                "no {sign} line for the token: {text}"
            );
        }
        assert!(text.contains("  lastmodified: "), "{text}");
        assert!(text.contains("\n-  mac: sha256:"), "{text}");
        assert!(text.contains("\n+  mac: sha256:"), "{text}");
        assert!(
            !text.lines().any(|l| l.starts_with(&format!("-{user}"))),
            "unchanged value shown as changed: {text}"
        );
    }
    // A key-source change shows without a key.
    repo.leafcrypt(&["rotate", "-i", "--add-age", recipient(2), case.name])
        .expect_ok("rotate");
    repo.commit("add R2");
    let log = repo
        .git_as(Key::Without, &["log", "-p", "-1", "--", case.name])
        .expect_ok("git log")
        .stdout_text();
    assert!(
        log.contains(&format!("\n+    age {} (wrapped key sha256:", recipient(2))),
        "{log}"
    );
    // Values re-encrypted under the new data key show as changed fingerprints.
    let user = line(case, "user", "<encrypted str, sha256:");
    assert!(
        log.contains(&format!("\n-{}", user.trim_end_matches('"'))),
        "{log}"
    );
}

#[test]
fn diff_and_log_are_readable_with_the_key_and_structural_without_yaml() {
    diff_and_log(&YAML);
}

#[test]
fn diff_and_log_are_readable_with_the_key_and_structural_without_json() {
    diff_and_log(&JSON);
}

#[test]
fn setup_writes_documented_entries_and_undo_removes_exactly_them() {
    let repo = Repo::new();
    repo.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {r}\n  - path_regex: ^secrets/.*\\.json$\n    age: {r}\n  - path_regex: (a|b)\\.ini$\n    age: {r}\n",
            r = recipient(1)
        ),
    );
    repo.write(".gitattributes", "*.png binary\n");
    repo.git(&["config", "diff.other.textconv", "cat"])
        .expect_ok("config");
    let config_before = repo.git(&["config", "--local", "--list"]).stdout_text();
    let setup = repo.leafcrypt(&["git", "setup"]).expect_ok("setup");
    assert!(
        setup.stderr_text().contains("(a|b)\\.ini$"),
        "the regex no glob expresses is reported\n{setup:?}"
    );
    let attributes = repo.read(".gitattributes");
    assert_eq!(
        attributes,
        "*.png binary\n# leafcrypt git setup: begin (remove with `leafcrypt git setup --undo`)\n\
         *.enc.yaml diff=leafcrypt merge=leafcrypt\nsecrets/**/*.json diff=leafcrypt merge=leafcrypt\n\
         # leafcrypt git setup: end\n"
    );
    let exe = leafcrypt_bin().display().to_string();
    let get = |key: &str| repo.git(&["config", "--get", key]).stdout_text();
    assert_eq!(
        get("diff.leafcrypt.textconv"),
        format!("'{exe}' git textconv\n")
    );
    assert_eq!(
        get("merge.leafcrypt.driver"),
        format!("'{exe}' git merge-driver %O %A %B %P\n")
    );
    assert!(!get("merge.leafcrypt.name").is_empty());
    let check = repo
        .git(&[
            "check-attr",
            "diff",
            "merge",
            "--",
            "x/y.enc.yaml",
            "secrets/a/b.json",
            "c.json",
        ])
        .stdout_text();
    assert_eq!(
        check,
        "x/y.enc.yaml: diff: leafcrypt\nx/y.enc.yaml: merge: leafcrypt\n\
         secrets/a/b.json: diff: leafcrypt\nsecrets/a/b.json: merge: leafcrypt\n\
         c.json: diff: unspecified\nc.json: merge: unspecified\n"
    );
    // Running it again changes nothing.
    repo.leafcrypt(&["git", "setup"]).expect_ok("setup again");
    assert_eq!(repo.read(".gitattributes"), attributes);
    repo.leafcrypt(&["git", "setup", "--undo"])
        .expect_ok("undo");
    assert_eq!(repo.read(".gitattributes"), "*.png binary\n");
    assert_eq!(
        repo.git(&["config", "--local", "--list"]).stdout_text(),
        config_before
    );

    // A .gitattributes that only setup wrote is removed by --undo.
    std::fs::remove_file(repo.root.join(".gitattributes")).expect("remove");
    repo.leafcrypt(&["git", "setup", "--pattern", "*.sops.json"])
        .expect_ok("setup with --pattern");
    assert!(repo
        .read(".gitattributes")
        .contains("\n*.sops.json diff=leafcrypt merge=leafcrypt\n"));
    repo.leafcrypt(&["git", "setup", "--undo"])
        .expect_ok("undo");
    assert!(!repo.root.join(".gitattributes").exists());
}

#[test]
fn global_setup_and_undo() {
    let repo = Repo::new();
    let global_before = repo.git(&["config", "--global", "--list"]).stdout_text();
    repo.leafcrypt(&["git", "setup", "--global", "--pattern", "*.enc.yaml"])
        .expect_ok("global setup");
    let attributes = repo.home.join(".config/git/attributes");
    let text = std::fs::read_to_string(&attributes).expect("global attributes written");
    assert!(
        text.contains("\n*.enc.yaml diff=leafcrypt merge=leafcrypt\n"),
        "{text}"
    );
    let check = repo
        .git(&["check-attr", "merge", "--", "a/b.enc.yaml"])
        .stdout_text();
    assert_eq!(check, "a/b.enc.yaml: merge: leafcrypt\n");
    assert!(repo
        .git(&["config", "--global", "--get", "merge.leafcrypt.driver"])
        .ok());
    repo.leafcrypt(&["git", "setup", "--global", "--undo"])
        .expect_ok("global undo");
    assert!(!attributes.exists());
    assert_eq!(
        repo.git(&["config", "--global", "--list"]).stdout_text(),
        global_before
    );
}
