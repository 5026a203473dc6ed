//! The one error type of the core, with the exit code sops uses for each failure.

use crate::exit::ExitCode;
use thiserror::Error;

/// A failure in the format engine or a key source.
///
/// Messages begin like sops's own (so scripts that grep them keep working) and name the
/// key path where there is one. The file name is added by the front end.
#[derive(Debug, Error)]
pub enum Error {
    /// The input could not be parsed. `line` is 1-based where the parser knows it. Displayed
    /// as sops does when encrypting; [`Error::parse_detail`] gives the parser's own text.
    #[error("Error unmarshalling file: {}{}", if matches!(*format, "json" | "ini") { "Could not unmarshal input data: " } else { "" }, go_parse_message(format, *line, message))]
    Parse {
        /// Store name: `yaml`, `json`, `dotenv`, `ini`, `binary`, `toml`.
        format: &'static str,
        /// 1-based line of the problem, if known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A YAML file with no document at all.
    #[error("File cannot be completely empty, it must contain at least one document")]
    EmptyFile,
    /// A plaintext that already contains a `sops` entry.
    #[error("The file you have provided contains a top-level entry called 'sops', or for flat file formats top-level entries starting with 'sops_'. This is reserved for use by sops and leafcrypt; the file may already be encrypted")]
    AlreadyEncrypted,
    /// The file has no (or unusable) `sops` metadata.
    #[error("sops metadata not found{}", if .0.is_empty() { String::new() } else { format!(": {}", .0) })]
    MetadataNotFound(String),
    /// The `sops` metadata is present but invalid.
    #[error("invalid sops metadata: {0}")]
    Metadata(String),
    /// A tree that cannot be encrypted (non-string key, unsupported value).
    #[error("Error encrypting tree: {message}{}", at(path))]
    EncryptTree {
        /// Key path of the offending node.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A value that cannot be decrypted (bad format, GCM failure, bad type).
    #[error(
        "Error decrypting tree: Error walking tree: Could not decrypt value: {message}{}",
        at(path)
    )]
    DecryptValue {
        /// Key path of the offending value.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The stored MAC does not decrypt under the data key and `lastmodified`.
    #[error("Cannot decrypt MAC: {0}")]
    MacDecrypt(String),
    /// The MAC computed over the values differs from the stored one.
    #[error("MAC mismatch. File has {}, computed {computed}", if stored.is_empty() { "no MAC".to_string() } else { stored.clone() })]
    MacMismatch {
        /// The stored MAC (empty: none).
        stored: String,
        /// The MAC computed from the tree.
        computed: String,
    },
    /// No key group could provide the data key.
    #[error("Failed to get the data key required to decrypt the SOPS file.\n{0}")]
    DataKey(String),
    /// Beyond sops: `--strict` rejected a tampering sops lets through.
    #[error("Strict check failed: {0}")]
    Strict(String),
    /// A key source failed.
    #[error(transparent)]
    Key(#[from] crate::keysource::KeyError),
    /// A key source could not wrap the new data key (sops's wording and exit code).
    #[error("Could not generate data key: [{0}]")]
    Wrap(crate::keysource::KeyError),
    /// Invalid configuration (`.sops.yaml`, selectors, thresholds).
    #[error("{0}")]
    Config(String),
    /// A tree path (`["a"][0]`) that is malformed or does not exist.
    #[error("{0}")]
    TreePath(String),
    /// The tree cannot be written in the output format (a nested value in dotenv, a
    /// non-finite number in JSON).
    #[error("Error dumping file: {0}")]
    Emit(String),
    /// A `--decryption-order` that names a key kind twice.
    #[error("Duplicate decryption key type: {0}")]
    DuplicateDecryptionKeyType(String),
}

/// The parser's message in Go's words: go-yaml prefixes `yaml: line N:` to syntax errors
/// and lists type errors under `yaml: unmarshal errors:`; the other stores name the line
/// after the message.
fn go_parse_message(format: &str, line: Option<usize>, message: &str) -> String {
    match (format, line) {
        ("yaml", Some(l))
            if message.starts_with("cannot unmarshal") || message.starts_with("mapping key") =>
        {
            format!("yaml: unmarshal errors:\n  line {l}: {message}")
        }
        ("yaml", Some(l)) => format!("yaml: line {l}: {message}"),
        ("toml", Some(l)) => format!("toml: line {l}: {message}"),
        (_, Some(l)) => format!("{message} (line {l})"),
        (_, None) => message.to_string(),
    }
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" (at key path '{path}')")
    }
}

impl Error {
    /// For parse errors, the parser's message with its line, as sops prints it after
    /// `Error unmarshalling input <format>:` when reading an encrypted file.
    pub fn parse_detail(&self) -> Option<(&'static str, String)> {
        match self {
            Error::Parse {
                format,
                line,
                message,
            } => Some((format, go_parse_message(format, *line, message))),
            _ => None,
        }
    }

    /// The exit status sops uses for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Parse { .. } => ExitCode::CouldNotReadInputFile,
            Error::EmptyFile => ExitCode::NeedAtLeastOneDocument,
            Error::AlreadyEncrypted => ExitCode::FileAlreadyEncrypted,
            Error::MetadataNotFound(_) | Error::Metadata(_) => ExitCode::ErrorGeneric,
            Error::EncryptTree { .. } => ExitCode::ErrorEncryptingTree,
            Error::DecryptValue { .. } => ExitCode::ErrorDecryptingTree,
            Error::MacDecrypt(_) | Error::MacMismatch { .. } => ExitCode::MacMismatch,
            Error::DataKey(_) | Error::Key(_) => ExitCode::CouldNotRetrieveKey,
            Error::Strict(_) => ExitCode::MacMismatch,
            Error::Wrap(_) | Error::Config(_) => ExitCode::ErrorGeneric,
            Error::TreePath(_) => ExitCode::InvalidTreePathFormat,
            Error::Emit(_) => ExitCode::ErrorDumpingTree,
            Error::DuplicateDecryptionKeyType(_) => ExitCode::DuplicateDecryptionKeyType,
        }
    }
}

/// Result alias for the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
