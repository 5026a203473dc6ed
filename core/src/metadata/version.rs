//! The metadata `version` check sops 3.11 runs before it decrypts or rewrites a file
//! (`decrypt`, `edit`, `rotate`, `set`, `unset`): the stored version must be a semantic
//! version `X.Y.Z[-pre][+build]` (a leading `v` is tolerated, and any `1.…` passes, as
//! sops 1 did not use semver). Error texts are those of the semver parser sops uses, so
//! the first line of the error equals sops's.

use crate::error::{Error, Result};

const DIGITS: &str = "0123456789";
const ALPHANUM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789";

/// Accepts `version` as sops 3.11 does; otherwise [`Error::Metadata`] (exit 1) with the
/// semver parser's message, e.g. `No Major.Minor.Patch elements found` for `3.11`.
pub fn check_version(version: &str) -> Result<()> {
    if version.starts_with("1.") {
        return Ok(());
    }
    semver(version.strip_prefix('v').unwrap_or(version)).map_err(Error::Metadata)
}

fn only(s: &str, set: &str) -> bool {
    s.chars().all(|c| set.contains(c))
}

fn leading_zero(s: &str) -> bool {
    s.len() > 1 && s.starts_with('0')
}

/// A number field: digits only, no leading zero, fits in 64 bits.
fn number(s: &str, what: &str) -> Result<(), String> {
    if !only(s, DIGITS) {
        return Err(format!("Invalid character(s) found in {what} number {s:?}"));
    }
    if leading_zero(s) {
        let what = capitalized(what);
        return Err(format!(
            "{what} number must not contain leading zeroes {s:?}"
        ));
    }
    s.parse::<u64>().map(drop).map_err(|_| {
        if s.is_empty() {
            format!("strconv.ParseUint: parsing {s:?}: invalid syntax")
        } else {
            format!("strconv.ParseUint: parsing {s:?}: value out of range")
        }
    })
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn semver(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("Version string empty".into());
    }
    let parts: Vec<&str> = s.splitn(3, '.').collect();
    let [major, minor, rest] = parts[..] else {
        return Err("No Major.Minor.Patch elements found".into());
    };
    number(major, "major")?;
    number(minor, "minor")?;
    let (rest, build) = match rest.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (rest, None),
    };
    let (patch, pre) = match rest.split_once('-') {
        Some((p, pre)) => (p, Some(pre)),
        None => (rest, None),
    };
    number(patch, "patch")?;
    for p in pre
        .map(|p| p.split('.').collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if p.is_empty() {
            return Err("Prerelease is empty".into());
        }
        if only(p, DIGITS) {
            if leading_zero(p) {
                return Err(format!(
                    "Numeric PreRelease version must not contain leading zeroes {p:?}"
                ));
            }
            if p.parse::<u64>().is_err() {
                return Err(format!(
                    "strconv.ParseUint: parsing {p:?}: value out of range"
                ));
            }
        } else if !only(p, ALPHANUM) {
            return Err(format!("Invalid character(s) found in prerelease {p:?}"));
        }
    }
    for b in build
        .map(|b| b.split('.').collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if b.is_empty() {
            return Err("Build meta data is empty".into());
        }
        if !only(b, ALPHANUM) {
            return Err(format!(
                "Invalid character(s) found in build meta data {b:?}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(v: &str) -> String {
        match check_version(v) {
            Err(Error::Metadata(m)) => m,
            other => panic!("{v}: expected a metadata error, got {other:?}"),
        }
    }

    #[test]
    fn accepts_what_sops_accepts() {
        for v in [
            "3.11.0",
            "v3.11.0",
            "3.12.0",
            "3.7.0-rc1",
            "1.0",
            "1.x",
            "0.0.0+b.1",
        ] {
            assert!(check_version(v).is_ok(), "{v}");
        }
    }

    #[test]
    fn rejects_with_the_semver_parser_messages() {
        assert_eq!(message(""), "Version string empty");
        assert_eq!(message("3.11"), "No Major.Minor.Patch elements found");
        assert_eq!(message("abc"), "No Major.Minor.Patch elements found");
        assert_eq!(
            message("3.11.0.1"),
            "Invalid character(s) found in patch number \"0.1\""
        );
        assert_eq!(
            message("03.1.0"),
            "Major number must not contain leading zeroes \"03\""
        );
        assert_eq!(
            message("3.x.0"),
            "Invalid character(s) found in minor number \"x\""
        );
        assert_eq!(message("3.1.0-"), "Prerelease is empty");
        assert_eq!(message("3.1.0+"), "Build meta data is empty");
    }
}
