//! Scalar resolution exactly as go-yaml v3 does it (YAML 1.2 core schema plus go-yaml's
//! extras), used both to type plain scalars on input and to decide, on output, whether a
//! string may be written plain.

/// What a plain scalar resolves to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Resolved {
    /// `~`, `null`, `Null`, `NULL` or empty.
    Null,
    /// `true`/`false` in three spellings each.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer in `[2^63, 2^64)`: sops cannot walk it.
    Uint(u64),
    /// A float (including `.inf`/`.nan` and integers too large for 64 bits).
    Float(f64),
    /// A timestamp, as its canonical RFC 3339 (nanoseconds) text.
    Time(Timestamp),
    /// Anything else: the text itself.
    Str,
    /// The merge key `<<`.
    Merge,
}

/// A parsed timestamp, kept as its parts for the two renderings sops needs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Timestamp {
    /// RFC 3339 with trimmed nanoseconds: `2024-01-02T03:04:05.5+02:00`.
    pub rfc3339: String,
    /// Go's `time.Time.String()` form: `2024-01-02 03:04:05.5 +0200 +0200`.
    pub go_string: String,
}

/// Resolves a plain (untagged, unquoted) scalar.
pub(crate) fn resolve(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    match s.as_bytes()[0] {
        b'.' => match s.parse::<f64>() {
            // Rust accepts a few spellings Go's ParseFloat does not and vice versa; both
            // agree on the `.digits[e±digits]` forms that reach here.
            // Go's ParseFloat fails with ErrRange past f64 (Rust gives ±inf): go-yaml keeps
            // such a scalar as a string.
            Ok(f) if is_go_float_syntax(s) && f.is_finite() => Resolved::Float(f),
            _ => Resolved::Str,
        },
        b'0'..=b'9' | b'+' | b'-' => resolve_number(s),
        _ => Resolved::Str,
    }
}

