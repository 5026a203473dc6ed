//! Literal (`|`) and folded (`>`) block scalars: header, body lines, folding, chomping.

use super::{perr, PResult, Parser};

/// What the header's chomping indicator asks for the final line breaks.
#[derive(Clone, Copy)]
enum Chomp {
    /// `-`: none kept.
    Strip,
    /// No indicator: the last content line's break kept.
    Clip,
    /// `+`: every trailing break kept.
    Keep,
}

/// A block scalar's header line (`|`, `>-`, `|2+`, …).
struct Header {
    literal: bool,
    chomp: Chomp,
    /// The explicit indentation indicator (1–9), relative to the parent.
    explicit: Option<usize>,
    line: usize,
}

/// The body as read: each line without its indentation (`""` for an empty line).
struct Body<'a> {
    lines: Vec<&'a str>,
    /// Line of the last content line (the header's when there is none).
    last_line: usize,
    /// Position, line and line start right after the last content line.
    end: (usize, usize, usize),
}

impl<'a> Parser<'a> {
    /// A literal or folded block scalar; `parent` is the enclosing block's indent.
    pub(super) fn block_scalar(&mut self, parent: usize) -> PResult<String> {
        let header = self.block_header()?;
        let header_end = (self.pos, self.line, self.line_start);
        let body = self.block_body(parent, header.explicit.map(|d| parent + d), header.line)?;
        // Trailing empty lines belong to the scalar for chomping; the parser resumes at
        // the end of the last content line (so the gap sees the blank lines).
        let lines = &body.lines;
        let content_lines = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        let trailing_empty = lines.len() - content_lines;
        // Only empty lines (or none): resume after the header line.
        let resume = if content_lines > 0 {
            body.end
        } else {
            header_end
        };
        (self.pos, self.line, self.line_start) = resume;
        self.tok_line = body.last_line;
        let content = &lines[..content_lines];
        let mut text = if header.literal {
            content.join("\n")
        } else {
            fold(content)
        };
        // The last content line's break is part of the value (clip, keep) only when the
        // file has one: a scalar at the end of a file without a final newline has none.
        let final_break = content_lines > 0 && (trailing_empty > 0 || body.end.0 < self.b.len());
        chomp(&mut text, header.chomp, final_break, trailing_empty);
        Ok(text)
    }

    /// Reads the header from its `|` or `>` through the end of its line (a comment there
    /// goes before the entry of that line).
    fn block_header(&mut self) -> PResult<Header> {
        let line = self.line;
        let literal = self.peek() == Some(b'|');
        self.pos += 1;
        let mut chomp = Chomp::Clip;
        let mut explicit: Option<usize> = None;
        for _ in 0..2 {
            match self.peek() {
                Some(b'-') => chomp = Chomp::Strip,
                Some(b'+') => chomp = Chomp::Keep,
                Some(d @ b'1'..=b'9') => explicit = Some(usize::from(d - b'0')),
                _ => break,
            }
            self.pos += 1;
        }
        self.skip_inline_ws();
        if self.peek() == Some(b'#') {
            self.pos += 1;
            let text = self.rest_of_line().trim_end_matches('\r').to_string();
            self.place_line_comment(line, text);
        }
        if !self.eof() && !self.at_line_break() {
            return Err(perr(line, "did not find expected comment or line break"));
        }
        Ok(Header {
            literal,
            chomp,
            explicit,
            line,
        })
    }

    /// Collects the body lines after the header: indented deeper than `parent`, at
    /// `indent` when known (else at the first content line's). Stops before the first
    /// line that is less indented or a document marker.
    fn block_body(
        &mut self,
        parent: usize,
        mut indent: Option<usize>,
        header_line: usize,
    ) -> PResult<Body<'a>> {
        let mut body = Body {
            lines: Vec::new(),
            last_line: header_line,
            end: (self.pos, self.line, self.line_start),
        };
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
            let spaces = self.skip_spaces();
            // go-yaml: a tab where the block's indentation is still being read.
            if self.peek() == Some(b'\t') && indent.is_none_or(|i| spaces < i) {
                return Err(perr(
                    self.line,
                    "found a tab character where an indentation space is expected",
                ));
            }
            let content_end = self.end_of_line();
            let rest = &self.src[self.pos..content_end];
            let blank = rest.trim_matches(['\t']).is_empty() && !rest.contains(|c: char| c != '\t');
            if blank && indent.is_none_or(|i| spaces <= i) {
                body.lines.push("");
                self.pos = content_end;
                continue;
            }
            let ind = *indent.get_or_insert(spaces.max(parent + 1));
            if spaces < ind || (spaces == 0 && self.at_doc_marker()) {
                (self.pos, self.line, self.line_start) = save;
                break;
            }
            body.lines.push(&self.src[start + ind..content_end]);
            self.pos = content_end;
            body.last_line = self.line;
            body.end = (self.pos, self.line, self.line_start);
        }
        Ok(body)
    }

    /// Skips spaces (not tabs) and returns how many.
    fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        self.pos - start
    }

    /// The offset of the line break (or end) ending the current line; the position stays.
    fn end_of_line(&self) -> usize {
        let mut e = self.pos;
        while e < self.b.len() && !matches!(self.b[e], b'\n' | b'\r') {
            e += 1;
        }
        e
    }
}

/// Folds the content lines of a `>` scalar: a break between two lines that are not
/// more indented becomes a space, `n` empty lines between them `n` newlines; around a
/// more-indented line breaks are kept.
fn fold(body: &[&str]) -> String {
    let mut text = String::new();
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
    text
}

/// Applies the chomping indicator: the final break (if the file has one) for clip and
/// keep, the trailing empty lines too for keep.
fn chomp(text: &mut String, chomp: Chomp, final_break: bool, trailing_empty: usize) {
    match chomp {
        Chomp::Strip => {}
        Chomp::Clip => {
            if final_break {
                text.push('\n');
            }
        }
        Chomp::Keep => {
            if final_break {
                text.push('\n');
            }
            text.extend(std::iter::repeat_n('\n', trailing_empty));
        }
    }
}
