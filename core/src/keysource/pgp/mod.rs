//! OpenPGP keys (the `pgp` metadata kind), in pure Rust for wasm32.
//!
//! An entry is `{ created_at, enc, fp }`: `fp` names the key as the user gave it (sops
//! keeps the text with spaces removed: the primary key's 40-hex fingerprint in practice),
//! `enc` is the ASCII-armored OpenPGP message that encrypts the data key to the key's
//! encryption subkey, trimmed of its final newline as sops stores gpg's output.
//!
//! The native CLI reaches keys through `gpg`; this source ([`PgpSource`]) takes armored
//! keys from the caller instead (the npm package, the viewer) and is built only with the
//! crate feature `pgp`.

mod rpgp;

pub use rpgp::PgpSource;

use super::{KeyEntry, KeyError};

/// The metadata kind of OpenPGP keys.
pub const KIND: &str = "pgp";

/// The description of the PGP key `fp` (spaces removed, as sops stores it).
pub fn entry(fp: &str) -> KeyEntry {
    KeyEntry::new(KIND).with("fp", fp.replace(' ', ""))
}

/// `fp` in canonical form: upper-case hex without spaces, an optional `0x` prefix and a
/// trailing `!` (gpg's "exactly this subkey") removed. A full v4 (40 hex digits) or v6 (64)
/// fingerprint is required: short key ids are ambiguous.
pub fn normalize_fingerprint(fp: &str) -> Result<String, KeyError> {
    let compact: String = fp.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.trim_end_matches('!');
    let hex = compact
        .strip_prefix("0x")
        .or_else(|| compact.strip_prefix("0X"))
        .unwrap_or(compact);
    let invalid = |message: &str| KeyError::InvalidKey {
        kind: KIND.into(),
        key: fp.to_string(),
        message: message.into(),
    };
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid("a fingerprint is hexadecimal"));
    }
    if hex.len() != 40 && hex.len() != 64 {
        return Err(invalid(
            "give the full fingerprint (40 hex digits, 64 for v6 keys), as `gpg --list-keys` prints it",
        ));
    }
    Ok(hex.to_ascii_uppercase())
}

/// Seconds since the Unix epoch of a UTC `YYYY-MM-DDTHH:MM:SS…` timestamp (the `now`
/// callers pass to [`KeySource::wrap`](super::KeySource::wrap)); `None` when malformed.
fn unix_seconds(now: &str) -> Option<i64> {
    let b = now.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |from: usize, to: usize| now.get(from..to)?.parse::<i64>().ok();
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm, ss) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    // Days from civil (proleptic Gregorian), H. Hinnant's algorithm.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_normalized() {
        let fp = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4";
        assert_eq!(normalize_fingerprint(fp).unwrap(), fp);
        assert_eq!(
            normalize_fingerprint("0xfbc7 b9e2 a4f9 289a c0c1  d484 3d16 cee4 a273 81b4!").unwrap(),
            fp
        );
        assert!(normalize_fingerprint("3D16CEE4A27381B4").is_err());
        assert!(normalize_fingerprint("ZBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4").is_err());
        assert_eq!(entry("AB CD").get("fp"), Some("ABCD"));
    }

    #[test]
    fn unix_seconds_of_utc_timestamps() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2019-08-29T21:52:32Z"), Some(1_567_115_552));
        assert_eq!(unix_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(unix_seconds("garbage"), None);
    }
}
