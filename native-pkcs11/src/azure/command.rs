//! `leafcrypt azure-kv …`: `stale` (files pinned to an older key version), and
//! `encrypt-text` / `decrypt-text` (Key Vault encryption of data at rest without a file);
//! `on-rotation` is in [`super::rotation`].

use crate::cli::{AzureKvCommand, Opts};
use crate::commands::{formats, load_encrypted};
use crate::failure::{CliResult, Failure};
use crate::io::read_input;
use leafcrypt_core::keysource::azure_kv::{text, KeyId};
use leafcrypt_core::ExitCode;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// Runs an `azure-kv` subcommand.
pub fn run(command: &AzureKvCommand, opts: &Opts) -> CliResult<()> {
    match command {
        AzureKvCommand::Stale {
            files,
            recursive: false,
        } => stale(files, opts),
        AzureKvCommand::Stale { files, .. } => {
            stale(&crate::bulk::encrypted_files(files, opts)?, opts)
        }
        AzureKvCommand::EncryptText { key, file } => encrypt_text(key, file.as_ref(), opts),
        AzureKvCommand::DecryptText { key, file } => decrypt_text(key, file.as_ref(), opts),
        AzureKvCommand::OnRotation(args) => super::rotation::run(args, opts),
    }
}

fn key_id(url: &str) -> CliResult<KeyId> {
    KeyId::parse(url)
        .map_err(|e| Failure::new(ExitCode::ErrorConflictingParameters, format!("--key: {e}")))
}

/// Lists every `azure_kv` entry pinned to a version that is not the key's current one.
fn stale(files: &[PathBuf], opts: &Opts) -> CliResult<()> {
    if files.is_empty() {
        return Err(Failure::new(
            ExitCode::ErrorConflictingParameters,
            "azure-kv stale needs at least one FILE",
        ));
    }
    let source = super::source(opts)?;
    // Every file's pinned keys, then one `get` per distinct key.
    let mut pinned: Vec<(String, KeyId)> = Vec::new();
    let mut failures = Vec::new();
    for file in files {
        let loaded = read_input(Some(file), opts.filename_override.as_deref()).and_then(|input| {
            let (in_fmt, _) = formats(&input, opts)?;
            load_encrypted(&input, in_fmt).map(|(_, m)| (input.name, m))
        });
        match loaded {
            Ok((name, metadata)) => {
                for entry in metadata.key_groups.iter().flat_map(|g| &g.keys) {
                    if entry.kind == "azure_kv" {
                        match KeyId::from_entry(entry) {
                            Ok(id) => pinned.push((name.clone(), id)),
                            Err(e) => failures.push(format!("{name}: {e}")),
                        }
                    }
                }
            }
            Err(f) => failures.push(f.message),
        }
    }
    let mut current: BTreeMap<String, Result<String, String>> = BTreeMap::new();
    for (_, id) in &pinned {
        if let std::collections::btree_map::Entry::Vacant(slot) =
            current.entry(id.unversioned().to_string())
        {
            let answer = crate::runtime::block_on(source.current_version(&id.vault_url, &id.name));
            slot.insert(answer.map_err(|e| e.to_string()));
        }
    }
    let mut stale = 0;
    for (file, id) in &pinned {
        match &current[&id.unversioned().to_string()] {
            Ok(latest) if id.version.as_deref() == Some(latest.as_str()) => {}
            Ok(latest) => {
                stale += 1;
                let had = id.version.as_deref().unwrap_or("(no version)");
                println!(
                    "{file}: {} is at version {had}, current is {latest}",
                    id.unversioned()
                );
            }
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    if !failures.is_empty() {
        return Err(Failure::new(ExitCode::ErrorGeneric, failures.join("\n")));
    }
    if stale > 0 {
        eprintln!(
            "{stale} key entr{} not at the current version: run `leafcrypt rotate -i FILE` \
             (or `updatekeys`) to re-wrap with the latest",
            if stale == 1 { "y is" } else { "ies are" }
        );
        return Err(Failure::new(ExitCode::ErrorGeneric, String::new()));
    }
    eprintln!(
        "all {} Key Vault entries are at their key's current version",
        pinned.len()
    );
    Ok(())
}

fn encrypt_text(key: &str, file: Option<&PathBuf>, opts: &Opts) -> CliResult<()> {
    let key = key_id(key)?;
    let input = read_input(file.map(PathBuf::as_path), None)?;
    let source = super::source(opts)?;
    let encrypted = crate::runtime::block_on(text::encrypt_text_with(
        source.client(),
        &key,
        &input.bytes,
        opts.azure_kv_remote_encrypt,
    ))
    .map_err(|e| Failure::new(ExitCode::ErrorGeneric, e.to_string()))?;
    println!("{}", encrypted.ciphertext);
    Ok(())
}

fn decrypt_text(key: &str, file: Option<&PathBuf>, opts: &Opts) -> CliResult<()> {
    let key = key_id(key)?;
    let input = read_input(file.map(PathBuf::as_path), None)?;
    let ciphertext = String::from_utf8_lossy(&input.bytes);
    let source = super::source(opts)?;
    let plain =
        crate::runtime::block_on(text::decrypt_text(source.client(), &key, ciphertext.trim()))
            .map_err(|e| Failure::new(ExitCode::ErrorGeneric, e.to_string()))?;
    std::io::stdout().write_all(&plain).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("cannot write the output: {e}"),
        )
    })
}
