//! Interop with the real sops 3.11.0 over every format × selector, on generated inputs.
//!
//! For each cell (five formats: yaml, json, dotenv, ini, binary × eight selectors: default,
//! unencrypted/encrypted suffix, unencrypted/encrypted regex, unencrypted/encrypted comment
//! regex, mac_only_encrypted) and several seeds of the deterministic generator, this proves
//! (see `leafcrypt_tests::cases`):
//! - sops encrypts → leafcrypt decrypts, byte-identical to sops decrypting;
//! - leafcrypt encrypts → sops decrypts and leafcrypt decrypts, both byte-identical to the
//!   normalised plaintext;
//! - the two encrypted files are identical once ciphertexts, IVs, tags, age armor and
//!   `lastmodified` are masked (same lengths, same type tags, same metadata layout);
//! - where sops rejects an input, leafcrypt rejects it with the same exit code and message.
//!
//! Also: the same checks on the vendored plaintext vectors and on small regression inputs;
//! every encrypted vector decrypts alike; `--extract`, `--output-type` and `--output` alike.
//!
//! `LEAFCRYPT_INTEROP_SEEDS=N` runs N seeds per cell (default 2; binary always 1).
//! `LEAFCRYPT_BIN=<path to sops>` runs the suite sops-against-sops: a check of the harness
//! itself (everything must pass).

use leafcrypt_tests::cases::{assert_no_failures, matrix_cell, seed_count, Format, Selector};

fn cell(format: Format, selector: Selector) {
    let seeds = if format == Format::Binary {
        1
    } else {
        seed_count(2)
    };
    assert_no_failures(&matrix_cell(format, selector, seeds));
}

macro_rules! matrix {
    ($($format:ident: $fmt:expr;)*) => {$(
        mod $format {
            use super::*;
            #[test] fn default() { cell($fmt, Selector::Default) }
            #[test] fn unencrypted_suffix() { cell($fmt, Selector::UnencryptedSuffix) }
            #[test] fn encrypted_suffix() { cell($fmt, Selector::EncryptedSuffix) }
            #[test] fn unencrypted_regex() { cell($fmt, Selector::UnencryptedRegex) }
            #[test] fn encrypted_regex() { cell($fmt, Selector::EncryptedRegex) }
            #[test] fn unencrypted_comment_regex() { cell($fmt, Selector::UnencryptedCommentRegex) }
            #[test] fn encrypted_comment_regex() { cell($fmt, Selector::EncryptedCommentRegex) }
            #[test] fn mac_only_encrypted() { cell($fmt, Selector::MacOnlyEncrypted) }
        }
    )*};
}

matrix! {
    yaml: Format::Yaml;
    json: Format::Json;
    dotenv: Format::Dotenv;
    ini: Format::Ini;
    binary: Format::Binary;
}

/// The handwritten vector inputs too (they hold the cases the vector README documents).
#[test]
fn vector_inputs() {
    use leafcrypt_tests::cases::Case;
    use leafcrypt_tests::harness::{key_file, recipient, vectors_dir};
    let inputs = [
        ("yaml/plain.yaml", Format::Yaml),
        ("yaml/multidoc.plain.yaml", Format::Yaml),
        ("json/plain.json", Format::Json),
        ("dotenv/plain.env", Format::Dotenv),
        ("ini/plain.ini", Format::Ini),
        ("binary/plain.bin", Format::Binary),
        ("selectors/plain.yaml", Format::Yaml),
    ];
    let mut failures = Vec::new();
    for (path, format) in inputs {
        let input = std::fs::read(vectors_dir().join(path))
            .unwrap_or_else(|e| panic!("cannot read vector {path}: {e}"));
        let case = Case {
            name: format!("vector {path}"),
            format,
            input,
            encrypt: vec!["encrypt".into(), "--age".into(), recipient(1).into()],
            config: None,
            identity: key_file(1),
        };
        failures.extend(case.check());
    }
    assert_no_failures(&failures);
}

