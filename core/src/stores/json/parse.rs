//! A JSON reader with Go `encoding/json` semantics as sops uses it: the top level must be
//! an object, key order and duplicate keys are kept, every number is an `f64`, invalid
//! UTF-8 becomes U+FFFD, and anything after the first object is ignored. Error texts are
//! Go's.

use crate::error::{Error, Result};
use crate::numfmt::go_float_yaml;
use crate::tree::{Map, Value, MAX_DEPTH};

/// Parses one JSON value (any kind) that makes up the whole of `input`, as `set` takes it.
pub(crate) fn parse_single_value(input: &[u8]) -> Result<Value> {
    let mut p = Parser {
        s: input,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    let value = p.value()?;
    p.skip_ws();
    if p.pos != input.len() {
        return Err(p.error_at(p.pos, "invalid character after top-level value".into()));
    }
    Ok(value)
}

/// Parses the first JSON object of `input`.
pub(crate) fn parse_object(input: &[u8]) -> Result<Map> {
    let mut p = Parser {
        s: input,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    match p.peek() {
        Some(b'{') => {
            p.pos += 1;
            p.object()
        }
        None => Err(p.error_at(p.pos, "EOF".into())),
        Some(_) => {
            let start = p.pos;
            let found = match p.value()? {
                Value::List(_) => "delimiter [".to_string(),
                Value::Str(s) => format!("{s:?} of type string"),
                Value::Float(f) => format!("{} of type float64", go_float_yaml(f)),
                Value::Bool(b) => format!("{b} of type bool"),
                _ => "<nil> of type <nil>".to_string(),
            };
            Err(p.error_at(
                start,
                format!("Expected JSON object start, got {found} instead"),
            ))
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn error_at(&self, pos: usize, message: String) -> Error {
        let end = pos.min(self.s.len());
        let line = 1 + self.s[..end].iter().filter(|&&b| b == b'\n').count();
        Error::Parse {
            format: "json",
            line: Some(line),
            message,
        }
    }

    /// Go's `invalid character 'x' <context>`, or `unexpected EOF` at the end of input.
    fn unexpected(&self, context: &str) -> Error {
        match self.s.get(self.pos) {
            None => self.error_at(self.pos, "unexpected EOF".into()),
            Some(_) => {
                let c = quote_char(&self.s[self.pos..]);
                self.error_at(self.pos, format!("invalid character {c} {context}"))
            }
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.pos, format!("exceeded max depth of {MAX_DEPTH}")));
        }
        Ok(())
    }

    /// The members of an object whose `{` was consumed.
    fn object(&mut self) -> Result<Map> {
        self.enter()?;
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(map);
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("looking for beginning of object key string"));
            }
            self.pos += 1;
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.unexpected("after object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            map.push(key, value);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(map);
                }
                _ => return Err(self.unexpected("after object key:value pair")),
            }
        }
    }

    /// The elements of an array whose `[` was consumed.
    fn array(&mut self) -> Result<Vec<Value>> {
        self.enter()?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(items);
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(items);
                }
                _ => return Err(self.unexpected("after array element")),
            }
        }
    }

    /// One value starting at the current (non-whitespace) position.
    fn value(&mut self) -> Result<Value> {
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                Ok(Value::Map(self.object()?))
            }
            Some(b'[') => {
                self.pos += 1;
                Ok(Value::List(self.array()?))
            }
            Some(b'"') => {
                self.pos += 1;
                Ok(Value::Str(self.string()?))
            }
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value> {
        for expected in word.bytes().skip(1) {
            self.pos += 1;
            if self.peek() != Some(expected) {
                let context = format!("in literal {word} (expecting {})", quote_char(&[expected]));
                return Err(self.unexpected(&context));
            }
        }
        self.pos += 1;
        Ok(value)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected("in numeric literal")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.unexpected("after decimal point in numeric literal"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.unexpected("in exponent of numeric literal"));
            }
        }
        // The slice is ASCII by construction.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default();
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Value::Float(v)),
            _ => Err(self.error_at(
                start,
                format!("json: cannot unmarshal number {text} into Go value of type float64"),
            )),
        }
    }

    /// The rest of a string whose opening quote was consumed.
    fn string(&mut self) -> Result<String> {
        let start = self.pos;
        // Fast path: no escapes.
        while let Some(&b) = self.s.get(self.pos) {
            match b {
                b'"' => {
                    let raw = &self.s[start..self.pos];
                    self.pos += 1;
                    return Ok(go_lossy_utf8(raw));
                }
                b'\\' => break,
                0..=0x1f => return Err(self.unexpected("in string literal")),
                _ => self.pos += 1,
            }
        }
        let mut buf: Vec<u8> = self.s[start..self.pos].to_vec();
        loop {
            let Some(&b) = self.s.get(self.pos) else {
                return Err(self.unexpected("in string literal"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(go_lossy_utf8(&buf));
                }
                b'\\' => {
                    self.pos += 1;
                    self.escape(&mut buf)?;
                }
                0..=0x1f => return Err(self.unexpected("in string literal")),
                _ => {
                    buf.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    /// One escape sequence after its backslash, appended to `buf` as UTF-8.
    fn escape(&mut self, buf: &mut Vec<u8>) -> Result<()> {
        let simple = match self.peek() {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                self.pos += 1;
                let first = self.hex4()?;
                let c = if (0xD800..0xDC00).contains(&first)
                    && self.s.get(self.pos..self.pos + 2) == Some(b"\\u")
                {
                    let save = self.pos;
                    self.pos += 2;
                    let second = self.hex4()?;
                    if (0xDC00..0xE000).contains(&second) {
                        char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                    } else {
                        // Not a low surrogate: the first is lone, the second is read anew.
                        self.pos = save;
                        None
                    }
                } else {
                    char::from_u32(first)
                };
                let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                buf.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            _ => return Err(self.unexpected("in string escape code")),
        };
        buf.push(simple);
        self.pos += 1;
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.unexpected("in \\u hexadecimal character escape")),
            };
            v = v * 16 + u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }
}

/// Decodes UTF-8 the way Go does: every byte that is not part of a valid sequence becomes
/// one U+FFFD.
pub(crate) fn go_lossy_utf8(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            let mut rest = bytes;
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let (valid, after) = rest.split_at(e.valid_up_to());
                        // `valid` is valid UTF-8 by the error's contract.
                        out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                        out.push(char::REPLACEMENT_CHARACTER);
                        rest = &after[1..];
                    }
                }
            }
            out
        }
    }
}

