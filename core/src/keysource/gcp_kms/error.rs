//! Errors of the GCP KMS key source. Messages name the resource, the operation, the
//! credential tried and what to do; tokens and keys never appear (server text is quoted
//! through [`redact`](crate::keysource::rest::redact)).

use crate::keysource::KeyError;
use thiserror::Error;

/// A GCP KMS failure.
#[derive(Debug, Error)]
pub enum GcpKmsError {
    /// The resource ID is not a crypto key name.
    #[error("no valid resource ID found in {0:?}: expected projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY")]
    InvalidResource(String),
    /// No credential could be found or loaded.
    #[error("GCP KMS credentials: {0}")]
    Credentials(String),
    /// The token endpoint or metadata server refused or could not be reached.
    #[error("GCP KMS credentials: {credential}: {message}")]
    Token {
        /// The credential tried, e.g. `GOOGLE_APPLICATION_CREDENTIALS=/k.json (service account a@p)`.
        credential: String,
        /// What happened and what to do.
        message: String,
    },
    /// Cloud KMS answered with an error.
    #[error(transparent)]
    Service(Box<ServiceFailure>),
    /// Cloud KMS could not be reached, or its answer could not be read.
    #[error("failed to {op} sops data key with GCP KMS key {resource} at {host}: {message}")]
    Transport {
        /// `encrypt` or `decrypt`.
        op: &'static str,
        /// The crypto key.
        resource: String,
        /// The endpoint's host.
        host: String,
        /// What happened.
        message: String,
    },
    /// The entry is unusable (no `enc`, `enc` not base64).
    #[error("gcp_kms entry for {resource}: {message}")]
    Entry {
        /// The crypto key.
        resource: String,
        /// What is wrong.
        message: String,
    },
}

/// An error answer from Cloud KMS.
#[derive(Debug, Error)]
#[error("failed to {op} sops data key with GCP KMS key {resource} at {host}: {status} {code}: {message} (credential: {credential}){hint}")]
pub struct ServiceFailure {
    /// `encrypt` or `decrypt`.
    pub op: &'static str,
    /// The crypto key.
    pub resource: String,
    /// The endpoint's host.
    pub host: String,
    /// HTTP status.
    pub status: u16,
    /// Google's status name (`PERMISSION_DENIED`, …).
    pub code: String,
    /// The server's message, redacted.
    pub message: String,
    /// The credential used.
    pub credential: String,
    /// What to do, `; …` or empty.
    pub hint: String,
}

impl From<GcpKmsError> for KeyError {
    fn from(e: GcpKmsError) -> Self {
        match e {
            GcpKmsError::InvalidResource(ref id) => KeyError::InvalidKey {
                kind: super::KIND.into(),
                key: id.clone(),
                message: e.to_string(),
            },
            other => KeyError::Failed {
                kind: super::KIND.into(),
                message: other.to_string(),
            },
        }
    }
}

/// What to do about a Cloud KMS error status.
pub(crate) fn hint(status: u16, op: &str) -> String {
    match status {
        401 => "; the credential was refused: renew it (gcloud auth application-default login, a fresh GOOGLE_OAUTH_ACCESS_TOKEN) or point GOOGLE_APPLICATION_CREDENTIALS at a valid key file".into(),
        403 => format!("; grant the credential's identity roles/cloudkms.cryptoKeyEncrypterDecrypter (permission cloudkms.cryptoKeyVersions.useTo{}) on the key, and check the resource ID", if op == "encrypt" { "Encrypt" } else { "Decrypt" }),
        404 => "; check the resource ID (gcloud kms keys list --keyring RING --location LOCATION)".into(),
        400 if op == "decrypt" => "; the data key was not encrypted with this key, or enc is damaged".into(),
        429 | 500..=599 => "; the service is throttling or unavailable: try again later (LEAFCRYPT_GCP_KMS_TIMEOUT sets the per-request timeout)".into(),
        _ => String::new(),
    }
}
