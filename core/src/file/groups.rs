//! Editing a file's key groups: the keys a rotation wraps the new data key for, and
//! adding or deleting whole groups (same data key, re-split).

use crate::keysource::{KeyEntry, Keyring};
use crate::metadata::KeyGroup;
use crate::ops;
use crate::Result;

/// What happens to the pinned `version` of Azure Key Vault entries when a file's key
/// groups are rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyVersions {
    /// Drop the pinned version, so that the data key is wrapped with the key's current
    /// version (which is then recorded). Rotation does this, beyond sops (which keeps the
    /// old version): it is how files catch up with Key Vault's key rotation.
    Current,
    /// Keep each entry's pinned version: the data key is wrapped with the same key
    /// version as before.
    Pinned,
}

impl KeyVersions {
    /// The key description (no `enc`, no `created_at`) to wrap a data key for, under this
    /// policy.
    pub fn describe(self, entry: &KeyEntry) -> KeyEntry {
        let mut description = entry.description();
        if self == KeyVersions::Current && description.kind == "azure_kv" {
            description.fields.retain(|(k, _)| k != "version");
        }
        description
    }
}

/// Keys to add to and remove from a file (key descriptions).
#[derive(Clone, Debug, Default)]
pub struct KeyChanges {
    /// Added to the first group, unless a group already holds them.
    pub add: Vec<KeyEntry>,
    /// Removed from every group (for Key Vault, by vault and name under
    /// [`KeyVersions::Current`]).
    pub remove: Vec<KeyEntry>,
}

/// The edit would leave the file with no key to open it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rotate would leave the file with no keys")]
pub struct NoKeysLeft;

impl From<NoKeysLeft> for crate::Error {
    fn from(e: NoKeysLeft) -> Self {
        crate::Error::Config(e.to_string())
    }
}

/// Whether `a` and `b` name the same key. PGP fingerprints are hex: one in lower case
/// names the same key as in upper case.
fn same_key(a: &KeyEntry, b: &KeyEntry) -> bool {
    a.kind == b.kind
        && (a.identity() == b.identity()
            || (a.kind == "pgp" && a.identity().eq_ignore_ascii_case(&b.identity())))
}

/// The key descriptions of `groups` (described under `versions`) without `changes.remove`'s
/// keys and with `changes.add`'s keys in the first group; emptied groups are dropped.
pub fn edit_keys(
    groups: &[KeyGroup],
    changes: &KeyChanges,
    versions: KeyVersions,
) -> std::result::Result<Vec<KeyGroup>, NoKeysLeft> {
    let remove: Vec<KeyEntry> = changes
        .remove
        .iter()
        .map(|k| versions.describe(k))
        .collect();
    let mut groups: Vec<KeyGroup> = groups
        .iter()
        .map(|g| KeyGroup {
            keys: g
                .keys
                .iter()
                .map(|k| versions.describe(k))
                .filter(|k| !remove.iter().any(|r| same_key(k, r)))
                .collect(),
        })
        .collect();
    for entry in &changes.add {
        if groups.is_empty() {
            groups.push(KeyGroup::default());
        }
        if !groups[0].keys.iter().any(|k| same_key(k, entry)) {
            groups[0].keys.push(entry.clone());
        }
    }
    groups.retain(|g| !g.keys.is_empty());
    if groups.is_empty() {
        return Err(NoKeysLeft);
    }
    Ok(groups)
}

/// The key groups a rotation wraps the new data key for: [`edit_keys`] under
/// [`KeyVersions::Current`] — the one rule every front end's `rotate` follows.
pub fn rotation_groups(
    groups: &[KeyGroup],
    changes: &KeyChanges,
) -> std::result::Result<Vec<KeyGroup>, NoKeysLeft> {
    edit_keys(groups, changes, KeyVersions::Current)
}

/// A change to a file's key groups that keeps its data key.
#[derive(Clone, Debug)]
pub enum GroupChange {
    /// Append a group with these keys (descriptions).
    Add(Vec<KeyEntry>),
    /// Remove the group at this index.
    Delete(usize),
}

/// Why a [`GroupChange`] cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// A group to add has no key.
    #[error("a new key group needs at least one key")]
    NoKeys,
    /// The group to delete does not exist.
    #[error("there is no key group {index} (the file has {count})")]
    NoSuchGroup {
        /// The index asked for.
        index: usize,
        /// How many groups the file has.
        count: usize,
    },
    /// The file's only group cannot be deleted.
    #[error("cannot delete the only key group")]
    OnlyGroup,
}

