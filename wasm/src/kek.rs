//! The callback KEK: a key source whose wrap and unwrap are JS functions, so that users
//! bring AWS KMS, WebCrypto, an HSM service or anything else.
//!
//! Its entries have the metadata kind [`KIND`] with the fields `id` (the KEK's name as the
//! user gave it), `created_at` and `enc` (standard base64 of the bytes `wrap` returned).
//! sops does not know this kind: it ignores such entries when decrypting (another key of
//! the file must open it) and drops them when it rewrites the file's metadata.

use crate::failure::{js_message, Failure, Result};
use crate::options::Options;
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use js_sys::{ArrayBuffer, Function, Promise, Reflect, Uint8Array};
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource};
use leafcrypt_core::secret::Secret;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The metadata kind of callback KEK entries.
pub const KIND: &str = "callback_kek";

/// The key description that asks the KEK `id` to wrap a data key.
pub fn entry(id: &str) -> KeyEntry {
    KeyEntry::new(KIND).with("id", id)
}

/// One `{ id, wrap, unwrap }` object from the options.
pub struct CallbackKek {
    id: String,
    /// The KEK object, passed as `this` to its functions.
    this: JsValue,
    wrap: Function,
    unwrap: Function,
}

impl std::fmt::Debug for CallbackKek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackKek").field("id", &self.id).finish()
    }
}

impl CallbackKek {
    /// Reads a KEK object: `id` (non-empty string), `wrap` and `unwrap` (functions).
    pub fn from_options(options: &Options) -> Result<Self> {
        let id = options
            .string("id")?
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Failure::Options("a kek needs a non-empty string id".into()))?;
        let function = |name: &str| -> Result<Function> {
            options
                .get(name)?
                .and_then(|v| v.dyn_into::<Function>().ok())
                .ok_or_else(|| Failure::Options(format!("kek '{id}': {name} must be a function")))
        };
        Ok(Self {
            wrap: function("wrap")?,
            unwrap: function("unwrap")?,
            this: options.raw().clone(),
            id,
        })
    }

    /// The KEK's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn failed(&self, message: String) -> KeyError {
        KeyError::Failed {
            kind: KIND.into(),
            message: format!("kek '{}': {message}", self.id),
        }
    }

    /// Calls `function` with a fresh `Uint8Array` copy of `input`, awaits the result if it
    /// is a promise, and returns its bytes. The copy handed to JS is zeroed afterwards, as
    /// it may hold a data key.
    async fn call(
        &self,
        what: &str,
        function: &Function,
        input: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let argument = Uint8Array::from(input);
        let outcome = async {
            let returned = function
                .call1(&self.this, &argument)
                .map_err(|e| self.failed(format!("{what} threw: {}", js_message(&e))))?;
            let resolved = JsFuture::from(Promise::resolve(&returned))
                .await
                .map_err(|e| self.failed(format!("{what} rejected: {}", js_message(&e))))?;
            bytes_of(&resolved).ok_or_else(|| {
                self.failed(format!(
                    "{what} must return a Uint8Array (or a promise of one)"
                ))
            })
        }
        .await;
        argument.fill(0, 0, argument.length());
        outcome
    }
}

/// The bytes of a `Uint8Array`, an `ArrayBuffer` or any other `ArrayBuffer` view (typed
/// array, `DataView`, Node `Buffer`).
fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        return Some(array.to_vec());
    }
    if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        return Some(Uint8Array::new(buffer).to_vec());
    }
    if !ArrayBuffer::is_view(value) {
        return None;
    }
    // Views share `buffer`, `byteOffset` and `byteLength`; read them generically.
    let field = |name: &str| Reflect::get(value, &JsValue::from_str(name)).ok();
    let buffer = field("buffer")?.dyn_into::<ArrayBuffer>().ok()?;
    let offset = field("byteOffset")?.as_f64()? as u32;
    let length = field("byteLength")?.as_f64()? as u32;
    Some(Uint8Array::new_with_byte_offset_and_length(&buffer, offset, length).to_vec())
}

#[async_trait(?Send)]
impl KeySource for CallbackKek {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        if key.get("id") != Some(self.id.as_str()) {
            return Err(KeyError::NoIdentity {
                kind: KIND.into(),
                key: key.identity(),
            });
        }
        let wrapped = self.call("wrap", &self.wrap, secret).await?;
        if wrapped.is_empty() {
            return Err(self.failed("wrap returned no bytes".into()));
        }
        let mut entry = key.description();
        entry.set("created_at", now);
        entry.set("enc", STANDARD.encode(wrapped));
        Ok(entry)
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        if entry.get("id") != Some(self.id.as_str()) {
            return Err(KeyError::NoIdentity {
                kind: KIND.into(),
                key: entry.identity(),
            });
        }
        let enc = entry
            .get("enc")
            .ok_or_else(|| self.failed("the entry has no enc".into()))?;
        let wrapped = STANDARD
            .decode(enc.trim())
            .map_err(|e| self.failed(format!("the entry's enc is not base64: {e}")))?;
        let secret = self.call("unwrap", &self.unwrap, &wrapped).await?;
        Ok(Secret::new(secret))
    }
}
