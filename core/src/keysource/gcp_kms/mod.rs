//! GCP Cloud KMS as a key-encryption key, byte-compatible with sops 3.11's `gcp_kms`.
//!
//! Entries hold `resource_id` (`projects/*/locations/*/keyRings/*/cryptoKeys/*`),
//! `created_at` and `enc`: standard padded base64 of the ciphertext Cloud KMS returned
//! (sops's layout, kept from its older REST client). The data key is wrapped and unwrapped
//! by the service's `encrypt`/`decrypt` REST operations (the key's primary version encrypts;
//! the ciphertext names the version that decrypts).
//!
//! Feature `gcp-kms`. Modules, one job each:
//! - [`resource`]: resource-ID validation (sops's pattern);
//! - [`credential`]: credentials found as sops and Google's libraries find them, and the
//!   access tokens they yield;
//! - [`client`]: the REST client (`encrypt`, `decrypt`) and its endpoint;
//! - [`error`]: errors naming the resource, the credential tried and what to do;
//! - [`source`]: [`GcpKmsSource`], the `gcp_kms` [`KeySource`](crate::keysource::KeySource).

pub mod client;
pub mod credential;
pub mod error;
pub mod resource;
pub mod source;

pub use client::GcpKmsClient;
pub use error::GcpKmsError;
pub use source::GcpKmsSource;

/// The metadata kind.
pub const KIND: &str = "gcp_kms";

/// Overrides the Cloud KMS endpoint (`host:port`, or a URL such as `http://127.0.0.1:8080`),
/// as newer sops names it.
pub const ENDPOINT_VAR: &str = "SOPS_GCP_KMS_ENDPOINT";

/// Per-request timeout of Cloud KMS and its token endpoints (seconds).
pub const TIMEOUT_VAR: &str = "LEAFCRYPT_GCP_KMS_TIMEOUT";
