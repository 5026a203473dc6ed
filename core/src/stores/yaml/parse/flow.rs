//! Flow collections: `[…]` and `{…}`, with comments inside them.

use super::{perr, PResult, Parser, Props};
use crate::tree::{Map, Value};
use std::collections::HashMap;

/// One entry of a flow collection.
enum FlowEntry {
    /// A key (its text when it is not a string) and its value.
    Pair(String, Value),
    /// A sequence item that is not a pair.
    Item(Value),
}

impl<'a> Parser<'a> {
    pub(super) fn flow_skip(&mut self) -> PResult<()> {
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
    pub(super) fn flow_node(&mut self) -> PResult<Value> {
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
            match self.flow_entry(is_map, close)? {
                FlowEntry::Item(value) => list.push(value),
                FlowEntry::Pair(key, value) if is_map => {
                    if let Some(prev) = seen.insert(key.clone(), entry_line) {
                        return Err(perr(
                            entry_line,
                            format!("mapping key \"{key}\" already defined at line {prev}"),
                        ));
                    }
                    map.push(key, value);
                }
                FlowEntry::Pair(key, value) => {
                    // A pair in a sequence is a single-pair mapping.
                    let mut single = Map::new();
                    single.push(key, value);
                    list.push(Value::Map(single));
                }
            }
            self.flow_separator(line, is_map, close)?;
        }
        self.tok_line = self.line;
        self.depth -= 1;
        Ok(if is_map {
            Value::Map(map)
        } else {
            Value::List(list)
        })
    }

    /// One entry: a pair (`k: v`, `? k`, or any entry of a mapping) or a sequence item.
    fn flow_entry(&mut self, is_map: bool, close: u8) -> PResult<FlowEntry> {
        let explicit = self.peek() == Some(b'?') && self.blank_or_end_at(1);
        if explicit {
            self.pos += 1;
            self.flow_skip()?;
        }
        let props = self.props()?;
        let (first, first_text, first_plain) = self.flow_item(&props)?;
        self.flow_skip()?;
        let has_value = self.peek() == Some(b':');
        if !(is_map || has_value || explicit) {
            return Ok(FlowEntry::Item(first));
        }
        let value = if has_value {
            self.flow_value(close)?
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
        Ok(FlowEntry::Pair(key, value))
    }

    /// The value after a pair's `:` (null when none is written).
    fn flow_value(&mut self, close: u8) -> PResult<Value> {
        self.pos += 1;
        self.flow_skip()?;
        if matches!(self.peek(), Some(b',')) || self.peek() == Some(close) {
            return Ok(Value::Null);
        }
        let props = self.props()?;
        Ok(self.flow_item(&props)?.0)
    }

    /// The `,` after an entry, or the closing bracket (left for the caller).
    fn flow_separator(&mut self, line: usize, is_map: bool, close: u8) -> PResult<()> {
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
        Ok(())
    }

    /// One flow node: returns it, its source text (for keys) and whether it was plain.
    pub(super) fn flow_item(&mut self, props: &Props) -> PResult<(Value, String, bool)> {
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
}
