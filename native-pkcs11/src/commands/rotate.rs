//! `rotate`: a new data key, wrapped for the file's keys after `--add-*`/`--rm-*`, with
//! the core's rotation rule (Key Vault entries move to the key's current version).

use super::keys::{age_entries, key_changes};
use super::layout::{destination, formats, layout, written};
use super::{keyring, open};
use crate::cli::Opts;
use crate::failure::{CliResult, Failure};
use crate::io::Input;
use leafcrypt_core::file;
use leafcrypt_core::ExitCode;

/// Rotates `input`'s data key and writes the file (stdout, `--output` or in place).
pub(crate) fn run(input: &Input, opts: &Opts) -> CliResult<()> {
    let formats = formats(input, opts)?;
    // sops parses the age recipients to add and remove before it decrypts.
    for list in [opts.add_age.as_deref(), opts.rm_age.as_deref()]
        .into_iter()
        .flatten()
    {
        age_entries(list)?;
    }
    let keyring = keyring(opts)?;
    let mut opened = open(input, opts, formats.0, &keyring)?;
    let groups =
        file::rotation_groups(&opened.metadata.key_groups, &key_changes(opts)?).map_err(|e| {
            Failure::new(
                ExitCode::ErrorGeneric,
                format!("{e}; add one with --add-age, --add-pgp, --add-azure-kv or --add-pkcs11"),
            )
        })?;
    let now = crate::clock::now_rfc3339();
    let out = crate::runtime::block_on(opened.rotate(groups, &keyring, &now))
        .and_then(|()| opened.emit(&layout(formats, opts, None)))
        .map_err(|e| Failure::core(&input.name, e))?;
    destination(input, opts, false)?.write(&out)?;
    written(opts);
    Ok(())
}
