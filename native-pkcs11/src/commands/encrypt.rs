//! `encrypt`: a plaintext file encrypted for the keys on the command line, else the
//! matching `.sops.yaml` rule, through the core's file API.

use super::keys::{check_age_recipient, cli_entries, cli_selector};
use super::layout::{destination, formats, layout, written};
use super::{keyring, unsupported};
use crate::cli::Opts;
use crate::discovery;
use crate::failure::{CliResult, Failure};
use crate::io::Input;
use leafcrypt_core::config::CreationRule as Rule;
use leafcrypt_core::file::{self, NewFile};
use leafcrypt_core::metadata::KeyGroup;
use leafcrypt_core::ops;
use leafcrypt_core::stores::Format;
use std::path::Path;

/// Encrypts `input` and writes it (stdout, `--output` or in place).
pub(crate) fn run(input: &Input, opts: &Opts) -> CliResult<()> {
    let formats = formats(input, opts)?;
    let config = discovery::load_for(opts, input.path.as_deref())?;
    let new = encrypt_options(&input.name, formats.0, opts, config.as_ref())?;
    let tree =
        file::parse_plain(&input.bytes, formats.0).map_err(|e| Failure::core(&input.name, e))?;
    let keyring = keyring(opts)?;
    let layout = layout(formats, opts, config.as_ref());
    let out = crate::runtime::block_on(new.encrypt_tree(tree, &layout, &keyring))
        .map_err(|e| Failure::core(&input.name, e))?;
    destination(input, opts, false)?.write(&out)?;
    written(opts);
    Ok(())
}

/// The `.sops.yaml` rule for `name`, if there is a config.
fn matching_rule(name: &str, config: Option<&discovery::Loaded>) -> CliResult<Option<Rule>> {
    let Some(c) = config else {
        return Ok(None);
    };
    let rel = c.relative_path(Path::new(name));
    crate::log::detail(|| format!("config {} (rule path '{rel}')", c.path.display()));
    Ok(c.config
        .matching_rule(&rel)
        .map_err(|e| Failure::core(name, e))?
        .cloned())
}

/// The key groups: the command line's keys (one group), else the rule's. Empty groups
/// are refused by the core; a matching rule without any key is one empty group, as in sops.
fn key_groups(
    cli_keys: Vec<leafcrypt_core::keysource::KeyEntry>,
    rule: Option<&Rule>,
) -> Vec<KeyGroup> {
    match rule {
        _ if !cli_keys.is_empty() => vec![KeyGroup { keys: cli_keys }],
        Some(r) if r.key_groups.is_empty() => vec![KeyGroup::default()],
        Some(r) => r.key_groups.clone(),
        None => Vec::new(),
    }
}

/// What a new file is encrypted with: keys from the command line, else the matching
/// `.sops.yaml` rule; selectors and threshold from the flags, else the rule.
pub(crate) fn encrypt_options(
    name: &str,
    in_fmt: Format,
    opts: &Opts,
    config: Option<&discovery::Loaded>,
) -> CliResult<NewFile> {
    let rule = matching_rule(name, config)?;
    let cli_keys = cli_entries(opts)?;
    let from_cli = !cli_keys.is_empty();
    let key_groups = key_groups(cli_keys, rule.as_ref());
    // Fail before the file is read or an editor opened, as sops does.
    ops::check_key_groups(&key_groups).map_err(|e| Failure::core("", e))?;
    if from_cli {
        // sops prints its keys' Go pointers here; leafcrypt names the keys.
        let keys: Vec<String> = key_groups
            .iter()
            .flat_map(|g| g.keys.iter().map(|k| k.identity()))
            .collect();
        crate::log::sops(
            "CMD",
            crate::log::Level::Debug,
            &format!("Master keys available:  [{}]", keys.join(" ")),
            &[],
        );
    }
    let rule_used = rule.as_ref().filter(|_| !from_cli);
    unsupported::check_wrappable(&key_groups, rule_used, config)?;
    for key in key_groups.iter().flat_map(|g| &g.keys) {
        if key.kind == "age" {
            check_age_recipient(key.get("recipient").unwrap_or_default())?;
        }
    }
    let new = NewFile {
        key_groups,
        shamir_threshold: opts
            .shamir_secret_sharing_threshold
            .filter(|t| *t > 0)
            .or(rule.as_ref().map(|r| r.shamir_threshold))
            .unwrap_or(0),
        selector: cli_selector(opts)?.or_else(|| rule.as_ref().and_then(|r| r.selector.clone())),
        mac_only_encrypted: opts.mac_only_encrypted
            || rule.as_ref().is_some_and(|r| r.mac_only_encrypted),
        now: crate::clock::now_rfc3339(),
    };
    if new.ignores_selector(in_fmt) {
        eprintln!("[leafcrypt] warning: selectors are ignored for binary files");
    }
    crate::log::detail(|| format!("encrypting for {} key group(s)", new.key_groups.len()));
    Ok(new)
}
