//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value codec.

/// IVs of decrypted values, keyed by (AAD, plaintext), reused when the same plaintext is
/// re-encrypted at the same path (keeps diffs minimal, as sops does).
#[derive(Clone, Debug, Default)]
pub struct IvStash {}
