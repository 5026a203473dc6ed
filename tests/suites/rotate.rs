//! Rotation against the real sops 3.11.0, in all five formats (generated inputs).
//!
//! Proves, for each format:
//! - leafcrypt rotates sops's file (`rotate`, legacy `-r`, and `rotate -i`) → sops and
//!   leafcrypt decrypt it to the original plaintext; the result has sops's layout (masked
//!   comparison with sops rotating the same file), keeps exactly the value IVs sops keeps, and
//!   keeps the MAC's IV exactly when `lastmodified` is unchanged (sops's IV stash is keyed by
//!   plaintext and AAD); the bytes change (a new data key);
//! - sops rotates leafcrypt's file → leafcrypt decrypts it;
//! - `--add-age R2` both ways: the other tool decrypts with R2's identity alone, layout equal;
//! - `--rm-age R1` both ways on an R1,R2 file: R1's identity now fails in both tools alike,
//!   R2's decrypts, layout equal.

use leafcrypt_tests::cases::{
    assert_no_failures, base_seed, Case, Checker, Encrypted, Failure, Format, Selector,
};
use leafcrypt_tests::harness::{indent, key_file, recipient, Output, Tool};
use leafcrypt_tests::mask::{kept_ivs, lastmodified, mac_iv};
use leafcrypt_tests::textdiff::diff;

/// Sets up a case: both tools encrypt the same generated input to `recipients`.
fn setup(format: Format, cell: &str, recipients: &str) -> (Case, Checker, Option<Encrypted>) {
    let case = Case {
        name: cell.to_string(),
        format,
        input: format.generate(base_seed(cell), Selector::Default.gen_options()),
        encrypt: vec!["encrypt".into(), "--age".into(), recipients.into()],
        config: None,
        identity: key_file(1),
    };
    let mut c = Checker::new();
    let enc = case.check_in(&mut c);
    (case, c, enc)
}

/// Runs `args` + `file` with `tool` in the case directory, decrypting with R1's identity.
fn run(c: &Checker, tool: Tool, args: &[&str], file: &str) -> Output {
    c.dir
        .cmd(tool)
        .args(args)
        .arg(file)
        .identity(key_file(1))
        .run()
}

/// Records a problem unless the two rotated files (from the same source) share sops's
/// masked layout and kept the same IVs.
fn same_rotation(
    c: &mut Checker,
    format: Format,
    what: &str,
    source: &[u8],
    sops: &Output,
    leaf: &Output,
) {
    if !sops.ok() || !leaf.ok() {
        c.problem(format!("{what}: rotation failed\n{sops:?}\n{leaf:?}"));
        return;
    }
    let slug: String = what
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    c.dir
        .write(&format!("{slug}.by-sops.{}", format.ext()), &sops.stdout);
    c.dir.write(
        &format!("{slug}.by-leafcrypt.{}", format.ext()),
        &leaf.stdout,
    );
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (src, s, l) = (text(source), text(&sops.stdout), text(&leaf.stdout));
    c.armor_ok(what, &l);
    let (ms, ml) = (format.mask(&s), format.mask(&l));
    if ms != ml {
        c.problem(format!(
            "{what}: layout differs from sops's after masking (- sops, + leafcrypt)\n{}",
            indent(&diff(&ms, &ml, 2))
        ));
    }
    let (ks, kl) = (kept_ivs(&src, &s), kept_ivs(&src, &l));
    if ks != kl {
        c.problem(format!(
            "{what}: IVs kept from the source differ (per ENC value, in order)\n  sops      {ks:?}\n  leafcrypt {kl:?}"
        ));
    }
    // The stash is keyed by (plaintext, AAD): the MAC keeps its IV exactly when the
    // rotation happens in the same second as the source's `lastmodified` (its AAD).
    for (tool, out) in [("sops", &s), ("leafcrypt", &l)] {
        let same_time = lastmodified(&src).is_some() && lastmodified(&src) == lastmodified(out);
        let kept_mac = mac_iv(&src).is_some() && mac_iv(&src) == mac_iv(out);
        if same_time != kept_mac {
            c.problem(format!(
                "{what}: {tool}'s MAC IV {} although lastmodified {} (the IV stash is keyed by plaintext and AAD)",
                if kept_mac { "was kept" } else { "changed" },
                if same_time { "is unchanged" } else { "changed" },
            ));
        }
    }
    if l == src {
        c.problem(format!(
            "{what}: leafcrypt's rotation left the file unchanged"
        ));
    }
}

/// Both tools decrypt `file` (from the case directory) with `key` to `plain`.
fn decrypts(c: &mut Checker, case: &Case, file: &str, key: usize, plain: &[u8]) {
    for tool in Tool::BOTH {
        let out = case.decrypt(c, tool, file, &key_file(key));
        c.same_bytes(
            &format!("{tool} decrypting {file} with key{key}"),
            plain,
            &out,
        );
    }
}

/// Both tools fail alike decrypting `file` with `key`.
fn fails(c: &mut Checker, case: &Case, file: &str, key: usize) {
    let sops = case.decrypt(c, Tool::Sops, file, &key_file(key));
    let leaf = case.decrypt(c, Tool::Leafcrypt, file, &key_file(key));
    c.same_failure(&format!("decrypting {file} with key{key}"), &sops, &leaf);
}

