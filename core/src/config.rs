//! `.sops.yaml` creation rules: parsing and matching.
//!
//! Discovery on disk (walking up from the working directory) is the front end's job; this
//! module takes the parsed document and a file path relative to the config's directory.

use crate::keysource::KeyEntry;
use crate::metadata::{KeyGroup, Selector};
use crate::tree::{Map, Value};
use crate::{Error, Result};
use regex::Regex;

/// A parsed `.sops.yaml`.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `creation_rules`, in order.
    pub creation_rules: Vec<CreationRule>,
    /// `stores.yaml.indent`.
    pub yaml_indent: Option<usize>,
    /// `stores.json.indent` (`None`: TAB).
    pub json_indent: Option<usize>,
    /// `stores.json_binary.indent`.
    pub json_binary_indent: Option<usize>,
}

/// One creation rule.
#[derive(Clone, Debug, Default)]
pub struct CreationRule {
    /// `path_regex` (unanchored search); `None` matches every file.
    pub path_regex: Option<Regex>,
    /// Key groups (from `key_groups`, or one group built from the flat key fields).
    pub key_groups: Vec<KeyGroup>,
    /// `shamir_threshold` (0 = unset).
    pub shamir_threshold: usize,
    /// The rule's selector, if any.
    pub selector: Option<Selector>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
}

impl Config {
    /// Parses a `.sops.yaml` document (already parsed by the YAML store).
    pub fn from_map(map: &Map) -> Result<Config> {
        let mut config = Config::default();
        if let Some(rules) = map.get("creation_rules") {
            let rules = rules
                .as_list()
                .ok_or_else(|| bad("creation_rules must be a list"))?;
            for (i, rule) in rules
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .enumerate()
            {
                let rule = rule
                    .as_map()
                    .ok_or_else(|| bad(&format!("creation_rules[{i}] must be a map")))?;
                config.creation_rules.push(
                    CreationRule::from_map(rule)
                        .map_err(|e| bad(&format!("creation_rules[{i}]: {e}")))?,
                );
            }
        }
        if let Some(stores) = map.get("stores").and_then(Value::as_map) {
            let indent = |name: &str| -> Result<Option<i64>> {
                match stores
                    .get(name)
                    .and_then(Value::as_map)
                    .and_then(|m| m.get("indent"))
                {
                    None => Ok(None),
                    Some(v) => int(v)
                        .map(Some)
                        .ok_or_else(|| bad(&format!("stores.{name}.indent must be an integer"))),
                }
            };
            config.yaml_indent = indent("yaml")?.map(|i| i.max(0) as usize);
            config.json_indent = indent("json")?.filter(|i| *i >= 0).map(|i| i as usize);
            config.json_binary_indent = indent("json_binary")?
                .filter(|i| *i >= 0)
                .map(|i| i as usize);
        }
        Ok(config)
    }

    /// The first rule matching `relative_path` (the file path relative to the config's
    /// directory when the file lies under it, else absolute).
    ///
    /// With rules present and none matching this is sops's error
    /// `error loading config: no matching creation rules found`.
    pub fn matching_rule(&self, relative_path: &str) -> Result<Option<&CreationRule>> {
        if self.creation_rules.is_empty() {
            return Ok(None);
        }
        self.creation_rules
            .iter()
            .find(|r| {
                r.path_regex
                    .as_ref()
                    .is_none_or(|re| re.is_match(relative_path))
            })
            .map(Some)
            .ok_or_else(|| {
                Error::Config("error loading config: no matching creation rules found".into())
            })
    }
}

impl CreationRule {
    fn from_map(map: &Map) -> Result<CreationRule> {
        let mut rule = CreationRule::default();
        if let Some(re) = map.get("path_regex").and_then(Value::as_str) {
            rule.path_regex =
                Some(Regex::new(re).map_err(|e| bad(&format!("invalid path_regex: {e}")))?);
        }
        if let Some(t) = map.get("shamir_threshold") {
            rule.shamir_threshold = int(t)
                .filter(|t| *t >= 0)
                .ok_or_else(|| bad("shamir_threshold must be a non-negative integer"))?
                as usize;
        }
        rule.mac_only_encrypted = matches!(map.get("mac_only_encrypted"), Some(Value::Bool(true)));
        for field in Selector::FIELDS {
            if let Some(p) = map
                .get(field)
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
            {
                if rule.selector.is_some() {
                    return Err(bad("Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file"));
                }
                rule.selector = Selector::from_field(field, p);
            }
        }
        if let Some(groups) = map.get("key_groups") {
            let groups = groups
                .as_list()
                .ok_or_else(|| bad("key_groups must be a list"))?;
            for group in groups.iter().filter(|v| !matches!(v, Value::Comment(_))) {
                let group = group
                    .as_map()
                    .ok_or_else(|| bad("each key group must be a map"))?;
                rule.key_groups.push(group_from_map(group)?);
            }
        } else {
            let group = flat_group(map)?;
            if !group.keys.is_empty() {
                rule.key_groups.push(group);
            }
        }
        Ok(rule)
    }
}

