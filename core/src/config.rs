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
    /// Position in `creation_rules` (0-based), for messages that name the rule.
    pub position: usize,
    /// Why the rule's keys could not be parsed (a malformed Vault URI, …): as in sops, an
    /// error only for the files this rule matches.
    key_error: Option<String>,
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
                let mut rule = CreationRule::from_map(rule)
                    .map_err(|e| bad(&format!("creation_rules[{i}]: {e}")))?;
                rule.position = i;
                config.creation_rules.push(rule);
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

    /// The first rule whose `path_regex` matches `relative_path` (or that has none), without
    /// [`Config::matching_rule`]'s error when none does: `--recursive` skips such files.
    pub fn first_match(&self, relative_path: &str) -> Option<&CreationRule> {
        let matched = self.explain(relative_path).matched?;
        Some(&self.creation_rules[matched])
    }

    /// The first rule matching `relative_path` (the file path relative to the config's
    /// directory when the file lies under it, else absolute).
    ///
    /// With rules present and none matching this is sops's error
    /// `error loading config: no matching creation rules found`.
    pub fn matching_rule(&self, relative_path: &str) -> Result<Option<&CreationRule>> {
        let explained = self.explain(relative_path);
        match explained.matched {
            None if self.creation_rules.is_empty() => Ok(None),
            None => Err(Error::Config(
                "error loading config: no matching creation rules found".into(),
            )),
            Some(i) => {
                let rule = &self.creation_rules[i];
                match &rule.key_error {
                    Some(e) => Err(bad(&format!("creation_rules[{}]: {e}", rule.position))),
                    None => Ok(Some(rule)),
                }
            }
        }
    }

    /// Why each rule up to the first match did or did not match `relative_path`: the one
    /// place rule matching is decided ([`Config::matching_rule`] uses it).
    pub fn explain(&self, relative_path: &str) -> Explanation {
        let mut verdicts = Vec::new();
        let mut matched = None;
        for rule in &self.creation_rules {
            let (hit, reason) = match &rule.path_regex {
                None => (true, "no path_regex: it matches every file".to_string()),
                Some(re) if re.is_match(relative_path) => (
                    true,
                    format!("path_regex '{}' matches '{relative_path}'", re.as_str()),
                ),
                Some(re) => (
                    false,
                    format!(
                        "path_regex '{}' does not match '{relative_path}'",
                        re.as_str()
                    ),
                ),
            };
            verdicts.push(RuleVerdict {
                position: rule.position,
                path_regex: rule.path_regex.as_ref().map(|r| r.as_str().to_string()),
                matched: hit,
                reason,
            });
            if hit {
                matched = Some(verdicts.len() - 1);
                break;
            }
        }
        Explanation {
            relative_path: relative_path.to_string(),
            rules: verdicts,
            matched,
        }
    }
}

/// How the creation rules were matched against one path (see [`Config::explain`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The path the rules were matched against.
    pub relative_path: String,
    /// The rules examined, in order, up to and including the first that matched.
    pub rules: Vec<RuleVerdict>,
    /// Index into `creation_rules` of the rule that matched, if any.
    pub matched: Option<usize>,
}

/// One rule's verdict in an [`Explanation`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleVerdict {
    /// Position in `creation_rules` (0-based).
    pub position: usize,
    /// Its `path_regex`, if any.
    pub path_regex: Option<String>,
    /// Whether it matched.
    pub matched: bool,
    /// Why, in words.
    pub reason: String,
}

impl CreationRule {
    /// The rule as messages name it: `creation_rules[N]` and its `path_regex`, if any.
    pub fn describe(&self) -> String {
        match &self.path_regex {
            Some(re) => format!(
                "creation_rules[{}] (path_regex '{}')",
                self.position,
                re.as_str()
            ),
            None => format!("creation_rules[{}]", self.position),
        }
    }

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
        match key_groups(map) {
            Ok(groups) => rule.key_groups = groups,
            Err(e) => {
                let text = e.to_string();
                let text = text.strip_prefix("invalid .sops.yaml: ").unwrap_or(&text);
                rule.key_error = Some(text.to_string());
            }
        }
        Ok(rule)
    }
}

