//! INI store (go-ini v1 semantics, as sops 3.11).

use super::{Document, Store};
use crate::error::Result;
use crate::metadata::Metadata;
use crate::tree::{Tree, Value};

/// The ini store.
pub struct IniStore;

impl Store for IniStore {
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
