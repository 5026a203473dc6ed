//! The operations every front end runs: encrypt, decrypt, rotate, re-key.
//!
//! They work on a parsed [`Tree`] and its [`Metadata`]; parsing and emitting are the
//! stores' job, file and terminal I/O the front end's.

use crate::error::Result;
use crate::keysource::Keyring;
use crate::metadata::{KeyGroup, Metadata, Selector};
use crate::secret::Secret;
use crate::tree::Tree;

/// What `encrypt` needs besides the tree.
#[derive(Clone, Debug, Default)]
pub struct EncryptOptions {
    /// Key groups as key descriptions (entries without `enc`). One group = flat layout.
    pub key_groups: Vec<KeyGroup>,
    /// Shamir threshold (0 = unset; with several groups, 0 means "all groups").
    pub shamir_threshold: usize,
    /// The selector; `None` stores the default `unencrypted_suffix: _unencrypted`
    /// (callers pass `None` together with `store_selector = false` for binary files).
    pub selector: Option<Selector>,
    /// Whether to store a selector at all (false for the binary store).
    pub store_selector: bool,
    /// Cover only encrypted values with the MAC.
    pub mac_only_encrypted: bool,
    /// The time of this encryption, RFC 3339 seconds, UTC (`2026-11-29T01:26:53Z`).
    pub now: String,
}

/// What `decrypt` checks.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecryptOptions {
    /// Skip MAC verification (`--ignore-mac`).
    pub ignore_mac: bool,
    /// Beyond sops: also reject tamperings sops lets through.
    pub strict: bool,
}

/// A decrypted file's key material, kept for re-encryption with the same data key
/// (`set`, `edit`) and for IV reuse of unchanged values (sops's IV stash).
pub struct Session {
    /// The data key.
    pub data_key: Secret,
    /// Per (AAD, plaintext) the IV the value was encrypted with.
    pub iv_stash: crate::cipher::IvStash,
}

/// Encrypts `tree` in place under a fresh data key; returns the new metadata.
pub async fn encrypt(tree: &mut Tree, opts: &EncryptOptions, keyring: &Keyring) -> Result<Metadata> {
    let _ = (tree, opts, keyring);
    todo!("ops::encrypt")
}

/// Decrypts `tree` in place: recovers the data key, decrypts every selected value, then
/// verifies the MAC (unless `opts.ignore_mac`). Nothing may be emitted on error.
pub async fn decrypt(
    tree: &mut Tree,
    metadata: &Metadata,
    keyring: &Keyring,
    opts: DecryptOptions,
) -> Result<Session> {
    let _ = (tree, metadata, keyring, opts);
    todo!("ops::decrypt")
}

/// Re-encrypts a decrypted `tree` with the session's data key (reusing stashed IVs) and
/// updates `metadata` (`lastmodified = now`, new MAC; key entries untouched).
pub fn reencrypt(tree: &mut Tree, metadata: &mut Metadata, session: &Session, now: &str) -> Result<()> {
    let _ = (tree, metadata, session, now);
    todo!("ops::reencrypt")
}

/// Re-wraps `data_key` for `groups` (key descriptions), splitting it with Shamir when there
/// are several groups; returns the wrapped groups.
pub async fn wrap_groups(
    data_key: &Secret,
    groups: &[KeyGroup],
    threshold: usize,
    keyring: &Keyring,
    now: &str,
) -> Result<Vec<KeyGroup>> {
    let _ = (data_key, groups, threshold, keyring, now);
    todo!("ops::wrap_groups")
}

/// Recovers the data key from `metadata`'s key groups (Shamir when several).
pub async fn recover_data_key(metadata: &Metadata, keyring: &Keyring) -> Result<Secret> {
    let _ = (metadata, keyring);
    todo!("ops::recover_data_key")
}
