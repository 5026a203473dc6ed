//! `gcpKms` options: GCP Cloud KMS from JS through the core's REST client (reqwest over
//! `fetch`), access tokens from the caller's `getToken` callback (google-auth-library,
//! gcloud's `print-access-token`, GIS in a browser).
//!
//! ```text
//! gcpKms: {
//!   getToken() → token | { access_token | accessToken | token, expiry_date? | expiresOn? }  (required)
//!   keys?: string | string[]   // projects/P/locations/L/keyRings/R/cryptoKeys/K to encrypt for
//!   endpoint?: string          // e.g. a proxy or an emulator; default https://cloudkms.googleapis.com
//! }
//! ```

use crate::failure::{js_message, Failure, Result};
use crate::options::Options;
use async_trait::async_trait;
use js_sys::{Function, Promise, Reflect};
use leafcrypt_core::keysource::gcp_kms::credential::{Token, TokenSource};
use leafcrypt_core::keysource::gcp_kms::{resource, GcpKmsClient, GcpKmsSource, KIND};
use leafcrypt_core::keysource::KeyEntry;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

const NAME: &str = "gcpKms.getToken";

/// The caller's token callback.
struct JsTokenSource(Function);

#[async_trait(?Send)]
impl TokenSource for JsTokenSource {
    fn name(&self) -> &str {
        NAME
    }

    async fn token(&self) -> std::result::Result<Token, String> {
        let returned = self
            .0
            .call0(&JsValue::UNDEFINED)
            .map_err(|e| format!("threw: {}", js_message(&e)))?;
        let resolved = JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(|e| format!("rejected: {}", js_message(&e)))?;
        token_of(&resolved).ok_or_else(|| {
            "must return a token string or { access_token | accessToken | token, expiry_date? }"
                .into()
        })
    }
}

/// Reads the callback's result; without an expiry the token is asked for again after a
/// minute.
fn token_of(value: &JsValue) -> Option<Token> {
    let now = leafcrypt_core::keysource::rest::platform::now_unix();
    if let Some(token) = value.as_string() {
        return (!token.is_empty()).then(|| Token {
            value: Zeroizing::new(token),
            expires_on: now + 60,
        });
    }
    let get = |k: &str| Reflect::get(value, &JsValue::from_str(k)).ok();
    let token = ["access_token", "accessToken", "token"]
        .iter()
        .find_map(|k| get(k).and_then(|v| v.as_string()))
        .filter(|t| !t.is_empty())?;
    let expiry_ms = get("expiry_date").and_then(|v| v.as_f64()).or_else(|| {
        get("expiresOn").and_then(|v| {
            v.dyn_ref::<js_sys::Date>()
                .map(|d| d.get_time())
                .or_else(|| v.as_f64())
        })
    });
    Some(Token {
        value: Zeroizing::new(token),
        expires_on: expiry_ms
            .filter(|ms| ms.is_finite() && *ms > 0.0)
            .map(|ms| (ms / 1000.0) as u64)
            .unwrap_or(now + 60),
    })
}

/// The GCP KMS source and the keys to encrypt for, read from `options.gcpKms`.
pub struct GcpKms {
    /// The source.
    pub source: GcpKmsSource,
    /// `gcpKms.keys` as key descriptions.
    pub keys: Vec<KeyEntry>,
}

impl GcpKms {
    /// `None` when `options.gcpKms` is absent.
    pub fn from_options(options: &Options) -> Result<Option<Self>> {
        if !options.has("gcpKms")? {
            return Ok(None);
        }
        let gcp = options.object("gcpKms")?;
        let get_token = gcp
            .get("getToken")?
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| {
                Failure::Options("options.gcpKms.getToken must be a function () → token".into())
            })?;
        let keys = group_entries(&gcp.strings("keys")?)?;
        let mut client = GcpKmsClient::from_env(Arc::new(|_| None))
            .map_err(|e| Failure::Options(format!("options.gcpKms: {e}")))?
            .with_token_source(Rc::new(JsTokenSource(get_token)));
        if let Some(endpoint) = gcp.string("endpoint")? {
            client = client.with_endpoint(&endpoint);
        }
        Ok(Some(Self {
            source: GcpKmsSource::new(client),
            keys,
        }))
    }
}

/// Resource IDs (comma-separated lists allowed) as `gcp_kms` key descriptions.
pub fn group_entries(ids: &[String]) -> Result<Vec<KeyEntry>> {
    ids.iter()
        .flat_map(|l| l.split(','))
        .map(|id| id.replace(' ', ""))
        .filter(|id| !id.is_empty())
        .map(|id| {
            if resource::is_valid(&id) {
                Ok(KeyEntry::new(KIND).with("resource_id", id))
            } else {
                Err(Failure::Options(format!(
                    "options.gcpKms: {id:?} is not projects/P/locations/L/keyRings/R/cryptoKeys/K"
                )))
            }
        })
        .collect()
}
