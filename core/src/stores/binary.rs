//! Binary store: the whole file as one `data` value, written as JSON when encrypted.
//!
//! Parsing tells the two forms apart by content: input that starts (after whitespace)
//! with `{` and parses as a JSON object holding a `sops` metadata object is an encrypted
//! file; anything else is plain data. (sops picks by operation instead; the difference
//! only shows when encrypting a file that is itself an encrypted binary file, which
//! leafcrypt reports as already encrypted where sops would encrypt it a second time.)

use super::json::{parse_document, JsonStore};
use super::{Document, Store};
use crate::error::{Error, Result};
use crate::metadata::Metadata;
use crate::tree::{Map, Tree, Value};

/// The key holding the file's content.
const DATA_KEY: &str = "data";

/// The binary store.
pub struct BinaryStore {
    indent: Option<usize>,
}

impl BinaryStore {
    /// A binary store; `indent` spaces, or TAB when `None`.
    pub fn new(indent: Option<usize>) -> Self {
        Self { indent }
    }
}

/// The encrypted form, if `input` is a JSON object with `sops` metadata. A `sops` entry
/// that is not valid metadata is an error; input that is not such JSON is `None`.
fn encrypted_document(input: &[u8]) -> Result<Option<Document>> {
    let first = input.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Ok(None);
    }
    match parse_document(input) {
        Ok(doc) if doc.metadata.is_some() => Ok(Some(doc)),
        Ok(_) | Err(Error::Parse { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl BinaryStore {
    /// The plain output of a decrypted binary file, moved out of `tree` instead of copied
    /// (what [`Store::emit`] without metadata returns, for callers that own the tree).
    pub fn into_plain(mut tree: Tree) -> Result<Vec<u8>> {
        match tree.branches.first_mut().and_then(|b| b.remove(DATA_KEY)) {
            Some(Value::Str(s)) => Ok(s.into_bytes()),
            Some(Value::Bytes(b)) => Ok(b),
            _ => Err(Error::Emit(
                "error emitting binary store: no binary data found in tree".into(),
            )),
        }
    }
}

impl Store for BinaryStore {
    fn parse(&self, input: &[u8]) -> Result<Document> {
        if let Some(doc) = encrypted_document(input)? {
            return Ok(doc);
        }
        let data = match std::str::from_utf8(input) {
            Ok(s) => Value::Str(s.to_string()),
            Err(_) => Value::Bytes(input.to_vec()),
        };
        let mut map = Map::new();
        map.push(DATA_KEY, data);
        Ok(Document {
            tree: Tree {
                branches: vec![map],
            },
            metadata: None,
        })
    }

    /// With metadata: the JSON store's output. Without: the raw bytes of `data`.
    fn emit(&self, tree: &Tree, metadata: Option<&Metadata>) -> Result<Vec<u8>> {
        if metadata.is_some() {
            return JsonStore::new(self.indent).emit(tree, metadata);
        }
        match tree.branches.first().and_then(|b| b.get(DATA_KEY)) {
            Some(Value::Str(s)) => Ok(s.as_bytes().to_vec()),
            Some(Value::Bytes(b)) => Ok(b.clone()),
            _ => Err(Error::Emit(
                "error emitting binary store: no binary data found in tree".into(),
            )),
        }
    }

    /// As the JSON store prints an extracted value (a string comes out raw).
    fn emit_value(&self, value: &Value) -> Result<Vec<u8>> {
        JsonStore::new(self.indent).emit_value(value)
    }
}
