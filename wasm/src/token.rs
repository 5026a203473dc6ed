//! `azureKv.getToken`: the caller's async token callback as a [`TokenCredential`], so that
//! MSAL.js, `@azure/identity` or a pasted token can authenticate Key Vault calls.
//!
//! The callback gets `(scopes: string[], tenantId?: string)` and returns (a promise of) a
//! token string, `{ token, expiresOnTimestamp }` (`@azure/identity`'s `AccessToken`, ms) or
//! `{ accessToken, expiresOn }` (MSAL's result; a `Date` or ms).

use crate::failure::js_message;
use async_trait::async_trait;
use js_sys::{Array, Function, Promise, Reflect};
use leafcrypt_core::keysource::azure_kv::credential::{
    AccessToken, CredentialError, TokenCredential, TokenRequest,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

/// The name this credential reports in errors.
const NAME: &str = "azureKv.getToken";

/// A JS token callback.
pub struct JsTokenCredential {
    callback: Function,
}

impl JsTokenCredential {
    /// Wraps `callback` (already checked to be a function).
    pub fn new(callback: Function) -> Self {
        Self { callback }
    }

    fn failed(message: String) -> CredentialError {
        CredentialError {
            credential: NAME.into(),
            message,
            unavailable: false,
        }
    }
}

#[async_trait(?Send)]
impl TokenCredential for JsTokenCredential {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        let scopes: Array = request
            .scopes
            .iter()
            .map(|s| JsValue::from_str(s))
            .collect();
        let tenant = request
            .tenant_id
            .as_deref()
            .map(JsValue::from_str)
            .unwrap_or(JsValue::UNDEFINED);
        let returned = self
            .callback
            .call2(&JsValue::UNDEFINED, &scopes, &tenant)
            .map_err(|e| Self::failed(format!("threw: {}", js_message(&e))))?;
        let resolved = JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(|e| Self::failed(format!("rejected: {}", js_message(&e))))?;
        token_of(&resolved).ok_or_else(|| {
            Self::failed(
                "must return a token string, { token, expiresOnTimestamp } or \
                 { accessToken, expiresOn }"
                    .into(),
            )
        })
    }
}

/// Reads the callback's result. Without an expiry the token is used for one minute
/// before the callback is asked again (it may cache on its side).
fn token_of(value: &JsValue) -> Option<AccessToken> {
    let now = leafcrypt_core::keysource::rest::platform::now_unix();
    if let Some(token) = value.as_string() {
        return (!token.is_empty()).then(|| AccessToken {
            token: Zeroizing::new(token),
            expires_on: now + 60,
        });
    }
    if !value.is_object() {
        return None;
    }
    let get = |k: &str| Reflect::get(value, &JsValue::from_str(k)).ok();
    let token = get("token")
        .and_then(|v| v.as_string())
        .or_else(|| get("accessToken").and_then(|v| v.as_string()))
        .filter(|t| !t.is_empty())?;
    let expiry_ms = get("expiresOnTimestamp")
        .and_then(|v| v.as_f64())
        .or_else(|| {
            get("expiresOn").and_then(|v| {
                v.dyn_ref::<js_sys::Date>()
                    .map(|d| d.get_time())
                    .or_else(|| v.as_f64())
            })
        });
    Some(AccessToken {
        token: Zeroizing::new(token),
        expires_on: expiry_ms
            .filter(|ms| ms.is_finite() && *ms > 0.0)
            .map(|ms| (ms / 1000.0) as u64)
            .unwrap_or(now + 60),
    })
}
