//! Key groups against the real sops 3.11.0, in all five formats (generated inputs).
//!
//! Proves that leafcrypt and sops agree, byte for byte after masking, on:
//! - two recipients (`--age R1,R2`): both files decrypt with either identity alone, in
//!   both tools, to the same plaintext;
//! - Shamir 2-of-3 key groups from a `.sops.yaml` (tests/vectors/config/shamir.sops.yaml),
//!   given by discovery in the working directory and by `--config`: the `key_groups` layout
//!   is identical, any two of the three identities decrypt (both tools, both files), and a
//!   single identity fails in leafcrypt exactly as in sops (exit code, first stderr line);
//! - `--shamir-secret-sharing-threshold 3` overriding the config's 2.

use leafcrypt_tests::cases::{
    assert_no_failures, base_seed, Case, Checker, ConfigVia, Format, Selector,
};
use leafcrypt_tests::harness::{age_key_file, key_file, recipient, vectors_dir, Tool};
use std::path::Path;

fn generated(format: Format, cell: &str) -> Vec<u8> {
    format.generate(base_seed(cell), Selector::Default.gen_options())
}

/// Every tool decrypts every file with `identity` to the normalised plaintext.
fn all_decrypt(c: &mut Checker, case: &Case, files: &[&str], identity: &Path, plain: &[u8]) {
    for file in files {
        for tool in Tool::BOTH {
            let out = case.decrypt(c, tool, file, identity);
            let what = format!(
                "{tool} decrypting {file} with {}",
                identity.file_name().unwrap_or_default().to_string_lossy()
            );
            c.same_bytes(&what, plain, &out);
        }
    }
}

/// On every file, leafcrypt fails with `identity` exactly as sops does.
fn all_fail_alike(c: &mut Checker, case: &Case, files: &[&str], identity: &Path) {
    for file in files {
        let sops = case.decrypt(c, Tool::Sops, file, identity);
        let leaf = case.decrypt(c, Tool::Leafcrypt, file, identity);
        let what = format!(
            "decrypting {file} with only {}",
            identity.file_name().unwrap_or_default().to_string_lossy()
        );
        c.same_failure(&what, &sops, &leaf);
    }
}

#[test]
fn two_recipients_each_decrypts_alone() {
    let mut failures = Vec::new();
    for format in Format::ALL {
        let cell = format!("{format}/two-recipients");
        let case = Case {
            name: cell.clone(),
            format,
            input: generated(format, &cell),
            encrypt: vec![
                "encrypt".into(),
                "--age".into(),
                format!("{},{}", recipient(1), recipient(2)),
            ],
            config: None,
            identity: key_file(1),
        };
        let mut c = Checker::new();
        if let Some(enc) = case.check_in(&mut c) {
            let files = [enc.sops_file.as_str(), enc.leaf_file.as_str()];
            all_decrypt(&mut c, &case, &files, &key_file(2), &enc.plaintext);
            all_fail_alike(&mut c, &case, &files, &key_file(3));
        }
        failures.extend(c.finish(&case.name, &case.input));
    }
    assert_no_failures(&failures);
}

fn shamir_config() -> String {
    let path = vectors_dir().join("config/shamir.sops.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn shamir(format: Format, via: ConfigVia) -> Vec<leafcrypt_tests::cases::Failure> {
    let cell = format!("{format}/shamir-2-of-3/{via:?}");
    let case = Case {
        name: cell.clone(),
        format,
        input: generated(format, &cell),
        encrypt: vec!["encrypt".into()],
        config: Some((shamir_config(), via)),
        identity: age_key_file("keys-2-and-4.txt"),
    };
    let mut c = Checker::new();
    if let Some(enc) = case.check_in(&mut c) {
        let files = [enc.sops_file.as_str(), enc.leaf_file.as_str()];
        for pair in [[2, 3], [3, 4]] {
            let id = c.identities(&pair);
            all_decrypt(&mut c, &case, &files, &id, &enc.plaintext);
        }
        for single in [2, 3, 4] {
            all_fail_alike(&mut c, &case, &files, &key_file(single));
        }
        all_fail_alike(&mut c, &case, &files, &key_file(1));
    }
    c.finish(&case.name, &case.input).into_iter().collect()
}

#[test]
fn shamir_2_of_3_by_discovery() {
    let mut failures = Vec::new();
    for format in Format::ALL {
        failures.extend(shamir(format, ConfigVia::Discovery));
    }
    assert_no_failures(&failures);
}

#[test]
fn shamir_2_of_3_by_config_flag() {
    let mut failures = Vec::new();
    for format in [Format::Yaml, Format::Json, Format::Dotenv, Format::Ini] {
        failures.extend(shamir(format, ConfigVia::Flag));
    }
    assert_no_failures(&failures);
}

#[test]
fn shamir_threshold_flag_overrides_config() {
    let mut failures = Vec::new();
    for format in [Format::Yaml, Format::Json] {
        let cell = format!("{format}/shamir-threshold-flag");
        let case = Case {
            name: cell.clone(),
            format,
            input: generated(format, &cell),
            encrypt: vec![
                "encrypt".into(),
                "--shamir-secret-sharing-threshold".into(),
                "3".into(),
            ],
            config: Some((shamir_config(), ConfigVia::Discovery)),
            identity: age_key_file("keys.txt"),
        };
        let mut c = Checker::new();
        if let Some(enc) = case.check_in(&mut c) {
            let files = [enc.sops_file.as_str(), enc.leaf_file.as_str()];
            all_fail_alike(&mut c, &case, &files, &age_key_file("keys-2-and-4.txt"));
        }
        failures.extend(c.finish(&case.name, &case.input));
    }
    assert_no_failures(&failures);
}
