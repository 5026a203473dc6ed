//! INI store (go-ini v1 semantics, as sops 3.11).
//!
//! Sections become top-level map keys (keys before any header form `DEFAULT`, always
//! present) and their keys string leaves. A section's comment is the first entry of its
//! map; a key's comment (the comment lines before it, plus an inline `; …`) is the entry
//! right after the key. Comment text has the first line's leading `;`/`#`/spaces removed.
//!
//! Writing follows go-ini's pretty format: `key = value` padded to the section's longest
//! key, comments as `; text` before their key or header, one blank line between sections,
//! no header for a leading `DEFAULT` (skipped when empty), values re-quoted when needed.
//! The metadata is a final `[sops]` section with the flat keys sorted (sops's own order
//! is random).

mod parse;

use super::dotenv::scalar_text;
use super::{Document, Store};
use crate::error::{Error, Result};
use crate::metadata::Metadata;
use crate::tree::{Entry, Map, Tree, Value};

/// The section holding the metadata.
const SOPS_SECTION: &str = "sops";

/// The ini store.
pub struct IniStore;

impl Store for IniStore {
    fn parse(&self, input: &[u8]) -> Result<Document> {
        let text = String::from_utf8_lossy(input);
        let mut branch = Map::new();
        let mut flat: Option<Vec<(String, String)>> = None;
        for section in parse::parse(&text)? {
            if section.name == SOPS_SECTION {
                // go-ini merges sections of the same name: a second `[sops]` adds to the
                // metadata (as a data section it would be written back as a second `[sops]`).
                flat.get_or_insert_with(Vec::new)
                    .extend(section.keys.into_iter().map(|(k, v, _)| (k, v)));
                continue;
            }
            let mut map = Map::new();
            if !section.comment.is_empty() {
                map.entries
                    .push(Entry::Comment(comment_text(&section.comment)));
            }
            for (key, value, comment) in section.keys {
                map.push(key, Value::Str(value));
                if !comment.is_empty() {
                    map.entries.push(Entry::Comment(comment_text(&comment)));
                }
            }
            branch.push(section.name, Value::Map(map));
        }
        let metadata = flat.map(|pairs| Metadata::from_flat(&pairs)).transpose()?;
        Ok(Document {
            tree: Tree {
                branches: vec![branch],
            },
            metadata,
        })
    }

    fn emit(&self, tree: &Tree, metadata: Option<&Metadata>) -> Result<Vec<u8>> {
        let mut sections = Vec::new();
        for branch in &tree.branches {
            for (name, value) in branch.pairs() {
                let Value::Map(map) = value else {
                    return Err(Error::Emit(
                        "Error marshaling to ini: Error encoding section: Section values should always be TreeBranches".into(),
                    ));
                };
                sections.push(OutSection::from_map(name, map));
            }
        }
        if let Some(metadata) = metadata {
            sections.push(OutSection {
                name: SOPS_SECTION.into(),
                comment: String::new(),
                keys: metadata
                    .to_flat()
                    .into_iter()
                    .map(|(k, v)| (k, v.into_bytes(), String::new()))
                    .collect(),
            });
        }
        let mut out = Vec::new();
        let mut written = 0;
        for (i, section) in sections.iter().enumerate() {
            section.write(i, &mut written, &mut out)?;
        }
        Ok(out)
    }

    /// A scalar as its bare text; sections and lists cannot be extracted.
    fn emit_value(&self, value: &Value) -> Result<Vec<u8>> {
        match value {
            Value::Map(_) | Value::List(_) => Err(Error::Emit(
                "Error marshaling to ini: only single values can be extracted".into(),
            )),
            other => Ok(scalar_text(other)),
        }
    }
}

/// sops's comment text: the first line's leading run of `;`, `#` and spaces removed.
fn comment_text(raw: &str) -> String {
    raw.trim_start_matches([';', '#', ' ']).to_string()
}

/// A section ready to be written.
struct OutSection {
    name: String,
    comment: String,
    /// `(key, value text, comment)`.
    keys: Vec<(String, Vec<u8>, String)>,
}

impl OutSection {
    /// Comments before the first key become the section comment; a comment after a key
    /// becomes that key's comment (written before it). Several are joined by newlines.
    fn from_map(name: &str, map: &Map) -> Self {
        let mut section = OutSection {
            name: name.to_string(),
            comment: String::new(),
            keys: Vec::new(),
        };
        for entry in &map.entries {
            match entry {
                Entry::Pair(k, v) => section
                    .keys
                    .push((k.clone(), scalar_text(v), String::new())),
                Entry::Comment(text) => {
                    let target = match section.keys.last_mut() {
                        Some(key) => &mut key.2,
                        None => &mut section.comment,
                    };
                    if !target.is_empty() {
                        target.push('\n');
                    }
                    target.push_str(text);
                }
            }
        }
        section
    }

