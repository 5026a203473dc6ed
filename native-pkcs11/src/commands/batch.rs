//! Beyond sops: `decrypt --output-dir DIR FILE…` decrypts many files in one call and
//! reports every failure at the end instead of stopping at the first.

use super::{formats, keyring, open_async, store};
use crate::cli::Opts;
use crate::failure::{CliResult, Failure};
use crate::io::{read_input, Destination};
use futures_util::stream::{self, StreamExt};
use leafcrypt_core::ExitCode;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Decrypts each of `files` to `dir/<file name>` (created 0600), up to `jobs` at a time.
/// Succeeds only when every file did; the failure's code is the first failing file's.
pub fn decrypt_to_dir(files: &[PathBuf], dir: &Path, jobs: usize, opts: &Opts) -> CliResult<()> {
    if files.is_empty() {
        return Err(Failure::new(
            ExitCode::ErrorConflictingParameters,
            "decrypt --output-dir needs at least one FILE",
        ));
    }
    if !dir.is_dir() {
        return Err(Failure::new(
            ExitCode::ErrorConflictingParameters,
            format!("--output-dir {}: not a directory", dir.display()),
        ));
    }
    if opts.in_place || opts.output.is_some() || opts.extract.is_some() {
        return Err(Failure::new(
            ExitCode::ErrorConflictingParameters,
            "--output-dir cannot be combined with -i, --output or --extract",
        ));
    }
    let keyring = keyring(opts)?;
    let mut seen = HashSet::new();
    let claims: Vec<bool> = files
        .iter()
        .map(|f| seen.insert(f.file_name().map(|n| n.to_owned()).unwrap_or_default()))
        .collect();
    let keyring = &keyring;
    let results: Vec<(&PathBuf, PathBuf, CliResult<()>)> = crate::runtime::block_on(
        stream::iter(files.iter().zip(claims))
            .map(|(file, first_claim)| async move {
                let target = dir.join(file.file_name().unwrap_or_default());
                let result = if first_claim {
                    decrypt_one(file, &target, keyring, opts).await
                } else {
                    Err(Failure::new(
                        ExitCode::ErrorConflictingParameters,
                        format!("another input already writes {}", target.display()),
                    ))
                };
                (file, target, result)
            })
            .buffered(jobs.max(1))
            .collect(),
    );
    let mut failures: Vec<(String, Failure)> = Vec::new();
    for (file, target, result) in results {
        match result {
            Ok(()) => eprintln!("decrypted {} -> {}", file.display(), target.display()),
            Err(f) => failures.push((file.display().to_string(), f)),
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    let mut report = format!(
        "{} of {} files failed to decrypt:",
        failures.len(),
        files.len()
    );
    for (file, f) in &failures {
        let first = f.message.lines().next().unwrap_or_default();
        report.push_str(&format!("\n  {file}: {first} (exit {})", f.code));
    }
    Err(Failure::new(failures[0].1.code, report))
}

async fn decrypt_one(
    file: &Path,
    target: &Path,
    keyring: &leafcrypt_core::keysource::Keyring,
    opts: &Opts,
) -> CliResult<()> {
    let input = read_input(Some(file), None)?;
    let (in_fmt, out_fmt) = formats(&input, opts)?;
    let tree = open_async(&input, opts, in_fmt, keyring, false).await?.tree;
    let out = store(out_fmt, opts, None)
        .emit(&tree, None)
        .map_err(|e| Failure::core(&input.name, e))?;
    Destination::File {
        path: target.to_path_buf(),
        private: true,
    }
    .write(&out)
}
