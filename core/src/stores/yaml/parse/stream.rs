//! The stream: directives, `---`/`...` markers, one map per document, and the errors
//! go-yaml and sops give for a root that is not a mapping.

use super::placement::with_first_comment;
use super::{perr, PResult, Parser};
use crate::error::Error;
use crate::tree::{Entry, Map, Value};

impl<'a> Parser<'a> {
    /// Every document of the stream, in order; comments after the last content go to the
    /// last document.
    pub(super) fn stream(&mut self) -> PResult<Vec<Map>> {
        let mut docs: Vec<Map> = Vec::new();
        self.tok_line = 0;
        self.gap(false);
        loop {
            self.directives()?;
            let explicit_start = self.at_doc_marker() && self.b[self.pos] == b'-';
            if explicit_start {
                self.skip_marker();
            }
            if self.eof() && !explicit_start {
                self.heads_to_last(&mut docs);
                break;
            }
            match self.document()? {
                Some(mut map) => {
                    // Comments between the content and the next `---` end this document.
                    map.entries.extend(self.take_heads());
                    docs.push(map);
                }
                None => {
                    // An empty document: its comments belong to the previous one.
                    if docs.is_empty() {
                        docs.push(Map {
                            entries: self.take_heads().collect(),
                            layout: None,
                        });
                    } else {
                        self.heads_to_last(&mut docs);
                        docs.push(Map::new());
                    }
                }
            }
            self.doc_index += 1;
            if self.at_doc_marker() && self.b[self.pos] == b'.' {
                self.skip_marker();
            }
            if self.eof() {
                self.heads_to_last(&mut docs);
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

    /// Skips `%` directives at the start of lines; a `%YAML` version other than 1.1 is
    /// refused as go-yaml refuses it.
    fn directives(&mut self) -> PResult<()> {
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
        Ok(())
    }

    /// Skips a `---` or `...` marker and the gap after it.
    fn skip_marker(&mut self) {
        self.pos += 3;
        self.tok_line = self.line;
        self.gap(false);
    }

    /// The head comments gathered so far, as entries.
    fn take_heads(&mut self) -> impl Iterator<Item = Entry> {
        std::mem::take(&mut self.heads)
            .into_iter()
            .map(Entry::Comment)
    }

    /// Ends the last document with the head comments gathered so far (dropped when
    /// there is no document).
    fn heads_to_last(&mut self, docs: &mut [Map]) {
        let heads = self.take_heads();
        if let Some(last) = docs.last_mut() {
            last.entries.extend(heads);
        }
    }

    /// One document's root; `None` for an empty document.
    pub(super) fn document(&mut self) -> PResult<Option<Map>> {
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

    pub(super) fn root_error(&self, line: usize, tag: &str, kind: &str) -> Error {
        if self.doc_index == 0 {
            perr(
                line,
                format!("cannot unmarshal {tag} into map[string]interface {{}}"),
            )
        } else {
            perr(line, format!("Error unmarshaling input YAML: YAML documents that are {kind} are not supported"))
        }
    }

    pub(super) fn scalar_root_error(&self, line: usize, text: &str, value: &Value) -> Error {
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
}
