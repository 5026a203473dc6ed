//! Azure Key Vault as a key-encryption key, byte-compatible with sops 3.11's `azure_kv`.
//!
//! The data key is encrypted with the vault key's `RSA-OAEP-256` (locally from the cached
//! public JWK by default, or by the vault's `encrypt` operation) and decrypted by the
//! vault's `decrypt` operation on the version pinned in the file. `enc` is unpadded
//! base64url of the RSA ciphertext.
//!
//! Modules, one job each:
//! - [`key_id`]: `https://{vault}/keys/{name}[/{version}]` identifiers;
//! - [`credential`]: the [`credential::TokenCredential`] trait, the Azure credentials and
//!   the default chain;
//! - [`challenge`]: Key Vault's 401 `WWW-Authenticate` challenge and its resource check;
//! - [`retry`]: backoff with jitter, `Retry-After`;
//! - [`client`]: the REST client (get key, encrypt, decrypt, wrap, unwrap);
//! - [`error`]: errors that say which permission, key or version is missing;
//! - [`local`]: the public-key cache and local RSA-OAEP-256 encryption;
//! - [`text`]: `encrypt_text`/`decrypt_text` for data at rest without a file;
//! - [`source`]: [`source::AzureKvSource`], the `azure_kv` [`KeySource`](crate::keysource::KeySource);
//! - [`platform`] and [`http`]: time, sleeping and the HTTP client on each target.

pub mod credential;
pub mod http;
pub mod platform;
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod test_server;

pub mod challenge;
pub mod client;
pub mod error;
pub mod key_id;
pub mod local;
pub mod retry;
pub mod source;
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod test_support;
pub mod text;

pub use client::{ClientOptions, KeyVaultClient};
pub use error::KvError;
pub use key_id::KeyId;
pub use source::AzureKvSource;
