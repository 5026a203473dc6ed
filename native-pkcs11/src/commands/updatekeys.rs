//! `updatekeys FILE…`: bring each file's key groups in line with its `.sops.yaml` rule,
//! re-wrapping the **same** data key (values, MAC and `lastmodified` stay as they are).

use super::{formats, keyring};
use crate::cli::Opts;
use crate::discovery;
use crate::failure::{CliResult, Failure};
use crate::io::{read_input, Destination};
use leafcrypt_core::keysource::KeyEntry;
use leafcrypt_core::metadata::KeyGroup;
use leafcrypt_core::ExitCode;
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Updates every file; `yes` skips the confirmation prompt.
pub fn run(files: &[PathBuf], yes: bool, opts: &Opts) -> CliResult<()> {
    let needed = |found: Option<discovery::Loaded>| {
        found.ok_or_else(|| {
            Failure::new(
                ExitCode::ErrorGeneric,
                "config file not found: updatekeys needs a .sops.yaml (or --config)",
            )
        })
    };
    // With --config-from-file each file has its own config, found from its directory.
    let shared = match opts.config_from_file {
        false => Some(needed(discovery::load(opts.config.as_deref())?)?),
        true => None,
    };
    let keyring = keyring(opts)?;
    for file in files {
        crate::io::require_file(file, ExitCode::ErrorGeneric)?;
        let own;
        let loaded = match &shared {
            Some(loaded) => loaded,
            None => {
                own = needed(discovery::load_for(opts, Some(file))?)?;
                &own
            }
        };
        let input = read_input(Some(file), opts.filename_override.as_deref())?;
        let (fmt, _) = formats(&input, opts)?;
        let store = fmt.store(None);
        let (tree, mut metadata) = super::load_encrypted(&input, fmt)?;
        let rule = loaded
            .config
            .matching_rule(&loaded.relative_path(file))
            .map_err(|e| Failure::core(&input.name, e))?
            .ok_or_else(|| {
                Failure::new(
                    ExitCode::ErrorGeneric,
                    format!("{}: no creation rule matches this file", input.name),
                )
            })?;
        let wanted = pin_azure_versions(rule.key_groups.clone(), opts)
            .map_err(|f| Failure::new(f.code, format!("{}: {}", input.name, f.message)))?;
        let diff = describe_diff(&metadata.key_groups, &wanted);
        let threshold = opts
            .shamir_secret_sharing_threshold
            .unwrap_or(rule.shamir_threshold);
        let threshold_changes =
            wanted.len() > 1 && threshold != 0 && threshold != metadata.shamir_threshold;
        if diff.is_none() && !threshold_changes {
            eprintln!("File {} already up to date", input.name);
            continue;
        }
        eprintln!("The following changes will be made to the file's groups:");
        eprint!("{}", diff.unwrap_or_default());
        if threshold_changes {
            eprintln!(
                "Shamir threshold: {} -> {threshold}",
                metadata.shamir_threshold
            );
        }
        if !yes && !confirm()? {
            eprintln!("File {} left unchanged", input.name);
            continue;
        }
        super::unsupported::check_wrappable(&wanted, Some(rule), Some(loaded)).map_err(|f| {
            Failure::new(f.code, format!("{}\n  in file: {}", f.message, input.name))
        })?;
        let now = crate::clock::now_rfc3339();
        crate::runtime::block_on(leafcrypt_core::ops::update_keys(
            &mut metadata,
            &wanted,
            threshold,
            &keyring,
            &now,
        ))
        .map_err(|e| Failure::core(&input.name, e))?;
        let out = store
            .emit(&tree, Some(&metadata))
            .map_err(|e| Failure::core(&input.name, e))?;
        Destination::File {
            path: file.clone(),
            private: false,
        }
        .write(&out)?;
        eprintln!("File {} synced with new keys", input.name);
    }
    Ok(())
}

/// The rule's Key Vault keys without a version, pinned to the key's current version (one
/// `get` per key), so that a file already at the current version is up to date and a file
/// wrapped by an older version (Key Vault rotated the key) is re-wrapped with the latest.
pub(crate) fn pin_azure_versions(
    mut groups: Vec<KeyGroup>,
    opts: &Opts,
) -> CliResult<Vec<KeyGroup>> {
    let unpinned = |k: &KeyEntry| k.kind == "azure_kv" && k.get("version").unwrap_or("").is_empty();
    if !groups.iter().flat_map(|g| &g.keys).any(unpinned) {
        return Ok(groups);
    }
    let source = crate::azure::source(opts)?;
    for key in groups.iter_mut().flat_map(|g| g.keys.iter_mut()) {
        if unpinned(key) {
            let (vault, name) = (
                key.get("vault_url").unwrap_or(""),
                key.get("name").unwrap_or(""),
            );
            let version = crate::runtime::block_on(source.current_version(vault, name))
                .map_err(|e| Failure::new(ExitCode::ErrorGeneric, e.to_string()))?;
            key.set("version", version);
        }
    }
    Ok(groups)
}

/// sops's diff of key groups: unchanged keys indented, `+++` added, `---` removed.
/// `None` when nothing changes.
pub(crate) fn describe_diff(old: &[KeyGroup], new: &[KeyGroup]) -> Option<String> {
    let ids = |g: Option<&KeyGroup>| -> Vec<String> {
        g.map(|g| g.keys.iter().map(KeyEntry::identity).collect())
            .unwrap_or_default()
    };
    let mut out = String::new();
    let mut changed = false;
    for i in 0..old.len().max(new.len()) {
        let (o, n) = (ids(old.get(i)), ids(new.get(i)));
        out.push_str(&format!("Group {}\n", i + 1));
        for id in n.iter().filter(|id| o.contains(id)) {
            out.push_str(&format!("    {id}\n"));
        }
        for id in n.iter().filter(|id| !o.contains(id)) {
            changed = true;
            out.push_str(&format!("+++ {id}\n"));
        }
        for id in o.iter().filter(|id| !n.contains(id)) {
            changed = true;
            out.push_str(&format!("--- {id}\n"));
        }
    }
    changed.then_some(out)
}

fn confirm() -> CliResult<bool> {
    eprint!("Is this okay? (y/n):");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let n = std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("cannot read the answer: {e}"),
        )
    })?;
    if n == 0 {
        // As sops: no answer at all is an error (exit 1), not a "no".
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            "EOF: no answer to the confirmation prompt; nothing was changed",
        ));
    }
    Ok(line.trim().eq_ignore_ascii_case("y"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(ids: &[&str]) -> KeyGroup {
        KeyGroup {
            keys: ids
                .iter()
                .map(|r| KeyEntry::new("age").with("recipient", *r))
                .collect(),
        }
    }

    #[test]
    fn diff_lists_kept_added_and_removed_keys() {
        let d = describe_diff(&[group(&["a", "b"])], &[group(&["a", "c"])]).unwrap();
        assert_eq!(d, "Group 1\n    a\n+++ c\n--- b\n");
        assert!(describe_diff(&[group(&["a"])], &[group(&["a"])]).is_none());
        let d = describe_diff(&[group(&["a"])], &[group(&["a"]), group(&["z"])]).unwrap();
        assert_eq!(d, "Group 1\n    a\nGroup 2\n+++ z\n");
    }
}
