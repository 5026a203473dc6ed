//! The agent's wire format: frames of a 4-byte big-endian length and a body. A request
//! body is an opcode byte and its fields; a response body is a status byte and a payload.
//!
//! | request | fields | response payload |
//! |---|---|---|
//! | `1` get | 32-byte id | the data key (status `0`), nothing (status `1`: unknown) |
//! | `2` put | 32-byte id, data key | – (status `2` when locked) |
//! | `3` forget | 32-byte id | – |
//! | `4` clear, `5` lock, `6` unlock, `7` stop | – | – |
//! | `8` status | – | JSON: entries, locked, ttl_ms, hits, misses, refused |

use std::io::{self, Read, Write};
use zeroize::Zeroizing;

/// Largest frame accepted (a data key is 32 bytes; status is small).
pub const MAX_FRAME: usize = 4096;

/// A cache id: the digest of a file's wrapped-key entries.
pub type Id = [u8; 32];

/// What a client asks.
pub enum Request {
    /// The data key cached under the id.
    Get(Id),
    /// Cache a data key.
    Put(Id, Zeroizing<Vec<u8>>),
    /// Forget one id (its key did not verify).
    Forget(Id),
    /// Forget everything.
    Clear,
    /// Forget everything and refuse new keys until unlocked.
    Lock,
    /// Accept keys again.
    Unlock,
    /// Forget everything and exit.
    Stop,
    /// Counters, as JSON.
    Status,
}

/// Response status bytes.
pub mod status {
    /// Done; the payload is the answer.
    pub const OK: u8 = 0;
    /// No such entry.
    pub const MISS: u8 = 1;
    /// The agent is locked.
    pub const LOCKED: u8 = 2;
    /// The request could not be parsed.
    pub const BAD: u8 = 3;
}

impl Request {
    /// The request's body.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut b = Zeroizing::new(Vec::with_capacity(80));
        let (op, id, key): (u8, Option<&Id>, Option<&[u8]>) = match self {
            Request::Get(id) => (1, Some(id), None),
            Request::Put(id, key) => (2, Some(id), Some(key)),
            Request::Forget(id) => (3, Some(id), None),
            Request::Clear => (4, None, None),
            Request::Lock => (5, None, None),
            Request::Unlock => (6, None, None),
            Request::Stop => (7, None, None),
            Request::Status => (8, None, None),
        };
        b.push(op);
        if let Some(id) = id {
            b.extend_from_slice(id);
        }
        if let Some(key) = key {
            b.extend_from_slice(key);
        }
        b
    }

    /// Parses a request body; `None` when malformed.
    pub fn decode(body: &[u8]) -> Option<Request> {
        let (&op, rest) = body.split_first()?;
        let id = || -> Option<Id> { rest.get(..32)?.try_into().ok() };
        let exact = |n: usize| rest.len() == n;
        Some(match op {
            1 if exact(32) => Request::Get(id()?),
            2 if rest.len() > 32 => Request::Put(id()?, Zeroizing::new(rest[32..].to_vec())),
            3 if exact(32) => Request::Forget(id()?),
            4 if exact(0) => Request::Clear,
            5 if exact(0) => Request::Lock,
            6 if exact(0) => Request::Unlock,
            7 if exact(0) => Request::Stop,
            8 if exact(0) => Request::Status,
            _ => return None,
        })
    }
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
    let mut frame = Zeroizing::new(Vec::with_capacity(4 + body.len()));
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    w.write_all(&frame)?;
    w.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut body = Zeroizing::new(vec![0u8; len]);
    r.read_exact(&mut body)?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_junk_is_refused() {
        let id = [7u8; 32];
        let body = Request::Put(id, Zeroizing::new(vec![1, 2, 3])).encode();
        match Request::decode(&body) {
            Some(Request::Put(i, k)) => assert_eq!((i, k.to_vec()), (id, vec![1, 2, 3])),
            _ => panic!("put did not round-trip"),
        }
        assert!(
            matches!(Request::decode(&Request::Get(id).encode()), Some(Request::Get(i)) if i == id)
        );
        assert!(Request::decode(&[]).is_none());
        assert!(Request::decode(&[1, 0, 0]).is_none());
        assert!(Request::decode(&[2; 33]).is_none());
        assert!(Request::decode(&[9]).is_none());
        let mut wire = Vec::new();
        write_frame(&mut wire, b"abc").unwrap();
        let mut r = &wire[..];
        assert_eq!(read_frame(&mut r).unwrap().unwrap().as_slice(), b"abc");
        assert!(read_frame(&mut r).unwrap().is_none());
        let huge = (MAX_FRAME as u32 + 1).to_be_bytes();
        assert!(read_frame(&mut &huge[..]).is_err());
    }
}
