//! `git textconv FILE`: what `git diff` and `git log -p` show for an encrypted file.
//!
//! With a key: the plaintext (only once the MAC verified). Without one, or when the MAC
//! does not verify: the structure, each encrypted value as its type and a fingerprint of
//! its ciphertext. Then, always, a summary of the metadata (keys, `lastmodified`), so a
//! diff shows key changes. A file that is not encrypted is printed as it is.

use super::{format_of, read};
use crate::cli::Opts;
use crate::commands::{decryption_order, keyring};
use crate::failure::{CliResult, Failure};
use crate::io::Destination;
use leafcrypt_core::file::{metadata_summary, EncryptedFile, Layout};
use leafcrypt_core::ops::DecryptOptions;
use leafcrypt_core::stores::binary::BinaryStore;
use leafcrypt_core::stores::Format;
use std::path::Path;

/// Prints the diff view of `file` on stdout.
pub fn run(file: &Path, opts: &Opts) -> CliResult<()> {
    let bytes = read(file)?;
    let name = file.to_string_lossy();
    let format = format_of(&name, opts)?;
    let Ok(parsed) = EncryptedFile::parse(&bytes, format) else {
        // Not an encrypted file (or not one of this format): shown as it is.
        return Destination::Stdout.write(&bytes);
    };
    let summary = metadata_summary(&parsed.metadata);
    let mut out = match decrypted(&bytes, format, opts)? {
        Ok(plain) => plain,
        Err(why) => {
            let mut text = format!("# leafcrypt: {why}; encrypted values shown as fingerprints\n")
                .into_bytes();
            text.extend(
                parsed
                    .outline(format)
                    .map_err(|e| Failure::core(&name, e))?,
            );
            text
        }
    };
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend(b"# ---\n");
    out.extend(summary.into_bytes());
    Destination::Stdout.write(&out)
}

/// The plaintext, or why it is not shown (no key here, MAC mismatch).
fn decrypted(bytes: &[u8], format: Format, opts: &Opts) -> CliResult<Result<Vec<u8>, String>> {
    let keyring = keyring(opts)?;
    let options = DecryptOptions {
        strict: opts.strict,
        skip_iv_stash: true,
        decryption_order: decryption_order(opts)?,
        ..Default::default()
    };
    let Ok(file) = EncryptedFile::parse(bytes, format) else {
        return Ok(Err("the file does not parse".into()));
    };
    let opened = match crate::runtime::block_on(file.open(&keyring, options)) {
        Ok(opened) => opened,
        Err(leafcrypt_core::Error::MacMismatch { .. } | leafcrypt_core::Error::MacDecrypt(_)) => {
            return Ok(Err(
                "the MAC does not verify (the file was changed outside sops)".into(),
            ))
        }
        Err(_) => return Ok(Err("no key for this file here".into())),
    };
    let plain = if format == Format::Binary {
        BinaryStore::into_plain(opened.tree)
    } else {
        opened.into_plaintext(&Layout::new(format), None)
    };
    Ok(plain.map_err(|e| format!("the plaintext cannot be written: {e}")))
}
