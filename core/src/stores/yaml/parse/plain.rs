//! Plain scalars and the scalar token: which kind of scalar starts here, and plain
//! scalars folded over continuation lines.

use super::cursor::is_ws;
use super::{perr, PResult, Parser, ScalarTok};

impl<'a> Parser<'a> {
    /// Scans a plain or quoted scalar. `parent` is the indent continuation lines of a
    /// plain scalar must exceed (`None`: a key, single line only).
    pub(super) fn scalar_token(&mut self, parent: Option<usize>, flow: bool) -> PResult<ScalarTok> {
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
    pub(super) fn plain(&mut self, parent: Option<usize>, flow: bool) -> String {
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
    pub(super) fn plain_line(&mut self, flow: bool) -> &'a str {
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
}
