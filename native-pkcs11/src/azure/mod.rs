//! Azure Key Vault in the CLI: the key source built from the environment and flags, the
//! on-disk public-key cache, and the `azure-kv` subcommands (`stale`, `encrypt-text`,
//! `decrypt-text`). The protocol itself lives in `leafcrypt_core::keysource::azure_kv`.

pub mod command;
mod key_cache;
pub mod rotation;

use crate::cli::Opts;
use crate::failure::{CliResult, Failure};
use crate::lazy_source::LazySource;
use leafcrypt_core::keysource::azure_kv::credential::chain::DefaultChain;
use leafcrypt_core::keysource::azure_kv::credential::process_env;
use leafcrypt_core::keysource::azure_kv::{
    AzureKvSource, ClientOptions, KeyVaultClient, TIMEOUT_VAR,
};
use leafcrypt_core::keysource::rest::http;
use leafcrypt_core::keysource::KeySource;
use leafcrypt_core::ExitCode;
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
    let settings = Settings::from_opts(opts);
    Box::new(LazySource::new(
        "azure_kv",
        "check the Azure settings (AZURE_TOKEN_CREDENTIALS, SSL_CERT_FILE)",
        move || build(&settings).map_err(|f| f.message),
    ))
}
