//! `edit` driven by a real editor substitute (a shell script given as `$SOPS_EDITOR`),
//! against the real sops 3.11.0 running the same script on a copy of the same file.
//!
//! Proves, in every store:
//! - changing a value and adding a key: exit 0; `sops decrypt` of leafcrypt's result equals
//!   `sops decrypt` of sops's result (and contains the edit); the wrapped data key (the age
//!   `enc` blocks) is byte-identical before and after; exactly the edited value and the MAC
//!   get new ciphertexts, as with sops;
//! - the editor saw a 0600 temp file named like the original, in a 0700 directory under
//!   `$TMPDIR`; afterwards the temp file is gone and `$TMPDIR` is empty;
//! - invalid content then a fix (Enter re-opens the editor): the message names the line and
//!   the fixed content is saved, like sops; invalid content then EOF or `a`: exit 2, the file
//!   byte-identical (sops has no abort: it re-opens the editor for ever, so it is not run);
//! - no change: exit 200 and the file byte-identical, like sops;
//! - a new file starts from sops's template (byte for byte) and is encrypted to `--age` or to
//!   the `.sops.yaml` rule; sops decrypts it;
//! - `$SOPS_EDITOR` with arguments, `$EDITOR` as the fallback, `$SOPS_EDITOR` winning.

use leafcrypt_tests::cases::{assert_no_failures, Checker, Failure, Format};
use leafcrypt_tests::harness::{key_file, recipient, Output, Tool};
use leafcrypt_tests::workflow::{
    age_recipients, enc_tokens, leftovers, private_tmp, read_text, record_temp_file, script,
    sops_encrypt, sops_plaintext, temp_files_seen, wrapped_keys, LIMIT,
};
use std::path::{Path, PathBuf};

/// A small plaintext per store, with a value `hello` for the editor to change.
fn sample(format: Format) -> &'static [u8] {
    match format {
        Format::Yaml => b"a: 1\nb: hello\nlist:\n    - x\n    - 2\n",
        Format::Json => b"{\n\t\"a\": 1,\n\t\"b\": \"hello\",\n\t\"list\": [\"x\", 2]\n}\n",
        Format::Dotenv => b"A=1\nB=hello\nC=x\n",
        Format::Ini => b"[s]\na = 1\nb = hello\n\n[t]\nc = x\n",
        Format::Binary => b"bin\x00\xff hello\nline2",
    }
}

/// A shell command that adds a key to the file `"$f"` of this store.
fn add_key(format: Format) -> &'static str {
    match format {
        Format::Yaml => r#"printf 'added: new value\n' >> "$f""#,
        Format::Json => r#"sed -i 's/^}$/\t,"added": "new value"\n}/' "$f""#,
        Format::Dotenv => r#"printf 'ADDED=new value\n' >> "$f""#,
        Format::Ini => r#"printf '\n[added]\nk = new value\n' >> "$f""#,
        Format::Binary => r#"printf 'new value' >> "$f""#,
    }
}

/// Runs `edit FILE` with `tool`, the editor `editor` (as `$SOPS_EDITOR`), `TMPDIR` = `tmp`,
/// R1's identity and `stdin`.
fn edit(c: &Checker, tool: Tool, file: &str, editor: &str, tmp: &Path, stdin: &[u8]) -> Output {
    c.dir
        .cmd(tool)
        .args(["edit", file])
        .identity(key_file(1))
        .env("SOPS_EDITOR", editor)
        .env("TMPDIR", tmp)
        .stdin(stdin)
        .timeout(LIMIT)
        .run()
}

/// The checks on leafcrypt's temp file: one editor run per entry of `runs` expected, each on
/// a 0600 file named like `file` in a 0700 directory under `tmp`, gone afterwards; `tmp`
/// empty.
fn temp_file_hygiene(c: &mut Checker, what: &str, log: &Path, file: &str, tmp: &Path, runs: usize) {
    let seen = temp_files_seen(log);
    if seen.len() != runs {
        c.problem(format!(
            "{what}: the editor ran {} time(s), expected {runs}: {seen:?}",
            seen.len()
        ));
    }
    for s in &seen {
        if s.mode != "600" || s.dir_mode != "700" {
            c.problem(format!(
                "{what}: temp file {} had mode {} in a directory of mode {} (expected 600 in 700)",
                s.path.display(),
                s.mode,
                s.dir_mode
            ));
        }
        if s.path.file_name().map(|n| n.to_string_lossy().into_owned()) != Some(file.to_string()) {
            c.problem(format!(
                "{what}: temp file {} is not named like {file}",
                s.path.display()
            ));
        }
        if !s.path.starts_with(tmp) {
            c.problem(format!(
                "{what}: temp file {} is not under $TMPDIR {}",
                s.path.display(),
                tmp.display()
            ));
        }
        if s.path.exists() {
            c.problem(format!(
                "{what}: the plaintext temp file {} still exists",
                s.path.display()
            ));
        }
    }
    let left = leftovers(tmp);
    if !left.is_empty() {
        c.problem(format!("{what}: $TMPDIR is not empty afterwards: {left:?}"));
    }
}

