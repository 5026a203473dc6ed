//! The webhook's shared secret: read once from an environment variable or a file, kept
//! only as its SHA-256 digest (the text is zeroized), and compared in constant time with
//! what a request presents (`?code=` or the `X-Leafcrypt-Secret` header). Never logged.

use sha2::{Digest, Sha256};
use std::path::Path;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The header that may carry the secret instead of `?code=`.
pub const HEADER: &str = "x-leafcrypt-secret";
/// The shortest secret accepted, in bytes.
pub const MIN_LEN: usize = 16;

/// A shared secret, as its digest.
pub struct SharedSecret([u8; 32]);

impl SharedSecret {
    /// The secret in the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, String> {
        let value = Zeroizing::new(std::env::var(var).map_err(|_| {
            format!("--secret-env {var}: the variable is not set (or not valid UTF-8)")
        })?);
        Self::new(value.trim().as_bytes())
            .map_err(|why| format!("--secret-env {var}: the secret {why}"))
    }

    /// The secret in `path` (one line; surrounding whitespace is not part of it).
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = Zeroizing::new(
            std::fs::read(path)
                .map_err(|e| format!("--secret-file {}: cannot read it: {e}", path.display()))?,
        );
        Self::new(text.trim_ascii())
            .map_err(|why| format!("--secret-file {}: the secret {why}", path.display()))
    }

    fn new(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < MIN_LEN {
            return Err(format!(
                "is shorter than {MIN_LEN} bytes; use a long random one (e.g. `openssl rand -hex 32`)"
            ));
        }
        Ok(Self(Sha256::digest(secret).into()))
    }

    /// Whether `presented` is the secret (constant time; lengths are not revealed either,
    /// since digests are compared).
    pub fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        bool::from(digest.ct_eq(&self.0))
    }
}

/// The value of `code` in a query string, percent-decoded (`+` is a space), zeroized on
/// drop.
pub fn code_from_query(query: &str) -> Option<Zeroizing<Vec<u8>>> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == "code").then(|| Zeroizing::new(percent_decode(value)))
    })
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_digests_and_refuses_short_secrets() {
        let s = SharedSecret::new(b"0123456789abcdef-long").unwrap();
        assert!(s.matches(b"0123456789abcdef-long"));
        assert!(!s.matches(b"0123456789abcdef-lonG"));
        assert!(!s.matches(b""));
        let e = SharedSecret::new(b"short").err().unwrap();
        assert!(e.contains("shorter than 16"), "{e}");
    }

    #[test]
    fn reads_code_from_the_query() {
        let code = |q: &str| code_from_query(q).map(|c| String::from_utf8(c.to_vec()).unwrap());
        assert_eq!(code("code=abc%2Fdef%3d&x=1").as_deref(), Some("abc/def="));
        assert_eq!(code("x=1&code=a+b").as_deref(), Some("a b"));
        assert_eq!(code("x=1&codes=a"), None);
        assert_eq!(code("code=%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(code("code").as_deref(), Some(""));
    }

    #[test]
    fn reads_the_secret_from_a_file_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "0123456789abcdef-long\n").unwrap();
        let s = SharedSecret::from_file(&path).unwrap();
        assert!(s.matches(b"0123456789abcdef-long"));
        std::fs::write(&path, "tiny\n").unwrap();
        let e = SharedSecret::from_file(&path).err().unwrap();
        assert!(e.contains("--secret-file") && !e.contains("tiny"), "{e}");
    }
}
