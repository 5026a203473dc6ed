//! RSA key material and Key Vault's RSA algorithms, plus the base64url rules of the wire.
//!
//! Private-key operations are fine here: this is a test emulator (see the workspace notes on
//! RUSTSEC-2023-0071 for why product code never does them).

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Oaep, Pkcs1v15Encrypt, RsaPrivateKey};

/// Key sizes the emulator creates.
pub const KEY_SIZES: [usize; 3] = [2048, 3072, 4096];

/// A Key Vault RSA encryption algorithm (`alg` in encrypt/decrypt/wrapkey/unwrapkey bodies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// `RSA-OAEP-256`: OAEP with SHA-256 and MGF1-SHA-256, empty label.
    RsaOaep256,
    /// `RSA-OAEP`: OAEP with SHA-1 and MGF1-SHA-1.
    RsaOaep,
    /// `RSA1_5`: PKCS#1 v1.5 encryption.
    Rsa15,
}

impl Alg {
    /// Parses Key Vault's algorithm name (exact spelling, as the service does).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RSA-OAEP-256" => Some(Self::RsaOaep256),
            "RSA-OAEP" => Some(Self::RsaOaep),
            "RSA1_5" => Some(Self::Rsa15),
            _ => None,
        }
    }
}

/// Generates an RSA key of `bits` bits (e = 65537).
pub fn generate(bits: usize) -> Result<RsaPrivateKey, rsa::Error> {
    RsaPrivateKey::new(&mut rand::thread_rng(), bits)
}

/// Encrypts `data` to the public half of `key` with `alg`.
pub fn encrypt(key: &RsaPrivateKey, alg: Alg, data: &[u8]) -> Result<Vec<u8>, rsa::Error> {
    let public = key.to_public_key();
    let mut rng = rand::thread_rng();
    match alg {
        Alg::RsaOaep256 => public.encrypt(&mut rng, Oaep::new::<sha2::Sha256>(), data),
        Alg::RsaOaep => public.encrypt(&mut rng, Oaep::new::<sha1::Sha1>(), data),
        Alg::Rsa15 => public.encrypt(&mut rng, Pkcs1v15Encrypt, data),
    }
}

/// Decrypts `data` with `key` and `alg`; fails on a ciphertext made for another key.
pub fn decrypt(key: &RsaPrivateKey, alg: Alg, data: &[u8]) -> Result<Vec<u8>, rsa::Error> {
    match alg {
        Alg::RsaOaep256 => key.decrypt(Oaep::new::<sha2::Sha256>(), data),
        Alg::RsaOaep => key.decrypt(Oaep::new::<sha1::Sha1>(), data),
        Alg::Rsa15 => key.decrypt(Pkcs1v15Encrypt, data),
    }
}

/// Unpadded base64url, the only form Key Vault sends.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url or standard base64, padded or not (Key Vault is lenient on input).
pub fn b64_lenient(text: &str) -> Option<Vec<u8>> {
    [URL_SAFE_NO_PAD, URL_SAFE, STANDARD_NO_PAD, STANDARD]
        .iter()
        .find_map(|engine| engine.decode(text.trim()).ok())
}

/// The public JWK members `n` and `e` as unpadded base64url big-endian integers.
pub fn public_jwk(key: &RsaPrivateKey) -> (String, String) {
    (
        b64url(&key.n().to_bytes_be()),
        b64url(&key.e().to_bytes_be()),
    )
}

/// The key size in bits.
pub fn bits(key: &RsaPrivateKey) -> usize {
    key.size() * 8
}

/// Builds a private key from JWK members `n`, `e`, `d`, `p`, `q` (the import body).
pub fn from_jwk(n: &str, e: &str, d: &str, p: &str, q: &str) -> Option<RsaPrivateKey> {
    let int = |s: &str| b64_lenient(s).map(|b| BigUint::from_bytes_be(&b));
    let key =
        RsaPrivateKey::from_components(int(n)?, int(e)?, int(d)?, vec![int(p)?, int(q)?]).ok()?;
    key.validate().ok()?;
    Some(key)
}

/// The private JWK members `d`, `p`, `q` (the inverse of [`from_jwk`]).
#[cfg(test)]
pub fn private_jwk(key: &RsaPrivateKey) -> Option<(String, String, String)> {
    use rsa::traits::PrivateKeyParts;
    let [p, q] = key.primes() else { return None };
    Some((
        b64url(&key.d().to_bytes_be()),
        b64url(&p.to_bytes_be()),
        b64url(&q.to_bytes_be()),
    ))
}

/// PKCS#8 PEM of the private key (persisted state, test-only export).
pub fn to_pem(key: &RsaPrivateKey) -> Result<String, rsa::pkcs8::Error> {
    Ok(key.to_pkcs8_pem(LineEnding::LF)?.to_string())
}

/// Parses a PKCS#8 PEM private key.
pub fn from_pem(pem: &str) -> Result<RsaPrivateKey, rsa::pkcs8::Error> {
    RsaPrivateKey::from_pkcs8_pem(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_base64_accepts_every_alphabet_and_padding() {
        let bytes = [0xfb, 0xff, 0x01];
        for text in ["-_8B", "+/8B"] {
            assert_eq!(b64_lenient(text).as_deref(), Some(&bytes[..]), "{text}");
        }
        assert_eq!(b64_lenient("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(b64_lenient("-_8=").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(b64_lenient("not base64!"), None);
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn every_alg_round_trips_and_oaep_variants_differ() {
        let key = generate(2048).expect("keygen");
        for alg in [Alg::RsaOaep256, Alg::RsaOaep, Alg::Rsa15] {
            let ct = encrypt(&key, alg, b"data key").expect("encrypt");
            assert_eq!(ct.len(), 256);
            assert_eq!(decrypt(&key, alg, &ct).expect("decrypt"), b"data key");
        }
        let ct = encrypt(&key, Alg::RsaOaep256, b"data key").expect("encrypt");
        assert!(decrypt(&key, Alg::RsaOaep, &ct).is_err());
    }

    #[test]
    fn jwk_and_pem_round_trip() {
        let key = generate(2048).expect("keygen");
        let (n, e) = public_jwk(&key);
        assert_eq!(e, "AQAB");
        let (d, p, q) = private_jwk(&key).expect("two primes");
        assert_eq!(from_jwk(&n, &e, &d, &p, &q), Some(key.clone()));
        assert_eq!(from_jwk(&n, &e, &d, &q, &q), None);
        let pem = to_pem(&key).expect("pem");
        assert_eq!(from_pem(&pem).expect("parse"), key);
    }
}
