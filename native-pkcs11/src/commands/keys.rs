//! Key descriptions and selectors from the command line: `--age`, `--pgp`, `--azure-kv`,
//! `--pkcs11` (and the kinds leafcrypt has no source for), `--add-*`/`--rm-*`, and the
//! selector flags.

use crate::cli::Opts;
use crate::failure::{CliResult, Failure};
use leafcrypt_core::file::KeyChanges;
use leafcrypt_core::keysource::KeyEntry;
use leafcrypt_core::metadata::Selector;
use leafcrypt_core::ExitCode;

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Parses a comma-separated key list of one kind into key descriptions.
type EntryParser = fn(&str) -> CliResult<Vec<KeyEntry>>;

/// `age` key descriptions for a comma-separated list of recipients, each checked as sops
/// checks it before doing anything (exit 1, sops's first words).
pub(crate) fn age_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    split_list(list)
        .into_iter()
        .map(|r| {
            check_age_recipient(&r)?;
            Ok(KeyEntry::new("age").with("recipient", r))
        })
        .collect()
}

/// A recipient sops would refuse to parse: its message, exit 1.
pub(crate) fn check_age_recipient(recipient: &str) -> CliResult<()> {
    leafcrypt_core::keysource::age::parse_recipient(recipient)
        .map(|_| ())
        .map_err(|e| match e {
            leafcrypt_core::keysource::KeyError::InvalidKey { message, .. } => {
                Failure::new(ExitCode::ErrorGeneric, message)
            }
            other => Failure::new(ExitCode::ErrorGeneric, other.to_string()),
        })
}

/// `azure_kv` key descriptions for a comma-separated list of key URLs (as sops parses them).
pub(crate) fn azure_kv_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    split_list(list)
        .iter()
        .map(|url| {
            leafcrypt_core::config::azure_entry_from_url(url).map_err(|_| {
                Failure::new(
                    ExitCode::ErrorConflictingParameters,
                    format!(
                        "could not parse \"{url}\" into a valid Azure Key Vault key: \
                         expected https://VAULT/keys/NAME[/VERSION]"
                    ),
                )
            })
        })
        .collect()
}

/// `pgp` key descriptions for a comma-separated list of fingerprints (spaces removed, as
/// sops does).
pub(crate) fn pgp_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(split_list(list)
        .iter()
        .map(|fp| leafcrypt_core::config::pgp_entry(fp))
        .collect())
}

/// `kms` key descriptions for sops's `ARN[+ROLE_ARN],…` (`--encryption-context` and
/// `--aws-profile` are applied by [`crate::aws::cli_keys`]).
pub(crate) fn kms_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(split_list(list)
        .into_iter()
        .map(|k| leafcrypt_core::config::kms_entry_from_arn(&k, ""))
        .collect())
}

/// `gcp_kms` key descriptions for a comma-separated list of resource IDs.
pub(crate) fn gcp_kms_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(split_list(list)
        .into_iter()
        .map(|id| KeyEntry::new("gcp_kms").with("resource_id", id))
        .collect())
}

/// `hckms` key descriptions for a comma-separated list of `region:key-uuid` IDs.
pub(crate) fn hckms_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(split_list(list)
        .into_iter()
        .map(|id| KeyEntry::new("hckms").with("key_id", id))
        .collect())
}

/// `hc_vault` key descriptions for `https://ADDR/v1/ENGINE/keys/NAME` URIs.
pub(crate) fn hc_vault_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    split_list(list)
        .into_iter()
        .map(|uri| {
            leafcrypt_core::config::hc_vault_entry_from_uri(&uri).map_err(|e| {
                Failure::new(ExitCode::ErrorGeneric, format!("--hc-vault-transit: {e}"))
            })
        })
        .collect()
}

/// `pkcs11` key descriptions for a comma-separated list of URIs (as given; the stored
/// form without PIN or module is made when the key is wrapped).
pub(crate) fn pkcs11_entries(list: &str) -> Vec<KeyEntry> {
    crate::pkcs11::uri::split_list(list)
        .into_iter()
        .map(|u| KeyEntry::new("pkcs11").with("uri", u))
        .collect()
}

