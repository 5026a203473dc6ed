//! RFC 7512 PKCS#11 URIs (`pkcs11:token=…;object=…?module-path=…&pin-value=…`), as the CLI
//! reads them from the command line, `.sops.yaml` and the metadata of files it opens.
//!
//! The parser lives in the CLI crate (`native-pkcs11/src/pkcs11/uri.rs`); it is included
//! here as it is, with a stand-in for the one error variant it uses, so there is one copy.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The CLI's `Pkcs11Error`, reduced to the variant the URI parser returns (`uri.rs` names
/// it as `super::error::Pkcs11Error`).
mod error {
    #[derive(Clone, Debug)]
    pub enum Pkcs11Error {
        Uri(String),
    }
    impl std::fmt::Display for Pkcs11Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let Pkcs11Error::Uri(m) = self;
            write!(f, "invalid PKCS#11 URI: {m}")
        }
    }
}

#[allow(dead_code)]
#[path = "../../../native-pkcs11/src/pkcs11/uri.rs"]
mod uri;

use uri::{redact, split_list, unhex, Pkcs11Uri};

/// The `pin-value=` values of the query part, as written.
fn pins(text: &str) -> Vec<&str> {
    let Some((_, query)) = text.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter_map(|a| a.strip_prefix("pin-value="))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A PIN written once in the URI is never in an error message, `Debug` or `redact`
    // (alphanumeric PINs with a digit and a letter, other than `pkcs11`: nothing else in a
    // message can spell them).
    let secret: Vec<&str> = pins(text.trim())
        .into_iter()
        .filter(|p| {
            p.len() >= 6
                && p.chars().all(|c| c.is_ascii_alphanumeric())
                && p.chars().any(|c| c.is_ascii_digit())
                && p.chars().any(|c| c.is_ascii_alphabetic())
                && !"pkcs11:".contains(*p)
                // `Debug` escapes control characters (`\0` + `6ab` reads as `06ab`).
                && !text.chars().any(|c| c.is_control() || c == '\\')
                && text.matches(*p).count() == 1
        })
        .collect();
    let shown = match Pkcs11Uri::parse(text) {
        Ok(uri) => {
            // What is stored in metadata is the path only, and it reads back to the same
            // path attributes.
            let stored = uri.stored();
            assert!(stored.starts_with("pkcs11:") && !stored.contains('?'));
            let again = Pkcs11Uri::parse(stored).expect("the stored form parses");
            assert_eq!(again.stored(), stored, "the stored form is stable");
            assert_eq!(again.id, uri.id);
            for name in ["token", "object", "type", "id", "serial", "slot-id"] {
                assert_eq!(again.get(name), uri.get(name), "{name}");
            }
            if let Some(id) = uri.get("id") {
                assert_eq!(unhex(id).as_ref(), uri.id.as_ref());
            }
            let _ = uri.slot_id();
            format!("{uri:?}")
        }
        Err(e) => e.to_string(),
    };
    let redacted = redact(text.trim());
    for pin in &secret {
        assert!(!shown.contains(pin), "the PIN is shown: {shown}");
        assert!(
            !redacted.contains(pin),
            "the PIN survives redact: {redacted}"
        );
    }
    // A list splits only where a URI starts.
    let items = split_list(text);
    assert!(items.iter().skip(1).all(|i| i.starts_with("pkcs11:")));
});