impl GroupChange {
    /// The key descriptions of `groups` (described under `versions`) after this change.
    pub fn apply(
        self,
        groups: &[KeyGroup],
        versions: KeyVersions,
    ) -> std::result::Result<Vec<KeyGroup>, GroupError> {
        let mut groups: Vec<KeyGroup> = groups
            .iter()
            .map(|g| KeyGroup {
                keys: g.keys.iter().map(|k| versions.describe(k)).collect(),
            })
            .collect();
        match self {
            GroupChange::Add(keys) if keys.is_empty() => return Err(GroupError::NoKeys),
            GroupChange::Add(keys) => groups.push(KeyGroup { keys }),
            GroupChange::Delete(index) if index >= groups.len() => {
                return Err(GroupError::NoSuchGroup {
                    index,
                    count: groups.len(),
                })
            }
            GroupChange::Delete(_) if groups.len() == 1 => return Err(GroupError::OnlyGroup),
            GroupChange::Delete(index) => {
                groups.remove(index);
            }
        }
        Ok(groups)
    }
}

impl super::EncryptedFile {
    /// Re-wraps the file's data key for `groups` (key descriptions, e.g. from
    /// [`GroupChange::apply`]), splitting it across them with Shamir; values, MAC and
    /// `lastmodified` stay as they are. `threshold` 0 keeps the file's; several groups
    /// without one store the threshold the key was split with (every group), as sops does.
    pub async fn rewrap(
        &mut self,
        groups: &[KeyGroup],
        threshold: usize,
        keyring: &Keyring,
        now: &str,
    ) -> Result<()> {
        let metadata = &mut self.metadata;
        ops::update_keys(metadata, groups, threshold, keyring, now).await?;
        if metadata.shamir_threshold == 0 && metadata.key_groups.len() > 1 {
            metadata.shamir_threshold = metadata.key_groups.len();
        }
        Ok(())
    }

    /// The file, values untouched, as `format` writes it.
    pub fn emit(&self, layout: &super::Layout) -> Result<Vec<u8>> {
        layout.output_store().emit(&self.tree, Some(&self.metadata))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(r: &str) -> KeyEntry {
        KeyEntry::new("age").with("recipient", r)
    }

    fn kv(version: &str) -> KeyEntry {
        KeyEntry::new("azure_kv")
            .with("vault_url", "https://v")
            .with("name", "k")
            .with("version", version)
    }

    fn ids(groups: &[KeyGroup]) -> Vec<Vec<String>> {
        groups
            .iter()
            .map(|g| g.keys.iter().map(KeyEntry::identity).collect())
            .collect()
    }

    #[test]
    fn rotation_removes_adds_to_the_first_group_and_unpins_key_vault_versions() {
        let groups = vec![
            KeyGroup {
                keys: vec![age("age1a").with("enc", "x"), kv("v1").with("enc", "y")],
            },
            KeyGroup {
                keys: vec![age("age1b")],
            },
        ];
        let changes = KeyChanges {
            add: vec![age("age1c"), age("age1a")],
            remove: vec![age("age1b")],
        };
        let rotated = rotation_groups(&groups, &changes).unwrap();
        assert_eq!(ids(&rotated), [["age1a", "https://v/keys/k/", "age1c"]]);
        assert!(rotated[0].keys.iter().all(|k| k.get("enc").is_none()));
        // Pinned: the version stays; a versioned removal names only that version.
        let pinned = edit_keys(&groups, &KeyChanges::default(), KeyVersions::Pinned).unwrap();
        assert_eq!(ids(&pinned)[0][1], "https://v/keys/k/v1");
        let changes = KeyChanges {
            add: vec![],
            remove: vec![kv("v2")],
        };
        assert_eq!(
            edit_keys(&groups, &changes, KeyVersions::Pinned).unwrap()[0]
                .keys
                .len(),
            2
        );
        assert_eq!(rotation_groups(&groups, &changes).unwrap()[0].keys.len(), 1);
    }

    #[test]
    fn an_edit_that_leaves_no_key_is_refused() {
        let groups = vec![KeyGroup {
            keys: vec![age("age1a")],
        }];
        let changes = KeyChanges {
            add: vec![],
            remove: vec![age("age1a")],
        };
        assert_eq!(rotation_groups(&groups, &changes), Err(NoKeysLeft));
        let pgp = KeyGroup {
            keys: vec![KeyEntry::new("pgp").with("fp", "ABCD")],
        };
        let lower = KeyChanges {
            add: vec![],
            remove: vec![KeyEntry::new("pgp").with("fp", "abcd")],
        };
        assert_eq!(rotation_groups(&[pgp], &lower), Err(NoKeysLeft));
    }

    #[test]
    fn group_changes_check_their_index() {
        let groups = vec![KeyGroup {
            keys: vec![age("age1a")],
        }];
        assert_eq!(
            GroupChange::Delete(0).apply(&groups, KeyVersions::Pinned),
            Err(GroupError::OnlyGroup)
        );
        assert_eq!(
            GroupChange::Delete(3).apply(&groups, KeyVersions::Pinned),
            Err(GroupError::NoSuchGroup { index: 3, count: 1 })
        );
        assert_eq!(
            GroupChange::Add(vec![]).apply(&groups, KeyVersions::Pinned),
            Err(GroupError::NoKeys)
        );
        let added = GroupChange::Add(vec![age("age1b")])
            .apply(&groups, KeyVersions::Pinned)
            .unwrap();
        assert_eq!(ids(&added), [["age1a"], ["age1b"]]);
    }
}
