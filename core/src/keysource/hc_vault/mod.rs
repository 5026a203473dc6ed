//! HashiCorp Vault transit as a key-encryption key, byte-compatible with sops 3.11's
//! `hc_vault` entries (`vault_address`, `engine_path`, `key_name`, `created_at`, `enc`).
//!
//! The data key is sent base64-encoded to `PUT {vault_address}/v1/{engine_path}/encrypt/{key_name}`
//! and `enc` is Vault's ciphertext as returned (`vault:vN:…`); decryption sends it back to
//! `…/decrypt/{key_name}`. The token comes from `VAULT_TOKEN`, else `~/.vault-token`; the
//! namespace from `VAULT_NAMESPACE`; extra trusted roots from `VAULT_CACERT` — all read
//! through an env lookup closure ([`settings`]).
//!
//! Modules, one job each:
//! - [`settings`]: token, namespace, CA bundle and timeout from the environment;
//! - [`client`]: the transit REST calls over the shared [`rest`](crate::keysource::rest) plumbing;
//! - [`error`]: errors that name the vault, the key path and what to do (never the token);
//! - [`source`]: [`HcVaultSource`], the `hc_vault` [`KeySource`](crate::keysource::KeySource).

pub mod client;
pub mod error;
pub mod settings;
pub mod source;

pub use client::{TokenProvider, VaultClient};
pub use error::VaultError;
pub use settings::Settings;
pub use source::HcVaultSource;

/// The variable that sets the per-request timeout of Vault requests (seconds).
pub const TIMEOUT_VAR: &str = "LEAFCRYPT_VAULT_TIMEOUT";
