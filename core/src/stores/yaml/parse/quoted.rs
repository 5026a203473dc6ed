//! Single- and double-quoted scalars: escapes and line folding.

use super::{perr, PResult, Parser};

impl<'a> Parser<'a> {
    pub(super) fn single_quoted(&mut self) -> PResult<String> {
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
    pub(super) fn fold_quoted_break(&mut self, out: &mut String) {
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
    pub(super) fn at_unicode_break(&self) -> bool {
        let rest = &self.b[self.pos..];
        rest.starts_with("\u{2028}".as_bytes())
            || rest.starts_with("\u{2029}".as_bytes())
            || rest.starts_with("\u{85}".as_bytes())
    }

    /// A Unicode line break inside a quoted scalar is kept as is; the indentation after
    /// it is dropped.
    pub(super) fn keep_unicode_break(&mut self, out: &mut String) {
        let trimmed = out.trim_end_matches([' ', '\t']).len();
        out.truncate(trimmed);
        let len = if self.b[self.pos] == 0xc2 { 2 } else { 3 };
        out.push_str(&self.src[self.pos..self.pos + len]);
        self.pos += len;
        self.skip_inline_ws();
    }

    pub(super) fn double_quoted(&mut self) -> PResult<String> {
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
}
