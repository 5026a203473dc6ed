//! The `sops` metadata block: key groups, selectors, `lastmodified`, MAC and version.
//!
//! [`Metadata::to_map`] / [`Metadata::from_map`] convert to and from the tree form that the
//! YAML and JSON stores embed under the top-level `sops` key (3.11 field order, legacy
//! layouts accepted); [`Metadata::to_flat`] / [`Metadata::from_flat`] give the flattened
//! `sops_…` form of dotenv and INI.

use crate::keysource::KeyEntry;

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

impl Metadata {
    /// The `sops` block as a tree map, in sops 3.11's field order.
    pub fn to_map(&self, flavor: Flavor) -> crate::tree::Map {
        let _ = flavor;
        todo!("metadata to_map")
    }

    /// Reads a `sops` block (3.11 or legacy layout).
    pub fn from_map(map: &crate::tree::Map) -> crate::Result<Metadata> {
        let _ = map;
        todo!("metadata from_map")
    }

    /// The flattened form used by dotenv and INI: `(key, value)` pairs without the
    /// `sops_` prefix (e.g. `age__list_0__map_recipient`), sorted by key.
    pub fn to_flat(&self) -> Vec<(String, String)> {
        todo!("metadata to_flat")
    }

    /// Reads the flattened form (keys without the `sops_` prefix).
    pub fn from_flat(pairs: &[(String, String)]) -> crate::Result<Metadata> {
        let _ = pairs;
        todo!("metadata from_flat")
    }
}
