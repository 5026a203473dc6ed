//! `set`, `unset` and `decrypt --extract` against the real sops 3.11.0, in every store.
//!
//! Each tool applies the same sequence of `set`/`unset` operations to its own copy of a sops
//! vector; after every step `sops decrypt` of both copies must print the same bytes. At the
//! end leafcrypt's copy still has the original wrapped data key, leafcrypt decrypts it like
//! sops, and `leafcrypt decrypt --extract` prints what `sops decrypt --extract` prints.
//! Also: `--value-file` and `--value-stdin`; `--idempotent` leaving the file byte-identical;
//! and two sops behaviours around list indices (appending past the end; comments counted as
//! list items).

use leafcrypt_tests::cases::{assert_no_failures, Checker};
use leafcrypt_tests::harness::{key_file, Output, Tool};
use leafcrypt_tests::workflow::{copy_vector, decrypt, read_text, wrapped_keys, LIMIT};

/// One operation: `set PATH VALUE` or `unset PATH`.
#[derive(Clone, Copy)]
enum Op {
    Set(&'static str, &'static str),
    Unset(&'static str),
}

impl Op {
    fn args(self, file: &str) -> Vec<String> {
        match self {
            Op::Set(path, value) => vec!["set".into(), file.into(), path.into(), value.into()],
            Op::Unset(path) => vec!["unset".into(), file.into(), path.into()],
        }
    }
}

fn run(c: &Checker, tool: Tool, args: &[String]) -> Output {
    c.dir
        .cmd(tool)
        .args(args)
        .identity(key_file(1))
        .timeout(LIMIT)
        .run()
}

/// Applies `ops` with both tools to copies of the vector `rel`, comparing after each step,
/// then checks the data key and `--extract` of `extracts` on leafcrypt's result.
fn like_sops(rel: &str, ops: &[Op], extracts: &[&str]) {
    let mut c = Checker::new();
    let ext = rel.rsplit('.').next().unwrap_or("yaml");
    let (sops_file, leaf_file) = (format!("by-sops.{ext}"), format!("by-leafcrypt.{ext}"));
    copy_vector(&c.dir, rel, &sops_file);
    copy_vector(&c.dir, rel, &leaf_file);
    let before = read_text(&c.dir, &leaf_file);
    for (i, op) in ops.iter().enumerate() {
        let sops = run(&c, Tool::Sops, &op.args(&sops_file));
        let leaf = run(&c, Tool::Leafcrypt, &op.args(&leaf_file));
        let step = format!("step {i}: {}", op.args("FILE").join(" "));
        if !sops.ok() {
            c.problem(format!("{step}: sops failed (bad test input)\n{sops:?}"));
            break;
        }
        if !leaf.ok() {
            c.problem(format!(
                "{step}: leafcrypt failed where sops succeeded\n{leaf:?}"
            ));
            break;
        }
        let expected = decrypt(&c.dir, Tool::Sops, &sops_file, &key_file(1))
            .expect_ok("sops decrypting its own result")
            .stdout;
        let ours = decrypt(&c.dir, Tool::Sops, &leaf_file, &key_file(1));
        if !c.same_bytes(
            &format!("{step}: sops decrypting leafcrypt's result"),
            &expected,
            &ours,
        ) {
            break;
        }
    }
    if c.is_clean() {
        let after = read_text(&c.dir, &leaf_file);
        if wrapped_keys(&after) != wrapped_keys(&before) {
            c.problem("the wrapped data key changed (set/unset must keep it)".into());
        }
        let sops_dec = decrypt(&c.dir, Tool::Sops, &leaf_file, &key_file(1));
        let leaf_dec = decrypt(&c.dir, Tool::Leafcrypt, &leaf_file, &key_file(1));
        c.same_bytes(
            "leafcrypt decrypting its result vs sops",
            &sops_dec.stdout,
            &leaf_dec,
        );
        for path in extracts {
            let args = ["decrypt", "--extract", path, &leaf_file];
            let sops = c.dir.cmd(Tool::Sops).args(args).identity(key_file(1)).run();
            let leaf = c
                .dir
                .cmd(Tool::Leafcrypt)
                .args(args)
                .identity(key_file(1))
                .run();
            if sops.ok() {
                c.same_bytes(&format!("--extract {path}"), &sops.stdout, &leaf);
            } else {
                c.problem(format!(
                    "--extract {path}: sops failed (bad test input)\n{sops:?}"
                ));
            }
        }
    }
    let failure = c.finish(&format!("set/unset on {rel}"), b"(the vector)");
    assert_no_failures(&failure.into_iter().collect::<Vec<_>>());
}

#[test]
fn yaml_like_sops() {
    like_sops(
        "yaml/encrypted.yaml",
        &[
            Op::Set(r#"["str"]"#, r#""changed""#),
            Op::Set(r#"["int"]"#, "43"),
            Op::Set(r#"["added"]"#, r#"{"o": [1, 2.5, true, null], "s": "x"}"#),
            Op::Set(r#"["nested"]["new"]["deep"]"#, r#""x""#),
            Op::Set(r#"["newlist"][0]"#, r#""first""#),
            Op::Set(r#"["nested"]["list"][0]"#, "42"),
            Op::Set(r#"["multi"]"#, r#""l1\nl2\n""#),
            Op::Set(r#"["key_unencrypted"]"#, r#""still visible""#),
            Op::Unset(r#"["b_true"]"#),
            Op::Unset(r#"["nested"]["deep_unencrypted"]["kept"]"#),
            Op::Unset(r#"["newlist"][0]"#),
        ],
        &[
            r#"["str"]"#,
            r#"["int"]"#,
            r#"["added"]"#,
            r#"["nested"]["new"]"#,
            r#"["multi"]"#,
            r#"["key_unencrypted"]"#,
        ],
    );
}

#[test]
fn json_like_sops() {
    like_sops(
        "json/encrypted.json",
        &[
            Op::Set(r#"["list"][1]"#, r#""zwei""#),
            Op::Set(r#"["nested"]["a"]["b"]"#, "false"),
            Op::Set(r#"["new"]"#, "1.5"),
            Op::Set(r#"["uni"]"#, r#""\u00fc\u2028<&>""#),
            Op::Unset(r#"["list"][0]"#),
            Op::Unset(r#"["t"]"#),
        ],
        &[r#"["list"]"#, r#"["nested"]"#, r#"["new"]"#, r#"["uni"]"#],
    );
}

#[test]
fn dotenv_like_sops() {
    like_sops(
        "dotenv/encrypted.env",
        &[
            Op::Set(r#"["DB_PASS"]"#, r#""changed""#),
            Op::Set(r#"["NEW_KEY"]"#, r#""v w""#),
            Op::Set(r#"["PORT"]"#, "5432"),
            Op::Unset(r#"["DB_USER"]"#),
        ],
        // sops extracts only strings from dotenv.
        &[r#"["DB_PASS"]"#, r#"["NEW_KEY"]"#],
    );
}

#[test]
fn ini_like_sops() {
    like_sops(
        "ini/encrypted.ini",
        &[
            Op::Set(r#"["database"]["password"]"#, r#""new""#),
            Op::Set(r#"["database"]["port"]"#, "99"),
            Op::Set(r#"["newsection"]["k"]"#, r#""v""#),
            Op::Unset(r#"["database"]["user"]"#),
            Op::Unset(r#"["server"]"#),
        ],
        // sops extracts no whole section from INI.
        &[r#"["database"]["password"]"#, r#"["newsection"]["k"]"#],
    );
}

#[test]
fn binary_like_sops() {
    like_sops(
        "binary/encrypted.bin",
        &[Op::Set(r#"["data"]"#, r#""new bytes\u0000\n""#)],
        &[r#"["data"]"#],
    );
}

/// `--value-file` and `--value-stdin` give the same result as the value argument, in both.
#[test]
fn value_file_and_value_stdin_like_sops() {
    let mut c = Checker::new();
    c.dir
        .write("value.json", r#"{"from": "file", "n": [1, 2]}"#);
    let mut plains = Vec::new();
    for tool in Tool::BOTH {
        let file = format!("{tool}.yaml");
        copy_vector(&c.dir, "yaml/encrypted.yaml", &file);
        let steps = [
            run(
                &c,
                tool,
                &[
                    "set".into(),
                    "--value-file".into(),
                    file.clone(),
                    r#"["vf"]"#.into(),
                    "value.json".into(),
                ],
            ),
            c.dir
                .cmd(tool)
                .args(["set", "--value-stdin", &file, r#"["vs"]"#])
                .identity(key_file(1))
                .stdin(&br#""from stdin""#[..])
                .timeout(LIMIT)
                .run(),
        ];
        for out in steps {
            if !out.ok() {
                c.problem(format!("{tool} failed\n{out:?}"));
            }
        }
        plains.push(decrypt(&c.dir, Tool::Sops, &file, &key_file(1)));
    }
    if c.is_clean() {
        let expected = plains[0].stdout.clone();
        c.same_bytes(
            "sops decrypting leafcrypt's result vs sops's",
            &expected,
            &plains[1],
        );
        if !plains[1].stdout_text().contains("from stdin")
            || !plains[1].stdout_text().contains("from: file")
        {
            c.problem(format!("values missing from\n{}", plains[1].stdout_text()));
        }
    }
    assert_no_failures(
        &c.finish("value sources", b"(yaml vector)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// `--idempotent`: setting the value already there, or unsetting a missing key, leaves the
/// file byte-identical and exits 0 (both tools); a different value still gets written.
#[test]
fn idempotent_leaves_the_file_byte_identical() {
    let mut c = Checker::new();
    let no_ops: [&[&str]; 4] = [
        &["set", "--idempotent", "F", r#"["str"]"#, r#""hello""#],
        &[
            "set",
            "--idempotent",
            "F",
            r#"["nested"]["list"][0]"#,
            r#""x""#,
        ],
        &["unset", "--idempotent", "F", r#"["no_such_key"]"#],
        &[
            "unset",
            "--idempotent",
            "F",
            r#"["nested"]["no"]["deeper"]"#,
        ],
    ];
    for (i, args) in no_ops.iter().enumerate() {
        for tool in Tool::BOTH {
            let file = format!("{tool}-{i}.yaml");
            copy_vector(&c.dir, "yaml/encrypted.yaml", &file);
            let before = c.dir.read(&file);
            let args: Vec<String> = args
                .iter()
                .map(|a| {
                    if *a == "F" {
                        file.clone()
                    } else {
                        a.to_string()
                    }
                })
                .collect();
            let out = run(&c, tool, &args);
            if !out.ok() {
                c.problem(format!("{tool}: expected success\n{out:?}"));
            }
            if c.dir.read(&file) != before {
                c.problem(format!("{tool} {}: the file changed", args.join(" ")));
            }
        }
    }
    // Not vacuous: a different value is written.
    copy_vector(&c.dir, "yaml/encrypted.yaml", "changes.yaml");
    let before = c.dir.read("changes.yaml");
    let out = run(
        &c,
        Tool::Leafcrypt,
        &[
            "set".into(),
            "--idempotent".into(),
            "changes.yaml".into(),
            r#"["str"]"#.into(),
            r#""other""#.into(),
        ],
    );
    if !out.ok() || c.dir.read("changes.yaml") == before {
        c.problem(format!(
            "set --idempotent with a new value did not write it\n{out:?}"
        ));
    }
    assert_no_failures(
        &c.finish("idempotent", b"(yaml vector)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// Runs one op with both tools on copies of `rel` and compares the results as sops decrypts
/// them (or the failures' exit codes).
fn one_op_like_sops(c: &mut Checker, rel: &str, op: Op, label: &str) {
    let ext = rel.rsplit('.').next().unwrap_or("yaml");
    let mut outs = Vec::new();
    for tool in Tool::BOTH {
        let file = format!("{label}-{tool}.{ext}");
        copy_vector(&c.dir, rel, &file);
        let out = run(c, tool, &op.args(&file));
        let plain = decrypt(&c.dir, Tool::Sops, &file, &key_file(1));
        outs.push((out, plain));
    }
    let (sops, leaf) = (&outs[0], &outs[1]);
    if sops.0.ok() != leaf.0.ok() || sops.0.code != leaf.0.code {
        c.problem(format!(
            "{label}: sops exit {}, leafcrypt exit {}\n{:?}",
            sops.0.code, leaf.0.code, leaf.0
        ));
    } else {
        let expected = sops.1.stdout.clone();
        c.same_bytes(
            &format!("{label}: sops decrypting leafcrypt's result"),
            &expected,
            &leaf.1,
        );
    }
}

/// sops appends when `set` names an index past the end of a list.
#[test]
fn set_past_the_end_of_a_list_appends_like_sops() {
    let mut c = Checker::new();
    one_op_like_sops(
        &mut c,
        "json/encrypted.json",
        Op::Set(r#"["list"][9]"#, r#""appended""#),
        "append",
    );
    assert_no_failures(
        &c.finish("set past the end", b"(json vector)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}

/// In sops's tree a YAML comment inside a list is a list item, so indices after it count it.
#[test]
fn list_indices_count_comments_like_sops() {
    let mut c = Checker::new();
    // nested.list is [x, # comment, 2, 3.25, {k: v}].
    one_op_like_sops(
        &mut c,
        "yaml/encrypted.yaml",
        Op::Set(r#"["nested"]["list"][3]"#, r#""third""#),
        "set-after-comment",
    );
    one_op_like_sops(
        &mut c,
        "yaml/encrypted.yaml",
        Op::Unset(r#"["nested"]["list"][2]"#),
        "unset-after-comment",
    );
    assert_no_failures(
        &c.finish("list indices with comments", b"(yaml vector)")
            .into_iter()
            .collect::<Vec<_>>(),
    );
}