/// Splits sops's "comma-separated string or list of strings" key fields.
fn string_list(value: &Value) -> Result<Vec<String>> {
    match value {
        Value::Str(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()),
        Value::List(items) => items
            .iter()
            .filter(|v| !matches!(v, Value::Comment(_)))
            .map(|v| {
                v.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| bad("key lists must hold strings"))
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        _ => Err(bad(
            "keys must be a comma-separated string or a list of strings",
        )),
    }
}

/// One group from the flat key fields of a rule, in sops's order.
fn flat_group(map: &Map) -> Result<KeyGroup> {
    let mut group = KeyGroup::default();
    if let Some(v) = map.get("age") {
        for r in string_list(v)? {
            push_unique(&mut group, KeyEntry::new("age").with("recipient", r));
        }
    }
    for (field, kind) in [
        ("pgp", "pgp"),
        ("kms", "kms"),
        ("gcp_kms", "gcp_kms"),
        ("hckms", "hckms"),
    ] {
        if let Some(v) = map.get(field) {
            if !string_list(v)?.is_empty() {
                return Err(unsupported(kind));
            }
        }
    }
    if let Some(v) = map.get("azure_keyvault") {
        for url in string_list(v)? {
            push_unique(&mut group, azure_entry_from_url(&url)?);
        }
    }
    if let Some(v) = map.get("hc_vault_transit_uri") {
        if !string_list(v)?.is_empty() {
            return Err(unsupported("hc_vault"));
        }
    }
    if let Some(v) = map.get("pkcs11") {
        for uri in string_list(v)? {
            push_unique(&mut group, KeyEntry::new("pkcs11").with("uri", uri));
        }
    }
    Ok(group)
}

/// A `key_groups` element: `age: [..]`, `azure_keyvault: [{vaultUrl, key, version}]`,
/// `pkcs11: [..]`, `merge: [group…]`.
fn group_from_map(map: &Map) -> Result<KeyGroup> {
    let mut group = KeyGroup::default();
    for (field, value) in map.pairs() {
        match field {
            "age" => {
                for r in string_list(value)? {
                    push_unique(&mut group, KeyEntry::new("age").with("recipient", r));
                }
            }
            "pkcs11" => {
                for uri in string_list(value)? {
                    push_unique(&mut group, KeyEntry::new("pkcs11").with("uri", uri));
                }
            }
            "azure_keyvault" => {
                for item in value.as_list().unwrap_or_default() {
                    let m = item
                        .as_map()
                        .ok_or_else(|| bad("azure_keyvault entries must be maps"))?;
                    let get = |k: &str| {
                        m.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    let entry = KeyEntry::new("azure_kv")
                        .with("vault_url", get("vaultUrl"))
                        .with("name", get("key"))
                        .with("version", get("version"));
                    push_unique(&mut group, entry);
                }
            }
            "merge" => {
                for sub in value.as_list().unwrap_or_default() {
                    let sub = sub
                        .as_map()
                        .ok_or_else(|| bad("merge entries must be key groups"))?;
                    for key in group_from_map(sub)?.keys {
                        push_unique(&mut group, key);
                    }
                }
            }
            "pgp" | "kms" | "gcp_kms" | "hckms" | "hc_vault" => {
                let empty =
                    matches!(value, Value::Null) || value.as_list().is_some_and(|l| l.is_empty());
                if !empty {
                    return Err(unsupported(field));
                }
            }
            _ => {}
        }
    }
    Ok(group)
}

/// Parses `https://<vault-host>/keys/<name>[/<version>]` as sops does (see
/// [`KeyId::parse`](crate::keysource::azure_kv::KeyId::parse)).
pub fn azure_entry_from_url(url: &str) -> Result<KeyEntry> {
    crate::keysource::azure_kv::KeyId::parse(url)
        .map(|id| id.to_entry())
        .map_err(|e| bad(&e.to_string()))
}

fn push_unique(group: &mut KeyGroup, entry: KeyEntry) {
    if !group.keys.contains(&entry) {
        group.keys.push(entry);
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bad(message: &str) -> Error {
    Error::Config(format!("invalid .sops.yaml: {message}"))
}

fn unsupported(kind: &str) -> Error {
    Error::Config(format!(
        "invalid .sops.yaml: '{kind}' keys are not supported by leafcrypt (supported: age, azure_keyvault, pkcs11)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_map(pairs: Vec<(&str, Value)>) -> Map {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.push(k, v);
        }
        m
    }

    fn config(rules: Vec<Map>) -> Config {
        let mut root = Map::new();
        root.push(
            "creation_rules",
            Value::List(rules.into_iter().map(Value::Map).collect()),
        );
        Config::from_map(&root).expect("valid config")
    }

    #[test]
    fn first_matching_rule_wins_and_regex_is_unanchored() {
        let c = config(vec![
            rule_map(vec![
                ("path_regex", Value::Str("prod/.*\\.yaml".into())),
                ("age", Value::Str("age1a".into())),
            ]),
            rule_map(vec![("age", Value::Str(" age1b , ,age1c".into()))]),
        ]);
        let r = c.matching_rule("deploy/prod/x.yaml").unwrap().unwrap();
        assert_eq!(r.key_groups[0].keys[0].get("recipient"), Some("age1a"));
        let r = c.matching_rule("dev/x.yaml").unwrap().unwrap();
        let recips: Vec<_> = r.key_groups[0]
            .keys
            .iter()
            .map(|k| k.get("recipient").unwrap())
            .collect();
        assert_eq!(recips, ["age1b", "age1c"]);
    }

    #[test]
    fn no_matching_rule_is_sops_error() {
        let c = config(vec![rule_map(vec![(
            "path_regex",
            Value::Str("^x$".into()),
        )])]);
        let err = c.matching_rule("y").unwrap_err().to_string();
        assert_eq!(
            err,
            "error loading config: no matching creation rules found"
        );
        assert!(Config::default().matching_rule("y").unwrap().is_none());
    }

    #[test]
    fn key_groups_with_merge_and_threshold() {
        let group = |r: &str| {
            Value::Map(rule_map(vec![(
                "age",
                Value::List(vec![Value::Str(r.into())]),
            )]))
        };
        let merged = Value::Map(rule_map(vec![
            ("age", Value::List(vec![Value::Str("age1x".into())])),
            ("merge", Value::List(vec![group("age1y"), group("age1x")])),
        ]));
        let c = config(vec![rule_map(vec![
            ("shamir_threshold", Value::Int(2)),
            ("key_groups", Value::List(vec![group("age1a"), merged])),
            ("encrypted_regex", Value::Str("^data$".into())),
        ])]);
        let r = c.matching_rule("f").unwrap().unwrap();
        assert_eq!(r.shamir_threshold, 2);
        assert_eq!(r.key_groups.len(), 2);
        let ids: Vec<_> = r.key_groups[1]
            .keys
            .iter()
            .map(KeyEntry::identity)
            .collect();
        assert_eq!(ids, ["age1x", "age1y"]);
        assert_eq!(r.selector, Some(Selector::EncryptedRegex("^data$".into())));
    }

    #[test]
    fn two_selectors_in_one_rule_are_refused() {
        let mut root = Map::new();
        root.push(
            "creation_rules",
            Value::List(vec![Value::Map(rule_map(vec![
                ("encrypted_regex", Value::Str("a".into())),
                ("unencrypted_suffix", Value::Str("_u".into())),
            ]))]),
        );
        assert!(Config::from_map(&root)
            .unwrap_err()
            .to_string()
            .contains("Cannot use more than one"));
    }

    #[test]
    fn azure_urls_parse_like_sops() {
        let e = azure_entry_from_url(" https://v.vault.azure.net/keys/k/abc ").unwrap();
        assert_eq!(e.identity(), "https://v.vault.azure.net/keys/k/abc");
        assert_eq!(
            azure_entry_from_url("https://v/keys/k")
                .unwrap()
                .get("version"),
            Some("")
        );
        assert!(azure_entry_from_url("http://v/keys/k").is_err());
        assert!(azure_entry_from_url("https://v/keys/k/1/2").is_err());
    }
}
