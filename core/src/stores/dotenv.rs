//! dotenv store: `KEY=VALUE` lines, values verbatim (quotes included).
//!
//! Reading (sops 3.11 rules): lines are split on `\n` and empty lines skipped; a line
//! whose first byte is `#` is a comment (text after the `#`); any other line splits at
//! its first `=` into a verbatim key and value, where the two characters `\n` in the
//! value become a newline. Every value is a string. Keys starting with `sops_` are the
//! flattened metadata (§9.2) and are returned as [`Document::metadata`], so a plain file
//! holding such keys parses as "already encrypted" (or fails with the metadata error when
//! they are not a valid block) — sops refuses to encrypt it either way.
//!
//! Writing: comments as `#<text>`, pairs as `KEY=VALUE` with newlines written back as
//! `\n`, then one `sops_<key>=<value>` line per metadata key, sorted. Nested values cannot
//! be written (sops's error); other scalars are written as Go's `%v` prints them.

use super::{Document, Store};
use crate::error::{Error, Result};
use crate::metadata::Metadata;
use crate::tree::{Entry, Map, Tree, Value};

/// The prefix of metadata keys in flat formats.
const SOPS_PREFIX: &str = "sops_";

/// The dotenv store.
pub struct DotenvStore;

impl Store for DotenvStore {
    fn parse(&self, input: &[u8]) -> Result<Document> {
        let mut map = Map::new();
        let mut flat: Vec<(String, String)> = Vec::new();
        for (index, line) in input.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix(b"#") {
                map.entries.push(Entry::Comment(lossy(comment)));
                continue;
            }
            let Some(eq) = line.iter().position(|&b| b == b'=') else {
                return Err(Error::Parse {
                    format: "dotenv",
                    line: Some(index + 1),
                    // sops prints the line; it may be a secret, so leafcrypt names only its number.
                    message: "invalid dotenv input line: no '=' (the line's text is not shown: it may be secret)".into(),
                });
            };
            let key = lossy(&line[..eq]);
            let raw = &line[eq + 1..];
            match key.strip_prefix(SOPS_PREFIX) {
                // from_flat undoes the `\n` escaping itself.
                Some(flat_key) => flat.push((flat_key.to_string(), lossy(raw))),
                None => map.push(key, bytes_value(unescape_newlines(raw))),
            }
        }
        let metadata = if flat.is_empty() {
            None
        } else {
            Some(Metadata::from_flat(&flat)?)
        };
        Ok(Document {
            tree: Tree {
                branches: vec![map],
            },
            metadata,
        })
    }

    /// Writes the first branch (dotenv holds one document).
    fn emit(&self, tree: &Tree, metadata: Option<&Metadata>) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(branch) = tree.branches.first() {
            for entry in &branch.entries {
                match entry {
                    Entry::Comment(text) => {
                        out.push(b'#');
                        out.extend_from_slice(text.as_bytes());
                    }
                    Entry::Pair(key, value) => {
                        if matches!(value, Value::Map(_) | Value::List(_)) {
                            return Err(Error::Emit(format!(
                                "cannot use complex value in dotenv file; offending key {key}"
                            )));
                        }
                        out.extend_from_slice(key.as_bytes());
                        out.push(b'=');
                        out.extend_from_slice(&escape_newlines(&scalar_text(value)));
                    }
                }
                out.push(b'\n');
            }
        }
        if let Some(metadata) = metadata {
            for (key, value) in metadata.to_flat() {
                out.extend_from_slice(SOPS_PREFIX.as_bytes());
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                out.extend_from_slice(value.as_bytes());
                out.push(b'\n');
            }
        }
        Ok(out)
    }

    /// A scalar as its bare text (no newline); a map or list cannot be printed.
    fn emit_value(&self, value: &Value) -> Result<Vec<u8>> {
        match value {
            Value::Map(_) | Value::List(_) => Err(Error::Emit(
                "cannot use complex value in dotenv file".into(),
            )),
            other => Ok(scalar_text(other)),
        }
    }
}

/// A scalar's text as sops prints it in flat formats (shared with INI): strings raw,
/// `true`, `<nil>`, floats in `%G` form with a `.0` on whole numbers (`1.5`, `5432.0`,
/// `1E+21`, `1E+08`, `+Inf`), as observed from sops 3.11 after `sops set`.
pub(crate) fn scalar_text(value: &Value) -> Vec<u8> {
    match value {
        Value::Str(s) | Value::Time(s) | Value::Comment(s) => s.as_bytes().to_vec(),
        Value::Bytes(b) => b.clone(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) if f.is_finite() => {
            let mut text = crate::numfmt::go_float_yaml(*f).to_ascii_uppercase();
            if !text.contains(['.', 'E']) {
                text.push_str(".0");
            }
            text.into_bytes()
        }
        Value::Float(f) => crate::numfmt::go_float_plain(*f).into_bytes(),
        Value::Bool(b) => b.to_string().into_bytes(),
        Value::Null => b"<nil>".to_vec(),
        Value::Map(_) | Value::List(_) => {
            let mut out = Vec::new();
            go_v(value, &mut out);
            out
        }
    }
}

/// Go's `%v` of a nested sops tree value: `[1 2]` for a list, `[{k v}]` for a map.
fn go_v(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                go_v(item, out);
            }
            out.push(b']');
        }
        Value::Map(map) => {
            out.push(b'[');
            for (i, (k, v)) in map.pairs().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                out.push(b'{');
                out.extend_from_slice(k.as_bytes());
                out.push(b' ');
                go_v(v, out);
                out.push(b'}');
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(&scalar_text(scalar)),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A string value, or raw bytes when the input is not valid UTF-8.
fn bytes_value(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(s) => Value::Str(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    }
}

/// `\n` (backslash, n) → newline.
fn unescape_newlines(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && raw.get(i + 1) == Some(&b'n') {
            out.push(b'\n');
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

/// Newline → `\n` (backslash, n).
fn escape_newlines(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for &b in text {
        if b == b'\n' {
            out.extend_from_slice(b"\\n");
        } else {
            out.push(b);
        }
    }
    out
}