/// Go's `quoteChar`: the offending character in single quotes, escaped as Go would.
fn quote_char(rest: &[u8]) -> String {
    let c = match rest.first() {
        Some(&b) if b < 0x80 => b as char,
        _ => go_lossy_utf8(&rest[..rest.len().min(4)])
            .chars()
            .next()
            .unwrap_or('\u{fffd}'),
    };
    match c {
        '\'' => r"'\''".to_string(),
        '"' => "'\"'".to_string(),
        '\n' => r"'\n'".to_string(),
        '\r' => r"'\r'".to_string(),
        '\t' => r"'\t'".to_string(),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str) -> String {
        match parse_object(input.as_bytes()) {
            Err(Error::Parse { message, .. }) => message,
            other => panic!("expected a parse error for {input:?}, got {other:?}"),
        }
    }

    #[test]
    fn error_texts_are_gos() {
        assert_eq!(
            err("[1]"),
            "Expected JSON object start, got delimiter [ instead"
        );
        assert_eq!(
            err("\"abc\""),
            "Expected JSON object start, got \"abc\" of type string instead"
        );
        assert_eq!(
            err("5"),
            "Expected JSON object start, got 5 of type float64 instead"
        );
        assert_eq!(
            err("true"),
            "Expected JSON object start, got true of type bool instead"
        );
        assert_eq!(
            err("null"),
            "Expected JSON object start, got <nil> of type <nil> instead"
        );
        assert_eq!(err("  "), "EOF");
        assert_eq!(
            err("x"),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            err("{\"a\":01}"),
            "invalid character '1' after object key:value pair"
        );
        assert_eq!(
            err("{\"a\":1,}"),
            "invalid character '}' looking for beginning of object key string"
        );
        assert_eq!(err("{\"a\" 1}"), "invalid character '1' after object key");
        assert_eq!(
            err("{\"a\":[1 2]}"),
            "invalid character '2' after array element"
        );
        assert_eq!(
            err("{\"a\":\"x\ny\"}"),
            "invalid character '\\n' in string literal"
        );
        assert_eq!(err("{\"a\":-}"), "invalid character '}' in numeric literal");
        assert_eq!(
            err("{\"a\":1.}"),
            "invalid character '}' after decimal point in numeric literal"
        );
        assert_eq!(
            err("{\"a\":\"\\x\"}"),
            "invalid character 'x' in string escape code"
        );
        assert_eq!(
            err("{\"a\":\"\\u12\"}"),
            "invalid character '\"' in \\u hexadecimal character escape"
        );
        assert_eq!(
            err("{\"a\":tru}"),
            "invalid character '}' in literal true (expecting 'e')"
        );
        assert_eq!(
            err("{\"a\":1e400}"),
            "json: cannot unmarshal number 1e400 into Go value of type float64"
        );
        assert_eq!(err("{\"a\":1"), "unexpected EOF");
    }

    #[test]
    fn errors_carry_the_line() {
        match parse_object(b"{\n\"a\": 1,\n\"b\": x\n}") {
            Err(Error::Parse { line, .. }) => assert_eq!(line, Some(3)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strings_decode_escapes_surrogates_and_bad_utf8() {
        let map =
            parse_object(b"{\"a\":\"\\u00e9\\ud83d\\ude00\\ud800x\\/\\b\",\"b\":\"\xff\xe6\x97\"}")
                .unwrap();
        assert_eq!(map.get("a"), Some(&Value::Str("é😀\u{fffd}x/\u{8}".into())));
        assert_eq!(
            map.get("b"),
            Some(&Value::Str("\u{fffd}\u{fffd}\u{fffd}".into()))
        );
    }

    #[test]
    fn keeps_duplicates_and_ignores_trailing_data() {
        let map = parse_object(b"{\"a\":1,\"a\":2} {\"b\":3}").unwrap();
        let pairs: Vec<_> = map.pairs().collect();
        assert_eq!(
            pairs,
            vec![("a", &Value::Float(1.0)), ("a", &Value::Float(2.0))]
        );
    }

    #[test]
    fn deepest_allowed_document_parses_and_emits() {
        use crate::stores::Store;
        let n = MAX_DEPTH - 1;
        let doc = format!("{{\"a\":{}{}}}", "[".repeat(n), "]".repeat(n));
        let store = crate::stores::json::JsonStore::new(Some(0));
        let parsed = store.parse(doc.as_bytes()).unwrap();
        let out = store.emit(&parsed.tree, None).unwrap();
        assert_eq!(out.iter().filter(|&&b| b == b'[').count(), n);
    }

    #[test]
    fn depth_is_limited() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(err(&deep), "exceeded max depth of 256");
    }
}
