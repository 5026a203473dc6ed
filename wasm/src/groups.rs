//! Editing the key groups of an encrypted file: add a group or delete one; the data key
//! stays the same and is re-split across the new groups (values, MAC and `lastmodified`
//! untouched), as the CLI's `groups add` / `groups delete`.
//!
//! ```text
//! editKeyGroups(input, { format, indent?, age?, pgp?, kek?, azureKv?,
//!                        addGroup?: { age?, pgp?, kek?, azureKv? } | deleteGroup?: number,
//!                        shamirThreshold?, keyVersions?: "pinned" | "current" })
//! ```
//!
//! `keyVersions` is the policy for the Key Vault entries the file keeps: `"pinned"` (the
//! default, as the CLI's `groups`) wraps with each entry's recorded version, `"current"`
//! with the key's current version.

use crate::engine;
use crate::failure::{Failure, Result};
use crate::keys::Keys;
use crate::options::Options;
use leafcrypt_core::file::{GroupChange, KeyVersions, Layout};
use wasm_bindgen::prelude::*;

/// Adds or deletes a key group of an encrypted file; resolves to the new file's bytes.
#[wasm_bindgen(js_name = editKeyGroups)]
pub async fn edit_key_groups(input: Vec<u8>, options: JsValue) -> Result<Vec<u8>, JsValue> {
    edit(&input, options).await.map_err(Failure::into_js)
}

async fn edit(input: &[u8], options: JsValue) -> Result<Vec<u8>> {
    let options = Options::new(options)?;
    let layout = Layout {
        indent: options.count("indent")?,
        ..Layout::new(options.format("format")?)
    };
    let keys = Keys::from_options(&options)?;
    let change = change(&options, &keys)?;
    let versions = key_versions(&options)?;
    let mut file = engine::load(input, layout.input)?;
    let groups = change
        .apply(&file.metadata.key_groups, versions)
        .map_err(|e| Failure::Options(e.to_string()))?;
    let threshold = options.count("shamirThreshold")?.unwrap_or(0);
    file.rewrap(&groups, threshold, &keys.keyring, &engine::now())
        .await?;
    Ok(file.emit(&layout)?)
}

/// `addGroup` or `deleteGroup` (exactly one).
fn change(options: &Options, keys: &Keys) -> Result<GroupChange> {
    match (options.has("addGroup")?, options.count("deleteGroup")?) {
        (true, None) => Ok(GroupChange::Add(
            keys.group(&options.object("addGroup")?)?.keys,
        )),
        (false, Some(index)) => Ok(GroupChange::Delete(index)),
        _ => Err(Failure::Options(
            "give exactly one of options.addGroup and options.deleteGroup".into(),
        )),
    }
}

/// `keyVersions`: `"pinned"` (default) or `"current"`.
fn key_versions(options: &Options) -> Result<KeyVersions> {
    match options.string("keyVersions")?.as_deref() {
        None | Some("pinned") => Ok(KeyVersions::Pinned),
        Some("current") => Ok(KeyVersions::Current),
        Some(other) => Err(Failure::Options(format!(
            "options.keyVersions '{other}' is not one of pinned, current"
        ))),
    }
}
