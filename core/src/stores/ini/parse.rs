//! An INI reader with go-ini v1 semantics (the options sops 3.11 uses): a `DEFAULT`
//! section for keys before any header, `=` or `:` delimiters, surrounding quotes
//! stripped, inline `;`/`#` comments, `"""` and backtick values, `\` continuation lines,
//! duplicate sections kept apart, duplicate keys overwriting in place.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// The name of the section that holds keys before any header.
pub(crate) const DEFAULT_SECTION: &str = "DEFAULT";

/// One parsed section.
pub(crate) struct Section {
    /// The header text between `[` and the last `]`.
    pub name: String,
    /// The comment lines before the header (markers included, trimmed).
    pub comment: String,
    /// `(key, value, comment)` in first-appearance order.
    pub keys: Vec<(String, String, String)>,
    index: HashMap<String, usize>,
}

impl Section {
    fn new(name: String, comment: String) -> Self {
        Self {
            name,
            comment,
            keys: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn set(&mut self, key: String, value: String, comment: String) {
        match self.index.get(&key) {
            Some(&i) => {
                self.keys[i].1 = value;
                self.keys[i].2 = comment;
            }
            None => {
                self.index.insert(key.clone(), self.keys.len());
                self.keys.push((key, value, comment));
            }
        }
    }
}

/// Parses `input` into its sections; the first is always `DEFAULT`.
pub(crate) fn parse(input: &str) -> Result<Vec<Section>> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut p = Parser {
        lines: input.split_inclusive('\n').collect(),
        next: 0,
        comment: String::new(),
    };
    let mut sections = vec![Section::new(DEFAULT_SECTION.into(), String::new())];
    let mut current = 0;
    while let Some(raw) = p.next_line() {
        let line_no = p.next;
        let line = raw.trim_start();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(['#', ';']) {
            p.comment.push_str(line);
            continue;
        }
        if line.starts_with('[') {
            let Some(close) = line.rfind(']') else {
                return Err(error(
                    line_no,
                    format!("unclosed section: {}", line.trim_end()),
                ));
            };
            let name = line[1..close].to_string();
            if let Some(i) = line[close + 1..].find(['#', ';']) {
                p.comment.push_str(&line[close + 1 + i..]);
            }
            let comment = p.take_comment();
            if name == DEFAULT_SECTION {
                current = 0;
                sections[0].comment = comment;
            } else {
                current = sections.len();
                sections.push(Section::new(name, comment));
            }
            continue;
        }
        let (key, offset) = key_name(line).map_err(|m| error(line_no, m))?;
        let value = p.value(&line[offset..]).map_err(|m| error(line_no, m))?;
        let comment = p.take_comment();
        sections[current].set(key, value, comment);
    }
    Ok(sections)
}

fn error(line: usize, message: String) -> Error {
    Error::Parse {
        format: "ini",
        line: Some(line),
        message,
    }
}

struct Parser<'a> {
    /// Lines including their `\n`.
    lines: Vec<&'a str>,
    next: usize,
    /// Comment lines waiting for the next key or section.
    comment: String,
}

impl<'a> Parser<'a> {
    fn next_line(&mut self) -> Option<&'a str> {
        let line = self.lines.get(self.next).copied();
        if line.is_some() {
            self.next += 1;
        }
        line
    }

    fn take_comment(&mut self) -> String {
        let c = self.comment.trim().to_string();
        self.comment.clear();
        c
    }

    /// go-ini `readValue`: `in` is the text after the delimiter, with its `\n`.
    fn value(&mut self, input: &str) -> Result<String, String> {
        let line = input.trim_start();
        if line.is_empty() {
            return Ok(String::new());
        }
        let quote = if line.len() > 3 && line.starts_with("\"\"\"") {
            Some("\"\"\"")
        } else if line.starts_with('`') {
            Some("`")
        } else {
            None
        };
        if let Some(q) = quote {
            let body = &line[q.len()..];
            return match body.rfind(q) {
                Some(pos) => Ok(body[..pos].to_string()),
                None => self.multiline(body, q),
            };
        }
        let mut line = line.trim();
        if let Some(head) = line.strip_suffix('\\') {
            return Ok(self.continuation(head));
        }
        if let Some(i) = line.find(['#', ';']) {
            self.comment.push_str(&line[i..]);
            line = line[..i].trim();
        }
        let surrounded = |q: char| {
            line.len() >= 2
                && line.starts_with(q)
                && line.ends_with(q)
                && line.matches(q).count() == 2
        };
        if surrounded('\'') || surrounded('"') {
            line = &line[1..line.len() - 1];
        }
        Ok(line.to_string())
    }

    /// go-ini `readMultilines`: reads up to the closing quote on a later line.
    fn multiline(&mut self, body: &str, quote: &str) -> Result<String, String> {
        let mut value = body.to_string();
        loop {
            let Some(next) = self.next_line() else {
                return Err(
                    "missing closing quote of a multi-line value (the value is not shown: it may be secret)"
                        .into(),
                );
            };
            if let Some(pos) = next.rfind(quote) {
                value.push_str(&next[..pos]);
                let rest = &next[pos..];
                if let Some(i) = rest.find(['#', ';']) {
                    self.comment.push_str(rest[i..].trim());
                }
                return Ok(value);
            }
            value.push_str(next);
        }
    }

    /// go-ini `readContinuationLines`: joins trimmed lines while they end with `\`.
    fn continuation(&mut self, head: &str) -> String {
        let mut value = head.to_string();
        while let Some(next) = self.next_line() {
            let next = next.trim();
            if next.is_empty() {
                break;
            }
            value.push_str(next);
            if !value.ends_with('\\') {
                break;
            }
            value.pop();
        }
        value
    }
}

/// go-ini `readKeyName`: the key (quoted with `"`, `"""` or a backtick, or bare up to the
/// first `=`/`:`) and the offset just past the delimiter.
fn key_name(line: &str) -> Result<(String, usize), String> {
    let quote = if line.starts_with('"') {
        if line.len() > 6 && line.starts_with("\"\"\"") {
            "\"\"\""
        } else {
            "\""
        }
    } else if line.starts_with('`') {
        "`"
    } else {
        ""
    };
    // go-ini prints the whole line after these messages; it may hold a secret value, so
    // leafcrypt gives only the line number (added by the caller).
    const HIDDEN: &str = "(the line's text is not shown: it may be secret)";
    let empty_key = || "error creating new key: empty key name".to_string();
    if !quote.is_empty() {
        let start = quote.len();
        let Some(pos) = line[start..].find(quote).map(|p| p + start) else {
            return Err(format!("missing closing key quote {HIDDEN}"));
        };
        let Some(i) = line[pos + start..].find(['=', ':']) else {
            return Err(format!("key-value delimiter not found {HIDDEN}"));
        };
        let key = line[start..pos].trim();
        if key.is_empty() {
            return Err(empty_key());
        }
        return Ok((key.to_string(), pos + i + start + 1));
    }
    match line.find(['=', ':']) {
        None => Err(format!("key-value delimiter not found {HIDDEN}")),
        Some(0) => Err(format!("empty key name {HIDDEN}")),
        Some(end) if line[..end].trim().is_empty() => Err(empty_key()),
        Some(end) => Ok((line[..end].trim().to_string(), end + 1)),
    }
}
