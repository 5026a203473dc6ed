//! Comment placement: the gaps between tokens, and which open block (frame) or pending
//! head list each comment joins, as go-yaml v3 attaches them.

use super::super::comments::{classify, FootPlace, GapComment, Segment};
use super::{Frame, Next, PResult, Parser, SameLine};
use crate::tree::{Entry, Value};

/// What a gap held.
struct GapScan {
    /// A comment on the previous token's line.
    line_comment: Option<String>,
    /// Comments on lines of their own.
    comments: Vec<GapComment>,
    /// A blank line came after the last of them.
    blank_pending: bool,
}

impl<'a> Parser<'a> {
    /// Skips whitespace, line breaks and comments up to the next token, placing the
    /// comments as go-yaml would. `prev_is_value` marks a gap right after `key:`.
    pub(super) fn gap(&mut self, prev_is_value: bool) {
        self.gap_from(prev_is_value, SameLine::Entry);
    }

    /// [`Self::gap`] after a `-` indicator or node properties: a comment on their line is
    /// a head comment of the next token (go-yaml attaches it to the node's first part,
    /// e.g. the first key of a map), not a line comment of the enclosing entry.
    pub(super) fn gap_before_node(&mut self) {
        self.gap_from(false, SameLine::Head);
    }

    /// [`Self::gap`] after a flow collection that is a mapping value or a document root:
    /// a comment on its closing line is returned, to become the collection's first
    /// element (go-yaml attaches it to the collection node itself).
    pub(super) fn gap_after_flow(&mut self) -> Option<String> {
        self.gap_from(false, SameLine::Flow)
    }

    /// Skips a gap (see [`Self::gap`]) and places its comments; `same_line` says where a
    /// comment on the previous token's line goes.
    pub(super) fn gap_from(&mut self, prev_is_value: bool, same_line: SameLine) -> Option<String> {
        let prev_line = self.tok_line;
        let mut scan = self.scan_gap(prev_line);
        let eof = self.eof();
        self.next = Next {
            line: self.line,
            col: self.col(),
            eof,
        };
        let mut flow_comment = None;
        if let Some(text) = scan.line_comment.take() {
            match same_line {
                SameLine::Entry => self.place_line_comment(prev_line, text),
                SameLine::Head => self.heads.push(text),
                SameLine::Flow => flow_comment = Some(text),
            }
        }
        if !scan.comments.is_empty() {
            self.place_gap_comments(&scan, prev_line, prev_is_value, eof);
        }
        flow_comment
    }

    /// Reads whitespace, line breaks and comments up to the next token.
    fn scan_gap(&mut self, prev_line: usize) -> GapScan {
        let mut scan = GapScan {
            line_comment: None,
            comments: Vec::new(),
            blank_pending: false,
        };
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
                        scan.line_comment = Some(text);
                    } else {
                        scan.comments.push(GapComment {
                            line,
                            col,
                            text,
                            blank_before: scan.blank_pending,
                        });
                        scan.blank_pending = false;
                    }
                }
                Some(b'\n' | b'\r') => {
                    // A line that held only whitespace before the break counts as blank;
                    // the rest of the previous token's line does not.
                    let was_blank = self.src[self.line_start..self.pos].trim().is_empty();
                    if was_blank && !(first_line && self.line == prev_line) {
                        scan.blank_pending = true;
                    }
                    self.consume_break();
                    first_line = false;
                }
                _ => return scan,
            }
        }
    }

    /// Places the comments on lines of their own as feet of an open block or heads of the
    /// next entry ([`classify`] decides which).
    fn place_gap_comments(
        &mut self,
        scan: &GapScan,
        prev_line: usize,
        prev_is_value: bool,
        eof: bool,
    ) {
        let next_indent = self.frames.last().map_or(0, |f| f.indent);
        let segments = classify(
            &scan.comments,
            prev_line,
            prev_is_value,
            next_indent,
            self.next.col,
            scan.blank_pending,
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
    }

    /// The deepest open block whose indent is at most `col` (0 when none).
    pub(super) fn frame_for_col(&self, col: usize) -> usize {
        self.frames
            .iter()
            .rposition(|f| f.indent <= col)
            .unwrap_or(0)
    }

    /// The open block the next token belongs to: a key at the column of an indentless
    /// sequence belongs to the mapping around it.
    pub(super) fn frame_of_next_token(&self) -> usize {
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
    pub(super) fn place_line_comment(&mut self, line: usize, text: String) {
        match self.frames.iter_mut().rev().find(|f| f.entry_line == line) {
            Some(frame) => frame.entries.push(Entry::Comment(text)),
            None => self.heads.push(text),
        }
    }

    pub(super) fn flush_pending(&mut self) {
        if let Some(frame) = self.frames.last_mut() {
            let pending = std::mem::take(&mut frame.pending);
            frame
                .entries
                .extend(pending.into_iter().map(Entry::Comment));
        }
    }

    pub(super) fn start_entry(&mut self, line: usize) {
        self.flush_pending();
        let heads = std::mem::take(&mut self.heads);
        if let Some(frame) = self.frames.last_mut() {
            frame.entries.extend(heads.into_iter().map(Entry::Comment));
            frame.entry_line = line;
        }
    }

    pub(super) fn finish_entry(&mut self, entry: Entry) {
        if let Some(frame) = self.frames.last_mut() {
            frame.entries.push(entry);
            frame.entry_line = 0;
        }
        self.flush_pending();
    }

    /// Puts head comments gathered so far before the entry in progress of the innermost
    /// frame (a scalar value's head comment).
    pub(super) fn heads_before_current(&mut self) {
        let heads = std::mem::take(&mut self.heads);
        match self.frames.last_mut() {
            Some(frame) => frame.entries.extend(heads.into_iter().map(Entry::Comment)),
            None => self.heads = heads,
        }
    }

    /// Opens a block collection at column `indent` (a frame for its entries), within
    /// the depth limit.
    pub(super) fn open_block(&mut self, indent: usize, is_seq: bool) -> PResult<()> {
        self.enter()?;
        self.frames.push(Frame {
            indent,
            entries: Vec::new(),
            pending: Vec::new(),
            entry_line: 0,
            is_seq,
        });
        Ok(())
    }

    /// Closes the innermost block collection (opened by [`Self::open_block`]), returning
    /// its entries.
    pub(super) fn close_block(&mut self) -> Vec<Entry> {
        self.depth -= 1;
        self.flush_pending();
        self.frames.pop().map(|f| f.entries).unwrap_or_default()
    }
}

/// `value` (a flow collection) with the comment `text` as its first element.
pub(super) fn with_first_comment(value: Value, text: String) -> Value {
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