/// A rule's key groups: `key_groups`, or (as sops, when there are none or the list is
/// empty) one group made of the flat key fields.
fn key_groups(map: &Map) -> Result<Vec<KeyGroup>> {
    let listed = match map.get("key_groups") {
        None | Some(Value::Null) => &[][..],
        Some(groups) => groups
            .as_list()
            .ok_or_else(|| bad("key_groups must be a list"))?,
    };
    let mut groups = Vec::new();
    for group in listed.iter().filter(|v| !matches!(v, Value::Comment(_))) {
        let group = group
            .as_map()
            .ok_or_else(|| bad("each key group must be a map"))?;
        groups.push(group_from_map(group)?);
    }
    if groups.is_empty() {
        let group = flat_group(map)?;
        if !group.keys.is_empty() {
            groups.push(group);
        }
    }
    Ok(groups)
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

/// One group from the flat key fields of a rule, in sops's order (age, pgp, kms, gcp_kms,
/// azure_keyvault, hc_vault_transit_uri; then hckms and pkcs11). Kinds leafcrypt has no key
/// source for are parsed too: they fail only when a file is wrapped for them.
fn flat_group(map: &Map) -> Result<KeyGroup> {
    let mut group = KeyGroup::default();
    let list = |field: &str| -> Result<Vec<String>> {
        map.get(field)
            .map(|v| string_list(v).map(|l| split_again(&l)))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    for r in list("age")? {
        push_unique(&mut group, KeyEntry::new("age").with("recipient", r));
    }
    for fp in list("pgp")? {
        push_unique(&mut group, pgp_entry(&fp));
    }
    let profile = map.get("aws_profile").and_then(Value::as_str).unwrap_or("");
    for arn in list("kms")? {
        push_unique(&mut group, kms_entry_from_arn(&arn, profile));
    }
    for id in list("gcp_kms")? {
        push_unique(&mut group, gcp_kms_entry(&id));
    }
    for url in list("azure_keyvault")? {
        push_unique(&mut group, azure_entry_from_url(&url)?);
    }
    for uri in list("hc_vault_transit_uri")? {
        push_unique(&mut group, hc_vault_entry_from_uri(&uri)?);
    }
    for id in list("hckms")? {
        push_unique(
            &mut group,
            KeyEntry::new("hckms").with("key_id", id.replace(' ', "")),
        );
    }
    if let Some(v) = map.get("pkcs11") {
        for uri in string_list(v)? {
            push_unique(&mut group, KeyEntry::new("pkcs11").with("uri", uri));
        }
    }
    Ok(group)
}

/// sops joins a flat field's keys with `,` and splits again: a list item may hold several.
fn split_again(items: &[String]) -> Vec<String> {
    items
        .iter()
        .flat_map(|i| i.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A `pgp` key description: the fingerprint with its spaces removed, as sops stores it.
pub fn pgp_entry(fingerprint: &str) -> KeyEntry {
    KeyEntry::new("pgp").with("fp", fingerprint.replace(' ', ""))
}

/// A `kms` key description from sops's `ARN[+ROLE_ARN]` syntax (spaces removed).
pub fn kms_entry_from_arn(arn: &str, aws_profile: &str) -> KeyEntry {
    let arn = arn.replace(' ', "");
    let mut entry = KeyEntry::new("kms");
    match arn.find("+arn:aws:iam::").filter(|i| *i > 0) {
        Some(i) => {
            entry.set("arn", &arn[..i]);
            entry.set("role", &arn[i + 1..]);
        }
        None => entry.set("arn", arn.as_str()),
    }
    if !aws_profile.is_empty() {
        entry.set("aws_profile", aws_profile);
    }
    entry
}

/// A `gcp_kms` key description (spaces removed, as sops does).
pub fn gcp_kms_entry(resource_id: &str) -> KeyEntry {
    KeyEntry::new("gcp_kms").with("resource_id", resource_id.replace(' ', ""))
}

/// An `hc_vault` key description from a transit key URI
/// `https://vault.example.com:8200/v1/transit/keys/keyName`, split as sops splits it:
/// `vault_address` (scheme and host), `engine_path` (between `v1/` and `keys/`), `key_name`.
pub fn hc_vault_entry_from_uri(uri: &str) -> Result<KeyEntry> {
    let example = "https://vault.example.com:8200/v1/transit/keys/keyName";
    let (scheme, rest) = uri
        .split_once("://")
        .filter(|(s, _)| !s.is_empty())
        .ok_or_else(|| {
            bad(&format!(
                "missing scheme in Vault URL (should be like this: {example}), got: {uri}"
            ))
        })?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let version =
        |s: &str| s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit());
    let dirs: Vec<&str> = path.trim_matches('/').split('/').collect();
    // sops: `/vN/<engine…>/<keys>/<name>` somewhere in the path; a prefix before `/vN` is refused.
    let Some(v) = dirs
        .iter()
        .position(|d| version(d))
        .filter(|v| dirs.len() >= v + 4)
    else {
        return Err(bad(&format!(
            "vault path does not seem to be formatted correctly: (eg. {example}), got: {uri}"
        )));
    };
    if v > 0 {
        return Err(bad(&format!(
            "running Vault with a prefixed URL is not supported! (Format has to be like {example}), got: {uri}"
        )));
    }
    Ok(KeyEntry::new("hc_vault")
        .with("vault_address", format!("{scheme}://{host}"))
        .with("engine_path", dirs[1..dirs.len() - 2].join("/"))
        .with("key_name", dirs[dirs.len() - 1]))
}

/// A `key_groups` element: `age: [..]`, `azure_keyvault: [{vaultUrl, key, version}]`,
/// `pkcs11: [..]`, `merge: [group…]`.
fn group_from_map(map: &Map) -> Result<KeyGroup> {
    let mut group = KeyGroup::default();
    // sops's order: merged groups first, then age, pgp, kms, gcp_kms, azure_keyvault,
    // hc_vault; leafcrypt's own kinds after them.
    const ORDER: [&str; 9] = [
        "merge",
        "age",
        "pgp",
        "kms",
        "gcp_kms",
        "azure_keyvault",
        "hc_vault",
        "hckms",
        "pkcs11",
    ];
    for (field, value) in ORDER.iter().filter_map(|f| map.get(f).map(|v| (*f, v))) {
        for entry in field_entries(field, value)? {
            push_unique(&mut group, entry);
        }
    }
    Ok(group)
}

/// The key entries of one `key_groups` field, in file order (duplicates included).
fn field_entries(field: &str, value: &Value) -> Result<Vec<KeyEntry>> {
    let strings = |kind: &str, key: &str| -> Result<Vec<KeyEntry>> {
        Ok(string_list(value)?
            .into_iter()
            .map(|s| KeyEntry::new(kind).with(key, s))
            .collect())
    };
    Ok(match field {
        "age" => strings("age", "recipient")?,
        "pkcs11" => strings("pkcs11", "uri")?,
        "azure_keyvault" => azure_keyvault_entries(value)?,
        "merge" => merged_entries(value)?,
        "pgp" => string_list(value)?.iter().map(|fp| pgp_entry(fp)).collect(),
        "hc_vault" => string_list(value)?
            .iter()
            .map(|uri| hc_vault_entry_from_uri(uri))
            .collect::<Result<_>>()?,
        "hckms" => string_list(value)?
            .into_iter()
            .map(|id| KeyEntry::new("hckms").with("key_id", id.replace(' ', "")))
            .collect(),
        "kms" => maps(value, "kms")?
            .into_iter()
            .map(kms_entry_from_map)
            .collect(),
        "gcp_kms" => maps(value, "gcp_kms")?
            .into_iter()
            .map(|m| gcp_kms_entry(m.get("resource_id").and_then(Value::as_str).unwrap_or("")))
            .collect(),
        _ => Vec::new(),
    })
}

/// `azure_keyvault: [{vaultUrl, key, version}]` entries (missing fields are empty).
fn azure_keyvault_entries(value: &Value) -> Result<Vec<KeyEntry>> {
    let mut entries = Vec::new();
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
        entries.push(
            KeyEntry::new("azure_kv")
                .with("vault_url", get("vaultUrl"))
                .with("name", get("key"))
                .with("version", get("version")),
        );
    }
    Ok(entries)
}

/// The keys of the groups a `merge: [group…]` field lists, each group deduplicated.
fn merged_entries(value: &Value) -> Result<Vec<KeyEntry>> {
    let mut entries = Vec::new();
    for sub in value.as_list().unwrap_or_default() {
        let sub = sub
            .as_map()
            .ok_or_else(|| bad("merge entries must be key groups"))?;
        entries.extend(group_from_map(sub)?.keys);
    }
    Ok(entries)
}

/// The maps of a `key_groups` list field (`kms: [{arn: …}]`); `null` is empty.
fn maps<'v>(value: &'v Value, field: &str) -> Result<Vec<&'v Map>> {
    value
        .as_list()
        .unwrap_or_default()
        .iter()
        .filter(|v| !matches!(v, Value::Comment(_)))
        .map(|v| {
            v.as_map()
                .ok_or_else(|| bad(&format!("{field} entries must be maps")))
        })
        .collect()
}

