//! A key source that writes sops's per-key log lines under `--verbose`
//! (`[AGE] … msg="Decryption succeeded"`, `[AZKV] … msg="Encryption failed" key=… version=…`),
//! around any other key source.

use crate::log::{self, Level};
use async_trait::async_trait;
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource, Probe};
use leafcrypt_core::secret::Secret;

/// Wraps `inner`, logging each wrap and unwrap as sops's key source of that kind does.
pub struct Logged(pub Box<dyn KeySource>);

/// sops's logger name for a key kind, and the entry fields it logs.
fn logger(entry: &KeyEntry) -> (String, Vec<(&'static str, String)>) {
    let field = |k: &str| entry.get(k).unwrap_or_default().to_string();
    match entry.kind.as_str() {
        "age" => ("AGE".into(), vec![("recipient", field("recipient"))]),
        "azure_kv" => (
            "AZKV".into(),
            vec![("key", field("name")), ("version", field("version"))],
        ),
        "pgp" => ("PGP".into(), vec![("fingerprint", field("fp"))]),
        "kms" => ("AWSKMS".into(), vec![("arn", field("arn"))]),
        other => (other.to_ascii_uppercase(), Vec::new()),
    }
}

fn write(entry: &KeyEntry, msg: &str, with_fields: bool) {
    let (name, fields) = logger(entry);
    let fields: Vec<(&str, &str)> = if with_fields {
        fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
    } else {
        Vec::new()
    };
    log::sops(&name, Level::Info, msg, &fields);
}

#[async_trait(?Send)]
impl KeySource for Logged {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        let result = self.0.wrap(key, secret, now).await;
        match &result {
            Ok(entry) => write(entry, "Encryption succeeded", true),
            Err(_) => write(key, "Encryption failed", true),
        }
        result
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let result = self.0.unwrap(entry).await;
        self.report(entry, result.is_ok());
        result
    }

    async fn unwrap_verified(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let result = self.0.unwrap_verified(entry).await;
        self.report(entry, result.is_ok());
        result
    }

    async fn probe(&self, entry: &KeyEntry) -> Probe {
        self.0.probe(entry).await
    }
}

impl Logged {
    /// sops's age source logs decryption without fields; the others with theirs.
    fn report(&self, entry: &KeyEntry, ok: bool) {
        let msg = if ok {
            "Decryption succeeded"
        } else {
            "Decryption failed"
        };
        write(entry, msg, entry.kind != "age");
    }
}
