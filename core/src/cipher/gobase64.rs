//! Standard padded base64 decoding with the acceptance rules and error offsets of Go's
//! `base64.StdEncoding.DecodeString`, which sops uses for `data`, `iv` and `tag`.
//!
//! Go is strict about padding but, unlike the `base64` crate's default engine, accepts
//! non-zero trailing bits in the last quantum and skips `\r`/`\n` anywhere. Matching it
//! keeps leafcrypt accepting exactly the files sops accepts; [`decode`] also reports
//! whether the input was canonical, so `--strict` can reject malleable encodings.

/// Go's `CorruptInputError`: the byte offset of the first bad input byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("illegal base64 data at input byte {0}")]
pub struct CorruptInput(pub usize);

/// Decoded bytes, and whether the input was the canonical encoding of them.
pub struct Decoded {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// False when the input had non-zero padding bits or line breaks.
    pub canonical: bool,
}

const INVALID: u8 = 0xff;

const fn decode_map() -> [u8; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut map = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        map[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    map
}

static DECODE: [u8; 256] = decode_map();

fn is_newline(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// Decodes `src` exactly as Go's `StdEncoding.DecodeString` does.
pub fn decode(src: &[u8]) -> Result<Decoded, CorruptInput> {
    use base64::prelude::{Engine, BASE64_STANDARD};
    // Fast path: the strict engine accepts exactly the canonical encodings.
    if let Ok(bytes) = BASE64_STANDARD.decode(src) {
        return Ok(Decoded {
            bytes,
            canonical: true,
        });
    }
    decode_go(src)
}

/// The quantum-by-quantum decoder that reproduces Go's acceptance and error offsets.
fn decode_go(src: &[u8]) -> Result<Decoded, CorruptInput> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    let mut canonical = !src.iter().copied().any(is_newline);
    let mut si = 0;
    loop {
        let Some(quantum) = read_quantum(src, &mut si)? else {
            return Ok(Decoded {
                bytes: out,
                canonical,
            });
        };
        canonical &= quantum.append_to(&mut out);
        if let Some(err) = quantum.trailing_error {
            return Err(err);
        }
        if quantum.len < 4 {
            return Ok(Decoded {
                bytes: out,
                canonical,
            });
        }
    }
}

/// Up to four symbols read by [`read_quantum`].
struct Quantum {
    /// The symbols' 6-bit values (zero past `len`).
    buf: [u8; 4],
    /// How many symbols there are (fewer than four only when padded).
    len: usize,
    /// Go's error for input after the padding, reported once the quantum is decoded.
    trailing_error: Option<CorruptInput>,
}

impl Quantum {
    /// Appends the decoded bytes; false when the padding bits were not zero.
    fn append_to(&self, out: &mut Vec<u8>) -> bool {
        let buf = self.buf;
        let value = u32::from(buf[0]) << 18
            | u32::from(buf[1]) << 12
            | u32::from(buf[2]) << 6
            | u32::from(buf[3]);
        let bytes = [(value >> 16) as u8, (value >> 8) as u8, value as u8];
        match self.len {
            4 => {
                out.extend_from_slice(&bytes);
                true
            }
            3 => {
                out.extend_from_slice(&bytes[..2]);
                bytes[2] == 0
            }
            _ => {
                out.push(bytes[0]);
                bytes[1] == 0 && bytes[2] == 0
            }
        }
    }
}

/// The next quantum from `src[*si..]`, skipping line breaks; `None` at the end of input
/// on a quantum boundary.
fn read_quantum(src: &[u8], si: &mut usize) -> Result<Option<Quantum>, CorruptInput> {
    let mut buf = [0u8; 4];
    let mut j = 0;
    while j < 4 {
        if *si == src.len() {
            if j == 0 {
                return Ok(None);
            }
            // Go: a partial quantum without padding is corrupt.
            return Err(CorruptInput(*si - j));
        }
        let byte = src[*si];
        *si += 1;
        let value = DECODE[usize::from(byte)];
        if value != INVALID {
            buf[j] = value;
            j += 1;
            continue;
        }
        if is_newline(byte) {
            continue;
        }
        if byte != b'=' {
            return Err(CorruptInput(*si - 1));
        }
        let trailing_error = padding(src, si, j)?;
        return Ok(Some(Quantum {
            buf,
            len: j,
            trailing_error,
        }));
    }
    Ok(Some(Quantum {
        buf,
        len: 4,
        trailing_error: None,
    }))
}

/// Checks the padding whose first `=` (after `symbols` symbols) was just read: only after
/// two or three symbols, two `=` after two. The error for any input after it is returned
/// for later.
fn padding(
    src: &[u8],
    si: &mut usize,
    symbols: usize,
) -> Result<Option<CorruptInput>, CorruptInput> {
    match symbols {
        0 | 1 => return Err(CorruptInput(*si - 1)),
        2 => {
            while *si < src.len() && is_newline(src[*si]) {
                *si += 1;
            }
            if *si == src.len() {
                return Err(CorruptInput(src.len()));
            }
            if src[*si] != b'=' {
                return Err(CorruptInput(*si - 1));
            }
            *si += 1;
        }
        _ => {}
    }
    while *si < src.len() && is_newline(src[*si]) {
        *si += 1;
    }
    Ok((*si < src.len()).then_some(CorruptInput(*si)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (Vec<u8>, bool) {
        let d = decode(s.as_bytes()).unwrap();
        (d.bytes, d.canonical)
    }

    fn err(s: &str) -> usize {
        decode(s.as_bytes()).err().unwrap().0
    }

    #[test]
    fn decodes_padded_standard_base64() {
        assert_eq!(ok(""), (vec![], true));
        assert_eq!(ok("YQ=="), (b"a".to_vec(), true));
        assert_eq!(ok("YWI="), (b"ab".to_vec(), true));
        assert_eq!(ok("YWJj"), (b"abc".to_vec(), true));
        assert_eq!(ok("+/8="), (vec![0xfb, 0xff], true));
    }

    #[test]
    fn accepts_what_go_accepts_but_flags_it() {
        assert_eq!(ok("YR=="), (b"a".to_vec(), false));
        assert_eq!(ok("YW\nJj"), (b"abc".to_vec(), false));
    }

    #[test]
    fn error_offsets_match_go() {
        assert_eq!(err("YQ"), 0);
        assert_eq!(err("YWJ"), 0);
        assert_eq!(err("YWJjZ"), 4);
        assert_eq!(err("Y==="), 1);
        assert_eq!(err("YQ="), 3);
        assert_eq!(err("YQ=x"), 2);
        assert_eq!(err("YQ==YQ=="), 4);
        assert_eq!(err("YW*j"), 2);
        assert_eq!(err("YWI=x"), 4);
    }
}
