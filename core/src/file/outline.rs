//! A readable view of an encrypted file for diffs (Git's textconv), with or without its
//! key: the tree with each `ENC[…]` value shown as its type and a fingerprint of the
//! ciphertext, and a summary of the metadata (key entries, `lastmodified`, selector).
//!
//! The fingerprint is the first 8 hex digits of SHA-256 over the whole `ENC[…]` text,
//! which is public: it tells "unchanged" (same IV, same ciphertext) from "re-encrypted"
//! without saying anything about the plaintext that the ciphertext does not already say.

use super::EncryptedFile;
use crate::metadata::Metadata;
use crate::stores::Format;
use crate::tree::{Entry, Map, Tree, Value};
use crate::Result;
use sha2::{Digest, Sha256};

/// The first 8 hex digits of SHA-256 over `text`.
pub fn fingerprint(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// `<encrypted TYPE, sha256:XXXXXXXX>` for an `ENC[…]` text, `None` for anything else.
fn masked(text: &str) -> Option<String> {
    let body = text.strip_prefix("ENC[")?.strip_suffix(']')?;
    let ty = body
        .rsplit(',')
        .next()
        .and_then(|t| t.strip_prefix("type:"))
        .unwrap_or("?");
    Some(format!("<encrypted {ty}, sha256:{}>", fingerprint(text)))
}

fn mask_value(value: &mut Value) {
    match value {
        Value::Str(s) | Value::Comment(s) => {
            if let Some(m) = masked(s) {
                *s = m;
            }
        }
        Value::Map(m) => mask_map(m),
        Value::List(items) => items.iter_mut().for_each(mask_value),
        _ => {}
    }
}

fn mask_map(map: &mut Map) {
    for entry in &mut map.entries {
        match entry {
            Entry::Pair(_, v) => mask_value(v),
            Entry::Comment(c) => {
                if let Some(m) = masked(c.trim()) {
                    *c = format!(" {m}");
                }
            }
        }
    }
}

impl EncryptedFile {
    /// The tree with every `ENC[…]` value (and encrypted comment) replaced by
    /// `<encrypted TYPE, sha256:XXXXXXXX>`, written in `format` without metadata.
    pub fn outline(&self, format: Format) -> Result<Vec<u8>> {
        let mut tree: Tree = self.tree.clone();
        tree.branches.iter_mut().for_each(mask_map);
        if matches!(format, Format::Binary | Format::Json) {
            // Go's JSON encoder escapes `<` and `>`; this view is for people.
            let json = Format::Json.store(None).emit(&tree, None)?;
            let text = String::from_utf8_lossy(&json)
                .replace("\\u003c", "<")
                .replace("\\u003e", ">");
            return Ok(text.into_bytes());
        }
        format.store(None).emit(&tree, None)
    }
}

/// The metadata as diffable lines: `lastmodified`, version, selector, threshold, the MAC's
/// fingerprint, then per key group each key's kind, identity (with its version where the
/// kind has one) and a fingerprint of its wrapped data key.
pub fn metadata_summary(metadata: &Metadata) -> String {
    let mut out = String::from("sops metadata (leafcrypt summary):\n");
    out.push_str(&format!("  lastmodified: {}\n", metadata.last_modified));
    out.push_str(&format!("  version: {}\n", metadata.version));
    if let Some(selector) = &metadata.selector {
        out.push_str(&format!("  {}: {}\n", selector.field(), selector.pattern()));
    }
    if metadata.mac_only_encrypted {
        out.push_str("  mac_only_encrypted: true\n");
    }
    if metadata.shamir_threshold > 0 {
        out.push_str(&format!(
            "  shamir_threshold: {}\n",
            metadata.shamir_threshold
        ));
    }
    out.push_str(&format!("  mac: sha256:{}\n", fingerprint(&metadata.mac)));
    for (i, group) in metadata.key_groups.iter().enumerate() {
        out.push_str(&format!("  key group {}:\n", i + 1));
        for key in &group.keys {
            let enc = key.get("enc").unwrap_or_default();
            out.push_str(&format!(
                "    {} {} (wrapped key sha256:{})\n",
                key.kind,
                key.identity(),
                fingerprint(enc)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_values_become_type_and_fingerprint() {
        let enc = "ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:int]";
        let shown = masked(enc).expect("an ENC value");
        assert_eq!(
            shown,
            format!("<encrypted int, sha256:{}>", fingerprint(enc))
        );
        assert_eq!(fingerprint(enc).len(), 8);
        assert_eq!(masked("plain"), None);
    }
}
