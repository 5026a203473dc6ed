//! Azure Key Vault as a key-encryption key, byte-compatible with sops 3.11's `azure_kv`.
//!
//! The data key is encrypted with the vault key's `RSA-OAEP-256` (locally from the cached
//! public JWK by default, or by the vault's `encrypt` operation) and decrypted by the
//! vault's `decrypt` operation on the version pinned in the file. `enc` is unpadded
//! base64url of the RSA ciphertext.
//!
//! Feature `azure-kv` (default). Without it only [`key_id`] remains: the `.sops.yaml`
//! and `--azure-kv` URL syntax is part of the file format, parsed whatever the backends.
//!
//! Modules, one job each:
//! - [`key_id`]: `https://{vault}/keys/{name}[/{version}]` identifiers;
//! - [`credential`]: the [`credential::TokenCredential`] trait, the Azure credentials and
//!   the default chain;
//! - [`challenge`]: Key Vault's 401 `WWW-Authenticate` challenge and its resource check;
//! - [`client`]: the REST client (get key, encrypt, decrypt, wrap, unwrap);
//! - [`error`]: errors that say which permission, key or version is missing;
//! - [`local`]: the public-key cache and local RSA-OAEP-256 encryption;
//! - [`text`]: `encrypt_text`/`decrypt_text` for data at rest without a file;
//! - [`event`]: Event Grid deliveries (a key's new version) and the entries they concern;
//! - [`source`]: [`source::AzureKvSource`], the `azure_kv` [`KeySource`](crate::keysource::KeySource);
//! - `encoding`: base64url as Key Vault writes it.
//!
//! HTTP, retries with `Retry-After`, token caching, the clock and redaction are the shared
//! REST plumbing in [`rest`](crate::keysource::rest).

pub mod key_id;
pub use key_id::KeyId;

#[cfg(feature = "azure-kv")]
pub mod challenge;
#[cfg(feature = "azure-kv")]
pub mod client;
#[cfg(feature = "azure-kv")]
pub mod credential;
#[cfg(feature = "azure-kv")]
pub(crate) mod encoding;
#[cfg(feature = "azure-kv")]
pub mod error;
#[cfg(feature = "azure-kv")]
pub mod event;
#[cfg(feature = "azure-kv")]
pub mod local;
#[cfg(feature = "azure-kv")]
pub mod source;
#[cfg(all(feature = "azure-kv", test, not(target_arch = "wasm32")))]
pub(crate) mod test_support;
#[cfg(feature = "azure-kv")]
pub mod text;

#[cfg(feature = "azure-kv")]
pub use client::{ClientOptions, KeyVaultClient};
#[cfg(feature = "azure-kv")]
pub use error::KvError;
#[cfg(feature = "azure-kv")]
pub use source::AzureKvSource;

#[cfg(feature = "azure-kv")]
/// The variable that sets the per-request timeout of Key Vault and its token endpoints
/// (seconds; see [`rest::http::options_from_env`](crate::keysource::rest::http::options_from_env)).
pub const TIMEOUT_VAR: &str = "LEAFCRYPT_AZURE_KV_TIMEOUT";
