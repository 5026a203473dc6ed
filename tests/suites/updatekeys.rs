//! `updatekeys` against the real sops 3.11.0: the file's key groups follow its `.sops.yaml`
//! rule, the data key stays.
//!
//! Each tool updates its own copy of the same sops-encrypted file. Proves:
//! - adding a recipient (R1 → R1,R2) and then removing one (→ R2), in YAML, JSON, dotenv and
//!   INI: the new recipient decrypts (sops and leafcrypt), the removed one fails as it does
//!   on sops's copy, the recipients equal sops's, and every `ENC[…]` (values and `mac`) and
//!   `lastmodified` are byte-identical to before (the data key is not rotated);
//! - Shamir key groups changed from one 2-of-3 set to another: same layout as sops's, two
//!   of the new groups decrypt, values unchanged; a single key to 2-of-3 groups: the
//!   threshold sops writes;
//! - without `-y`: answering `n` (or nothing) leaves the file byte-identical, `y` applies;
//! - `--config` instead of a discovered `.sops.yaml`; an up-to-date file stays untouched.

use leafcrypt_tests::cases::{assert_no_failures, Checker, Format};
use leafcrypt_tests::harness::{key_file, recipient, Output, Tool};
use leafcrypt_tests::mask::lastmodified;
use leafcrypt_tests::textdiff::diff;
use leafcrypt_tests::workflow::{
    age_recipients, copy_vector, decrypt, enc_tokens, read_text, shamir_threshold, sops_encrypt,
    sops_plaintext, LIMIT,
};
use std::path::Path;

fn sample(format: Format) -> &'static [u8] {
    match format {
        Format::Yaml => b"a: 1\nb: secret\nlist:\n    - x\n",
        Format::Json => b"{\"a\": 1, \"b\": \"secret\", \"list\": [\"x\"]}\n",
        Format::Dotenv => b"A=1\nB=secret\n",
        Format::Ini => b"[s]\na = 1\nb = secret\n",
        Format::Binary => b"secret bytes",
    }
}

/// A `.sops.yaml` with one rule for every file, encrypting to `recipients` (comma-separated).
fn rule(recipients: &str) -> String {
    format!("creation_rules:\n  - path_regex: .*\n    age: {recipients}\n")
}

fn updatekeys(c: &Checker, tool: Tool, extra: &[&str], file: &str, stdin: &[u8]) -> Output {
    c.dir
        .cmd(tool)
        .args(extra)
        .arg(file)
        .identity(key_file(1))
        .stdin(stdin)
        .timeout(LIMIT)
        .run()
}

/// The values, MAC and `lastmodified` of `before` survive in `after` byte for byte.
fn data_key_kept(c: &mut Checker, what: &str, before: &str, after: &str) {
    if enc_tokens(before) != enc_tokens(after) {
        c.problem(format!(
            "{what}: ENC values or mac changed (the data key must stay)"
        ));
    }
    if lastmodified(before) != lastmodified(after) {
        c.problem(format!(
            "{what}: lastmodified changed: {:?} -> {:?}",
            lastmodified(before),
            lastmodified(after)
        ));
    }
}

/// Writes the rule, runs `updatekeys -y` with both tools on their copies, and checks what
/// every recipient change must satisfy. Returns false when a tool failed.
fn update_both(c: &mut Checker, format: Format, recipients: &str, step: &str) -> bool {
    c.dir.write(".sops.yaml", rule(recipients));
    let ext = format.ext();
    let mut texts = Vec::new();
    for tool in Tool::BOTH {
        let file = format!("by-{tool}.{ext}");
        let before = read_text(&c.dir, &file);
        let out = updatekeys(c, tool, &["updatekeys", "-y"], &file, b"");
        if !out.ok() {
            c.problem(format!("{step}: {tool} updatekeys failed\n{out:?}"));
            return false;
        }
        let after = read_text(&c.dir, &file);
        data_key_kept(c, &format!("{step}: {tool}"), &before, &after);
        texts.push(after);
    }
    let mut wanted: Vec<String> = recipients.split(',').map(str::to_string).collect();
    wanted.sort();
    for (tool, text) in Tool::BOTH.iter().zip(&texts) {
        if age_recipients(text) != wanted {
            c.problem(format!(
                "{step}: {tool}'s file names {:?}, expected {wanted:?}",
                age_recipients(text)
            ));
        }
    }
    true
}

