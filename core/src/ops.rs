//! The operations every front end runs: encrypt, decrypt, rotate, re-key.
//!
//! They work on a parsed [`Tree`] and its [`Metadata`]; parsing and emitting are the
//! stores' job, file and terminal I/O the front end's. On error the tree may be partly
//! processed and must not be emitted.
//!
//! # `--strict`
//!
//! [`DecryptOptions::strict`] rejects, with [`Error::Strict`] (exit 51), tamperings that
//! sops 3.11 accepts. The file format cannot carry an extra authenticator without
//! breaking compatibility, so these are consistency checks on what the file already
//! binds:
//!
//! 1. **Envelope form**: every decrypted `ENC[…]` must be exactly the text leafcrypt
//!    (and sops) writes for its fields: no text after the closing `]`, no second line,
//!    canonical base64 (zero padding bits), a 32-byte IV.
//! 2. **Type tags** (the `type:` field is not authenticated by GCM or the MAC): the
//!    plaintext must be the canonical form of its declared type (an `int` is `42`, not
//!    `042`; a `bool` is `True`/`False`; a `float` is Go's shortest `'f'` form; a `time`
//!    is RFC 3339 with trimmed nanoseconds), the legacy `bytes` type is refused, a
//!    comment entry must decrypt to `type:comment`, and `type:comment` is refused for a
//!    map value. A tag swap between types whose canonical forms coincide (`str` ⇄ `int`
//!    for `5`) remains undetectable.
//! 3. **Encrypted comments**: a selected comment that looks encrypted but does not
//!    decrypt is an error (sops keeps it verbatim with a warning).
//! 4. **Key entries**: each key source must unwrap with the key the entry names (age:
//!    only the identity whose recipient equals the entry's `recipient` is tried), so an
//!    entry whose recipient was edited fails instead of being opened by another identity.

use crate::cipher::{self, Cipher, DecryptedValue, IvSource, IvStash, ValueType};
use crate::error::Result;
use crate::keysource::{KeyEntry, KeyError, Keyring};
use crate::mac::{self, MacHasher};
use crate::metadata::{KeyGroup, Metadata, Selector, DEFAULT_UNENCRYPTED_SUFFIX, SOPS_VERSION};
use crate::secret::Secret;
use crate::selectors::Rules;
use crate::shamir;
use crate::tree::{Tree, Value};
use crate::walk::{walk_tree, Leaf, LeafInfo, Position};
use crate::Error;

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
#[derive(Clone, Debug, Default)]
pub struct DecryptOptions {
    /// Skip MAC verification (`--ignore-mac`).
    pub ignore_mac: bool,
    /// Beyond sops: also reject tamperings sops lets through (see the module docs).
    pub strict: bool,
    /// Do not remember each value's IV (the session's stash stays empty). For callers that
    /// only print the plaintext and never re-encrypt: saves a copy of every plaintext.
    pub skip_iv_stash: bool,
    /// The order in which key kinds are tried within a key group (`--decryption-order`).
    pub decryption_order: DecryptionOrder,
}

/// The order in which key kinds are tried within a key group (sops's
/// `--decryption-order`, `SOPS_DECRYPTION_ORDER`): listed kinds by their position, every
/// other kind after them, stored order kept among equals. The default is sops's
/// `age,pgp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptionOrder(Vec<String>);

impl Default for DecryptionOrder {
    fn default() -> Self {
        Self(vec!["age".into(), "pgp".into()])
    }
}

impl DecryptionOrder {
    /// Parses a comma-separated list of key kinds (metadata names: `age`, `pgp`,
    /// `azure_kv`, `pkcs11`, …) as sops does: empty means the default, a kind given twice
    /// is an error (exit 112); names are not otherwise checked, as in sops (an unknown
    /// one never matches a key).
    pub fn parse(list: &str) -> Result<Self> {
        if list.is_empty() {
            return Ok(Self::default());
        }
        let mut kinds: Vec<String> = Vec::new();
        for kind in list.split(',') {
            if kinds.iter().any(|k| k == kind) {
                return Err(Error::DuplicateDecryptionKeyType(kind.to_string()));
            }
            kinds.push(kind.to_string());
        }
        Ok(Self(kinds))
    }

    /// The kinds, in order.
    pub fn kinds(&self) -> &[String] {
        &self.0
    }

    fn rank(&self, kind: &str) -> usize {
        self.0
            .iter()
            .position(|k| k == kind)
            .unwrap_or(self.0.len())
    }

