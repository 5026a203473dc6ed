//! `pgp` options: OpenPGP keys given as armored text (the core's pure-Rust `PgpSource`).
//!
//! ```text
//! pgp: {
//!   publicKeys?: string | string[]    // armored public keys to encrypt to
//!   privateKeys?: string | string[]   // armored private keys to decrypt with
//!   passphrase?: string               // unlocks protected private keys
//!   recipients?: string | string[]    // fingerprints to encrypt for (default: every public key)
//! }
//! ```
//!
//! The passphrase is moved into a zeroizing buffer at once (the JS string itself is the
//! caller's and cannot be wiped from Rust).

use crate::failure::{Failure, Result};
use crate::options::Options;
use leafcrypt_core::keysource::pgp::{entry, normalize_fingerprint, PgpSource};
use leafcrypt_core::keysource::KeyEntry;
use zeroize::Zeroizing;

/// The PGP source and the fingerprints to encrypt for, read from `options.pgp`.
pub struct Pgp {
    /// Every key given; unwraps with the private keys.
    pub source: PgpSource,
    /// `pgp.recipients`, or the primary fingerprints of `pgp.publicKeys`.
    pub recipients: Vec<String>,
}

impl Pgp {
    /// Reads `options.pgp` (an empty source when absent).
    pub fn from_options(options: &Options) -> Result<Self> {
        let pgp = options.object("pgp")?;
        let mut source = PgpSource::new();
        for text in pgp.strings("privateKeys")? {
            source
                .add_private_keys_text(&text)
                .map_err(|e| Failure::Options(format!("options.pgp.privateKeys: {e}")))?;
        }
        let mut given = Vec::new();
        for text in pgp.strings("publicKeys")? {
            for fp in source
                .add_public_keys_text(&text)
                .map_err(|e| Failure::Options(format!("options.pgp.publicKeys: {e}")))?
            {
                if !given.contains(&fp) {
                    given.push(fp);
                }
            }
        }
        if let Some(passphrase) = pgp.string("passphrase")? {
            source.set_passphrase(Zeroizing::new(passphrase));
        }
        let recipients = if pgp.has("recipients")? {
            fingerprints(&pgp.strings("recipients")?, "options.pgp.recipients")?
        } else {
            given
        };
        Ok(Self { source, recipients })
    }
}

/// `fps` (comma-separated lists allowed, as `--pgp` takes them), each checked to be a full
/// fingerprint; kept as given without spaces, as sops stores them.
pub fn fingerprints(fps: &[String], what: &str) -> Result<Vec<String>> {
    fps.iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|fp| !fp.is_empty())
        .map(|fp| {
            normalize_fingerprint(fp)
                .map(|_| fp.replace(' ', ""))
                .map_err(|e| Failure::Options(format!("{what}: {e}")))
        })
        .collect()
}

/// The key description of each fingerprint in `fps`.
pub fn entries(fps: &[String], what: &str) -> Result<Vec<KeyEntry>> {
    Ok(fingerprints(fps, what)?
        .iter()
        .map(|fp| entry(fp))
        .collect())
}