/// `key` decrypts leafcrypt's copy to `plain` in both tools.
fn decrypts_with(c: &mut Checker, format: Format, key: usize, plain: &[u8], step: &str) {
    let file = format!("by-leafcrypt.{}", format.ext());
    for tool in Tool::BOTH {
        let out = decrypt(&c.dir, tool, &file, &key_file(key));
        c.same_bytes(
            &format!("{step}: {tool} decrypting with R{key}"),
            plain,
            &out,
        );
    }
}

/// `key` fails on leafcrypt's copy in both tools, with the exit code it gets on sops's copy.
fn fails_with(c: &mut Checker, format: Format, key: usize, step: &str) {
    let ext = format.ext();
    let reference = decrypt(
        &c.dir,
        Tool::Sops,
        &format!("by-sops.{ext}"),
        &key_file(key),
    );
    if reference.ok() {
        c.problem(format!(
            "{step}: R{key} still decrypts sops's copy (bad test)"
        ));
        return;
    }
    for tool in Tool::BOTH {
        let out = decrypt(&c.dir, tool, &format!("by-leafcrypt.{ext}"), &key_file(key));
        if out.code != reference.code {
            c.problem(format!(
                "{step}: {tool} decrypting leafcrypt's copy with the removed R{key}: exit {}, sops's copy gives {}\n{out:?}",
                out.code, reference.code
            ));
        }
    }
}

fn add_then_remove(format: Format) {
    let mut c = Checker::new();
    let ext = format.ext();
    let encrypted = sops_encrypt(
        &c.dir,
        &format!("by-sops.{ext}"),
        sample(format),
        recipient(1),
    );
    c.dir.write(&format!("by-leafcrypt.{ext}"), &encrypted);
    let plain = sops_plaintext(&c.dir, &format!("by-sops.{ext}"), &key_file(1));
    let both = format!("{},{}", recipient(1), recipient(2));
    if update_both(&mut c, format, &both, "add R2") {
        decrypts_with(&mut c, format, 2, &plain, "add R2");
        decrypts_with(&mut c, format, 1, &plain, "add R2");
        if update_both(&mut c, format, recipient(2), "remove R1") {
            decrypts_with(&mut c, format, 2, &plain, "remove R1");
            fails_with(&mut c, format, 1, "remove R1");
        }
    }
    let failure = c.finish(&format!("updatekeys {ext}"), sample(format));
    assert_no_failures(&failure.into_iter().collect::<Vec<_>>());
}

#[test]
fn add_then_remove_a_recipient_yaml() {
    add_then_remove(Format::Yaml);
}

#[test]
fn add_then_remove_a_recipient_json() {
    add_then_remove(Format::Json);
}

#[test]
fn add_then_remove_a_recipient_dotenv() {
    add_then_remove(Format::Dotenv);
}

#[test]
fn add_then_remove_a_recipient_ini() {
    add_then_remove(Format::Ini);
}

/// Both tools update their copy of `source` (already in the directory as `by-<tool>.yaml`)
/// to the `.sops.yaml` already written; returns both texts when both succeeded.
fn shamir_update(c: &mut Checker) -> Option<[String; 2]> {
    let mut texts = Vec::new();
    for tool in Tool::BOTH {
        let file = format!("by-{tool}.yaml");
        let before = read_text(&c.dir, &file);
        let id = c.identities(&[1, 2, 3, 4]);
        let out = c
            .dir
            .cmd(tool)
            .args(["updatekeys", "-y", &file])
            .identity(&id)
            .timeout(LIMIT)
            .run();
        if !out.ok() {
            c.problem(format!("{tool} updatekeys failed\n{out:?}"));
            return None;
        }
        let after = read_text(&c.dir, &file);
        data_key_kept(c, &tool.to_string(), &before, &after);
        texts.push(after);
    }
    let [s, l]: [String; 2] = texts.try_into().ok()?;
    Some([s, l])
}