    /// `keys` in the order they are tried (a stable sort, like sops's).
    pub fn sort<'a>(&self, keys: &'a [KeyEntry]) -> Vec<&'a KeyEntry> {
        let mut ordered: Vec<&KeyEntry> = keys.iter().collect();
        ordered.sort_by_key(|k| self.rank(&k.kind));
        ordered
    }
}

/// A decrypted file's key material, kept for re-encryption with the same data key
/// (`set`, `edit`) and for IV reuse of unchanged values (sops's IV stash).
pub struct Session {
    /// The data key.
    pub data_key: Secret,
    /// Per (AAD, type, plaintext) the IV the value was encrypted with.
    pub iv_stash: IvStash,
    /// Non-fatal findings, e.g. comments that did not decrypt and were kept verbatim
    /// (the front end prints them as warnings).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("data_key", &self.data_key)
            .field("iv_stash", &self.iv_stash)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Encrypts `tree` in place under a fresh data key; returns the new metadata.
pub async fn encrypt(
    tree: &mut Tree,
    opts: &EncryptOptions,
    keyring: &Keyring,
) -> Result<Metadata> {
    check_key_groups(&opts.key_groups)?;
    // Validate the selector before any key source is contacted.
    Rules::compile(opts.selector.as_ref())?;
    let groups = opts.key_groups.len();
    let threshold = if groups > 1 && opts.shamir_threshold == 0 {
        groups
    } else {
        opts.shamir_threshold
    };
    let data_key = new_data_key()?;
    let key_groups =
        wrap_groups(&data_key, &opts.key_groups, threshold, keyring, &opts.now).await?;
    let selector = opts.store_selector.then(|| {
        opts.selector
            .clone()
            .unwrap_or_else(|| Selector::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_string()))
    });
    let mut metadata = Metadata {
        key_groups,
        shamir_threshold: threshold,
        last_modified: String::new(),
        mac: String::new(),
        selector,
        mac_only_encrypted: opts.mac_only_encrypted,
        version: SOPS_VERSION.to_string(),
    };
    seal_tree(
        tree,
        &mut metadata,
        &data_key,
        &IvStash::new(),
        &opts.now,
        opts.selector.as_ref(),
    )?;
    Ok(metadata)
}

/// Decrypts `tree` in place: recovers the data key, decrypts every selected value, then
/// verifies the MAC (unless `opts.ignore_mac`). Nothing may be emitted on error.
pub async fn decrypt(
    tree: &mut Tree,
    metadata: &Metadata,
    keyring: &Keyring,
    opts: DecryptOptions,
) -> Result<Session> {
    let data_key = recover_in_order(metadata, keyring, opts.strict, &opts.decryption_order).await?;
    open_tree(tree, metadata, data_key, opts)
}

/// Decrypts `tree` with an already recovered `data_key` (see [`decrypt`]).
pub fn open_tree(
    tree: &mut Tree,
    metadata: &Metadata,
    data_key: Secret,
    opts: DecryptOptions,
) -> Result<Session> {
    let rules = Rules::compile(metadata.selector.as_ref())?;
    let cipher = Cipher::new(&data_key)?;
    let mut opener = Opener {
        cipher: &cipher,
        strict: opts.strict,
        mac: MacHasher::new(metadata.mac_only_encrypted),
        stash: IvStash::new(),
        keep_ivs: !opts.skip_iv_stash,
        warnings: Vec::new(),
    };
    walk_tree(tree, &rules, |leaf, info| opener.leaf(leaf, info))?;
    let Opener {
        mac,
        mut stash,
        warnings,
        ..
    } = opener;
    if !opts.ignore_mac {
        let computed = mac.finish();
        mac::verify(
            &cipher,
            &metadata.mac,
            &metadata.last_modified,
            &computed,
            &mut stash,
        )?;
    }
    Ok(Session {
        data_key,
        iv_stash: stash,
        warnings,
    })
}

/// Re-encrypts a decrypted `tree` with the session's data key (reusing stashed IVs) and
/// updates `metadata` (`lastmodified = now`, new MAC; key entries untouched).
pub fn reencrypt(
    tree: &mut Tree,
    metadata: &mut Metadata,
    session: &Session,
    now: &str,
) -> Result<()> {
    let selector = metadata.selector.clone();
    seal_tree(
        tree,
        metadata,
        &session.data_key,
        &session.iv_stash,
        now,
        selector.as_ref(),
    )
}

