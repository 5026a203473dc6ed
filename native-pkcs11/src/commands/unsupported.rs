//! Key kinds sops knows and leafcrypt has no key source for yet (HuaweiCloud KMS; AWS KMS,
//! GCP KMS and HashiCorp Vault transit have theirs in [`crate::aws`], [`crate::gcp`] and
//! [`crate::vault`]). A `.sops.yaml` may name them: only files
//! whose rule uses them fail, when their data key is wrapped, with a clear message.

use crate::discovery;
use crate::failure::{CliResult, Failure};
use async_trait::async_trait;
use leafcrypt_core::config::CreationRule;
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource, Probe};
use leafcrypt_core::metadata::KeyGroup;
use leafcrypt_core::secret::Secret;
use leafcrypt_core::ExitCode;

/// The kinds without a key source, with their names for humans.
pub const KINDS: [(&str, &str); 1] = [("hckms", "HuaweiCloud KMS")];

/// `leafcrypt has no key source for AWS KMS keys (kms) yet`, for a kind of [`KINDS`].
pub fn no_source(kind: &str) -> Option<String> {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(k, name)| format!("leafcrypt has no key source for {name} keys ({k}) yet"))
}

/// A stand-in source for one kind of [`KINDS`]: every wrap and unwrap fails saying so (an
/// unwrap failure only matters when no other key of the group succeeds).
pub struct Unsupported(&'static str);

impl Unsupported {
    /// One stand-in per kind of [`KINDS`].
    pub fn all() -> impl Iterator<Item = Box<dyn KeySource>> {
        KINDS
            .iter()
            .map(|(k, _)| Box::new(Unsupported(k)) as Box<dyn KeySource>)
    }

    fn error(&self) -> KeyError {
        KeyError::Failed {
            kind: self.0.into(),
            message: no_source(self.0).unwrap_or_default(),
        }
    }
}

#[async_trait(?Send)]
impl KeySource for Unsupported {
    fn kind(&self) -> &'static str {
        self.0
    }

    async fn wrap(&self, _: &KeyEntry, _: &[u8], _: &str) -> Result<KeyEntry, KeyError> {
        Err(self.error())
    }

    async fn unwrap(&self, _: &KeyEntry) -> Result<Secret, KeyError> {
        Err(self.error())
    }

    async fn probe(&self, _: &KeyEntry) -> Probe {
        Probe::unusable(
            no_source(self.0).unwrap_or_default(),
            "decrypt this file with sops, or add a key leafcrypt supports to it",
        )
    }
}

/// Fails (sops's wording and exit code for a data key that cannot be wrapped) when
/// `groups` hold a key of a kind without a source, naming the key and where it came from:
/// the `.sops.yaml` rule, or the command line.
pub fn check_wrappable(
    groups: &[KeyGroup],
    rule: Option<&CreationRule>,
    config: Option<&discovery::Loaded>,
) -> CliResult<()> {
    let Some((key, message)) = groups
        .iter()
        .flat_map(|g| &g.keys)
        .find_map(|k| no_source(&k.kind).map(|m| (k, m)))
    else {
        return Ok(());
    };
    let origin = match (rule, config) {
        (Some(rule), Some(config)) => {
            format!("{} of {}", rule.describe(), config.path.display())
        }
        (Some(rule), None) => rule.describe(),
        _ => "the command line".into(),
    };
    Err(Failure::new(
        ExitCode::ErrorGeneric,
        format!(
            "Could not generate data key: [{message}; {origin} names {}: encrypt this file with \
             another key kind (age, pgp, kms, gcp_kms, azure_keyvault, hc_vault, pkcs11) or with sops]",
            key.identity()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_groups_with_a_missing_kind_fail() {
        let age = KeyEntry::new("age").with("recipient", "age1x");
        let vault = KeyEntry::new("hckms").with("key_id", "eu-west-0:k");
        let ok = [KeyGroup {
            keys: vec![age.clone()],
        }];
        assert!(check_wrappable(&ok, None, None).is_ok());
        let bad = [KeyGroup {
            keys: vec![age, vault],
        }];
        let f = check_wrappable(&bad, None, None).unwrap_err();
        assert_eq!(f.code, ExitCode::ErrorGeneric);
        assert!(
            f.message.starts_with(
                "Could not generate data key: [leafcrypt has no key source for HuaweiCloud KMS keys (hckms) yet; the command line names eu-west-0:k"
            ),
            "{}",
            f.message
        );
    }
}
