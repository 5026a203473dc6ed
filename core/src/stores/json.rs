//! JSON store (Go encoding/json semantics, TAB indent by default).

use super::{Document, Store};
use crate::error::Result;
use crate::metadata::Metadata;
use crate::tree::{Tree, Value};

/// The json store.
pub struct JsonStore {
    indent: Option<usize>,
}

impl JsonStore {
    /// A json store; `indent` spaces, or TAB when `None`.
    pub fn new(indent: Option<usize>) -> Self {
        Self { indent }
    }
}

impl Store for JsonStore {
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
