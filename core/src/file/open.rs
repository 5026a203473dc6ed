//! Opening an encrypted file: parse it, decrypt it, print it (whole or one value), and
//! write it back after a change.

use super::{selector_on_rewrite, Layout};
use crate::keysource::Keyring;
use crate::metadata::{self, KeyGroup, Metadata};
use crate::ops::{self, DecryptOptions, Session};
use crate::secret::Secret;
use crate::stores::binary::BinaryStore;
use crate::stores::Format;
use crate::tree::{Map, Tree, Value};
use crate::treepath::{self, Step};
use crate::{Error, Result};

/// An encrypted file as parsed: values still `ENC[…]`, metadata read.
#[derive(Debug)]
pub struct EncryptedFile {
    /// The tree, values still encrypted.
    pub tree: Tree,
    /// The file's metadata.
    pub metadata: Metadata,
}

impl EncryptedFile {
    /// Parses an encrypted file of `format`. A file without metadata is
    /// [`Error::MetadataNotFound`]; an encrypted binary file is JSON, so for one that is
    /// not, the JSON parser's error says why.
    pub fn parse(input: &[u8], format: Format) -> Result<Self> {
        let doc = format.store(None).parse(input)?;
        let Some(metadata) = doc.metadata else {
            if format == Format::Binary {
                Format::Json.store(None).parse(input)?;
            }
            return Err(Error::MetadataNotFound(String::new()));
        };
        Ok(Self {
            tree: doc.tree,
            metadata,
        })
    }

    /// Refuses a metadata `version` that is not semver, as sops does before it decrypts
    /// or rewrites a file.
    pub fn check_version(&self) -> Result<()> {
        metadata::check_version(&self.metadata.version)
    }

    /// Decrypts the file: recovers the data key, decrypts every selected value and
    /// verifies the MAC (see [`ops::decrypt`]).
    pub async fn open(self, keyring: &Keyring, options: DecryptOptions) -> Result<OpenFile> {
        self.check_version()?;
        let Self { mut tree, metadata } = self;
        let session = ops::decrypt(&mut tree, &metadata, keyring, options).await?;
        Ok(OpenFile {
            tree,
            metadata,
            session,
        })
    }
}

impl EncryptedFile {
    /// A digest naming the file's wrapped data key: every key group's entries (kind and
    /// every field, `enc` and the key ids included) and the Shamir threshold. A rotated
    /// or re-keyed file gets another, so a cache keyed by it misses (the data-key agent).
    pub fn key_entries_digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut put = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        put(b"leafcrypt key entries v1");
        put(&(self.metadata.shamir_threshold as u64).to_be_bytes());
        put(&(self.metadata.key_groups.len() as u64).to_be_bytes());
        for group in &self.metadata.key_groups {
            put(&(group.keys.len() as u64).to_be_bytes());
            for entry in &group.keys {
                put(entry.kind.as_bytes());
                put(&(entry.fields.len() as u64).to_be_bytes());
                for (name, value) in &entry.fields {
                    put(name.as_bytes());
                    put(format!("{value:?}").as_bytes());
                }
            }
        }
        h.finalize().into()
    }

    /// Decrypts the file with a data key recovered earlier (e.g. held by the data-key
    /// agent) instead of asking the key sources: the same checks as
    /// [`EncryptedFile::open`], the MAC verified unless `options.ignore_mac`. A wrong key
    /// fails as a tampered file does.
    pub fn open_with_key(&self, data_key: Secret, options: DecryptOptions) -> Result<OpenFile> {
        self.check_version()?;
        let mut tree = self.tree.clone();
        let session = ops::open_tree(&mut tree, &self.metadata, data_key, options)?;
        Ok(OpenFile {
            tree,
            metadata: self.metadata.clone(),
            session,
        })
    }
}

/// A file decrypted for display by [`EncryptedFile::view`].
#[derive(Debug)]
pub struct Viewed {
    /// The plaintext tree (same shape as the stored one).
    pub plain: Tree,
    /// Non-fatal findings of the decryption (see [`Session::warnings`]).
    pub warnings: Vec<String>,
    /// Why the MAC does not authenticate the values, when it does not
    /// ([`Error::MacMismatch`] or [`Error::MacDecrypt`]); `None` when it verified.
    pub mac_error: Option<Error>,
}

impl EncryptedFile {
    /// Decrypts the file for display. Unlike [`EncryptedFile::open`], a MAC that does not
    /// match is not an error: the values are still decrypted and the MAC's error is
    /// returned beside them, so that a reviewer sees both the tampering and what was
    /// changed. The data key is recovered once; a value that does not decrypt is still an
    /// error.
    pub async fn view(&self, keyring: &Keyring, strict: bool) -> Result<Viewed> {
        let data_key = ops::recover(&self.metadata, keyring, strict).await?;
        let checked = DecryptOptions {
            strict,
            skip_iv_stash: true,
            ..Default::default()
        };
        let mut plain = self.tree.clone();
        match ops::open_tree(
            &mut plain,
            &self.metadata,
            data_key.clone(),
            checked.clone(),
        ) {
            Ok(session) => Ok(Viewed {
                plain,
                warnings: session.warnings,
                mac_error: None,
            }),
            Err(e @ (Error::MacMismatch { .. } | Error::MacDecrypt(_))) => {
                let mut plain = self.tree.clone();
                let unchecked = DecryptOptions {
                    ignore_mac: true,
                    ..checked
                };
                let session = ops::open_tree(&mut plain, &self.metadata, data_key, unchecked)?;
                Ok(Viewed {
                    plain,
                    warnings: session.warnings,
                    mac_error: Some(e),
                })
            }
            Err(e) => Err(e),
        }
    }
}

