//! PKCS#11 key-encryption keys: a KEK on a token (network HSM, YubiHSM, smart card,
//! SoftHSM2) wraps each file's data key; the KEK never leaves the token.
//!
//! Keys are named by RFC 7512 URIs ([`uri`]); [`source::Pkcs11Source`] is the key source;
//! [`admin`] holds `leafcrypt pkcs11 keygen|list`.

pub mod admin;
pub mod command;
pub mod error;
pub mod mechanism;
pub mod oaep;
pub mod pin;
pub mod probe;
pub mod source;
pub mod token;
pub mod uri;
