//! The CLI's error: a message for humans and the exit code sops would use.

use leafcrypt_core::Error as CoreError;
use std::fmt;

/// A failed command: what to print and which exit code to return.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code (sops's codes where sops has one).
    pub code: i32,
    /// The message; the first line matches sops's where there is one.
    pub message: String,
}

/// sops's exit code for a file that does not exist.
pub const NO_FILE: i32 = 100;
/// sops's exit code for invalid or conflicting arguments.
pub const BAD_ARGS: i32 = 8;
/// sops's generic error code.
pub const GENERIC: i32 = 1;
/// Could not read a file.
pub const IO: i32 = 2;
/// sops's exit code for an output file that cannot be written.
pub const WRITE: i32 = 3;
/// sops's exit code for a malformed `set`/`unset` path or value.
pub const INVALID_SET: i32 = 7;
/// sops's exit code for an editor that cannot be run or fails.
pub const EDITOR: i32 = 201;

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
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
