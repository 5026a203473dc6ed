//! Shamir secret sharing over GF(2^8) with the AES polynomial (§8), byte-compatible
//! with sops: a share is the polynomial values for every secret byte followed by one
//! trailing x coordinate, and share `i` (the key group index) has x = i + 1.
//!
//! Field arithmetic is branch-free and table-free, so its timing does not depend on the
//! secret.

use crate::secret::Secret;
use zeroize::Zeroizing;

/// Why splitting or combining failed (sops's texts).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShamirError {
    /// More shares needed than made.
    #[error("parts cannot be less than threshold")]
    PartsLessThanThreshold,
    /// More than 255 shares.
    #[error("parts cannot exceed 255")]
    TooManyParts,
    /// Threshold below 2.
    #[error("threshold must be at least 2")]
    ThresholdTooSmall,
    /// Threshold above 255.
    #[error("threshold cannot exceed 255")]
    ThresholdTooLarge,
    /// Nothing to split.
    #[error("cannot split an empty secret")]
    EmptySecret,
    /// Fewer than two shares to combine.
    #[error("less than two parts cannot be used to reconstruct the secret")]
    TooFewParts,
    /// A share without payload.
    #[error("parts must be at least two bytes")]
    PartTooShort,
    /// Shares of different lengths.
    #[error("all parts must be the same length")]
    LengthMismatch,
    /// Two shares with the same x coordinate.
    #[error("duplicate part detected")]
    DuplicatePart,
    /// The CSPRNG failed.
    #[error("failed to generate random coefficients: {0}")]
    Random(getrandom::Error),
}

/// GF(2^8) multiplication modulo x^8 + x^4 + x^3 + x + 1, in constant time.
fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    for _ in 0..8 {
        product ^= a & 0u8.wrapping_sub(b & 1);
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & carry);
        b >>= 1;
    }
    product
}

/// Multiplicative inverse as a^254 (0 maps to 0), in constant time.
fn inv(a: u8) -> u8 {
    // a^254 = a^(2+4+8+16+32+64+128)
    let mut result = 1u8;
    let mut square = a;
    for _ in 0..7 {
        square = mul(square, square);
        result = mul(result, square);
    }
    result
}

/// Splits `secret` into `parts` shares, any `threshold` of which recover it.
pub fn split(secret: &[u8], parts: usize, threshold: usize) -> Result<Vec<Secret>, ShamirError> {
    if parts < threshold {
        return Err(ShamirError::PartsLessThanThreshold);
    }
    if parts > 255 {
        return Err(ShamirError::TooManyParts);
    }
    if threshold < 2 {
        return Err(ShamirError::ThresholdTooSmall);
    }
    if threshold > 255 {
        return Err(ShamirError::ThresholdTooLarge);
    }
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }
    // Coefficients 1..threshold of each byte's polynomial, random.
    let degree = threshold - 1;
    let mut coefficients = Zeroizing::new(vec![0u8; secret.len() * degree]);
    getrandom::getrandom(&mut coefficients).map_err(ShamirError::Random)?;
    let mut shares = Vec::with_capacity(parts);
    for index in 0..parts {
        let x = (index + 1) as u8;
        let mut share = Zeroizing::new(Vec::with_capacity(secret.len() + 1));
        for (byte, coeffs) in secret.iter().zip(coefficients.chunks_exact(degree)) {
            // Horner's rule from the highest coefficient down to the secret byte.
            let mut y = 0u8;
            for &c in coeffs.iter().rev() {
                y = mul(y, x) ^ c;
            }
            share.push(mul(y, x) ^ byte);
        }
        share.push(x);
        shares.push(Secret::new(std::mem::take(&mut *share)));
    }
    Ok(shares)
}

/// Recovers the secret from shares made by [`split`] (Lagrange interpolation at 0 over
/// all of them).
pub fn combine(parts: &[Secret]) -> Result<Secret, ShamirError> {
    if parts.len() < 2 {
        return Err(ShamirError::TooFewParts);
    }
    let len = parts[0].len();
    if len < 2 {
        return Err(ShamirError::PartTooShort);
    }
    if parts.iter().any(|p| p.len() != len) {
        return Err(ShamirError::LengthMismatch);
    }
    let xs: Vec<u8> = parts.iter().map(|p| p.expose()[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err(ShamirError::DuplicatePart);
        }
    }
    // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_i ^ x_j).
    let basis: Vec<u8> = (0..xs.len())
        .map(|i| {
            xs.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .fold(1u8, |acc, (_, &xj)| mul(acc, mul(xj, inv(xs[i] ^ xj))))
        })
        .collect();
    let mut secret = Zeroizing::new(vec![0u8; len - 1]);
    for (part, &l) in parts.iter().zip(&basis) {
        for (out, &y) in secret.iter_mut().zip(part.expose()) {
            *out ^= mul(y, l);
        }
    }
    Ok(Secret::new(std::mem::take(&mut *secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_arithmetic() {
        // FIPS-197's worked example: {57} x {83} = {c1}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "{a}");
        }
        assert_eq!(inv(0), 0);
    }

    #[test]
    fn any_threshold_subset_recovers() {
        let secret: Vec<u8> = (0..32).collect();
        let shares = split(&secret, 3, 2).unwrap();
        assert!(shares.iter().all(|s| s.len() == 33));
        assert_eq!(
            shares.iter().map(|s| s.expose()[32]).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        for pair in [[0, 1], [0, 2], [1, 2]] {
            let subset: Vec<_> = pair.iter().map(|&i| shares[i].clone()).collect();
            assert_eq!(combine(&subset).unwrap().expose(), secret.as_slice());
        }
        assert_eq!(combine(&shares).unwrap().expose(), secret.as_slice());
    }

    #[test]
    fn below_threshold_gives_garbage() {
        let secret = [7u8; 32];
        let shares = split(&secret, 3, 3).unwrap();
        // Two of three shares interpolate a different (random) value.
        assert_ne!(combine(&shares[..2]).unwrap().expose(), &secret[..]);
    }

    #[test]
    fn errors_have_sops_texts() {
        assert_eq!(
            split(&[1], 2, 3).unwrap_err().to_string(),
            "parts cannot be less than threshold"
        );
        assert_eq!(
            split(&[1], 2, 1).unwrap_err().to_string(),
            "threshold must be at least 2"
        );
        assert_eq!(split(&[], 2, 2).unwrap_err(), ShamirError::EmptySecret);
        let s = Secret::new(vec![1, 2, 1]);
        assert_eq!(
            combine(std::slice::from_ref(&s)).unwrap_err(),
            ShamirError::TooFewParts
        );
        assert_eq!(
            combine(&[s.clone(), s.clone()]).unwrap_err(),
            ShamirError::DuplicatePart
        );
        assert_eq!(
            combine(&[s, Secret::new(vec![1, 2])]).unwrap_err(),
            ShamirError::LengthMismatch
        );
    }
}
