//! Single- and double-quoted scalars: escapes and line folding.

use super::{perr, PResult, Parser};

impl<'a> Parser<'a> {
    /// A single-quoted scalar (`''` is a quote).
    pub(super) fn single_quoted(&mut self) -> PResult<String> {
        let line = self.line;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                Some(b'\'') if self.peek_at(1) == Some(b'\'') => {
                    out.push('\'');
                    self.pos += 2;
                }
                Some(b'\'') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => self.quoted_text(&mut out, line, b"'")?,
            }
        }
    }

    /// A double-quoted scalar, escapes decoded.
    pub(super) fn double_quoted(&mut self) -> PResult<String> {
        let line = self.line;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                _ => self.quoted_text(&mut out, line, b"\"\\")?,
            }
        }
    }

    /// The part both quoted styles share: the end of the stream (an error naming the
    /// opening `line`), line breaks, and a run of text up to a byte in `stops`.
    fn quoted_text(&mut self, out: &mut String, line: usize, stops: &[u8]) -> PResult<()> {
        match self.peek() {
            None => {
                return Err(perr(
                    line,
                    "found unexpected end of stream while scanning a quoted scalar",
                ))
            }
            Some(b'\n' | b'\r') => self.fold_quoted_break(out),
            Some(_) if self.at_unicode_break() => self.keep_unicode_break(out),
            Some(_) => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| !stops.contains(&c) && !matches!(c, b'\n' | b'\r'))
                    && !self.at_unicode_break()
                {
                    self.pos += 1;
                }
                out.push_str(&self.src[start..self.pos]);
            }
        }
        Ok(())
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

    /// Decodes the escape sequence at a `\\` of a double-quoted scalar into `out`.
    fn escape(&mut self, out: &mut String) -> PResult<()> {
        let esc = self.peek_at(1);
        self.pos += 2;
        if let Some(c) = esc.and_then(simple_escape) {
            out.push(c);
            return Ok(());
        }
        let width = match esc {
            Some(b'x') => 2,
            Some(b'u') => 4,
            Some(b'U') => 8,
            Some(b'\n' | b'\r') => {
                self.escaped_break(out);
                return Ok(());
            }
            _ => {
                return Err(perr(
                    self.line,
                    "found unknown escape character while parsing a quoted scalar",
                ))
            }
        };
        let c = self.hex_escape(width)?;
        out.push(c);
        Ok(())
    }

    /// An escaped line break (the `\\` already consumed): joined without a space; the
    /// empty lines after it are kept as newlines.
    fn escaped_break(&mut self, out: &mut String) {
        self.pos -= 1;
        self.consume_break();
        self.skip_inline_ws();
        while self.at_line_break() {
            self.consume_break();
            out.push('\n');
            self.skip_inline_ws();
        }
    }

    /// The character of a `\\x`, `\\u` or `\\U` escape: `width` hex digits.
    fn hex_escape(&mut self, width: usize) -> PResult<char> {
        let hex = self.src.get(self.pos..self.pos + width).unwrap_or("");
        let code = u32::from_str_radix(hex, 16)
            .ok()
            .filter(|_| hex.len() == width)
            .ok_or_else(|| perr(self.line, "did not find expected hexdecimal number"))?;
        let c = char::from_u32(code)
            .ok_or_else(|| perr(self.line, "found invalid Unicode character escape code"))?;
        self.pos += width;
        Ok(c)
    }
}

/// The character a one-letter escape stands for (`n` → newline, …); `None` for the
/// others.
fn simple_escape(esc: u8) -> Option<char> {
    Some(match esc {
        b'0' => '\0',
        b'a' => '\x07',
        b'b' => '\x08',
        b't' | b'\t' => '\t',
        b'n' => '\n',
        b'v' => '\x0b',
        b'f' => '\x0c',
        b'r' => '\r',
        b'e' => '\x1b',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        _ => return None,
    })
}
