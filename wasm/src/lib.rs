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

pub mod convert;
pub mod edit;
pub mod engine;
pub mod failure;
pub mod kek;
pub mod keys;
pub mod options;
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
        let (_, metadata) = engine::load(input, options.format("format")?)?;
        Ok(convert::metadata_to_js(&metadata))
    };
    run().map_err(Failure::into_js)
}
