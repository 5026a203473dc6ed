//! Azure Key Vault in the CLI: the key source built from the environment and flags, the
//! on-disk public-key cache, and the `azure-kv` subcommands (`stale`, `encrypt-text`,
//! `decrypt-text`). The protocol itself lives in `leafcrypt_core::keysource::azure_kv`.

pub mod command;
mod key_cache;
pub mod rotation;

use crate::cli::Opts;
use crate::failure::{CliResult, Failure};
use async_trait::async_trait;
use leafcrypt_core::keysource::azure_kv::credential::chain::DefaultChain;
use leafcrypt_core::keysource::azure_kv::credential::process_env;
use leafcrypt_core::keysource::azure_kv::{
    AzureKvSource, ClientOptions, KeyVaultClient, TIMEOUT_VAR,
};
use leafcrypt_core::keysource::rest::http;
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource, Probe};
use leafcrypt_core::secret::Secret;
use leafcrypt_core::ExitCode;
use std::cell::OnceCell;
use std::rc::Rc;

/// What the command line says about Key Vault.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `--azure-credential`.
    pub credential: Option<String>,
    /// `--azure-kv-skip-resource-check`.
    pub skip_resource_check: bool,
    /// `--azure-kv-remote-encrypt`.
    pub remote_encrypt: bool,
}

impl Settings {
    /// The settings in `opts`.
    pub fn from_opts(opts: &Opts) -> Self {
        Self {
            credential: opts.azure_credential.clone(),
            skip_resource_check: opts.azure_kv_skip_resource_check,
            remote_encrypt: opts.azure_kv_remote_encrypt,
        }
    }
}

/// The Key Vault source for this invocation: the default credential chain (or the one
/// `--azure-credential` names), `SSL_CERT_FILE` roots, the public-key cache on disk.
pub fn source(opts: &Opts) -> CliResult<AzureKvSource> {
    build(&Settings::from_opts(opts))
}

/// The Key Vault source for `settings` (see [`source`]).
pub(crate) fn build(settings: &Settings) -> CliResult<AzureKvSource> {
    let env = process_env;
    let http_options = http::options_from_env(&env, TIMEOUT_VAR)
        .map_err(|e| Failure::new(ExitCode::ErrorGeneric, format!("azure_kv: {e}")))?;
    let http = http::client(&http_options)
        .map_err(|e| Failure::new(ExitCode::ErrorGeneric, format!("azure_kv: {e}")))?;
    let chain = DefaultChain::from_env(&env, settings.credential.as_deref(), http.clone())
        .map_err(|e| {
            Failure::new(
                ExitCode::ErrorConflictingParameters,
                format!("azure_kv: {e}"),
            )
        })?;
    let options = ClientOptions {
        verify_challenge_resource: !settings.skip_resource_check,
        public_key_store: key_cache::DiskKeyCache::from_env().map(|c| Rc::new(c) as _),
        ..ClientOptions::default()
    };
    let client = KeyVaultClient::new(http, Rc::new(chain), options).map_err(|e| {
        Failure::new(
            ExitCode::ErrorConflictingParameters,
            format!("azure_kv: {e}"),
        )
    })?;
    Ok(AzureKvSource::new(Rc::new(client)).with_remote_encrypt(settings.remote_encrypt))
}

/// The Key Vault source as a keyring member, built on first use: commands on files
/// without Key Vault keys never load the TLS roots or read the Azure environment, and a
/// bad Azure configuration (e.g. an unknown `AZURE_TOKEN_CREDENTIALS`) only fails files
/// that have Key Vault keys.
pub fn keyring_member(opts: &Opts) -> Box<dyn KeySource> {
    Box::new(Lazy {
        settings: Settings::from_opts(opts),
        source: OnceCell::new(),
    })
}

/// A Key Vault source built when a Key Vault entry is first wrapped or unwrapped.
struct Lazy {
    settings: Settings,
    source: OnceCell<Result<AzureKvSource, String>>,
}

impl Lazy {
    fn get(&self) -> Result<&AzureKvSource, KeyError> {
        self.source
            .get_or_init(|| build(&self.settings).map_err(|f| f.message))
            .as_ref()
            .map_err(|message| KeyError::Failed {
                kind: "azure_kv".into(),
                message: message.clone(),
            })
    }
}

#[async_trait(?Send)]
impl KeySource for Lazy {
    fn kind(&self) -> &'static str {
        "azure_kv"
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
                "check the Azure settings (AZURE_TOKEN_CREDENTIALS, SSL_CERT_FILE)",
            ),
        }
    }
}
