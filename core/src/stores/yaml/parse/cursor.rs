//! The cursor: bytes, lines and columns under the parser's position, and the
//! small moves every other part is made of.

use super::Parser;

impl<'a> Parser<'a> {
    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, off: usize) -> Option<u8> {
        self.b.get(self.pos + off).copied()
    }

    pub(super) fn col(&self) -> usize {
        self.src[self.line_start..self.pos].chars().count()
    }

    pub(super) fn eof(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// Whether the byte at `pos + off` is a space, tab, line break or the end.
    pub(super) fn blank_or_end_at(&self, off: usize) -> bool {
        matches!(self.peek_at(off), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
    }

    pub(super) fn at_line_break(&self) -> bool {
        matches!(self.peek(), Some(b'\n' | b'\r'))
    }

    pub(super) fn consume_break(&mut self) {
        if self.peek() == Some(b'\r') {
            self.pos += 1;
        }
        if self.peek() == Some(b'\n') {
            self.pos += 1;
        }
        self.line += 1;
        self.line_start = self.pos;
    }

    pub(super) fn skip_inline_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    /// At column 0, a `---` or `...` marker followed by a blank or the end.
    pub(super) fn at_doc_marker(&self) -> bool {
        self.pos == self.line_start
            && (self.b[self.pos..].starts_with(b"---") || self.b[self.pos..].starts_with(b"..."))
            && self.blank_or_end_at(3)
    }

    pub(super) fn rest_of_line(&mut self) -> &'a str {
        let start = self.pos;
        while !self.eof() && !self.at_line_break() {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    pub(super) fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| {
            !c.is_ascii_whitespace() && !matches!(c, b',' | b'[' | b']' | b'{' | b'}')
        }) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }
}

pub(super) fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}