fn rotate_both_ways(format: Format) -> Option<Failure> {
    let cell = format!("{format}/rotate");
    let (case, mut c, enc) = setup(format, &cell, recipient(1));
    let Some(enc) = enc else {
        return c.finish(&case.name, &case.input);
    };
    let ext = format.ext();
    let sops_src = c.dir.read(&enc.sops_file);

    // leafcrypt rotates sops's file (subcommand and legacy -r), compared with sops doing it.
    for action in [&["rotate"][..], &["-r"][..]] {
        let by_sops = run(&c, Tool::Sops, action, &enc.sops_file);
        let by_leaf = run(&c, Tool::Leafcrypt, action, &enc.sops_file);
        let what = format!("{} of sops's file", action.join(" "));
        same_rotation(&mut c, format, &what, &sops_src, &by_sops, &by_leaf);
        if by_leaf.ok() {
            let name = format!("leaf-rotated.{ext}");
            c.dir.write(&name, &by_leaf.stdout);
            decrypts(&mut c, &case, &name, 1, &enc.plaintext);
        }
    }

    // In place.
    let inplace = format!("inplace.{ext}");
    c.dir.write(&inplace, &sops_src);
    let out = run(&c, Tool::Leafcrypt, &["rotate", "-i"], &inplace);
    if !out.ok() || !out.stdout.is_empty() {
        c.problem(format!(
            "rotate -i: expected success and no stdout\n{out:?}"
        ));
    } else if c.dir.read(&inplace) == sops_src {
        c.problem("rotate -i left the file unchanged".to_string());
    } else {
        decrypts(&mut c, &case, &inplace, 1, &enc.plaintext);
    }

    // sops rotates leafcrypt's file.
    let out = run(&c, Tool::Sops, &["rotate"], &enc.leaf_file);
    if out.ok() {
        let name = format!("sops-rotated-leaf.{ext}");
        c.dir.write(&name, &out.stdout);
        decrypts(&mut c, &case, &name, 1, &enc.plaintext);
    } else {
        c.problem(format!("sops cannot rotate leafcrypt's file\n{out:?}"));
    }

    // --add-age R2, both ways.
    let add = ["rotate", "--add-age", recipient(2)];
    let by_sops = run(&c, Tool::Sops, &add, &enc.sops_file);
    let by_leaf = run(&c, Tool::Leafcrypt, &add, &enc.sops_file);
    same_rotation(
        &mut c,
        format,
        "rotate --add-age R2 of sops's file",
        &sops_src,
        &by_sops,
        &by_leaf,
    );
    if by_leaf.ok() {
        let name = format!("leaf-added.{ext}");
        c.dir.write(&name, &by_leaf.stdout);
        decrypts(&mut c, &case, &name, 2, &enc.plaintext);
    }
    let out = run(&c, Tool::Sops, &add, &enc.leaf_file);
    if out.ok() {
        let name = format!("sops-added-leaf.{ext}");
        c.dir.write(&name, &out.stdout);
        decrypts(&mut c, &case, &name, 2, &enc.plaintext);
    } else {
        c.problem(format!(
            "sops cannot rotate --add-age leafcrypt's file\n{out:?}"
        ));
    }
    c.finish(&case.name, &case.input)
}

fn remove_recipient_both_ways(format: Format) -> Option<Failure> {
    let cell = format!("{format}/rm-age");
    let both = format!("{},{}", recipient(1), recipient(2));
    let (case, mut c, enc) = setup(format, &cell, &both);
    let Some(enc) = enc else {
        return c.finish(&case.name, &case.input);
    };
    let ext = format.ext();
    let rm = ["rotate", "--rm-age", recipient(1)];
    let sops_src = c.dir.read(&enc.sops_file);
    let by_sops = run(&c, Tool::Sops, &rm, &enc.sops_file);
    let by_leaf = run(&c, Tool::Leafcrypt, &rm, &enc.sops_file);
    same_rotation(
        &mut c,
        format,
        "rotate --rm-age R1 of sops's file",
        &sops_src,
        &by_sops,
        &by_leaf,
    );
    if by_leaf.ok() {
        let name = format!("leaf-removed.{ext}");
        c.dir.write(&name, &by_leaf.stdout);
        decrypts(&mut c, &case, &name, 2, &enc.plaintext);
        fails(&mut c, &case, &name, 1);
    }
    let out = run(&c, Tool::Sops, &rm, &enc.leaf_file);
    if out.ok() {
        let name = format!("sops-removed-leaf.{ext}");
        c.dir.write(&name, &out.stdout);
        decrypts(&mut c, &case, &name, 2, &enc.plaintext);
        fails(&mut c, &case, &name, 1);
    } else {
        c.problem(format!(
            "sops cannot rotate --rm-age leafcrypt's file\n{out:?}"
        ));
    }
    c.finish(&case.name, &case.input)
}

#[test]
fn rotate_add_age_both_ways() {
    let failures: Vec<Failure> = Format::ALL
        .into_iter()
        .filter_map(rotate_both_ways)
        .collect();
    assert_no_failures(&failures);
}

#[test]
fn rm_age_both_ways() {
    let failures: Vec<Failure> = Format::ALL
        .into_iter()
        .filter_map(remove_recipient_both_ways)
        .collect();
    assert_no_failures(&failures);
}
