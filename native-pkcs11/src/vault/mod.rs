//! HashiCorp Vault transit in the CLI: the `hc_vault` key source built from the
//! environment (`VAULT_TOKEN` or `~/.vault-token`, `VAULT_NAMESPACE`, `VAULT_CACERT`,
//! `SSL_CERT_FILE`) on first use. The protocol lives in `leafcrypt_core::keysource::hc_vault`.

use crate::lazy_source::LazySource;
use leafcrypt_core::keysource::hc_vault::{HcVaultSource, Settings, VaultClient};
use leafcrypt_core::keysource::KeySource;
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
    Box::new(LazySource::new(
        "hc_vault",
        "check VAULT_ADDR, VAULT_TOKEN and VAULT_CACERT",
        build,
    ))
}
