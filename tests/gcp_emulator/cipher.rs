//! The emulator's ciphertexts and Cloud KMS's CRC32C integrity fields.
//!
//! Layout: `"LCGK" | key tag (8, SHA-256 of the key name) | version (u32 BE) | nonce (16) |
//! body | tag (16)`: the body is the plaintext XORed with an HMAC-SHA256 keystream, the tag an
//! HMAC over everything before it and the additional authenticated data. Opaque to clients,
//! as Google's are; it names its key and version so decryption picks the version itself.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 4] = b"LCGK";
const HEADER: usize = 4 + 8 + 4 + 16;
const TAG: usize = 16;

/// Why a ciphertext was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not ours, or made for another key.
    WrongKey,
    /// Tampered with, or the wrong additional data.
    Corrupt,
}

fn key_tag(name: &str) -> [u8; 8] {
    let digest = Sha256::digest(name.as_bytes());
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&digest[..8]);
    tag
}

fn mac(secret: &[u8; 32]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("any length"))
}

fn keystream_xor(secret: &[u8; 32], nonce: &[u8], data: &mut [u8]) {
    for (i, chunk) in data.chunks_mut(32).enumerate() {
        let mut m = mac(secret);
        m.update(b"stream");
        m.update(nonce);
        m.update(&(i as u64).to_be_bytes());
        let block = m.finalize().into_bytes();
        for (d, k) in chunk.iter_mut().zip(block.iter()) {
            *d ^= k;
        }
    }
}

fn tag(secret: &[u8; 32], head_and_body: &[u8], aad: &[u8]) -> [u8; TAG] {
    let mut m = mac(secret);
    m.update(b"tag");
    m.update(&(aad.len() as u64).to_be_bytes());
    m.update(aad);
    m.update(head_and_body);
    let full = m.finalize().into_bytes();
    let mut out = [0u8; TAG];
    out.copy_from_slice(&full[..TAG]);
    out
}

/// Encrypts under version `version` of key `name`.
pub fn seal(
    name: &str,
    version: usize,
    secret: &[u8; 32],
    plaintext: &[u8],
    aad: &[u8],
) -> Vec<u8> {
    let mut nonce = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(HEADER + plaintext.len() + TAG);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&key_tag(name));
    out.extend_from_slice(&(version as u32).to_be_bytes());
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plaintext);
    keystream_xor(secret, &nonce, &mut out[start..]);
    let t = tag(secret, &out, aad);
    out.extend_from_slice(&t);
    out
}

/// The version a ciphertext of key `name` was made with.
pub fn version_of(name: &str, ciphertext: &[u8]) -> Result<usize, Refused> {
    if ciphertext.len() < HEADER + TAG
        || &ciphertext[..4] != MAGIC
        || ciphertext[4..12] != key_tag(name)
    {
        return Err(Refused::WrongKey);
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&ciphertext[12..16]);
    Ok(u32::from_be_bytes(v) as usize)
}

/// Decrypts a ciphertext whose version secret is `secret`.
pub fn open(secret: &[u8; 32], ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>, Refused> {
    let (head_and_body, t) = ciphertext.split_at(ciphertext.len() - TAG);
    let expected = tag(secret, head_and_body, aad);
    if !subtle_eq(&expected, t) {
        return Err(Refused::Corrupt);
    }
    let mut body = head_and_body[HEADER..].to_vec();
    keystream_xor(secret, &head_and_body[16..HEADER], &mut body);
    Ok(body)
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// CRC32C (Castagnoli), as Cloud KMS's `*Crc32c` fields carry it.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let secret = [7u8; 32];
        let ct = seal("k", 3, &secret, b"data key", b"");
        assert_eq!(version_of("k", &ct), Ok(3));
        assert_eq!(version_of("other", &ct), Err(Refused::WrongKey));
        assert_eq!(open(&secret, &ct, b"").as_deref(), Ok(&b"data key"[..]));
        assert_eq!(open(&secret, &ct, b"x"), Err(Refused::Corrupt));
        assert_eq!(open(&[8u8; 32], &ct, b""), Err(Refused::Corrupt));
    }

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }
}