    /// go-ini `writeToBuffer` for one section; `index` is its position, `written` counts
    /// the sections written so far (for the blank separator line).
    fn write(&self, index: usize, written: &mut usize, out: &mut Vec<u8>) -> Result<()> {
        let headerless = index == 0 && self.name.to_ascii_uppercase() == parse::DEFAULT_SECTION;
        if headerless && self.keys.is_empty() {
            write_comment(&self.comment, false, out);
            return Ok(());
        }
        if *written > 0 {
            out.push(b'\n');
        }
        *written += 1;
        write_comment(&self.comment, false, out);
        if !headerless {
            out.push(b'[');
            out.extend_from_slice(self.name.as_bytes());
            out.extend_from_slice(b"]\n");
        }
        let align = self
            .keys
            .iter()
            .map(|(k, _, _)| quote_key(k).len())
            .max()
            .unwrap_or(0);
        for (key, value, comment) in &self.keys {
            write_comment(comment, true, out);
            let key = quote_key(key);
            out.extend_from_slice(key.as_bytes());
            out.resize(out.len() + align.saturating_sub(key.len()), b' ');
            out.extend_from_slice(b" = ");
            write_value(value, out).map_err(|why| {
                Error::Emit(format!(
                    "Error marshaling to ini: the value of [{}] {key} cannot be written: {why}",
                    self.name
                ))
            })?;
            out.push(b'\n');
        }
        Ok(())
    }
}

/// go-ini's comment lines: `; text`, or the line's own `#`/`;` marker and a space. Key
/// comments have each line trimmed.
fn write_comment(comment: &str, trim: bool, out: &mut Vec<u8>) {
    if comment.is_empty() {
        return;
    }
    for line in comment.split('\n') {
        match line.as_bytes().first() {
            Some(&m @ (b'#' | b';')) => {
                out.push(m);
                out.push(b' ');
                out.extend_from_slice(line[1..].trim().as_bytes());
            }
            _ => {
                out.extend_from_slice(b"; ");
                out.extend_from_slice(if trim { line.trim() } else { line }.as_bytes());
            }
        }
        out.push(b'\n');
    }
}

/// A key as go-ini writes it: backticks when it holds `"` or a delimiter, `"""` when it
/// holds a backtick. Beyond go-ini: also quoted when bare it would read back as something
/// else — a section (`[`), a comment (`#`, `;`) or a trimmed key (fuzz finding: a key
/// starting with `[` was written bare and read back as an unclosed section).
fn quote_key(key: &str) -> std::borrow::Cow<'_, str> {
    let misread = key.starts_with(['[', '#', ';']) || key.trim() != key;
    // A backtick can only sit inside `"""` (go-ini wrote backticks around a key holding
    // both a backtick and `:`, which read back as an empty key; fuzz finding).
    if key.contains('`') && (key.contains(['"', '=', ':']) || misread) {
        format!("\"\"\"{key}\"\"\"").into()
    } else if key.contains(['"', '=', ':']) || misread {
        format!("`{key}`").into()
    } else if key.contains('`') {
        format!("\"\"\"{key}\"\"\"").into()
    } else {
        key.into()
    }
}

/// Whether `value` written bare would read back as something else: the start of a `"""`
/// value, or text between quotes that the reader strips (fuzz finding: a value `"""` was
/// written bare and read back as an unclosed multi-line value).
fn misread_bare(value: &[u8]) -> bool {
    let surrounded = |q: u8| {
        value.len() >= 2
            && value.starts_with(&[q])
            && value.ends_with(&[q])
            && value.iter().filter(|&&b| b == q).count() == 2
    };
    value.starts_with(b"\"\"\"") || surrounded(b'"') || surrounded(b'\'')
}

/// A value as go-ini writes it: `"""…"""` for newlines or backticks, backticks for `#`
/// or `;`, double quotes for surrounding whitespace. Beyond go-ini: backticks for a value
/// ending in `\`, which bare would continue onto the next line when read (fuzz finding: a
/// metadata value ending in `\` swallowed the next field and the file was unreadable).
/// Refused: a multi-line value with `"""` on a line before its last, which go-ini's reader
/// takes for the closing quote (fuzz finding: the rest of the value was read as keys).
fn write_value(value: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), &'static str> {
    let has = |set: &[u8]| value.iter().any(|b| set.contains(b));
    let text = String::from_utf8_lossy(value);
    let quote: &[u8] = if has(b"\n`") {
        b"\"\"\""
    } else if has(b"#;") || value.ends_with(b"\\") || misread_bare(value) {
        b"`"
    } else if text.trim().len() != text.len() {
        b"\""
    } else {
        b""
    };
    let mut lines = value.split(|&b| b == b'\n');
    lines.next_back();
    if quote == b"\"\"\"" && lines.any(|l| l.windows(3).any(|w| w == b"\"\"\"")) {
        return Err("a line before its last holds \"\"\", which INI cannot quote");
    }
    out.extend_from_slice(quote);
    out.extend_from_slice(value);
    out.extend_from_slice(quote);
    Ok(())
}
