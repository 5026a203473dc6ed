//! Passphrase-protected identity files, as sops 3.11 reads them: an age file (binary or
//! armored) encrypted with a passphrase whose plaintext is an identity file. The
//! passphrase is asked for through the [`AgeUi`](super::AgeUi) the first time the
//! identities are needed (as age and sops do), and the opened identities (or the failure)
//! are kept for the rest of the process.

use super::identity::{self, Identity};
use super::ui::Callbacks;
use age::armor::ArmoredReader;
use std::io::Read;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// One passphrase-protected identity file.
pub(crate) struct EncryptedIdentities {
    data: Vec<u8>,
    /// Where it came from (`SOPS_AGE_KEY_FILE`, a path), for prompts and errors.
    origin: String,
    opened: OnceLock<Result<Vec<Identity>, String>>,
}

impl EncryptedIdentities {
    /// Whether `data` is an age file rather than an identity list (sops looks at the first
    /// 14 bytes the same way).
    pub(crate) fn is_encrypted(data: &[u8]) -> bool {
        data.starts_with(b"age-encryption") || data.starts_with(b"-----BEGIN AGE")
    }

    /// An identity file to open when first needed.
    pub(crate) fn new(data: &[u8], origin: &str) -> Self {
        Self {
            data: data.to_vec(),
            origin: origin.to_string(),
            opened: OnceLock::new(),
        }
    }

    /// The identities inside, asking for the passphrase the first time.
    pub(crate) fn open(&self, ui: &Callbacks) -> Result<&[Identity], &str> {
        self.opened
            .get_or_init(|| self.decrypt(ui))
            .as_deref()
            .map_err(String::as_str)
    }

    fn decrypt(&self, ui: &Callbacks) -> Result<Vec<Identity>, String> {
        let origin = &self.origin;
        let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(&self.data[..]))
            .map_err(|e| format!("failed to read '{origin}': {e}"))?;
        if !decryptor.is_scrypt() {
            return Err(format!(
                "'{origin}' is an age file that is not encrypted with a passphrase, not an identity file"
            ));
        }
        let passphrase = ui
            .ui
            .request_secret(&format!("Enter passphrase for identity '{origin}':"))
            .map_err(|e| format!("could not read passphrase for identity '{origin}': {e}"))?;
        let identity = age::scrypt::Identity::new(passphrase);
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => {
                    format!("incorrect passphrase for identity '{origin}'")
                }
                other => format!("failed to decrypt identity file '{origin}': {other}"),
            })?;
        let mut plain = Zeroizing::new(Vec::new());
        reader
            .read_to_end(&mut plain)
            .map_err(|e| format!("failed to decrypt identity file '{origin}': {e}"))?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| format!("failed to parse '{origin}' age identities: not text"))?;
        identity::parse_text(text)
            .map_err(|e| format!("failed to parse '{origin}' age identities: {e}"))
    }
}
