//! RFC 7512 PKCS#11 URIs: `pkcs11:token=leafcrypt;object=kek?module-path=/x.so&pin-source=file:/run/pin`.
//!
//! Path attributes name the token and the object; query attributes say how to reach it
//! (module, PIN). Only the path is ever stored in a file we write ([`Pkcs11Uri::stored`]).
//! Vendor attributes (`x-…`) are allowed; leafcrypt reads `x-mechanism`.

use super::error::Pkcs11Error;
use zeroize::Zeroizing;

/// Path attributes leafcrypt understands (RFC 7512 §2.3).
const PATH_ATTRS: &[&str] = &[
    "token",
    "manufacturer",
    "model",
    "serial",
    "object",
    "type",
    "id",
    "library-manufacturer",
    "library-description",
    "library-version",
    "slot-manufacturer",
    "slot-description",
    "slot-id",
];

/// A parsed PKCS#11 URI. `Debug` never shows the PIN.
#[derive(Clone, Default, PartialEq)]
pub struct Pkcs11Uri {
    /// The path part as written (`pkcs11:token=…;object=…`), without the query.
    path_text: String,
    /// Decoded path attributes in order (`id` as raw bytes is in [`Pkcs11Uri::id`]).
    path: Vec<(String, String)>,
    /// `id=`: the object's CKA_ID bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path=`: the PKCS#11 library.
    pub module_path: Option<String>,
    /// `pin-source=`: where to read the PIN (`file:/path` or a path).
    pub pin_source: Option<String>,
    /// `pin-value=`: the PIN itself (discouraged: it ends up in shell history).
    pub pin_value: Option<Zeroizing<String>>,
    /// `x-mechanism=`: the wrapping mechanism (see `Mechanism`).
    pub mechanism: Option<String>,
}

impl std::fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("path", &self.path_text)
            .field("module_path", &self.module_path)
            .field("pin_source", &self.pin_source)
            .field("pin_value", &self.pin_value.as_ref().map(|_| "<redacted>"))
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

