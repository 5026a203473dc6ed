//! Whether a file is decryptable here, without decrypting: each key entry of each group is
//! probed ([`Keyring::probe`]), and the groups that have a usable key are counted against
//! the Shamir threshold. Used by `leafcrypt doctor`.

use crate::keysource::{KeyEntry, Keyring, Probe, ProbeStatus};
use crate::metadata::Metadata;

/// The verdict for a whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Enough groups have a usable key.
    Yes,
    /// Not enough groups can have a usable key, whatever the unchecked keys do.
    No,
    /// Enough groups only if keys that could not be checked work.
    Unknown,
}

impl Verdict {
    /// `yes`, `no`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::No => "no",
            Self::Unknown => "unknown",
        }
    }
}

/// One key entry and what its probe said.
#[derive(Clone, Debug)]
pub struct EntryDiagnosis {
    /// The entry without `enc` and `created_at`.
    pub key: KeyEntry,
    /// The probe's answer.
    pub probe: Probe,
}

/// One key group.
#[derive(Clone, Debug)]
pub struct GroupDiagnosis {
    /// Its entries, in stored order.
    pub entries: Vec<EntryDiagnosis>,
}

impl GroupDiagnosis {
    /// The best status among the group's entries (one usable key is enough).
    pub fn status(&self) -> ProbeStatus {
        let has = |s| self.entries.iter().any(|e| e.probe.status == s);
        if has(ProbeStatus::Usable) {
            ProbeStatus::Usable
        } else if has(ProbeStatus::Unknown) {
            ProbeStatus::Unknown
        } else {
            ProbeStatus::Unusable
        }
    }
}

/// The diagnosis of one file's key groups.
#[derive(Clone, Debug)]
pub struct Diagnosis {
    /// The groups, in stored order.
    pub groups: Vec<GroupDiagnosis>,
    /// Groups needed: the Shamir threshold, or every group when there is none.
    pub threshold: usize,
    /// Groups with a usable key.
    pub usable_groups: usize,
    /// The verdict.
    pub verdict: Verdict,
}

/// The groups a file needs: its Shamir threshold, else all of them (at least one).
pub fn needed_groups(metadata: &Metadata) -> usize {
    match metadata.shamir_threshold {
        0 => metadata.key_groups.len().max(1),
        t => t,
    }
}

