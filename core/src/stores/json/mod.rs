//! JSON store (Go `encoding/json` semantics, TAB indent by default).
//!
//! Reading: the top level must be an object; key order and duplicate keys are kept; every
//! number is a [`Value::Float`]; data after the first object is ignored. Writing: `"key":
//! value` with TAB (or N-space) indentation, Go escaping and float formatting, the `sops`
//! block last. Trees from other formats are written too: ints as integers, timestamps as
//! strings, comments dropped (as `sops --output-type json` does).

mod emit;
pub(crate) mod parse;

use super::{Document, Store};
use crate::error::{Error, Result};
use crate::metadata::{Flavor, Metadata};
use crate::tree::{Map, Tree, Value};
use emit::Writer;

/// The json store.
pub struct JsonStore {
    indent: Option<usize>,
}

impl JsonStore {
    /// A json store; `indent` spaces, or TAB when `None`.
    pub fn new(indent: Option<usize>) -> Self {
        Self { indent }
    }

    fn unit(&self) -> Vec<u8> {
        match self.indent {
            None => b"\t".to_vec(),
            Some(n) => vec![b' '; n],
        }
    }
}

/// Parses a JSON text holding exactly one value of any kind (`set`'s VALUE argument).
/// Numbers become floats, as in every JSON input sops reads.
pub fn parse_value(input: &[u8]) -> Result<Value> {
    parse::parse_single_value(input)
}

/// Parses a JSON document into one branch, taking out the `sops` entry as metadata.
pub(crate) fn parse_document(input: &[u8]) -> Result<Document> {
    let mut map = parse::parse_object(input)?;
    let metadata = take_metadata(&mut map)?;
    Ok(Document {
        tree: Tree {
            branches: vec![map],
        },
        metadata,
    })
}

/// Removes every top-level `sops` pair and reads the first as metadata. A `sops` entry
/// that is not a valid metadata block is an error (decrypting cannot proceed; encrypting
/// would refuse the file anyway).
fn take_metadata(map: &mut Map) -> Result<Option<Metadata>> {
    match map.remove("sops") {
        None => Ok(None),
        Some(Value::Map(block)) => Metadata::from_map(&block).map(Some),
        Some(_) => Err(Error::Metadata(
            "the top-level 'sops' entry is not a metadata object".into(),
        )),
    }
}

impl Store for JsonStore {
    fn parse(&self, input: &[u8]) -> Result<Document> {
        parse_document(input)
    }

    /// Writes the first branch (JSON holds one document), with `"sops"` last when
    /// `metadata` is given.
    fn emit(&self, tree: &Tree, metadata: Option<&Metadata>) -> Result<Vec<u8>> {
        let empty = Map::new();
        let branch = tree.branches.first().unwrap_or(&empty);
        let block = metadata.map(|m| Value::Map(m.to_map(Flavor::Json)));
        let tail: Vec<(&str, &Value)> = block.iter().map(|b| ("sops", b)).collect();
        let unit = self.unit();
        let mut out = Vec::with_capacity(4096);
        Writer::new(&mut out, &unit).map(branch, &tail, 0)?;
        out.push(b'\n');
        Ok(out)
    }

    /// As `sops decrypt --extract` prints a JSON value: strings raw, numbers and booleans
    /// bare, `null`; a map with a final newline, a list without one.
    fn emit_value(&self, value: &Value) -> Result<Vec<u8>> {
        Ok(match value {
            Value::Str(s) | Value::Time(s) | Value::Comment(s) => s.as_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
            Value::Null => b"null".to_vec(),
            Value::Bool(b) => b.to_string().into_bytes(),
            Value::Int(i) => i.to_string().into_bytes(),
            Value::Float(f) => emit::float_text(*f)?.into_bytes(),
            Value::Map(m) => {
                let unit = self.unit();
                let mut out = Vec::new();
                Writer::new(&mut out, &unit).map(m, &[], 0)?;
                out.push(b'\n');
                out
            }
            Value::List(_) => {
                let unit = self.unit();
                let mut out = Vec::new();
                Writer::new(&mut out, &unit).value(value, 0)?;
                out
            }
        })
    }
}
