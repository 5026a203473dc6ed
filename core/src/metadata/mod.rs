//! The `sops` metadata block: key groups, selectors, `lastmodified`, MAC and version.
//!
//! [`Metadata::to_map`] / [`Metadata::from_map`] convert to and from the tree form that the
//! YAML and JSON stores embed under the top-level `sops` key (3.11 field order, legacy
//! layouts accepted); [`Metadata::to_flat`] / [`Metadata::from_flat`] give the flattened
//! `sops_…` form of dotenv and INI.
//!
//! Key kinds sops does not know (e.g. `pkcs11`) are kept: inside a key group after the
//! known kinds, and in the single-group layout after `age` (before `lastmodified`), each
//! with its fields in stored order.

mod entries;
mod flat;
mod rfc3339;
mod version;

pub use version::check_version;

use crate::error::{Error, Result};
use crate::keysource::KeyEntry;
use crate::tree::{Map, Value};

/// Which leaves and comments get encrypted. At most one selector applies to a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// Keys whose path has a component ending with this suffix stay plain.
    UnencryptedSuffix(String),
    /// Only keys whose path has a component ending with this suffix are encrypted.
    EncryptedSuffix(String),
    /// Keys whose path has a component matching this regex stay plain.
    UnencryptedRegex(String),
    /// Only keys whose path has a component matching this regex are encrypted.
    EncryptedRegex(String),
    /// Entries after a comment matching this regex stay plain.
    UnencryptedCommentRegex(String),
    /// Only entries after a comment matching this regex are encrypted.
    EncryptedCommentRegex(String),
}

impl Selector {
    /// The metadata field name of this selector (`unencrypted_suffix`, …).
    pub fn field(&self) -> &'static str {
        match self {
            Selector::UnencryptedSuffix(_) => "unencrypted_suffix",
            Selector::EncryptedSuffix(_) => "encrypted_suffix",
            Selector::UnencryptedRegex(_) => "unencrypted_regex",
            Selector::EncryptedRegex(_) => "encrypted_regex",
            Selector::UnencryptedCommentRegex(_) => "unencrypted_comment_regex",
            Selector::EncryptedCommentRegex(_) => "encrypted_comment_regex",
        }
    }

    /// The suffix or regex text.
    pub fn pattern(&self) -> &str {
        match self {
            Selector::UnencryptedSuffix(s)
            | Selector::EncryptedSuffix(s)
            | Selector::UnencryptedRegex(s)
            | Selector::EncryptedRegex(s)
            | Selector::UnencryptedCommentRegex(s)
            | Selector::EncryptedCommentRegex(s) => s,
        }
    }

    /// Builds a selector from its metadata field name.
    pub fn from_field(field: &str, pattern: impl Into<String>) -> Option<Self> {
        let p = pattern.into();
        Some(match field {
            "unencrypted_suffix" => Selector::UnencryptedSuffix(p),
            "encrypted_suffix" => Selector::EncryptedSuffix(p),
            "unencrypted_regex" => Selector::UnencryptedRegex(p),
            "encrypted_regex" => Selector::EncryptedRegex(p),
            "unencrypted_comment_regex" => Selector::UnencryptedCommentRegex(p),
            "encrypted_comment_regex" => Selector::EncryptedCommentRegex(p),
            _ => return None,
        })
    }

    /// Every selector field name, in sops's emission order.
    pub const FIELDS: [&'static str; 6] = [
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "unencrypted_comment_regex",
        "encrypted_comment_regex",
    ];
}

/// The default selector sops assumes and stores: `unencrypted_suffix: _unencrypted`.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// A set of keys; any one of them can recover this group's secret.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct KeyGroup {
    /// The key entries, in stored order.
    pub keys: Vec<KeyEntry>,
}

/// The parsed `sops` block.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Metadata {
    /// Key groups. One group is stored flat (`age:` …); more are stored as `key_groups`.
    pub key_groups: Vec<KeyGroup>,
    /// Shamir threshold; 0 when not set.
    pub shamir_threshold: usize,
    /// `lastmodified` exactly as stored (RFC 3339).
    pub last_modified: String,
    /// The encrypted MAC (`ENC[…,type:str]`), or empty when the file has none.
    pub mac: String,
    /// The selector, if one is stored (binary files store none).
    pub selector: Option<Selector>,
    /// Whether only encrypted values are covered by the MAC.
    pub mac_only_encrypted: bool,
    /// `version` as stored.
    pub version: String,
}

/// The sops version leafcrypt writes into new files (the format it is compatible with).
pub const SOPS_VERSION: &str = "3.11.0";

/// Layout differences between the YAML and JSON renderings of the metadata
/// (an empty `hc_vault` in a key group is `[]` in YAML, `null` in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// YAML layout.
    Yaml,
    /// JSON layout (also the base of the dotenv/INI flattening).
    Json,
}