fn pkcs11_entries_checked(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(pkcs11_entries(list))
}

/// Every key given on the command line (`--age`, `--pgp`, `--azure-kv`, `--pkcs11`), in
/// that order.
pub(crate) fn cli_entries(opts: &Opts) -> CliResult<Vec<KeyEntry>> {
    let mut keys = age_entries(&opts.age.join(","))?;
    keys.extend(pgp_entries(&opts.pgp.join(","))?);
    keys.extend(azure_kv_entries(&opts.azure_kv.join(","))?);
    keys.extend(pkcs11_entries(&opts.pkcs11.join(",")));
    let other = &opts.other_kinds;
    keys.extend(crate::aws::cli_keys(
        opts,
        kms_entries(other.kms.as_deref().unwrap_or(""))?,
    ));
    keys.extend(gcp_kms_entries(other.gcp_kms.as_deref().unwrap_or(""))?);
    keys.extend(hckms_entries(other.hckms.as_deref().unwrap_or(""))?);
    keys.extend(hc_vault_entries(
        other.hc_vault_transit.as_deref().unwrap_or(""),
    )?);
    Ok(keys)
}

/// The `--rm-*` and `--add-*` lists of `rotate`, each with its parser.
fn change_lists(opts: &Opts) -> [(Option<&str>, Option<&str>, EntryParser); 8] {
    let other = &opts.other_kinds;
    [
        (opts.rm_age.as_deref(), opts.add_age.as_deref(), age_entries),
        (
            opts.rm_pkcs11.as_deref(),
            opts.add_pkcs11.as_deref(),
            pkcs11_entries_checked,
        ),
        (opts.rm_pgp.as_deref(), opts.add_pgp.as_deref(), pgp_entries),
        (
            opts.rm_azure_kv.as_deref(),
            opts.add_azure_kv.as_deref(),
            azure_kv_entries,
        ),
        (
            other.rm_kms.as_deref(),
            other.add_kms.as_deref(),
            kms_entries,
        ),
        (
            other.rm_gcp_kms.as_deref(),
            other.add_gcp_kms.as_deref(),
            gcp_kms_entries,
        ),
        (
            other.rm_hckms.as_deref(),
            other.add_hckms.as_deref(),
            hckms_entries,
        ),
        (
            other.rm_hc_vault_transit.as_deref(),
            other.add_hc_vault_transit.as_deref(),
            hc_vault_entries,
        ),
    ]
}

/// The keys `rotate` adds and removes (`--add-age`, `--rm-pgp`, …).
pub(crate) fn key_changes(opts: &Opts) -> CliResult<KeyChanges> {
    let mut changes = KeyChanges::default();
    for (rm, add, parse) in change_lists(opts) {
        if let Some(rm) = rm {
            changes.remove.extend(parse(rm)?);
        }
        if let Some(add) = add {
            changes.add.extend(crate::aws::cli_keys(opts, parse(add)?));
        }
    }
    Ok(changes)
}

/// The selector given on the command line, if any (at most one).
pub(crate) fn cli_selector(opts: &Opts) -> CliResult<Option<Selector>> {
    let given: Vec<Selector> = [
        opts.unencrypted_suffix
            .clone()
            .map(Selector::UnencryptedSuffix),
        opts.encrypted_suffix.clone().map(Selector::EncryptedSuffix),
        opts.unencrypted_regex
            .clone()
            .map(Selector::UnencryptedRegex),
        opts.encrypted_regex.clone().map(Selector::EncryptedRegex),
        opts.unencrypted_comment_regex
            .clone()
            .map(Selector::UnencryptedCommentRegex),
        opts.encrypted_comment_regex
            .clone()
            .map(Selector::EncryptedCommentRegex),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        return Err(Failure::new(
            ExitCode::ErrorConflictingParameters,
            "Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file",
        ));
    }
    Ok(given.into_iter().next())
}
