//! `publish`: decrypt a file (or, with `--recursive`, every file under a directory) and
//! upload it to the destination its `.sops.yaml` `destination_rules` name, as sops 3.11:
//! Vault KV v1/v2 receives the decrypted data; S3 the encrypted file (re-encrypted for the
//! rule's `recreation_rule` keys when it names any); GCS is not available yet.

use super::layout::formats;
use super::{keyring, no_file, open_to_read};
use crate::cli::{Opts, PublishArgs};
use crate::discovery;
use crate::failure::{CliResult, Failure};
use crate::io::Input;
use crate::publish::{rule_for_file, Destination};
use leafcrypt_core::file::Layout;
use leafcrypt_core::metadata::KeyGroup;
use leafcrypt_core::stores::Format;
use leafcrypt_core::ExitCode;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

fn generic(message: impl Into<String>) -> Failure {
    Failure::new(ExitCode::ErrorGeneric, message)
}

/// Runs `publish`.
pub(crate) fn run(args: &PublishArgs, opts: &Opts) -> CliResult<()> {
    // With --config-from-file the search starts at the file's directory (as for encrypt).
    let config_path = match discovery::load_for(opts, args.file.as_deref())? {
        Some(loaded) => loaded.path,
        None => return Err(generic("config file not found")),
    };
    let Some(path) = &args.file else {
        return Err(no_file());
    };
    let meta =
        std::fs::metadata(path).map_err(|e| generic(format!("stat {}: {e}", path.display())))?;
    if meta.is_dir() && !args.recursive {
        return Err(generic(
            "can't operate on a directory without --recursive flag.",
        ));
    }
    let mut files = Vec::new();
    walk(path, &mut files)?;
    for file in files {
        publish_one(&file, path, &config_path, args, opts)?;
    }
    Ok(())
}

/// Every file under `path` in lexical order, as Go's `filepath.Walk` visits them.
fn walk(path: &Path, out: &mut Vec<PathBuf>) -> CliResult<()> {
    let meta =
        std::fs::metadata(path).map_err(|e| generic(format!("lstat {}: {e}", path.display())))?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| generic(format!("open {}: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        walk(&entry, out)?;
    }
    Ok(())
}

fn publish_one(
    path: &Path,
    root: &Path,
    config_path: &Path,
    args: &PublishArgs,
    opts: &Opts,
) -> CliResult<()> {
    let absolute = std::path::absolute(path).map_err(|e| generic(e.to_string()))?;
    let given = path.to_string_lossy().into_owned();
    let rule = rule_for_file(config_path, &given)?;
    let name = destination_name(path, root, &absolute, args, rule.omit_extensions);
    let input = crate::io::read_input(Some(path), None)?;
    let mut upload_bytes = Vec::new();
    let data = match &rule.destination {
        Destination::Vault(_) => vault_data(&input, &given, opts)?,
        // S3 and GCS receive the same bytes: the file, re-encrypted for recreation_rule.
        Destination::S3 { .. } | Destination::Gcs { .. } => {
            upload_bytes = s3_bytes(&input, &rule.recreation, opts)?;
            serde_json::Value::Null
        }
    };
    if !args.yes && !confirm(&absolute, &rule.destination.path(&name))? {
        let message = format!("Publication of {} canceled", absolute.display());
        if args.recursive {
            println!("{message}");
            return Ok(());
        }
        return Err(generic(message));
    }
    match &rule.destination {
        Destination::Vault(vault) => vault.upload(&data, &name),
        Destination::S3 { bucket, prefix } => {
            crate::publish::s3::upload(bucket, &format!("{prefix}{name}"), upload_bytes)
        }
        Destination::Gcs { bucket, prefix } => {
            crate::publish::gcs::upload(bucket, &format!("{prefix}{name}"), upload_bytes)
        }
    }
}

/// The file's name at the destination: its path relative to the directory given
/// (`--recursive`) or its file name, without its extension when asked.
fn destination_name(
    path: &Path,
    root: &Path,
    absolute: &Path,
    args: &PublishArgs,
    omit_extensions: bool,
) -> String {
    let mut name = if args.recursive {
        // sops names each file by its path relative to the directory given.
        match path.strip_prefix(root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => path.to_string_lossy().into_owned(),
        }
    } else {
        absolute
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if args.omit_extensions || omit_extensions {
        if let Some(ext) = absolute.extension() {
            let dotted = format!(".{}", ext.to_string_lossy());
            if let Some(stripped) = name.strip_suffix(&dotted) {
                name = stripped.to_string();
            }
        }
    }
    name
}

/// The decrypted file as a JSON map, what a Vault KV destination stores.
fn vault_data(input: &Input, given: &str, opts: &Opts) -> CliResult<serde_json::Value> {
    let fmts = formats(input, opts)?;
    let keyring = keyring(opts)?;
    let opened = open_to_read(input, opts, fmts.0, &keyring)?;
    let layout = Layout {
        input: fmts.0,
        output: Format::Json,
        indent: None,
    };
    let json = opened
        .into_plaintext(&layout, None)
        .map_err(|e| Failure::core(&input.name, e))?;
    let json = zeroize::Zeroizing::new(json);
    serde_json::from_slice::<serde_json::Value>(&json)
        .map_err(|e| generic(format!("cannot convert {given} to a map: {e}")))
}

/// What an S3 or GCS destination stores: the file as it is, or re-encrypted for the rule's
/// `recreation_rule` key groups (sops prints the key-group changes first).
fn s3_bytes(input: &Input, recreation: &(Vec<KeyGroup>, usize), opts: &Opts) -> CliResult<Vec<u8>> {
    let (groups, threshold) = recreation;
    if groups.first().is_none_or(|g| g.keys.is_empty()) {
        return Ok(input.bytes.clone());
    }
    let fmts = formats(input, opts)?;
    let keyring = keyring(opts)?;
    let mut opened = open_to_read(input, opts, fmts.0, &keyring)?;
    if let Some(diff) = super::updatekeys::describe_diff(&opened.metadata.key_groups, groups) {
        print!("The following changes will be made to the file's key groups:\n{diff}");
    }
    opened.metadata.shamir_threshold = *threshold;
    let now = crate::clock::now_rfc3339();
    crate::runtime::block_on(opened.rotate(groups.clone(), &keyring, &now))
        .map_err(|e| Failure::core(&input.name, e))?;
    let layout = Layout {
        input: fmts.0,
        output: fmts.0,
        indent: None,
    };
    opened
        .emit(&layout)
        .map_err(|e| Failure::core(&input.name, e))
}

/// sops's prompt: asks until the answer is `y` or `n`; end of input is an error.
fn confirm(path: &Path, target: &str) -> CliResult<bool> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        print!("uploading {} to {target} ? (y/n): ", path.display());
        let _ = std::io::stdout().flush();
        match lines.next() {
            Some(Ok(line)) => match line.trim() {
                "y" => return Ok(true),
                "n" => return Ok(false),
                _ => {}
            },
            _ => return Err(generic("EOF")),
        }
    }
}
