//! Literal (`|`) and folded (`>`) block scalars: header, body lines, folding, chomping.

use super::{perr, PResult, Parser};

impl<'a> Parser<'a> {
    /// A literal or folded block scalar; `parent` is the enclosing block's indent.
    pub(super) fn block_scalar(&mut self, parent: usize) -> PResult<String> {
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
}
