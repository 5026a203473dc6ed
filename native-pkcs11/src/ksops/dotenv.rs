//! The dotenv reading KSOPS's `secretFrom.envs` does (joho/godotenv 1.5.1's `Unmarshal`):
//! `KEY=value` and `KEY: value` lines, an optional `export ` prefix, `#` comments, single
//! quotes (verbatim), double quotes (`\n`/`\r` escapes, other backslashes dropped) and
//! `$VAR`/`${VAR}` expansion from the keys read before (unquoted and double-quoted values).
//!
//! Errors give the line only, never the text: the input is decrypted.

use std::collections::BTreeMap;

/// Why a dotenv text could not be read (the 1-based line where it went wrong).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DotenvError {
    /// A character that cannot be part of a variable name.
    #[error("unexpected character in a variable name at line {0}")]
    BadName(usize),
    /// A quoted value without its closing quote.
    #[error("unterminated quoted value at line {0}")]
    Unterminated(usize),
}

/// Parses `src` into its variables (a later duplicate wins).
pub fn parse(src: &str) -> Result<BTreeMap<String, String>, DotenvError> {
    let src = src.replace("\r\n", "\n");
    let bytes = src.as_bytes();
    let mut out = BTreeMap::new();
    let mut at = 0;
    while let Some(start) = statement_start(bytes, at) {
        let line = 1 + bytes[..start].iter().filter(|&&b| b == b'\n').count();
        let (key, value_at) = key_name(&src, start).map_err(|()| DotenvError::BadName(line))?;
        let (value, rest) = value(&src, value_at, &out).ok_or(DotenvError::Unterminated(line))?;
        out.insert(key, value);
        at = rest;
    }
    Ok(out)
}

/// godotenv's `isSpace`: a blank that is not a line break.
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// The start of the next statement at or after `at`, skipping blanks and comment lines.
fn statement_start(src: &[u8], mut at: usize) -> Option<usize> {
    let text = std::str::from_utf8(&src[at..]).ok()?;
    let offset = text.find(|c: char| !c.is_whitespace())?;
    at += offset;
    if src[at] != b'#' {
        return Some(at);
    }
    let newline = src[at..].iter().position(|&b| b == b'\n')?;
    statement_start(src, at + newline)
}

/// Reads the key name at `at`: returns it and where its value starts.
fn key_name(src: &str, at: usize) -> Result<(String, usize), ()> {
    let mut rest = src[at..].trim_start_matches(is_space);
    if let Some(after) = rest.strip_prefix("export") {
        if after.starts_with(is_space) {
            rest = after.trim_start_matches(is_space);
        }
    }
    let base = src.len() - rest.len();
    let mut key = "";
    let mut offset = 0;
    for (i, byte) in rest.bytes().enumerate() {
        // godotenv looks at bytes, each taken as the code point of the same number.
        let c = char::from(byte);
        if is_space(c) {
            continue;
        }
        match byte {
            b'=' | b':' => {
                key = &rest[..i];
                offset = i + 1;
                break;
            }
            b'_' => {}
            _ if c.is_alphanumeric() || c == '.' => {}
            _ => return Err(()),
        }
    }
    let key = key.trim_end_matches(char::is_whitespace).to_string();
    let value = &rest[offset..];
    let value_at = base + offset + (value.len() - value.trim_start_matches(is_space).len());
    Ok((key, value_at))
}

/// Reads the value at `at`: returns it and where the input continues, `None` for an
/// unterminated quote.
fn value(src: &str, at: usize, vars: &BTreeMap<String, String>) -> Option<(String, usize)> {
    let rest = &src[at..];
    let quote = match rest.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) => q,
        _ => return Some(unquoted(src, at, vars)),
    };
    let bytes = rest.as_bytes();
    for i in 1..bytes.len() {
        if bytes[i] != quote || bytes[i - 1] == b'\\' {
            continue;
        }
        let q = char::from(quote);
        let inner = rest[..i].trim_end_matches(q).trim_start_matches(q);
        let value = if quote == b'"' {
            expand_variables(&expand_escapes(inner), vars)
        } else {
            inner.to_string()
        };
        return Some((value, at + i + 1));
    }
    None
}

