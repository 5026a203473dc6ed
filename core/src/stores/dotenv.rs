//! dotenv store: `KEY=VALUE` lines, values verbatim (quotes included).

use super::{Document, Store};
use crate::error::Result;
use crate::metadata::Metadata;
use crate::tree::{Tree, Value};

/// The dotenv store.
pub struct DotenvStore;

impl Store for DotenvStore {
    fn parse(&self, _input: &[u8]) -> Result<Document> {
        todo!()
    }
    fn emit(&self, _tree: &Tree, _metadata: Option<&Metadata>) -> Result<Vec<u8>> {
        todo!()
    }
    fn emit_value(&self, _value: &Value) -> Result<Vec<u8>> {
        todo!()
    }
}
