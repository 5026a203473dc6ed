//! Validation of RFC 3339 timestamps the way Go's `time.Parse(time.RFC3339, s)` does it,
//! with Go's error wording (sops prints these verbatim for a bad `lastmodified` or
//! `created_at`).

/// Go's RFC 3339 layout string, quoted in every error message.
const LAYOUT: &str = "2006-01-02T15:04:05Z07:00";

/// Checks that `s` is an RFC 3339 timestamp (`2024-01-02T03:04:05Z`, optional fraction,
/// `Z` or `±hh:mm` offset). The error text is Go's.
pub(crate) fn validate(s: &str) -> Result<(), String> {
    let fail = |rest: &str, elem: &str| {
        format!("parsing time {s:?} as {LAYOUT:?}: cannot parse {rest:?} as {elem:?}")
    };
    let range = |what: &str| format!("parsing time {s:?}: {what} out of range");
    let mut rest = s;

    let year = digits(&mut rest, 4).ok_or_else(|| fail(rest, "2006"))?;
    literal(&mut rest, "-").ok_or_else(|| fail(rest, "-"))?;
    let month = digits(&mut rest, 2).ok_or_else(|| fail(rest, "01"))?;
    literal(&mut rest, "-").ok_or_else(|| fail(rest, "-"))?;
    let day = digits(&mut rest, 2).ok_or_else(|| fail(rest, "02"))?;
    literal(&mut rest, "T").ok_or_else(|| fail(rest, "T"))?;
    let hour = digits(&mut rest, 2).ok_or_else(|| fail(rest, "15"))?;
    literal(&mut rest, ":").ok_or_else(|| fail(rest, ":"))?;
    let minute = digits(&mut rest, 2).ok_or_else(|| fail(rest, "04"))?;
    literal(&mut rest, ":").ok_or_else(|| fail(rest, ":"))?;
    let second = digits(&mut rest, 2).ok_or_else(|| fail(rest, "05"))?;
    // Go accepts a fractional second after the seconds even when the layout has none.
    if let Some(frac) = rest.strip_prefix(['.', ',']) {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 {
            rest = &frac[n..];
        }
    }
    if literal(&mut rest, "Z").is_none() {
        let zone_start = rest;
        let sign_ok = literal(&mut rest, "+")
            .or_else(|| literal(&mut rest, "-"))
            .is_some();
        let zone = sign_ok
            .then(|| {
                let h = digits(&mut rest, 2)?;
                literal(&mut rest, ":")?;
                let m = digits(&mut rest, 2)?;
                Some((h, m))
            })
            .flatten();
        match zone {
            Some((h, m)) if h < 24 && m < 60 => {}
            Some(_) => return Err(range("time zone offset")),
            None => return Err(fail(zone_start, "Z07:00")),
        }
    }
    if !rest.is_empty() {
        return Err(format!("parsing time {s:?}: extra text: {rest:?}"));
    }
    if !(1..=12).contains(&month) {
        return Err(range("month"));
    }
    if day < 1 || day > crate::time::days_in_month(year, month) {
        return Err(range("day"));
    }
    if hour > 23 {
        return Err(range("hour"));
    }
    if minute > 59 {
        return Err(range("minute"));
    }
    if second > 59 {
        return Err(range("second"));
    }
    Ok(())
}

/// Consumes exactly `n` ASCII digits.
fn digits(rest: &mut &str, n: usize) -> Option<u32> {
    let head = rest.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    *rest = &rest[n..];
    head.parse().ok()
}

/// Consumes `lit`.
fn literal(rest: &mut &str, lit: &str) -> Option<()> {
    *rest = rest.strip_prefix(lit)?;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_what_go_accepts() {
        for ok in [
            "2026-11-29T01:30:03Z",
            "2024-02-29T00:00:00Z",
            "2024-01-02T03:04:05.123456789Z",
            "2024-01-02T03:04:05+02:00",
            "2024-01-02T03:04:05.5-07:30",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_with_go_wording() {
        assert_eq!(
            validate("").unwrap_err(),
            r#"parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006""#
        );
        assert_eq!(
            validate("2024-01-01T00:00:00").unwrap_err(),
            r#"parsing time "2024-01-01T00:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00""#
        );
        assert_eq!(
            validate("bad").unwrap_err(),
            r#"parsing time "bad" as "2006-01-02T15:04:05Z07:00": cannot parse "bad" as "2006""#
        );
        assert!(validate("2023-02-29T00:00:00Z")
            .unwrap_err()
            .ends_with("day out of range"));
        assert!(validate("2024-01-01T00:00:00Zx")
            .unwrap_err()
            .contains("extra text"));
        assert!(validate("2024-13-01T00:00:00Z").is_err());
        assert!(validate("2024-01-01t00:00:00z").is_err());
    }
}
