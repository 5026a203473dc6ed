//! Where a token's user PIN comes from, in order: the URI's `pin-value` (discouraged),
//! its `pin-source` (`file:/path`, the first line), `LEAFCRYPT_PKCS11_PIN`, and a prompt
//! on the terminal when stdin is one. Otherwise an error: never a guess. PINs live in
//! zeroized buffers and are never logged or shown.

use super::error::Pkcs11Error;
use super::uri::Pkcs11Uri;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

/// Environment variable holding the user PIN.
pub const PIN_ENV: &str = "LEAFCRYPT_PKCS11_PIN";

/// The PIN for logging in to `token`, from `uri`'s attributes or the environment.
pub fn resolve(uri: &Pkcs11Uri, token: &str) -> Result<AuthPin, Pkcs11Error> {
    if let Some(v) = &uri.pin_value {
        return Ok(AuthPin::from(v.as_str()));
    }
    if let Some(source) = &uri.pin_source {
        return read_source(source, token);
    }
    if let Ok(v) = std::env::var(PIN_ENV) {
        let v = Zeroizing::new(v);
        return Ok(AuthPin::from(v.as_str()));
    }
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(0) } == 1 {
        return prompt(token);
    }
    Err(Pkcs11Error::NoPin(token.into()))
}

/// Where the PIN for `uri` would come from, without reading it: `pin-value`,
/// `pin-source file:…`, `LEAFCRYPT_PKCS11_PIN`, the terminal; `None` when nowhere.
pub fn origin(uri: &Pkcs11Uri) -> Option<String> {
    if uri.pin_value.is_some() {
        return Some("pin-value in the URI".into());
    }
    if let Some(source) = &uri.pin_source {
        return Some(format!("pin-source {source}"));
    }
    if std::env::var_os(PIN_ENV).is_some() {
        return Some(PIN_ENV.into());
    }
    // SAFETY: isatty only inspects the descriptor.
    (unsafe { libc::isatty(0) } == 1).then(|| "the terminal".into())
}

/// Reads the PIN from `pin-source`: `file:/path` or a plain path; the first line, without
/// its line break.
fn read_source(source: &str, token: &str) -> Result<AuthPin, Pkcs11Error> {
    let path = source.strip_prefix("file:").unwrap_or(source);
    let path = path.strip_prefix("//").unwrap_or(path);
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| Pkcs11Error::PinSource {
                token: token.into(),
                reason: format!("pin-source {path}: {e}"),
            })?,
        );
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(Pkcs11Error::PinSource {
            token: token.into(),
            reason: format!("pin-source {path} is empty"),
        });
    }
    Ok(AuthPin::from(line))
}

/// Asks on the controlling terminal with echo off.
fn prompt(token: &str) -> Result<AuthPin, Pkcs11Error> {
    let pin = crate::tty::ask(&format!("PIN for PKCS#11 token '{token}':"), true).map_err(|e| {
        let (crate::tty::TtyError::Open(e) | crate::tty::TtyError::Io(e)) = e;
        Pkcs11Error::PinSource {
            token: token.into(),
            reason: format!("cannot prompt on the terminal: {e}"),
        }
    })?;
    if pin.is_empty() {
        return Err(Pkcs11Error::NoPin(token.into()));
    }
    Ok(AuthPin::from(pin.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn expose(p: &AuthPin) -> String {
        p.expose_secret().to_string()
    }

    #[test]
    fn pin_value_then_pin_source_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pin");
        std::fs::write(&file, "4321\nignored\n").unwrap();
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:token=t?pin-source=file:{}",
            file.display()
        ))
        .unwrap();
        assert_eq!(expose(&resolve(&u, "t").unwrap()), "4321");
        let u = Pkcs11Uri::parse("pkcs11:token=t?pin-value=1111").unwrap();
        assert_eq!(expose(&resolve(&u, "t").unwrap()), "1111");
    }

    #[test]
    fn unreadable_or_empty_pin_source_is_an_error_that_names_the_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let u =
            Pkcs11Uri::parse(&format!("pkcs11:token=t?pin-source={}", missing.display())).unwrap();
        let e = resolve(&u, "t").unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("token 't'"), "{e}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "").unwrap();
        let u =
            Pkcs11Uri::parse(&format!("pkcs11:token=t?pin-source={}", empty.display())).unwrap();
        assert!(resolve(&u, "t").unwrap_err().to_string().contains("empty"));
    }
}
