//! The operations behind the exported functions, in Rust types: options in, bytes or
//! engine values out. All format and crypto work is `leafcrypt-core`'s.

use crate::failure::{Failure, Result};
use crate::kek;
use crate::keys::{age_entry, Keys};
use crate::options::Options;
use leafcrypt_core::keysource::KeyEntry;
use leafcrypt_core::metadata::{KeyGroup, Metadata, Selector, DEFAULT_UNENCRYPTED_SUFFIX};
use leafcrypt_core::ops::{self, DecryptOptions, EncryptOptions, Session};
use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::Tree;
use leafcrypt_core::{treepath, Error};

/// A decrypted file.
pub struct Opened {
    /// The plaintext tree.
    pub tree: Tree,
    /// Its metadata, as read.
    pub metadata: Metadata,
    /// The data key and IV stash.
    pub session: Session,
}

/// Formats and layout shared by every operation.
struct Layout {
    input: Format,
    output: Format,
    indent: Option<usize>,
}

impl Layout {
    fn from_options(options: &Options) -> Result<Self> {
        let input = options.format("format")?;
        let output = match options.has("outputFormat")? {
            true => options.format("outputFormat")?,
            false => input,
        };
        Ok(Self {
            input,
            output,
            indent: options.count("indent")?,
        })
    }
}

/// Parses an encrypted file and returns its tree (values still encrypted) and metadata.
pub fn load(input: &[u8], format: Format) -> Result<(Tree, Metadata)> {
    let doc = format.store(None).parse(input)?;
    let metadata = doc
        .metadata
        .ok_or_else(|| Error::MetadataNotFound(String::new()))?;
    Ok((doc.tree, metadata))
}

/// Parses and decrypts `input` (MAC checked unless `ignoreMac`).
pub async fn open(input: &[u8], options: &Options, keep_ivs: bool) -> Result<Opened> {
    let format = options.format("format")?;
    let keys = Keys::from_options(options)?;
    let (mut tree, metadata) = load(input, format)?;
    let decrypt_options = DecryptOptions {
        ignore_mac: options.flag("ignoreMac")?,
        strict: options.flag("strict")?,
        skip_iv_stash: !keep_ivs,
        ..Default::default()
    };
    let session = ops::decrypt(&mut tree, &metadata, &keys.keyring, decrypt_options).await?;
    Ok(Opened {
        tree,
        metadata,
        session,
    })
}

/// Decrypts to the bytes the CLI prints (`outputFormat`, `indent`, `extract` as
/// `--output-type`, `--indent`, `--extract`).
pub async fn decrypt(input: &[u8], options: &Options) -> Result<Vec<u8>> {
    let layout = Layout::from_options(options)?;
    let extract = options.string("extract")?;
    let opened = open(input, options, false).await?;
    let store = layout.output.store(layout.indent);
    Ok(match extract {
        None => store.emit(&opened.tree, None)?,
        Some(path) => {
            let steps = treepath::parse(&path)?;
            let root = opened
                .tree
                .branches
                .first()
                .ok_or_else(|| Error::TreePath("the file has no document".into()))?;
            store.emit_value(treepath::get(root, &steps)?)?
        }
    })
}

/// Encrypts a plaintext for the options' keys and selector.
pub async fn encrypt(input: &[u8], options: &Options) -> Result<Vec<u8>> {
    let layout = Layout::from_options(options)?;
    let keys = Keys::from_options(options)?;
    let binary = layout.input == Format::Binary;
    let encrypt_options = EncryptOptions {
        key_groups: keys.groups(options)?,
        shamir_threshold: options.count("shamirThreshold")?.unwrap_or(0),
        // A binary file's one value is always encrypted: sops ignores selectors for it.
        selector: if binary { None } else { options.selector()? },
        store_selector: !binary,
        mac_only_encrypted: !binary && options.flag("macOnlyEncrypted")?,
        now: now(),
    };
    if encrypt_options.key_groups.iter().all(|g| g.keys.is_empty()) {
        return Err(Failure::Options(
            "no keys to encrypt for: give age.recipients, pgp.publicKeys (or pgp.recipients), \
             azureKv.keys, awsKms.keys, kek or keyGroups"
                .into(),
        ));
    }
    let doc = layout.input.store(layout.indent).parse(input)?;
    if doc.metadata.is_some() {
        return Err(Error::AlreadyEncrypted.into());
    }
    let mut tree = doc.tree;
    let metadata = ops::encrypt(&mut tree, &encrypt_options, &keys.keyring).await?;
    Ok(layout
        .output
        .store(layout.indent)
        .emit(&tree, Some(&metadata))?)
}

