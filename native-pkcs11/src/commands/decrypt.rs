//! `decrypt`: the plaintext of an encrypted file, whole or one value (`--extract`).

use super::layout::{destination, formats, layout, written};
use super::{keyring, open_to_read};
use crate::cli::Opts;
use crate::discovery;
use crate::failure::{CliResult, Failure};
use crate::io::Input;
use leafcrypt_core::treepath;
use leafcrypt_core::ExitCode;

/// Decrypts `input` and writes the plaintext (stdout, `--output` or in place).
pub(crate) fn run(input: &Input, opts: &Opts) -> CliResult<()> {
    let formats = formats(input, opts)?;
    let keyring = keyring(opts)?;
    let opened = open_to_read(input, opts, formats.0, &keyring)?;
    let config = if opts.indent.is_none() {
        discovery::load_for(opts, input.path.as_deref())
            .ok()
            .flatten()
    } else {
        None
    };
    let steps = match &opts.extract {
        Some(path) => Some(treepath::parse(path).map_err(|e| Failure::core(&input.name, e))?),
        None => None,
    };
    let out = opened
        .into_plaintext(&layout(formats, opts, config.as_ref()), steps.as_deref())
        .map_err(|e| match e {
            // sops's `error truncating tree` for a path that is not in the file: exit 1.
            leafcrypt_core::Error::TreePath(m) if steps.is_some() => Failure::new(
                ExitCode::ErrorGeneric,
                format!("{m}\n  in file: {}", input.name),
            ),
            e => Failure::core(&input.name, e),
        })?;
    destination(input, opts, true)?.write(&out)?;
    written(opts);
    Ok(())
}
