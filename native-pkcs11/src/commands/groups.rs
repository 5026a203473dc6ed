//! `groups add` / `groups delete`: change a file's key groups. The data key stays the same
//! and is re-split across the new groups; values, MAC and `lastmodified` are untouched.

use super::{formats, keyring};
use crate::cli::Opts;
use crate::failure::{CliResult, Failure};
use crate::io::{read_input, Destination};
use leafcrypt_core::keysource::KeyEntry;
use leafcrypt_core::metadata::KeyGroup;
use leafcrypt_core::ExitCode;
use std::path::Path;

/// A change to the key groups.
pub enum Change {
    /// Append a group with these keys.
    Add(Vec<KeyEntry>),
    /// Remove the group at this index.
    Delete(usize),
}

/// Applies `change` to `file`; output to stdout unless `-i`.
pub fn run(file: &Path, change: Change, opts: &Opts) -> CliResult<()> {
    let input = read_input(Some(file), opts.filename_override.as_deref())?;
    let (fmt, _) = formats(&input, opts)?;
    let store = fmt.store(None);
    let (tree, mut metadata) = super::load_encrypted(&input, fmt)?;
    let mut groups: Vec<KeyGroup> = metadata
        .key_groups
        .iter()
        .map(|g| KeyGroup {
            keys: g.keys.iter().map(KeyEntry::description).collect(),
        })
        .collect();
    match change {
        Change::Add(keys) if keys.is_empty() => {
            return Err(Failure::new(
                ExitCode::ErrorConflictingParameters,
                "groups add needs at least one key (--age, --pgp, --azure-kv or --pkcs11)",
            ))
        }
        Change::Add(keys) => groups.push(KeyGroup { keys }),
        Change::Delete(i) if i >= groups.len() => {
            return Err(Failure::new(
                ExitCode::ErrorConflictingParameters,
                format!(
                    "{}: there is no key group {i} (the file has {})",
                    input.name,
                    groups.len()
                ),
            ))
        }
        Change::Delete(_) if groups.len() == 1 => {
            return Err(Failure::new(
                ExitCode::ErrorConflictingParameters,
                format!("{}: cannot delete the only key group", input.name),
            ))
        }
        Change::Delete(i) => {
            groups.remove(i);
        }
    }
    let threshold = opts.shamir_secret_sharing_threshold.unwrap_or(0);
    let now = crate::clock::now_rfc3339();
    crate::runtime::block_on(leafcrypt_core::ops::update_keys(
        &mut metadata,
        &groups,
        threshold,
        &keyring(opts)?,
        &now,
    ))
    .map_err(|e| Failure::core(&input.name, e))?;
    if metadata.shamir_threshold == 0 && metadata.key_groups.len() > 1 {
        // sops stores the threshold it split with: every group (UpdateMasterKeys).
        metadata.shamir_threshold = metadata.key_groups.len();
    }
    let out = store
        .emit(&tree, Some(&metadata))
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
