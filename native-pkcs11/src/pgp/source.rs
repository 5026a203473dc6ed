//! The `pgp` key source: wraps a data key with `gpg --encrypt` for the entry's fingerprint
//! (the public key is enough) and unwraps it with `gpg -d`, with sops 3.11's arguments.
//! gpg runs on tokio's blocking pool when there is a runtime, so that several files
//! decrypted at once (`decrypt --output-dir`) overlap their gpg runs.

use super::error::{decrypt_failure, encrypt_failure, PgpError};
use super::gpg::Gpg;
use async_trait::async_trait;
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource, Probe};
use leafcrypt_core::secret::Secret;
use zeroize::Zeroizing;

/// PGP keys through the GnuPG binary and the user's keyring.
#[derive(Clone)]
pub struct GpgSource {
    gpg: Gpg,
}

impl GpgSource {
    /// The source for the gpg that `SOPS_GPG_EXEC` names, else `gpg` from `PATH`. Nothing
    /// runs until an entry is wrapped or unwrapped.
    pub fn from_env() -> Self {
        Self {
            gpg: Gpg::from_env(),
        }
    }

    /// `gpg --encrypt -a` of `secret` for `fp`: the armored message, as gpg prints it
    /// (without the final line break, as sops stores it).
    pub fn encrypt(&self, fp: &str, secret: &[u8]) -> Result<String, PgpError> {
        let trusted = short_fingerprint(fp);
        let args = [
            "--no-default-recipient",
            "--yes",
            "--encrypt",
            "-a",
            "-r",
            fp,
            "--trusted-key",
            trusted,
            "--no-encrypt-to",
        ];
        let run = self.gpg.run(&args, secret)?;
        if !run.success {
            return Err(encrypt_failure(fp, &run.stderr));
        }
        let armored = String::from_utf8_lossy(&run.stdout).trim().to_string();
        if armored.is_empty() {
            return Err(PgpError::Other {
                fp: fp.into(),
                operation: "encrypt the data key",
                detail: "gpg printed no message".into(),
            });
        }
        Ok(armored)
    }

    /// `gpg -d` of the armored message `enc` made for `fp`.
    pub fn decrypt(&self, fp: &str, enc: &str) -> Result<Secret, PgpError> {
        let run = self.gpg.run(&["-d"], enc.as_bytes())?;
        if !run.success {
            return Err(decrypt_failure(fp, &run.stderr));
        }
        if run.stdout.is_empty() {
            return Err(PgpError::Empty { fp: fp.into() });
        }
        Ok(Secret::new(run.stdout.to_vec()))
    }
}

/// The last 16 hex digits (the long key ID) as sops passes them to `--trusted-key`, with a
/// trailing `!` (gpg's "this exact key") kept after them.
fn short_fingerprint(fp: &str) -> &str {
    let keep = if fp.ends_with('!') { 17 } else { 16 };
    let start = fp.len().saturating_sub(keep);
    fp.get(start..).unwrap_or(fp)
}

/// Runs `job` on tokio's blocking pool when inside a runtime, else right here.
async fn off_thread<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, PgpError> + Send + 'static,
) -> Result<T, PgpError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(job).await.unwrap_or_else(|e| {
            Err(PgpError::Spawn {
                program: "gpg".into(),
                message: format!("the gpg task failed: {e}"),
            })
        }),
        Err(_) => job(),
    }
}

fn fingerprint(key: &KeyEntry) -> Result<&str, KeyError> {
    key.get("fp")
        .filter(|fp| !fp.is_empty())
        .ok_or_else(|| KeyError::InvalidKey {
            kind: "pgp".into(),
            key: key.identity(),
            message: "the entry has no fingerprint (fp)".into(),
        })
}

#[async_trait(?Send)]
impl KeySource for GpgSource {
    fn kind(&self) -> &'static str {
        "pgp"
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        let fp = fingerprint(key)?;
        let (source, owned_fp) = (self.clone(), fp.to_string());
        let secret = Zeroizing::new(secret.to_vec());
        let enc = off_thread(move || source.encrypt(&owned_fp, &secret))
            .await
            .map_err(|e| KeyError::Failed {
            kind: "pgp".into(),
            message: format!(
                "failed to encrypt new data key with master key \"{fp}\": could not encrypt data key with PGP key: {e}"
            ),
        })?;
        let mut entry = key.description();
        entry.set("created_at", now);
        entry.set("enc", enc);
        Ok(entry)
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let fp = fingerprint(entry)?.to_string();
        let enc = entry.get("enc").unwrap_or_default().to_string();
        let source = self.clone();
        off_thread(move || source.decrypt(&fp, &enc))
            .await
            .map_err(|e| KeyError::Failed {
                kind: "pgp".into(),
                message: format!("could not decrypt data key with PGP key: {e}"),
            })
    }

    /// `gpg --list-secret-keys FP` (no decryption, no passphrase asked): whether the
    /// keyring holds the secret key for the entry's fingerprint.
    async fn probe(&self, entry: &KeyEntry) -> Probe {
        let fp = match fingerprint(entry) {
            Ok(fp) => fp.to_string(),
            Err(e) => return Probe::unusable(e.to_string(), "fix the entry's fp"),
        };
        let source = self.clone();
        let owned = fp.clone();
        let listed = off_thread(move || {
            source.gpg.run(
                &["--batch", "--with-colons", "--list-secret-keys", &owned],
                &[],
            )
        })
        .await;
        match listed {
            Ok(run) if run_has_secret(&run) => {
                Probe::usable(format!("{} holds the secret key {fp}", self.gpg.name()))
            }
            Ok(_) => Probe::unusable(
                format!("no secret key for {fp} in the GnuPG keyring"),
                format!("import the secret key for {fp} (gpg --import KEY.asc) or set GNUPGHOME to the keyring that has it"),
            ),
            Err(e) => Probe::unusable(e.to_string(), "install GnuPG or set SOPS_GPG_EXEC"),
        }
    }
}

/// Whether a `--list-secret-keys --with-colons` run listed a secret key.
fn run_has_secret(run: &super::gpg::Run) -> bool {
    run.success
        && run
            .stdout
            .split(|b| *b == b'\n')
            .any(|l| l.starts_with(b"sec:") || l.starts_with(b"ssb:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_key_is_the_long_key_id() {
        assert_eq!(
            short_fingerprint("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"),
            "3D16CEE4A27381B4"
        );
        assert_eq!(
            short_fingerprint("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4!"),
            "3D16CEE4A27381B4!"
        );
        assert_eq!(short_fingerprint("ABCD"), "ABCD");
    }
}
