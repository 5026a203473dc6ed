//! Vault transit errors: each names the vault and the key path and says what to do;
//! server text is quoted only through [`redact`](crate::keysource::rest::redact), and the
//! token never appears.

use thiserror::Error;

/// The operation that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Encrypting the data key.
    Encrypt,
    /// Decrypting the data key.
    Decrypt,
    /// A read-only check (`leafcrypt doctor`).
    Read,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
            Operation::Read => "read",
        })
    }
}

/// A Vault transit request failed.
#[derive(Debug, Error)]
pub enum VaultError {
    /// Bad local configuration (CA bundle, timeout, token file).
    #[error("{0}")]
    Config(String),
    /// Vault is sealed (503 "Vault is sealed").
    #[error(
        "Vault at {address} is sealed: cannot {operation} with transit key '{path}'; unseal it \
         (vault operator unseal) and retry"
    )]
    Sealed {
        /// `host:port`.
        address: String,
        /// `engine/keys/name`.
        path: String,
        /// What was attempted.
        operation: Operation,
    },
    /// 403: no token, an invalid one, or a policy without the capability.
    #[error(
        "Vault at {address} denied {operation} with transit key '{path}' (403 permission denied): \
         {hint}"
    )]
    Denied {
        /// `host:port`.
        address: String,
        /// `engine/keys/name`.
        path: String,
        /// What was attempted.
        operation: Operation,
        /// What to do.
        hint: String,
    },
    /// The transit key does not exist.
    #[error(
        "Vault at {address} has no transit key '{path}' (encryption key not found): create it \
         (vault write -f {create}) or fix the key URL"
    )]
    KeyNotFound {
        /// `host:port`.
        address: String,
        /// `engine/keys/name`.
        path: String,
        /// The path to create.
        create: String,
    },
    /// 404 from the router: no engine is mounted at the key's engine path.
    #[error(
        "Vault at {address} has no engine mounted at '{engine}' (for transit key '{path}'): \
         enable it (vault secrets enable -path={engine} transit) or fix the key URL"
    )]
    NoEngine {
        /// `host:port`.
        address: String,
        /// `engine/keys/name`.
        path: String,
        /// The engine path.
        engine: String,
    },
    /// Any other answer.
    #[error("Vault at {address} refused to {operation} with transit key '{path}': HTTP {status}: {message}")]
    Server {
        /// `host:port`.
        address: String,
        /// `engine/keys/name`.
        path: String,
        /// What was attempted.
        operation: Operation,
        /// HTTP status.
        status: u16,
        /// Vault's `errors`, quoted through redaction.
        message: String,
    },
    /// No answer (connection refused, TLS, timeout).
    #[error("cannot reach Vault at {address} to {operation} with transit key '{path}': {detail}; check the key's vault_address and that Vault is running")]
    Transport {
        /// `host:port`.
        address: String,
        /// `engine/keys/name`.
        path: String,
        /// What was attempted.
        operation: Operation,
        /// The root cause.
        detail: String,
    },
    /// A 2xx answer without the expected field.
    #[error("Vault at {address} answered {operation} with transit key '{path}' without {what}")]
    BadAnswer {
        /// `host:port`.
        address: String,
        /// `engine/keys/name`.
        path: String,
        /// What was attempted.
        operation: Operation,
        /// What was missing or malformed.
        what: String,
    },
}