/// A `kms` key description from a `key_groups` entry `{arn, role, context, aws_profile}`.
fn kms_entry_from_map(m: &Map) -> KeyEntry {
    let get = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let mut entry = KeyEntry::new("kms").with("arn", get("arn"));
    if !get("role").is_empty() {
        entry.set("role", get("role"));
    }
    if let Some(Value::Map(context)) = m.get("context") {
        if !context.entries.is_empty() {
            entry
                .fields
                .push(("context".into(), Value::Map(context.clone())));
        }
    }
    if !get("aws_profile").is_empty() {
        entry.set("aws_profile", get("aws_profile"));
    }
    entry
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
    fn explain_says_why_earlier_rules_did_not_match() {
        let c = config(vec![
            rule_map(vec![
                ("path_regex", Value::Str("^prod/".into())),
                ("age", Value::Str("age1a".into())),
            ]),
            rule_map(vec![
                ("path_regex", Value::Str("\\.yaml$".into())),
                ("age", Value::Str("age1b".into())),
            ]),
            rule_map(vec![("age", Value::Str("age1c".into()))]),
        ]);
        let e = c.explain("dev/x.yaml");
        assert_eq!(e.matched, Some(1));
        assert_eq!(e.rules.len(), 2);
        assert_eq!(
            e.rules[0].reason,
            "path_regex '^prod/' does not match 'dev/x.yaml'"
        );
        assert_eq!(
            e.rules[1].reason,
            "path_regex '\\.yaml$' matches 'dev/x.yaml'"
        );
        let e = c.explain("dev/x.json");
        assert_eq!(e.matched, Some(2));
        assert_eq!(e.rules[2].reason, "no path_regex: it matches every file");
        assert_eq!(config(vec![]).explain("x").matched, None);
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
        // sops: the merged groups' keys first, then the group's own (age1x deduplicated).
        assert_eq!(ids, ["age1y", "age1x"]);
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

    #[test]
    fn other_kinds_are_parsed_into_entries_not_refused() {
        let c = config(vec![
            rule_map(vec![
                ("path_regex", Value::Str("^aws/".into())),
                (
                    "kms",
                    Value::Str(
                        "arn:aws:kms:us-east-1:1:key/a+arn:aws:iam::1:role/r, arn:aws:kms:us-east-1:1:key/b"
                            .into(),
                    ),
                ),
                ("aws_profile", Value::Str("prof".into())),
            ]),
            rule_map(vec![
                ("path_regex", Value::Str("^mixed/".into())),
                ("age", Value::Str("age1a".into())),
                ("pgp", Value::List(vec![Value::Str("AB CD,EF01".into())])),
                ("gcp_kms", Value::Str("projects/p/locations/l/keyRings/r/cryptoKeys/k".into())),
                (
                    "hc_vault_transit_uri",
                    Value::Str("https://vault:8200/v1/sops/transit/keys/k1".into()),
                ),
            ]),
        ]);
        let r = c.matching_rule("aws/x.yaml").unwrap().unwrap();
        let kms = &r.key_groups[0].keys;
        assert_eq!(kms.len(), 2);
        assert_eq!(kms[0].get("arn"), Some("arn:aws:kms:us-east-1:1:key/a"));
        assert_eq!(kms[0].get("role"), Some("arn:aws:iam::1:role/r"));
        assert_eq!(kms[0].get("aws_profile"), Some("prof"));
        assert_eq!(kms[1].get("role"), None);
        assert_eq!(r.describe(), "creation_rules[0] (path_regex '^aws/')");
        let r = c.matching_rule("mixed/x.yaml").unwrap().unwrap();
        let kinds: Vec<(&str, String)> = r.key_groups[0]
            .keys
            .iter()
            .map(|k| (k.kind.as_str(), k.identity()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("age", "age1a".to_string()),
                ("pgp", "ABCD".to_string()),
                ("pgp", "EF01".to_string()),
                (
                    "gcp_kms",
                    "projects/p/locations/l/keyRings/r/cryptoKeys/k".to_string()
                ),
                (
                    "hc_vault",
                    "https://vault:8200/v1/sops/transit/keys/k1".to_string()
                ),
            ]
        );
        let vault = &r.key_groups[0].keys[4];
        assert_eq!(vault.get("engine_path"), Some("sops/transit"));
        assert_eq!(vault.get("key_name"), Some("k1"));
    }

    #[test]
    fn key_groups_take_every_kind() {
        let mut kms = Map::new();
        kms.push("arn", Value::Str("arn:aws:kms:eu-west-1:1:key/x".into()));
        let mut context = Map::new();
        context.push("app", Value::Str("leafcrypt".into()));
        kms.push("context", Value::Map(context));
        let mut gcp = Map::new();
        gcp.push("resource_id", Value::Str("projects/p/k".into()));
        let group = Value::Map(rule_map(vec![
            ("pgp", Value::List(vec![Value::Str("0123 4567".into())])),
            ("kms", Value::List(vec![Value::Map(kms)])),
            ("gcp_kms", Value::List(vec![Value::Map(gcp)])),
            (
                "hc_vault",
                Value::List(vec![Value::Str(
                    "http://127.0.0.1:8200/v1/transit/keys/k".into(),
                )]),
            ),
            ("age", Value::List(vec![Value::Str("age1z".into())])),
        ]));
        let c = config(vec![rule_map(vec![(
            "key_groups",
            Value::List(vec![group]),
        )])]);
        let keys = &c.matching_rule("f").unwrap().unwrap().key_groups[0].keys;
        let kinds: Vec<&str> = keys.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(kinds, ["age", "pgp", "kms", "gcp_kms", "hc_vault"]);
        assert_eq!(keys[1].get("fp"), Some("01234567"));
        assert!(matches!(
            keys[2].fields.iter().find(|(k, _)| k == "context"),
            Some((_, Value::Map(_)))
        ));
        assert_eq!(keys[4].get("vault_address"), Some("http://127.0.0.1:8200"));
        assert_eq!(keys[4].get("engine_path"), Some("transit"));
    }

    #[test]
    fn vault_uris_are_checked_like_sops() {
        for bad_uri in [
            "vault:8200/v1/transit/keys/k",
            "https://vault/transit/keys/k",
            "https://vault/prefix/v1/transit/keys/k",
            "https://vault/v1/keys/k",
        ] {
            assert!(hc_vault_entry_from_uri(bad_uri).is_err(), "{bad_uri}");
        }
        let e = hc_vault_entry_from_uri("https://v.example:8200/v1/a/b/keys/name").unwrap();
        assert_eq!(e.get("engine_path"), Some("a/b"));
    }

    #[test]
    fn an_empty_key_groups_list_falls_back_to_the_flat_keys_as_in_sops() {
        let c = config(vec![rule_map(vec![
            ("key_groups", Value::List(vec![])),
            (
                "pgp",
                Value::Str("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4".into()),
            ),
        ])]);
        let r = c.matching_rule("f").unwrap().unwrap();
        assert_eq!(r.key_groups.len(), 1);
        assert_eq!(
            r.key_groups[0].keys[0].get("fp"),
            Some("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4")
        );
        let c = config(vec![rule_map(vec![("key_groups", Value::Null)])]);
        assert!(c.matching_rule("f").unwrap().unwrap().key_groups.is_empty());
    }

    #[test]
    fn group_keys_come_in_sops_order_merged_first() {
        let merged = Value::Map(rule_map(vec![(
            "pgp",
            Value::List(vec![Value::Str("BBBB".into())]),
        )]));
        let group = Value::Map(rule_map(vec![
            ("pgp", Value::List(vec![Value::Str("AAAA".into())])),
            ("age", Value::List(vec![Value::Str("age1z".into())])),
            ("merge", Value::List(vec![merged])),
        ]));
        let c = config(vec![rule_map(vec![(
            "key_groups",
            Value::List(vec![group]),
        )])]);
        let keys = &c.matching_rule("f").unwrap().unwrap().key_groups[0].keys;
        let ids: Vec<String> = keys.iter().map(KeyEntry::identity).collect();
        assert_eq!(ids, ["BBBB", "age1z", "AAAA"]);
    }

    #[test]
    fn bad_keys_fail_only_the_files_their_rule_matches() {
        let c = config(vec![
            rule_map(vec![
                ("path_regex", Value::Str("^vault/".into())),
                (
                    "hc_vault_transit_uri",
                    Value::Str("vault.example:8200/v1/transit/keys/k".into()),
                ),
            ]),
            rule_map(vec![("age", Value::Str("age1a".into()))]),
        ]);
        assert!(c.matching_rule("other.yaml").unwrap().is_some());
        let err = c.matching_rule("vault/x.yaml").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid .sops.yaml: creation_rules[0]: missing scheme in Vault URL"),
            "{err}"
        );
    }
}
