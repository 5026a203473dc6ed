//! Validation of RFC 3339 timestamps in metadata (one parser: [`crate::time::Timestamp`]),
//! with Go's error wording (sops prints these verbatim for a bad `lastmodified` or
//! `created_at`).

/// Checks that `s` is an RFC 3339 timestamp (`2024-01-02T03:04:05Z`, optional fraction,
/// `Z` or `±hh:mm` offset). The error text is Go's.
pub(crate) fn validate(s: &str) -> Result<(), String> {
    crate::time::Timestamp::parse_detailed(s)
        .map(|_| ())
        .map_err(|f| f.go_message(s))
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
