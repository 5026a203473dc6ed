//! The age key source's user interface on the controlling terminal (`/dev/tty`), as
//! sops's age does it: SSH key passphrases and age plugin requests are asked there with
//! echo off, messages go to stderr. Without a terminal every request fails with the reason.

use leafcrypt_core::keysource::age::AgeUi;
use zeroize::Zeroizing;

/// Prompts on `/dev/tty`.
pub struct TtyUi;

impl TtyUi {
    /// Writes `prompt`, reads one line (echo off when `secret`).
    fn ask(prompt: &str, secret: bool) -> Result<Zeroizing<String>, String> {
        crate::tty::ask(prompt, secret).map_err(|e| match e {
            crate::tty::TtyError::Open(e) => {
                format!("standard input is not a terminal, and /dev/tty is not available: {e}")
            }
            crate::tty::TtyError::Io(e) => format!("reading from the terminal failed: {e}"),
        })
    }
}

impl AgeUi for TtyUi {
    fn message(&self, text: &str) {
        eprintln!("{text}");
    }

    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Result<bool, String> {
        match no {
            None => Self::ask(&format!("{message} (press enter for {yes:?})"), false).map(|_| true),
            Some(no) => loop {
                let answer = Self::ask(
                    &format!("{message} (press [1] for {yes:?} or [2] for {no:?})"),
                    false,
                )?;
                match answer.trim() {
                    "1" => return Ok(true),
                    "2" => return Ok(false),
                    other => eprintln!("age: warning: invalid selection {other:?}"),
                }
            },
        }
    }

    fn request_public(&self, prompt: &str) -> Result<String, String> {
        Self::ask(prompt, false).map(|s| s.to_string())
    }

    fn request_secret(&self, prompt: &str) -> Result<age::secrecy::SecretString, String> {
        Self::ask(prompt, true).map(|s| age::secrecy::SecretString::from(s.to_string()))
    }
}