/// Rotates the data key: decrypts, edits the key list (`addAge`, `removeAge`, `addPgp`,
/// `removePgp`, `addKek`, `removeKek`), re-encrypts every value under a fresh key with its
/// old IV.
pub async fn rotate(input: &[u8], options: &Options) -> Result<Vec<u8>> {
    let layout = Layout::from_options(options)?;
    let keys = Keys::from_options(options)?;
    let Opened {
        mut tree,
        mut metadata,
        session,
    } = open(input, options, true).await?;
    let mut add: Vec<KeyEntry> = options
        .strings("addAge")?
        .iter()
        .map(|r| age_entry(r))
        .collect();
    add.extend(crate::pgp::entries(
        &options.strings("addPgp")?,
        "options.addPgp",
    )?);
    add.extend(options.strings("addKek")?.iter().map(|id| kek::entry(id)));
    let mut remove: Vec<KeyEntry> = options
        .strings("removeAge")?
        .iter()
        .map(|r| age_entry(r))
        .collect();
    remove.extend(crate::pgp::entries(
        &options.strings("removePgp")?,
        "options.removePgp",
    )?);
    remove.extend(
        options
            .strings("removeKek")?
            .iter()
            .map(|id| kek::entry(id)),
    );
    metadata.key_groups = edit_groups(&metadata.key_groups, &add, &remove);
    if metadata.key_groups.is_empty() {
        return Err(Failure::Options(
            "rotate would leave the file with no keys".into(),
        ));
    }
    ops::rotate(&mut tree, &mut metadata, &session, &keys.keyring, &now()).await?;
    if layout.input == Format::Binary && metadata.selector.is_none() {
        // sops writes the default selector when it rewrites a binary file.
        metadata.selector = Some(Selector::UnencryptedSuffix(
            DEFAULT_UNENCRYPTED_SUFFIX.into(),
        ));
    }
    Ok(layout
        .output
        .store(layout.indent)
        .emit(&tree, Some(&metadata))?)
}

/// The key descriptions of `groups` without `remove`'s keys and with `add`'s keys in the
/// first group (as the CLI's `--rm-age` / `--add-age`); emptied groups are dropped.
fn edit_groups(groups: &[KeyGroup], add: &[KeyEntry], remove: &[KeyEntry]) -> Vec<KeyGroup> {
    // PGP fingerprints are hex: `removePgp` in lower case removes an upper-case `fp`.
    let same = |a: &KeyEntry, b: &KeyEntry| {
        a.kind == b.kind
            && (a.identity() == b.identity()
                || (a.kind == "pgp" && a.identity().eq_ignore_ascii_case(&b.identity())))
    };
    let mut groups: Vec<KeyGroup> = groups
        .iter()
        .map(|g| KeyGroup {
            keys: g
                .keys
                .iter()
                .filter(|k| !remove.iter().any(|r| same(k, r)))
                .map(KeyEntry::description)
                .collect(),
        })
        .collect();
    for entry in add {
        if groups.is_empty() {
            groups.push(KeyGroup::default());
        }
        if !groups[0].keys.iter().any(|k| same(k, entry)) {
            groups[0].keys.push(entry.clone());
        }
    }
    groups.retain(|g| !g.keys.is_empty());
    groups
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(groups: &[KeyGroup]) -> Vec<Vec<String>> {
        groups
            .iter()
            .map(|g| g.keys.iter().map(KeyEntry::identity).collect())
            .collect()
    }

    #[test]
    fn edit_groups_removes_adds_to_the_first_group_and_drops_emptied_groups() {
        let wrapped = |r: &str| age_entry(r).with("enc", "secret-armor");
        let groups = vec![
            KeyGroup {
                keys: vec![wrapped("age1a"), kek::entry("k").with("enc", "AAAA")],
            },
            KeyGroup {
                keys: vec![wrapped("age1b")],
            },
        ];
        let edited = edit_groups(
            &groups,
            &[age_entry("age1c"), age_entry("age1a")],
            &[age_entry("age1b"), kek::entry("other")],
        );
        assert_eq!(ids(&edited), [["age1a", "k", "age1c"]]);
        // Descriptions only: the old wrapped keys are gone.
        assert!(edited[0].keys.iter().all(|k| k.get("enc").is_none()));
    }

    #[test]
    fn edit_groups_can_empty_the_file() {
        let groups = vec![KeyGroup {
            keys: vec![kek::entry("k")],
        }];
        assert!(edit_groups(&groups, &[], &[kek::entry("k")]).is_empty());
        assert_eq!(
            ids(&edit_groups(&[], &[age_entry("age1x")], &[])),
            [["age1x"]]
        );
    }
}