fn same_layout(c: &mut Checker, s: &str, l: &str) {
    let (ms, ml) = (Format::Yaml.mask(s), Format::Yaml.mask(l));
    if ms != ml {
        c.problem(format!(
            "the updated file's layout differs from sops's (- sops, + leafcrypt)\n{}",
            diff(&ms, &ml, 2)
        ));
    }
}

fn shamir_rule(threshold: u32, groups: [usize; 3]) -> String {
    let mut text = format!("creation_rules:\n  - shamir_threshold: {threshold}\n    key_groups:\n");
    for g in groups {
        text.push_str(&format!("      - age:\n          - {}\n", recipient(g)));
    }
    text
}

/// 2-of-3 groups R2|R3|R4 (vector) become R1|R3|R2: any two of the new groups decrypt, a
/// single one does not (as on sops's copy), the layout equals sops's.
#[test]
fn shamir_groups_change_like_sops() {
    let mut c = Checker::new();
    for tool in Tool::BOTH {
        copy_vector(
            &c.dir,
            "shamir/shamir-2of3.yaml",
            &format!("by-{tool}.yaml"),
        );
    }
    let plain = sops_plaintext(&c.dir, "by-sops.yaml", &c.identities(&[2, 3]));
    c.dir.write(".sops.yaml", shamir_rule(2, [1, 3, 2]));
    if let Some([s, l]) = shamir_update(&mut c) {
        same_layout(&mut c, &s, &l);
        for keys in [&[1, 3][..], &[1, 2], &[3, 2]] {
            let id = c.identities(keys);
            for tool in Tool::BOTH {
                let out = decrypt(&c.dir, tool, "by-leafcrypt.yaml", &id);
                c.same_bytes(&format!("{tool} decrypting with {keys:?}"), &plain, &out);
            }
        }
        let single = c.identities(&[1]);
        let reference = decrypt(&c.dir, Tool::Sops, "by-sops.yaml", &single);
        let ours = decrypt(&c.dir, Tool::Leafcrypt, "by-leafcrypt.yaml", &single);
        if reference.ok() || ours.code != reference.code {
            c.problem(format!(
                "one group alone: sops's copy exit {}, leafcrypt's {}\n{ours:?}",
                reference.code, ours.code
            ));
        }
        // R4's group is gone: R4 with R2 is one group only.
        let gone = c.identities(&[4, 2]);
        if decrypt(&c.dir, Tool::Leafcrypt, "by-leafcrypt.yaml", &gone).ok() {
            c.problem("R4 (removed) with R2 still decrypts".into());
        }
    }
    let failure = c.finish("shamir groups change", b"(shamir vector)");
    assert_no_failures(&failure.into_iter().collect::<Vec<_>>());
}

/// One recipient becomes 2-of-3 groups: sops keeps the file's threshold (none, so all three
/// groups are needed) instead of the rule's 2 (see getsops/sops#1610); leafcrypt must write
/// what sops writes.
#[test]
fn single_key_to_shamir_groups_like_sops() {
    let mut c = Checker::new();
    let encrypted = sops_encrypt(&c.dir, "by-sops.yaml", sample(Format::Yaml), recipient(1));
    c.dir.write("by-leafcrypt.yaml", &encrypted);
    c.dir.write(".sops.yaml", shamir_rule(2, [2, 3, 4]));
    if let Some([s, l]) = shamir_update(&mut c) {
        // Deliberate difference: sops ignores the rule's threshold here and keeps the file's
        // (none, so all 3 groups; upstream TODO getsops/sops#1610). leafcrypt brings the file
        // in line with the rule: 2 of 3. Both files decrypt with all three groups, and sops
        // itself accepts leafcrypt's 2-of-3 file with only two identities.
        if shamir_threshold(&s) != Some(3) || shamir_threshold(&l) != Some(2) {
            c.problem(format!(
                "shamir_threshold: expected sops 3 (its TODO) and leafcrypt 2 (the rule), got sops {:?}, leafcrypt {:?}",
                shamir_threshold(&s),
                shamir_threshold(&l)
            ));
        }
        // Apart from that one number, the layouts are the same.
        same_layout(
            &mut c,
            &s.replace("shamir_threshold: 3", "shamir_threshold: N"),
            &l.replace("shamir_threshold: 2", "shamir_threshold: N"),
        );
        let all = c.identities(&[2, 3, 4]);
        let plain = sops_plaintext(&c.dir, "by-sops.yaml", &all);
        let out = decrypt(&c.dir, Tool::Sops, "by-leafcrypt.yaml", &all);
        c.same_bytes(
            "sops decrypting leafcrypt's copy with all three groups",
            &plain,
            &out,
        );
        let two = c.identities(&[2, 4]);
        let out = decrypt(&c.dir, Tool::Sops, "by-leafcrypt.yaml", &two);
        c.same_bytes(
            "sops decrypting leafcrypt's 2-of-3 copy with two groups",
            &plain,
            &out,
        );
    }
    let failure = c.finish("single key to shamir", sample(Format::Yaml));
    assert_no_failures(&failure.into_iter().collect::<Vec<_>>());
}

