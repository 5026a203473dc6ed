//! The source layout of a parsed TOML document: its text with holes where the values and
//! comment texts were, each hole naming its place in the tree. Filling the holes from a
//! tree with exactly those places gives back the source bytes (for the values and
//! comments that did not change); any other tree is written fresh instead.

use super::scalar::{self, Style};
use crate::tree::{Entry, Map, Value};
use std::ops::Range;

/// One step of a tree address.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Step {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// What a hole holds.
#[derive(Clone, Debug)]
pub(super) enum HoleKind {
    /// A scalar (or an empty array / inline table) at the address, and the value it had
    /// when parsed (written back verbatim while it is unchanged).
    Value(Value),
    /// A comment element of the list at the address.
    ListComment,
    /// The n-th comment entry of the map at the address.
    MapComment(usize),
}

/// A hole: where in the source, which tree place.
#[derive(Clone, Debug)]
pub(super) struct Hole {
    /// Byte range in the source.
    pub range: Range<usize>,
    /// The tree address (of the value, the list element, or the map).
    pub addr: Vec<Step>,
    /// What it holds.
    pub kind: HoleKind,
}

enum Segment {
    Text(String),
    Hole { hole: Hole, raw: String },
}

/// A document's layout.
pub(super) struct Template {
    segments: Vec<Segment>,
    holes: usize,
}

impl Template {
    /// The layout of `body` with `holes`; `None` when holes overlap or leave the body.
    pub(super) fn new(body: &str, mut holes: Vec<Hole>) -> Option<Template> {
        holes.sort_by_key(|h| h.range.start);
        let count = holes.len();
        let mut segments = Vec::with_capacity(2 * count + 1);
        let mut at = 0;
        for hole in holes {
            if hole.range.start < at || hole.range.end > body.len() {
                return None;
            }
            segments.push(Segment::Text(body[at..hole.range.start].to_string()));
            at = hole.range.end;
            let raw = body[hole.range.clone()].to_string();
            segments.push(Segment::Hole { hole, raw });
        }
        segments.push(Segment::Text(body[at..].to_string()));
        Some(Template {
            segments,
            holes: count,
        })
    }

    /// The text of `root` in this layout, or `None` when `root` does not have exactly the
    /// places of the layout (keys added, removed or retyped since parsing).
    pub(super) fn fill(&self, root: &Map) -> Option<String> {
        if count_map(root) != self.holes {
            return None;
        }
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Hole { hole, raw } => out.push_str(&render(root, hole, raw)?),
            }
        }
        Some(out)
    }
}

/// The number of holes a tree fills: comments, scalars, empty maps and lists.
fn count_map(map: &Map) -> usize {
    map.entries
        .iter()
        .map(|e| match e {
            Entry::Comment(_) => 1,
            Entry::Pair(_, v) => count_value(v),
        })
        .sum()
}

fn count_value(value: &Value) -> usize {
    match value {
        Value::Map(m) if !m.entries.is_empty() => count_map(m),
        Value::List(l) if !l.is_empty() => l.iter().map(count_value).sum(),
        _ => 1,
    }
}

/// The value at `addr` under `root`.
fn value_at<'a>(root: &'a Map, addr: &[Step]) -> Option<&'a Value> {
    let (first, rest) = addr.split_first()?;
    let Step::Key(k) = first else { return None };
    let mut value = root.get(k)?;
    for step in rest {
        value = match (step, value) {
            (Step::Key(k), Value::Map(m)) => m.get(k)?,
            (Step::Index(i), Value::List(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

fn map_at<'a>(root: &'a Map, addr: &[Step]) -> Option<&'a Map> {
    if addr.is_empty() {
        return Some(root);
    }
    value_at(root, addr)?.as_map()
}

/// Equal as the same TOML value: floats by bits (so `-0.0` is not `0.0`), NaN equal to NaN.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    }
}

fn render(root: &Map, hole: &Hole, raw: &str) -> Option<String> {
    match &hole.kind {
        HoleKind::MapComment(n) => {
            let map = map_at(root, &hole.addr)?;
            map.entries
                .iter()
                .filter_map(|e| match e {
                    Entry::Comment(text) => Some(text),
                    Entry::Pair(..) => None,
                })
                .nth(*n)
                .filter(|text| !text.contains('\n'))
                .cloned()
        }
        HoleKind::ListComment => match value_at(root, &hole.addr)? {
            Value::Comment(text) if !text.contains('\n') => Some(text.clone()),
            // Encryption turns a list comment into a string item (as sops does); here
            // it stays a comment, which decrypts the same.
            Value::Str(text) if text.is_empty() || is_encrypted_comment(text) => Some(text.clone()),
            _ => None,
        },
        HoleKind::Value(original) => {
            let value = value_at(root, &hole.addr)?;
            if same(original, value) {
                return Some(raw.to_string());
            }
            match value {
                Value::Str(s) => Some(scalar::string(s, Style::of(raw).unwrap_or(Style::Basic))),
                Value::Map(m) if m.entries.is_empty() => Some("{}".into()),
                Value::List(l) if l.is_empty() => Some("[]".into()),
                other => scalar::scalar(other),
            }
        }
    }
}

/// An `ENC[…]` envelope of a comment.
fn is_encrypted_comment(text: &str) -> bool {
    text.starts_with("ENC[AES256_GCM,") && text.ends_with(",type:comment]") && !text.contains('\n')
}
