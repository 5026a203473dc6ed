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
//! `LEAFCRYPT_INTEROP_SEEDS=N` runs N seeds per cell (default 2; binary always 1).

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