/// Without `-y`: `n` and no answer leave the file byte-identical (exit codes as sops's);
/// `y` applies the change.
#[test]
fn confirmation_prompt_like_sops() {
    let mut c = Checker::new();
    let encrypted = sops_encrypt(&c.dir, "source.yaml", sample(Format::Yaml), recipient(1));
    c.dir.write(".sops.yaml", rule(recipient(2)));
    for (label, answer) in [
        ("n", &b"n\n"[..]),
        ("no answer", &b""[..]),
        ("y", &b"y\n"[..]),
    ] {
        let mut codes = Vec::new();
        for tool in Tool::BOTH {
            let file = format!("{tool}-{}.yaml", label.replace(' ', "-"));
            c.dir.write(&file, &encrypted);
            let out = updatekeys(&c, tool, &["updatekeys"], &file, answer);
            let changed = c.dir.read(&file) != encrypted;
            if changed != (label == "y") {
                c.problem(format!(
                    "{tool} answering {label}: the file {}\n{out:?}",
                    if changed { "changed" } else { "did not change" }
                ));
            }
            codes.push(out.code);
        }
        if codes[0] != codes[1] {
            c.problem(format!(
                "answering {label}: sops exits {}, leafcrypt {}",
                codes[0], codes[1]
            ));
        }
    }
    let failure = c.finish("confirmation", sample(Format::Yaml));
    assert_no_failures(&failure.into_iter().collect::<Vec<_>>());
}

/// `--config` names the rules (nothing discovered); an up-to-date file stays byte-identical.
#[test]
fn config_flag_and_up_to_date() {
    let mut c = Checker::new();
    let encrypted = sops_encrypt(&c.dir, "source.yaml", sample(Format::Yaml), recipient(1));
    let config = c.dir.write("rules.yaml", rule(recipient(3)));
    let same = c.dir.write("same.yaml", rule(recipient(1)));
    for tool in Tool::BOTH {
        let file = format!("{tool}.yaml");
        c.dir.write(&file, &encrypted);
        let out = with_config(&c, tool, &config, &file);
        if !out.ok() {
            c.problem(format!("{tool} --config failed\n{out:?}"));
            continue;
        }
        let text = read_text(&c.dir, &file);
        if age_recipients(&text) != [recipient(3)] {
            c.problem(format!(
                "{tool}: --config's R3 not applied: {:?}",
                age_recipients(&text)
            ));
        }
        let up_to_date = format!("{tool}-same.yaml");
        c.dir.write(&up_to_date, &encrypted);
        let out = with_config(&c, tool, &same, &up_to_date);
        if !out.ok() || c.dir.read(&up_to_date) != encrypted {
            c.problem(format!(
                "{tool}: an up-to-date file was not left alone\n{out:?}"
            ));
        }
    }
    let out = decrypt(&c.dir, Tool::Sops, "leafcrypt.yaml", &key_file(3));
    let plain = sops_plaintext(&c.dir, "source.yaml", &key_file(1));
    c.same_bytes("sops decrypting leafcrypt's copy with R3", &plain, &out);
    let failure = c.finish("--config", sample(Format::Yaml));
    assert_no_failures(&failure.into_iter().collect::<Vec<_>>());
}

fn with_config(c: &Checker, tool: Tool, config: &Path, file: &str) -> Output {
    c.dir
        .cmd(tool)
        .arg("--config")
        .arg(config)
        .args(["updatekeys", "-y", file])
        .identity(key_file(1))
        .timeout(LIMIT)
        .run()
}
