//! Tree → TOML text for a tree without a source layout (converted from another format,
//! or keys added or removed since parsing), and the `[sops]` table.
//!
//! Key order is kept: a table's keys are written `key = value` until the point from which
//! only tables and arrays of tables follow, which become `[table]` / `[[array]]` sections
//! (a table before a plain key is written with dotted keys, `a.b = 1`). Comments are
//! written on their own lines where they stand; TOML cannot hold comments inside an
//! inline table, so a comment in a table that must be written inline (an element of an
//! array that also holds other values) is dropped.

use super::scalar;
use crate::error::{Error, Result};
use crate::tree::{Entry, Map, Value};

/// The data as a TOML document.
pub(super) fn document(root: &Map) -> Result<String> {
    let mut w = Writer::default();
    w.table(&[], root)?;
    Ok(w.out)
}

/// The `[sops]` table: plain values first, then its arrays of tables (`[[sops.age]]`);
/// nulls are left out (TOML has none, and the metadata reads a missing field as unset).
pub(super) fn sops_table(key: &str, meta: &Map) -> Result<String> {
    let mut ordered = Map::new();
    for sections in [false, true] {
        for (k, v) in meta.pairs() {
            if !matches!(v, Value::Null) && sectionable(v) == sections {
                ordered.push(k, without_nulls(v));
            }
        }
    }
    let mut w = Writer::default();
    w.section(&[key.to_string()], &ordered, Vec::new(), false)?;
    Ok(w.out)
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m.pairs() {
                if !matches!(v, Value::Null) {
                    out.push(k, without_nulls(v));
                }
            }
            Value::Map(out)
        }
        Value::List(l) => Value::List(l.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Whether a value holds a comment anywhere inside.
fn has_comments(v: &Value) -> bool {
    match v {
        Value::Comment(_) => true,
        Value::Map(m) => m.entries.iter().any(|e| match e {
            Entry::Comment(_) => true,
            Entry::Pair(_, v) => has_comments(v),
        }),
        Value::List(l) => l.iter().any(has_comments),
        _ => false,
    }
}

/// A value written as a `[table]` or `[[array]]` section. A list holding comments is
/// written inline, where its comments stay list elements (before a `[[array]]` header
/// they would be read as the next table's).
fn sectionable(v: &Value) -> bool {
    match v {
        Value::Map(_) => true,
        Value::List(l) => !l.is_empty() && l.iter().all(|e| matches!(e, Value::Map(_))),
        _ => false,
    }
}

#[derive(Default)]
struct Writer {
    out: String,
    /// The last line written is a key/value line without a comment.
    pair_line: bool,
}

fn emit_error(what: &str, path: &[String]) -> Error {
    Error::Emit(format!(
        "Error marshaling to toml: {what} at key path '{}'",
        path.join(".")
    ))
}

fn header_path(path: &[String]) -> String {
    path.iter()
        .map(|k| scalar::key(k))
        .collect::<Vec<_>>()
        .join(".")
}

impl Writer {
    fn comment(&mut self, text: &str) {
        self.pair_line = false;
        for line in text.split('\n') {
            self.out.push('#');
            self.out.push_str(line);
            self.out.push('\n');
        }
    }

    /// A comment right after a key/value line goes at the end of that line, where the
    /// reader puts it back after that key (on a line of its own it would go to the key
    /// or table that follows).
    fn trailing(&mut self, text: &str) -> bool {
        if self.pair_line && !text.contains('\n') && self.out.ends_with('\n') {
            self.pair_line = false;
            self.out.pop();
            self.out.push_str(&format!(" #{text}\n"));
            return true;
        }
        false
    }

    /// The body of the table at `path` (its header, if any, already written).
    fn table(&mut self, path: &[String], map: &Map) -> Result<()> {
        // A table followed by a comment is written inline when it can be, so that the
        // comment stays at the end of its line (and after it when read back).
        let inline_at = |i: usize| {
            matches!(map.entries.get(i + 1), Some(Entry::Comment(_)))
                && matches!(&map.entries[i], Entry::Pair(_, v @ Value::Map(_)) if !has_comments(v))
        };
        let split = (0..map.entries.len())
            .rev()
            .find(|&i| {
                matches!(&map.entries[i], Entry::Pair(_, v) if !sectionable(v)) || inline_at(i)
            })
            .map_or(0, |i| i + 1);
        let mut entries = map.entries.iter().enumerate().peekable();
        while let Some((i, entry)) = entries.next_if(|(i, _)| *i < split) {
            match entry {
                Entry::Comment(text) => self.comment(text),
                Entry::Pair(k, v) if inline_at(i) => {
                    let mut here = path.to_vec();
                    here.push(k.clone());
                    let text = inline(v, &here, 0)?;
                    self.out.push_str(&format!("{} = {text}\n", scalar::key(k)));
                    self.pair_line = true;
                }
                Entry::Pair(k, v) => self.pair(path, std::slice::from_ref(k), v)?,
            }
            if matches!(entry, Entry::Pair(..)) {
                if let Some((_, Entry::Comment(text))) = entries.peek() {
                    if self.trailing(text) {
                        entries.next();
                    }
                }
            }
        }
        let entries = entries.map(|(_, e)| e);
        let mut pending = Vec::new();
        for entry in entries {
            match entry {
                Entry::Comment(text) => pending.push(text.clone()),
                Entry::Pair(k, v) => {
                    let mut here = path.to_vec();
                    here.push(k.clone());
                    match v {
                        Value::Map(m) => {
                            self.section(&here, m, std::mem::take(&mut pending), false)?
                        }
                        Value::List(items) => {
                            for item in items {
                                if let Value::Map(m) = item {
                                    self.section(&here, m, std::mem::take(&mut pending), true)?;
                                }
                            }
                        }
                        _ => unreachable!("only sectionable values follow the split"),
                    }
                }
            }
        }
        for text in pending {
            self.comment(&text);
        }
        Ok(())
    }

    /// A `[path]` (or `[[path]]`) section: comments before it, the header, the body.
    fn section(
        &mut self,
        path: &[String],
        map: &Map,
        before: Vec<String>,
        array: bool,
    ) -> Result<()> {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        for text in &before {
            self.comment(text);
        }
        let leading = map
            .entries
            .iter()
            .take_while(|e| matches!(e, Entry::Comment(_)))
            .count();
        for entry in &map.entries[..leading] {
            if let Entry::Comment(text) = entry {
                self.comment(text);
            }
        }
        let (open, close) = if array { ("[[", "]]") } else { ("[", "]") };
        self.out
            .push_str(&format!("{open}{}{close}\n", header_path(path)));
        self.pair_line = false;
        let rest = Map {
            entries: map.entries[leading..].to_vec(),
            layout: None,
        };
        self.table(path, &rest)
    }

    /// `a.b = value` (a non-empty table before plain keys: one dotted line per key).
    fn pair(&mut self, table: &[String], keys: &[String], v: &Value) -> Result<()> {
        if let Value::Map(m) = v {
            if !m.entries.is_empty() {
                let mut entries = m.entries.iter().peekable();
                while let Some(entry) = entries.next() {
                    match entry {
                        Entry::Comment(text) => self.comment(text),
                        Entry::Pair(k, v) => {
                            let mut deeper = keys.to_vec();
                            deeper.push(k.clone());
                            self.pair(table, &deeper, v)?;
                            if let Some(Entry::Comment(text)) = entries.peek() {
                                if self.trailing(text) {
                                    entries.next();
                                }
                            }
                        }
                    }
                }
                return Ok(());
            }
        }
        let mut path = table.to_vec();
        path.extend_from_slice(keys);
        let text = inline(v, &path, 0)?;
        self.out
            .push_str(&format!("{} = {text}\n", header_path(keys)));
        self.pair_line = true;
        Ok(())
    }
}

/// A value written inline; arrays holding comments are written one element per line.
fn inline(v: &Value, path: &[String], depth: usize) -> Result<String> {
    Ok(match v {
        Value::Null => return Err(emit_error("TOML has no null value", path)),
        Value::Bytes(_) => return Err(emit_error("a string that is not UTF-8", path)),
        Value::Comment(_) => return Err(emit_error("a comment where a value belongs", path)),
        Value::Map(m) => {
            let mut parts = Vec::new();
            for (k, v) in m.pairs() {
                let mut here = path.to_vec();
                here.push(k.to_string());
                parts.push(format!(
                    "{} = {}",
                    scalar::key(k),
                    inline(v, &here, depth + 1)?
                ));
            }
            if parts.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        }
        Value::List(items) => {
            let multiline = items.iter().any(|e| matches!(e, Value::Comment(_)));
            let indent = "    ".repeat(depth + 1);
            let mut parts = Vec::new();
            for item in items {
                match item {
                    Value::Comment(text) => parts.push(format!(
                        "{indent}#{}\n",
                        text.replace('\n', &format!("\n{indent}#"))
                    )),
                    other => {
                        let text = inline(other, path, depth + 1)?;
                        parts.push(if multiline {
                            format!("{indent}{text},\n")
                        } else {
                            text
                        });
                    }
                }
            }
            if multiline {
                format!("[\n{}{}]", parts.concat(), "    ".repeat(depth))
            } else {
                format!("[{}]", parts.join(", "))
            }
        }
        scalar_value => scalar::scalar(scalar_value).expect("scalars have a TOML text"),
    })
}

/// A single value as `--extract` prints it: a table as a TOML document, anything else
/// inline.
pub(super) fn extracted(v: &Value) -> Result<String> {
    match v {
        Value::Map(m) => document(m),
        other => Ok(format!("{}\n", inline(other, &[], 0)?)),
    }
}
