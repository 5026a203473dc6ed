//! Where a token's user PIN comes from, in order: the URI's `pin-value` (discouraged),
//! its `pin-source` (`file:/path`, the first line), `LEAFCRYPT_PKCS11_PIN`, and a prompt
//! on the terminal when stdin is one. Otherwise an error: never a guess. PINs live in
//! zeroized buffers and are never logged or shown.

use super::error::Pkcs11Error;
use super::uri::Pkcs11Uri;
use cryptoki::types::AuthPin;
use std::io::{BufRead, Write};
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
    let fail = |e: std::io::Error| Pkcs11Error::PinSource {
        token: token.into(),
        reason: format!("cannot prompt on the terminal: {e}"),
    };
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(fail)?;
    let mut out = &tty;
    write!(out, "PIN for PKCS#11 token '{token}': ").map_err(fail)?;
    out.flush().map_err(fail)?;
    let echo = EchoOff::new(&tty);
    let mut line = Zeroizing::new(String::new());
    std::io::BufReader::new(&tty)
        .read_line(&mut line)
        .map_err(fail)?;
    drop(echo);
    let _ = writeln!(out);
    let pin = line.trim_end_matches(['\r', '\n']);
    if pin.is_empty() {
        return Err(Pkcs11Error::NoPin(token.into()));
    }
    Ok(AuthPin::from(pin))
}

/// Turns terminal echo off for its lifetime (also used by the age prompts).
pub(crate) struct EchoOff {
    fd: i32,
    saved: Option<libc::termios>,
}

impl EchoOff {
    pub(crate) fn new(tty: &std::fs::File) -> Self {
        use std::os::fd::AsRawFd;
        let fd = tty.as_raw_fd();
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let saved = (unsafe { libc::tcgetattr(fd, &mut t) } == 0).then_some(t);
        if let Some(mut quiet) = saved {
            quiet.c_lflag &= !libc::ECHO;
            // SAFETY: fd is an open terminal, quiet a valid termios.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
        }
        Self { fd, saved }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: restores the attributes read in `new`.
            unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, t) };
        }
    }
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
