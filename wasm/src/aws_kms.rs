//! `awsKms` options: AWS KMS from JS through the core's client (reqwest over `fetch`,
//! SigV4 by `aws-sigv4`), credentials from the caller's `getCredentials` callback (e.g.
//! Cognito identity-pool or STS web-identity credentials obtained by the page).
//!
//! ```text
//! awsKms: {
//!   getCredentials() → { accessKeyId, secretAccessKey, sessionToken?, expiration? }  (required;
//!                      may return a promise; expiration a Date, ms or ISO text)
//!   keys?: string | string[]             // ARN[+ROLE_ARN] to encrypt for
//!   encryptionContext?: string | object  // `k:v,k2:v2` or { k: v } for `keys`
//!   endpoint?: string                    // KMS endpoint replacing https://kms.REGION.amazonaws.com
//!   stsEndpoint?: string                 // STS endpoint, for keys with a role
//! }
//! keyGroups[i].awsKms: string[]          // ARN[+ROLE_ARN]
//! ```
//!
//! A key's `aws_profile` has no meaning here (no shared files): the callback's
//! credentials are used, and a key's `role` is assumed with them through STS.

use crate::failure::{js_message, Failure, Result};
use crate::options::Options;
use async_trait::async_trait;
use js_sys::{Function, Promise, Reflect};
use leafcrypt_core::keysource::aws_kms::credentials::{
    parse_expiration, AwsCredentials, AwsEnv, CredentialError, CredentialProvider,
};
use leafcrypt_core::keysource::aws_kms::key::{context_map, parse_context};
use leafcrypt_core::keysource::aws_kms::{AwsKmsSource, KmsClient};
use leafcrypt_core::keysource::rest::http;
use leafcrypt_core::keysource::KeyEntry;
use leafcrypt_core::tree::Value;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

const NAME: &str = "awsKms.getCredentials";

/// The KMS source and the keys to encrypt for, read from `options.awsKms`.
pub struct AwsKms {
    /// The source (one client: credentials shared by every key).
    pub source: AwsKmsSource,
    /// `awsKms.keys` as key descriptions (with the encryption context).
    pub keys: Vec<KeyEntry>,
}

impl AwsKms {
    /// `None` when `options.awsKms` is absent.
    pub fn from_options(options: &Options) -> Result<Option<Self>> {
        if !options.has("awsKms")? {
            return Ok(None);
        }
        let o = options.object("awsKms")?;
        let callback = o
            .get("getCredentials")?
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| {
                Failure::Options(
                    "options.awsKms.getCredentials must be a function () → { accessKeyId, \
                     secretAccessKey, sessionToken?, expiration? }"
                        .into(),
                )
            })?;
        let context = match o.get("encryptionContext")? {
            None => BTreeMap::new(),
            Some(v) if v.is_null() || v.is_undefined() => BTreeMap::new(),
            Some(v) => match v.as_string() {
                Some(text) => parse_context(&text).map_err(|w| {
                    Failure::Options(format!("options.awsKms.encryptionContext: {w}"))
                })?,
                None => context_object(&v)?,
            },
        };
        let mut keys = entries(&o.strings("keys")?);
        if !context.is_empty() {
            for k in &mut keys {
                k.fields
                    .push(("context".into(), Value::Map(context_map(&context))));
            }
        }
        let mut vars = HashMap::new();
        if let Some(e) = o.string("endpoint")? {
            vars.insert("AWS_ENDPOINT_URL_KMS".to_string(), e);
        }
        if let Some(e) = o.string("stsEndpoint")? {
            vars.insert("AWS_ENDPOINT_URL_STS".to_string(), e);
        }
        let env = AwsEnv {
            vars: Rc::new(move |n| vars.get(n).cloned()),
            session_name: "sops@leafcrypt-wasm".into(),
            http: http::client(&http::HttpOptions::default()).map_err(Failure::Options)?,
        };
        let client = KmsClient::new(env).with_credentials(Rc::new(JsCredentials { callback }));
        Ok(Some(Self {
            source: AwsKmsSource::new(Rc::new(client)),
            keys,
        }))
    }
}

fn context_object(value: &JsValue) -> Result<BTreeMap<String, String>> {
    let bad = || {
        Failure::Options(
            "options.awsKms.encryptionContext must be `k:v,…` or an object of strings".into(),
        )
    };
    let object = value.dyn_ref::<js_sys::Object>().ok_or_else(bad)?;
    let mut out = BTreeMap::new();
    for pair in js_sys::Object::entries(object).iter() {
        let pair: js_sys::Array = pair.unchecked_into();
        let k = pair.get(0).as_string().ok_or_else(bad)?;
        let v = pair.get(1).as_string().ok_or_else(bad)?;
        out.insert(k, v);
    }
    Ok(out)
}

/// `kms` key descriptions for `ARN[+ROLE_ARN]` strings (comma-separated allowed).
pub fn entries(list: &[String]) -> Vec<KeyEntry> {
    list.iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| leafcrypt_core::config::kms_entry_from_arn(a, ""))
        .collect()
}

/// The caller's credentials callback.
struct JsCredentials {
    callback: Function,
}

fn failed(message: String) -> CredentialError {
    CredentialError::Failed(format!("{NAME}: {message}"))
}

#[async_trait(?Send)]
impl CredentialProvider for JsCredentials {
    fn name(&self) -> String {
        NAME.into()
    }

    async fn credentials(&self) -> std::result::Result<AwsCredentials, CredentialError> {
        let returned = self
            .callback
            .call0(&JsValue::UNDEFINED)
            .map_err(|e| failed(format!("threw: {}", js_message(&e))))?;
        let value = JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(|e| failed(format!("rejected: {}", js_message(&e))))?;
        let get = |k: &str| {
            Reflect::get(&value, &JsValue::from_str(k))
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_null())
        };
        let text = |k: &str| get(k).and_then(|v| v.as_string()).filter(|s| !s.is_empty());
        let (Some(id), Some(secret)) = (text("accessKeyId"), text("secretAccessKey")) else {
            return Err(failed(
                "must return { accessKeyId, secretAccessKey, sessionToken?, expiration? }".into(),
            ));
        };
        let mut creds = AwsCredentials::new(id, secret, text("sessionToken"), NAME);
        creds.expires_unix = get("expiration").and_then(|v| {
            v.dyn_ref::<js_sys::Date>()
                .map(|d| d.get_time())
                .or_else(|| v.as_f64())
                .map(|ms| (ms / 1000.0) as u64)
                .or_else(|| v.as_string().and_then(|s| parse_expiration(&s)))
        });
        Ok(creds)
    }
}
