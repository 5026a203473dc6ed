//! `git merge-driver %O %A %B %P`: the core's three-way merge of an encrypted file
//! ([`leafcrypt_core::file::merge`]), the result written into %A. Nothing is written
//! but the encrypted result; the plaintexts stay in memory.

use super::{format_of, read};
use crate::cli::{MergeDriverArgs, Opts};
use crate::commands::{decryption_order, keyring};
use crate::discovery;
use crate::failure::{CliResult, Failure};
use crate::io::Destination;
use leafcrypt_core::file::{merge, MergeInput, MergeOptions, Merged};
use leafcrypt_core::ops::DecryptOptions;
use leafcrypt_core::ExitCode;

/// Merges %O, %A and %B into %A; exit 1 on conflicts (ours untouched unless --markers).
pub fn run(a: &MergeDriverArgs, opts: &Opts) -> CliResult<()> {
    let name = a
        .path
        .clone()
        .unwrap_or_else(|| a.ours.to_string_lossy().into_owned());
    let format = format_of(&name, opts)?;
    let (base, ours, theirs) = (read(&a.base)?, read(&a.ours)?, read(&a.theirs)?);
    let keyring = keyring(opts)?;
    let config = discovery::load(opts.config.as_deref()).ok().flatten();
    let layout = super::super::layout::layout((format, format), opts, config.as_ref());
    let options = MergeOptions {
        markers: a.markers,
        decrypt: DecryptOptions {
            strict: opts.strict,
            decryption_order: decryption_order(opts)?,
            ..Default::default()
        },
        now: crate::clock::now_rfc3339(),
    };
    let input = MergeInput {
        base: (!base.iter().all(u8::is_ascii_whitespace)).then_some(base.as_slice()),
        ours: &ours,
        theirs: &theirs,
    };
    let merged = crate::runtime::block_on(merge(input, &layout, &keyring, &options))
        .map_err(|e| Failure::new(e.exit_code(), format!("leafcrypt merge of {name}: {e}")))?;
    let write = |bytes: &[u8]| {
        Destination::File {
            path: a.ours.clone(),
            private: false,
        }
        .write(bytes)
    };
    match merged {
        Merged::Clean(bytes) => {
            write(&bytes)?;
            eprintln!("leafcrypt: merged {name} key by key (re-encrypted with ours' data key)");
            Ok(())
        }
        Merged::Conflicts { paths, file } => {
            let listed: String = paths.iter().map(|p| format!("\n  {p}")).collect();
            let outcome = match file {
                Some(bytes) => {
                    write(&bytes)?;
                    format!(
                        "the conflicting values now hold encrypted conflict markers; resolve them with `leafcrypt edit {name}`"
                    )
                }
                None => format!(
                    "ours is left as it was; resolve with `leafcrypt edit {name}` (or `git checkout --theirs {name}`)"
                ),
            };
            Err(Failure::new(
                ExitCode::ErrorGeneric,
                format!("leafcrypt merge of {name}: CONFLICT: both sides changed these keys:{listed}\n{outcome}"),
            ))
        }
    }
}