/// Rotates the data key of a decrypted `tree`: a fresh key, wrapped for the key
/// descriptions of `metadata`'s groups (edit them first to add or remove keys), every
/// value re-encrypted reusing its old IV, new `lastmodified` and MAC. `version` is kept.
/// Returns the session for the new key.
pub async fn rotate(
    tree: &mut Tree,
    metadata: &mut Metadata,
    session: &Session,
    keyring: &Keyring,
    now: &str,
) -> Result<Session> {
    let data_key = new_data_key()?;
    let descriptions = describe(&metadata.key_groups);
    let threshold = effective_threshold(metadata.shamir_threshold, descriptions.len());
    metadata.key_groups = wrap_groups(&data_key, &descriptions, threshold, keyring, now).await?;
    let selector = metadata.selector.clone();
    seal_tree(
        tree,
        metadata,
        &data_key,
        &session.iv_stash,
        now,
        selector.as_ref(),
    )?;
    Ok(Session {
        data_key,
        iv_stash: session.iv_stash.clone(),
        warnings: Vec::new(),
    })
}

/// Re-wraps the file's existing data key for `groups` (key descriptions), as
/// `updatekeys` does: values, `mac` and `lastmodified` stay untouched. `threshold` is the
/// requested Shamir threshold (0: keep the file's); it is capped at the group count.
pub async fn update_keys(
    metadata: &mut Metadata,
    groups: &[KeyGroup],
    threshold: usize,
    keyring: &Keyring,
    now: &str,
) -> Result<()> {
    let data_key = recover_data_key(metadata, keyring).await?;
    let requested = if threshold == 0 {
        metadata.shamir_threshold
    } else {
        threshold
    };
    let threshold = match requested {
        0 => effective_threshold(0, groups.len()),
        t => t.min(groups.len()),
    };
    metadata.key_groups = wrap_groups(&data_key, groups, threshold, keyring, now).await?;
    // sops stores min(requested, groups): an unset threshold stays unset.
    metadata.shamir_threshold = requested.min(groups.len());
    Ok(())
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
    if groups.is_empty() {
        return Err(Error::Config(
            "no key groups to wrap the data key for".into(),
        ));
    }
    check_key_groups(groups)?;
    let secrets = match groups.len() {
        1 => vec![data_key.clone()],
        n => {
            shamir::split(data_key.expose(), n, effective_threshold(threshold, n)).map_err(|e| {
                Error::Config(format!(
                "Could not generate data key: [could not split data key into parts for Shamir: {e}]"
            ))
            })?
        }
    };
    let mut wrapped = Vec::with_capacity(groups.len());
    for (group, secret) in groups.iter().zip(&secrets) {
        let mut keys = Vec::with_capacity(group.keys.len());
        for key in &group.keys {
            keys.push(
                keyring
                    .wrap(&key.description(), secret.expose(), now)
                    .await
                    .map_err(Error::Wrap)?,
            );
        }
        wrapped.push(KeyGroup { keys });
    }
    Ok(wrapped)
}

/// The message of [`check_key_groups`]'s [`Error::Config`] when no key group was given at
/// all (sops's words), for front ends that word "no keys" their own way.
pub const NO_KEYS: &str =
    "config file not found, or has no creation rules, and no keys provided through command line options";

/// Refuses key groups that hold no key, before any key source is contacted: a data key
/// (or Shamir share) wrapped for no key can never be recovered, so a file encrypted for
/// `[{age: [K]}, {}]` would be undecryptable. Worded and coded as sops 3.11 (exit 1).
/// No groups at all is sops's "no keys" error.
pub fn check_key_groups(groups: &[KeyGroup]) -> Result<()> {
    if groups.is_empty() {
        return Err(Error::Config(NO_KEYS.into()));
    }
    if groups.iter().any(|g| g.keys.is_empty()) {
        return Err(Error::Config(
            "Could not generate data key: [empty key group provided]".into(),
        ));
    }
    Ok(())
}

/// Recovers the data key from `metadata`'s key groups (Shamir when several).
pub async fn recover_data_key(metadata: &Metadata, keyring: &Keyring) -> Result<Secret> {
    recover(metadata, keyring, false).await
}

/// [`recover_data_key`], optionally with the key sources' strict entry checks.
///
/// Groups are tried in order; within a group age keys first, then pgp, then the rest in
/// stored order (see [`recover_in_order`]), and the group's first key that unwraps wins.
pub async fn recover(metadata: &Metadata, keyring: &Keyring, strict: bool) -> Result<Secret> {
    recover_in_order(metadata, keyring, strict, &DecryptionOrder::default()).await
}

