//! Re-wrapping single key entries in place: the same data key (or Shamir share) wrapped
//! again for a new description of the same key — a Key Vault key's new version. Every
//! other entry, group, value, the MAC and `lastmodified` stay byte for byte as they were.

use super::EncryptedFile;
use crate::keysource::{KeyEntry, Keyring};
use crate::ops::DecryptionOrder;
use crate::secret::Secret;
use crate::{Error, Result};

/// One entry to re-wrap: where it is and what it becomes.
#[derive(Clone, Debug)]
pub struct EntryRewrap {
    /// Index of the key group.
    pub group: usize,
    /// Index of the entry in its group.
    pub index: usize,
    /// The key description to wrap for (no `enc`, no `created_at`).
    pub description: KeyEntry,
}

/// What [`EncryptedFile::rewrap_entries`] did to one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrapped {
    /// Index of the key group.
    pub group: usize,
    /// The entry's identity before.
    pub from: String,
    /// Its identity after.
    pub to: String,
    /// Whether the group already held the new key, so the old entry was dropped instead.
    pub dropped_duplicate: bool,
}

impl EncryptedFile {
    /// Re-wraps the entries `changes` name. Each group's secret is recovered from the
    /// group itself — the entry being replaced first (its old key version still decrypts),
    /// then the group's other keys — and wrapped for the new description, which replaces
    /// the entry in place. A group that already holds an entry for the new description
    /// loses the old entry instead. Nothing is changed unless every entry was re-wrapped.
    pub async fn rewrap_entries(
        &mut self,
        changes: &[EntryRewrap],
        keyring: &Keyring,
        now: &str,
    ) -> Result<Vec<Rewrapped>> {
        let mut groups = self.metadata.key_groups.clone();
        let mut done = Vec::new();
        let mut touched: Vec<usize> = changes.iter().map(|c| c.group).collect();
        touched.sort_unstable();
        touched.dedup();
        for g in touched {
            let Some(group) = groups.get_mut(g) else {
                return Err(Error::Metadata(format!("there is no key group {g}")));
            };
            let mut mine: Vec<&EntryRewrap> = changes
                .iter()
                .filter(|c| c.group == g && c.index < group.keys.len())
                .collect();
            // From the last index down, so that a dropped duplicate does not shift the rest.
            mine.sort_by_key(|c| std::cmp::Reverse(c.index));
            mine.dedup_by_key(|c| c.index);
            let first: Vec<usize> = mine.iter().rev().map(|c| c.index).collect();
            let secret = group_secret(&group.keys, &first, keyring).await?;
            for change in mine {
                let old = &group.keys[change.index];
                let from = old.identity();
                let to = change.description.identity();
                let duplicate =
                    group.keys.iter().enumerate().any(|(i, k)| {
                        i != change.index && k.kind == old.kind && k.identity() == to
                    });
                if duplicate {
                    group.keys.remove(change.index);
                } else {
                    let wrapped = keyring
                        .wrap(&change.description, secret.expose(), now)
                        .await
                        .map_err(Error::Wrap)?;
                    group.keys[change.index] = wrapped;
                }
                done.push(Rewrapped {
                    group: g,
                    from,
                    to,
                    dropped_duplicate: duplicate,
                });
            }
        }
        done.reverse();
        done.sort_by_key(|r| r.group);
        self.metadata.key_groups = groups;
        Ok(done)
    }
}

