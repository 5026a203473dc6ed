//! TOML text → tree, the `sops` table apart, and the layout of the rest.
//!
//! Comments: a comment at the end of a key's line goes right after that key (at the end
//! of a header's line: first in that table); a comment inside an array is an element of
//! the list; a comment on its own line belongs to the table open at that line (the last
//! header before it, else the root): before the next key of that table, else before the
//! next header when it opens a table inside that table, else at the end of that table. So a
//! comment before `[db]` at the top of a file is the root's (before `db`, as YAML puts a
//! comment before a key), and one after the last key of `[db]` is `db`'s.

use super::lex::{self, Comment};
use super::scalar;
use super::template::{Hole, HoleKind, Step, Template};
use crate::error::{Error, Result};
use crate::tree::{Entry, Map, Value, MAX_DEPTH};
use toml_edit::{Item, Table};

/// The key of the metadata table.
pub(super) const SOPS_KEY: &str = "sops";

/// A parsed file.
pub(super) struct Parsed {
    /// The data, with its layout on the map when the file has a reproducible one.
    pub data: Map,
    /// The `sops` table.
    pub sops: Option<Value>,
}

/// Parses `src`.
pub(super) fn read(src: &str) -> Result<Parsed> {
    let doc = toml_edit::Document::parse(src).map_err(|e| {
        let line = e.span().map(|s| line_of(src, s.start));
        perr(line, e.message().trim_end())
    })?;
    let root = doc.as_table();
    let mut b = Builder {
        src,
        comments: lex::comments(src),
        taken: Vec::new(),
        holes: Vec::new(),
        anchors: Vec::new(),
        record: true,
        sops_min: usize::MAX,
    };
    b.taken = vec![false; b.comments.len()];
    let mut data = b.table(root, &[], 0)?;
    let sops = data.remove(SOPS_KEY);
    // Where the metadata starts: the line of a `[sops]` header that comes after all data.
    let sops_start = match root.get(SOPS_KEY) {
        None => Some(src.len()),
        Some(Item::Table(t)) if !t.is_dotted() && !t.is_implicit() => t
            .span()
            .map(|s| src[..s.start].rfind('\n').map_or(0, |i| i + 1))
            .filter(|&start| start <= b.sops_min),
        Some(_) => None,
    };
    b.place_comments(&mut data, sops_start.unwrap_or(src.len()))?;
    let layout_ok = sops_start.is_some_and(|start| {
        b.anchors.iter().all(|a| a.end <= start) && b.holes.iter().all(|h| h.range.end <= start)
    });
    if let (true, Some(start)) = (layout_ok, sops_start) {
        let mut body = &src[..start];
        if sops.is_some() && !body.is_empty() {
            // The separator the store writes before the `[sops]` table.
            body = body.strip_suffix('\n').unwrap_or(body);
        }
        if let Some(template) = Template::new(body, std::mem::take(&mut b.holes)) {
            data.layout = Some(crate::tree::Layout::new(template));
        }
    }
    Ok(Parsed { data, sops })
}

/// A parse error at `line`.
pub(super) fn perr(line: Option<usize>, message: &str) -> Error {
    Error::Parse {
        format: "toml",
        line,
        message: message.to_string(),
    }
}

