//! Failures as JS sees them: an `Error` with a stable `code`, the sops `exitCode` and,
//! where there is one, the key `path`.

use js_sys::Reflect;
use leafcrypt_core::{Error, ExitCode};
use thiserror::Error as ThisError;
use wasm_bindgen::{JsCast, JsValue};

/// Everything the bindings can fail with.
#[derive(Debug, ThisError)]
pub enum Failure {
    /// The engine failed (parse, decrypt, MAC, key sources, …).
    #[error(transparent)]
    Core(#[from] Error),
    /// An option is missing, of the wrong type or contradicts another.
    #[error("invalid options: {0}")]
    Options(String),
    /// A feature this build does not contain.
    #[error("{0}")]
    NotAvailable(String),
}

impl Failure {
    /// The stable error code exposed to JS as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Options(_) => "INVALID_OPTIONS",
            Failure::NotAvailable(_) => "NOT_AVAILABLE",
            Failure::Core(e) => match e {
                Error::Parse { .. } | Error::EmptyFile => "PARSE",
                Error::AlreadyEncrypted => "ALREADY_ENCRYPTED",
                Error::MetadataNotFound(_) => "METADATA_NOT_FOUND",
                Error::Metadata(_) => "METADATA",
                Error::EncryptTree { .. } => "ENCRYPT_TREE",
                Error::DecryptValue { .. } => "DECRYPT_VALUE",
                Error::MacDecrypt(_) | Error::MacMismatch { .. } => "MAC_MISMATCH",
                Error::DataKey(_) | Error::Key(_) | Error::Wrap(_) => "NO_KEY",
                Error::Strict(_) => "STRICT",
                Error::Config(_) | Error::DuplicateDecryptionKeyType(_) => "CONFIG",
                Error::TreePath(_) => "TREE_PATH",
                Error::Emit(_) => "EMIT",
            },
        }
    }

    /// The exit code the sops CLI uses for this failure (1 for binding-level failures).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Core(e) => e.exit_code(),
            Failure::Options(_) | Failure::NotAvailable(_) => ExitCode::ErrorGeneric,
        }
    }

    /// The key path of the offending value, when the engine names one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Failure::Core(Error::DecryptValue { path, .. } | Error::EncryptTree { path, .. })
                if !path.is_empty() =>
            {
                Some(path)
            }
            _ => None,
        }
    }

    /// A JS `Error` carrying `code`, `exitCode` and `path` (the glue re-throws it as a
    /// `LeafcryptError`).
    pub fn into_js(self) -> JsValue {
        let error = js_sys::Error::new(&self.to_string());
        // Setting a property on a fresh, extensible object cannot fail.
        let _ = Reflect::set(&error, &"code".into(), &self.code().into());
        let _ = Reflect::set(&error, &"exitCode".into(), &self.exit_code().code().into());
        if let Some(path) = self.path() {
            let _ = Reflect::set(&error, &"path".into(), &path.into());
        }
        error.into()
    }
}

/// The result type of the bindings' internals.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// The message of a value thrown by JS code (an `Error`'s `message`, else its string form).
pub fn js_message(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value
        .as_string()
        .unwrap_or_else(|| format!("{value:?}").chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use leafcrypt_core::keysource::KeyError;

    #[test]
    fn codes_and_exit_codes_follow_the_engine_error() {
        let cases: [(Failure, &str, i32); 6] = [
            (
                Error::MacMismatch {
                    stored: String::new(),
                    computed: "AB".into(),
                }
                .into(),
                "MAC_MISMATCH",
                51,
            ),
            (Error::MacDecrypt("x".into()).into(), "MAC_MISMATCH", 51),
            (Error::DataKey("report".into()).into(), "NO_KEY", 128),
            (
                Error::Key(KeyError::Failed {
                    kind: "age".into(),
                    message: "m".into(),
                })
                .into(),
                "NO_KEY",
                128,
            ),
            (
                Error::Parse {
                    format: "yaml",
                    line: Some(3),
                    message: "bad".into(),
                }
                .into(),
                "PARSE",
                2,
            ),
            (Failure::Options("x".into()), "INVALID_OPTIONS", 1),
        ];
        for (failure, code, exit) in cases {
            assert_eq!(failure.code(), code, "{failure}");
            assert_eq!(failure.exit_code(), exit, "{failure}");
            assert_eq!(failure.path(), None);
        }
    }

    #[test]
    fn the_key_path_is_exposed_when_there_is_one() {
        let failure: Failure = Error::DecryptValue {
            path: "db:password".into(),
            message: "boom".into(),
        }
        .into();
        assert_eq!(failure.code(), "DECRYPT_VALUE");
        assert_eq!(failure.exit_code(), 25);
        assert_eq!(failure.path(), Some("db:password"));
        let top: Failure = Error::EncryptTree {
            path: String::new(),
            message: "x".into(),
        }
        .into();
        assert_eq!(top.path(), None);
    }
}