/// A decrypted file: its plaintext tree, its metadata and the key material to write it
/// back encrypted.
#[derive(Debug)]
pub struct OpenFile {
    /// The plaintext tree.
    pub tree: Tree,
    /// The metadata, as read (or as changed by the last operation).
    pub metadata: Metadata,
    /// The data key and the IV stash.
    pub session: Session,
}

impl OpenFile {
    /// The plaintext as `layout.output` writes it, or only the value at `extract`
    /// (sops's `--extract`; see [`extract`]).
    pub fn into_plaintext(self, layout: &Layout, extract_at: Option<&[Step]>) -> Result<Vec<u8>> {
        let store = layout.output_store();
        match extract_at {
            Some(steps) => {
                let empty = Map::new();
                let root = self.tree.branches.first().unwrap_or(&empty);
                store.emit_value(extract(root, steps)?)
            }
            // The plaintext of a binary file moves out of the tree instead of being copied.
            None if layout.output == Format::Binary => BinaryStore::into_plain(self.tree),
            None => store.emit(&self.tree, None),
        }
    }

    /// The document at `index` for a value edit; the first one is created when the file
    /// has none (as `sops set` does). `None` when there is no such document.
    pub fn document_mut(&mut self, index: usize) -> Option<&mut Map> {
        if index == 0 && self.tree.branches.is_empty() {
            self.tree.branches.push(Map::new());
        }
        self.tree.branches.get_mut(index)
    }

    /// Rotates the data key: a fresh one, wrapped for `groups` (key descriptions, see
    /// [`super::rotation_groups`]), every value re-encrypted with its old IV.
    pub async fn rotate(
        &mut self,
        groups: Vec<KeyGroup>,
        keyring: &Keyring,
        now: &str,
    ) -> Result<()> {
        self.metadata.key_groups = groups;
        self.session = ops::rotate(
            &mut self.tree,
            &mut self.metadata,
            &self.session,
            keyring,
            now,
        )
        .await?;
        Ok(())
    }

    /// Re-encrypts the values with the file's own data key (unchanged values keep their
    /// ciphertext) and renews `lastmodified` and the MAC; key entries stay as they are.
    pub fn reencrypt(&mut self, now: &str) -> Result<()> {
        ops::reencrypt(&mut self.tree, &mut self.metadata, &self.session, now)
    }

    /// The encrypted file as `layout.output` writes it (call after [`OpenFile::rotate`] or
    /// [`OpenFile::reencrypt`]).
    pub fn emit(mut self, layout: &Layout) -> Result<Vec<u8>> {
        selector_on_rewrite(layout.input, &mut self.metadata);
        layout.output_store().emit(&self.tree, Some(&self.metadata))
    }
}

/// Parses and decrypts `input`, and writes its plaintext (or the value at `extract_at`)
/// in `layout.output`: sops's `decrypt`, bytes in, bytes out.
pub async fn decrypt(
    input: &[u8],
    layout: &Layout,
    keyring: &Keyring,
    options: DecryptOptions,
    extract_at: Option<&[Step]>,
) -> Result<Vec<u8>> {
    let file = EncryptedFile::parse(input, layout.input)?;
    file.open(keyring, options)
        .await?
        .into_plaintext(layout, extract_at)
}

/// The value at `steps` in `root`, or sops's `error truncating tree` naming the first
/// component that is missing ([`Error::TreePath`]).
pub fn extract<'t>(root: &'t Map, steps: &[Step]) -> Result<&'t Value> {
    if steps.is_empty() {
        return Err(Error::TreePath(
            "error truncating tree: the path is empty".into(),
        ));
    }
    treepath::get(root, steps).map_err(|_| {
        let (i, step) = match (1..=steps.len()).find(|n| treepath::get(root, &steps[..*n]).is_err())
        {
            Some(n) => (n - 1, &steps[n - 1]),
            None => (0, &steps[0]),
        };
        let what = match step {
            Step::Key(k) => format!("component ['{k}'] not found"),
            Step::Index(n)
                if i > 0
                    && treepath::get(root, &steps[..i]).is_ok_and(|v| v.as_list().is_some()) =>
            {
                format!("component [{n}] accesses out of bounds")
            }
            Step::Index(n) => format!("component [{n}] not found"),
        };
        Error::TreePath(format!("error truncating tree: {what}"))
    })
}

#[cfg(test)]
mod digest_tests {
    use super::*;
    use crate::keysource::KeyEntry;

    fn file(enc: &str, threshold: usize) -> EncryptedFile {
        let entry = KeyEntry::new("azure_kv")
            .with("vault_url", "https://v")
            .with("name", "k")
            .with("version", "1")
            .with("enc", enc);
        EncryptedFile {
            tree: Tree::default(),
            metadata: Metadata {
                key_groups: vec![KeyGroup { keys: vec![entry] }],
                shamir_threshold: threshold,
                ..Metadata::default()
            },
        }
    }

    #[test]
    fn the_digest_changes_with_any_wrapped_key_entry() {
        assert_eq!(
            file("a", 0).key_entries_digest(),
            file("a", 0).key_entries_digest()
        );
        assert_ne!(
            file("a", 0).key_entries_digest(),
            file("b", 0).key_entries_digest()
        );
        assert_ne!(
            file("a", 0).key_entries_digest(),
            file("a", 2).key_entries_digest()
        );
        let mut two = file("a", 0);
        two.metadata.key_groups.push(KeyGroup::default());
        assert_ne!(two.key_entries_digest(), file("a", 0).key_entries_digest());
    }
}
