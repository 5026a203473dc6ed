//! `publish` destinations: `.sops.yaml` `destination_rules` as sops 3.11 reads them, the
//! Vault KV upload ([`vault`]), the S3 upload ([`s3`]) and the GCS upload ([`gcs`]).

pub mod gcs;
pub mod s3;
pub mod vault;

use crate::failure::{CliResult, Failure};
use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::{Map, Value};
use leafcrypt_core::ExitCode;
use regex::Regex;
use std::path::Path;

/// Where a file is published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// `s3_bucket` / `s3_prefix`.
    S3 {
        /// Bucket.
        bucket: String,
        /// Key prefix.
        prefix: String,
    },
    /// `gcs_bucket` / `gcs_prefix`.
    Gcs {
        /// Bucket.
        bucket: String,
        /// Object prefix.
        prefix: String,
    },
    /// `vault_path` and friends.
    Vault(vault::VaultDestination),
}

impl Destination {
    /// The URL sops prints for `file_name` at this destination.
    pub fn path(&self, file_name: &str) -> String {
        match self {
            Destination::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}{file_name}"),
            Destination::Gcs { bucket, prefix } => format!("gcs://{bucket}/{prefix}{file_name}"),
            Destination::Vault(v) => v.url(file_name),
        }
    }
}

/// The destination rule that applies to a file.
#[derive(Clone, Debug)]
pub struct DestinationRule {
    /// Where to publish.
    pub destination: Destination,
    /// `omit_extensions`.
    pub omit_extensions: bool,
    /// The key groups of `recreation_rule` (S3/GCS uploads are re-encrypted for them when
    /// its first group is not empty) and its Shamir threshold.
    pub recreation: (Vec<leafcrypt_core::metadata::KeyGroup>, usize),
}

fn text(rule: &Map, field: &str) -> String {
    match rule.get(field) {
        Some(Value::Str(s)) => s.clone(),
        Some(Value::Int(i)) => i.to_string(),
        _ => String::new(),
    }
}

/// The first destination rule of the config at `config_path` whose `path_regex` matches
/// `file_path` as given (a rule without one matches every file), as sops picks it.
pub fn rule_for_file(config_path: &Path, file_path: &str) -> CliResult<DestinationRule> {
    let err = |m: String| Failure::new(ExitCode::ErrorGeneric, m);
    let bytes = std::fs::read(config_path).map_err(|e| {
        err(format!(
            "error loading config {}: {e}",
            config_path.display()
        ))
    })?;
    let doc = Format::Yaml.store(None).parse(&bytes).map_err(|e| {
        err(format!(
            "error loading config {}: {e}",
            config_path.display()
        ))
    })?;
    let root = doc.tree.branches.into_iter().next().unwrap_or_default();
    let rule = matching_rule(&root, file_path)?;
    Ok(DestinationRule {
        destination: destination_of(rule)?,
        recreation: recreation_of(rule)?,
        omit_extensions: matches!(rule.get("omit_extensions"), Some(Value::Bool(true))),
    })
}

fn config_error(message: String) -> Failure {
    Failure::new(ExitCode::ErrorGeneric, message)
}

/// The first destination rule whose `path_regex` matches `file_path` (or has none).
fn matching_rule<'a>(root: &'a Map, file_path: &str) -> CliResult<&'a Map> {
    let err = config_error;
    let rules: Vec<&Map> = match root.get("destination_rules") {
        Some(Value::List(items)) => items.iter().filter_map(Value::as_map).collect(),
        _ => Vec::new(),
    };
    let mut chosen = None;
    for rule in rules {
        let regex = text(rule, "path_regex");
        if regex.is_empty() {
            chosen = Some(rule);
            break;
        }
        let re = Regex::new(&regex).map_err(|e| {
            err(format!(
                "error loading config: invalid path_regex {regex}: {e}"
            ))
        })?;
        if re.is_match(file_path) {
            chosen = Some(rule);
            break;
        }
    }
    chosen
        .ok_or_else(|| err("error loading config: no matching destination found in config".into()))
}

