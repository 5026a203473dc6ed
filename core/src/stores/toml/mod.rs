//! TOML store — a **leafcrypt extension**: sops 3.11 has no TOML store and cannot read
//! these files.
//!
//! - Tree: tables are maps, arrays of tables lists of maps, arrays lists, inline tables
//!   maps; strings, integers, floats and booleans are `str`, `int`, `float`, `bool`
//!   values as in the other stores. Datetimes are [`Value::Time`]: an offset date-time
//!   holds sops's canonical RFC 3339 text (`type:time`); the TOML-only kinds keep their
//!   TOML text and get their own tags: `datetime-local` (`1979-05-27T07:32:00`),
//!   `date-local` (`1979-05-27`), `time-local` (`07:32:00.5`).
//! - Comments: tree comments (encrypted as sops encrypts YAML comments), placed as
//!   described in [`read`].
//! - Layout: the root map carries the source's layout ([`template`]), so writing the tree
//!   back gives the source bytes, and an encrypted file keeps the plaintext's layout
//!   (a string's quoting style included: `'ENC[…]'` for a literal string). Decrypting
//!   gives the original bytes when every integer, float and datetime that got encrypted
//!   is written the way this store writes it, and every encrypted string uses only the
//!   escapes this store writes (see README, "TOML").
//! - Metadata: a `[sops]` table after the data, separated by one line break.

mod lex;
mod read;
mod scalar;
mod template;
mod write;

use super::{Document, Store};
use crate::error::{Error, Result};
use crate::metadata::{Flavor, Metadata};
use crate::tree::{Map, Tree, Value};
use template::Template;

/// The TOML store.
pub struct TomlStore;

impl Store for TomlStore {
    fn parse(&self, input: &[u8]) -> Result<Document> {
        let text = std::str::from_utf8(input).map_err(|e| {
            let line = read::line_of(&String::from_utf8_lossy(input), e.valid_up_to());
            read::perr(Some(line), "invalid UTF-8 in input")
        })?;
        let parsed = read::read(text)?;
        let metadata = match parsed.sops {
            None => None,
            Some(Value::Map(m)) => Some(Metadata::from_map(&m)?),
            Some(_) => return Err(Error::Metadata("the 'sops' entry is not a table".into())),
        };
        Ok(Document {
            tree: Tree {
                branches: vec![parsed.data],
            },
            metadata,
        })
    }

    fn emit(&self, tree: &Tree, metadata: Option<&Metadata>) -> Result<Vec<u8>> {
        if tree.branches.len() > 1 {
            return Err(Error::Emit(
                "Error marshaling to toml: a TOML file holds one document".into(),
            ));
        }
        let empty = Map::new();
        let root = tree.branches.first().unwrap_or(&empty);
        let filled = root
            .layout
            .as_ref()
            .and_then(|l| l.get::<Template>())
            .and_then(|t| t.fill(root));
        let mut out = match filled {
            Some(text) => text,
            None => write::document(root)?,
        };
        if let Some(metadata) = metadata {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&write::sops_table(
                read::SOPS_KEY,
                &metadata.to_map(Flavor::Yaml),
            )?);
        }
        Ok(out.into_bytes())
    }

    /// A string as its bare text, other scalars as TOML writes them, a table as a TOML
    /// document, an array inline.
    fn emit_value(&self, value: &Value) -> Result<Vec<u8>> {
        Ok(match value {
            Value::Str(s) => s.as_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
            Value::Map(_) | Value::List(_) => write::extracted(value)?.into_bytes(),
            other => scalar::scalar(other).unwrap_or_default().into_bytes(),
        })
    }
}