/// 1-based line of byte offset `at`.
pub(super) fn line_of(src: &str, at: usize) -> usize {
    src.as_bytes()[..at.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A key/value line or a table header, where comments are anchored.
struct Anchor {
    start: usize,
    end: usize,
    /// The map the comment goes into.
    map: Vec<Step>,
    /// `Some(key)` for a key/value, `None` for a header (the map is the table's own).
    key: Option<String>,
}

/// Where in a map a comment goes.
enum Place {
    Before(String),
    After(String),
    First,
    Last,
}

struct Builder<'a> {
    src: &'a str,
    comments: Vec<Comment>,
    /// Comments already placed (inside arrays).
    taken: Vec<bool>,
    holes: Vec<Hole>,
    anchors: Vec<Anchor>,
    /// False while reading the `sops` table (no holes, no anchors).
    record: bool,
    /// The lowest offset of anything in the `sops` table.
    sops_min: usize,
}

fn with(path: &[Step], step: Step) -> Vec<Step> {
    let mut p = path.to_vec();
    p.push(step);
    p
}

impl Builder<'_> {
    fn depth_check(&self, depth: usize, at: Option<std::ops::Range<usize>>) -> Result<()> {
        if depth > MAX_DEPTH {
            let line = at.map(|s| line_of(self.src, s.start));
            return Err(perr(line, &format!("exceeded max depth of {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn note_span(&mut self, span: Option<std::ops::Range<usize>>) {
        if !self.record {
            if let Some(s) = span {
                self.sops_min = self.sops_min.min(s.start);
            }
        }
    }

    fn table(&mut self, t: &Table, path: &[Step], depth: usize) -> Result<Map> {
        self.depth_check(depth, t.span())?;
        let mut map = Map::new();
        for (k, item) in t.iter() {
            let is_sops = path.is_empty() && k == SOPS_KEY;
            let was = self.record;
            if is_sops {
                self.record = false;
            }
            let key_span = t.key(k).and_then(|key| key.span());
            self.note_span(key_span.clone());
            let here = with(path, Step::Key(k.to_string()));
            let value = match item {
                Item::None => {
                    self.record = was;
                    continue;
                }
                Item::Value(v) => {
                    let value = self.value(v, &here, depth + 1)?;
                    if let (Some(ks), Some(vs)) = (key_span, v.span()) {
                        self.anchor(ks.start, vs.end, path, Some(k));
                    }
                    value
                }
                Item::Table(sub) => {
                    if !sub.is_implicit() && !sub.is_dotted() {
                        self.header(sub, &here);
                    }
                    Value::Map(self.table(sub, &here, depth + 1)?)
                }
                Item::ArrayOfTables(a) => {
                    let mut list = Vec::new();
                    for (i, sub) in a.iter().enumerate() {
                        let at = with(&here, Step::Index(i));
                        self.header(sub, &at);
                        list.push(Value::Map(self.table(sub, &at, depth + 1)?));
                    }
                    Value::List(list)
                }
            };
            self.record = was;
            map.push(k, value);
        }
        Ok(map)
    }

    fn header(&mut self, t: &Table, map: &[Step]) {
        self.note_span(t.span());
        if let Some(s) = t.span() {
            if t.is_empty() {
                // An empty table fills a place of the tree like `{}` does: an empty hole.
                let empty = HoleKind::Value(Value::Map(Map::new()));
                self.hole(Some(s.end..s.end), map, empty);
            }
            if self.record {
                self.anchors.push(Anchor {
                    start: s.start,
                    end: s.end,
                    map: map.to_vec(),
                    key: None,
                });
            }
        }
    }

    fn anchor(&mut self, start: usize, end: usize, map: &[Step], key: Option<&str>) {
        if self.record {
            self.anchors.push(Anchor {
                start,
                end,
                map: map.to_vec(),
                key: key.map(str::to_string),
            });
        }
    }

    fn hole(&mut self, span: Option<std::ops::Range<usize>>, addr: &[Step], kind: HoleKind) {
        self.note_span(span.clone());
        if let (true, Some(range)) = (self.record, span) {
            self.holes.push(Hole {
                range,
                addr: addr.to_vec(),
                kind,
            });
        }
    }

    fn value(&mut self, v: &toml_edit::Value, path: &[Step], depth: usize) -> Result<Value> {
        use toml_edit::Value as V;
        self.depth_check(depth, v.span())?;
        let leaf = match v {
            V::String(s) => Value::Str(s.value().clone()),
            V::Integer(i) => Value::Int(*i.value()),
            V::Float(f) => Value::Float(*f.value()),
            V::Boolean(b) => Value::Bool(*b.value()),
            V::Datetime(d) => Value::Time(scalar::datetime(d.value())),
            V::Array(a) => return self.array(a, path, depth),
            V::InlineTable(t) => {
                let mut map = Map::new();
                for (k, item) in t.iter() {
                    let key_span = t.key(k).and_then(|key| key.span());
                    self.note_span(key_span.clone());
                    let value =
                        self.value(item, &with(path, Step::Key(k.to_string())), depth + 1)?;
                    if let (Some(ks), Some(vs)) = (key_span, item.span()) {
                        self.anchor(ks.start, vs.end, path, Some(k));
                    }
                    map.push(k, value);
                }
                if map.entries.is_empty() {
                    self.hole(v.span(), path, HoleKind::Value(Value::Map(Map::new())));
                }
                return Ok(Value::Map(map));
            }
        };
        self.hole(v.span(), path, HoleKind::Value(leaf.clone()));
        Ok(leaf)
    }

    /// An array: its elements and, in place, the comments between them.
    fn array(&mut self, a: &toml_edit::Array, path: &[Step], depth: usize) -> Result<Value> {
        let Some(span) = a.span() else {
            let mut list = Vec::new();
            for (i, v) in a.iter().enumerate() {
                list.push(self.value(v, &with(path, Step::Index(i)), depth + 1)?);
            }
            return Ok(Value::List(list));
        };
        let elements: Vec<&toml_edit::Value> = a.iter().collect();
        let inside_element = |at: usize| {
            elements
                .iter()
                .any(|e| e.span().is_some_and(|s| s.start <= at && at < s.end))
        };
        let mine: Vec<usize> = (0..self.comments.len())
            .filter(|&i| {
                let at = self.comments[i].hash;
                !self.taken[i] && span.start < at && at < span.end && !inside_element(at)
            })
            .collect();
        if elements.is_empty() && mine.is_empty() {
            self.hole(Some(span), path, HoleKind::Value(Value::List(Vec::new())));
            return Ok(Value::List(Vec::new()));
        }
        let mut list = Vec::new();
        let mut pending = mine.into_iter().peekable();
        for element in elements {
            let start = element.span().map_or(span.end, |s| s.start);
            while let Some(&c) = pending.peek().filter(|&&c| self.comments[c].hash < start) {
                pending.next();
                list.push(self.list_comment(c, path, list.len()));
            }
            let at = with(path, Step::Index(list.len()));
            list.push(self.value(element, &at, depth + 1)?);
        }
        for c in pending {
            list.push(self.list_comment(c, path, list.len()));
        }
        Ok(Value::List(list))
    }

    fn list_comment(&mut self, c: usize, path: &[Step], index: usize) -> Value {
        self.taken[c] = true;
        let range = self.comments[c].text.clone();
        let text = self.src[range.clone()].to_string();
        self.hole(
            Some(range),
            &with(path, Step::Index(index)),
            HoleKind::ListComment,
        );
        Value::Comment(text)
    }

    /// Where a comment on its own line at `at` goes: into the table open at that line (the
    /// last header before it, else the root), before the next key of that table's lines
    /// (a dotted key's own table), else before the next header when that header opens a
    /// table inside the open one (before the key leading to it), else at the end of the
    /// open table. This is the inverse of
    /// how [`super::write`] lays out comments, so a file rewritten without its layout
    /// keeps every comment in its table (an encrypted comment is bound to its table).
    fn own_line(&self, at: usize) -> (Vec<Step>, Place) {
        let headers = || self.anchors.iter().filter(|a| a.key.is_none());
        let open = headers()
            .filter(|a| a.start < at)
            .max_by_key(|a| a.start)
            .map(|a| a.map.clone())
            .unwrap_or_default();
        let next_header = headers().filter(|a| a.start > at).min_by_key(|a| a.start);
        let limit = next_header.map_or(usize::MAX, |a| a.start);
        let next_key = self
            .anchors
            .iter()
            .filter(|a| a.start > at && a.start < limit)
            .min_by_key(|a| a.start);
        if let Some(Anchor {
            map, key: Some(k), ..
        }) = next_key
        {
            return (map.clone(), Place::Before(k.clone()));
        }
        if let Some(header) = next_header {
            // A header of a table inside the open one: before the key that leads to it.
            if header.map.len() > open.len() && header.map.starts_with(&open) {
                if let Step::Key(k) = &header.map[open.len()] {
                    return (open, Place::Before(k.clone()));
                }
            }
        }
        (open, Place::Last)
    }

    /// Puts every comment not in an array into its map (see the module docs); comments
    /// from `end` on belong to the metadata and are dropped.
    fn place_comments(&mut self, data: &mut Map, end: usize) -> Result<()> {
        let mut placed: Vec<(Vec<Step>, Place, usize)> = Vec::new();
        for (i, c) in self.comments.iter().enumerate() {
            if self.taken[i] || c.hash >= end {
                continue;
            }
            let prev = self
                .anchors
                .iter()
                .filter(|a| a.end <= c.hash)
                .max_by_key(|a| a.end);
            let trailing = prev.filter(|a| !self.src[a.end..c.hash].contains('\n'));
            let (map, place) = if let Some(a) = trailing {
                let place = match &a.key {
                    Some(k) => Place::After(k.clone()),
                    None => Place::First,
                };
                (a.map.clone(), place)
            } else {
                self.own_line(c.hash)
            };
            placed.push((map, place, i));
        }
        let mut firsts: Vec<(Vec<Step>, usize)> = Vec::new();
        for (addr, place, id) in placed {
            let Some(map) = map_at_mut(data, &addr) else {
                continue;
            };
            let index_of = |map: &Map, key: &str| {
                map.entries
                    .iter()
                    .position(|e| matches!(e, Entry::Pair(k, _) if k == key))
            };
            let at = match place {
                Place::Before(k) => index_of(map, &k).unwrap_or(map.entries.len()),
                Place::After(k) => index_of(map, &k).map_or(map.entries.len(), |i| i + 1),
                Place::Last => map.entries.len(),
                Place::First => {
                    let n = match firsts.iter_mut().find(|(a, _)| *a == addr) {
                        Some((_, n)) => n,
                        None => {
                            firsts.push((addr.clone(), 0));
                            &mut firsts.last_mut().expect("just pushed").1
                        }
                    };
                    *n += 1;
                    *n - 1
                }
            };
            map.entries
                .insert(at.min(map.entries.len()), Entry::Comment(placeholder(id)));
        }
        // An empty table that got comments is no longer a place of its own.
        let mut holes = std::mem::take(&mut self.holes);
        holes.retain(|h| {
            let empty_table =
                h.range.is_empty() && matches!(&h.kind, HoleKind::Value(Value::Map(_)));
            !empty_table || map_at_mut(data, &h.addr).is_some_and(|m| m.entries.is_empty())
        });
        self.holes = holes;
        // The comments' final places give their holes.
        let mut found = Vec::new();
        collect_placeholders(data, &mut Vec::new(), &mut found);
        for (addr, ordinal, id, slot) in found {
            let range = self.comments[id].text.clone();
            let text = self.src[range.clone()].to_string();
            if let Some(Entry::Comment(t)) = entry_at_mut(data, &addr, slot) {
                *t = text;
            }
            self.hole(Some(range), &addr, HoleKind::MapComment(ordinal));
        }
        Ok(())
    }
}

/// A comment's stand-in until every comment is placed: NUL + its index (a TOML comment
/// cannot hold NUL).
fn placeholder(id: usize) -> String {
    format!("\u{0}{id}")
}

fn map_at_mut<'a>(root: &'a mut Map, addr: &[Step]) -> Option<&'a mut Map> {
    let mut map = root;
    let mut steps = addr.iter().peekable();
    while let Some(step) = steps.next() {
        let Step::Key(k) = step else { return None };
        let mut value = map.get_mut(k)?;
        while let Some(Step::Index(i)) = steps.peek() {
            steps.next();
            let Value::List(l) = value else { return None };
            value = l.get_mut(*i)?;
        }
        let Value::Map(m) = value else { return None };
        map = m;
    }
    Some(map)
}

fn entry_at_mut<'a>(root: &'a mut Map, addr: &[Step], slot: usize) -> Option<&'a mut Entry> {
    map_at_mut(root, addr)?.entries.get_mut(slot)
}

/// Every placeholder comment: (map address, ordinal among the map's comments, id, slot).
fn collect_placeholders(
    map: &Map,
    addr: &mut Vec<Step>,
    found: &mut Vec<(Vec<Step>, usize, usize, usize)>,
) {
    let mut ordinal = 0;
    for (slot, entry) in map.entries.iter().enumerate() {
        match entry {
            Entry::Comment(text) => {
                if let Some(id) = text.strip_prefix('\u{0}').and_then(|s| s.parse().ok()) {
                    found.push((addr.clone(), ordinal, id, slot));
                }
                ordinal += 1;
            }
            Entry::Pair(k, v) => {
                addr.push(Step::Key(k.clone()));
                collect_in_value(v, addr, found);
                addr.pop();
            }
        }
    }
}

fn collect_in_value(
    value: &Value,
    addr: &mut Vec<Step>,
    found: &mut Vec<(Vec<Step>, usize, usize, usize)>,
) {
    match value {
        Value::Map(m) => collect_placeholders(m, addr, found),
        Value::List(l) => {
            for (i, v) in l.iter().enumerate() {
                addr.push(Step::Index(i));
                collect_in_value(v, addr, found);
                addr.pop();
            }
        }
        _ => {}
    }
}
