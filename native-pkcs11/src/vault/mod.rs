//! HashiCorp Vault transit in the CLI: the `hc_vault` key source built from the
//! environment (`VAULT_TOKEN` or `~/.vault-token`, `VAULT_NAMESPACE`, `VAULT_CACERT`,
//! `SSL_CERT_FILE`) on first use. The protocol lives in `leafcrypt_core::keysource::hc_vault`.

use async_trait::async_trait;
use leafcrypt_core::keysource::hc_vault::{HcVaultSource, Settings, VaultClient};
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource, Probe};
use leafcrypt_core::secret::Secret;
use std::cell::OnceCell;
use std::path::PathBuf;

/// The process environment as an env lookup closure.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Builds the source from the process environment.
fn build() -> Result<HcVaultSource, String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let settings = Settings::from_env(&process_env, home.as_deref()).map_err(|e| e.to_string())?;
    let client = VaultClient::new(settings).map_err(|e| e.to_string())?;
    Ok(HcVaultSource::new(client))
}

/// The Vault source as a keyring member, built when an `hc_vault` entry is first wrapped
/// or unwrapped: files without Vault keys never read the token file or the CA bundle.
pub fn keyring_member() -> Box<dyn KeySource> {
    Box::new(Lazy(OnceCell::new()))
}

struct Lazy(OnceCell<Result<HcVaultSource, String>>);

impl Lazy {
    fn get(&self) -> Result<&HcVaultSource, KeyError> {
        self.0
            .get_or_init(build)
            .as_ref()
            .map_err(|message| KeyError::Failed {
                kind: "hc_vault".into(),
                message: message.clone(),
            })
    }
}

#[async_trait(?Send)]
impl KeySource for Lazy {
    fn kind(&self) -> &'static str {
        "hc_vault"
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        self.get()?.wrap(key, secret, now).await
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        self.get()?.unwrap(entry).await
    }

    async fn probe(&self, entry: &KeyEntry) -> Probe {
        match self.get() {
            Ok(source) => source.probe(entry).await,
            Err(e) => Probe::unusable(
                e.to_string(),
                "check VAULT_ADDR, VAULT_TOKEN and VAULT_CACERT",
            ),
        }
    }
}
