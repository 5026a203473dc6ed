//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value codec.
//!
//! AES-256-GCM with 32-byte nonces (the GCM spec derives the counter block through GHASH
//! for nonces other than 96 bits), the plaintext forms of each value type, the decoding
//! of a decrypted plaintext back into a typed [`Value`], and the IV stash that lets an
//! unchanged value re-encrypt to the same bytes.

mod envelope;
pub mod gobase64;

pub use envelope::{looks_encrypted, parse as parse_envelope, render as render_envelope, Envelope};

use crate::numfmt::go_float_plain;
use crate::secret::Secret;
use crate::time::Timestamp;
use crate::tree::Value;
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce, Tag};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use zeroize::{Zeroize, Zeroizing};

/// Length of the IVs sops writes.
pub const IV_LEN: usize = 32;

/// Length of a data key.
pub const KEY_LEN: usize = 32;

type Gcm = AesGcm<Aes256, U32>;

/// Why a value could not be decrypted. The texts are sops's (they follow
/// `Could not decrypt value: `), except that decrypted plaintext is never quoted.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// The string is not an envelope.
    #[error("Input string {0} does not match sops' data format")]
    Format(String),
    /// A field is not valid padded standard base64.
    #[error("Error base64-decoding {field}: illegal base64 data at input byte {offset}")]
    Base64 {
        /// `data`, `iv` or `tag`.
        field: &'static str,
        /// Go's offset of the first bad byte.
        offset: usize,
    },
    /// GCM authentication failed (wrong key, wrong AAD or tampered value).
    #[error("Could not decrypt with AES_GCM: cipher: message authentication failed")]
    Auth,
    /// The IV or tag has a length this implementation does not decrypt.
    #[error("Could not decrypt with AES_GCM: unsupported {0}")]
    Shape(String),
    /// The plaintext does not parse as the declared type.
    #[error("strconv.{func}: parsing value: {reason}")]
    Decode {
        /// Go's parser name: `Atoi`, `ParseFloat`, `ParseBool`.
        func: &'static str,
        /// `invalid syntax` or `value out of range`.
        reason: &'static str,
    },
    /// A `type:time` plaintext is not RFC 3339.
    #[error("{0}")]
    Time(#[from] crate::time::TimeError),
    /// The `type:` name is unknown.
    #[error("Unknown datatype: {0}")]
    UnknownType(String),
    /// A TOML local date/time plaintext (`datetime-local`, `date-local`, `time-local`)
    /// does not have that shape.
    #[error("invalid {0} value")]
    LocalTime(&'static str),
}

/// The `type:` of an encrypted value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `str`: a string (also non-UTF-8 strings of the binary store).
    Str,
    /// `int`: a signed 64-bit integer in decimal.
    Int,
    /// `float`: Go `'f'` formatting, shortest round trip.
    Float,
    /// `bool`: `True` / `False`.
    Bool,
    /// `time`: RFC 3339 with nanoseconds.
    Time,
    /// `comment`: a comment's text.
    Comment,
    /// `datetime-local` (leafcrypt's TOML store only): a TOML local date-time,
    /// `YYYY-MM-DDTHH:MM:SS[.frac]` without an offset.
    LocalDateTime,
    /// `date-local` (TOML store only): a TOML local date, `YYYY-MM-DD`.
    LocalDate,
    /// `time-local` (TOML store only): a TOML local time, `HH:MM:SS[.frac]`.
    LocalTime,
    /// `bytes`: raw bytes; decrypt-only (sops 3 never writes it).
    Bytes,
}

impl ValueType {
    /// The `type:` name.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Str => "str",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Time => "time",
            ValueType::Comment => "comment",
            ValueType::LocalDateTime => "datetime-local",
            ValueType::LocalDate => "date-local",
            ValueType::LocalTime => "time-local",
            ValueType::Bytes => "bytes",
        }
    }

    /// Parses a `type:` name.
    pub fn from_name(name: &str) -> Result<Self, CipherError> {
        Ok(match name {
            "str" => ValueType::Str,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "time" => ValueType::Time,
            "comment" => ValueType::Comment,
            "datetime-local" => ValueType::LocalDateTime,
            "date-local" => ValueType::LocalDate,
            "time-local" => ValueType::LocalTime,
            "bytes" => ValueType::Bytes,
            other => return Err(CipherError::UnknownType(other.to_string())),
        })
    }
}

