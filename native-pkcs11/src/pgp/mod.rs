//! PGP keys through GnuPG, as sops does it: the data key is encrypted and decrypted by the
//! `gpg` binary (or `SOPS_GPG_EXEC`) with the user's keyring (`GNUPGHOME`), so gpg-agent,
//! pinentry and OpenPGP smart cards work unchanged. Encryption needs only the public key.
//!
//! [`gpg`] runs the binary with the data on pipes, [`error`] turns its failures into clear
//! messages, [`source`] is the `pgp` key source.

pub mod error;
pub mod gpg;
pub mod source;