/// The secret of a group (the data key, or its Shamir share): the entries at `first` are
/// tried first, then the others in sops's decryption order.
async fn group_secret(keys: &[KeyEntry], first: &[usize], keyring: &Keyring) -> Result<Secret> {
    let rest: Vec<&KeyEntry> = DecryptionOrder::default()
        .sort(keys)
        .into_iter()
        .filter(|k| !first.iter().any(|i| std::ptr::eq(*k, &keys[*i])))
        .collect();
    let mut failures = Vec::new();
    for key in first.iter().map(|i| &keys[*i]).chain(rest) {
        match keyring.unwrap(key).await {
            Ok(secret) => return Ok(secret),
            Err(e) => failures.push(format!("  {}: {e}", key.identity())),
        }
    }
    Err(Error::DataKey(format!(
        "no key of the group could recover its part of the data key:\n{}",
        failures.join("\n")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{Layout, NewFile};
    use crate::keysource::{KeyError, KeySource};
    use crate::metadata::KeyGroup;
    use crate::ops::DecryptOptions;
    use crate::stores::Format;
    use async_trait::async_trait;

    /// A key source whose `enc` is the secret in hex; keys named `dead…` cannot unwrap.
    struct Hex;

    #[async_trait(?Send)]
    impl KeySource for Hex {
        fn kind(&self) -> &'static str {
            "hex"
        }
        async fn wrap(
            &self,
            key: &KeyEntry,
            secret: &[u8],
            now: &str,
        ) -> Result<KeyEntry, KeyError> {
            let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
            Ok(key.description().with("created_at", now).with("enc", hex))
        }
        async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
            let failed = |m: &str| KeyError::Failed {
                kind: "hex".into(),
                message: m.into(),
            };
            if entry.get("id").unwrap_or_default().starts_with("dead") {
                return Err(failed("this key is gone"));
            }
            let enc = entry.get("enc").ok_or_else(|| failed("no enc"))?;
            let bytes = (0..enc.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&enc[i..i + 2], 16).map_err(|_| failed("hex")))
                .collect::<Result<Vec<u8>, _>>()?;
            Ok(Secret::new(bytes))
        }
    }

    fn key(name: &str) -> KeyEntry {
        KeyEntry::new("hex").with("id", name)
    }

    fn encrypted(groups: Vec<KeyGroup>, keyring: &Keyring) -> Vec<u8> {
        let file = NewFile {
            key_groups: groups,
            shamir_threshold: 2,
            now: "2026-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        pollster::block_on(crate::file::encrypt(
            b"a: secret\nb: 2\n",
            &Layout::new(Format::Yaml),
            &file,
            keyring,
        ))
        .unwrap()
    }

    fn yaml(file: &EncryptedFile) -> String {
        String::from_utf8(file.emit(&Layout::new(Format::Yaml)).unwrap()).unwrap()
    }

    #[test]
    fn rewraps_one_entry_and_leaves_everything_else_alone() {
        let keyring = Keyring::new().with(Box::new(Hex));
        let groups = vec![
            KeyGroup {
                keys: vec![key("a1"), key("x")],
            },
            KeyGroup {
                keys: vec![key("b")],
            },
        ];
        let bytes = encrypted(groups, &keyring);
        let mut file = EncryptedFile::parse(&bytes, Format::Yaml).unwrap();
        let before = file.metadata.clone();
        let change = EntryRewrap {
            group: 0,
            index: 0,
            description: key("a2"),
        };
        let done =
            pollster::block_on(file.rewrap_entries(&[change], &keyring, "2026-02-02T00:00:00Z"))
                .unwrap();
        assert_eq!(
            done,
            [Rewrapped {
                group: 0,
                from: "a1".into(),
                to: "a2".into(),
                dropped_duplicate: false
            }]
        );
        let after = &file.metadata;
        assert_eq!(after.key_groups[0].keys[0].get("id"), Some("a2"));
        assert_eq!(
            after.key_groups[0].keys[0].get("created_at"),
            Some("2026-02-02T00:00:00Z")
        );
        assert_eq!(
            after.key_groups[0].keys[0].get("enc"),
            before.key_groups[0].keys[0].get("enc"),
            "the same share, wrapped again"
        );
        assert_eq!(after.key_groups[0].keys[1], before.key_groups[0].keys[1]);
        assert_eq!(
            after.key_groups[1], before.key_groups[1],
            "other group untouched"
        );
        assert_eq!(after.last_modified, before.last_modified);
        assert_eq!(after.mac, before.mac);
        // Only the entry's lines differ, and the file still opens.
        let text = yaml(&file);
        let old = String::from_utf8(bytes).unwrap();
        let differing: Vec<(&str, &str)> = old
            .lines()
            .zip(text.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(differing.len(), 2, "{differing:?}");
        let reread = EncryptedFile::parse(text.as_bytes(), Format::Yaml).unwrap();
        pollster::block_on(reread.open(&keyring, DecryptOptions::default())).unwrap();
    }

    #[test]
    fn falls_back_to_the_groups_other_keys_and_fails_cleanly() {
        let keyring = Keyring::new().with(Box::new(Hex));
        let groups = vec![
            KeyGroup {
                keys: vec![key("dead-old"), key("x")],
            },
            KeyGroup {
                keys: vec![key("b"), key("b2")],
            },
        ];
        let bytes = encrypted(groups, &keyring);
        let mut file = EncryptedFile::parse(&bytes, Format::Yaml).unwrap();
        let change = EntryRewrap {
            group: 0,
            index: 0,
            description: key("new"),
        };
        pollster::block_on(file.rewrap_entries(&[change], &keyring, "t")).unwrap();
        assert_eq!(file.metadata.key_groups[0].keys[0].get("id"), Some("new"));
        // A group whose every key is gone: an error, and the file is unchanged.
        let mut file = EncryptedFile::parse(&bytes, Format::Yaml).unwrap();
        file.metadata.key_groups[0].keys[1].set("id", "dead-too");
        let snapshot = yaml(&file);
        let change = EntryRewrap {
            group: 0,
            index: 0,
            description: key("new"),
        };
        let e = pollster::block_on(file.rewrap_entries(&[change], &keyring, "t")).unwrap_err();
        assert!(e.to_string().contains("this key is gone"), "{e}");
        assert_eq!(yaml(&file), snapshot);
        // A group that already holds the new key loses the old entry instead.
        let mut file = EncryptedFile::parse(&bytes, Format::Yaml).unwrap();
        let change = EntryRewrap {
            group: 1,
            index: 0,
            description: key("b2"),
        };
        let done = pollster::block_on(file.rewrap_entries(&[change], &keyring, "t")).unwrap();
        assert!(done[0].dropped_duplicate);
        assert_eq!(
            file.metadata.key_groups[1].keys,
            [key("b2").with("created_at", "2026-01-01T00:00:00Z").with(
                "enc",
                file.metadata.key_groups[1].keys[0].get("enc").unwrap()
            )]
        );
    }
}