/// The plaintext bytes and type of a leaf (§2.1); `None` for null, maps and lists.
/// These bytes are both what gets encrypted and what the MAC hashes.
pub fn plaintext(value: &Value) -> Option<(Cow<'_, [u8]>, ValueType)> {
    Some(match value {
        Value::Str(s) => (Cow::Borrowed(s.as_bytes()), ValueType::Str),
        Value::Bytes(b) => (Cow::Borrowed(b.as_slice()), ValueType::Str),
        Value::Int(i) => (Cow::Owned(i.to_string().into_bytes()), ValueType::Int),
        Value::Float(f) => (
            Cow::Owned(go_float_plain(*f).into_bytes()),
            ValueType::Float,
        ),
        Value::Bool(true) => (Cow::Borrowed(&b"True"[..]), ValueType::Bool),
        Value::Bool(false) => (Cow::Borrowed(&b"False"[..]), ValueType::Bool),
        Value::Time(t) => (
            Cow::Borrowed(t.as_bytes()),
            local_kind(t).unwrap_or(ValueType::Time),
        ),
        Value::Comment(c) => (Cow::Borrowed(c.as_bytes()), ValueType::Comment),
        Value::Null | Value::Map(_) | Value::List(_) => return None,
    })
}

/// Decodes a decrypted plaintext as `ty`, the way sops does (Go's `strconv` parsers,
/// RFC 3339 for times). A `str` that is not UTF-8 becomes [`Value::Bytes`].
pub fn decode(plain: &[u8], ty: ValueType) -> Result<Value, CipherError> {
    let text = || std::str::from_utf8(plain).ok();
    Ok(match ty {
        ValueType::Str => match text() {
            Some(s) => Value::Str(s.to_string()),
            None => Value::Bytes(plain.to_vec()),
        },
        ValueType::Bytes => Value::Bytes(plain.to_vec()),
        ValueType::Comment => Value::Comment(String::from_utf8_lossy(plain).into_owned()),
        ValueType::Int => Value::Int(parse_int(text().unwrap_or_default())?),
        ValueType::Float => Value::Float(parse_float(text().unwrap_or_default())?),
        ValueType::Bool => Value::Bool(parse_bool(text().unwrap_or_default())?),
        ValueType::Time => {
            Value::Time(Timestamp::parse(text().unwrap_or_default())?.format_nanos())
        }
        ValueType::LocalDateTime | ValueType::LocalDate | ValueType::LocalTime => {
            let text = text().unwrap_or_default();
            if local_kind(text) != Some(ty) {
                return Err(CipherError::LocalTime(ty.name()));
            }
            Value::Time(text.to_string())
        }
    })
}

/// The TOML local kind of a [`Value::Time`] text without an offset (`1979-05-27`,
/// `07:32:00.5`, `1979-05-27T07:32:00`); `None` for anything else (RFC 3339 times).
pub fn local_kind(text: &str) -> Option<ValueType> {
    let b = text.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let num = |s: &[u8]| s.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let date = |s: &[u8]| {
        s.len() == 10
            && digits(&s[..4])
            && s[4] == b'-'
            && digits(&s[5..7])
            && s[7] == b'-'
            && digits(&s[8..])
            && (1..=12).contains(&num(&s[5..7]))
            && (1..=31).contains(&num(&s[8..]))
    };
    let time = |s: &[u8]| {
        s.len() >= 8
            && digits(&s[..2])
            && s[2] == b':'
            && digits(&s[3..5])
            && s[5] == b':'
            && digits(&s[6..8])
            && num(&s[..2]) < 24
            && num(&s[3..5]) < 60
            && num(&s[6..8]) <= 60
            && (s.len() == 8 || (s[8] == b'.' && digits(&s[9..])))
    };
    if date(b) {
        Some(ValueType::LocalDate)
    } else if time(b) {
        Some(ValueType::LocalTime)
    } else if b.len() > 11 && b[10] == b'T' && date(&b[..10]) && time(&b[11..]) {
        Some(ValueType::LocalDateTime)
    } else {
        None
    }
}