/// The one destination a rule names: S3, GCS or Vault KV.
fn destination_of(rule: &Map) -> CliResult<Destination> {
    let err = config_error;
    let (s3, gcs, vault_path) = (
        text(rule, "s3_bucket"),
        text(rule, "gcs_bucket"),
        text(rule, "vault_path"),
    );
    if [&s3, &gcs, &vault_path]
        .iter()
        .filter(|s| !s.is_empty())
        .count()
        > 1
    {
        return Err(err("error loading config: more than one destinations were found in a single destination rule, you can only use one per rule".into()));
    }
    if !s3.is_empty() {
        Ok(Destination::S3 {
            bucket: s3,
            prefix: text(rule, "s3_prefix"),
        })
    } else if !gcs.is_empty() {
        Ok(Destination::Gcs {
            bucket: gcs,
            prefix: text(rule, "gcs_prefix"),
        })
    } else if !vault_path.is_empty() {
        let version = text(rule, "vault_kv_version").parse().unwrap_or(0);
        Ok(Destination::Vault(vault::VaultDestination::new(
            &text(rule, "vault_address"),
            &vault_path,
            &text(rule, "vault_kv_mount_name"),
            version,
        )))
    } else {
        Err(err("no destination configured for this file".into()))
    }
}

/// The key groups and threshold of the rule's `recreation_rule` (none when absent).
fn recreation_of(rule: &Map) -> CliResult<(Vec<leafcrypt_core::metadata::KeyGroup>, usize)> {
    let err = config_error;
    Ok(match rule.get("recreation_rule").and_then(Value::as_map) {
        Some(recreation) => {
            let mut wrapper = Map::new();
            wrapper.push(
                "creation_rules",
                Value::List(vec![Value::Map(recreation.clone())]),
            );
            let config = leafcrypt_core::config::Config::from_map(&wrapper)
                .map_err(|e| err(format!("error loading config: recreation_rule: {e}")))?;
            let rule = config.creation_rules.into_iter().next().unwrap_or_default();
            (rule.key_groups, rule.shamir_threshold)
        }
        None => (Vec::new(), 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str, file: &str) -> CliResult<DestinationRule> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".sops.yaml");
        std::fs::write(&path, yaml).unwrap();
        rule_for_file(&path, file)
    }

    #[test]
    fn the_first_matching_rule_wins_with_sops_defaults() {
        let yaml = "destination_rules:\n  - path_regex: a\\.json$\n    vault_path: x\n  - vault_path: y/\n    vault_kv_version: 1\n    omit_extensions: true\n";
        let r = rule(yaml, "dir/a.json").unwrap();
        assert_eq!(
            r.destination,
            Destination::Vault(vault::VaultDestination::new("", "x/", "secret/", 2))
        );
        assert!(!r.omit_extensions);
        let r = rule(yaml, "b.json").unwrap();
        assert_eq!(
            r.destination,
            Destination::Vault(vault::VaultDestination::new("", "y/", "", 1))
        );
        assert!(r.omit_extensions);
    }

    #[test]
    fn errors_are_sops_s() {
        let none = rule("creation_rules: []\n", "a.json").unwrap_err();
        assert_eq!(
            none.message,
            "error loading config: no matching destination found in config"
        );
        let two = rule(
            "destination_rules:\n  - s3_bucket: b\n    vault_path: v\n",
            "a.json",
        )
        .unwrap_err();
        assert!(
            two.message
                .contains("more than one destinations were found"),
            "{}",
            two.message
        );
        let s3 = rule("destination_rules:\n  - s3_bucket: b\n    s3_prefix: p/\n    recreation_rule:\n      age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n", "a.json").unwrap();
        assert_eq!(s3.destination.path("a.json"), "s3://b/p/a.json");
        assert_eq!(s3.recreation.0.len(), 1);
    }
}