/// An unquoted value: to the end of the line, less a ` #` comment, trimmed.
fn unquoted(src: &str, at: usize, vars: &BTreeMap<String, String>) -> (String, usize) {
    let rest = &src[at..];
    let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
    let line: Vec<char> = rest[..end].chars().collect();
    let mut stop = line.len();
    for i in (1..line.len()).rev() {
        if line[i] == '#' && is_space(line[i - 1]) {
            stop = i;
            break;
        }
    }
    let text: String = line[..stop].iter().collect();
    (
        expand_variables(text.trim_matches(is_space), vars),
        at + end,
    )
}

/// Double-quote escapes: `\n` and `\r` become the characters; then a backslash before any
/// character but `$` is dropped.
fn expand_escapes(s: &str) -> String {
    let mut first = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('\\', Some(next)) if next != '\n' => {
                chars.next();
                match next {
                    'n' => first.push('\n'),
                    'r' => first.push('\r'),
                    other => {
                        first.push('\\');
                        first.push(other);
                    }
                }
            }
            _ => first.push(c),
        }
    }
    let mut out = String::with_capacity(first.len());
    let mut chars = first.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('\\', Some(next)) if next != '$' => {
                chars.next();
                out.push(next);
            }
            _ => out.push(c),
        }
    }
    out
}

/// `$NAME`, `${NAME}` (and godotenv's looser forms) replaced by the value read before, or
/// nothing; `\$…` stays literal without its backslash.
fn expand_variables(s: &str, vars: &BTreeMap<String, String>) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let escaped = b[i] == b'\\' && b.get(i + 1) == Some(&b'$');
        if !escaped && b[i] != b'$' {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = if escaped { i + 2 } else { i + 1 };
        if b.get(j) == Some(&b'(') {
            j += 1;
        }
        if b.get(j) == Some(&b'{') {
            j += 1;
        }
        let name_start = j;
        while j < b.len() && (b[j].is_ascii_uppercase() || b[j].is_ascii_digit() || b[j] == b'_') {
            j += 1;
        }
        let name = &s[name_start..j];
        if b.get(j) == Some(&b'}') {
            j += 1;
        }
        out.push_str(&s[copied..start]);
        if escaped {
            out.push_str(&s[start + 1..j]);
        } else if !name.is_empty() {
            out.push_str(vars.get(name).map_or("", String::as_str));
        } else {
            out.push_str(&s[start..j]);
        }
        copied = j;
        i = j;
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap().into_iter().collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = list
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn plain_export_yaml_style_and_comments() {
        let text = "# c\nA=1\nexport B = two words # note\nC: three\n\n  D=x#y\nE=\n";
        assert_eq!(
            env(text),
            pairs(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", "three"),
                ("D", "x#y"),
                ("E", "")
            ])
        );
    }

    #[test]
    fn quotes_escapes_and_expansion() {
        let text =
            "A=one\nB=\"x\\ny $A ${A} \\$A\"\nC='raw $A \\n'\nD=$A-$lower-$MISSING\nE=\"a\\\"b\"\n";
        assert_eq!(
            env(text),
            pairs(&[
                ("A", "one"),
                ("B", "x\ny one one $A"),
                ("C", "raw $A \\n"),
                ("D", "one-$lower-"),
                ("E", "a\"b"),
            ])
        );
    }

    #[test]
    fn sops_style_escaped_newlines_stay_literal_when_unquoted() {
        assert_eq!(env("K=a\\nb\n"), pairs(&[("K", "a\\nb")]));
    }

    #[test]
    fn errors_name_the_line_not_the_text() {
        assert_eq!(parse("A=1\nB-C=secret\n"), Err(DotenvError::BadName(2)));
        assert_eq!(
            parse("A=1\n\nB=\"secret\n"),
            Err(DotenvError::Unterminated(3))
        );
        assert!(!DotenvError::BadName(2).to_string().contains("secret"));
    }
}
