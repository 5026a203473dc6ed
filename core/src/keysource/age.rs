//! age X25519 recipients and identities (the `age` metadata kind).
