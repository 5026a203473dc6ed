//! EME-OAEP encoding and decoding (RFC 8017 §7.1) with an empty label and MGF1 over the
//! same hash. Used with raw RSA on the token (`CKM_RSA_X_509`) when the token lacks
//! OAEP with SHA-256: the RSA private key stays on the token, only the padding is done here.

use sha2::Digest;
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// OAEP failed: the message does not fit, or the encoded block is not valid OAEP.
#[derive(Debug, PartialEq, Eq)]
pub enum OaepError {
    /// The message is longer than `k - 2·hLen - 2` bytes.
    TooLong,
    /// Decoding failed (wrong key or corrupted ciphertext); deliberately no detail.
    Decoding,
}

/// MGF1: `len` bytes of mask from `seed`.
fn mgf1<D: Digest>(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + <D as Digest>::output_size());
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut h = D::new();
        h.update(seed);
        h.update(counter.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

fn xor_in_place(target: &mut [u8], mask: &[u8]) {
    for (t, m) in target.iter_mut().zip(mask) {
        *t ^= m;
    }
}

/// Encodes `msg` into a `k`-byte block (`k` = modulus length) with the random `seed`
/// (`hLen` bytes).
pub fn encode<D: Digest>(msg: &[u8], k: usize, seed: &[u8]) -> Result<Vec<u8>, OaepError> {
    let h_len = <D as Digest>::output_size();
    if seed.len() != h_len || k < 2 * h_len + 2 || msg.len() > k - 2 * h_len - 2 {
        return Err(OaepError::TooLong);
    }
    let mut db = Vec::with_capacity(k - h_len - 1);
    db.extend_from_slice(&D::digest(b""));
    db.resize(k - h_len - 1 - msg.len() - 1, 0);
    db.push(0x01);
    db.extend_from_slice(msg);
    let db_mask = mgf1::<D>(seed, db.len());
    xor_in_place(&mut db, &db_mask);
    let mut masked_seed = seed.to_vec();
    xor_in_place(&mut masked_seed, &mgf1::<D>(&db, h_len));
    let mut em = Vec::with_capacity(k);
    em.push(0);
    em.extend_from_slice(&masked_seed);
    em.extend_from_slice(&db);
    Ok(em)
}

/// Decodes the `k`-byte block `em`. The checks run in constant time over the block, so
/// a failure says nothing about where the padding went wrong.
pub fn decode<D: Digest>(em: &[u8]) -> Result<Vec<u8>, OaepError> {
    let h_len = <D as Digest>::output_size();
    let k = em.len();
    if k < 2 * h_len + 2 {
        return Err(OaepError::Decoding);
    }
    let (y, rest) = (em[0], &em[1..]);
    let (masked_seed, masked_db) = rest.split_at(h_len);
    let mut seed = masked_seed.to_vec();
    xor_in_place(&mut seed, &mgf1::<D>(masked_db, h_len));
    let mut db = masked_db.to_vec();
    let db_mask = mgf1::<D>(&seed, db.len());
    xor_in_place(&mut db, &db_mask);
    let l_hash = D::digest(b"");
    let mut good = y.ct_eq(&0) & db[..h_len].ct_eq(&l_hash[..]);
    // Find the 0x01 separator after the zero padding without branching on secret data.
    let mut looking = subtle::Choice::from(1);
    let mut index: u32 = 0;
    for (i, &b) in db.iter().enumerate().skip(h_len) {
        let is_one = b.ct_eq(&1);
        let is_zero = b.ct_eq(&0);
        let found_here = looking & is_one;
        index.conditional_assign(&(i as u32), found_here);
        // A non-zero, non-one byte before the separator is invalid.
        good &= !(looking & !is_zero & !is_one);
        looking &= !is_one;
    }
    good &= !looking;
    if bool::from(good) {
        Ok(db[index as usize + 1..].to_vec())
    } else {
        Err(OaepError::Decoding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Sha256;

    #[test]
    fn encode_then_decode_round_trips_for_every_length() {
        let k = 256;
        let seed = [7u8; 32];
        for len in [0, 1, 32, k - 2 * 32 - 2] {
            let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let em = encode::<Sha256>(&msg, k, &seed).unwrap();
            assert_eq!(em.len(), k);
            assert_eq!(em[0], 0);
            assert_eq!(decode::<Sha256>(&em).unwrap(), msg);
        }
        assert_eq!(
            encode::<Sha256>(&[0; 191], k, &seed),
            Err(OaepError::TooLong)
        );
    }

    #[test]
    fn any_flipped_bit_fails_to_decode() {
        let em = encode::<Sha256>(b"data key", 128, &[1u8; 32]).unwrap();
        for i in [0, 1, 40, 127] {
            let mut bad = em.clone();
            bad[i] ^= 0x10;
            assert_eq!(decode::<Sha256>(&bad), Err(OaepError::Decoding), "byte {i}");
        }
        assert_eq!(decode::<sha1::Sha1>(&em), Err(OaepError::Decoding));
    }

    #[test]
    fn mgf1_matches_its_definition() {
        // MGF1-SHA256("abc", 40) = SHA256("abc"||0) || SHA256("abc"||1)[..8]
        let mask = mgf1::<Sha256>(b"abc", 40);
        let mut first = Sha256::new();
        first.update(b"abc\0\0\0\0");
        assert_eq!(&mask[..32], &first.finalize()[..]);
        let mut second = Sha256::new();
        second.update(b"abc\0\0\0\x01");
        assert_eq!(&mask[32..], &second.finalize()[..8]);
    }
}
