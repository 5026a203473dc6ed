//! # leafcrypt-wasm
//!
//! wasm-bindgen bindings of `leafcrypt-core` for the npm package `leafcrypt`. This crate has
//! no format logic of its own: it reads JS option objects, runs the core's operations and
//! turns results and errors into JS values. The package's ESM glue (`npm/src/`) converts
//! strings to bytes and re-throws errors as `LeafcryptError`.
//!
//! Every exported function takes the file as bytes and a plain options object; failures
//! are JS `Error`s with `code`, `exitCode` and, where known, `path` (see [`failure`]).

#![warn(missing_docs)]

#[cfg(feature = "aws-kms")]
pub mod aws_kms;
pub mod azure_kv;
pub mod convert;
pub mod edit;
pub mod engine;
pub mod failure;
pub mod gcp_kms;
pub mod groups;
pub mod hc_vault;
pub mod kek;
pub mod keys;
pub mod options;
pub mod pgp;
pub mod token;
pub mod view;

use failure::Failure;
use options::Options;
use wasm_bindgen::prelude::*;

/// Decrypts an encrypted file; resolves to the plaintext bytes.
#[wasm_bindgen]
pub async fn decrypt(input: Vec<u8>, options: JsValue) -> Result<Vec<u8>, JsValue> {
    let options = Options::new(options).map_err(Failure::into_js)?;
    engine::decrypt(&input, &options)
        .await
        .map_err(Failure::into_js)
}

/// Decrypts an encrypted file; resolves to its data as plain JS values.
#[wasm_bindgen(js_name = decryptToObject)]
pub async fn decrypt_to_object(input: Vec<u8>, options: JsValue) -> Result<JsValue, JsValue> {
    let options = Options::new(options).map_err(Failure::into_js)?;
    let opened = engine::open(&input, &options, false)
        .await
        .map_err(Failure::into_js)?;
    Ok(convert::tree_to_js(&opened.tree))
}

/// Encrypts a plaintext file; resolves to the encrypted file's bytes.
#[wasm_bindgen]
pub async fn encrypt(input: Vec<u8>, options: JsValue) -> Result<Vec<u8>, JsValue> {
    let options = Options::new(options).map_err(Failure::into_js)?;
    engine::encrypt(&input, &options)
        .await
        .map_err(Failure::into_js)
}

/// Rotates the data key of an encrypted file; resolves to the new file's bytes.
#[wasm_bindgen]
pub async fn rotate(input: Vec<u8>, options: JsValue) -> Result<Vec<u8>, JsValue> {
    let options = Options::new(options).map_err(Failure::into_js)?;
    engine::rotate(&input, &options)
        .await
        .map_err(Failure::into_js)
}

/// Reads an encrypted file's metadata (no key needed).
#[wasm_bindgen]
pub fn inspect(input: &[u8], options: JsValue) -> Result<JsValue, JsValue> {
    let run = || -> failure::Result<JsValue> {
        let options = Options::new(options)?;
        let file = engine::load(input, options.format("format")?)?;
        Ok(convert::metadata_to_js(&file.metadata))
    };
    run().map_err(Failure::into_js)
}

/// Encrypts bytes under an Azure Key Vault key without a file (`options.key` names the key,
/// `options.azureKv` how to reach it); resolves to `{ ciphertext, kid, version }`.
#[wasm_bindgen(js_name = encryptText)]
pub async fn encrypt_text(plaintext: Vec<u8>, options: JsValue) -> Result<JsValue, JsValue> {
    let run = || async {
        let options = Options::new(options)?;
        let (kv, key) = text_key(&options)?;
        let encrypted = leafcrypt_core::keysource::azure_kv::text::encrypt_text_with(
            kv.source.client(),
            &key,
            &plaintext,
            options.object("azureKv")?.flag("remoteEncrypt")?,
        )
        .await
        .map_err(|e| Failure::Core(leafcrypt_core::Error::Key(e.into())))?;
        let out = js_sys::Object::new();
        for (k, v) in [
            ("ciphertext", encrypted.ciphertext),
            ("kid", encrypted.kid),
            ("version", encrypted.version),
        ] {
            js_sys::Reflect::set(&out, &k.into(), &v.into())
                .map_err(|_| Failure::Options("cannot build the result".into()))?;
        }
        Ok::<JsValue, Failure>(out.into())
    };
    run().await.map_err(Failure::into_js)
}

/// Decrypts an `lckv1.…` string made by [`encrypt_text`] for `options.key`; resolves to
/// the plaintext bytes.
#[wasm_bindgen(js_name = decryptText)]
pub async fn decrypt_text(ciphertext: String, options: JsValue) -> Result<Vec<u8>, JsValue> {
    let run = || async {
        let options = Options::new(options)?;
        let (kv, key) = text_key(&options)?;
        let plain = leafcrypt_core::keysource::azure_kv::text::decrypt_text(
            kv.source.client(),
            &key,
            ciphertext.trim(),
        )
        .await
        .map_err(|e| Failure::Core(leafcrypt_core::Error::Key(e.into())))?;
        Ok::<Vec<u8>, Failure>(plain.to_vec())
    };
    run().await.map_err(Failure::into_js)
}

fn text_key(
    options: &Options,
) -> failure::Result<(
    azure_kv::AzureKv,
    leafcrypt_core::keysource::azure_kv::KeyId,
)> {
    let kv = azure_kv::AzureKv::from_options(options)?
        .ok_or_else(|| Failure::Options("options.azureKv is required".into()))?;
    let url = options.string("key")?.ok_or_else(|| {
        Failure::Options("options.key (https://VAULT/keys/NAME) is required".into())
    })?;
    let key = leafcrypt_core::keysource::azure_kv::KeyId::parse(&url)
        .map_err(|e| Failure::Options(format!("options.key: {e}")))?;
    Ok((kv, key))
}

/// The format sops picks for a file name (`yaml`, `json`, `dotenv`, `ini`, `toml` — a
/// leafcrypt extension — or `binary`): the core's rule, case-sensitive as sops's.
#[wasm_bindgen(js_name = formatFromPath)]
pub fn format_from_path(path: &str) -> String {
    leafcrypt_core::stores::Format::from_path(path)
        .name()
        .to_string()
}

/// The format of an encrypted file from its name, else its content (sops's marks), or
/// `undefined` when neither tells (the core's `stores::detect`).
#[wasm_bindgen(js_name = detectFormat)]
pub fn detect_format(name: &str, content: &[u8]) -> Option<String> {
    leafcrypt_core::stores::detect(name, content).map(|f| f.name().to_string())
}
