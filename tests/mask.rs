//! Masking the random parts of an encrypted file so two encryptions of the same input can be
//! compared for layout.
//!
//! What is random in a sops file: the base64 `data`, `iv` and `tag` inside every
//! `ENC[AES256_GCM,…]` (the MAC included), the body of every age armor, and the
//! `lastmodified` time. Each is replaced character by character (`*` for base64, `#` for a
//! digit), so lengths, line breaks, escapes (`\n` in JSON/dotenv/INI) and the type tags stay
//! visible and are compared. INI's `[sops]` section is written in Go map order, which is
//! random, so its lines are sorted.

use regex::{Captures, Regex};
use std::sync::OnceLock;

fn enc_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]*),tag:([A-Za-z0-9+/=]*),type:([a-z]+)\]")
            .expect("valid regex")
    })
}

fn armor_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?s)-----BEGIN AGE ENCRYPTED FILE-----(.*?)-----END AGE ENCRYPTED FILE-----")
            .expect("valid regex")
    })
}

fn lastmodified_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(lastmodified"?\s*[:=]\s*"?)([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9]{2}:[0-9]{2}))"#)
            .expect("valid regex")
    })
}

fn stars(s: &str) -> String {
    "*".repeat(s.len())
}

/// Masks base64 characters, keeping `\n` escapes, real line breaks and indentation.
fn mask_armor_body(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(c);
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else if c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=' {
            out.push('*');
        } else {
            out.push(c);
        }
    }
    out
}

/// Masks the random parts of an encrypted file of any format (see the module docs).
pub fn mask(text: &str) -> String {
    let text = enc_re().replace_all(text, |c: &Captures| {
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
            stars(&c[1]),
            stars(&c[2]),
            stars(&c[3]),
            &c[4]
        )
    });
    let text = armor_re().replace_all(&text, |c: &Captures| {
        format!(
            "-----BEGIN AGE ENCRYPTED FILE-----{}-----END AGE ENCRYPTED FILE-----",
            mask_armor_body(&c[1])
        )
    });
    let text = lastmodified_re().replace_all(&text, |c: &Captures| {
        let stamp: String = c[2]
            .chars()
            .map(|ch| if ch.is_ascii_digit() { '#' } else { ch })
            .collect();
        format!("{}{stamp}", &c[1])
    });
    text.into_owned()
}

/// The `iv` of every `ENC[…]` value in the text, in order of appearance.
pub fn ivs(text: &str) -> Vec<String> {
    enc_re()
        .captures_iter(text)
        .map(|c| c[2].to_string())
        .collect()
}

/// For each `ENC[…]` of `after`, whether its IV is the one at the same position in `before`
/// (rotation keeps the IVs of values, sops's "IV stash", but not that of the MAC).
pub fn kept_ivs(before: &str, after: &str) -> Vec<bool> {
    let old = ivs(before);
    ivs(after)
        .iter()
        .enumerate()
        .map(|(i, iv)| old.get(i) == Some(iv))
        .collect()
}

/// [`mask`], then sorts the lines of INI's `[sops]` section (written in random order).
pub fn mask_ini(text: &str) -> String {
    sort_ini_sops_section(&mask(text))
}

/// Sorts the lines of the `[sops]` section of an INI file, leaving the rest alone.
pub fn sort_ini_sops_section(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut section: Vec<&str> = Vec::new();
    let mut in_sops = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            if in_sops {
                section.sort_unstable();
                out.append(&mut section);
            }
            in_sops = trimmed == "[sops]";
            out.push(line);
        } else if in_sops && !trimmed.is_empty() {
            section.push(line);
        } else {
            out.push(line);
        }
    }
    section.sort_unstable();
    out.append(&mut section);
    out.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_ciphertext_keeping_lengths_and_type() {
        let a = "a: ENC[AES256_GCM,data:7w==,iv:TeLOULjzFe+YEfzMBYrEkqKUPhmlAnadqpNS/bmu/2M=,tag:OM9U2gyVCPT+2sWoeVRJvw==,type:int]\n";
        let b = "a: ENC[AES256_GCM,data:IA==,iv:VjBhJlnOv6U1Wf0z2U8CXt9NfkbpEf9Wg/3WVN0crPc=,tag:UxbtoaLpiasdB7B2P7b21A==,type:int]\n";
        assert_eq!(mask(a), mask(b));
        let other_type = b.replace("type:int", "type:str");
        assert_ne!(mask(a), mask(&other_type));
        let longer = b.replace("data:IA==", "data:IAB=");
        assert_eq!(mask(a), mask(&longer));
        let longer = b.replace("data:IA==", "data:IABC");
        assert_eq!(mask(a), mask(&longer), "same length stays equal");
        let longer = b.replace("data:IA==", "data:IABCIA==");
        assert_ne!(mask(a), mask(&longer), "a different length must show");
    }

    #[test]
    fn masks_escaped_armor_and_lastmodified() {
        let a = "sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\nYWdl\\nab+/\\n-----END AGE ENCRYPTED FILE-----\\n\nsops_lastmodified=2026-11-29T02:40:36Z\n";
        let b = "sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\nQWxx\\nzz09\\n-----END AGE ENCRYPTED FILE-----\\n\nsops_lastmodified=2027-01-01T00:00:00Z\n";
        assert_eq!(mask(a), mask(b));
        assert!(mask(a).contains("\\n****\\n"), "{}", mask(a));
        let fractional = b.replace("00:00:00Z", "00:00:00.5Z");
        assert_ne!(mask(a), mask(&fractional));
        let json = "\"lastmodified\": \"2026-11-29T02:40:36Z\",";
        assert_eq!(mask(json), "\"lastmodified\": \"####-##-##T##:##:##Z\",");
    }

    #[test]
    fn sorts_only_the_ini_sops_section() {
        let a = "[s]\nb = 1\na = 2\n\n[sops]\nz = 1\nm = 2\n";
        let b = "[s]\nb = 1\na = 2\n\n[sops]\nm = 2\nz = 1\n";
        assert_eq!(mask_ini(a), mask_ini(b));
        let swapped = "[s]\na = 2\nb = 1\n\n[sops]\nm = 2\nz = 1\n";
        assert_ne!(mask_ini(a), mask_ini(swapped));
    }
}