impl Pkcs11Uri {
    /// Parses `text`. Rejects unknown non-vendor attributes and repeated ones.
    pub fn parse(text: &str) -> Result<Self, Pkcs11Error> {
        let text = text.trim();
        let rest = text.strip_prefix("pkcs11:").ok_or_else(|| {
            Pkcs11Error::Uri(format!("'{}' does not start with pkcs11:", redact(text)))
        })?;
        // Blanks before the query are not part of the last path attribute: the stored form
        // (the path alone, trimmed when read back) must name the same object.
        let (path_part, query_part) = match rest.split_once('?') {
            Some((p, q)) => (p.trim_end(), Some(q)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri {
            path_text: format!("pkcs11:{path_part}"),
            ..Self::default()
        };
        for attr in path_part.split(';').filter(|a| !a.is_empty()) {
            uri.add_path_attr(attr)?;
        }
        for attr in query_part
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|a| !a.is_empty())
        {
            uri.add_query_attr(attr)?;
        }
        if uri
            .get("type")
            .is_some_and(|t| !["secret-key", "private", "public"].contains(&t))
        {
            return Err(Pkcs11Error::Uri(
                "type must be secret-key, private or public for a key".into(),
            ));
        }
        Ok(uri)
    }

    /// Adds one `name=value` path attribute (a known or `x-` name, given once).
    fn add_path_attr(&mut self, attr: &str) -> Result<(), Pkcs11Error> {
        let (name, raw) = attr
            .split_once('=')
            .ok_or_else(|| Pkcs11Error::Uri(format!("path attribute '{attr}' has no '='")))?;
        if !PATH_ATTRS.contains(&name) && !name.starts_with("x-") {
            return Err(Pkcs11Error::Uri(format!("unknown path attribute '{name}'")));
        }
        if self.path.iter().any(|(n, _)| n == name) {
            return Err(Pkcs11Error::Uri(format!("attribute '{name}' given twice")));
        }
        let bytes = percent_decode(raw)?;
        if name == "id" {
            self.id = Some(bytes.clone());
        }
        let value = if name == "id" {
            hex(&bytes)
        } else {
            String::from_utf8(bytes)
                .map_err(|_| Pkcs11Error::Uri(format!("attribute '{name}' is not UTF-8")))?
        };
        self.path.push((name.to_string(), value));
        Ok(())
    }

    /// Adds one `name=value` query attribute (`x-` names other than `x-mechanism` are
    /// ignored; each known one given once).
    fn add_query_attr(&mut self, attr: &str) -> Result<(), Pkcs11Error> {
        let (name, raw) = attr.split_once('=').ok_or_else(|| {
            Pkcs11Error::Uri(format!(
                "query attribute '{}' has no '='",
                attr.split('=').next().unwrap_or("")
            ))
        })?;
        let value = Zeroizing::new(
            String::from_utf8(percent_decode(raw)?)
                .map_err(|_| Pkcs11Error::Uri(format!("attribute '{name}' is not UTF-8")))?,
        );
        let slot =
            match name {
                "module-path" => &mut self.module_path,
                "pin-source" => &mut self.pin_source,
                "x-mechanism" => &mut self.mechanism,
                "pin-value" => {
                    if self.pin_value.replace(value).is_some() {
                        return Err(Pkcs11Error::Uri("attribute 'pin-value' given twice".into()));
                    }
                    return Ok(());
                }
                "module-name" => return Err(Pkcs11Error::Uri(
                    "module-name is not supported: give module-path (or LEAFCRYPT_PKCS11_MODULE)"
                        .into(),
                )),
                n if n.starts_with("x-") => return Ok(()),
                n => return Err(Pkcs11Error::Uri(format!("unknown query attribute '{n}'"))),
            };
        if slot.replace(value.to_string()).is_some() {
            return Err(Pkcs11Error::Uri(format!("attribute '{name}' given twice")));
        }
        Ok(())
    }

    /// A decoded path attribute (`id` as lowercase hex).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.path
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The URI as stored in metadata and shown to people: the path only, no PIN, no module.
    pub fn stored(&self) -> &str {
        &self.path_text
    }

    /// `slot-id=` as a number.
    pub fn slot_id(&self) -> Result<Option<u64>, Pkcs11Error> {
        self.get("slot-id")
            .map(|s| {
                s.parse()
                    .map_err(|_| Pkcs11Error::Uri(format!("slot-id '{s}' is not a number")))
            })
            .transpose()
    }
}

/// Splits a comma-separated list of URIs. Commas may occur inside a URI, so a new item
/// starts only at a comma followed by `pkcs11:`.
pub fn split_list(list: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in list.split(',') {
        match out.last_mut() {
            Some(last) if !part.trim_start().starts_with("pkcs11:") => {
                last.push(',');
                last.push_str(part);
            }
            _ => out.push(part.to_string()),
        }
    }
    out.into_iter()
        .map(|s| s.trim().trim_end_matches(',').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of a hex string (either case).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

/// The URI-encoded form of `bytes` for an `id=` attribute.
pub fn percent_encode_id(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02x}")).collect()
}

fn percent_decode(s: &str) -> Result<Vec<u8>, Pkcs11Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let byte = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Pkcs11Error::Uri("bad percent-encoding".into()))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// `text` with any `pin-value=…` blanked, for error messages.
pub fn redact(text: &str) -> String {
    match text.split_once('?') {
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|a| match a.split_once('=') {
                    Some(("pin-value", _)) => "pin-value=***".to_string(),
                    _ => a.to_string(),
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_path_and_query_and_keeps_only_the_path() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=lea%66crypt;object=kek-2026;id=%01%AB?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin&x-mechanism=RSA-X509+OAEP-SHA256",
        )
        .unwrap();
        assert_eq!(u.get("token"), Some("leafcrypt"));
        assert_eq!(u.get("object"), Some("kek-2026"));
        assert_eq!(u.id.as_deref(), Some(&[0x01, 0xab][..]));
        assert_eq!(u.get("id"), Some("01ab"));
        assert_eq!(
            u.module_path.as_deref(),
            Some("/usr/lib/softhsm/libsofthsm2.so")
        );
        assert_eq!(u.pin_source.as_deref(), Some("file:/run/pin"));
        assert_eq!(u.mechanism.as_deref(), Some("RSA-X509+OAEP-SHA256"));
        assert_eq!(
            u.stored(),
            "pkcs11:token=lea%66crypt;object=kek-2026;id=%01%AB"
        );
    }

    /// Fuzz finding (pkcs11_uri): a blank before `?` was kept in the last path attribute
    /// and dropped when the stored form was read back, so the file named another token.
    #[test]
    fn the_stored_form_reads_back_to_the_same_attributes() {
        let u = Pkcs11Uri::parse("pkcs11:token=ljeck ?module-path=/m.so").unwrap();
        assert_eq!(u.get("token"), Some("ljeck"));
        assert_eq!(u.stored(), "pkcs11:token=ljeck");
        let again = Pkcs11Uri::parse(u.stored()).unwrap();
        assert_eq!(again.get("token"), u.get("token"));
        assert_eq!(again.stored(), u.stored());
    }

    #[test]
    fn pin_value_is_kept_out_of_debug_and_stored_form() {
        let u = Pkcs11Uri::parse("pkcs11:token=t;object=o?pin-value=1234").unwrap();
        assert_eq!(u.pin_value.as_deref().map(String::as_str), Some("1234"));
        assert!(!format!("{u:?}").contains("1234"));
        assert!(!u.stored().contains("1234"));
        assert_eq!(
            redact("pkcs11:token=t?pin-value=1234&x-a=b"),
            "pkcs11:token=t?pin-value=***&x-a=b"
        );
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "token=t",
            "pkcs11:token",
            "pkcs11:colour=red",
            "pkcs11:token=a;token=b",
            "pkcs11:object=%zz",
            "pkcs11:token=t?module-name=softhsm2",
            "pkcs11:token=t?pin-source=a&pin-source=b",
            "pkcs11:type=cert",
        ] {
            assert!(
                matches!(Pkcs11Uri::parse(bad), Err(Pkcs11Error::Uri(_))),
                "{bad}"
            );
        }
        assert!(Pkcs11Uri::parse("pkcs11:slot-id=x")
            .unwrap()
            .slot_id()
            .is_err());
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:slot-id=7")
                .unwrap()
                .slot_id()
                .unwrap(),
            Some(7)
        );
    }

    #[test]
    fn lists_split_only_before_a_new_uri() {
        assert_eq!(
            split_list("pkcs11:token=a;object=x,y, pkcs11:token=b,"),
            ["pkcs11:token=a;object=x,y", "pkcs11:token=b"]
        );
        assert!(split_list("").is_empty());
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 255, 16])), Some(vec![0, 255, 16]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(percent_encode_id(&[1, 0xab]), "%01%ab");
    }
}
