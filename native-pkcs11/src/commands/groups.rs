//! `groups add` / `groups delete`: change a file's key groups. The data key stays the same
//! and is re-split across the new groups; values, MAC and `lastmodified` are untouched.

use super::{formats, keyring};
use crate::cli::{GroupsCommand, Opts};
use crate::failure::{CliResult, Failure};
use crate::io::{read_input, Destination};
use leafcrypt_core::file::{EncryptedFile, GroupChange, GroupError, KeyVersions, Layout};
use leafcrypt_core::ExitCode;
use std::path::Path;

/// `groups add` / `groups delete` as parsed.
pub fn command(g: &GroupsCommand, opts: &Opts) -> CliResult<()> {
    match g {
        GroupsCommand::Add { file } => {
            super::cli_entries(opts).and_then(|keys| run(file, GroupChange::Add(keys), opts))
        }
        GroupsCommand::Delete { file, index } => match index {
            Some(index) => run(file, GroupChange::Delete(*index), opts),
            None => Err(Failure::new(
                ExitCode::ErrorGeneric,
                "error: exactly one positional argument (index) required",
            )),
        },
    }
}

/// Applies `change` to `file` (Key Vault entries keep their pinned versions); output to
/// stdout unless `-i`.
pub fn run(file: &Path, change: GroupChange, opts: &Opts) -> CliResult<()> {
    let input = read_input(Some(file), opts.filename_override.as_deref())?;
    let (fmt, _) = formats(&input, opts)?;
    let (tree, metadata) = super::load_encrypted(&input, fmt)?;
    let mut encrypted = EncryptedFile { tree, metadata };
    let groups = change
        .apply(&encrypted.metadata.key_groups, KeyVersions::Pinned)
        .map_err(|e| {
            let message = match e {
                GroupError::NoKeys => {
                    "groups add needs at least one key (--age, --pgp, --azure-kv or --pkcs11)"
                        .to_string()
                }
                e => format!("{}: {e}", input.name),
            };
            Failure::new(ExitCode::ErrorConflictingParameters, message)
        })?;
    let threshold = opts.shamir_secret_sharing_threshold.unwrap_or(0);
    let now = crate::clock::now_rfc3339();
    crate::runtime::block_on(encrypted.rewrap(&groups, threshold, &keyring(opts)?, &now))
        .map_err(|e| Failure::core(&input.name, e))?;
    let out = encrypted
        .emit(&Layout::new(fmt))
        .map_err(|e| Failure::core(&input.name, e))?;
    if opts.in_place {
        Destination::File {
            path: file.to_path_buf(),
            private: false,
        }
        .write(&out)
    } else {
        Destination::Stdout.write(&out)
    }
}
