//! Azure Key Vault in the CLI: the key source built from the environment and flags, the
//! on-disk public-key cache, and the `azure-kv` subcommands (`stale`, `encrypt-text`,
//! `decrypt-text`). The protocol itself lives in `leafcrypt_core::keysource::azure_kv`.

pub mod command;
mod key_cache;

use crate::cli::Opts;
use crate::failure::{CliResult, Failure, BAD_ARGS, GENERIC};
use async_trait::async_trait;
use leafcrypt_core::keysource::azure_kv::credential::chain::DefaultChain;
use leafcrypt_core::keysource::azure_kv::credential::process_env;
use leafcrypt_core::keysource::azure_kv::{http, AzureKvSource, ClientOptions, KeyVaultClient};
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource};
use leafcrypt_core::secret::Secret;
use std::rc::Rc;

/// The Key Vault source for this invocation: the default credential chain (or the one
/// `--azure-credential` names), `SSL_CERT_FILE` roots, the public-key cache on disk.
pub fn source(opts: &Opts) -> CliResult<AzureKvSource> {
    let env = process_env;
    let http_options = http::options_from_env(&env)
        .map_err(|e| Failure::new(GENERIC, format!("azure_kv: {e}")))?;
    let http =
        http::client(&http_options).map_err(|e| Failure::new(GENERIC, format!("azure_kv: {e}")))?;
    let chain = DefaultChain::from_env(&env, opts.azure_credential.as_deref(), http.clone())
        .map_err(|e| Failure::new(BAD_ARGS, format!("azure_kv: {e}")))?;
    let options = ClientOptions {
        verify_challenge_resource: !opts.azure_kv_skip_resource_check,
        public_key_store: key_cache::DiskKeyCache::from_env().map(|c| Rc::new(c) as _),
        ..ClientOptions::default()
    };
    let client = KeyVaultClient::new(http, Rc::new(chain), options)
        .map_err(|e| Failure::new(BAD_ARGS, format!("azure_kv: {e}")))?;
    Ok(AzureKvSource::new(Rc::new(client)).with_remote_encrypt(opts.azure_kv_remote_encrypt))
}

/// [`source`] as a keyring member: when the configuration is bad (e.g. an unknown
/// `AZURE_TOKEN_CREDENTIALS`), files without Key Vault keys still work and files with
/// them get the configuration error.
pub fn keyring_member(opts: &Opts) -> Box<dyn KeySource> {
    match source(opts) {
        Ok(source) => Box::new(source),
        Err(failure) => Box::new(Unconfigured(failure.message)),
    }
}

/// A Key Vault source that could not be configured.
struct Unconfigured(String);

impl Unconfigured {
    fn error(&self) -> KeyError {
        KeyError::Failed {
            kind: "azure_kv".into(),
            message: self.0.clone(),
        }
    }
}

#[async_trait(?Send)]
impl KeySource for Unconfigured {
    fn kind(&self) -> &'static str {
        "azure_kv"
    }

    async fn wrap(&self, _: &KeyEntry, _: &[u8], _: &str) -> Result<KeyEntry, KeyError> {
        Err(self.error())
    }

    async fn unwrap(&self, _: &KeyEntry) -> Result<Secret, KeyError> {
        Err(self.error())
    }
}
