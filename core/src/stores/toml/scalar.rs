//! TOML text of keys and scalars: string styles, numbers, datetimes.

use crate::time::Timestamp;
use crate::tree::Value;

/// How a string was quoted in the source, kept for the value written in its place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    /// `"…"`.
    Basic,
    /// `'…'`.
    Literal,
    /// `"""…"""`; `true` when a line break follows the opening quotes.
    MultiBasic(bool),
    /// `'''…'''`; `true` when a line break follows the opening quotes.
    MultiLiteral(bool),
}

impl Style {
    /// The style of a string's source text; `None` when `raw` is not a string.
    pub(super) fn of(raw: &str) -> Option<Style> {
        let newline = |rest: &str| rest.starts_with('\n') || rest.starts_with("\r\n");
        if let Some(rest) = raw.strip_prefix("\"\"\"") {
            Some(Style::MultiBasic(newline(rest)))
        } else if let Some(rest) = raw.strip_prefix("'''") {
            Some(Style::MultiLiteral(newline(rest)))
        } else if raw.starts_with('"') {
            Some(Style::Basic)
        } else if raw.starts_with('\'') {
            Some(Style::Literal)
        } else {
            None
        }
    }
}

/// `s` in `style` when that style can hold it, else as a basic string.
pub(super) fn string(s: &str, style: Style) -> String {
    let styled = match style {
        Style::Basic => None,
        Style::Literal => literal(s),
        Style::MultiBasic(nl) => Some(multi_basic(s, nl)),
        Style::MultiLiteral(nl) => multi_literal(s, nl),
    };
    styled.unwrap_or_else(|| basic(s))
}

/// A string written fresh: basic, or multi-line basic when it holds line breaks.
pub(super) fn fresh_string(s: &str) -> String {
    if s.contains('\n') {
        multi_basic(s, true)
    } else {
        basic(s)
    }
}

/// A basic string: `"`, `\` and control characters escaped (short escapes where TOML has one).
pub(super) fn basic(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_into(c, &mut out, false);
    }
    out.push('"');
    out
}

fn escape_into(c: char, out: &mut String, multi: bool) {
    match c {
        '"' if !multi => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' if multi => out.push('\n'),
        '\t' if multi => out.push('\t'),
        '\u{8}' => out.push_str("\\b"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\u{c}' => out.push_str("\\f"),
        '\r' => out.push_str("\\r"),
        c if c < ' ' || c == '\u{7f}' => out.push_str(&format!("\\u{:04X}", c as u32)),
        c => out.push(c),
    }
}

/// A literal string, when `s` has no `'` and no control character but TAB.
fn literal(s: &str) -> Option<String> {
    let ok = !s.contains('\'') && !s.chars().any(|c| is_control(c) && c != '\t');
    ok.then(|| format!("'{s}'"))
}

/// The line break after the opening quotes: kept when the source had one, and needed when
/// `s` itself starts with one (the parser drops the first).
fn opening_break(s: &str, nl: bool) -> &'static str {
    if nl || s.starts_with('\n') || s.starts_with("\r\n") {
        "\n"
    } else {
        ""
    }
}

/// A multi-line basic string; a `"` that would make a third in a row is escaped.
fn multi_basic(s: &str, nl: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str("\"\"\"");
    out.push_str(opening_break(s, nl));
    let mut quotes = 0;
    for c in s.chars() {
        if c == '"' {
            if quotes == 2 {
                out.push_str("\\\"");
                quotes = 0;
            } else {
                out.push('"');
                quotes += 1;
            }
            continue;
        }
        quotes = 0;
        escape_into(c, &mut out, true);
    }
    out.push_str("\"\"\"");
    out
}

