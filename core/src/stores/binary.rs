//! Binary store: the whole file as one `data` value, written as JSON.

use super::{Document, Store};
use crate::error::Result;
use crate::metadata::Metadata;
use crate::tree::{Tree, Value};

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

impl Store for BinaryStore {
    fn parse(&self, _input: &[u8]) -> Result<Document> {
        todo!()
    }
    fn emit(&self, _tree: &Tree, _metadata: Option<&Metadata>) -> Result<Vec<u8>> {
        let _ = self.indent;
        todo!()
    }
    fn emit_value(&self, _value: &Value) -> Result<Vec<u8>> {
        todo!()
    }
}