/// Whether `plain` is the exact form this implementation (and sops) writes for `value`:
/// decoding then re-encoding gives the same bytes. Used by `--strict`.
pub fn is_canonical(plain: &[u8], value: &Value) -> bool {
    plaintext(value).is_some_and(|(bytes, _)| bytes.as_ref() == plain)
}

/// Go's `strconv.Atoi` on 64-bit platforms.
fn parse_int(s: &str) -> Result<i64, CipherError> {
    use std::num::IntErrorKind;
    let err = |reason| CipherError::Decode {
        func: "Atoi",
        reason,
    };
    // Rust accepts the same grammar: optional sign, decimal digits, no underscores.
    s.parse::<i64>().map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => err("value out of range"),
        _ => err("invalid syntax"),
    })
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input (hex floats are not accepted).
fn parse_float(s: &str) -> Result<f64, CipherError> {
    let err = |reason| CipherError::Decode {
        func: "ParseFloat",
        reason,
    };
    let lower = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
    let is_special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    // Rust also accepts forms Go rejects only in exotic cases; Go rejects `1_0` without a
    // base prefix, and so does Rust.
    let v: f64 = s.parse().map_err(|_| err("invalid syntax"))?;
    if v.is_infinite() && !is_special {
        return Err(err("value out of range"));
    }
    Ok(v)
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Result<bool, CipherError> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(CipherError::Decode {
            func: "ParseBool",
            reason: "invalid syntax",
        }),
    }
}

/// A value that was decrypted. Decoding into a [`Value`] is deferred
/// ([`DecryptedValue::value`], [`DecryptedValue::into_value`]) so that a large string moves
/// into the tree instead of being copied.
pub struct DecryptedValue {
    /// The declared type.
    pub ty: ValueType,
    /// The plaintext bytes (zeroized on drop).
    pub plain: Zeroizing<Vec<u8>>,
    /// The IV it was encrypted with, when it is [`IV_LEN`] bytes long.
    pub iv: Option<[u8; IV_LEN]>,
    /// Whether the envelope text was in canonical form (see [`Envelope::canonical`]).
    pub canonical_envelope: bool,
}

/// AES-256-GCM under one data key. Build one per file, not per value.
#[derive(Clone)]
pub struct Cipher {
    gcm: Gcm,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    /// A cipher for `key`, which must be [`KEY_LEN`] bytes.
    pub fn new(key: &Secret) -> Result<Self, crate::Error> {
        Gcm::new_from_slice(key.expose())
            .map(|gcm| Self { gcm })
            .map_err(|_| {
                crate::Error::DataKey(format!(
                    "the data key must be {KEY_LEN} bytes long, but the recovered key has {} bytes",
                    key.len()
                ))
            })
    }

    /// Encrypts `plain` as `ty` under `aad` with `iv`. An empty plaintext is never
    /// encrypted: the result is the empty string.
    pub fn seal(&self, plain: &[u8], ty: ValueType, aad: &[u8], iv: &[u8; IV_LEN]) -> String {
        if plain.is_empty() {
            return String::new();
        }
        let mut buf = Zeroizing::new(plain.to_vec());
        let tag = self
            .gcm
            .encrypt_in_place_detached(Nonce::from_slice(iv), aad, &mut buf)
            .expect("GCM encryption only fails for plaintexts beyond 64 GiB");
        render_envelope(&buf, iv, &tag, ty.name())
    }

    /// Decrypts the envelope `text` under `aad` and decodes it per its type.
    pub fn open(&self, text: &str, aad: &[u8]) -> Result<DecryptedValue, CipherError> {
        let env = parse_envelope(text)?;
        let iv: [u8; IV_LEN] = env.iv.as_slice().try_into().map_err(|_| {
            CipherError::Shape(format!("IV length {} (expected {IV_LEN})", env.iv.len()))
        })?;
        if env.tag.len() != 16 {
            return Err(CipherError::Shape(format!("tag length {}", env.tag.len())));
        }
        let mut plain = Zeroizing::new(env.data);
        self.gcm
            .decrypt_in_place_detached(
                Nonce::from_slice(&iv),
                aad,
                &mut plain,
                Tag::from_slice(&env.tag),
            )
            .map_err(|_| CipherError::Auth)?;
        let ty = ValueType::from_name(env.type_name)?;
        Ok(DecryptedValue {
            ty,
            plain,
            iv: Some(iv),
            canonical_envelope: env.canonical,
        })
    }
}

