//! Keeps secrets out of error text: JWT-shaped strings are masked and text taken from a
//! server or a child process is cut to one short line.

use std::sync::OnceLock;

/// The longest server/child text quoted in an error.
const MAX_QUOTE: usize = 300;

fn jwt_pattern() -> &'static regex::Regex {
    static PATTERN: OnceLock<regex::Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        // A JWS/JWE compact serialisation starts with a base64url `{"` header: `eyJ`.
        regex::Regex::new(r"eyJ[A-Za-z0-9_-]{4,}(\.[A-Za-z0-9_-]*){1,4}")
            .unwrap_or_else(|_| unreachable!("the pattern is a valid literal"))
    })
}

/// Secrets shorter than this are not masked in quoted text (they would mask ordinary
/// words; real secrets, headers and assertions are much longer).
const MIN_SECRET_LEN: usize = 8;

/// The innermost cause of `error` (e.g. `Connection refused (os error 111)` rather than
/// reqwest's `error sending request for url (…)`), masked like [`quote`].
pub fn root_cause(error: &(dyn std::error::Error + 'static), secrets: &[&str]) -> String {
    let mut inner = error;
    while let Some(source) = inner.source() {
        inner = source;
    }
    quote(&inner.to_string(), secrets)
}

/// `text` with JWT-shaped substrings and each of `secrets` replaced by `<redacted>`,
/// whitespace runs folded to one space, and cut to a few hundred characters.
pub fn quote(text: &str, secrets: &[&str]) -> String {
    let mut clean = jwt_pattern().replace_all(text, "<redacted>").into_owned();
    for secret in secrets.iter().filter(|s| s.len() >= MIN_SECRET_LEN) {
        clean = clean.replace(secret, "<redacted>");
    }
    let folded = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(MAX_QUOTE) {
        Some((cut, _)) => format!("{}…", &folded[..cut]),
        None => folded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_jwts_and_known_secrets_and_folds_whitespace() {
        let text = "bad token eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln for\n\n  client s3cr3t-value";
        assert_eq!(
            quote(text, &["s3cr3t-value"]),
            "bad token <redacted> for client <redacted>"
        );
    }

    #[test]
    fn the_root_cause_is_the_innermost_source() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        assert_eq!(root_cause(&error, &[]), "refused");
    }

    #[test]
    fn cuts_long_text() {
        let quoted = quote(&"x".repeat(1000), &[]);
        assert_eq!(quoted.chars().count(), MAX_QUOTE + 1);
        assert!(quoted.ends_with('…'));
    }
}
