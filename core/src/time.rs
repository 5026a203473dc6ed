//! RFC 3339 timestamps as Go's `time` package parses and formats them.
//!
//! The core has no clock: callers pass `now` in. This module only converts text, for the
//! MAC's additional data (`lastmodified` re-formatted with seconds precision) and for
//! `type:time` values (RFC 3339 with nanoseconds, trailing zeros trimmed).

use std::fmt::Write as _;

/// A parsed RFC 3339 timestamp, kept in its own offset (not converted to UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Offset from UTC in minutes (`+02:00` → 120).
    offset_minutes: i32,
}

/// Why a timestamp did not parse (the text itself is left out: it may be a secret value).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("parsing time as \"2006-01-02T15:04:05Z07:00\": {0}")]
pub struct TimeError(&'static str);

/// Where and why Go's RFC 3339 parser stops, before any wording is chosen: values get
/// [`TimeError`] (no text, it may be secret), metadata gets Go's own message
/// ([`ParseFailure::go_message`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseFailure {
    /// The text at byte `at` is not the layout element `elem` (`2006`, `-`, `Z07:00`, …).
    CannotParse {
        /// Byte offset of the unparsed rest.
        at: usize,
        /// Go's layout element that was expected.
        elem: &'static str,
    },
    /// A field is out of range (`month`, `day`, `hour`, …, `time zone offset`).
    OutOfRange(&'static str),
    /// Text follows the timestamp, from byte `at`.
    ExtraText {
        /// Byte offset of the extra text.
        at: usize,
    },
}

impl ParseFailure {
    /// Go's `time.Parse(time.RFC3339, s)` error text for `s` (sops prints it verbatim for a
    /// bad `lastmodified` or `created_at`).
    pub fn go_message(&self, s: &str) -> String {
        const LAYOUT: &str = "2006-01-02T15:04:05Z07:00";
        match *self {
            Self::CannotParse { at, elem } => format!(
                "parsing time {s:?} as {LAYOUT:?}: cannot parse {:?} as {elem:?}",
                &s[at..]
            ),
            Self::OutOfRange(what) => format!("parsing time {s:?}: {what} out of range"),
            Self::ExtraText { at } => format!("parsing time {s:?}: extra text: {:?}", &s[at..]),
        }
    }
}

impl From<ParseFailure> for TimeError {
    fn from(f: ParseFailure) -> Self {
        TimeError(match f {
            ParseFailure::CannotParse { elem: "Z07:00", .. } => "missing zone offset",
            ParseFailure::CannotParse { .. } => "not in the form 2006-01-02T15:04:05Z07:00",
            ParseFailure::OutOfRange(_) => "field out of range",
            ParseFailure::ExtraText { .. } => "extra text after the timestamp",
        })
    }
}

impl Timestamp {
    /// Parses `s` the way Go's `time.Parse(time.RFC3339, s)` does: `YYYY-MM-DDTHH:MM:SS`,
    /// an optional fraction (`.` or `,`, at most 9 digits kept), then `Z` or `±hh:mm`.
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        Self::parse_detailed(s).map_err(TimeError::from)
    }

    /// [`Timestamp::parse`] with the exact place and reason of a failure.
    pub fn parse_detailed(s: &str) -> Result<Self, ParseFailure> {
        let bytes = s.as_bytes();
        let mut rest = bytes;
        let at = |rest: &[u8]| bytes.len() - rest.len();
        macro_rules! field {
            ($n:expr, $elem:expr) => {
                digits(&mut rest, $n).ok_or(ParseFailure::CannotParse {
                    at: at(rest),
                    elem: $elem,
                })?
            };
        }
        macro_rules! literal {
            ($b:expr, $elem:expr) => {
                lit(&mut rest, $b).ok_or(ParseFailure::CannotParse {
                    at: at(rest),
                    elem: $elem,
                })?
            };
        }
        let year = field!(4, "2006");
        literal!(b'-', "-");
        let month = field!(2, "01");
        literal!(b'-', "-");
        let day = field!(2, "02");
        literal!(b'T', "T");
        let hour = field!(2, "15");
        literal!(b':', ":");
        let minute = field!(2, "04");
        literal!(b':', ":");
        let second = field!(2, "05");
        let nanos = fraction(&mut rest);
        let zone_at = at(rest);
        let offset_minutes = zone(&mut rest, zone_at)?;
        if !rest.is_empty() {
            return Err(ParseFailure::ExtraText { at: at(rest) });
        }
        Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            offset_minutes,
        }
        .in_range()
    }

    /// `self` if every field is within its calendar range, else the first one out of it.
    fn in_range(self) -> Result<Self, ParseFailure> {
        let range = ParseFailure::OutOfRange;
        if !(1..=12).contains(&self.month) {
            return Err(range("month"));
        }
        if self.day < 1 || self.day > days_in_month(self.year, self.month) {
            return Err(range("day"));
        }
        for (value, max, what) in [
            (self.hour, 23, "hour"),
            (self.minute, 59, "minute"),
            (self.second, 59, "second"),
        ] {
            if value > max {
                return Err(range(what));
            }
        }
        Ok(self)
    }

    /// Go's `time.RFC3339` form: seconds precision, offset kept, `Z` for UTC.
    pub fn format_seconds(&self) -> String {
        let mut out = String::with_capacity(25);
        self.write_date_time(&mut out);
        self.write_offset(&mut out);
        out
    }

    /// Go's `time.RFC3339Nano` form: fractional seconds with trailing zeros trimmed.
    pub fn format_nanos(&self) -> String {
        let mut out = String::with_capacity(35);
        self.write_date_time(&mut out);
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        self.write_offset(&mut out);
        out
    }

    fn write_date_time(&self, out: &mut String) {
        // Writing into a String cannot fail.
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
    }

    fn write_offset(&self, out: &mut String) {
        if self.offset_minutes == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset_minutes < 0 { '-' } else { '+' };
            let abs = self.offset_minutes.unsigned_abs();
            let _ = write!(out, "{sign}{:02}:{:02}", abs / 60, abs % 60);
        }
    }
}

