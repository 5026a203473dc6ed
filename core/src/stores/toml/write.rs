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
        let inline_at = |i: usize| inline_table_at(map, i);
        let is_comment = |i: usize| matches!(map.entries.get(i), Some(Entry::Comment(_)));
        let followed = |i: usize| inline_at(i) && is_comment(i + 1);
        let mut split = (0..map.entries.len())
            .rev()
            .find(|&i| {
                matches!(&map.entries[i], Entry::Pair(_, v) if !sectionable(v)) || followed(i)
            })
            .map_or(0, |i| i + 1);
        // A comment before a section other than the first would be read as the previous
        // section's: what comes before such a section is written in the plain part (dotted
        // keys), so that it becomes the first; failing that, it is written inline.
        loop {
            let mut pairs =
                (split..map.entries.len()).filter(|&i| matches!(map.entries[i], Entry::Pair(..)));
            pairs.next();
            let Some(i) = pairs.find(|&i| i > 0 && is_comment(i - 1)) else {
                break;
            };
            let before_ok = map.entries[split..i].iter().all(|e| match e {
                Entry::Pair(_, v) => plain_ok(v),
                Entry::Comment(_) => true,
            });
            if before_ok {
                split = i;
            } else if matches!(&map.entries[i], Entry::Pair(_, v) if !has_comments(v)) {
                split = i + 1;
            } else {
                break;
            }
        }
        // Comments after the last section would be read as that section's: the sections
        // are written in the plain part instead when they can be.
        let trailing_comments = map.entries[split..]
            .iter()
            .rposition(|e| matches!(e, Entry::Pair(..)))
            .is_some_and(|last| split + last + 1 < map.entries.len());
        let rest_ok = map.entries[split..].iter().all(|e| match e {
            Entry::Pair(_, v) => plain_ok(v),
            Entry::Comment(_) => true,
        });
        if trailing_comments && rest_ok {
            split = map.entries.len();
        }
        let mut entries = map.entries.iter().enumerate().peekable();
        while let Some((i, entry)) = entries.next_if(|(i, _)| *i < split) {
            match entry {
                Entry::Comment(text) => self.comment(text),
                Entry::Pair(k, v) if inline_at(i) => {
                    self.inline_line(path, std::slice::from_ref(k), v)?
                }

                Entry::Pair(k, v) => self.pair(path, std::slice::from_ref(k), v)?,
            }
            if matches!(entry, Entry::Pair(_, v) if one_line(v) || inline_at(i)) {
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

    /// A `[path]` (or `[[path]]`) section: the parent's comments before it (they stay the
    /// parent's when the parent's own lines come right before), the header, the body
    /// (its leading comments after the header, where they are read back as its own).
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
        let (open, close) = if array { ("[[", "]]") } else { ("[", "]") };
        self.out
            .push_str(&format!("{open}{}{close}\n", header_path(path)));
        // The table's first comment at the end of the header line, where it is read back
        // as the table's first entry (on a line of its own it could go to a dotted key).
        self.pair_line = true;
        match map.entries.first() {
            Some(Entry::Comment(text)) if self.trailing(text) => {
                let rest = Map {
                    entries: map.entries[1..].to_vec(),
                    layout: None,
                };
                self.table(path, &rest)
            }
            _ => {
                self.pair_line = false;
                self.table(path, map)
            }
        }
    }

    /// `a.b = value` (a non-empty table before plain keys: one dotted line per key).
    fn pair(&mut self, table: &[String], keys: &[String], v: &Value) -> Result<()> {
        if let Value::Map(m) = v {
            if !m.entries.is_empty() {
                let mut entries = m.entries.iter().enumerate().peekable();
                while let Some((i, entry)) = entries.next() {
                    match entry {
                        Entry::Comment(text) => self.comment(text),
                        Entry::Pair(k, v) => {
                            let mut deeper = keys.to_vec();
                            deeper.push(k.clone());
                            let inline = inline_table_at(m, i);
                            if inline {
                                self.inline_line(table, &deeper, v)?;
                            } else {
                                self.pair(table, &deeper, v)?;
                            }
                            if !(inline || one_line(v)) {
                                continue;
                            }
                            if let Some((_, Entry::Comment(text))) = entries.peek() {
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
        self.inline_line(table, keys, v)
    }

    /// `a.b = value` with the value inline.
    fn inline_line(&mut self, table: &[String], keys: &[String], v: &Value) -> Result<()> {
        let mut path = table.to_vec();
        path.extend_from_slice(keys);
        let text = inline(v, &path, 0)?;
        self.out
            .push_str(&format!("{} = {text}\n", header_path(keys)));
        self.pair_line = true;
        Ok(())
    }
}

/// Whether a value can be written in the plain part (dotted keys, inline arrays) without
/// dropping a comment (tables inside arrays are written inline, without their comments).
fn plain_ok(v: &Value) -> bool {
    match v {
        Value::Map(m) => m.pairs().all(|(_, v)| plain_ok(v)),
        Value::List(l) => l.iter().all(|e| match e {
            Value::Map(_) => !has_comments(e),
            other => plain_ok(other),
        }),
        _ => true,
    }
}

/// Whether a value in the plain part is written on one line (a non-empty table is
/// written with dotted keys, one line per key, unless [`inline_table_at`]).
fn one_line(v: &Value) -> bool {
    !matches!(v, Value::Map(m) if !m.entries.is_empty())
}

/// Whether the table at entry `i` of `map` is written inline (`k = { … }`): it holds no
/// comment and a comment stands right before or after it, which on a line of its own
/// next to dotted keys (`k.x = 1`) would be read as the inner table's.
fn inline_table_at(map: &Map, i: usize) -> bool {
    let comment_at =
        |j: Option<usize>| matches!(j.and_then(|j| map.entries.get(j)), Some(Entry::Comment(_)));
    matches!(&map.entries[i], Entry::Pair(_, v @ Value::Map(_)) if !has_comments(v))
        && (comment_at(i.checked_sub(1)) || comment_at(Some(i + 1)))
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
