//! Which store an encrypted file belongs to, from its name and, when the name does not
//! say, from its content: the rule the npm package and the viewer use for files given
//! without a format (a dropped or pasted file).

use super::json::parse::parse_object;
use super::Format;
use crate::tree::Entry;
use regex::bytes::Regex;
use std::sync::LazyLock;

/// The format of an encrypted file: by its name as sops picks it
/// ([`Format::from_path_and_content`]: case-sensitive extensions); when the name gives
/// none of the structured stores (no name, or an unknown extension), by sops's marks in
/// the content: a JSON object with exactly `data` and `sops` is the binary store, another
/// JSON object is JSON, a `[sops]` table with quoted values or `[[sops.…]]` is TOML (a
/// leafcrypt extension), a bare `[sops]` section INI, `sops_version=`/`sops_mac=` lines
/// dotenv, a top-level `sops:` YAML. `None` when neither the name nor the content tells.
pub fn detect(name: &str, content: &[u8]) -> Option<Format> {
    match Format::from_path_and_content(name, content) {
        Format::Binary => by_content(content),
        known => Some(known),
    }
}

/// The content's marks (see [`detect`]).
fn by_content(content: &[u8]) -> Option<Format> {
    static TOML: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?m)^\[\[sops\.|(?ms)^\[sops\][ \t]*$.*^lastmodified = ""#).unwrap()
    });
    static INI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\[sops\][ \t]*$").unwrap());
    static DOTENV: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^sops_(version|mac|lastmodified)=").unwrap());
    static YAML: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^sops:[ \t]*$").unwrap());
    let trimmed = content.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        return Some(match parse_object(trimmed) {
            Ok(map) if binary_shape(&map.entries) => Format::Binary,
            // JSON, or the JSON parser's error says where it breaks.
            _ => Format::Json,
        });
    }
    [
        (&*TOML, Format::Toml),
        (&*INI, Format::Ini),
        (&*DOTENV, Format::Dotenv),
        (&*YAML, Format::Yaml),
    ]
    .into_iter()
    .find_map(|(mark, format)| mark.is_match(content).then_some(format))
}

/// `{"data": …, "sops": …}` and nothing else: what the binary store writes.
fn binary_shape(entries: &[Entry]) -> bool {
    let keys: Vec<&str> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Pair(k, _) => Some(k.as_str()),
            _ => None,
        })
        .collect();
    keys.len() == 2 && keys.contains(&"data") && keys.contains(&"sops")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_first_case_sensitive_as_sops_then_the_content() {
        assert_eq!(detect("a.yaml", b"{}"), Some(Format::Yaml));
        assert_eq!(detect("prod.env", b""), Some(Format::Dotenv));
        assert_eq!(detect("x.ini", b""), Some(Format::Ini));
        assert_eq!(
            detect("x.json", br#"{"data":"", "sops":{}}"#),
            Some(Format::Json)
        );
        assert_eq!(detect("c.toml", b"a = 1\n"), Some(Format::Toml));
        // sops encrypts a .toml file as binary (JSON).
        let binary = br#"{"data":"ENC[x]","sops":{}}"#;
        assert_eq!(detect("c.toml", binary), Some(Format::Binary));
        assert_eq!(detect("blob.bin", binary), Some(Format::Binary));
        // `x.YML` is a binary file to sops: its content decides.
        assert_eq!(detect("a.YML", binary), Some(Format::Binary));
        assert_eq!(detect("a.YML", b""), None);
        assert_eq!(detect("", br#"{"a":1,"sops":{}}"#), Some(Format::Json));
        assert_eq!(detect("", b"{ broken"), Some(Format::Json));
        assert_eq!(
            detect("", b"a: 1\nsops:\n    version: 3.11.0\n"),
            Some(Format::Yaml)
        );
        assert_eq!(
            detect("", b"A=1\nsops_version=3.11.0\n"),
            Some(Format::Dotenv)
        );
        assert_eq!(
            detect("", b"[s]\na = 1\n[sops]\nversion = 3.11.0\n"),
            Some(Format::Ini)
        );
        assert_eq!(
            detect(
                "",
                b"a = 1\n[sops]\nlastmodified = \"2026-01-01T00:00:00Z\"\n"
            ),
            Some(Format::Toml)
        );
        assert_eq!(
            detect("", b"a = 1\n[[sops.age]]\nrecipient = \"x\"\n"),
            Some(Format::Toml)
        );
        assert_eq!(detect("notes.txt", b"hello"), None);
        let toml =
            b"a = \"x\"\n\n[sops]\nlastmodified = \"2026-12-07T00:00:00Z\"\nversion = \"3.11.0\"\n";
        assert_eq!(detect("", toml), Some(Format::Toml));
        let groups =
            b"a = 1\n\n[sops]\nversion = \"3.11.0\"\n\n[[sops.age]]\nrecipient = \"age1x\"\n";
        assert_eq!(detect("", groups), Some(Format::Toml));
    }
}