/// Kinds stored flat at the top of the block, before `lastmodified`, in sops's order.
const FLAT_KINDS_BEFORE: [&str; 6] = ["kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age"];

/// Kinds of a `key_groups` element written only when non-empty, in sops's order.
const GROUP_KINDS_OPTIONAL: [&str; 5] = ["pgp", "kms", "gcp_kms", "hckms", "azure_kv"];

/// Kinds of a `key_groups` element that are always written.
const GROUP_KINDS_ALWAYS: [&str; 2] = ["hc_vault", "age"];

/// Top-level fields that are not key kinds.
const NON_KEY_FIELDS: [&str; 5] = [
    "shamir_threshold",
    "key_groups",
    "lastmodified",
    "mac",
    "version",
];

const SELECTOR_CONFLICT: &str = "Cannot use more than one of encrypted_suffix, unencrypted_suffix, \
encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file";

impl KeyGroup {
    /// The entries of `kind`, in stored order.
    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a KeyEntry> + 'a {
        self.keys.iter().filter(move |k| k.kind == kind)
    }

    /// The kinds sops does not know, in order of first appearance.
    fn unknown_kinds(&self) -> Vec<&str> {
        let mut kinds: Vec<&str> = Vec::new();
        for key in &self.keys {
            if !entries::is_known(&key.kind) && !kinds.contains(&key.kind.as_str()) {
                kinds.push(&key.kind);
            }
        }
        kinds
    }

    /// `kind`'s entries as a list value, or `None` when there are none.
    fn list_of(&self, kind: &str) -> Option<Value> {
        let items: Vec<Value> = self
            .of_kind(kind)
            .map(|e| Value::Map(entries::entry_to_map(e)))
            .collect();
        (!items.is_empty()).then_some(Value::List(items))
    }

    /// One element of `key_groups`.
    fn to_group_map(&self, flavor: Flavor) -> Map {
        let mut map = Map::new();
        for kind in GROUP_KINDS_OPTIONAL {
            if let Some(list) = self.list_of(kind) {
                map.push(kind, list);
            }
        }
        for kind in GROUP_KINDS_ALWAYS {
            let empty = match flavor {
                Flavor::Yaml => Value::List(Vec::new()),
                Flavor::Json => Value::Null,
            };
            map.push(kind, self.list_of(kind).unwrap_or(empty));
        }
        for kind in self.unknown_kinds() {
            if let Some(list) = self.list_of(kind) {
                map.push(kind, list);
            }
        }
        map
    }
}

impl Metadata {
    /// The `sops` block as a tree map, in sops 3.11's field order (§9.1).
    pub fn to_map(&self, flavor: Flavor) -> Map {
        let mut map = Map::new();
        if self.shamir_threshold != 0 {
            let threshold = i64::try_from(self.shamir_threshold).unwrap_or(i64::MAX);
            map.push("shamir_threshold", Value::Int(threshold));
        }
        let single = match self.key_groups.as_slice() {
            [] => None,
            [group] => Some(group),
            groups => {
                let list = groups
                    .iter()
                    .map(|g| Value::Map(g.to_group_map(flavor)))
                    .collect();
                map.push("key_groups", Value::List(list));
                None
            }
        };
        if let Some(group) = single {
            for kind in FLAT_KINDS_BEFORE.into_iter().chain(group.unknown_kinds()) {
                if let Some(list) = group.list_of(kind) {
                    map.push(kind, list);
                }
            }
        }
        map.push("lastmodified", Value::Str(self.last_modified.clone()));
        map.push("mac", Value::Str(self.mac.clone()));
        if let Some(list) = single.and_then(|g| g.list_of("pgp")) {
            map.push("pgp", list);
        }
        if let Some(selector) = self.selector.as_ref().filter(|s| !s.pattern().is_empty()) {
            map.push(selector.field(), Value::Str(selector.pattern().to_string()));
        }
        if self.mac_only_encrypted {
            map.push("mac_only_encrypted", Value::Bool(true));
        }
        map.push("version", Value::Str(self.version.clone()));
        map
    }

