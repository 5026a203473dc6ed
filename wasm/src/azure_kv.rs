//! `azureKv` options: Azure Key Vault from JS through the core's client (reqwest over
//! `fetch`), tokens from the caller's `getToken` callback.
//!
//! ```text
//! azureKv: {
//!   getToken(scopes: string[], tenantId?: string) → token | AccessToken  (required)
//!   keys?: string | string[]        // https://VAULT/keys/NAME[/VERSION] to encrypt for
//!   endpoint?: string               // a CORS proxy (e.g. `leafcrypt kv-proxy`) replacing the vault origin
//!   remoteEncrypt?: boolean         // wrap with the vault's encrypt instead of locally
//!   verifyChallengeResource?: boolean  // default true
//! }
//! ```
//!
//! Key Vault sends no CORS headers: in a browser a direct call fails, and the error says
//! to use `endpoint`. Node can call the vault directly.

use crate::failure::{Failure, Result};
use crate::options::Options;
use crate::token::JsTokenCredential;
use js_sys::Function;
use leafcrypt_core::keysource::azure_kv::credential::cache::CachingCredential;
use leafcrypt_core::keysource::azure_kv::{AzureKvSource, ClientOptions, KeyId, KeyVaultClient};
use leafcrypt_core::keysource::rest::http;
use leafcrypt_core::keysource::KeyEntry;
use std::rc::Rc;
use wasm_bindgen::JsCast;

/// The Key Vault source and the keys to encrypt for, read from `options.azureKv`.
pub struct AzureKv {
    /// The source (one client, so challenges, tokens and public keys are shared).
    pub source: AzureKvSource,
    /// `azureKv.keys`, parsed.
    pub keys: Vec<KeyId>,
}

impl AzureKv {
    /// `None` when `options.azureKv` is absent.
    pub fn from_options(options: &Options) -> Result<Option<Self>> {
        if !options.has("azureKv")? {
            return Ok(None);
        }
        let kv = options.object("azureKv")?;
        let get_token = kv
            .get("getToken")?
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| {
                Failure::Options(
                    "options.azureKv.getToken must be a function (scopes, tenantId) → token".into(),
                )
            })?;
        let keys = kv
            .strings("keys")?
            .iter()
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                KeyId::parse(u).map_err(|e| Failure::Options(format!("options.azureKv.keys: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let client_options = ClientOptions {
            endpoint: kv.string("endpoint")?,
            verify_challenge_resource: !matches!(
                kv.get("verifyChallengeResource")?.and_then(|v| v.as_bool()),
                Some(false)
            ),
            ..ClientOptions::default()
        };
        let http = http::client(&http::HttpOptions::default()).map_err(Failure::Options)?;
        let client = KeyVaultClient::new(
            http,
            Rc::new(CachingCredential::new(JsTokenCredential::new(get_token))),
            client_options,
        )
        .map_err(|e| Failure::Options(format!("options.azureKv: {e}")))?;
        let source =
            AzureKvSource::new(Rc::new(client)).with_remote_encrypt(kv.flag("remoteEncrypt")?);
        Ok(Some(Self { source, keys }))
    }

    /// The key descriptions of `azureKv.keys`.
    pub fn entries(&self) -> Vec<KeyEntry> {
        self.keys.iter().map(KeyId::to_entry).collect()
    }
}

/// Parses key URLs named in a key group (`keyGroups[i].azureKv`).
pub fn group_entries(urls: &[String]) -> Result<Vec<KeyEntry>> {
    urls.iter()
        .map(|u| {
            KeyId::parse(u)
                .map(|id| id.to_entry())
                .map_err(|e| Failure::Options(format!("options.keyGroups: {e}")))
        })
        .collect()
}
