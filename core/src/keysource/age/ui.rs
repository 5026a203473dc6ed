//! How the age key source talks to the user: SSH key passphrases and age plugin
//! requests (messages, confirmations, values). The core has no terminal; the front end
//! supplies an [`AgeUi`] (the CLI asks on `/dev/tty`), and [`NoUi`] refuses every request.

use age::secrecy::SecretString;
use std::sync::{Arc, Mutex};

/// The user interface age needs. Every request may fail (no terminal): the error says why
/// and ends up in the decryption error, never a secret.
pub trait AgeUi: Send + Sync {
    /// Shows a message (e.g. "touch your YubiKey").
    fn message(&self, text: &str);
    /// Asks a yes/no question; `Err` when nobody can answer.
    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Result<bool, String>;
    /// Asks for a value that may be echoed.
    fn request_public(&self, prompt: &str) -> Result<String, String>;
    /// Asks for a secret (passphrase, PIN) without echo.
    fn request_secret(&self, prompt: &str) -> Result<SecretString, String>;
}

/// A user interface without a user: messages are dropped, requests fail.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoUi;

const NO_UI: &str = "no terminal to ask on";

impl AgeUi for NoUi {
    fn message(&self, _: &str) {}
    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Result<bool, String> {
        Err(NO_UI.into())
    }
    fn request_public(&self, _: &str) -> Result<String, String> {
        Err(NO_UI.into())
    }
    fn request_secret(&self, _: &str) -> Result<SecretString, String> {
        Err(NO_UI.into())
    }
}

/// An [`AgeUi`] as the `age` crate's callbacks (for plugins). A failed request is
/// remembered (not printed, as sops prints none) and named in the decryption error.
#[derive(Clone)]
pub(crate) struct Callbacks {
    pub(crate) ui: Arc<dyn AgeUi>,
    failed: Arc<Mutex<Vec<String>>>,
}

impl Callbacks {
    pub(crate) fn new(ui: Arc<dyn AgeUi>) -> Self {
        Self {
            ui,
            failed: Arc::default(),
        }
    }

    fn warn<T>(&self, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|e| {
                if let Ok(mut failed) = self.failed.lock() {
                    failed.push(format!("an age plugin asked for input, which failed: {e}"));
                }
            })
            .ok()
    }

    /// Notes a problem met while unwrapping that did not stop it (a bad SSH key file),
    /// for the decryption error.
    pub(crate) fn note(&self, message: &str) {
        if let Ok(mut failed) = self.failed.lock() {
            if !failed.iter().any(|f| f == message) {
                failed.push(message.to_string());
            }
        }
    }

    /// The failed requests and notes since the last call (for error messages).
    pub(crate) fn take_failures(&self) -> Vec<String> {
        self.failed
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }
}

impl age::Callbacks for Callbacks {
    fn display_message(&self, message: &str) {
        self.ui.message(&format!("age: plugin: {message}"));
    }

    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        self.warn(self.ui.confirm(message, yes, no))
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        self.warn(self.ui.request_public(description))
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        self.warn(self.ui.request_secret(description))
    }
}
