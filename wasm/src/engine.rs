//! The operations behind the exported functions: JS options in, the core's file API
//! (`leafcrypt_core::file`) run, bytes or engine values out. Every decision about files
//! (binary rules, the "already encrypted" refusal, the no-keys check, the rotation rule
//! for Key Vault versions) is the core's.

use crate::failure::{Failure, Result};
use crate::kek;
use crate::keys::{age_entry, Keys};
use crate::options::Options;
use leafcrypt_core::file::{self, EncryptedFile, KeyChanges, Layout, NewFile, OpenFile};
use leafcrypt_core::keysource::KeyEntry;
use leafcrypt_core::ops::{self, DecryptOptions};
use leafcrypt_core::stores::Format;
use leafcrypt_core::{treepath, Error};

/// `format`, `outputFormat` and `indent`.
fn layout(options: &Options) -> Result<Layout> {
    let input = options.format("format")?;
    let output = match options.has("outputFormat")? {
        true => options.format("outputFormat")?,
        false => input,
    };
    Ok(Layout {
        input,
        output,
        indent: options.count("indent")?,
    })
}

/// Parses an encrypted file: its tree (values still encrypted) and metadata.
pub fn load(input: &[u8], format: Format) -> Result<EncryptedFile> {
    Ok(EncryptedFile::parse(input, format)?)
}

/// `ignoreMac` and `strict`.
fn decrypt_options(options: &Options, keep_ivs: bool) -> Result<DecryptOptions> {
    Ok(DecryptOptions {
        ignore_mac: options.flag("ignoreMac")?,
        strict: options.flag("strict")?,
        skip_iv_stash: !keep_ivs,
        ..Default::default()
    })
}

/// Parses and decrypts `input` (MAC checked unless `ignoreMac`).
pub async fn open(input: &[u8], options: &Options, keep_ivs: bool) -> Result<OpenFile> {
    let format = options.format("format")?;
    let keys = Keys::from_options(options)?;
    let file = load(input, format)?;
    let decrypt_options = decrypt_options(options, keep_ivs)?;
    Ok(file.open(&keys.keyring, decrypt_options).await?)
}

/// Decrypts to the bytes the CLI prints (`outputFormat`, `indent`, `extract` as
/// `--output-type`, `--indent`, `--extract`).
pub async fn decrypt(input: &[u8], options: &Options) -> Result<Vec<u8>> {
    let layout = layout(options)?;
    let steps = match options.string("extract")? {
        Some(path) => Some(treepath::parse(&path)?),
        None => None,
    };
    let opened = open(input, options, false).await?;
    Ok(opened.into_plaintext(&layout, steps.as_deref())?)
}

/// Encrypts a plaintext for the options' keys and selector.
pub async fn encrypt(input: &[u8], options: &Options) -> Result<Vec<u8>> {
    let layout = layout(options)?;
    let keys = Keys::from_options(options)?;
    let new = NewFile {
        key_groups: keys.groups(options)?,
        shamir_threshold: options.count("shamirThreshold")?.unwrap_or(0),
        selector: options.selector()?,
        mac_only_encrypted: options.flag("macOnlyEncrypted")?,
        now: now(),
    };
    file::encrypt(input, &layout, &new, &keys.keyring)
        .await
        .map_err(|e| match e {
            Error::Config(m) if m == ops::NO_KEYS => Failure::Options(
                "no keys to encrypt for: give age.recipients, pgp.publicKeys (or pgp.recipients), \
                 azureKv.keys, awsKms.keys, gcpKms.keys, hcVault.keys, kek or keyGroups"
                    .into(),
            ),
            e => e.into(),
        })
}

/// The keys `rotate` adds and removes: `addAge`, `removeAge`, `addPgp`, `removePgp`,
/// `addKek`, `removeKek`.
fn key_changes(options: &Options) -> Result<KeyChanges> {
    let list = |age: &str, pgp: &str, kek: &str| -> Result<Vec<KeyEntry>> {
        let mut keys: Vec<KeyEntry> = options.strings(age)?.iter().map(|r| age_entry(r)).collect();
        keys.extend(crate::pgp::entries(
            &options.strings(pgp)?,
            &format!("options.{pgp}"),
        )?);
        keys.extend(options.strings(kek)?.iter().map(|id| kek::entry(id)));
        Ok(keys)
    };
    Ok(KeyChanges {
        add: list("addAge", "addPgp", "addKek")?,
        remove: list("removeAge", "removePgp", "removeKek")?,
    })
}

/// Rotates the data key: decrypts, edits the key list (see [`key_changes`]), re-encrypts
/// every value under a fresh key with its old IV. Key Vault entries are wrapped with the
/// key's current version, as the CLI's `rotate` does (the core's rotation rule).
pub async fn rotate(input: &[u8], options: &Options) -> Result<Vec<u8>> {
    let layout = layout(options)?;
    let keys = Keys::from_options(options)?;
    let mut opened = open(input, options, true).await?;
    let groups = file::rotation_groups(&opened.metadata.key_groups, &key_changes(options)?)
        .map_err(|e| Failure::Options(e.to_string()))?;
    opened.rotate(groups, &keys.keyring, &now()).await?;
    Ok(opened.emit(&layout)?)
}

/// Now as sops writes it (RFC 3339, seconds, UTC), from the JS clock.
pub(crate) fn now() -> String {
    let iso = String::from(js_sys::Date::new_0().to_iso_string());
    // `toISOString` is `YYYY-MM-DDTHH:MM:SS.sssZ` for years 0–9999.
    match iso.get(..19) {
        Some(seconds) => format!("{seconds}Z"),
        None => iso,
    }
}
