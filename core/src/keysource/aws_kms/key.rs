//! `kms` key descriptions as sops 3.11 writes them: the key ARN, an optional IAM role to
//! assume (`ARN+ROLE_ARN` on the command line), an encryption context and an AWS profile.

use crate::keysource::KeyEntry;
use crate::tree::{Entry, Map, Value};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The metadata kind of AWS KMS entries.
pub const KIND: &str = "kms";

/// The ARN pattern sops 3.11 accepts; group 1 is the region.
const ARN_PATTERN: &str = r"^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$";

/// One AWS KMS key as an entry describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsKey {
    /// The key (or alias) ARN.
    pub arn: String,
    /// An IAM role ARN assumed through STS before calling KMS.
    pub role: Option<String>,
    /// The encryption context (sorted, as sops writes it).
    pub context: BTreeMap<String, String>,
    /// The AWS profile of the shared config files to take credentials from.
    pub profile: Option<String>,
}

impl KmsKey {
    /// The key `entry` describes. A context value that is not a string makes the whole
    /// context ignored, as sops does (it warns and uses none).
    pub fn from_entry(entry: &KeyEntry) -> Self {
        let non_empty = |f: &str| entry.get(f).filter(|s| !s.is_empty()).map(str::to_string);
        let context = entry
            .fields
            .iter()
            .find(|(k, _)| k == "context")
            .and_then(|(_, v)| match v {
                Value::Map(m) => context_from_map(m),
                _ => None,
            })
            .unwrap_or_default();
        Self {
            arn: entry.get("arn").unwrap_or_default().to_string(),
            role: non_empty("role"),
            context,
            profile: non_empty("aws_profile"),
        }
    }

    /// The key's region, from its ARN (sops refuses anything that is not a KMS ARN).
    pub fn region(&self) -> Option<&str> {
        region_of(&self.arn)
    }

    /// The description entry (no `enc`, no `created_at`) in sops's field order.
    pub fn to_entry(&self) -> KeyEntry {
        let mut entry = KeyEntry::new(KIND).with("arn", self.arn.as_str());
        if let Some(role) = &self.role {
            entry.set("role", role.as_str());
        }
        if !self.context.is_empty() {
            entry
                .fields
                .push(("context".into(), Value::Map(context_map(&self.context))));
        }
        if let Some(profile) = &self.profile {
            entry.set("aws_profile", profile.as_str());
        }
        entry
    }

    /// sops's `ARN[+ROLE]|context|profile` display form (`ToString`).
    pub fn display(&self) -> String {
        let mut s = self.arn.clone();
        if let Some(role) = &self.role {
            s = format!("{s}+{role}");
        }
        let context = context_to_string(&self.context);
        match &self.profile {
            Some(p) => format!("{s}|{context}|{p}"),
            None if !context.is_empty() => format!("{s}|{context}"),
            None => s,
        }
    }
}

/// The region of a KMS key or alias ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`), as sops's
/// pattern matches it; `None` when it is not one.
pub fn region_of(arn: &str) -> Option<&str> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(ARN_PATTERN).expect("valid pattern"));
    re.captures(arn).and_then(|c| c.get(1)).map(|m| m.as_str())
}

/// sops's `--encryption-context` syntax: `key:value,key2:value2`. Empty text is no
/// context; a pair without exactly one `:` makes sops warn and use no context at all,
/// which is `Err` here with the warning's text (callers warn and continue).
pub fn parse_context(text: &str) -> Result<BTreeMap<String, String>, &'static str> {
    let mut out = BTreeMap::new();
    if text.is_empty() {
        return Ok(out);
    }
    for pair in text.split(',') {
        let parts: Vec<&str> = pair.split(':').collect();
        let [k, v] = parts.as_slice() else {
            return Err(NON_STRING_WARNING);
        };
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// sops's warning when a context cannot be used.
pub const NON_STRING_WARNING: &str =
    "Encryption context contains a non-string value, context will not be used";

/// A context map from a metadata or config map: `None` when a value is not a string
/// (sops then uses no context).
pub fn context_from_map(map: &Map) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for e in &map.entries {
        if let Entry::Pair(k, v) = e {
            out.insert(k.clone(), v.as_str()?.to_string());
        }
    }
    Some(out)
}

/// The tree map of a context, keys sorted.
pub fn context_map(context: &BTreeMap<String, String>) -> Map {
    let mut map = Map::new();
    for (k, v) in context {
        map.push(k.clone(), Value::Str(v.clone()));
    }
    map
}

/// `k:v,k2:v2`, keys sorted (sops's `kmsContextToString`).
pub fn context_to_string(context: &BTreeMap<String, String>) -> String {
    context
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_arn_as_sops_matches_it() {
        assert_eq!(
            region_of("arn:aws:kms:eu-west-1:123456789012:key/abc"),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of("arn:aws-cn:kms:cn-north-1:1:alias/x"),
            Some("cn-north-1")
        );
        assert_eq!(region_of("alias/x"), None);
        assert_eq!(region_of("arn:aws:kms:eu-west-1:abc:key/x"), None);
        assert_eq!(region_of("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn context_parses_as_sops_does() {
        let c = parse_context("b:2,a:1").unwrap();
        assert_eq!(context_to_string(&c), "a:1,b:2");
        assert!(parse_context("").unwrap().is_empty());
        assert_eq!(parse_context("a:1,b"), Err(NON_STRING_WARNING));
        assert_eq!(parse_context("a:1:2"), Err(NON_STRING_WARNING));
        // Empty keys and values are accepted, as by Go's strings.Split.
        assert_eq!(parse_context(":").unwrap().get(""), Some(&String::new()));
    }

    #[test]
    fn entry_round_trips_role_context_and_profile() {
        let mut ctx = Map::new();
        ctx.push("z", Value::Str("1".into()));
        ctx.push("a", Value::Str("2".into()));
        let mut entry = KeyEntry::new(KIND)
            .with("arn", "arn:aws:kms:us-east-1:1:key/k")
            .with("role", "arn:aws:iam::1:role/r");
        entry.fields.push(("context".into(), Value::Map(ctx)));
        entry.set("aws_profile", "dev");
        entry.set("enc", "x");
        let key = KmsKey::from_entry(&entry);
        assert_eq!(key.role.as_deref(), Some("arn:aws:iam::1:role/r"));
        assert_eq!(key.profile.as_deref(), Some("dev"));
        assert_eq!(
            key.display(),
            "arn:aws:kms:us-east-1:1:key/k+arn:aws:iam::1:role/r|a:2,z:1|dev"
        );
        let back = key.to_entry();
        assert_eq!(KmsKey::from_entry(&back), key);
        assert_eq!(back.get("enc"), None);
        // A non-string context value: no context, as sops.
        let mut bad = Map::new();
        bad.push("n", Value::Int(1));
        let mut e = KeyEntry::new(KIND).with("arn", "a");
        e.fields.push(("context".into(), Value::Map(bad)));
        assert!(KmsKey::from_entry(&e).context.is_empty());
    }
}