/// How many of `before`'s `ENC[…]` tokens are missing from `after`.
fn replaced_tokens(before: &str, after: &str) -> usize {
    let after = enc_tokens(after);
    enc_tokens(before)
        .iter()
        .filter(|t| !after.contains(t))
        .count()
}

/// Both tools edit a copy of the same sops-encrypted sample with an editor running `change`
/// on `"$f"`; see the module docs for what is checked. `must_contain` is expected in the
/// result's plaintext; exactly `new_ciphertexts` of the old `ENC[…]` values must be gone.
fn edit_like_sops(
    format: Format,
    change: &str,
    must_contain: &[u8],
    new_ciphertexts: usize,
) -> Option<Failure> {
    let mut c = Checker::new();
    let ext = format.ext();
    let source = format!("source.{ext}");
    let before = sops_encrypt(&c.dir, &source, sample(format), recipient(1));
    let before = String::from_utf8_lossy(&before).into_owned();
    let mut results = Vec::new();
    for tool in Tool::BOTH {
        let file = format!("{tool}.{ext}");
        c.dir.write(&file, before.as_bytes());
        let log = c.dir.join(&format!("{tool}.editor-log"));
        let editor = script(
            &c.dir,
            &format!("{tool}-editor.sh"),
            &format!("f=\"$1\"\n{}\n{change}", record_temp_file(&log)),
        );
        let tmp = private_tmp(&c.dir).join(tool.to_string());
        std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("cannot create tmp: {e}"));
        let out = edit(&c, tool, &file, &editor.display().to_string(), &tmp, b"");
        if !out.ok() {
            c.problem(format!("{tool} edit failed\n{out:?}"));
            continue;
        }
        let after = read_text(&c.dir, &file);
        if wrapped_keys(&after) != wrapped_keys(&before) || wrapped_keys(&after).is_empty() {
            c.problem(format!(
                "{tool}: the wrapped data key changed (or is missing) after edit"
            ));
        }
        let replaced = replaced_tokens(&before, &after);
        if replaced != new_ciphertexts {
            c.problem(format!(
                "{tool}: {replaced} ENC values got new ciphertexts; expected {new_ciphertexts} (the MAC, and an edited value)"
            ));
        }
        if tool == Tool::Leafcrypt {
            temp_file_hygiene(&mut c, "leafcrypt edit", &log, &file, &tmp, 1);
        }
        results.push((tool, file));
    }
    if results.len() == 2 {
        let sops_plain = sops_plaintext(&c.dir, &results[0].1, &key_file(1));
        let leaf_plain =
            leafcrypt_tests::workflow::decrypt(&c.dir, Tool::Sops, &results[1].1, &key_file(1));
        if c.same_bytes(
            "sops decrypting leafcrypt's edit vs sops decrypting its own edit",
            &sops_plain,
            &leaf_plain,
        ) && !contains(&leaf_plain.stdout, must_contain)
        {
            c.problem(format!(
                "the edit is not in the result: {:?} missing from\n{}",
                String::from_utf8_lossy(must_contain),
                leaf_plain.stdout_text()
            ));
        }
    }
    c.finish(&format!("edit {format}"), sample(format))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn changing_a_value_keeps_the_data_key() {
    let failures: Vec<Failure> = Format::ALL
        .into_iter()
        .filter_map(|f| edit_like_sops(f, r#"sed -i 's/hello/world/' "$f""#, b"world", 2))
        .collect();
    assert_no_failures(&failures);
}

#[test]
fn adding_a_key_keeps_the_data_key() {
    let failures: Vec<Failure> = Format::ALL
        .into_iter()
        .filter_map(|f| {
            // Binary has one value: "adding" changes it.
            let replaced = if f == Format::Binary { 2 } else { 1 };
            edit_like_sops(f, add_key(f), b"new value", replaced)
        })
        .collect();
    assert_no_failures(&failures);
}

/// An editor that writes invalid YAML on its first run and `fixed` on later runs, counting
/// its runs in `counter`.
fn invalid_then_fixed_editor(c: &Checker, name: &str, counter: &Path, log: &Path) -> PathBuf {
    let counter = counter.display();
    script(
        &c.dir,
        name,
        &format!(
            "f=\"$1\"\n{}\nn=$(cat '{counter}' 2>/dev/null || echo 0)\nn=$((n + 1))\necho $n > '{counter}'\nif [ $n = 1 ]; then printf 'a: 1\\nb: [1, 2\\n' > \"$f\"; else printf 'a: 2\\nc: fixed\\n' > \"$f\"; fi",
            record_temp_file(log)
        ),
    )
}

fn runs(counter: &Path) -> String {
    std::fs::read_to_string(counter)
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn invalid_content_then_enter_reopens_the_editor() {
    let mut c = Checker::new();
    let before = sops_encrypt(&c.dir, "source.yaml", sample(Format::Yaml), recipient(1));
    let before = String::from_utf8_lossy(&before).into_owned();
    for tool in Tool::BOTH {
        let file = format!("{tool}.yaml");
        c.dir.write(&file, before.as_bytes());
        let counter = c.dir.join(&format!("{tool}.count"));
        let log = c.dir.join(&format!("{tool}.editor-log"));
        let editor = invalid_then_fixed_editor(&c, &format!("{tool}-editor.sh"), &counter, &log);
        let tmp = private_tmp(&c.dir).join(tool.to_string());
        std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("cannot create tmp: {e}"));
        let out = edit(&c, tool, &file, &editor.display().to_string(), &tmp, b"\n");
        if !out.ok() {
            c.problem(format!(
                "{tool}: invalid then fixed: expected success\n{out:?}"
            ));
            continue;
        }
        if runs(&counter) != "2" {
            c.problem(format!(
                "{tool}: the editor ran {} time(s), expected 2 (Enter re-opens it)",
                runs(&counter)
            ));
        }
        let plain = leafcrypt_tests::workflow::decrypt(&c.dir, Tool::Sops, &file, &key_file(1));
        c.same_bytes(
            &format!("sops decrypting {tool}'s fixed file"),
            b"a: 2\nc: fixed\n",
            &plain,
        );
        let after = read_text(&c.dir, &file);
        if wrapped_keys(&after) != wrapped_keys(&before) {
            c.problem(format!("{tool}: the wrapped data key changed"));
        }
        if tool == Tool::Leafcrypt {
            if !out.stderr_text().contains("line ") {
                c.problem(format!(
                    "leafcrypt: the message does not name the invalid line\n{out:?}"
                ));
            }
            temp_file_hygiene(
                &mut c,
                "leafcrypt edit (invalid, fixed)",
                &log,
                &file,
                &tmp,
                2,
            );
        }
    }
    assert_no_failures(
        &c.finish("invalid then fixed", sample(Format::Yaml))
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// EOF or `a` after invalid content aborts: exit 2, file untouched, no temp file left.
/// leafcrypt only: sops ignores EOF and re-opens the editor for ever.
#[test]
fn invalid_content_then_eof_or_a_aborts() {
    let mut c = Checker::new();
    let before = sops_encrypt(&c.dir, "source.yaml", sample(Format::Yaml), recipient(1));
    for (label, answer) in [("eof", &b""[..]), ("a", &b"a\n"[..])] {
        let file = format!("abort-{label}.yaml");
        c.dir.write(&file, &before);
        let counter = c.dir.join(&format!("{label}.count"));
        let log = c.dir.join(&format!("{label}.editor-log"));
        let editor = invalid_then_fixed_editor(&c, &format!("{label}-editor.sh"), &counter, &log);
        let tmp = private_tmp(&c.dir).join(label);
        std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("cannot create tmp: {e}"));
        let out = edit(
            &c,
            Tool::Leafcrypt,
            &file,
            &editor.display().to_string(),
            &tmp,
            answer,
        );
        if out.code != 2 {
            c.problem(format!("abort with {label}: expected exit 2\n{out:?}"));
        }
        if c.dir.read(&file) != before {
            c.problem(format!("abort with {label}: the file changed\n{out:?}"));
        }
        if runs(&counter) != "1" {
            c.problem(format!(
                "abort with {label}: the editor ran {} time(s), expected 1",
                runs(&counter)
            ));
        }
        if !out.stderr_text().contains("line ") {
            c.problem(format!(
                "abort with {label}: the message does not name the invalid line\n{out:?}"
            ));
        }
        temp_file_hygiene(&mut c, &format!("abort with {label}"), &log, &file, &tmp, 1);
    }
    assert_no_failures(
        &c.finish("invalid then abort", sample(Format::Yaml))
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

#[test]
fn unchanged_exits_200_and_leaves_the_file_alone() {
    let mut c = Checker::new();
    let before = sops_encrypt(&c.dir, "source.yaml", sample(Format::Yaml), recipient(1));
    // A no-op, and an editor that rewrites the same bytes through a new file (as vim does).
    let editors = [
        ("noop", ":"),
        ("rewrite", "cp \"$1\" \"$1.new\"\nmv \"$1.new\" \"$1\""),
    ];
    for (label, body) in editors {
        for tool in Tool::BOTH {
            let file = format!("{tool}-{label}.yaml");
            c.dir.write(&file, &before);
            let editor = script(&c.dir, &format!("{tool}-{label}.sh"), body);
            let tmp = private_tmp(&c.dir).join(format!("{tool}-{label}"));
            std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("cannot create tmp: {e}"));
            let out = edit(&c, tool, &file, &editor.display().to_string(), &tmp, b"");
            if out.code != 200 {
                c.problem(format!("{tool} {label}: expected exit 200\n{out:?}"));
            }
            if c.dir.read(&file) != before {
                c.problem(format!("{tool} {label}: the file changed"));
            }
            if tool == Tool::Leafcrypt && !leftovers(&tmp).is_empty() {
                c.problem(format!(
                    "leafcrypt {label}: $TMPDIR not empty: {:?}",
                    leftovers(&tmp)
                ));
            }
        }
    }
    assert_no_failures(
        &c.finish("unchanged", sample(Format::Yaml))
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// A new file: the editor sees sops's template (byte for byte), renames `example_key`, and
/// the result is encrypted to `--age R1`; sops decrypts it to what it decrypts its own to.
#[test]
fn new_file_starts_from_sops_template() {
    let mut c = Checker::new();
    for format in [Format::Yaml, Format::Json, Format::Dotenv, Format::Ini] {
        let ext = format.ext();
        let mut seen = Vec::new();
        for tool in Tool::BOTH {
            let file = format!("new-{tool}.{ext}");
            let template = c.dir.join(&format!("template-{tool}.{ext}"));
            let editor = script(
                &c.dir,
                &format!("{tool}-{ext}.sh"),
                &format!(
                    "cp \"$1\" '{}'\nsed -i 's/example_key/my_key/' \"$1\"",
                    template.display()
                ),
            );
            let tmp = private_tmp(&c.dir).join(format!("{tool}-{ext}"));
            std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("cannot create tmp: {e}"));
            let out = c
                .dir
                .cmd(tool)
                .args(["edit", "--age", recipient(1), &file])
                .identity(key_file(1))
                .env("SOPS_EDITOR", &editor)
                .env("TMPDIR", &tmp)
                .timeout(LIMIT)
                .run();
            if !out.ok() {
                c.problem(format!("{tool}: creating {file} failed\n{out:?}"));
                continue;
            }
            seen.push(std::fs::read(&template).unwrap_or_default());
            if tool == Tool::Leafcrypt {
                let text = read_text(&c.dir, &file);
                if age_recipients(&text) != [recipient(1)] {
                    c.problem(format!(
                        "leafcrypt: {file} is not encrypted to R1 alone: {:?}",
                        age_recipients(&text)
                    ));
                }
                if !leftovers(&tmp).is_empty() {
                    c.problem(format!(
                        "leafcrypt {ext}: $TMPDIR not empty: {:?}",
                        leftovers(&tmp)
                    ));
                }
                let sops_own = sops_plaintext(&c.dir, &format!("new-sops.{ext}"), &key_file(1));
                let ours =
                    leafcrypt_tests::workflow::decrypt(&c.dir, Tool::Sops, &file, &key_file(1));
                if c.same_bytes(
                    &format!("sops decrypting leafcrypt's new {ext}"),
                    &sops_own,
                    &ours,
                ) && !contains(&ours.stdout, b"my_key")
                {
                    c.problem(format!("{ext}: the edit is missing from the new file"));
                }
            }
        }
        if seen.len() == 2 && seen[0] != seen[1] {
            c.problem(format!(
                "{ext}: the editor saw a different template\n--- sops\n{}\n--- leafcrypt\n{}",
                String::from_utf8_lossy(&seen[0]),
                String::from_utf8_lossy(&seen[1])
            ));
        }
    }
    assert_no_failures(
        &c.finish("new files", b"(templates)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// A new file with no `--age`: the `.sops.yaml` rule's recipient (R2) is used.
#[test]
fn new_file_uses_the_config_rule() {
    let mut c = Checker::new();
    c.dir.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: .*\\.yaml$\n    age: {}\n",
            recipient(2)
        ),
    );
    let editor = script(&c.dir, "editor.sh", "printf 'k: v\\n' > \"$1\"");
    let tmp = private_tmp(&c.dir);
    let out = c
        .dir
        .cmd(Tool::Leafcrypt)
        .args(["edit", "fresh.yaml"])
        .identity(key_file(2))
        .env("SOPS_EDITOR", &editor)
        .env("TMPDIR", &tmp)
        .timeout(LIMIT)
        .run();
    if out.ok() {
        let text = read_text(&c.dir, "fresh.yaml");
        if age_recipients(&text) != [recipient(2)] {
            c.problem(format!(
                "fresh.yaml is not encrypted to the rule's R2: {:?}",
                age_recipients(&text)
            ));
        }
        let plain =
            leafcrypt_tests::workflow::decrypt(&c.dir, Tool::Sops, "fresh.yaml", &key_file(2));
        c.same_bytes("sops decrypting the new file with R2", b"k: v\n", &plain);
    } else {
        c.problem(format!(
            "creating fresh.yaml from the config failed\n{out:?}"
        ));
    }
    assert_no_failures(
        &c.finish("new file from .sops.yaml", b"k: v\n")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// A label, the editor variables, and what the saved plaintext must contain.
type EnvCase<'a> = (&'a str, Vec<(&'a str, String)>, &'a [u8]);

/// `$SOPS_EDITOR` may carry arguments (the file comes last); `$EDITOR` is the fallback;
/// `$SOPS_EDITOR` wins over `$EDITOR`. Both tools, same results.
#[test]
fn editor_from_the_environment() {
    let mut c = Checker::new();
    let before = sops_encrypt(&c.dir, "source.yaml", sample(Format::Yaml), recipient(1));
    // `$1` is the replacement, `$2` the file.
    let with_arg = script(&c.dir, "with-arg.sh", "sed -i \"s/hello/$1/\" \"$2\"");
    let plain = script(&c.dir, "plain.sh", "sed -i 's/hello/from-editor/' \"$1\"");
    let never = script(
        &c.dir,
        "never.sh",
        "echo 'EDITOR ran although SOPS_EDITOR is set' >&2\nexit 1",
    );
    let cases: [EnvCase; 3] = [
        (
            "SOPS_EDITOR with an argument",
            vec![(
                "SOPS_EDITOR",
                format!("{} from-argument", with_arg.display()),
            )],
            b"from-argument",
        ),
        (
            "EDITOR alone",
            vec![("EDITOR", plain.display().to_string())],
            b"from-editor",
        ),
        (
            "SOPS_EDITOR over EDITOR",
            vec![
                ("SOPS_EDITOR", plain.display().to_string()),
                ("EDITOR", never.display().to_string()),
            ],
            b"from-editor",
        ),
    ];
    for (i, (label, env, expected)) in cases.iter().enumerate() {
        let mut plains = Vec::new();
        for tool in Tool::BOTH {
            let file = format!("{tool}-{i}.yaml");
            c.dir.write(&file, &before);
            let mut cmd = c
                .dir
                .cmd(tool)
                .args(["edit", &file])
                .identity(key_file(1))
                .env("TMPDIR", private_tmp(&c.dir))
                .timeout(LIMIT);
            for (k, v) in env {
                cmd = cmd.env(k, v);
            }
            let out = cmd.run();
            if !out.ok() {
                c.problem(format!("{tool} {label}: edit failed\n{out:?}"));
                continue;
            }
            plains.push(sops_plaintext(&c.dir, &file, &key_file(1)));
        }
        if plains.len() == 2 {
            if plains[0] != plains[1] {
                c.problem(format!(
                    "{label}: sops and leafcrypt saved different plaintexts"
                ));
            }
            if !contains(&plains[1], expected) {
                c.problem(format!(
                    "{label}: {:?} missing from\n{}",
                    String::from_utf8_lossy(expected),
                    String::from_utf8_lossy(&plains[1])
                ));
            }
        }
    }
    assert_no_failures(
        &c.finish("editor variables", sample(Format::Yaml))
            .into_iter()
            .collect::<Vec<_>>(),
    );
}
