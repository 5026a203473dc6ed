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
