//! The PKCS#11 probe (`leafcrypt doctor`): the module loads, the token is present, a PIN
//! is available (its origin named, never its value), and the key object the entry names
//! is on the token. Nothing is decrypted; a login happens only with a PIN from a
//! non-interactive source, as a decryption would do it (a rejected PIN is not retried).

use super::error::Pkcs11Error;
use super::pin;
use super::source::{entry_id, id_note, Pkcs11Source};
use super::token::Token;
use leafcrypt_core::keysource::{KeyEntry, Probe};

/// The probe of `entry` through `source`'s module and PIN hints.
pub fn probe(source: &Pkcs11Source, entry: &KeyEntry) -> Probe {
    match check(source, entry) {
        Ok(probe) => probe,
        Err(e) => {
            let advice = match &e {
                Pkcs11Error::NoToken(_) | Pkcs11Error::TokenNotPresent(_) => {
                    "insert the token, or point LEAFCRYPT_PKCS11_MODULE (or module-path=) at the module that has it"
                }
                Pkcs11Error::PinSource { .. } | Pkcs11Error::NoPin(_) => {
                    "set LEAFCRYPT_PKCS11_PIN or pass --pkcs11 'URI?pin-source=file:…'"
                }
                _ => "check the module (LEAFCRYPT_PKCS11_MODULE) and the entry's URI",
            };
            Probe::unusable(e.to_string(), advice)
        }
    }
}

fn check(source: &Pkcs11Source, entry: &KeyEntry) -> Result<Probe, Pkcs11Error> {
    let (uri, mechanism) = source.target(entry)?;
    let id = entry_id(entry)?;
    let token = Token::find(&uri)?;
    let mut pin_note = String::new();
    if token.login_required {
        match pin::origin(&uri) {
            None => {
                return Ok(Probe::unusable(
                    format!("token '{}' found, but no PIN is available", token.label),
                    "set LEAFCRYPT_PKCS11_PIN or pass --pkcs11 'URI?pin-source=file:…'",
                ))
            }
            Some(o) if o == "the terminal" => {
                return Ok(Probe::unknown(
                    format!(
                        "token '{}' found; its PIN would be asked on the terminal, so the key object was not looked up",
                        token.label
                    ),
                    "set LEAFCRYPT_PKCS11_PIN or a pin-source to let doctor check the key object",
                ))
            }
            Some(o) => {
                token.login(&uri)?;
                pin_note = format!(", PIN from {o} accepted");
            }
        }
    }
    let session = token.session()?;
    let (class, what) = mechanism.key_class();
    Ok(
        match token.find_key(&session, &uri, id.as_deref(), class)? {
            Some(_) => Probe::usable(format!(
                "token '{}' present{pin_note}, {what} found",
                token.label
            )),
            None => Probe::unusable(
                format!(
                    "token '{}' present{pin_note}, but no {what} {}{}",
                    token.label,
                    uri.stored(),
                    id_note(id.as_deref())
                ),
                "restore the key object on the token, or decrypt with another key of the file",
            ),
        },
    )
}