/// [`recover`] with the key kinds of each group tried in `order`. Trying stops once
/// enough groups succeeded. On failure the error carries a per-group report like sops's.
pub async fn recover_in_order(
    metadata: &Metadata,
    keyring: &Keyring,
    strict: bool,
    order: &DecryptionOrder,
) -> Result<Secret> {
    let groups = &metadata.key_groups;
    if groups.is_empty() {
        return Err(Error::Metadata("No keys found in file".into()));
    }
    let needed = if groups.len() > 1 {
        effective_threshold(metadata.shamir_threshold, groups.len())
    } else {
        1
    };
    let mut parts = Vec::new();
    let mut report = Vec::with_capacity(groups.len());
    for group in groups {
        if parts.len() >= needed {
            break;
        }
        let mut failures = Vec::new();
        let mut part = None;
        for key in order.sort(&group.keys) {
            match keyring.unwrap_verified(key, strict).await {
                Ok(secret) => {
                    part = Some(secret);
                    break;
                }
                Err(e) => failures.push((key.identity(), key_error_message(&e))),
            }
        }
        report.push(GroupResult {
            failures,
            success: part.is_some(),
        });
        parts.extend(part);
    }
    if parts.len() < needed || parts.is_empty() {
        return Err(Error::DataKey(data_key_report(
            &report,
            metadata.shamir_threshold,
            parts.len(),
        )));
    }
    if groups.len() == 1 {
        return parts.pop().ok_or_else(|| Error::DataKey(String::new()));
    }
    shamir::combine(&parts)
        .map_err(|e| Error::DataKey(format!("\ncould not get data key from shamir parts: {e}")))
}

/// The threshold in force for `groups` groups: `threshold`, or all groups when unset.
fn effective_threshold(threshold: usize, groups: usize) -> usize {
    if threshold == 0 {
        groups
    } else {
        threshold
    }
}

fn new_data_key() -> Result<Secret> {
    Secret::random(cipher::KEY_LEN).map_err(mac::random_failed)
}

fn describe(groups: &[KeyGroup]) -> Vec<KeyGroup> {
    groups
        .iter()
        .map(|g| KeyGroup {
            keys: g.keys.iter().map(KeyEntry::description).collect(),
        })
        .collect()
}

