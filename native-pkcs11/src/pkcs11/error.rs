//! Errors of the PKCS#11 backend, worded for the person at the keyboard: what failed,
//! on which token or object, and what to do about it. Never a PIN or key material.

use cryptoki::error::{Error as CkError, RvError};
use thiserror::Error;

/// A PKCS#11 operation failed.
#[derive(Clone, Debug, Error)]
pub enum Pkcs11Error {
    /// The URI is not a valid RFC 7512 PKCS#11 URI (or uses something we do not support).
    #[error("invalid PKCS#11 URI: {0}")]
    Uri(String),
    /// The module (shared library) could not be loaded or initialised.
    #[error("cannot load PKCS#11 module {path}: {reason} (set module-path in the URI or LEAFCRYPT_PKCS11_MODULE)")]
    Module {
        /// The module path tried.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// No slot holds a token matching the URI.
    #[error("no PKCS#11 token matches {0} (see `leafcrypt pkcs11 list`)")]
    NoToken(String),
    /// No key object on the token matches the URI.
    #[error("no key object matches {0} on the token (see `leafcrypt pkcs11 list`)")]
    NoObject(String),
    /// Several objects match where one is needed.
    #[error("{0} matches several key objects; add id= or type= to the URI")]
    Ambiguous(String),
    /// `keygen` found an object with the requested label already.
    #[error("an object labelled '{label}' already exists on token '{token}'; choose another label (rotation = a new key object)")]
    Exists {
        /// The label.
        label: String,
        /// The token's label.
        token: String,
    },
    /// No PIN was configured for a token that needs a login.
    #[error("no PIN for token '{0}': set pin-source=file:… in the URI or LEAFCRYPT_PKCS11_PIN")]
    NoPin(String),
    /// The PIN could not be read from its source.
    #[error("cannot read the PIN for token '{token}': {reason}")]
    PinSource {
        /// Token label.
        token: String,
        /// Why (never the PIN).
        reason: String,
    },
    /// The token rejected the PIN. Never retried: tokens lock after a few failures.
    #[error("CKR_PIN_INCORRECT: the token '{0}' rejected the PIN (not retried: tokens lock after repeated failures)")]
    PinIncorrect(String),
    /// The user PIN is locked.
    #[error("CKR_PIN_LOCKED: the user PIN of token '{0}' is locked; the security officer must unlock it")]
    PinLocked(String),
    /// The token disappeared or the slot is empty.
    #[error("CKR_TOKEN_NOT_PRESENT: no token in the slot of '{0}'")]
    TokenNotPresent(String),
    /// An operation needed a login that is not in place.
    #[error("CKR_USER_NOT_LOGGED_IN: {0} needs a login; provide a PIN (pin-source or LEAFCRYPT_PKCS11_PIN)")]
    NotLoggedIn(String),
    /// The token does not offer the mechanism (or not with these parameters).
    #[error("the token does not support {mechanism} ({rv}); {hint}")]
    Mechanism {
        /// Our mechanism name.
        mechanism: String,
        /// The PKCS#11 return code.
        rv: String,
        /// Which alternative to use.
        hint: String,
    },
    /// The key may not be used for this operation (e.g. CKA_DECRYPT false).
    #[error("CKR_KEY_FUNCTION_NOT_PERMITTED: key {0} may not be used for this (check CKA_ENCRYPT/CKA_DECRYPT)")]
    NotPermitted(String),
    /// The wrapped key is corrupt or was wrapped with another key.
    #[error("the wrapped data key does not decrypt with {0} (wrong key or corrupted enc)")]
    BadCiphertext(String),
    /// The metadata entry is incomplete or malformed.
    #[error("invalid pkcs11 entry: {0}")]
    Entry(String),
    /// Any other PKCS#11 failure.
    #[error("{what}: {rv}")]
    Other {
        /// What we were doing.
        what: String,
        /// The PKCS#11 return code or library error.
        rv: String,
    },
}

/// The `CKR_…` name of a return value (cryptoki's own texts are paragraphs long).
pub fn rv_name(rv: RvError) -> String {
    let debug = format!("{rv:?}");
    let mut out = String::from("CKR");
    for c in debug.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The return value inside a cryptoki error, if it is one.
pub fn rv_of(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// Maps a cryptoki error of `what` (an operation on `subject`) to a clear error.
pub fn map(e: CkError, what: &str, subject: &str) -> Pkcs11Error {
    match rv_of(&e) {
        Some(RvError::PinIncorrect) => Pkcs11Error::PinIncorrect(subject.into()),
        Some(RvError::PinLocked) => Pkcs11Error::PinLocked(subject.into()),
        Some(RvError::TokenNotPresent | RvError::DeviceRemoved) => {
            Pkcs11Error::TokenNotPresent(subject.into())
        }
        Some(RvError::UserNotLoggedIn) => Pkcs11Error::NotLoggedIn(format!("{what} on {subject}")),
        Some(RvError::KeyFunctionNotPermitted) => Pkcs11Error::NotPermitted(subject.into()),
        Some(RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange) => {
            Pkcs11Error::BadCiphertext(subject.into())
        }
        Some(rv) => Pkcs11Error::Other {
            what: format!("{what} ({subject})"),
            rv: rv_name(rv),
        },
        None => Pkcs11Error::Other {
            what: format!("{what} ({subject})"),
            rv: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_values_get_their_ckr_names() {
        assert_eq!(rv_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(
            rv_name(RvError::MechanismParamInvalid),
            "CKR_MECHANISM_PARAM_INVALID"
        );
        assert_eq!(rv_name(RvError::ArgumentsBad), "CKR_ARGUMENTS_BAD");
    }

    /// SoftHSM2 2.6 never locks a user PIN (twelve wrong logins all return
    /// CKR_PIN_INCORRECT and the right PIN still works), so CKR_PIN_LOCKED is checked here,
    /// at the mapping, rather than on a token.
    #[test]
    fn locked_pin_and_missing_token_map_to_their_own_errors() {
        use cryptoki::context::Function;
        let locked = map(
            CkError::Pkcs11(RvError::PinLocked, Function::Login),
            "C_Login",
            "ops",
        );
        assert!(matches!(&locked, Pkcs11Error::PinLocked(t) if t == "ops"));
        assert!(locked.to_string().starts_with("CKR_PIN_LOCKED"));
        for rv in [RvError::TokenNotPresent, RvError::DeviceRemoved] {
            let e = map(
                CkError::Pkcs11(rv, Function::GetTokenInfo),
                "C_GetTokenInfo",
                "ops",
            );
            assert!(matches!(e, Pkcs11Error::TokenNotPresent(_)), "{rv:?}");
        }
    }
}
