//! The file MAC (§6): SHA-512 over the plaintext of the values in walk order, as
//! uppercase hex, stored encrypted under the data key with the re-formatted
//! `lastmodified` as additional data.

use crate::cipher::{Cipher, IvSource, IvStash, ValueType};
use crate::time;
use crate::tree::Value;
use crate::{Error, Result};
use sha2::{Digest, Sha512};

/// SHA-256("sops"): hashed first when only encrypted values are covered.
pub const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Incremental MAC over a tree's leaves.
#[derive(Clone)]
pub struct MacHasher {
    hash: Sha512,
    only_encrypted: bool,
}

impl MacHasher {
    /// A fresh hasher; `only_encrypted` is the metadata's `mac_only_encrypted`.
    pub fn new(only_encrypted: bool) -> Self {
        let mut hash = Sha512::new();
        if only_encrypted {
            hash.update(MAC_ONLY_ENCRYPTED_INIT);
        }
        Self {
            hash,
            only_encrypted,
        }
    }

    /// Feeds one leaf's plaintext: comments never count, and with `mac_only_encrypted`
    /// neither do leaves the selector leaves plain.
    pub fn leaf(&mut self, plain: &[u8], ty: ValueType, selected: bool) {
        if ty == ValueType::Comment || (self.only_encrypted && !selected) {
            return;
        }
        self.hash.update(plain);
    }

    /// Feeds a (plaintext) value; see [`MacHasher::leaf`].
    pub fn value(&mut self, value: &Value, selected: bool) {
        if let Some((plain, ty)) = crate::cipher::plaintext(value) {
            self.leaf(&plain, ty, selected);
        }
    }

    /// The MAC: 128 uppercase hex digits.
    pub fn finish(self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let digest = self.hash.finalize();
        let mut out = String::with_capacity(digest.len() * 2);
        for b in digest {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out
    }
}

fn aad(last_modified: &str) -> Result<String> {
    time::mac_aad(last_modified)
        .map_err(|e| Error::Metadata(format!("invalid lastmodified {last_modified:?}: {e}")))
}

/// Encrypts `mac` for storage (`type:str`, AAD = `last_modified` re-formatted). Like
/// every value, it reuses its stashed IV when the same MAC is stored under the same
/// `lastmodified` again (sops's stash covers the MAC too).
pub fn seal(
    cipher: &Cipher,
    mac: &str,
    last_modified: &str,
    ivs: &mut IvSource,
    stash: &IvStash,
) -> Result<String> {
    let aad = aad(last_modified)?;
    let iv = match stash.get(aad.as_bytes(), ValueType::Str, mac.as_bytes()) {
        Some(iv) => iv,
        None => ivs.next_iv().map_err(random_failed)?,
    };
    Ok(cipher.seal(mac.as_bytes(), ValueType::Str, aad.as_bytes(), &iv))
}

/// Checks `computed` against the stored encrypted MAC, in sops's order: a stored MAC
/// that does not decrypt is [`Error::MacDecrypt`]; a different one (or none) is
/// [`Error::MacMismatch`]. On success the stored MAC's IV is added to `stash`.
pub fn verify(
    cipher: &Cipher,
    stored: &str,
    last_modified: &str,
    computed: &str,
    stash: &mut IvStash,
) -> Result<()> {
    let aad = aad(last_modified)?;
    let (stored_mac, iv) = if stored.is_empty() {
        (String::new(), None)
    } else {
        let opened = cipher
            .open(stored, aad.as_bytes())
            .map_err(|e| Error::MacDecrypt(e.to_string()))?;
        // The type is outside the AAD: sops rejects a MAC whose type was changed (it fails
        // to parse the digest as that type), and so does leafcrypt.
        if opened.ty != ValueType::Str {
            return Err(Error::MacDecrypt(format!(
                "the MAC is stored as type:{}, not type:str (the file was altered)",
                opened.ty.name()
            )));
        }
        (
            String::from_utf8_lossy(&opened.plain).into_owned(),
            opened.iv,
        )
    };
    // Constant time: a timing side channel must not reveal how much of a forged MAC matched.
    let equal = stored_mac.len() == computed.len()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            stored_mac.as_bytes(),
            computed.as_bytes(),
        ));
    if !equal {
        return Err(Error::MacMismatch {
            stored: stored_mac,
            computed: computed.to_string(),
        });
    }
    if let Some(iv) = iv {
        stash.insert(aad.as_bytes(), ValueType::Str, computed.as_bytes(), iv);
    }
    Ok(())
}

pub(crate) fn random_failed(e: getrandom::Error) -> Error {
    Error::EncryptTree {
        path: String::new(),
        message: format!("could not get random bytes: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn init_prefix_is_sha256_of_sops() {
        assert_eq!(
            sha2::Sha256::digest(b"sops").as_slice(),
            MAC_ONLY_ENCRYPTED_INIT
        );
    }

    #[test]
    fn hashes_values_only_in_order() {
        let mut a = MacHasher::new(false);
        a.value(&Value::Str("ab".into()), true);
        a.value(&Value::Str("c".into()), false);
        a.value(&Value::Comment("ignored".into()), true);
        let mut b = MacHasher::new(false);
        b.value(&Value::Str("a".into()), true);
        b.value(&Value::Str("bc".into()), true);
        assert_eq!(a.finish(), b.finish());
        let mut only = MacHasher::new(true);
        only.value(&Value::Str("plain".into()), false);
        let empty_only = MacHasher::new(true).finish();
        assert_eq!(only.finish(), empty_only);
        assert_ne!(empty_only, MacHasher::new(false).finish());
    }

    #[test]
    fn verify_orders_decrypt_before_compare() {
        let cipher = Cipher::new(&Secret::new(vec![3; 32])).unwrap();
        let mut ivs = IvSource::new();
        let mut stash = IvStash::new();
        let sealed = seal(&cipher, "ABC", "2025-01-01T00:00:00Z", &mut ivs, &stash).unwrap();
        verify(
            &cipher,
            &sealed,
            "2025-01-01T00:00:00.5Z",
            "ABC",
            &mut stash,
        )
        .unwrap();
        // The stashed IV makes re-sealing the same MAC at the same time reproducible.
        assert_eq!(
            seal(&cipher, "ABC", "2025-01-01T00:00:00Z", &mut ivs, &stash).unwrap(),
            sealed
        );
        assert_ne!(
            seal(&cipher, "ABC", "2025-01-01T00:00:01Z", &mut ivs, &stash).unwrap(),
            sealed
        );
        assert!(matches!(
            verify(&cipher, &sealed, "2025-01-01T00:00:01Z", "ABC", &mut stash),
            Err(Error::MacDecrypt(_))
        ));
        let err = verify(&cipher, "", "2025-01-01T00:00:00Z", "ABC", &mut stash).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MAC mismatch. File has no MAC, computed ABC"
        );
        assert_eq!(err.exit_code(), 51);
    }
}