impl DecryptedValue {
    /// The decoded value (a copy of the plaintext for strings).
    pub fn value(&self) -> Result<Value, CipherError> {
        decode(&self.plain, self.ty)
    }

    /// The decoded value; a UTF-8 `str` or `bytes` plaintext moves into it without a copy.
    pub fn into_value(mut self) -> Result<Value, CipherError> {
        match self.ty {
            ValueType::Str | ValueType::Bytes => {
                let bytes = std::mem::take(&mut *self.plain);
                Ok(match String::from_utf8(bytes) {
                    Ok(s) if self.ty == ValueType::Str => Value::Str(s),
                    Ok(s) => Value::Bytes(s.into_bytes()),
                    Err(e) => Value::Bytes(e.into_bytes()),
                })
            }
            _ => self.value(),
        }
    }
}

/// IVs of decrypted values, keyed by (AAD, type, plaintext), reused when the same value
/// is re-encrypted at the same path (keeps diffs minimal, as sops does). Reusing an IV
/// only ever reproduces the identical ciphertext of an identical plaintext. Keys hold
/// plaintext and are zeroized on drop.
#[derive(Clone, Default)]
pub struct IvStash {
    ivs: HashMap<Vec<u8>, [u8; IV_LEN], BuildHasherDefault<FoldHasher>>,
}

/// A fast multiply-fold hasher for the stash (its keys come from the file being
/// decrypted, whose author could only slow down their own decryption).
#[derive(Default)]
struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl IvStash {
    /// An empty stash.
    pub fn new() -> Self {
        Self::default()
    }

    fn key(aad: &[u8], ty: ValueType, plain: &[u8]) -> Vec<u8> {
        let mut key = Vec::with_capacity(9 + aad.len() + plain.len());
        key.extend_from_slice(&(aad.len() as u64).to_le_bytes());
        key.extend_from_slice(aad);
        key.push(ty as u8);
        key.extend_from_slice(plain);
        key
    }

    /// Remembers that `plain` of type `ty` at `aad` was encrypted with `iv`.
    pub fn insert(&mut self, aad: &[u8], ty: ValueType, plain: &[u8], iv: [u8; IV_LEN]) {
        let mut key = Self::key(aad, ty, plain);
        match self.ivs.get_mut(&key) {
            Some(slot) => {
                *slot = iv;
                key.zeroize();
            }
            None => {
                self.ivs.insert(key, iv);
            }
        }
    }

    /// The IV to reuse for `plain` of type `ty` at `aad`, if any.
    pub fn get(&self, aad: &[u8], ty: ValueType, plain: &[u8]) -> Option<[u8; IV_LEN]> {
        let mut key = Self::key(aad, ty, plain);
        let iv = self.ivs.get(&key).copied();
        key.zeroize();
        iv
    }

    /// Number of stashed IVs.
    pub fn len(&self) -> usize {
        self.ivs.len()
    }

    /// True when nothing is stashed.
    pub fn is_empty(&self) -> bool {
        self.ivs.is_empty()
    }
}

impl Drop for IvStash {
    fn drop(&mut self) {
        for (mut key, _) in self.ivs.drain() {
            key.zeroize();
        }
    }
}

impl std::fmt::Debug for IvStash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IvStash({} entries)", self.ivs.len())
    }
}

/// Fresh random IVs, drawn from the platform CSPRNG in batches (one system call per
/// 128 IVs rather than per value).
pub struct IvSource {
    buf: Box<[u8; IvSource::BATCH * IV_LEN]>,
    next: usize,
}

impl IvSource {
    const BATCH: usize = 128;

    /// An empty source; the first call to [`IvSource::next_iv`] fills it.
    pub fn new() -> Self {
        Self {
            buf: Box::new([0; Self::BATCH * IV_LEN]),
            next: Self::BATCH,
        }
    }

