//! Reading the input and writing the output of a command.

use crate::atomic;
use crate::failure::{CliResult, Failure};
use leafcrypt_core::ExitCode;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where the input comes from.
pub struct Input {
    /// The file, or `None` for stdin.
    pub path: Option<PathBuf>,
    /// The name used for messages, config rules and format detection.
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Reads `path` (stdin when `None` or `-`).
pub fn read_input(path: Option<&Path>, name_override: Option<&Path>) -> CliResult<Input> {
    let path = path.filter(|p| p.as_os_str() != "-");
    let bytes = match path {
        Some(p) => {
            if !p.exists() {
                return Err(Failure::new(
                    ExitCode::NoFileSpecified,
                    format!(
                        "Error: cannot operate on non-existent file \"{}\"",
                        absolute(p).display()
                    ),
                ));
            }
            let bytes = std::fs::read(p).map_err(|e| {
                Failure::new(
                    ExitCode::CouldNotReadInputFile,
                    format!("Error reading {}: {e}", p.display()),
                )
            })?;
            atomic::remember_read(p, &bytes);
            bytes
        }
        None => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| {
                Failure::new(
                    ExitCode::CouldNotReadInputFile,
                    format!("Error reading stdin: {e}"),
                )
            })?;
            buf
        }
    };
    let name = name_override
        .or(path)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    Ok(Input {
        path: path.map(Path::to_path_buf),
        name,
        bytes,
    })
}

/// Where the output goes.
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, written atomically; `private` selects 0600 for a new file.
    File {
        /// The target.
        path: PathBuf,
        /// Whether the content is plaintext (new file gets mode 0600).
        private: bool,
    },
}

impl Destination {
    /// Writes `data` to this destination.
    pub fn write(&self, data: &[u8]) -> CliResult<()> {
        match self {
            Destination::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(data).and_then(|_| out.flush()).map_err(|e| {
                    Failure::new(
                        ExitCode::CouldNotReadInputFile,
                        format!("Error writing output: {e}"),
                    )
                })
            }
            Destination::File { path, private } => {
                let mode = if *private {
                    atomic::PRIVATE
                } else {
                    atomic::SHAREABLE
                };
                atomic::write(path, data, mode).map_err(|e| {
                    Failure::new(
                        ExitCode::CouldNotWriteOutputFile,
                        format!("Could not write output file {}: {e}", path.display()),
                    )
                })
            }
        }
    }
}

/// Writes an encrypted file back in place (atomically, as [`Destination::File`]) and logs
/// sops's `File written successfully` under `--verbose`.
pub fn write_back(path: &Path, data: &[u8]) -> CliResult<()> {
    Destination::File {
        path: path.to_path_buf(),
        private: false,
    }
    .write(data)?;
    crate::log::sops(
        "CMD",
        crate::log::Level::Info,
        "File written successfully",
        &[],
    );
    Ok(())
}

/// `path` made absolute against the working directory (for messages, as sops prints them).
pub fn absolute(path: &Path) -> PathBuf {
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Fails with sops's read error (`Error reading file: open …`) and `code` when `path` does
/// not exist; the commands that read their file directly use this instead of
/// [`read_input`]'s `cannot operate on non-existent file` (exit 100).
pub fn require_file(path: &Path, code: ExitCode) -> CliResult<()> {
    if path.exists() {
        return Ok(());
    }
    Err(Failure::new(
        code,
        format!(
            "Error reading file: open {}: no such file or directory",
            absolute(path).display()
        ),
    ))
}
