//! `hcVault` options: HashiCorp Vault transit from JS through the core's client (reqwest
//! over `fetch`), the token from the caller.
//!
//! ```text
//! hcVault: {
//!   getToken?(): string | Promise<string>   // asked before each Vault operation
//!   token?: string                          // a fixed token instead
//!   keys?: string | string[]                // https://VAULT:8200/v1/ENGINE/keys/NAME to encrypt for
//!   namespace?: string                      // X-Vault-Namespace
//! }
//! ```
//!
//! Vault answers browsers only when its listener's CORS is enabled
//! (`vault write sys/config/cors enabled=true allowed_origins=…`); Node needs nothing.

use crate::failure::{js_message, Failure, Result};
use crate::options::Options;
use async_trait::async_trait;
use js_sys::{Function, Promise};
use leafcrypt_core::keysource::hc_vault::{HcVaultSource, Settings, TokenProvider, VaultClient};
use leafcrypt_core::keysource::KeyEntry;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

/// The Vault source and the keys to encrypt for, read from `options.hcVault`.
pub struct HcVault {
    /// The source.
    pub source: HcVaultSource,
    /// `hcVault.keys` as key descriptions.
    pub keys: Vec<KeyEntry>,
}

/// `hcVault.getToken` as a [`TokenProvider`].
struct JsToken(Function);

#[async_trait(?Send)]
impl TokenProvider for JsToken {
    async fn token(&self) -> std::result::Result<Zeroizing<String>, String> {
        let returned = self
            .0
            .call0(&JsValue::UNDEFINED)
            .map_err(|e| format!("hcVault.getToken threw: {}", js_message(&e)))?;
        let resolved = JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(|e| format!("hcVault.getToken rejected: {}", js_message(&e)))?;
        resolved
            .as_string()
            .filter(|t| !t.is_empty())
            .map(Zeroizing::new)
            .ok_or_else(|| "hcVault.getToken must return (a promise of) a token string".into())
    }
}

impl HcVault {
    /// `None` when `options.hcVault` is absent.
    pub fn from_options(options: &Options) -> Result<Option<Self>> {
        if !options.has("hcVault")? {
            return Ok(None);
        }
        let hv = options.object("hcVault")?;
        let settings = Settings {
            token: hv.string("token")?.map(Zeroizing::new),
            namespace: hv.string("namespace")?,
            ..Settings::default()
        };
        let mut client = VaultClient::new(settings)
            .map_err(|e| Failure::Options(format!("options.hcVault: {e}")))?;
        if let Some(value) = hv.get("getToken")? {
            let function = value.dyn_into::<Function>().map_err(|_| {
                Failure::Options("options.hcVault.getToken must be a function () → token".into())
            })?;
            client = client.with_token_provider(Rc::new(JsToken(function)));
        }
        let keys = entries(&hv.strings("keys")?, "options.hcVault.keys")?;
        Ok(Some(Self {
            source: HcVaultSource::new(client),
            keys,
        }))
    }
}

/// Parses transit key URIs (comma-separated lists allowed) as sops does.
pub fn entries(uris: &[String], what: &str) -> Result<Vec<KeyEntry>> {
    uris.iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            leafcrypt_core::config::hc_vault_entry_from_uri(u)
                .map_err(|e| Failure::Options(format!("{what}: {e}")))
        })
        .collect()
}
