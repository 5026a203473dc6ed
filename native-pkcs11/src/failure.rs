//! The CLI's error: a message for humans and the exit code sops would use (one table:
//! [`leafcrypt_core::ExitCode`], by sops's names).

use leafcrypt_core::Error as CoreError;
use leafcrypt_core::ExitCode;
use std::fmt;

/// A failed command: what to print and which exit code to return.
#[derive(Debug)]
pub struct Failure {
    /// Process exit status: sops's for the same failure.
    pub code: ExitCode,
    /// The message; the first line matches sops's where there is one.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A core error, naming `file`.
    pub fn core(file: &str, e: CoreError) -> Self {
        let mut message = e.to_string();
        if !file.is_empty() {
            message = format!("{message}\n  in file: {file}");
        }
        Self {
            code: e.exit_code(),
            message,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Result alias for the CLI.
pub type CliResult<T> = Result<T, Failure>;
