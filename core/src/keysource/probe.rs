//! [`Probe`]: what a key source can tell about one key entry without unwrapping it (no
//! decryption, no side effect): whether this environment can use the key, and what to do
//! if not.

/// Whether this environment can use a key entry, as far as a no-side-effect check tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeStatus {
    /// The identity, credential or token is present and the service granted access.
    Usable,
    /// The key cannot be used here (no identity, no credential, denied, missing key).
    Unusable,
    /// The source cannot check without unwrapping (or the check itself failed).
    Unknown,
}

impl ProbeStatus {
    /// `usable`, `unusable`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Usable => "usable",
            Self::Unusable => "unusable",
            Self::Unknown => "unknown",
        }
    }
}

/// The result of [`KeySource::probe`](super::KeySource::probe) for one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The verdict.
    pub status: ProbeStatus,
    /// What was checked and found (never key material, tokens or PINs).
    pub detail: String,
    /// One concrete next step when something is wrong.
    pub advice: Option<String>,
    /// Set when the entry's key version is not the key's current one: what is current.
    pub stale: Option<String>,
}

impl Probe {
    /// The key can be used: `detail` says why.
    pub fn usable(detail: impl Into<String>) -> Self {
        Self {
            status: ProbeStatus::Usable,
            detail: detail.into(),
            advice: None,
            stale: None,
        }
    }

    /// The key cannot be used: `detail` says why, `advice` what to do.
    pub fn unusable(detail: impl Into<String>, advice: impl Into<String>) -> Self {
        Self {
            status: ProbeStatus::Unusable,
            detail: detail.into(),
            advice: Some(advice.into()),
            stale: None,
        }
    }

    /// The check could not decide: `detail` says why, `advice` what to do.
    pub fn unknown(detail: impl Into<String>, advice: impl Into<String>) -> Self {
        Self {
            status: ProbeStatus::Unknown,
            detail: detail.into(),
            advice: Some(advice.into()),
            stale: None,
        }
    }

    /// The default of sources without a check.
    pub fn cannot_check(kind: &str) -> Self {
        Self::unknown(
            format!("the {kind} key source cannot check a key without decrypting"),
            format!("try `decrypt` to find out whether the {kind} key works here"),
        )
    }

    /// Marks the entry's key version as not the current one (`note` names the current).
    pub fn with_stale(mut self, note: impl Into<String>) -> Self {
        self.stale = Some(note.into());
        self
    }
}
