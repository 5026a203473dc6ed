//! Parsing and rendering of the `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` envelope.

use super::gobase64;
use super::CipherError;
use base64::prelude::{Engine, BASE64_STANDARD};

const PREFIX: &str = "ENC[AES256_GCM,data:";

/// The fields of one envelope, base64-decoded.
#[derive(Debug)]
pub struct Envelope<'a> {
    /// GCM ciphertext without the tag.
    pub data: Vec<u8>,
    /// The nonce (32 bytes in every file sops writes).
    pub iv: Vec<u8>,
    /// The 16-byte GCM tag.
    pub tag: Vec<u8>,
    /// The `type:` name, unvalidated.
    pub type_name: &'a str,
    /// True when the text is exactly what [`render`] produces for these fields (no
    /// trailing text, no non-canonical base64). `--strict` requires it.
    pub canonical: bool,
}

/// Whether `s` looks like an envelope (starts with the sops prefix).
pub fn looks_encrypted(s: &str) -> bool {
    s.starts_with(PREFIX)
}

/// Parses `s` with the semantics of sops's regular expression
/// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`: the match lies within the
/// first line, every group is greedy (so the split happens at the last `,iv:`, `,tag:`
/// and `,type:` that still leave a match), the type runs to the last `]`, and anything
/// after it is ignored.
pub fn parse(s: &str) -> Result<Envelope<'_>, CipherError> {
    let no_match = || CipherError::Format(s.to_string());
    let line = s.split('\n').next().unwrap_or_default();
    let body = line.strip_prefix(PREFIX).ok_or_else(no_match)?;
    // Work backwards: the last `]`, then the last `,type:` leaving a non-empty type, the
    // last `,tag:` leaving a non-empty tag before it, and the last `,iv:` likewise.
    let close = body.rfind(']').ok_or_else(no_match)?;
    let type_at = rfind_before(body, ",type:", close, 1).ok_or_else(no_match)?;
    let tag_at = rfind_before(body, ",tag:", type_at, 1).ok_or_else(no_match)?;
    let iv_at = rfind_before(body, ",iv:", tag_at, 1).ok_or_else(no_match)?;
    if iv_at == 0 {
        return Err(no_match());
    }
    let data_b64 = &body[..iv_at];
    let iv_b64 = &body[iv_at + 4..tag_at];
    let tag_b64 = &body[tag_at + 5..type_at];
    let type_name = &body[type_at + 6..close];

    let field = |name: &'static str, text: &str| {
        gobase64::decode(text.as_bytes()).map_err(|e| CipherError::Base64 {
            field: name,
            offset: e.0,
        })
    };
    let data = field("data", data_b64)?;
    let iv = field("iv", iv_b64)?;
    let tag = field("tag", tag_b64)?;
    let canonical = data.canonical
        && iv.canonical
        && tag.canonical
        && close + 1 == body.len()
        && line.len() == s.len();
    Ok(Envelope {
        data: data.bytes,
        iv: iv.bytes,
        tag: tag.bytes,
        type_name,
        canonical,
    })
}

/// The last occurrence of `pat` in `s` that ends at least `gap` bytes before `limit`
/// (so the field between it and `limit` is non-empty).
fn rfind_before(s: &str, pat: &str, limit: usize, gap: usize) -> Option<usize> {
    let end = limit.checked_sub(gap)?;
    // The pattern must end at or before `end`; bytes, since `end` may split a character.
    let (hay, pat) = (&s.as_bytes()[..end], pat.as_bytes());
    (0..=hay.len().checked_sub(pat.len())?)
        .rev()
        .find(|&i| hay[i..].starts_with(pat))
}

/// Renders an envelope.
pub fn render(data: &[u8], iv: &[u8], tag: &[u8], type_name: &str) -> String {
    let mut out = String::with_capacity(
        PREFIX.len() + 4 * (data.len() + iv.len() + tag.len() + 6) / 3 + 20 + type_name.len(),
    );
    out.push_str(PREFIX);
    BASE64_STANDARD.encode_string(data, &mut out);
    out.push_str(",iv:");
    BASE64_STANDARD.encode_string(iv, &mut out);
    out.push_str(",tag:");
    BASE64_STANDARD.encode_string(tag, &mut out);
    out.push_str(",type:");
    out.push_str(type_name);
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(s: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>, String, bool) {
        let e = parse(s).unwrap();
        (e.data, e.iv, e.tag, e.type_name.to_string(), e.canonical)
    }

    #[test]
    fn parses_a_plain_envelope() {
        let (d, i, t, ty, canon) = fields("ENC[AES256_GCM,data:YQ==,iv:YWI=,tag:YWJj,type:str]");
        assert_eq!(
            (d, i, t, ty.as_str(), canon),
            (b"a".to_vec(), b"ab".to_vec(), b"abc".to_vec(), "str", true)
        );
    }

    #[test]
    fn splits_greedily_like_the_regex() {
        // Trailing text after the last `]` is ignored (but not canonical).
        let (_, _, _, ty, canon) =
            fields("ENC[AES256_GCM,data:YQ==,iv:YWI=,tag:YWJj,type:str]junk");
        assert_eq!((ty.as_str(), canon), ("str", false));
        // The type runs to the last `]`.
        let (_, _, _, ty, _) = fields("ENC[AES256_GCM,data:YQ==,iv:YWI=,tag:YWJj,type:s]t]");
        assert_eq!(ty, "s]t");
        // A later `,iv:` without a following `,tag:` does not count.
        let e = parse("ENC[AES256_GCM,data:YQ==,iv:YWI=,tag:YWJj,type:a,iv:b]");
        assert_eq!(e.unwrap().type_name, "a,iv:b");
        // Only the first line takes part.
        let (_, _, _, ty, canon) =
            fields("ENC[AES256_GCM,data:YQ==,iv:YWI=,tag:YWJj,type:str]\nx]");
        assert_eq!((ty.as_str(), canon), ("str", false));
    }

    #[test]
    fn rejects_what_does_not_match() {
        for bad in [
            "",
            "hello",
            "ENC[AES256_GCM,data:,iv:YQ==,tag:YQ==,type:str]",
            "ENC[AES256_GCM,data:YQ==,iv:,tag:YQ==,type:str]",
            "ENC[AES256_GCM,data:YQ==,iv:YQ==,tag:,type:str]",
            "ENC[AES256_GCM,data:YQ==,iv:YQ==,tag:YQ==,type:]",
            "ENC[AES256_GCM,data:YQ==,iv:YQ==,tag:YQ==,type:str",
            "ENC[AES256_GCM,data:YQ==\n,iv:YQ==,tag:YQ==,type:str]",
            " ENC[AES256_GCM,data:YQ==,iv:YQ==,tag:YQ==,type:str]",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("Input string {bad} does not match sops' data format")
            );
        }
    }

    #[test]
    fn reports_base64_errors_per_field() {
        let err = parse("ENC[AES256_GCM,data:YQ,iv:YQ==,tag:YQ==,type:str]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error base64-decoding data: illegal base64 data at input byte 0"
        );
        let err = parse("ENC[AES256_GCM,data:YQ==,iv:Y*==,tag:YQ==,type:str]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error base64-decoding iv: illegal base64 data at input byte 1"
        );
    }

    #[test]
    fn render_round_trips() {
        let s = render(b"data", &[7; 32], &[9; 16], "int");
        let e = parse(&s).unwrap();
        assert_eq!(
            (
                e.data.as_slice(),
                e.iv.len(),
                e.tag.len(),
                e.type_name,
                e.canonical
            ),
            (&b"data"[..], 32, 16, "int", true)
        );
    }
}