    /// Reads a `sops` block (3.11 or legacy layout).
    ///
    /// The flat key lists win if any is non-empty, otherwise `key_groups` is used; a
    /// top-level field holding a list of maps that is not a known field is read as a key
    /// kind sops does not know. Other unknown fields are ignored.
    pub fn from_map(map: &Map) -> Result<Metadata> {
        let last_modified = text_field(map, "lastmodified");
        rfc3339::validate(&last_modified).map_err(Error::Metadata)?;

        let mut flat_group = KeyGroup::default();
        for (name, value) in map.pairs() {
            let is_kind = entries::is_known(name)
                || (!is_top_level_field(name) && entries::looks_like_entries(value));
            if is_kind {
                flat_group
                    .keys
                    .extend(entries::entries_from_value(name, value)?);
            }
        }
        let key_groups = if !flat_group.keys.is_empty() {
            vec![flat_group]
        } else {
            match map.get("key_groups") {
                Some(Value::List(groups)) if !groups.is_empty() => groups_from_list(groups)?,
                _ => return Err(Error::Metadata("No keys found in file".into())),
            }
        };

        let mut selector = None;
        for field in Selector::FIELDS {
            let pattern = text_field(map, field);
            if pattern.is_empty() {
                continue;
            }
            if selector.is_some() {
                return Err(Error::Metadata(SELECTOR_CONFLICT.into()));
            }
            selector = Selector::from_field(field, pattern);
        }

        Ok(Metadata {
            key_groups,
            shamir_threshold: threshold(map.get("shamir_threshold"))?,
            last_modified,
            mac: text_field(map, "mac"),
            selector,
            mac_only_encrypted: matches!(map.get("mac_only_encrypted"), Some(Value::Bool(true)))
                || map.get("mac_only_encrypted").and_then(Value::as_str) == Some("true"),
            version: version_field(map),
        })
    }

    /// The flattened form used by dotenv and INI: `(key, value)` pairs without the
    /// `sops_` prefix (e.g. `age__list_0__map_recipient`), sorted by key.
    pub fn to_flat(&self) -> Vec<(String, String)> {
        flat::flatten(&self.to_map(Flavor::Json))
    }

    /// Reads the flattened form (keys without the `sops_` prefix).
    pub fn from_flat(pairs: &[(String, String)]) -> Result<Metadata> {
        Metadata::from_map(&flat::unflatten(pairs)?)
    }
}

/// Whether `name` is a top-level field of the `sops` block other than a key kind.
fn is_top_level_field(name: &str) -> bool {
    NON_KEY_FIELDS.contains(&name)
        || Selector::FIELDS.contains(&name)
        || name == "mac_only_encrypted"
}

fn groups_from_list(groups: &[Value]) -> Result<Vec<KeyGroup>> {
    let mut out = Vec::with_capacity(groups.len());
    for (index, group) in groups.iter().enumerate() {
        let Value::Map(group) = group else {
            if matches!(group, Value::Comment(_)) {
                continue;
            }
            return Err(Error::Metadata(
                "'key_groups' must be a list of maps".into(),
            ));
        };
        let mut keys = Vec::new();
        for (kind, value) in group.pairs() {
            // A kind named like a top-level field (`mac`, `version`…) is not one: written
            // back in the single-group layout it would collide with that field (fuzz
            // finding: a dotenv file whose group held `mac: [{recipient: …}]` was written
            // unreadable). sops ignores such fields too.
            let is_kind = entries::is_known(kind)
                || (!is_top_level_field(kind) && entries::looks_like_entries(value));
            if is_kind {
                keys.extend(entries::entries_from_value(kind, value)?);
            }
        }
        // sops never writes an empty group (it refuses one); read as a group it could only
        // be dropped when the file is written again, changing the Shamir layout.
        if keys.is_empty() {
            return Err(Error::Metadata(format!("key group {index} has no keys")));
        }
        out.push(KeyGroup { keys });
    }
    Ok(out)
}

/// The text of a scalar field (`""` when missing or null). YAML may type an unquoted
/// `version: 3.10` as a float or `lastmodified` as a timestamp; both are read as text.
fn text_field(map: &Map, field: &str) -> String {
    match map.get(field) {
        Some(Value::Str(s) | Value::Time(s)) => s.clone(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Float(f)) => crate::numfmt::go_float_yaml(*f),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// `version` as text. An unquoted YAML `1.0` is a float; sops reads the scalar's text,
/// so a whole float keeps its `.0` (`1.0` passes sops's version check as any `1.…`).
fn version_field(map: &Map) -> String {
    let text = text_field(map, "version");
    match map.get("version") {
        Some(Value::Float(f)) if f.is_finite() && !text.contains(['.', 'e', 'E']) => {
            format!("{text}.0")
        }
        _ => text,
    }
}

/// `shamir_threshold`: an integer, a whole float (`2.0`, JSON numbers) or their text.
fn threshold(value: Option<&Value>) -> Result<usize> {
    let bad = |shown: String| {
        Error::Metadata(format!(
            "shamir_threshold must be a non-negative integer, got {shown}"
        ))
    };
    let from_float = |f: f64| {
        if f.fract() == 0.0 && (0.0..=(u32::MAX as f64)).contains(&f) {
            Ok(f as usize)
        } else {
            Err(bad(crate::numfmt::go_float_plain(f)))
        }
    };
    match value {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Int(i)) => usize::try_from(*i).map_err(|_| bad(i.to_string())),
        Some(Value::Float(f)) => from_float(*f),
        Some(Value::Str(s)) => match s.trim().parse::<usize>() {
            Ok(n) => Ok(n),
            Err(_) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| bad(format!("{s:?}")))
                .and_then(from_float),
        },
        Some(other) => Err(bad(format!("{other:?}"))),
    }
}
