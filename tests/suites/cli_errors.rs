//! Error parity with the real sops 3.11.0, and `-i` never damaging its input.
//!
//! For each failure below, leafcrypt exits with sops's exit code and its first stderr line
//! starts with sops's first line (leafcrypt may add context lines after it); where sops
//! succeeds (tamperings it does not detect, `--ignore-mac`), leafcrypt prints the same bytes:
//! - decrypting every tamper vector (tests/vectors/tamper/*.yaml), plus `--ignore-mac`;
//! - decrypting a plaintext (no `sops` metadata) in each format;
//! - decrypting with no identity, a nonexistent identity file, or the wrong identity;
//! - a nonexistent input file (decrypt, encrypt, rotate);
//! - encrypting an already encrypted file in each format;
//! - encrypting unparsable or unsupported inputs (bad JSON, top-level YAML list, empty YAML);
//! - Shamir with one group short of the threshold.
//!
//! And: with `-i`, a failing decrypt, encrypt or rotate leaves the file byte-identical.

use leafcrypt_tests::cases::{assert_no_failures, Checker, Failure};
use leafcrypt_tests::harness::{key_file, recipient, vectors_dir, Cmd, Tool};
use std::path::Path;

/// One parity check: the same arguments and identity for both tools, in one directory.
struct Parity<'a> {
    name: &'a str,
    args: Vec<String>,
    /// `SOPS_AGE_KEY_FILE`, or none at all.
    identity: Option<&'a Path>,
}

