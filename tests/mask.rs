//! Masking the random parts of an encrypted file so two encryptions of the same input can be
//! compared for layout.
//!
//! What is random in a sops file: the base64 `data`, `iv` and `tag` inside every
//! `ENC[AES256_GCM,…]` (the MAC included), the body of every age armor, and the
//! `lastmodified` time. Ciphertexts and times are replaced character by character (`*` for
//! base64 except the `=` padding, `#` for a digit), so exact byte lengths and type tags stay
//! visible and are compared. An age
//! armor body becomes `<age>` between its first and last line breaks (kept, so the escaping
//! style shows): its length is not fixed, since an age header may carry a random "grease"
//! stanza (the Rust `age` crate adds one; Go's age does not). [`armor_problems`] checks the
//! armor's shape instead. INI's `[sops]` section is written in Go map order, which is
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

/// Base64 with every character but the `=` padding masked: the length then still tells the
/// exact number of bytes.
fn stars(s: &str) -> String {
    s.chars()
        .map(|c| if c == '=' { '=' } else { '*' })
        .collect()
}

fn is_base64(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='
}

/// The armor body's leading and trailing separators (line break or `\n` escape, plus
/// indentation) around `<age>`.
fn mask_armor_body(body: &str) -> String {
    let starts_escaped = body.starts_with("\\n");
    let lead_end = if starts_escaped {
        2
    } else {
        body.find(is_base64).unwrap_or(body.len())
    };
    let trail_start = if body.ends_with("\\n") {
        body.len() - 2
    } else {
        body.rfind(is_base64).map_or(body.len(), |i| i + 1)
    };
    if lead_end > trail_start {
        return body.to_string();
    }
    format!("{}<age>{}", &body[..lead_end], &body[trail_start..])
}

/// What is wrong with the shape of each age armor in `text` (empty when nothing): body
/// lines of 64 base64 characters, the last one 1 to 64, as Go's and Rust's age write them.
pub fn armor_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, c) in armor_re().captures_iter(text).enumerate() {
        let body = &c[1];
        let lines: Vec<&str> = if body.contains("\\n") {
            body.split("\\n").collect()
        } else {
            body.split('\n').collect()
        };
        let lines: Vec<&str> = lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        let bad = lines.is_empty()
            || lines.iter().any(|l| !l.chars().all(is_base64))
            || lines[..lines.len() - 1].iter().any(|l| l.len() != 64)
            || lines.last().is_some_and(|l| l.len() > 64);
        if bad {
            problems.push(format!("age armor #{n} is malformed: {lines:?}"));
        }
    }
    problems
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

fn mac_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"mac"?\s*[:=]\s*"?ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:([A-Za-z0-9+/=]*),"#)
            .expect("valid regex")
    })
}

/// The `iv` of every `ENC[…]` value in the text, in order of appearance, except the MAC's.
pub fn value_ivs(text: &str) -> Vec<String> {
    let mac = mac_iv(text);
    enc_re()
        .captures_iter(text)
        .map(|c| c[2].to_string())
        .filter(|iv| Some(iv) != mac.as_ref())
        .collect()
}

/// The `iv` of the encrypted MAC.
pub fn mac_iv(text: &str) -> Option<String> {
    mac_re().captures(text).map(|c| c[1].to_string())
}

/// The `lastmodified` time.
pub fn lastmodified(text: &str) -> Option<String> {
    lastmodified_re().captures(text).map(|c| c[2].to_string())
}

/// For each value's `ENC[…]` in `after`, whether its IV is the one at the same position in
/// `before` (rotation keeps the IVs of unchanged values: sops's "IV stash").
pub fn kept_ivs(before: &str, after: &str) -> Vec<bool> {
    let old = value_ivs(before);
    value_ivs(after)
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
        let same = b.replace("data:IA==", "data:Iw==");
        assert_eq!(mask(a), mask(&same), "same length stays equal");
        let longer = b.replace("data:IA==", "data:IAB=");
        assert_ne!(
            mask(a),
            mask(&longer),
            "one more byte must show despite equal base64 length"
        );
        let longer = b.replace("data:IA==", "data:IABCIA==");
        assert_ne!(mask(a), mask(&longer), "a different length must show");
    }

    #[test]
    fn masks_escaped_armor_and_lastmodified() {
        let a = "sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\nYWdl\\nab+/\\n-----END AGE ENCRYPTED FILE-----\\n\nsops_lastmodified=2026-11-29T02:40:36Z\n";
        let b = "sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\nQWxx\\nzz09\\n-----END AGE ENCRYPTED FILE-----\\n\nsops_lastmodified=2027-01-01T00:00:00Z\n";
        assert_eq!(mask(a), mask(b));
        assert!(
            mask(a).contains("FILE-----\\n<age>\\n-----END"),
            "{}",
            mask(a)
        );
        let yaml = "enc: |\n    -----BEGIN AGE ENCRYPTED FILE-----\n    YWdl\n    QQ==\n    -----END AGE ENCRYPTED FILE-----\n";
        assert!(
            mask(yaml).contains("FILE-----\n    <age>\n    -----END"),
            "{}",
            mask(yaml)
        );
        let fractional = b.replace("00:00:00Z", "00:00:00.5Z");
        assert_ne!(mask(a), mask(&fractional));
        let json = "\"lastmodified\": \"2026-11-29T02:40:36Z\",";
        assert_eq!(mask(json), "\"lastmodified\": \"####-##-##T##:##:##Z\",");
    }

    #[test]
    fn checks_armor_shape() {
        let line = "A".repeat(64);
        let good = format!(
            "-----BEGIN AGE ENCRYPTED FILE-----\\n{line}\\nQQ==\\n-----END AGE ENCRYPTED FILE-----"
        );
        assert!(
            armor_problems(&good).is_empty(),
            "{:?}",
            armor_problems(&good)
        );
        let short = good.replacen(&line, "AAAA", 1);
        assert_eq!(armor_problems(&short).len(), 1);
        let yaml = format!("    -----BEGIN AGE ENCRYPTED FILE-----\n    {line}\n    QQ==\n    -----END AGE ENCRYPTED FILE-----\n");
        assert!(
            armor_problems(&yaml).is_empty(),
            "{:?}",
            armor_problems(&yaml)
        );
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