/// The MAC's additional data for a stored `lastmodified`: parsed, then formatted again
/// with seconds precision (`…00.123Z` → `…00Z`).
pub fn mac_aad(last_modified: &str) -> Result<String, TimeError> {
    Timestamp::parse(last_modified).map(|t| t.format_seconds())
}

/// An optional fraction of a second (`.` or `,` then digits) as nanoseconds; Go keeps
/// nine digits and ignores the rest. A separator without digits is left in `rest`.
fn fraction(rest: &mut &[u8]) -> u32 {
    let mut nanos = 0;
    if let [b'.' | b',', tail @ ..] = *rest {
        let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            let mut scale = 100_000_000;
            for &d in tail.iter().take(n.min(9)) {
                nanos += u32::from(d - b'0') * scale;
                scale /= 10;
            }
            *rest = &tail[n..];
        }
    }
    nanos
}

/// The zone, `Z` or `±hh:mm`, as minutes east of UTC; `zone_at` is its offset in the input.
fn zone(rest: &mut &[u8], zone_at: usize) -> Result<i32, ParseFailure> {
    let bad_zone = ParseFailure::CannotParse {
        at: zone_at,
        elem: "Z07:00",
    };
    match *rest {
        [b'Z', tail @ ..] => {
            *rest = tail;
            Ok(0)
        }
        [sign @ (b'+' | b'-'), tail @ ..] => {
            *rest = tail;
            let h = digits(rest, 2).ok_or(bad_zone)?;
            lit(rest, b':').ok_or(bad_zone)?;
            let m = digits(rest, 2).ok_or(bad_zone)?;
            if h >= 24 || m >= 60 {
                return Err(ParseFailure::OutOfRange("time zone offset"));
            }
            let minutes = (h * 60 + m) as i32;
            Ok(if *sign == b'-' { -minutes } else { minutes })
        }
        _ => Err(bad_zone),
    }
}

fn digits(rest: &mut &[u8], n: usize) -> Option<u32> {
    let head = rest.get(..n)?;
    if !head.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *rest = &rest[n..];
    Some(head.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn lit(rest: &mut &[u8], byte: u8) -> Option<()> {
    let (first, tail) = rest.split_first()?;
    (*first == byte).then(|| *rest = tail)
}

/// Days since 1970-01-01 of the proleptic Gregorian date `year`-`month`-`day` (Howard
/// Hinnant's `days_from_civil`; negative before 1970). The one calendar of the workspace:
/// the CLI's clock and the key sources' date parsers call it.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) `days` after 1970-01-01 (Howard
/// Hinnant's `civil_from_days`; the inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days in `month` of `year` (proleptic Gregorian).
pub(crate) fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reformats_like_go() {
        let cases = [
            (
                "2026-11-29T01:26:53Z",
                "2026-11-29T01:26:53Z",
                "2026-11-29T01:26:53Z",
            ),
            (
                "2025-01-01T00:00:00.123Z",
                "2025-01-01T00:00:00Z",
                "2025-01-01T00:00:00.123Z",
            ),
            (
                "2024-01-02T03:04:05.500000000+02:00",
                "2024-01-02T03:04:05+02:00",
                "2024-01-02T03:04:05.5+02:00",
            ),
            (
                "2024-01-02T03:04:05+00:00",
                "2024-01-02T03:04:05Z",
                "2024-01-02T03:04:05Z",
            ),
            (
                "2024-01-02T03:04:05.1234567891-07:30",
                "2024-01-02T03:04:05-07:30",
                "2024-01-02T03:04:05.123456789-07:30",
            ),
        ];
        for (input, secs, nanos) in cases {
            let t = Timestamp::parse(input).unwrap();
            assert_eq!(t.format_seconds(), secs, "{input}");
            assert_eq!(t.format_nanos(), nanos, "{input}");
        }
    }

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        for days in (-719_468..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y as u32, m));
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2024-01-02",
            "2024-01-02T03:04:05",
            "2024-01-02T03:04:05Zx",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01t00:00:00z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }
}