fn resolve_number(s: &str) -> Resolved {
    if let Some(t) = parse_timestamp(s) {
        return Resolved::Time(t);
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    match go_parse_int(&plain) {
        IntParse::Int(i) => return Resolved::Int(i),
        IntParse::Uint(u) => return Resolved::Uint(u),
        IntParse::Invalid => {}
    }
    if is_yaml_float(&plain) {
        // Out of f64's range: a string, as go-yaml keeps it (`1e400`).
        if let Ok(f) =
            plain.parse::<f64>().map_err(drop).and_then(
                |f| {
                    if f.is_finite() {
                        Ok(f)
                    } else {
                        Err(())
                    }
                },
            )
        {
            return Resolved::Float(f);
        }
    }
    Resolved::Str
}

enum IntParse {
    Int(i64),
    Uint(u64),
    Invalid,
}

/// Go `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)` (underscores already removed).
fn go_parse_int(s: &str) -> IntParse {
    let (neg, signed, body) = match s.as_bytes().first() {
        Some(b'-') => (true, true, &s[1..]),
        Some(b'+') => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let lower = body.get(..2).map(|p| p.to_ascii_lowercase());
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0b") => (2, &body[2..]),
        Some("0o") => (8, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return IntParse::Invalid;
    }
    let Ok(mag) = u128::from_str_radix(digits, radix) else {
        return IntParse::Invalid;
    };
    if neg {
        if mag <= 1u128 << 63 {
            return IntParse::Int((mag as i128).wrapping_neg() as i64);
        }
        return IntParse::Invalid;
    }
    if mag <= i64::MAX as u128 {
        IntParse::Int(mag as i64)
    } else if !signed && mag <= u64::MAX as u128 {
        IntParse::Uint(mag as u64)
    } else {
        IntParse::Invalid
    }
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// The `.digits[e±digits]` syntax go's ParseFloat accepts for scalars starting with `.`.
fn is_go_float_syntax(s: &str) -> bool {
    is_yaml_float(s)
}

/// go-yaml's sexagesimal check (`1:20`, `-12:30:45.5`), quoted on output for YAML 1.1
/// readers.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let n = i - start;
        if n == 0 || (n == 2 && b[start] > b'5') {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// The YAML 1.1 booleans go-yaml quotes on output although it reads them as strings.
pub(crate) fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// Parses go-yaml's timestamp layouts: `2006-1-2T15:4:5.999999999Z07:00` (also with a
/// lowercase `t`), `2006-1-2 15:4:5.999999999` (UTC) and `2006-1-2` (UTC midnight).
pub(crate) fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let mut i = 5;
    let date = timestamp_date(s, &mut i)?;
    if i == b.len() {
        return Some(Timestamp {
            rfc3339: format!("{date}T00:00:00Z"),
            go_string: format!("{date} 00:00:00 +0000 UTC"),
        });
    }
    let zoned = match b[i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    i += 1;
    let time = timestamp_time(s, &mut i)?;
    let (rfc_zone, go_zone) = if zoned {
        timestamp_zone(b, i)?
    } else {
        if i != b.len() {
            return None;
        }
        ("Z".to_string(), "+0000 UTC".to_string())
    };
    Some(Timestamp {
        rfc3339: format!("{date}T{time}{rfc_zone}"),
        go_string: format!("{date} {time} {go_zone}"),
    })
}

/// The `2006-1-2` date that starts a timestamp, as `YYYY-MM-DD`; `*i` ends after it.
fn timestamp_date(s: &str, i: &mut usize) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year: u32 = s[..4].parse().ok()?;
    let month = num12(b, i)?;
    expect(b, i, b'-')?;
    let day = num12(b, i)?;
    if !(1..=12).contains(&month) || day < 1 || day > crate::time::days_in_month(year, month) {
        return None;
    }
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// The `15:4:5.999999999` time of day from `*i`, as `HH:MM:SS` and the fraction without
/// trailing zeros.
fn timestamp_time(s: &str, i: &mut usize) -> Option<String> {
    let b = s.as_bytes();
    let hour = num12(b, i)?;
    expect(b, i, b':')?;
    let min = num12(b, i)?;
    expect(b, i, b':')?;
    let sec = num12(b, i)?;
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut frac = String::new();
    if b.get(*i) == Some(&b'.') {
        *i += 1;
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start || *i - start > 9 {
            return None;
        }
        let digits = s[start..*i].trim_end_matches('0');
        if !digits.is_empty() {
            frac = format!(".{digits}");
        }
    }
    Some(format!("{hour:02}:{min:02}:{sec:02}{frac}"))
}

/// The zone at `b[i..]` (the rest of the input): `Z` or `±hh:mm`, as its RFC 3339 form
/// and Go's `time.String` form.
fn timestamp_zone(b: &[u8], i: usize) -> Option<(String, String)> {
    match b.get(i)? {
        b'Z' if i + 1 == b.len() => Some(("Z".to_string(), "+0000 UTC".to_string())),
        sign @ (b'+' | b'-') if b.len() == i + 6 && b[i + 3] == b':' => {
            let hh: u32 = two_digits(&b[i + 1..i + 3])?;
            let mm: u32 = two_digits(&b[i + 4..i + 6])?;
            if hh > 24 || mm > 59 {
                return None;
            }
            if hh == 0 && mm == 0 {
                return Some(("Z".to_string(), "+0000 +0000".to_string()));
            }
            let sign = *sign as char;
            let go = if mm == 0 {
                format!("{sign}{hh:02}")
            } else {
                format!("{sign}{hh:02}{mm:02}")
            };
            Some((
                format!("{sign}{hh:02}:{mm:02}"),
                format!("{sign}{hh:02}{mm:02} {go}"),
            ))
        }
        _ => None,
    }
}

fn two_digits(b: &[u8]) -> Option<u32> {
    if b.len() == 2 && b.iter().all(u8::is_ascii_digit) {
        Some(u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'))
    } else {
        None
    }
}

/// One or two digits (Go's `1`/`2`/`15`/`4`/`5` layout elements).
fn num12(b: &[u8], i: &mut usize) -> Option<u32> {
    let start = *i;
    while *i < b.len() && b[*i].is_ascii_digit() && *i - start < 2 {
        *i += 1;
    }
    if *i == start {
        return None;
    }
    b[start..*i]
        .iter()
        .try_fold(0u32, |acc, d| Some(acc * 10 + u32::from(d - b'0')))
}

fn expect(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    (b.get(*i) == Some(&c)).then(|| *i += 1)
}

/// `true` when a string written plain would be read back as something other than that
/// string (or is one of go-yaml's YAML 1.1 compatibility cases), so it must be quoted.
pub(crate) fn needs_quotes_to_stay_string(s: &str) -> bool {
    !matches!(resolve(s), Resolved::Str) || is_base60_float(s) || is_old_bool(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_follow_go_parse_int() {
        assert_eq!(resolve("0x1F"), Resolved::Int(31));
        assert_eq!(resolve("0X1f"), Resolved::Int(31));
        assert_eq!(resolve("017"), Resolved::Int(15));
        assert_eq!(resolve("0o17"), Resolved::Int(15));
        assert_eq!(resolve("0b101"), Resolved::Int(5));
        assert_eq!(resolve("+5"), Resolved::Int(5));
        assert_eq!(resolve("-9223372036854775808"), Resolved::Int(i64::MIN));
        assert_eq!(resolve("9223372036854775808"), Resolved::Uint(1 << 63));
        assert_eq!(resolve("08"), Resolved::Float(8.0));
        assert_eq!(resolve("1_000"), Resolved::Int(1000));
        assert!(matches!(
            resolve("123456789012345678901234567890"),
            Resolved::Float(_)
        ));
    }

    #[test]
    fn floats_and_strings() {
        assert_eq!(resolve("1."), Resolved::Float(1.0));
        assert_eq!(resolve(".5"), Resolved::Float(0.5));
        assert_eq!(resolve("1e3"), Resolved::Float(1000.0));
        // Beyond f64, ParseFloat fails and go-yaml keeps the text; underflow is 0.
        for big in ["1e400", "-1e400", ".5e400", "+1E999"] {
            assert_eq!(resolve(big), Resolved::Str, "{big}");
        }
        assert_eq!(resolve("1e-400"), Resolved::Float(0.0));
        assert_eq!(resolve("1e"), Resolved::Str);
        assert_eq!(resolve("1.2.3"), Resolved::Str);
        assert_eq!(resolve("NaN"), Resolved::Str);
        assert_eq!(resolve("yes"), Resolved::Str);
    }

    #[test]
    fn timestamps() {
        let t = |s: &str| parse_timestamp(s).map(|t| t.rfc3339);
        assert_eq!(t("2024-01-02").as_deref(), Some("2024-01-02T00:00:00Z"));
        assert_eq!(
            t("2024-1-2 3:04:05").as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(
            t("2024-01-02T03:04:05.120Z").as_deref(),
            Some("2024-01-02T03:04:05.12Z")
        );
        assert_eq!(
            t("2024-01-02T03:04:05+02:00").as_deref(),
            Some("2024-01-02T03:04:05+02:00")
        );
        assert_eq!(t("2024-01-02t03:04:05z"), None);
        assert_eq!(t("2024-02-30"), None);
    }

    #[test]
    fn quoting_decisions() {
        for s in [
            "y",
            "No",
            "1:20",
            "12:30",
            "0b101",
            "+.inf",
            "",
            "~",
            "2024-01-02 03:04:05",
        ] {
            assert!(needs_quotes_to_stay_string(s), "{s}");
        }
        for s in ["nUll", "tRue", "1e", "1.2.3", "10.0.0.1", "NaN", "="] {
            assert!(!needs_quotes_to_stay_string(s), "{s}");
        }
    }
}
