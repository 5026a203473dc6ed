//! A JSON writer with Go `encoding/json` + `json.Indent` output: HTML-safe string
//! escaping, Go float formatting, `{}`/`[]` for empty containers. Comments are dropped
//! (JSON cannot hold them); timestamps are written as strings.

use super::parse::go_lossy_utf8;
use crate::error::{Error, Result};
use crate::numfmt::go_float_json;
use crate::tree::{Entry, Map, Value};

/// Writes JSON text into a byte buffer.
pub(crate) struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// One level of indentation (`\t` or N spaces).
    unit: &'a [u8],
}

impl<'a> Writer<'a> {
    /// A writer appending to `out`, indenting by `unit` per level.
    pub(crate) fn new(out: &'a mut Vec<u8>, unit: &'a [u8]) -> Self {
        Self { out, unit }
    }

    fn newline(&mut self, depth: usize) {
        self.out.push(b'\n');
        for _ in 0..depth {
            self.out.extend_from_slice(self.unit);
        }
    }

    /// Writes `map` at nesting level `depth`, followed by the extra `tail` pairs (the
    /// `sops` block), without a final newline.
    pub(crate) fn map(&mut self, map: &Map, tail: &[(&str, &Value)], depth: usize) -> Result<()> {
        let pairs = map.entries.iter().filter_map(|e| match e {
            Entry::Pair(k, v) => Some((k.as_str(), v)),
            Entry::Comment(_) => None,
        });
        let mut first = true;
        self.out.push(b'{');
        for (key, value) in pairs.chain(tail.iter().copied()) {
            if !first {
                self.out.push(b',');
            }
            first = false;
            self.newline(depth + 1);
            write_string(self.out, key);
            self.out.extend_from_slice(b": ");
            self.value(value, depth + 1)?;
        }
        if !first {
            self.newline(depth);
        }
        self.out.push(b'}');
        Ok(())
    }

    fn list(&mut self, items: &[Value], depth: usize) -> Result<()> {
        let mut first = true;
        self.out.push(b'[');
        for item in items.iter().filter(|i| !matches!(i, Value::Comment(_))) {
            if !first {
                self.out.push(b',');
            }
            first = false;
            self.newline(depth + 1);
            self.value(item, depth + 1)?;
        }
        if !first {
            self.newline(depth);
        }
        self.out.push(b']');
        Ok(())
    }

    /// Writes one value at nesting level `depth`. A comment writes `null` (only reachable
    /// when the caller passes a comment directly; containers skip them).
    pub(crate) fn value(&mut self, value: &Value, depth: usize) -> Result<()> {
        match value {
            Value::Null | Value::Comment(_) => self.out.extend_from_slice(b"null"),
            Value::Bool(b) => self
                .out
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) => self.out.extend_from_slice(i.to_string().as_bytes()),
            Value::Float(f) => self.out.extend_from_slice(float_text(*f)?.as_bytes()),
            Value::Str(s) | Value::Time(s) => write_string(self.out, s),
            Value::Bytes(b) => write_string(self.out, &go_lossy_utf8(b)),
            Value::Map(m) => self.map(m, &[], depth)?,
            Value::List(items) => self.list(items, depth)?,
        }
        Ok(())
    }
}

/// A float as `encoding/json` writes it; NaN and infinities are an error, as in Go.
pub(crate) fn float_text(f: f64) -> Result<String> {
    if f.is_finite() {
        Ok(go_float_json(f))
    } else {
        let shown = crate::numfmt::go_float_plain(f);
        Err(Error::Emit(format!(
            "Error marshaling to json: Error encoding value : json: unsupported value: {shown}"
        )))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string literal with Go's escaping (`<>&` and U+2028/9 as
/// `\uXXXX`, short escapes for `\b \f \n \r \t`, other controls `\u00xx`, DEL raw).
pub(crate) fn write_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            b'<' => Some(b"\\u003c"),
            b'>' => Some(b"\\u003e"),
            b'&' => Some(b"\\u0026"),
            // U+2028 / U+2029 are E2 80 A8 / E2 80 A9.
            0xE2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) =>
            {
                Some(if bytes[i + 2] == 0xA8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                })
            }
            _ => None,
        };
        let width = if escape.is_some() && b == 0xE2 { 3 } else { 1 };
        if let Some(esc) = escape {
            out.extend_from_slice(&bytes[run..i]);
            out.extend_from_slice(esc);
            i += width;
            run = i;
        } else if b < 0x20 {
            out.extend_from_slice(&bytes[run..i]);
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xF) as usize],
            ]);
            i += 1;
            run = i;
        } else {
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        write_string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(
            escaped("<a href=\"x\">&amp;</a>"),
            r#""\u003ca href=\"x\"\u003e\u0026amp;\u003c/a\u003e""#
        );
        assert_eq!(escaped("a\u{2028}b\u{2029}c"), r#""a\u2028b\u2029c""#);
        assert_eq!(
            escaped("a\u{1}b\u{1f}c\u{7f}d"),
            "\"a\\u0001b\\u001fc\u{7f}d\""
        );
        assert_eq!(
            escaped("a\tb\nc\rd\"e\\f/g\u{8}\u{c}"),
            r#""a\tb\nc\rd\"e\\f/g\b\f""#
        );
        assert_eq!(escaped("héllo 日本 😀"), "\"héllo 日本 😀\"");
    }

    #[test]
    fn non_finite_floats_are_an_error() {
        assert!(matches!(float_text(f64::INFINITY), Err(Error::Emit(m)) if m.ends_with("+Inf")));
        assert_eq!(float_text(1e21).unwrap(), "1e+21");
    }
}