impl Parity<'_> {
    fn cmd(&self, c: &Checker, tool: Tool) -> Cmd {
        let cmd = c.dir.cmd(tool).args(&self.args);
        match self.identity {
            Some(id) => cmd.identity(id),
            None => cmd,
        }
    }

    /// Runs both tools; leafcrypt must fail like sops, or print the same bytes when sops
    /// succeeds.
    fn check(&self, c: &mut Checker) {
        let sops = self.cmd(c, Tool::Sops).run();
        let leaf = self.cmd(c, Tool::Leafcrypt).run();
        if sops.ok() {
            c.same_bytes(self.name, &sops.stdout, &leaf);
        } else {
            c.same_failure(self.name, &sops, &leaf);
        }
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Copies a vector into the checker's directory under its file name.
fn copy_vector(c: &Checker, rel: &str) -> String {
    let src = vectors_dir().join(rel);
    let bytes =
        std::fs::read(&src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
    let name = rel.rsplit('/').next().unwrap_or(rel).to_string();
    c.dir.write(&name, bytes);
    name
}

/// Runs a group of parity checks in one directory and fails with all mismatches.
fn run_group(name: &str, setup: impl FnOnce(&mut Checker)) -> Option<Failure> {
    let mut c = Checker::new();
    setup(&mut c);
    c.finish(name, b"(see the checks)")
}

#[test]
fn tamper_vectors_fail_like_sops() {
    let dir = vectors_dir().join("tamper");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 10,
        "expected the tamper vectors, found {names:?}"
    );
    let failures = run_group("tamper vectors", |c| {
        let key = key_file(1);
        for name in &names {
            let file = copy_vector(c, &format!("tamper/{name}"));
            for extra in [&[][..], &["--ignore-mac"][..]] {
                let mut a = args(&["decrypt"]);
                a.extend(args(extra));
                a.push(file.clone());
                let label = format!("decrypt {} {file}", extra.join(" "));
                Parity {
                    name: &label,
                    args: a,
                    identity: Some(&key),
                }
                .check(c);
            }
        }
    });
    assert_no_failures(&failures.into_iter().collect::<Vec<_>>());
}

#[test]
fn missing_metadata_fails_like_sops() {
    let failures = run_group("missing metadata", |c| {
        let key = key_file(1);
        for rel in [
            "yaml/plain.yaml",
            "json/plain.json",
            "dotenv/plain.env",
            "ini/plain.ini",
            "binary/plain.bin",
        ] {
            let file = copy_vector(c, rel);
            for action in ["decrypt", "rotate"] {
                let label = format!("{action} plaintext {file}");
                Parity {
                    name: &label,
                    args: args(&[action, &file]),
                    identity: Some(&key),
                }
                .check(c);
            }
        }
    });
    assert_no_failures(&failures.into_iter().collect::<Vec<_>>());
}

#[test]
fn missing_or_wrong_identity_fails_like_sops() {
    let failures = run_group("identity", |c| {
        let nonexistent = c.dir.join("no-such-keys.txt");
        let wrong = key_file(3);
        for rel in [
            "yaml/encrypted.yaml",
            "json/encrypted.json",
            "dotenv/encrypted.env",
            "ini/encrypted.ini",
        ] {
            let file = copy_vector(c, rel);
            let cases: [(&str, Option<&Path>); 3] = [
                ("no identity at all", None),
                ("nonexistent identity file", Some(&nonexistent)),
                ("wrong identity", Some(&wrong)),
            ];
            for (what, identity) in cases {
                let label = format!("decrypt {file} with {what}");
                Parity {
                    name: &label,
                    args: args(&["decrypt", &file]),
                    identity,
                }
                .check(c);
            }
        }
        let file = copy_vector(c, "shamir/shamir-2of3.yaml");
        let key2 = key_file(2);
        Parity {
            name: "shamir 2-of-3 with one group's identity",
            args: args(&["decrypt", &file]),
            identity: Some(&key2),
        }
        .check(c);
    });
    assert_no_failures(&failures.into_iter().collect::<Vec<_>>());
}

#[test]
fn nonexistent_file_fails_like_sops() {
    let failures = run_group("nonexistent file", |c| {
        let key = key_file(1);
        for a in [
            args(&["decrypt", "missing.yaml"]),
            args(&["encrypt", "--age", recipient(1), "missing.yaml"]),
            args(&["rotate", "missing.yaml"]),
            args(&["-d", "missing.json"]),
        ] {
            let label = a.join(" ");
            Parity {
                name: &label,
                args: a,
                identity: Some(&key),
            }
            .check(c);
        }
    });
    assert_no_failures(&failures.into_iter().collect::<Vec<_>>());
}

#[test]
fn already_encrypted_fails_like_sops() {
    let failures = run_group("already encrypted", |c| {
        let key = key_file(1);
        for rel in [
            "yaml/encrypted.yaml",
            "json/encrypted.json",
            "dotenv/encrypted.env",
            "ini/encrypted.ini",
            // Not binary: sops encrypts any bytes again, an encrypted file included.
        ] {
            let file = copy_vector(c, rel);
            let label = format!("encrypt already encrypted {file}");
            let a = args(&["encrypt", "--age", recipient(1), &file]);
            Parity {
                name: &label,
                args: a,
                identity: Some(&key),
            }
            .check(c);
        }
    });
    assert_no_failures(&failures.into_iter().collect::<Vec<_>>());
}

#[test]
fn bad_inputs_fail_like_sops() {
    let failures = run_group("bad inputs", |c| {
        let key = key_file(1);
        let inputs: [(&str, &[u8]); 6] = [
            ("bad.json", b"{\"a\": }\n"),
            ("toplist.json", b"[1, 2]\n"),
            ("toplist.yaml", b"- a\n- b\n"),
            ("empty.yaml", b""),
            ("bad.yaml", b"a: [1, 2\n"),
            ("dup.yaml", b"a: 1\na: 2\n"),
        ];
        for (name, bytes) in inputs {
            c.dir.write(name, bytes);
            let label = format!("encrypt {name}");
            let a = args(&["encrypt", "--age", recipient(1), name]);
            Parity {
                name: &label,
                args: a,
                identity: Some(&key),
            }
            .check(c);
        }
    });
    assert_no_failures(&failures.into_iter().collect::<Vec<_>>());
}

/// `-i` with a failing operation: same exit code as sops, the file byte-identical.
#[test]
fn failing_in_place_leaves_input_untouched() {
    let failures = run_group("in place", |c| {
        let key = key_file(1);
        let none = c.dir.join("no-such-keys.txt");
        let cases: [(&str, &str, &[&str], &Path); 5] = [
            ("tamper/ciphertext-byte.yaml", "decrypt", &[], &key),
            ("tamper/unencrypted-value.yaml", "decrypt", &[], &key),
            (
                "yaml/encrypted.yaml",
                "encrypt",
                &["--age", recipient(1)],
                &key,
            ),
            ("yaml/encrypted.yaml", "rotate", &[], &none),
            ("json/encrypted.json", "decrypt", &[], &none),
        ];
        for (rel, action, extra, identity) in cases {
            let original = std::fs::read(vectors_dir().join(rel))
                .unwrap_or_else(|e| panic!("cannot read vector {rel}: {e}"));
            let mut codes = Vec::new();
            for tool in Tool::BOTH {
                let file = copy_vector(c, rel);
                let out = c
                    .dir
                    .cmd(tool)
                    .args([action, "-i"])
                    .args(extra)
                    .arg(&file)
                    .identity(identity)
                    .run();
                if out.ok() {
                    c.problem(format!(
                        "{tool} {action} -i {rel}: expected a failure\n{out:?}"
                    ));
                }
                if c.dir.read(&file) != original {
                    c.problem(format!("{tool} {action} -i {rel}: the file changed although the command failed\n{out:?}"));
                }
                codes.push(out.code);
            }
            if codes[0] != codes[1] {
                c.problem(format!(
                    "{action} -i {rel}: exit codes differ: sops {}, leafcrypt {}",
                    codes[0], codes[1]
                ));
            }
        }
    });
    assert_no_failures(&failures.into_iter().collect::<Vec<_>>());
}
