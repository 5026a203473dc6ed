//! AWS KMS as a key-encryption key, byte-compatible with sops 3.11's `kms` entries.
//!
//! The data key is encrypted by KMS `Encrypt` (JSON API, SigV4) with the entry's ARN and
//! encryption context; `enc` is the standard-base64 ciphertext blob. Decryption is KMS
//! `Decrypt` in the ARN's region, after assuming the entry's `role` through STS when it
//! has one, with the credentials of its `aws_profile` or the default chain.
//!
//! Modules, one job each:
//! - [`key`]: entries, ARNs and their region, encryption contexts;
//! - [`credentials`]: the AWS credential providers and the SDKs' default chain;
//! - [`sign`]: SigV4 through the `aws-sigv4` crate;
//! - [`transport`]: endpoints, retries of throttling, STS's XML;
//! - [`client`]: the KMS client (Encrypt, Decrypt);
//! - [`error`]: errors naming the action, the key and the credentials tried;
//! - [`source`]: [`AwsKmsSource`], the `kms` [`KeySource`](crate::keysource::KeySource).

pub mod client;
pub mod credentials;
pub mod error;
pub mod key;
pub mod sign;
pub mod source;
pub mod transport;

pub use client::KmsClient;
pub use credentials::{AwsCredentials, AwsEnv, CredentialProvider};
pub use error::AwsError;
pub use key::KmsKey;
pub use source::AwsKmsSource;
