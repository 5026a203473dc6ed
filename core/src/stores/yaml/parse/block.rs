//! Block collections: mappings (with explicit `? key`), sequences, and the node that
//! follows a `key:` or `-` indicator.

use super::super::scalar::{resolve, Resolved};
use super::placement::with_first_comment;
use super::{perr, PResult, Parser, Props, ScalarTok};
use crate::tree::{Entry, Map, Value};
use std::collections::HashMap;

/// go-yaml's error for a block mapping started where it may not be.
const MAPPING_NOT_ALLOWED: &str = "mapping values are not allowed in this context";

impl<'a> Parser<'a> {
    /// After a scalar on the current line: is it followed by `:` and a blank?
    pub(super) fn key_indicator_follows(&mut self) -> bool {
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
    pub(super) fn block_map(
        &mut self,
        indent: usize,
        first: Option<(ScalarTok, Props)>,
    ) -> PResult<Map> {
        // Head comments gathered so far (also those after the `-` of a sequence item)
        // belong to the first key, i.e. to this map: its `start_entry` takes them.
        self.open_block(indent, false)?;
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
            let colon_line = self.line;
            self.pos += 1;
            self.gap(true);
            // After `? key` and a `:` alone, a sequence may sit at the key's own column, as
            // after a plain `key:` (go-yaml reads it; differential finding).
            let indentless = explicit
                && self.line != colon_line
                && self.col() == indent
                && !self.next.eof
                && self.peek() == Some(b'-')
                && self.blank_or_end_at(1);
            let value = if indentless {
                self.node_after_indicator(indent, false)?
            } else {
                self.node_after_indicator(indent, explicit)?
            };
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
        Ok(Map {
            entries: self.close_block(),
            layout: None,
        })
    }

    /// Reads a key at the current position and stops on its `:` (not consumed).
    pub(super) fn block_key(&mut self, indent: usize) -> PResult<String> {
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

    pub(super) fn key_from_token(&mut self, tok: ScalarTok, props: &Props) -> PResult<String> {
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

    /// A block sequence whose dashes sit at column `indent`.
    pub(super) fn block_seq(&mut self, indent: usize) -> PResult<Vec<Value>> {
        self.open_block(indent, true)?;
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
            .close_block()
            .into_iter()
            .map(|e| match e {
                Entry::Pair(_, v) => v,
                Entry::Comment(c) => Value::Comment(c),
            })
            .collect();
        Ok(items)
    }

    /// The node after `key:` or `-` (the gap after the indicator already skipped).
    /// `parent` is the column of the key or dash.
    pub(super) fn node_after_indicator(&mut self, parent: usize, seq_item: bool) -> PResult<Value> {
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

    /// The node at the current position. `key_props` are properties written on the
    /// line of a would-be first key; if the node is a scalar they apply to it.
    pub(super) fn node(
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
        // A block collection cannot start on the line of a `key:` (it can after a `-`).
        let nested_here = same_line && !seq_item;
        match self.peek() {
            Some(b'*') => {
                self.heads_before_current();
                let v = self.alias()?;
                self.end_scalar_node(v)
            }
            Some(b'-') if self.blank_or_end_at(1) => {
                if nested_here {
                    return Err(perr(
                        line,
                        "block sequence entries are not allowed in this context",
                    ));
                }
                Ok(Value::List(self.block_seq(col)?))
            }
            Some(b'?') if self.blank_or_end_at(1) => {
                if nested_here {
                    return Err(perr(line, MAPPING_NOT_ALLOWED));
                }
                Ok(Value::Map(self.block_map(col, None)?))
            }
            Some(b'|' | b'>') => {
                self.heads_before_current();
                let text = self.block_scalar(parent)?;
                self.gap(false);
                Ok(self.apply_tag_to_string(text, props, line)?)
            }
            Some(b'[' | b'{') => self.flow_in_block(line, seq_item),
            _ => {
                let tok = self.scalar_token(Some(parent), false)?;
                if self.key_indicator_follows() {
                    if nested_here {
                        return Err(perr(line, MAPPING_NOT_ALLOWED));
                    }
                    let col = key_col.unwrap_or(col);
                    return Ok(Value::Map(self.block_map(col, Some((tok, key_props)))?));
                }
                self.heads_before_current();
                let value = self.typed_scalar(&tok, props)?;
                self.end_scalar_node(value)
            }
        }
    }

    /// After a scalar or alias node: skips the gap after it.
    fn end_scalar_node(&mut self, value: Value) -> PResult<Value> {
        self.tok_line = self.line;
        self.gap(false);
        Ok(value)
    }

    /// A flow collection as a block node (a mapping value, a sequence item); it cannot be
    /// a key. A comment on its closing line becomes its first element, except in a
    /// sequence item.
    fn flow_in_block(&mut self, line: usize, seq_item: bool) -> PResult<Value> {
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

    pub(super) fn tagged_empty(&mut self, props: &Props) -> PResult<Value> {
        match props.tag.as_deref() {
            Some("!!str") => Ok(Value::Str(String::new())),
            Some("!!map") => Ok(Value::Map(Map::new())),
            Some("!!seq") => Ok(Value::List(Vec::new())),
            _ => Ok(Value::Null),
        }
    }
}