    /// The next random IV.
    pub fn next_iv(&mut self) -> Result<[u8; IV_LEN], getrandom::Error> {
        if self.next == Self::BATCH {
            getrandom::getrandom(&mut self.buf[..])?;
            self.next = 0;
        }
        let start = self.next * IV_LEN;
        self.next += 1;
        let mut iv = [0; IV_LEN];
        iv.copy_from_slice(&self.buf[start..start + IV_LEN]);
        Ok(iv)
    }
}

impl Default for IvSource {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        Cipher::new(&Secret::new((0u8..32).collect())).unwrap()
    }

    #[test]
    fn seal_open_round_trips_every_type() {
        let c = cipher();
        let iv = [5u8; IV_LEN];
        for value in [
            Value::Str("héllo".into()),
            Value::Int(-42),
            Value::Float(1e21),
            Value::Bool(false),
            Value::Time("2024-01-02T03:04:05.5+02:00".into()),
            Value::Comment(" a comment".into()),
        ] {
            let (plain, ty) = plaintext(&value).unwrap();
            let text = c.seal(&plain, ty, b"a:b:", &iv);
            let opened = c.open(&text, b"a:b:").unwrap();
            assert_eq!(opened.value().unwrap(), value);
            assert_eq!(opened.iv, Some(iv));
            assert!(opened.canonical_envelope);
            assert!(matches!(c.open(&text, b"a:c:"), Err(CipherError::Auth)));
        }
    }

    #[test]
    fn empty_plaintexts_are_not_encrypted() {
        assert_eq!(cipher().seal(b"", ValueType::Str, b"x:", &[0; IV_LEN]), "");
    }

    #[test]
    fn decodes_like_go_strconv() {
        assert_eq!(decode(b"t", ValueType::Bool).unwrap(), Value::Bool(true));
        assert!(decode(b"yes", ValueType::Bool).is_err());
        assert_eq!(decode(b"+7", ValueType::Int).unwrap(), Value::Int(7));
        assert_eq!(
            decode(b"9223372036854775808", ValueType::Int)
                .unwrap_err()
                .to_string(),
            "strconv.Atoi: parsing value: value out of range"
        );
        assert_eq!(
            decode(b"1e3", ValueType::Float).unwrap(),
            Value::Float(1000.0)
        );
        assert!(
            matches!(decode(b"-Inf", ValueType::Float).unwrap(), Value::Float(f) if f == f64::NEG_INFINITY)
        );
        assert!(decode(b"1e400", ValueType::Float).is_err());
        assert_eq!(
            decode(b"\xff", ValueType::Str).unwrap(),
            Value::Bytes(vec![0xff])
        );
        assert_eq!(
            decode(b"2024-01-02T00:00:00+00:00", ValueType::Time).unwrap(),
            Value::Time("2024-01-02T00:00:00Z".into())
        );
        assert_eq!(
            ValueType::from_name("blob").unwrap_err().to_string(),
            "Unknown datatype: blob"
        );
    }

    #[test]
    fn canonical_forms() {
        assert!(is_canonical(b"True", &Value::Bool(true)));
        assert!(!is_canonical(b"true", &Value::Bool(true)));
        assert!(!is_canonical(b"05", &Value::Int(5)));
        assert!(!is_canonical(b"1e3", &Value::Float(1000.0)));
    }

    #[test]
    fn stash_is_keyed_by_aad_type_and_plaintext() {
        let mut stash = IvStash::new();
        stash.insert(b"a:", ValueType::Str, b"5", [1; IV_LEN]);
        assert_eq!(stash.get(b"a:", ValueType::Str, b"5"), Some([1; IV_LEN]));
        assert_eq!(stash.get(b"a:", ValueType::Int, b"5"), None);
        assert_eq!(stash.get(b"b:", ValueType::Str, b"5"), None);
        // The AAD length prefix keeps ("a", "b…") and ("ab", "…") apart.
        assert_eq!(stash.get(b"a:5", ValueType::Str, b""), None);
    }

    #[test]
    fn iv_source_gives_distinct_ivs() {
        let mut src = IvSource::new();
        let ivs: std::collections::HashSet<_> = (0..300).map(|_| src.next_iv().unwrap()).collect();
        assert_eq!(ivs.len(), 300);
    }
}
