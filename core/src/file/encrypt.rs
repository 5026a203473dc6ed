//! Encrypting a plaintext file for key groups.

use super::Layout;
use crate::keysource::Keyring;
use crate::metadata::{KeyGroup, Selector};
use crate::ops::{self, EncryptOptions};
use crate::stores::Format;
use crate::tree::Tree;
use crate::{Error, Result};

/// What a new file is encrypted with, as the user asked for it; the format's rules
/// (binary files) are applied by [`NewFile::options`].
#[derive(Clone, Debug, Default)]
pub struct NewFile {
    /// Key groups as key descriptions (entries without `enc`). One group = flat layout.
    pub key_groups: Vec<KeyGroup>,
    /// Shamir threshold (0 = unset; with several groups, 0 means "all groups").
    pub shamir_threshold: usize,
    /// The selector (`encrypted_regex`, `unencrypted_suffix`, …), `None` for the default.
    pub selector: Option<Selector>,
    /// Cover only encrypted values with the MAC.
    pub mac_only_encrypted: bool,
    /// The time of this encryption, RFC 3339 seconds, UTC.
    pub now: String,
}

impl NewFile {
    /// The engine's options for a file of `format`. A binary file's one value is always
    /// encrypted: sops ignores selectors and `mac_only_encrypted` for it and stores no
    /// selector.
    pub fn options(&self, format: Format) -> EncryptOptions {
        let binary = format == Format::Binary;
        EncryptOptions {
            key_groups: self.key_groups.clone(),
            shamir_threshold: self.shamir_threshold,
            selector: if binary { None } else { self.selector.clone() },
            store_selector: !binary,
            mac_only_encrypted: !binary && self.mac_only_encrypted,
            now: self.now.clone(),
        }
    }

    /// Whether a selector was given that `format` ignores (a front end may warn).
    pub fn ignores_selector(&self, format: Format) -> bool {
        format == Format::Binary && self.selector.is_some()
    }

    /// Encrypts a parsed plaintext `tree` (see [`parse_plain`]) and writes it in
    /// `layout.output`.
    pub async fn encrypt_tree(
        &self,
        mut tree: Tree,
        layout: &Layout,
        keyring: &Keyring,
    ) -> Result<Vec<u8>> {
        let metadata = ops::encrypt(&mut tree, &self.options(layout.input), keyring).await?;
        layout.output_store().emit(&tree, Some(&metadata))
    }
}

/// Parses a plaintext file. A file that already has a top-level `sops` entry (dotenv/INI:
/// `sops_…` keys), valid metadata or not, is refused with [`Error::AlreadyEncrypted`]
/// (exit 203), as sops refuses it.
pub fn parse_plain(input: &[u8], format: Format) -> Result<Tree> {
    let doc = format.store(None).parse(input).map_err(|e| match e {
        Error::Metadata(_) => Error::AlreadyEncrypted,
        e => e,
    })?;
    if doc.metadata.is_some() {
        return Err(Error::AlreadyEncrypted);
    }
    Ok(doc.tree)
}

/// Encrypts the plaintext file `input` for `file`'s key groups; returns the encrypted
/// file. Key groups without keys are refused before the file is parsed
/// ([`ops::check_key_groups`]).
pub async fn encrypt(
    input: &[u8],
    layout: &Layout,
    file: &NewFile,
    keyring: &Keyring,
) -> Result<Vec<u8>> {
    ops::check_key_groups(&file.key_groups)?;
    let tree = parse_plain(input, layout.input)?;
    file.encrypt_tree(tree, layout, keyring).await
}
