//! Secret byte strings (data keys, Shamir shares) that zeroize on drop.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Secret bytes: zeroized on drop, compared in constant time, never printed.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps `bytes`, taking ownership.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Fresh random bytes from the platform CSPRNG.
    pub fn random(len: usize) -> Result<Self, getrandom::Error> {
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        getrandom::getrandom(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}
