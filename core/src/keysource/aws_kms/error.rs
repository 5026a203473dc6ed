//! AWS KMS errors that say what to do: which KMS action on which key was denied, which
//! credentials were tried and why each failed, which host could not be reached. Messages
//! never carry secret keys, session tokens or key material.

use super::key::KIND;
use crate::keysource::KeyError;
use thiserror::Error;

/// A KMS operation, named as IAM names its permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `kms:Encrypt`.
    Encrypt,
    /// `kms:Decrypt`.
    Decrypt,
    /// `kms:DescribeKey` (no side effect: `leafcrypt doctor`).
    DescribeKey,
}

impl Action {
    /// The IAM action (`kms:Encrypt`).
    pub fn iam(self) -> &'static str {
        match self {
            Self::Encrypt => "kms:Encrypt",
            Self::Decrypt => "kms:Decrypt",
            Self::DescribeKey => "kms:DescribeKey",
        }
    }

    /// The JSON API target operation (`Encrypt`).
    pub fn operation(self) -> &'static str {
        match self {
            Self::Encrypt => "Encrypt",
            Self::Decrypt => "Decrypt",
            Self::DescribeKey => "DescribeKey",
        }
    }
}

/// Why an AWS KMS wrap or unwrap failed.
#[derive(Debug, Error)]
pub enum AwsError {
    /// The entry does not describe a usable key.
    #[error("no valid ARN found in '{arn}'")]
    InvalidArn {
        /// The ARN as written.
        arn: String,
    },
    /// No credentials could be obtained.
    #[error("no AWS credentials for {key}: {detail}")]
    Credentials {
        /// The key ARN.
        key: String,
        /// Each credential tried and why it failed (or the one that failed).
        detail: String,
    },
    /// STS refused or failed to assume the entry's role.
    #[error("failed to assume role '{role}' for {key}: {detail}")]
    AssumeRole {
        /// The role ARN.
        role: String,
        /// The key ARN.
        key: String,
        /// STS's answer.
        detail: String,
    },
    /// KMS denied the action.
    #[error(
        "{} on {key} was denied ({code}): {message}; grant {} on this key to the caller ({caller})",
        action.iam(),
        action.iam()
    )]
    AccessDenied {
        /// The action.
        action: Action,
        /// The key ARN.
        key: String,
        /// KMS's error code.
        code: String,
        /// KMS's message.
        message: String,
        /// Which credentials were used.
        caller: String,
    },
    /// KMS answered with another error.
    #[error("{} on {key} failed: HTTP {status} {code}: {message}{hint}", action.iam())]
    Service {
        /// The action.
        action: Action,
        /// The key ARN.
        key: String,
        /// HTTP status.
        status: u16,
        /// KMS's error code (`__type` without namespace).
        code: String,
        /// KMS's message.
        message: String,
        /// What to do, when known (leading `; `).
        hint: String,
    },
    /// The request could not be sent or the answer could not be read.
    #[error("{} on {key}: {host}: {detail}", action.iam())]
    Transport {
        /// The action.
        action: Action,
        /// The key ARN.
        key: String,
        /// The endpoint host.
        host: String,
        /// What went wrong.
        detail: String,
    },
    /// `enc` is not standard base64.
    #[error("error base64-decoding encrypted data key of {key}: {detail}")]
    BadEnc {
        /// The key ARN.
        key: String,
        /// The decoder's message.
        detail: String,
    },
}

impl AwsError {
    /// The hint for a KMS error code.
    pub fn hint_for(code: &str) -> &'static str {
        match code {
            "InvalidCiphertextException" => {
                "; the encryption context or the key does not match the one that encrypted"
            }
            "IncorrectKeyException" => "; the file was encrypted with another KMS key",
            "NotFoundException" => "; check the key ARN and its region",
            "DisabledException" => "; enable the key",
            "KMSInvalidStateException" => "; the key is pending deletion or import",
            "UnrecognizedClientException" | "InvalidSignatureException" => {
                "; the credentials are not valid for this account or region"
            }
            "ExpiredTokenException" => "; the session token expired: refresh the credentials",
            _ => "",
        }
    }
}

impl From<AwsError> for KeyError {
    fn from(e: AwsError) -> Self {
        match e {
            AwsError::InvalidArn { ref arn } => KeyError::InvalidKey {
                kind: KIND.into(),
                key: arn.clone(),
                message: e.to_string(),
            },
            e => KeyError::Failed {
                kind: KIND.into(),
                message: e.to_string(),
            },
        }
    }
}