/// A multi-line literal string, when `s` has no `'''`, does not end in `'` (which would
/// run into the closing quotes) and has no control character but TAB and LF.
fn multi_literal(s: &str, nl: bool) -> Option<String> {
    let ok = !s.contains("'''")
        && !s.ends_with('\'')
        && !s.chars().any(|c| is_control(c) && c != '\t' && c != '\n');
    ok.then(|| format!("'''{}{s}'''", opening_break(s, nl)))
}

fn is_control(c: char) -> bool {
    c < ' ' || c == '\u{7f}'
}

/// A key: bare when it is made of `A-Za-z0-9_-`, else a basic string.
pub(super) fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        k.to_string()
    } else {
        basic(k)
    }
}

/// A float as TOML writes it: always with a `.` or an exponent; `inf`, `-inf`, `nan`.
pub(super) fn float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        let text = format!("{f:?}");
        if text.contains(['.', 'e', 'E']) {
            text
        } else {
            format!("{text}.0")
        }
    }
}

/// A scalar's TOML text, fresh (no source to imitate); `None` for maps, lists, null,
/// comments and non-UTF-8 strings.
pub(super) fn scalar(value: &Value) -> Option<String> {
    Some(match value {
        Value::Str(s) => fresh_string(s),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float(*f),
        Value::Bool(b) => b.to_string(),
        Value::Time(t) => t.clone(),
        _ => return None,
    })
}

/// The tree's text of a TOML datetime: an offset date-time as the canonical RFC 3339 text
/// sops uses for `type:time`; a local date-time, date or time as `YYYY-MM-DDTHH:MM:SS[.frac]`,
/// `YYYY-MM-DD`, `HH:MM:SS[.frac]` (seconds always written, fraction trimmed).
pub(super) fn datetime(dt: &toml_edit::Datetime) -> String {
    let mut out = String::new();
    if let Some(d) = dt.date {
        out.push_str(&format!("{:04}-{:02}-{:02}", d.year, d.month, d.day));
    }
    if let Some(t) = dt.time {
        if dt.date.is_some() {
            out.push('T');
        }
        out.push_str(&format!(
            "{:02}:{:02}:{:02}",
            t.hour,
            t.minute,
            t.second.unwrap_or(0)
        ));
        if let Some(n) = t.nanosecond.filter(|&n| n != 0) {
            let frac = format!("{n:09}");
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
    }
    if let Some(offset) = dt.offset {
        out.push_str(&offset.to_string());
        if let Ok(ts) = Timestamp::parse(&out) {
            return ts.format_nanos();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reparse(text: &str) -> String {
        let doc: toml_edit::DocumentMut = format!("v = {text}\n").parse().unwrap();
        doc["v"].as_str().unwrap().to_string()
    }

    #[test]
    fn every_style_reads_back() {
        let samples = [
            "",
            "a",
            "it's",
            "\"q\"",
            "a\"\"\"b",
            "tail\"",
            "tail\"\"",
            "\n",
            "\nx",
            "a\nb\n",
            "tab\there",
            "\r\n",
            "bell\u{7}",
            "'''",
            "end'",
            "back\\slash",
            "é ✓",
        ];
        let styles = [
            Style::Basic,
            Style::Literal,
            Style::MultiBasic(false),
            Style::MultiBasic(true),
            Style::MultiLiteral(false),
            Style::MultiLiteral(true),
        ];
        for s in samples {
            for style in styles {
                let text = string(s, style);
                assert_eq!(reparse(&text), s, "{style:?} wrote {text:?}");
            }
            assert_eq!(reparse(&fresh_string(s)), s);
        }
    }

    #[test]
    fn floats_stay_floats() {
        assert_eq!(float(1000.0), "1000.0");
        assert_eq!(float(0.1), "0.1");
        assert_eq!(float(1e300), "1e300");
        assert_eq!(float(-0.0), "-0.0");
        assert_eq!(float(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn keys_quote_when_not_bare() {
        assert_eq!(key("a-b_1"), "a-b_1");
        assert_eq!(key("a.b"), "\"a.b\"");
        assert_eq!(key(""), "\"\"");
    }
}
