//! YAML store: go-yaml v3 semantics on input, byte-exact sops 3.11 emission on output.
//!
//! - [`parse`] reads a stream into one map per document, with typed scalars, expanded
//!   aliases and comments placed by [`comments`];
//! - [`emit`] writes the tree the way go-yaml's encoder does, with [`scalar`] deciding
//!   how each scalar resolves and therefore how strings must be quoted.

mod comments;
mod emit;
mod parse;
mod scalar;

use super::{Document, Store};
use crate::error::{Error, Result};
use crate::metadata::{Flavor, Metadata};
use crate::tree::{Map, Tree, Value};

/// The YAML store.
pub struct YamlStore {
    indent: usize,
}

impl YamlStore {
    /// A YAML store indenting by `indent` spaces (sops default 4).
    pub fn new(indent: usize) -> Self {
        Self { indent }
    }
}

/// The reserved top-level key holding the metadata.
const SOPS_KEY: &str = "sops";

impl Store for YamlStore {
    fn parse(&self, input: &[u8]) -> Result<Document> {
        if input.is_empty() {
            return Err(Error::EmptyFile);
        }
        let text = std::str::from_utf8(input).map_err(|e| Error::Parse {
            format: "yaml",
            line: Some(line_of(input, e.valid_up_to())),
            message: "invalid UTF-8 in input".into(),
        })?;
        let parsed = parse::parse_stream(text)?;
        let mut docs = parsed.docs;
        let mut sops_value = None;
        for doc in &mut docs {
            let removed = doc.remove(SOPS_KEY);
            if sops_value.is_none() {
                sops_value = removed;
            }
        }
        if let Some(err) = parsed.walk_error {
            return Err(err);
        }
        let metadata = match sops_value {
            None => None,
            Some(Value::Map(m)) => Some(Metadata::from_map(&m)?),
            Some(_) => return Err(Error::Metadata("the 'sops' entry is not a mapping".into())),
        };
        Ok(Document {
            tree: Tree { branches: docs },
            metadata,
        })
    }

    fn emit(&self, tree: &Tree, metadata: Option<&Metadata>) -> Result<Vec<u8>> {
        let sops = metadata.map(|m| Value::Map(m.to_map(Flavor::Yaml)));
        let mut emitter = emit::Emitter::new(self.indent);
        if metadata.is_some() {
            emitter = emitter.sealed();
        }
        let empty = Map::new();
        let branches: &[Map] = if tree.branches.is_empty() {
            std::slice::from_ref(&empty)
        } else {
            &tree.branches
        };
        for (i, doc) in branches.iter().enumerate() {
            if i > 0 {
                emitter.separator();
            }
            emitter.document(doc, sops.as_ref().map(|v| (SOPS_KEY, v)));
        }
        Ok(emitter.finish())
    }

    fn emit_value(&self, value: &Value) -> Result<Vec<u8>> {
        Ok(match value {
            Value::Str(s) => s.as_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
            other => {
                let mut emitter = emit::Emitter::new(self.indent);
                emitter.top_value(other);
                emitter.finish()
            }
        })
    }
}

/// 1-based line of byte offset `at`.
fn line_of(input: &[u8], at: usize) -> usize {
    input[..at.min(input.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