/// Every encrypted vector made by sops (all formats, selectors, Shamir, all metadata kinds,
/// legacy layouts, the Python-made file) decrypts in leafcrypt to sops's bytes; where sops
/// fails (its list-comment bug), leafcrypt fails alike.
#[test]
fn vector_files_decrypt_alike() {
    use leafcrypt_tests::cases::Checker;
    use leafcrypt_tests::harness::{age_key_file, vectors_dir, Tool};
    let files = [
        "yaml/encrypted.yaml",
        "yaml/multidoc.encrypted.yaml",
        "yaml/multi-recipient.yaml",
        "yaml/rotated.yaml",
        "yaml/updatekeys.yaml",
        "json/encrypted.json",
        "dotenv/encrypted.env",
        "ini/encrypted.ini",
        "binary/encrypted.bin",
        "selectors/encrypted-regex.yaml",
        "selectors/unencrypted-regex.yaml",
        "selectors/encrypted-suffix.yaml",
        "selectors/unencrypted-suffix.yaml",
        "selectors/encrypted-comment-regex.yaml",
        "selectors/unencrypted-comment-regex.yaml",
        "selectors/mac-only-encrypted.yaml",
        "selectors/bug-list-comment.yaml",
        "shamir/shamir-2of3.yaml",
        "shamir/shamir-2of3.json",
        "shamir/shamir-2of3.env",
        "shamir/shamir-2of3.ini",
        "metadata/all-kinds.yaml",
        "metadata/all-kinds.json",
        "metadata/all-kinds.env",
        "metadata/all-kinds.ini",
        "metadata/key-groups-all-kinds.yaml",
        "metadata/key-groups-all-kinds.json",
        "legacy/legacy-3.7-style.yaml",
        "legacy/legacy-3.7-style.json",
        "primitive/python-made.yaml",
    ];
    let mut c = Checker::new();
    let identity = age_key_file("keys.txt");
    for rel in files {
        let src = vectors_dir().join(rel);
        let bytes =
            std::fs::read(&src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
        let name = rel.replace('/', "--");
        c.dir.write(&name, bytes);
        let run = |tool| {
            c.dir
                .cmd(tool)
                .args(["decrypt", &name])
                .identity(&identity)
                .run()
        };
        let (sops, leaf) = (run(Tool::Sops), run(Tool::Leafcrypt));
        if sops.ok() {
            c.same_bytes(&format!("decrypt {rel}"), &sops.stdout, &leaf);
        } else {
            c.same_failure(&format!("decrypt {rel}"), &sops, &leaf);
        }
    }
    assert_no_failures(
        &c.finish("vector files", b"(the vectors)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// `--extract` of single values, subtrees and a missing key, in YAML and JSON, like sops.
#[test]
fn extract_alike() {
    use leafcrypt_tests::cases::Checker;
    use leafcrypt_tests::harness::{key_file, vectors_dir, Tool};
    let cases = [
        ("yaml/encrypted.yaml", r#"["str"]"#),
        ("yaml/encrypted.yaml", r#"["int"]"#),
        ("yaml/encrypted.yaml", r#"["multi"]"#),
        ("yaml/encrypted.yaml", r#"["nested"]"#),
        ("yaml/encrypted.yaml", r#"["nested"]["list"][0]"#),
        ("yaml/encrypted.yaml", r#"["no_such_key"]"#),
        ("json/encrypted.json", r#"["str"]"#),
        ("json/encrypted.json", r#"["float"]"#),
        ("json/encrypted.json", r#"["nested"]"#),
        ("json/encrypted.json", r#"["no_such_key"]"#),
    ];
    let mut c = Checker::new();
    for (rel, path) in cases {
        let src = vectors_dir().join(rel);
        let bytes =
            std::fs::read(&src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
        let name = rel.replace('/', "--");
        c.dir.write(&name, bytes);
        let run = |tool| {
            c.dir
                .cmd(tool)
                .args(["decrypt", "--extract", path, &name])
                .identity(key_file(1))
                .run()
        };
        let (sops, leaf) = (run(Tool::Sops), run(Tool::Leafcrypt));
        let what = format!("decrypt --extract '{path}' {rel}");
        if sops.ok() {
            c.same_bytes(&what, &sops.stdout, &leaf);
        } else {
            c.same_failure(&what, &sops, &leaf);
        }
    }
    assert_no_failures(
        &c.finish("extract", b"(the vectors)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// Small handwritten inputs for differences the generated cases found (see
/// tests/KNOWN_FAILURES.md), so they run on every seed count.
#[test]
fn regressions() {
    use leafcrypt_tests::cases::Case;
    use leafcrypt_tests::harness::{key_file, recipient};
    let inputs: [(&str, &str); 4] = [
        ("keep-chomped block at end of input", "a: |+\n  x\n"),
        ("foot comment before ---", "a: 1\n# foot\n---\nb: 2\n"),
        (
            "inline comment on a map in a list item",
            "l:\n  - c: y # c\n",
        ),
        (
            "inline comment after a nested list",
            "l:\n  - - x\n  - n: x\n  - c: y # c\n",
        ),
    ];
    let mut failures = Vec::new();
    for (what, input) in inputs {
        for extra in [&[][..], &["--encrypted-regex", "^nomatch$"][..]] {
            let mut encrypt = vec!["encrypt".to_string(), "--age".into(), recipient(1).into()];
            encrypt.extend(extra.iter().map(|s| s.to_string()));
            let case = Case {
                name: format!("regression: {what} {}", extra.join(" ")),
                format: Format::Yaml,
                input: input.as_bytes().to_vec(),
                encrypt,
                config: None,
                identity: key_file(1),
            };
            failures.extend(case.check());
        }
    }
    assert_no_failures(&failures);
}

/// `--output-type` conversions on decrypt, and `--output FILE`, give sops's bytes.
#[test]
fn conversions_and_output_file_alike() {
    use leafcrypt_tests::cases::Checker;
    use leafcrypt_tests::harness::{key_file, vectors_dir, Tool};
    let cases: [(&str, &[&str]); 5] = [
        ("yaml/encrypted.yaml", &["--output-type", "json"]),
        ("json/encrypted.json", &["--output-type", "yaml"]),
        ("dotenv/encrypted.env", &["--output-type", "yaml"]),
        ("yaml/encrypted.yaml", &["--output", "out.yaml"]),
        ("ini/encrypted.ini", &["--output", "out.ini"]),
    ];
    let mut c = Checker::new();
    for (rel, extra) in cases {
        let src = vectors_dir().join(rel);
        let bytes =
            std::fs::read(&src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
        let name = rel.replace('/', "--");
        c.dir.write(&name, bytes);
        let output_file = extra
            .iter()
            .position(|a| *a == "--output")
            .map(|i| extra[i + 1]);
        let mut outputs = Vec::new();
        for tool in Tool::BOTH {
            let mut out = c
                .dir
                .cmd(tool)
                .arg("decrypt")
                .args(extra)
                .arg(&name)
                .identity(key_file(1))
                .run();
            if let Some(file) = output_file {
                if out.ok() {
                    out.stdout = c.dir.read(file);
                    let _ = std::fs::remove_file(c.dir.join(file));
                }
            }
            outputs.push(out);
        }
        let what = format!("decrypt {} {rel}", extra.join(" "));
        if outputs[0].ok() {
            let expected = outputs[0].stdout.clone();
            c.same_bytes(&what, &expected, &outputs[1]);
        } else {
            c.same_failure(&what, &outputs[0], &outputs[1]);
        }
    }
    assert_no_failures(
        &c.finish("conversions", b"(the vectors)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}