fn key_error_message(e: &KeyError) -> String {
    match e {
        KeyError::Failed { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

struct GroupResult {
    failures: Vec<(String, String)>,
    success: bool,
}

/// sops's report: one block per group tried, then the verdict, wrapped like sops's.
fn data_key_report(groups: &[GroupResult], threshold: usize, recovered: usize) -> String {
    let mut out = String::new();
    for (i, group) in groups.iter().enumerate() {
        out.push('\n');
        if group.success {
            out.push_str(&format!("Group {i}: SUCCESS\n"));
            continue;
        }
        out.push_str(&format!("Group {i}: FAILED\n"));
        for (id, message) in &group.failures {
            out.push_str(&format!("  {id}: FAILED\n"));
            for (n, line) in wrap(message, 60).iter().enumerate() {
                out.push_str(if n == 0 { "    - | " } else { "      | " });
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    let verdict = if threshold == 0 {
        "Recovery failed because no master key was able to decrypt the file. In order for SOPS to recover the \
         file, at least one key has to be successful, but none were."
            .to_string()
    } else {
        format!(
            "Recovery failed because the file was encrypted with a Shamir threshold of {threshold}, but only \
             {recovered} part(s) were successfully recovered, one for each successful key group. In order for \
             SOPS to recover the file, at least {threshold} groups have to be successful. In order for a group \
             to be successful, decryption has to succeed with any of the keys in that key group."
        )
    };
    out.push('\n');
    out.push_str(&wrap(&verdict, 75).join("\n"));
    out
}

/// Greedy word wrap at `width` columns (long words stay whole), keeping line breaks.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// Encrypts every selected leaf of a plaintext tree and sets `lastmodified` and `mac`.
fn seal_tree(
    tree: &mut Tree,
    metadata: &mut Metadata,
    data_key: &Secret,
    stash: &IvStash,
    now: &str,
    selector: Option<&Selector>,
) -> Result<()> {
    let rules = Rules::compile(selector)?;
    let cipher = Cipher::new(data_key)?;
    let mut ivs = IvSource::new();
    let mut hasher = MacHasher::new(metadata.mac_only_encrypted);
    walk_tree(tree, &rules, |leaf, info| {
        let mut seal = |plain: &[u8], ty: ValueType| -> Result<String> {
            let aad = info.aad.as_bytes();
            let iv = match stash.get(aad, ty, plain) {
                Some(iv) => iv,
                None => ivs.next_iv().map_err(mac::random_failed)?,
            };
            let sealed = cipher.seal(plain, ty, aad, &iv);
            if ty == ValueType::Comment && rules.unencrypted_comment_matches(&sealed) {
                return Err(Error::EncryptTree {
                    path: info.path().to_string(),
                    message: format!(
                        "Error walking tree: Encrypted comment \"{sealed}\" matches UnencryptedCommentRegex! Make \
                         sure that UnencryptedCommentRegex cannot match an encrypted comment."
                    ),
                });
            }
            Ok(sealed)
        };
        match leaf {
            Leaf::MapComment(text) => {
                if info.selected {
                    *text = seal(text.as_bytes(), ValueType::Comment)?;
                }
            }
            Leaf::Value(value) => {
                let Some((plain, ty)) = cipher::plaintext(value) else {
                    return Ok(());
                };
                hasher.leaf(&plain, ty, info.selected);
                if info.selected {
                    let sealed = seal(&plain, ty)?;
                    // A list comment becomes a plain string item, as in sops.
                    *value = Value::Str(sealed);
                }
            }
        }
        Ok(())
    })?;
    metadata.last_modified = now.to_string();
    metadata.mac = mac::seal(&cipher, &hasher.finish(), now, &mut ivs, stash)?;
    Ok(())
}

/// The decrypting visitor.
struct Opener<'c> {
    cipher: &'c Cipher,
    strict: bool,
    mac: MacHasher,
    stash: IvStash,
    keep_ivs: bool,
    warnings: Vec<String>,
}

impl Opener<'_> {
    fn leaf(&mut self, leaf: Leaf<'_>, info: &LeafInfo<'_>) -> Result<()> {
        match leaf {
            Leaf::MapComment(text) => {
                if info.selected && !text.is_empty() {
                    if let Some(opened) = self.open_comment(text, info)? {
                        *text = match opened.value() {
                            Ok(Value::Comment(c) | Value::Str(c)) => c,
                            _ => String::from_utf8_lossy(&opened.plain).into_owned(),
                        };
                    }
                }
            }
            Leaf::Value(value) => {
                if !info.selected {
                    self.mac.value(value, false);
                    return Ok(());
                }
                match value {
                    Value::Str(s) if s.is_empty() => {}
                    Value::Str(s) => {
                        let opened = self.cipher.open(s, info.aad.as_bytes()).map_err(|e| {
                            Error::DecryptValue {
                                path: info.path().to_string(),
                                message: e.to_string(),
                            }
                        })?;
                        self.check_strict(&opened, info)?;
                        self.mac.leaf(&opened.plain, opened.ty, true);
                        self.remember(&opened, info);
                        *value = opened.into_value().map_err(|e| Error::DecryptValue {
                            path: info.path().to_string(),
                            message: e.to_string(),
                        })?;
                    }
                    Value::Comment(text) => {
                        if let Some(opened) = self.open_comment(text, info)? {
                            *value = opened.into_value().map_err(|e| Error::DecryptValue {
                                path: info.path().to_string(),
                                message: e.to_string(),
                            })?;
                        }
                    }
                    other => {
                        let shown = cipher::plaintext(other)
                            .map(|(p, _)| String::from_utf8_lossy(&p).into_owned())
                            .unwrap_or_default();
                        return Err(Error::DecryptValue {
                            path: info.path().to_string(),
                            message: cipher::CipherError::Format(shown).to_string(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Decrypts a comment; one that does not decrypt is kept verbatim with a warning
    /// (an error under `--strict` when it looks encrypted).
    fn open_comment(&mut self, text: &str, info: &LeafInfo<'_>) -> Result<Option<DecryptedValue>> {
        match self.cipher.open(text, info.aad.as_bytes()) {
            Ok(opened) => {
                self.check_strict(&opened, info)?;
                self.remember(&opened, info);
                Ok(Some(opened))
            }
            Err(e) if self.strict && cipher::looks_encrypted(text) => Err(Error::Strict(format!(
                "an encrypted comment at key path '{}' does not decrypt: {e}",
                info.path()
            ))),
            Err(_) => {
                self.warnings.push(format!(
                    "Found possibly unencrypted comment in file at key path '{}'. This is to be expected if the \
                     file being decrypted was created with an older version of SOPS.",
                    info.path()
                ));
                Ok(None)
            }
        }
    }

    fn remember(&mut self, opened: &DecryptedValue, info: &LeafInfo<'_>) {
        if let Some(iv) = opened.iv.filter(|_| self.keep_ivs) {
            self.stash
                .insert(info.aad.as_bytes(), opened.ty, &opened.plain, iv);
        }
    }

    fn check_strict(&self, opened: &DecryptedValue, info: &LeafInfo<'_>) -> Result<()> {
        if !self.strict {
            return Ok(());
        }
        let fail = |what: String| {
            Err(Error::Strict(format!(
                "{what} at key path '{}'",
                info.path()
            )))
        };
        if !opened.canonical_envelope {
            return fail(
                "an encrypted value is not in canonical form (extra text or non-canonical base64)"
                    .into(),
            );
        }
        if opened.ty == ValueType::Bytes {
            return fail(
                "an encrypted value has the legacy type 'bytes', which sops never writes".into(),
            );
        }
        let misplaced = match info.position {
            Position::MapComment => opened.ty != ValueType::Comment,
            Position::MapValue => opened.ty == ValueType::Comment,
            Position::ListItem => false,
        };
        if misplaced {
            return fail(format!(
                "an encrypted value of type '{}' is in a place where it cannot be",
                opened.ty.name()
            ));
        }
        let decoded = opened.value().map_err(|e| Error::DecryptValue {
            path: info.path().to_string(),
            message: e.to_string(),
        })?;
        if !cipher::is_canonical(&opened.plain, &decoded) {
            return fail(format!(
                "a decrypted value is not in the canonical form of its declared type '{}' (was the type tag changed?)",
                opened.ty.name()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decryption_order_parses_and_sorts_like_sops() {
        assert_eq!(
            DecryptionOrder::parse("").unwrap(),
            DecryptionOrder::default()
        );
        assert_eq!(DecryptionOrder::default().kinds(), ["age", "pgp"]);
        let err = DecryptionOrder::parse("pgp,age,pgp").unwrap_err();
        assert_eq!(err.to_string(), "Duplicate decryption key type: pgp");
        assert_eq!(err.exit_code(), 112);
        let keys: Vec<KeyEntry> = [
            ("pkcs11", "p1"),
            ("age", "a1"),
            ("azure_kv", "k1"),
            ("pgp", "g1"),
            ("age", "a2"),
        ]
        .iter()
        .map(|(kind, id)| KeyEntry::new(*kind).with("id", *id))
        .collect();
        let ids = |order: &DecryptionOrder| {
            order
                .sort(&keys)
                .iter()
                .map(|k| k.get("id").unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&DecryptionOrder::default()),
            ["a1", "a2", "g1", "p1", "k1"]
        );
        let order = DecryptionOrder::parse("pkcs11,nonesuch,pgp").unwrap();
        assert_eq!(ids(&order), ["p1", "g1", "a1", "k1", "a2"]);
    }

    #[test]
    fn wraps_like_sops() {
        let lines = wrap(
            "failed to create reader for decrypting sops data key with age: identity did not match any of the \
             recipients: incorrect identity for recipient block",
            60,
        );
        assert_eq!(
            lines,
            [
                "failed to create reader for decrypting sops data key with",
                "age: identity did not match any of the recipients: incorrect",
                "identity for recipient block"
            ]
        );
    }

    #[test]
    fn report_matches_the_shamir_vector_layout() {
        let groups = [
            GroupResult {
                failures: vec![],
                success: true,
            },
            GroupResult {
                failures: vec![("age1x".into(), "boom".into())],
                success: false,
            },
        ];
        let text = Error::DataKey(data_key_report(&groups, 2, 1)).to_string();
        let expected = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/tamper/shamir-one-group.stderr"
        ))
        .unwrap();
        let tail = expected.split("\nRecovery failed").nth(1).unwrap();
        assert!(text.starts_with("Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: SUCCESS\n\nGroup 1: FAILED\n  age1x: FAILED\n    - | boom\n\nRecovery failed"), "{text}");
        assert!(text.ends_with(tail.trim_end()), "{text}");
    }
}