/// Probes every entry of `metadata`'s key groups with `keyring`; nothing is decrypted.
pub async fn diagnose(metadata: &Metadata, keyring: &Keyring) -> Diagnosis {
    let mut groups = Vec::new();
    for group in &metadata.key_groups {
        let mut entries = Vec::new();
        for entry in &group.keys {
            entries.push(EntryDiagnosis {
                key: entry.description(),
                probe: keyring.probe(entry).await,
            });
        }
        groups.push(GroupDiagnosis { entries });
    }
    let threshold = needed_groups(metadata);
    let count = |s| groups.iter().filter(|g| g.status() == s).count();
    let usable_groups = count(ProbeStatus::Usable);
    let unknown_groups = count(ProbeStatus::Unknown);
    let verdict = if usable_groups >= threshold {
        Verdict::Yes
    } else if usable_groups + unknown_groups >= threshold {
        Verdict::Unknown
    } else {
        Verdict::No
    };
    Diagnosis {
        groups,
        threshold,
        usable_groups,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keysource::{KeyError, KeySource};
    use crate::metadata::KeyGroup;
    use crate::secret::Secret;
    use async_trait::async_trait;
    use std::cell::Cell;

    /// A `test` source whose probe answers by the entry's `id` (`ok…`, `no…`, else
    /// unknown) and which counts wraps and unwraps (there must be none).
    #[derive(Default)]
    struct Fake {
        calls: Cell<u32>,
    }

    #[async_trait(?Send)]
    impl KeySource for Fake {
        fn kind(&self) -> &'static str {
            "test"
        }
        async fn wrap(&self, _: &KeyEntry, _: &[u8], _: &str) -> Result<KeyEntry, KeyError> {
            self.calls.set(self.calls.get() + 1);
            Err(KeyError::Failed {
                kind: "test".into(),
                message: "no".into(),
            })
        }
        async fn unwrap(&self, _: &KeyEntry) -> Result<Secret, KeyError> {
            self.calls.set(self.calls.get() + 1);
            Err(KeyError::Failed {
                kind: "test".into(),
                message: "no".into(),
            })
        }
        async fn probe(&self, entry: &KeyEntry) -> Probe {
            match entry.get("id").unwrap_or_default() {
                id if id.starts_with("ok") => Probe::usable("fine"),
                id if id.starts_with("no") => Probe::unusable("missing", "add it"),
                _ => Probe::unknown("cannot tell", "try decrypt"),
            }
        }
    }

    fn metadata(groups: &[&[&str]], threshold: usize) -> Metadata {
        Metadata {
            key_groups: groups
                .iter()
                .map(|ids| KeyGroup {
                    keys: ids
                        .iter()
                        .map(|id| KeyEntry::new("test").with("id", *id).with("enc", "x"))
                        .collect(),
                })
                .collect(),
            shamir_threshold: threshold,
            ..Metadata::default()
        }
    }

    fn verdict(groups: &[&[&str]], threshold: usize) -> (Verdict, usize, usize) {
        let keyring = Keyring::new().with(Box::new(Fake::default()));
        let d = pollster::block_on(diagnose(&metadata(groups, threshold), &keyring));
        (d.verdict, d.usable_groups, d.threshold)
    }

    #[test]
    fn one_usable_key_makes_its_group_usable_and_the_threshold_decides() {
        assert_eq!(verdict(&[&["no1", "ok1"]], 0), (Verdict::Yes, 1, 1));
        assert_eq!(verdict(&[&["no1"]], 0), (Verdict::No, 0, 1));
        assert_eq!(verdict(&[&["no1", "x"]], 0), (Verdict::Unknown, 0, 1));
        // Shamir 2 of 3.
        assert_eq!(
            verdict(&[&["ok"], &["no"], &["ok"]], 2),
            (Verdict::Yes, 2, 2)
        );
        assert_eq!(
            verdict(&[&["ok"], &["no"], &["x"]], 2),
            (Verdict::Unknown, 1, 2)
        );
        assert_eq!(
            verdict(&[&["ok"], &["no"], &["no"]], 2),
            (Verdict::No, 1, 2)
        );
        // Several groups without a threshold need them all.
        assert_eq!(verdict(&[&["ok"], &["no"]], 0), (Verdict::No, 1, 2));
    }

    #[test]
    fn entries_are_reported_without_enc_and_nothing_is_unwrapped() {
        let fake = std::rc::Rc::new(Fake::default());
        struct Shared(std::rc::Rc<Fake>);
        #[async_trait(?Send)]
        impl KeySource for Shared {
            fn kind(&self) -> &'static str {
                "test"
            }
            async fn wrap(&self, k: &KeyEntry, s: &[u8], n: &str) -> Result<KeyEntry, KeyError> {
                self.0.wrap(k, s, n).await
            }
            async fn unwrap(&self, e: &KeyEntry) -> Result<Secret, KeyError> {
                self.0.unwrap(e).await
            }
            async fn probe(&self, e: &KeyEntry) -> Probe {
                self.0.probe(e).await
            }
        }
        let keyring = Keyring::new().with(Box::new(Shared(fake.clone())));
        let d = pollster::block_on(diagnose(&metadata(&[&["ok", "no"]], 0), &keyring));
        assert_eq!(fake.calls.get(), 0);
        assert_eq!(d.groups[0].entries[0].key.get("enc"), None);
        assert_eq!(
            d.groups[0].entries[1].probe.advice.as_deref(),
            Some("add it")
        );
    }

    #[test]
    fn the_keyring_prefers_usable_then_unknown_and_names_missing_sources() {
        let keyring = Keyring::new();
        let p = pollster::block_on(keyring.probe(&KeyEntry::new("hckms")));
        assert_eq!(p.status, ProbeStatus::Unusable);
        assert!(
            p.detail.contains("no key source for 'hckms'"),
            "{}",
            p.detail
        );
        /// A source that cannot check (the trait's default).
        struct Mute;
        #[async_trait(?Send)]
        impl KeySource for Mute {
            fn kind(&self) -> &'static str {
                "test"
            }
            async fn wrap(&self, _: &KeyEntry, _: &[u8], _: &str) -> Result<KeyEntry, KeyError> {
                unreachable!()
            }
            async fn unwrap(&self, _: &KeyEntry) -> Result<Secret, KeyError> {
                unreachable!()
            }
        }
        let keyring = Keyring::new()
            .with(Box::new(Mute))
            .with(Box::new(Fake::default()));
        let usable = KeyEntry::new("test").with("id", "ok");
        assert_eq!(
            pollster::block_on(keyring.probe(&usable)).status,
            ProbeStatus::Usable
        );
        let missing = KeyEntry::new("test").with("id", "no");
        let p = pollster::block_on(keyring.probe(&missing));
        assert_eq!(p.status, ProbeStatus::Unknown);
        assert!(p.detail.contains("cannot check"), "{}", p.detail);
    }
}
