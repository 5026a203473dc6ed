//! A YAML parser for the block/flow subset configuration files use, producing sops's tree:
//! typed scalars, expanded aliases, the merge key kept literal, and comments placed where
//! go-yaml v3 attaches them (head and line comments before their entry, foot comments
//! after it, blank lines dropped).

use super::comments::{classify, FootPlace, GapComment, Segment};
use super::scalar::{resolve, Resolved};
use crate::error::Error;
use crate::tree::{Entry, Map, Value, MAX_DEPTH};
use base64::Engine;
use std::collections::HashMap;

type PResult<T> = Result<T, Error>;

/// The documents of a stream plus the first walk error sops would report when encrypting
/// (a non-string key or an integer in `[2^63, 2^64)`).
pub(crate) struct Parsed {
    /// One map per document.
    pub docs: Vec<Map>,
    /// The first value sops cannot walk, in document order.
    pub walk_error: Option<Error>,
}

/// Parses a whole YAML stream.
pub(crate) fn parse_stream(src: &str) -> PResult<Parsed> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut p = Parser::new(src);
    let docs = p.stream()?;
    Ok(Parsed {
        docs,
        walk_error: p.walk_error,
    })
}

/// One open block collection.
struct Frame {
    /// Column of its keys or dashes.
    indent: usize,
    /// Entries so far (a list's items are kept as `Entry::Pair("", item)` / comments).
    entries: Vec<Entry>,
    /// Comments to place after the entry in progress (or at the end).
    pending: Vec<String>,
    /// Line where the entry in progress started (0: none in progress).
    entry_line: usize,
    /// A sequence (its entries are items).
    is_seq: bool,
}

/// The next token after a gap.
#[derive(Clone, Copy)]
struct Next {
    line: usize,
    col: usize,
    eof: bool,
}

/// Where a comment on the line of the previous token goes (see [`Parser::gap_from`]).
#[derive(Clone, Copy)]
enum SameLine {
    /// Before the innermost entry begun on that line.
    Entry,
    /// Before the next token, as a head comment.
    Head,
    /// Back to the caller, into the flow collection just read.
    Flow,
}

/// A scalar token and how it was written.
struct ScalarTok {
    text: String,
    plain: bool,
    line: usize,
}

/// Node properties (`&anchor`, `!tag`).
#[derive(Default)]
struct Props {
    anchor: Option<String>,
    tag: Option<String>,
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    /// Line on which the last token ended.
    tok_line: usize,
    frames: Vec<Frame>,
    /// Head comments for whichever entry starts next.
    heads: Vec<String>,
    /// Anchored values (aliases are expanded) with their node counts.
    anchors: HashMap<String, (Value, u64)>,
    /// Nodes produced by alias expansion so far (go-yaml's aliasing budget).
    alias_nodes: u64,
    /// Open block and flow collections (bounded by [`MAX_DEPTH`]).
    depth: usize,
    walk_error: Option<Error>,
    next: Next,
    doc_index: usize,
}

/// `value` (a flow collection) with the comment `text` as its first element.
fn with_first_comment(value: Value, text: String) -> Value {
    match value {
        Value::List(mut items) => {
            items.insert(0, Value::Comment(text));
            Value::List(items)
        }
        Value::Map(mut map) => {
            map.entries.insert(0, Entry::Comment(text));
            Value::Map(map)
        }
        other => other,
    }
}

fn perr(line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        format: "yaml",
        line: Some(line),
        message: message.into(),
    }
}

/// go-yaml's rule for a document that expands aliases beyond reason ("billion laughs"):
/// more than 100 aliased nodes, more than 1000 in all, and a share of aliased nodes above
/// 99% for small documents, falling to 10% at four million nodes.
fn excessive_aliasing(alias_nodes: u64, direct: u64) -> bool {
    let total = alias_nodes + direct;
    if alias_nodes <= 100 || total <= 1000 {
        return false;
    }
    let allowed = match total {
        ..=400_000 => 0.99,
        4_000_000.. => 0.10,
        t => 0.99 - 0.89 * ((t - 400_000) as f64 / 3_600_000.0),
    };
    alias_nodes as f64 / total as f64 > allowed
}

/// Nodes in `value` (itself included), for the aliasing budget.
fn node_count(value: &Value) -> u64 {
    1 + match value {
        Value::Map(m) => m
            .entries
            .iter()
            .map(|e| match e {
                Entry::Pair(_, v) => node_count(v),
                Entry::Comment(_) => 0,
            })
            .sum(),
        Value::List(items) => items.iter().map(node_count).sum(),
        _ => 0,
    }
}

fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            b: src.as_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
            tok_line: 0,
            frames: Vec::new(),
            heads: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            depth: 0,
            walk_error: None,
            next: Next {
                line: 1,
                col: 0,
                eof: false,
            },
            doc_index: 0,
        }
    }

    // ---------------------------------------------------------------- low level

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.b.get(self.pos + off).copied()
    }

    fn col(&self) -> usize {
        self.src[self.line_start..self.pos].chars().count()
    }

    fn eof(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// Whether the byte at `pos + off` is a space, tab, line break or the end.
    fn blank_or_end_at(&self, off: usize) -> bool {
        matches!(self.peek_at(off), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
    }

    fn at_line_break(&self) -> bool {
        matches!(self.peek(), Some(b'\n' | b'\r'))
    }

    fn consume_break(&mut self) {
        if self.peek() == Some(b'\r') {
            self.pos += 1;
        }
        if self.peek() == Some(b'\n') {
            self.pos += 1;
        }
        self.line += 1;
        self.line_start = self.pos;
    }

    fn skip_inline_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    /// At column 0, a `---` or `...` marker followed by a blank or the end.
    fn at_doc_marker(&self) -> bool {
        self.pos == self.line_start
            && (self.b[self.pos..].starts_with(b"---") || self.b[self.pos..].starts_with(b"..."))
            && self.blank_or_end_at(3)
    }

    fn rest_of_line(&mut self) -> &'a str {
        let start = self.pos;
        while !self.eof() && !self.at_line_break() {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    fn record_walk_error(&mut self, message: String) {
        if self.walk_error.is_none() {
            self.walk_error = Some(Error::EncryptTree {
                path: String::new(),
                message,
            });
        }
    }

    // ---------------------------------------------------------------- comments

    /// Skips whitespace, line breaks and comments up to the next token, placing the
    /// comments as go-yaml would. `prev_is_value` marks a gap right after `key:`.
    fn gap(&mut self, prev_is_value: bool) {
        self.gap_from(prev_is_value, SameLine::Entry);
    }

    /// [`Self::gap`] after a `-` indicator or node properties: a comment on their line is
    /// a head comment of the next token (go-yaml attaches it to the node's first part,
    /// e.g. the first key of a map), not a line comment of the enclosing entry.
    fn gap_before_node(&mut self) {
        self.gap_from(false, SameLine::Head);
    }

    /// [`Self::gap`] after a flow collection that is a mapping value or a document root:
    /// a comment on its closing line is returned, to become the collection's first
    /// element (go-yaml attaches it to the collection node itself).
    fn gap_after_flow(&mut self) -> Option<String> {
        self.gap_from(false, SameLine::Flow)
    }

    fn gap_from(&mut self, prev_is_value: bool, same_line: SameLine) -> Option<String> {
        let prev_line = self.tok_line;
        let mut comments: Vec<GapComment> = Vec::new();
        let mut line_comment: Option<String> = None;
        let mut blank_pending = false;
        let mut first_line = true;
        loop {
            self.skip_inline_ws();
            match self.peek() {
                Some(b'#')
                    if self.pos == self.line_start
                        || self.b[self.pos - 1].is_ascii_whitespace() =>
                {
                    let line = self.line;
                    let col = self.col();
                    self.pos += 1;
                    let text = self.rest_of_line().trim_end_matches('\r').to_string();
                    if first_line && line == prev_line {
                        line_comment = Some(text);
                    } else {
                        comments.push(GapComment {
                            line,
                            col,
                            text,
                            blank_before: blank_pending,
                        });
                        blank_pending = false;
                    }
                }
                Some(b'\n' | b'\r') => {
                    let was_blank = self.src[self.line_start..self.pos].trim().is_empty();
                    if was_blank && !(first_line && self.line == prev_line) {
                        blank_pending = true;
                    }
                    self.consume_break();
                    first_line = false;
                    continue;
                }
                _ => break,
            }
        }
        // A line that held only whitespace before the break counts as blank; also the
        // first line after the previous token if it was otherwise empty is not blank.
        let eof = self.eof();
        self.next = Next {
            line: self.line,
            col: self.col(),
            eof,
        };
        let mut flow_comment = None;
        if let Some(text) = line_comment {
            match same_line {
                SameLine::Entry => self.place_line_comment(prev_line, text),
                SameLine::Head => self.heads.push(text),
                SameLine::Flow => flow_comment = Some(text),
            }
        }
        if comments.is_empty() {
            return flow_comment;
        }
        let next_indent = self.frames.last().map_or(0, |f| f.indent);
        let segments = classify(
            &comments,
            prev_line,
            prev_is_value,
            next_indent,
            self.next.col,
            blank_pending,
            eof,
        );
        for segment in segments {
            match segment {
                Segment::Foot { place, texts } => {
                    let next_frame = if eof { 0 } else { self.frame_of_next_token() };
                    let idx = match place {
                        FootPlace::Previous => self.frames.len().saturating_sub(1),
                        FootPlace::Column(col) => self.frame_for_col(col).max(next_frame),
                        FootPlace::Next => next_frame,
                    };
                    match self.frames.get_mut(idx) {
                        Some(frame) => frame.pending.extend(texts),
                        None => self.heads.extend(texts),
                    }
                }
                Segment::Head(texts) => self.heads.extend(texts),
            }
        }
        flow_comment
    }

    /// The deepest open block whose indent is at most `col` (0 when none).
    fn frame_for_col(&self, col: usize) -> usize {
        self.frames
            .iter()
            .rposition(|f| f.indent <= col)
            .unwrap_or(0)
    }

    /// The open block the next token belongs to: a key at the column of an indentless
    /// sequence belongs to the mapping around it.
    fn frame_of_next_token(&self) -> usize {
        let col = self.next.col;
        let dash = self.peek() == Some(b'-') && self.blank_or_end_at(1);
        self.frames
            .iter()
            .rposition(|f| f.indent < col || (f.indent == col && f.is_seq == dash))
            .unwrap_or(0)
    }

    /// A comment on the line of the previous token goes before the innermost entry that
    /// started on that line: in `- c: y # c` that is the key `c` of the item map, in
    /// `- - a # c` the item `a` of the inner list.
    fn place_line_comment(&mut self, line: usize, text: String) {
        match self.frames.iter_mut().rev().find(|f| f.entry_line == line) {
            Some(frame) => frame.entries.push(Entry::Comment(text)),
            None => self.heads.push(text),
        }
    }

    fn flush_pending(&mut self) {
        if let Some(frame) = self.frames.last_mut() {
            let pending = std::mem::take(&mut frame.pending);
            frame
                .entries
                .extend(pending.into_iter().map(Entry::Comment));
        }
    }

    fn start_entry(&mut self, line: usize) {
        self.flush_pending();
        let heads = std::mem::take(&mut self.heads);
        if let Some(frame) = self.frames.last_mut() {
            frame.entries.extend(heads.into_iter().map(Entry::Comment));
            frame.entry_line = line;
        }
    }

    fn finish_entry(&mut self, entry: Entry) {
        if let Some(frame) = self.frames.last_mut() {
            frame.entries.push(entry);
            frame.entry_line = 0;
        }
        self.flush_pending();
    }

    /// Puts head comments gathered so far before the entry in progress of the innermost
    /// frame (a scalar value's head comment).
    fn heads_before_current(&mut self) {
        let heads = std::mem::take(&mut self.heads);
        match self.frames.last_mut() {
            Some(frame) => frame.entries.extend(heads.into_iter().map(Entry::Comment)),
            None => self.heads = heads,
        }
    }

    fn pop_frame(&mut self) -> Vec<Entry> {
        self.flush_pending();
        self.frames.pop().map(|f| f.entries).unwrap_or_default()
    }

    // ---------------------------------------------------------------- documents

    fn stream(&mut self) -> PResult<Vec<Map>> {
        let mut docs: Vec<Map> = Vec::new();
        self.tok_line = 0;
        self.gap(false);
        let mut explicit_start;
        loop {
            // Directives.
            while !self.eof() && self.peek() == Some(b'%') && self.pos == self.line_start {
                let line = self.line;
                let directive = self.rest_of_line().to_string();
                let mut parts = directive.split_whitespace();
                if parts.next() == Some("%YAML") && parts.next() != Some("1.1") {
                    return Err(perr(line, "found incompatible YAML document"));
                }
                self.tok_line = line;
                self.gap(false);
            }
            explicit_start = false;
            if self.at_doc_marker() && self.b[self.pos] == b'-' {
                explicit_start = true;
                self.pos += 3;
                self.tok_line = self.line;
                self.gap(false);
            }
            if self.eof() && !explicit_start {
                let heads = std::mem::take(&mut self.heads);
                if let Some(last) = docs.last_mut() {
                    last.entries.extend(heads.into_iter().map(Entry::Comment));
                }
                break;
            }
            let doc = self.document(&docs)?;
            match doc {
                Some(mut map) => {
                    // Comments between the content and the next `---` end this document.
                    map.entries.extend(
                        std::mem::take(&mut self.heads)
                            .into_iter()
                            .map(Entry::Comment),
                    );
                    docs.push(map);
                }
                None => {
                    // An empty document: its comments belong to the previous one.
                    let heads = std::mem::take(&mut self.heads);
                    match docs.last_mut() {
                        Some(last) => {
                            last.entries.extend(heads.into_iter().map(Entry::Comment));
                            docs.push(Map::new());
                        }
                        None => docs.push(Map {
                            entries: heads.into_iter().map(Entry::Comment).collect(),
                        }),
                    }
                }
            }
            self.doc_index += 1;
            if self.at_doc_marker() && self.b[self.pos] == b'.' {
                self.pos += 3;
                self.tok_line = self.line;
                self.gap(false);
            }
            if self.eof() {
                let heads = std::mem::take(&mut self.heads);
                if let Some(last) = docs.last_mut() {
                    last.entries.extend(heads.into_iter().map(Entry::Comment));
                }
                break;
            }
        }
        if docs.is_empty() {
            return Err(Error::Parse {
                format: "yaml",
                line: None,
                message: "EOF".into(),
            });
        }
        Ok(docs)
    }

    /// One document's root; `None` for an empty document.
    fn document(&mut self, _docs: &[Map]) -> PResult<Option<Map>> {
        if self.eof() || self.at_doc_marker() {
            return Ok(None);
        }
        let line = self.line;
        let start_col = self.col();
        let props = self.props()?;
        // Properties on the first key's line (`!!merge <<: …`, as go-yaml writes a merge key
        // that comes first) belong to that key; the map starts where they do.
        let col = if self.line == line {
            start_col
        } else {
            self.col()
        };
        let c = self.peek();
        let is_seq = (c == Some(b'-') && self.blank_or_end_at(1)) || c == Some(b'[');
        if is_seq {
            return Err(self.root_error(line, "!!seq", "sequences"));
        }
        if c == Some(b'*') {
            return Err(self.root_error(line, "!!map", "values"));
        }
        let map = if c == Some(b'{') {
            let mut value = self.flow_node()?;
            if let Some(text) = self.gap_after_flow() {
                value = with_first_comment(value, text);
            }
            match value {
                Value::Map(m) => m,
                _ => return Err(self.root_error(line, "!!map", "values")),
            }
        } else if c == Some(b'?') && self.blank_or_end_at(1) {
            self.block_map(col, None)?
        } else {
            let tok = self.scalar_token(None, false)?;
            if self.key_indicator_follows() {
                self.block_map(col, Some((tok, props)))?
            } else {
                let value = self.typed_scalar(&tok, &props)?;
                self.gap(false);
                if matches!(value, Value::Null) && props.tag.is_none() {
                    return Ok(None);
                }
                return Err(self.scalar_root_error(tok.line, &tok.text, &value));
            }
        };
        if !self.eof() && !self.at_doc_marker() {
            return Err(perr(
                self.next.line,
                "did not find expected <document start>",
            ));
        }
        Ok(Some(map))
    }

    fn root_error(&self, line: usize, tag: &str, kind: &str) -> Error {
        if self.doc_index == 0 {
            perr(
                line,
                format!("cannot unmarshal {tag} into map[string]interface {{}}"),
            )
        } else {
            perr(line, format!("Error unmarshaling input YAML: YAML documents that are {kind} are not supported"))
        }
    }

    fn scalar_root_error(&self, line: usize, text: &str, value: &Value) -> Error {
        if self.doc_index > 0 {
            return self.root_error(line, "", "values");
        }
        let tag = match value {
            Value::Int(_) => "!!int",
            Value::Float(_) => "!!float",
            Value::Bool(_) => "!!bool",
            Value::Time(_) => "!!timestamp",
            _ => "!!str",
        };
        let shown = if text.chars().count() > 10 {
            format!("`{}...`", text.chars().take(7).collect::<String>())
        } else {
            format!("`{text}`")
        };
        perr(
            line,
            format!("cannot unmarshal {tag} {shown} into map[string]interface {{}}"),
        )
    }

    // ---------------------------------------------------------------- block collections

    /// After a scalar on the current line: is it followed by `:` and a blank?
    fn key_indicator_follows(&mut self) -> bool {
        let save = self.pos;
        self.skip_inline_ws();
        let found = self.peek() == Some(b':') && self.blank_or_end_at(1);
        if !found {
            self.pos = save;
        }
        found
    }

    /// A block mapping whose keys sit at column `indent`. `first` is an already scanned
    /// first key (the parser is then right after its `:`).
    fn block_map(&mut self, indent: usize, first: Option<(ScalarTok, Props)>) -> PResult<Map> {
        self.enter()?;
        // Head comments gathered so far (also those after the `-` of a sequence item)
        // belong to the first key, i.e. to this map: its `start_entry` takes them.
        self.frames.push(Frame {
            indent,
            entries: Vec::new(),
            pending: Vec::new(),
            entry_line: 0,
            is_seq: false,
        });
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut first = first;
        loop {
            // After `? key`, the `:` of the value is an indicator like `-`: a compact map or
            // sequence may follow on its line (`:   a: 1`, as go-yaml writes long keys).
            let mut explicit = false;
            let (key, key_line) = match first.take() {
                Some((tok, props)) => {
                    let line = tok.line;
                    self.start_entry(line);
                    (self.key_from_token(tok, &props)?, line)
                }
                None => {
                    let line = self.line;
                    self.start_entry(line);
                    explicit = self.peek() == Some(b'?') && self.blank_or_end_at(1);
                    let key = self.block_key(indent)?;
                    (key, line)
                }
            };
            if let Some(prev) = seen.insert(key.clone(), key_line) {
                return Err(perr(
                    key_line,
                    format!("mapping key \"{key}\" already defined at line {prev}"),
                ));
            }
            // We are on the ':' (on a later line than the key after `? key`): a comment
            // on this line goes before the key too.
            if let Some(frame) = self.frames.last_mut() {
                frame.entry_line = self.line;
            }
            self.tok_line = self.line;
            self.pos += 1;
            self.gap(true);
            let value = self.node_after_indicator(indent, explicit)?;
            self.finish_entry(Entry::Pair(key, value));
            if self.next.eof || self.at_doc_marker() || self.next.col < indent {
                break;
            }
            if self.next.col > indent {
                return Err(perr(self.next.line, "did not find expected key"));
            }
            if self.peek() == Some(b'-') && self.blank_or_end_at(1) {
                return Err(perr(self.next.line, "did not find expected key"));
            }
        }
        self.depth -= 1;
        Ok(Map {
            entries: self.pop_frame(),
        })
    }

    /// Reads a key at the current position and stops on its `:` (not consumed).
    fn block_key(&mut self, indent: usize) -> PResult<String> {
        let line = self.line;
        if self.peek() == Some(b'?') && self.blank_or_end_at(1) {
            self.pos += 1;
            self.skip_inline_ws();
            let props = self.props()?;
            // go-yaml writes a multi-line key as a block scalar: `? |-`.
            let tok = if matches!(self.peek(), Some(b'|' | b'>')) {
                let text = self.block_scalar(indent)?;
                self.tok_line = self.line;
                ScalarTok {
                    text,
                    plain: false,
                    line,
                }
            } else {
                self.scalar_token(None, false)?
            };
            let key = self.key_from_token(tok, &props)?;
            self.tok_line = self.line;
            self.gap(false);
            if self.peek() != Some(b':') || !self.blank_or_end_at(1) {
                return Err(perr(self.line, "could not find expected ':'"));
            }
            return Ok(key);
        }
        let props = self.props()?;
        if self.peek() == Some(b'*') {
            let value = self.alias()?;
            self.skip_inline_ws();
            if self.peek() != Some(b':') {
                return Err(perr(line, "could not find expected ':'"));
            }
            return match value {
                Value::Str(s) => Ok(s),
                other => {
                    self.non_string_key(&other, "");
                    Ok(String::new())
                }
            };
        }
        let tok = self.scalar_token(None, false)?;
        if !self.key_indicator_follows() {
            return Err(perr(line, "could not find expected ':'"));
        }
        self.key_from_token(tok, &props)
    }

    fn key_from_token(&mut self, tok: ScalarTok, props: &Props) -> PResult<String> {
        if tok.plain && props.tag.is_none() {
            if let Resolved::Uint(u) = resolve(&tok.text) {
                self.record_walk_error(format!(
                    "Error walking tree: Tree contains a non-string key (type uint64): %!s(uint64={u}). Only string keys aresupported"
                ));
                return Ok(tok.text);
            }
        }
        let value = self.typed_scalar(&tok, props)?;
        if let Some(anchor) = &props.anchor {
            self.define_anchor(anchor.clone(), &value);
        }
        match value {
            Value::Str(_) => {}
            other => self.non_string_key(&other, &tok.text),
        }
        Ok(tok.text)
    }

    fn non_string_key(&mut self, value: &Value, text: &str) {
        let shown = match value {
            Value::Int(i) => format!("(type int): %!s(int={i})"),
            Value::Float(f) => format!(
                "(type float64): %!s(float64={})",
                crate::numfmt::go_float_yaml(*f)
            ),
            Value::Bool(b) => format!("(type bool): %!s(bool={b})"),
            Value::Null => "(type <nil>): %!s(<nil>)".to_string(),
            Value::Time(_) => {
                let go = super::scalar::parse_timestamp(text)
                    .map(|t| t.go_string)
                    .unwrap_or_default();
                format!("(type time.Time): {go}")
            }
            Value::Map(_) => "(type map[string]interface {}): map[]".to_string(),
            _ => format!("(type string): {text}"),
        };
        self.record_walk_error(format!(
            "Error walking tree: Tree contains a non-string key {shown}. Only string keys aresupported"
        ));
    }

    /// A block sequence whose dashes sit at column `indent`.
    fn block_seq(&mut self, indent: usize) -> PResult<Vec<Value>> {
        self.enter()?;
        self.frames.push(Frame {
            indent,
            entries: Vec::new(),
            pending: Vec::new(),
            entry_line: 0,
            is_seq: true,
        });
        loop {
            let line = self.line;
            self.start_entry(line);
            self.pos += 1; // '-'
            self.tok_line = line;
            self.gap_before_node();
            let value = self.node_after_indicator(indent, true)?;
            self.finish_entry(Entry::Pair(String::new(), value));
            if self.next.eof || self.at_doc_marker() || self.next.col < indent {
                break;
            }
            let dash = self.peek() == Some(b'-') && self.blank_or_end_at(1);
            if self.next.col == indent && dash {
                continue;
            }
            if self.next.col == indent {
                // An indentless sequence ends where its parent map's next key starts.
                break;
            }
            return Err(perr(self.next.line, "did not find expected '-' indicator"));
        }
        let items = self
            .pop_frame()
            .into_iter()
            .map(|e| match e {
                Entry::Pair(_, v) => v,
                Entry::Comment(c) => Value::Comment(c),
            })
            .collect();
        self.depth -= 1;
        Ok(items)
    }

    /// The node after `key:` or `-` (the gap after the indicator already skipped).
    /// `parent` is the column of the key or dash.
    fn node_after_indicator(&mut self, parent: usize, seq_item: bool) -> PResult<Value> {
        let indicator_line = self.tok_line;
        if self.next.eof || self.at_doc_marker() {
            return Ok(Value::Null);
        }
        let start = (self.line, self.col());
        let dash = self.peek() == Some(b'-') && self.blank_or_end_at(1);
        let beyond = start.0 == indicator_line
            || start.1 > parent
            || (start.1 == parent && dash && !seq_item);
        if !beyond {
            return Ok(Value::Null);
        }
        let props = self.props()?;
        let same_line = self.line == indicator_line;
        if self.eof()
            || self.at_doc_marker()
            || (self.line != start.0 && self.col() <= parent && !same_line)
        {
            return self.tagged_empty(&props);
        }
        // Properties on the line of a key belong to that key, not to the mapping.
        let on_key_line = self.line == start.0 && (start.0 != indicator_line || seq_item);
        let (node_props, key_props, key_col) = if on_key_line {
            (Props::default(), props, Some(start.1))
        } else {
            (props, Props::default(), None)
        };
        let value = self.node(parent, seq_item, same_line, &node_props, key_props, key_col)?;
        if let Some(anchor) = node_props.anchor {
            self.define_anchor(anchor, &value);
        }
        Ok(value)
    }

    /// Reads `&anchor` and `!tag` properties, skipping the gap after them.
    fn props(&mut self) -> PResult<Props> {
        let mut props = Props::default();
        loop {
            match self.peek() {
                Some(b'&') => {
                    self.pos += 1;
                    props.anchor = Some(self.word().to_string());
                }
                Some(b'!') => {
                    props.tag = Some(self.word().to_string());
                }
                _ => return Ok(props),
            }
            let line = self.line;
            self.skip_inline_ws();
            if self.at_line_break() || self.peek() == Some(b'#') {
                self.tok_line = line;
                self.gap_before_node();
            }
        }
    }

    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| {
            !c.is_ascii_whitespace() && !matches!(c, b',' | b'[' | b']' | b'{' | b'}')
        }) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    fn alias(&mut self) -> PResult<Value> {
        let line = self.line;
        self.pos += 1;
        let name = self.word();
        let (value, nodes) = self
            .anchors
            .get(name)
            .ok_or_else(|| perr(line, format!("unknown anchor '{name}' referenced")))?;
        self.alias_nodes = self.alias_nodes.saturating_add(*nodes);
        // The bytes read so far bound the nodes written out directly.
        if excessive_aliasing(self.alias_nodes, self.pos as u64) {
            // go-yaml names no line for this one.
            return Err(Error::Parse {
                format: "yaml",
                line: None,
                message: "yaml: document contains excessive aliasing".into(),
            });
        }
        Ok(value.clone())
    }

    fn define_anchor(&mut self, name: String, value: &Value) {
        self.anchors
            .insert(name, (value.clone(), node_count(value)));
    }

    /// Enters a block or flow collection; errors past [`MAX_DEPTH`] as go-yaml does past
    /// its own limit.
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(perr(
                self.line,
                format!("exceeded max depth of {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    /// The node at the current position. `key_props` are properties written on the
    /// line of a would-be first key; if the node is a scalar they apply to it.
    fn node(
        &mut self,
        parent: usize,
        seq_item: bool,
        same_line: bool,
        props: &Props,
        key_props: Props,
        key_col: Option<usize>,
    ) -> PResult<Value> {
        let line = self.line;
        let col = self.col();
        let merged;
        let props = if key_props.anchor.is_some() || key_props.tag.is_some() {
            merged = Props {
                anchor: key_props.anchor.clone(),
                tag: key_props.tag.clone(),
            };
            &merged
        } else {
            props
        };
        match self.peek() {
            Some(b'*') => {
                self.heads_before_current();
                let v = self.alias()?;
                self.tok_line = self.line;
                self.gap(false);
                Ok(v)
            }
            Some(b'-') if self.blank_or_end_at(1) => {
                if same_line && !seq_item {
                    return Err(perr(
                        line,
                        "block sequence entries are not allowed in this context",
                    ));
                }
                Ok(Value::List(self.block_seq(col)?))
            }
            Some(b'?') if self.blank_or_end_at(1) => {
                if same_line && !seq_item {
                    return Err(perr(line, "mapping values are not allowed in this context"));
                }
                Ok(Value::Map(self.block_map(col, None)?))
            }
            Some(b'|' | b'>') => {
                self.heads_before_current();
                let text = self.block_scalar(parent)?;
                self.gap(false);
                Ok(self.apply_tag_to_string(text, props, line)?)
            }
            Some(b'[' | b'{') => {
                self.heads_before_current();
                let v = self.flow_node()?;
                self.tok_line = self.line;
                self.skip_inline_ws();
                if self.peek() == Some(b':') && self.blank_or_end_at(1) {
                    return Err(perr(
                        line,
                        "flow collections as mapping keys are not supported",
                    ));
                }
                if seq_item {
                    self.gap(false);
                    return Ok(v);
                }
                Ok(match self.gap_after_flow() {
                    Some(text) => with_first_comment(v, text),
                    None => v,
                })
            }
            _ => {
                let tok = self.scalar_token(Some(parent), false)?;
                if self.key_indicator_follows() {
                    if same_line && !seq_item {
                        return Err(perr(line, "mapping values are not allowed in this context"));
                    }
                    let col = key_col.unwrap_or(col);
                    return Ok(Value::Map(self.block_map(col, Some((tok, key_props)))?));
                }
                self.heads_before_current();
                let value = self.typed_scalar(&tok, props)?;
                self.tok_line = self.line;
                self.gap(false);
                Ok(value)
            }
        }
    }

    fn tagged_empty(&mut self, props: &Props) -> PResult<Value> {
        match props.tag.as_deref() {
            Some("!!str") => Ok(Value::Str(String::new())),
            Some("!!map") => Ok(Value::Map(Map::new())),
            Some("!!seq") => Ok(Value::List(Vec::new())),
            _ => Ok(Value::Null),
        }
    }

    // ---------------------------------------------------------------- scalars

    /// Scans a plain or quoted scalar. `parent` is the indent continuation lines of a
    /// plain scalar must exceed (`None`: a key, single line only).
    fn scalar_token(&mut self, parent: Option<usize>, flow: bool) -> PResult<ScalarTok> {
        let line = self.line;
        let tok = match self.peek() {
            Some(b'"') => ScalarTok {
                text: self.double_quoted()?,
                plain: false,
                line,
            },
            Some(b'\'') => ScalarTok {
                text: self.single_quoted()?,
                plain: false,
                line,
            },
            Some(b'@' | b'`') => {
                return Err(perr(line, "found character that cannot start any token"));
            }
            _ => ScalarTok {
                text: self.plain(parent, flow),
                plain: true,
                line,
            },
        };
        self.tok_line = self.line;
        Ok(tok)
    }

    /// A plain scalar, folding continuation lines.
    fn plain(&mut self, parent: Option<usize>, flow: bool) -> String {
        let mut out = self.plain_line(flow).to_string();
        let Some(parent) = parent else { return out };
        loop {
            // Look ahead for a continuation line.
            let save = (self.pos, self.line, self.line_start);
            self.skip_inline_ws();
            if !self.at_line_break() {
                self.pos = save.0;
                break;
            }
            let mut breaks = 0;
            let mut ok = false;
            while self.at_line_break() {
                self.consume_break();
                breaks += 1;
                self.skip_inline_ws();
                if self.eof() {
                    break;
                }
                if self.at_line_break() {
                    continue;
                }
                let col = self.col();
                let line_start_marker = {
                    let p = self.pos;
                    self.pos = self.line_start;
                    let m = self.at_doc_marker();
                    self.pos = p;
                    m
                };
                ok = (flow || col > parent) && self.peek() != Some(b'#') && !line_start_marker;
                break;
            }
            if !ok {
                (self.pos, self.line, self.line_start) = save;
                break;
            }
            let next = self.plain_line(flow);
            if next.is_empty() {
                (self.pos, self.line, self.line_start) = save;
                break;
            }
            if breaks == 1 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', breaks - 1));
            }
            out.push_str(next);
        }
        out
    }

    /// One line of a plain scalar, trailing blanks excluded.
    fn plain_line(&mut self, flow: bool) -> &'a str {
        let start = self.pos;
        let mut end = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'\n' | b'\r' => break,
                b':' if self.blank_or_end_at(1)
                    || (flow
                        && matches!(self.peek_at(1), Some(b',' | b'[' | b']' | b'{' | b'}'))) =>
                {
                    break
                }
                b'#' if self.pos > start && is_ws(self.b[self.pos - 1]) => break,
                b',' | b'[' | b']' | b'{' | b'}' if flow => break,
                _ => {}
            }
            self.pos += 1;
            if !is_ws(c) {
                end = self.pos;
            }
        }
        self.pos = end;
        &self.src[start..end]
    }

    fn single_quoted(&mut self) -> PResult<String> {
        let line = self.line;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(perr(
                        line,
                        "found unexpected end of stream while scanning a quoted scalar",
                    ))
                }
                Some(b'\'') if self.peek_at(1) == Some(b'\'') => {
                    out.push('\'');
                    self.pos += 2;
                }
                Some(b'\'') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\n' | b'\r') => self.fold_quoted_break(&mut out),
                Some(_) if self.at_unicode_break() => self.keep_unicode_break(&mut out),
                Some(_) => {
                    let start = self.pos;
                    while self
                        .peek()
                        .is_some_and(|c| !matches!(c, b'\'' | b'\n' | b'\r'))
                        && !self.at_unicode_break()
                    {
                        self.pos += 1;
                    }
                    out.push_str(&self.src[start..self.pos]);
                }
            }
        }
    }

    /// Folds a line break inside a quoted scalar: trailing blanks dropped, one break
    /// becomes a space, `n+1` breaks become `n` newlines.
    fn fold_quoted_break(&mut self, out: &mut String) {
        let trimmed = out.trim_end_matches([' ', '\t']).len();
        out.truncate(trimmed);
        let mut breaks = 0;
        while self.at_line_break() {
            self.consume_break();
            breaks += 1;
            self.skip_inline_ws();
        }
        if breaks == 1 {
            out.push(' ');
        } else {
            out.extend(std::iter::repeat_n('\n', breaks - 1));
        }
    }

    /// At a raw U+2028/U+2029/U+0085, which YAML scanners treat as line breaks.
    fn at_unicode_break(&self) -> bool {
        let rest = &self.b[self.pos..];
        rest.starts_with("\u{2028}".as_bytes())
            || rest.starts_with("\u{2029}".as_bytes())
            || rest.starts_with("\u{85}".as_bytes())
    }

    /// A Unicode line break inside a quoted scalar is kept as is; the indentation after
    /// it is dropped.
    fn keep_unicode_break(&mut self, out: &mut String) {
        let trimmed = out.trim_end_matches([' ', '\t']).len();
        out.truncate(trimmed);
        let len = if self.b[self.pos] == 0xc2 { 2 } else { 3 };
        out.push_str(&self.src[self.pos..self.pos + len]);
        self.pos += len;
        self.skip_inline_ws();
    }

    fn double_quoted(&mut self) -> PResult<String> {
        let line = self.line;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(perr(
                        line,
                        "found unexpected end of stream while scanning a quoted scalar",
                    ))
                }
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let esc = self.peek_at(1);
                    self.pos += 2;
                    let simple = match esc {
                        Some(b'0') => Some('\0'),
                        Some(b'a') => Some('\x07'),
                        Some(b'b') => Some('\x08'),
                        Some(b't' | b'\t') => Some('\t'),
                        Some(b'n') => Some('\n'),
                        Some(b'v') => Some('\x0b'),
                        Some(b'f') => Some('\x0c'),
                        Some(b'r') => Some('\r'),
                        Some(b'e') => Some('\x1b'),
                        Some(b' ') => Some(' '),
                        Some(b'"') => Some('"'),
                        Some(b'/') => Some('/'),
                        Some(b'\\') => Some('\\'),
                        Some(b'N') => Some('\u{85}'),
                        Some(b'_') => Some('\u{a0}'),
                        Some(b'L') => Some('\u{2028}'),
                        Some(b'P') => Some('\u{2029}'),
                        _ => None,
                    };
                    if let Some(c) = simple {
                        out.push(c);
                        continue;
                    }
                    let width = match esc {
                        Some(b'x') => 2,
                        Some(b'u') => 4,
                        Some(b'U') => 8,
                        Some(b'\n' | b'\r') => {
                            // Escaped line break: joined without a space.
                            self.pos -= 1;
                            self.consume_break();
                            self.skip_inline_ws();
                            while self.at_line_break() {
                                self.consume_break();
                                out.push('\n');
                                self.skip_inline_ws();
                            }
                            continue;
                        }
                        _ => {
                            return Err(perr(
                                self.line,
                                "found unknown escape character while parsing a quoted scalar",
                            ))
                        }
                    };
                    let hex = self.src.get(self.pos..self.pos + width).unwrap_or("");
                    let code = u32::from_str_radix(hex, 16)
                        .ok()
                        .filter(|_| hex.len() == width)
                        .ok_or_else(|| {
                            perr(self.line, "did not find expected hexdecimal number")
                        })?;
                    let c = char::from_u32(code).ok_or_else(|| {
                        perr(self.line, "found invalid Unicode character escape code")
                    })?;
                    out.push(c);
                    self.pos += width;
                }
                Some(b'\n' | b'\r') => self.fold_quoted_break(&mut out),
                Some(_) if self.at_unicode_break() => self.keep_unicode_break(&mut out),
                Some(_) => {
                    let start = self.pos;
                    while self
                        .peek()
                        .is_some_and(|c| !matches!(c, b'"' | b'\\' | b'\n' | b'\r'))
                        && !self.at_unicode_break()
                    {
                        self.pos += 1;
                    }
                    out.push_str(&self.src[start..self.pos]);
                }
            }
        }
    }

    /// A literal or folded block scalar; `parent` is the enclosing block's indent.
    fn block_scalar(&mut self, parent: usize) -> PResult<String> {
        let header_line = self.line;
        let literal = self.peek() == Some(b'|');
        self.pos += 1;
        let mut chomp = 0i8; // -1 strip, 0 clip, 1 keep
        let mut explicit: Option<usize> = None;
        for _ in 0..2 {
            match self.peek() {
                Some(b'-') => chomp = -1,
                Some(b'+') => chomp = 1,
                Some(d @ b'1'..=b'9') => explicit = Some(usize::from(d - b'0')),
                _ => break,
            }
            self.pos += 1;
        }
        self.skip_inline_ws();
        if self.peek() == Some(b'#') {
            self.pos += 1;
            let text = self.rest_of_line().trim_end_matches('\r').to_string();
            self.place_line_comment(header_line, text);
        }
        if !self.eof() && !self.at_line_break() {
            return Err(perr(
                header_line,
                "did not find expected comment or line break",
            ));
        }
        let header_end = (self.pos, self.line, self.line_start);
        // Collect body lines.
        let mut lines: Vec<&'a str> = Vec::new();
        let mut indent = explicit.map(|d| parent + d);
        let mut last_line = header_line;
        let mut end_pos = self.pos;
        let (mut end_line, mut end_line_start) = (self.line, self.line_start);
        while !self.eof() {
            // self.pos is at a line break ending the previous line.
            let save = (self.pos, self.line, self.line_start);
            self.consume_break();
            if self.eof() {
                // The final line break of the file does not start another line.
                (self.pos, self.line, self.line_start) = save;
                break;
            }
            let start = self.pos;
            let mut spaces = 0;
            while self.peek() == Some(b' ') {
                self.pos += 1;
                spaces += 1;
            }
            let content_end = {
                let mut e = self.pos;
                while e < self.b.len() && !matches!(self.b[e], b'\n' | b'\r') {
                    e += 1;
                }
                e
            };
            let rest = &self.src[self.pos..content_end];
            let blank = rest.trim_matches(['\t']).is_empty() && !rest.contains(|c: char| c != '\t');
            let target = indent.unwrap_or(usize::MAX);
            if blank && (indent.is_none() || spaces <= target) {
                lines.push("");
                self.pos = content_end;
                continue;
            }
            let ind = match indent {
                Some(i) => i,
                None => {
                    let i = spaces.max(parent + 1);
                    indent = Some(i);
                    i
                }
            };
            let at_marker = spaces == 0 && {
                let p = self.pos;
                let m = self.at_doc_marker();
                self.pos = p;
                m
            };
            if spaces < ind || at_marker {
                (self.pos, self.line, self.line_start) = save;
                break;
            }
            lines.push(&self.src[start + ind..content_end]);
            self.pos = content_end;
            last_line = self.line;
            end_pos = self.pos;
            (end_line, end_line_start) = (self.line, self.line_start);
        }
        // Trailing empty lines belong to the scalar for chomping; the parser resumes at
        // the end of the last content line (so the gap sees the blank lines).
        let content_lines = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        let trailing_empty = lines.len() - content_lines;
        if content_lines > 0 {
            self.pos = end_pos;
            self.line = end_line;
            self.line_start = end_line_start;
        } else {
            // Only empty lines (or none): resume after the header line.
            (self.pos, self.line, self.line_start) = header_end;
        }
        self.tok_line = last_line;
        let body = &lines[..content_lines];
        let mut text = String::new();
        if literal {
            text = body.join("\n");
        } else {
            let mut prev: Option<&str> = None;
            let mut empties = 0;
            for &l in body {
                if l.is_empty() {
                    empties += 1;
                    continue;
                }
                if let Some(p) = prev {
                    let more = |s: &str| s.starts_with([' ', '\t']);
                    if !more(p) && !more(l) {
                        if empties == 0 {
                            text.push(' ');
                        } else {
                            text.extend(std::iter::repeat_n('\n', empties));
                        }
                    } else {
                        text.extend(std::iter::repeat_n('\n', empties + 1));
                    }
                } else {
                    text.extend(std::iter::repeat_n('\n', empties));
                }
                empties = 0;
                text.push_str(l);
                prev = Some(l);
            }
        }
        // The last content line's break is part of the value (clip, keep) only when the
        // file has one: a scalar at the end of a file without a final newline has none.
        let final_break = content_lines > 0 && (trailing_empty > 0 || end_pos < self.b.len());
        match chomp {
            -1 => {}
            0 => {
                if final_break {
                    text.push('\n');
                }
            }
            _ => {
                if final_break {
                    text.push('\n');
                }
                text.extend(std::iter::repeat_n('\n', trailing_empty));
            }
        }
        Ok(text)
    }

    // ---------------------------------------------------------------- flow

    fn flow_skip(&mut self) -> PResult<()> {
        let mut own_line = Vec::new();
        loop {
            self.skip_inline_ws();
            match self.peek() {
                Some(b'\n' | b'\r') => self.consume_break(),
                Some(b'#') => {
                    let alone = self.src[self.line_start..self.pos].trim().is_empty();
                    self.pos += 1;
                    let text = self.rest_of_line().trim_end_matches('\r').to_string();
                    if alone {
                        own_line.push(text);
                    } else {
                        self.heads.push(text);
                    }
                }
                None => return Err(perr(self.line, "did not find expected ',' or ']'")),
                Some(c) => {
                    // go-yaml drops comments on their own lines before a closing bracket.
                    if !matches!(c, b']' | b'}') {
                        self.heads.append(&mut own_line);
                    }
                    return Ok(());
                }
            }
        }
    }

    /// A flow collection starting at `[` or `{`.
    fn flow_node(&mut self) -> PResult<Value> {
        let line = self.line;
        self.enter()?;
        let is_map = self.peek() == Some(b'{');
        self.pos += 1;
        let close = if is_map { b'}' } else { b']' };
        let mut map = Map::new();
        let mut list = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        loop {
            self.flow_skip()?;
            if self.peek() == Some(close) {
                self.pos += 1;
                break;
            }
            let entry_line = self.line;
            let explicit = self.peek() == Some(b'?') && self.blank_or_end_at(1);
            if explicit {
                self.pos += 1;
                self.flow_skip()?;
            }
            let props = self.props()?;
            let (first, first_text, first_plain) = self.flow_item(&props)?;
            self.flow_skip()?;
            let has_value = self.peek() == Some(b':');
            if is_map || has_value || explicit {
                let value = if has_value {
                    self.pos += 1;
                    self.flow_skip()?;
                    if matches!(self.peek(), Some(b',')) || self.peek() == Some(close) {
                        Value::Null
                    } else {
                        let props = self.props()?;
                        self.flow_item(&props)?.0
                    }
                } else {
                    Value::Null
                };
                let key = match first {
                    Value::Str(s) => s,
                    other => {
                        if first_plain || !matches!(other, Value::Map(_) | Value::List(_)) {
                            self.non_string_key(&other, &first_text);
                        }
                        first_text
                    }
                };
                if is_map {
                    if let Some(prev) = seen.insert(key.clone(), entry_line) {
                        return Err(perr(
                            entry_line,
                            format!("mapping key \"{key}\" already defined at line {prev}"),
                        ));
                    }
                    map.push(key, value);
                } else {
                    let mut single = Map::new();
                    single.push(key, value);
                    list.push(Value::Map(single));
                }
            } else {
                list.push(first);
            }
            self.flow_skip()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => {
                    let want = if is_map {
                        "did not find expected ',' or '}'"
                    } else {
                        "did not find expected ',' or ']'"
                    };
                    return Err(perr(line, want));
                }
            }
        }
        self.tok_line = self.line;
        self.depth -= 1;
        Ok(if is_map {
            Value::Map(map)
        } else {
            Value::List(list)
        })
    }

    /// One flow node: returns it, its source text (for keys) and whether it was plain.
    fn flow_item(&mut self, props: &Props) -> PResult<(Value, String, bool)> {
        let value = match self.peek() {
            Some(b'[' | b'{') => (self.flow_node()?, String::new(), false),
            Some(b'*') => (self.alias()?, String::new(), false),
            _ => {
                let tok = self.scalar_token(Some(0), true)?;
                let v = self.typed_scalar(&tok, props)?;
                (v, tok.text, tok.plain)
            }
        };
        if let Some(anchor) = &props.anchor {
            self.define_anchor(anchor.clone(), &value.0);
        }
        Ok(value)
    }

    /// Types a scalar token: plain scalars are resolved, quoted ones are strings, tags
    /// override both.
    fn typed_scalar(&mut self, tok: &ScalarTok, props: &Props) -> PResult<Value> {
        match props.tag.as_deref() {
            None => {}
            Some(tag) => return self.apply_tag(&tok.text, tag, tok.line),
        }
        if !tok.plain {
            return Ok(Value::Str(tok.text.clone()));
        }
        Ok(self.resolved_value(&tok.text))
    }

    fn resolved_value(&mut self, text: &str) -> Value {
        match resolve(text) {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(i) => Value::Int(i),
            Resolved::Uint(_) => {
                self.record_walk_error(
                    "Error walking tree: Cannot walk value, unknown type: uint64".into(),
                );
                Value::Str(text.to_string())
            }
            Resolved::Float(f) => Value::Float(f),
            Resolved::Time(t) => Value::Time(t.rfc3339),
            Resolved::Str | Resolved::Merge => Value::Str(text.to_string()),
        }
    }

    fn apply_tag_to_string(&mut self, text: String, props: &Props, line: usize) -> PResult<Value> {
        match props.tag.as_deref() {
            None => Ok(Value::Str(text)),
            Some(tag) => self.apply_tag(&text, tag, line),
        }
    }

    fn apply_tag(&mut self, text: &str, tag: &str, line: usize) -> PResult<Value> {
        let tag = tag
            .strip_prefix("!<tag:yaml.org,2002:")
            .and_then(|t| t.strip_suffix('>'))
            .map_or(tag, |t| t);
        let short = tag.strip_prefix("!!").unwrap_or(tag);
        let mismatch = || perr(line, format!("cannot decode !!str `{text}` as a !!{short}"));
        let value = match short {
            "str" => Value::Str(text.to_string()),
            "binary" => {
                let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(cleaned)
                    .map_err(|_| {
                        perr(
                            line,
                            "!!binary value contains invalid base64 data".to_string(),
                        )
                    })?;
                match String::from_utf8(bytes) {
                    Ok(s) => Value::Str(s),
                    Err(e) => Value::Bytes(e.into_bytes()),
                }
            }
            "int" => match self.resolved_value(text) {
                v @ Value::Int(_) => v,
                _ => return Err(mismatch()),
            },
            "float" => match self.resolved_value(text) {
                Value::Int(i) => Value::Float(i as f64),
                v @ Value::Float(_) => v,
                _ => return Err(mismatch()),
            },
            "bool" => match self.resolved_value(text) {
                v @ Value::Bool(_) => v,
                _ => return Err(mismatch()),
            },
            "null" => match self.resolved_value(text) {
                Value::Null => Value::Null,
                _ => return Err(mismatch()),
            },
            "timestamp" => match super::scalar::parse_timestamp(text) {
                Some(t) => Value::Time(t.rfc3339),
                None => return Err(mismatch()),
            },
            _ if tag.starts_with("!!") => self.resolved_value(text),
            // Local tags (`!mytag`) are dropped; the scalar stays the text it was written as.
            _ => Value::Str(text.to_string()),
        };
        Ok(value)
    }
}
