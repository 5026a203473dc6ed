//! The emulator's state: crypto keys with versions, service accounts, issued tokens,
//! deny rules, injected faults and the request log.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};

use rand::RngCore;
use rsa::RsaPublicKey;

/// One version of a crypto key: a random 256-bit secret and whether it is enabled.
#[derive(zeroize::ZeroizeOnDrop)]
pub struct Version {
    /// The symmetric secret (never leaves the process).
    pub secret: [u8; 32],
    /// Disabled versions refuse to encrypt or decrypt.
    #[zeroize(skip)]
    pub enabled: bool,
}

/// A `ENCRYPT_DECRYPT` crypto key.
pub struct Key {
    /// Versions 1..=n (index + 1).
    pub versions: Vec<Version>,
    /// The primary version (1-based); encryption uses it.
    pub primary: usize,
}

impl Key {
    /// A key with one fresh, primary version.
    pub fn new() -> Self {
        let mut key = Self {
            versions: Vec::new(),
            primary: 0,
        };
        key.rotate();
        key
    }

    /// Adds a fresh version and makes it primary; returns its number.
    pub fn rotate(&mut self) -> usize {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        self.versions.push(Version {
            secret,
            enabled: true,
        });
        self.primary = self.versions.len();
        self.primary
    }
}

/// A fault injected into the next `count` KMS requests.
#[derive(Clone, Debug)]
pub struct Fault {
    /// HTTP status to answer (429, 500, 503, ...); 0 = only the delay.
    pub status: u16,
    /// How many requests it applies to.
    pub count: u32,
    /// Delay before answering, milliseconds.
    pub delay_ms: u64,
}

/// One logged request.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Logged {
    /// Method.
    pub method: String,
    /// Path (no query).
    pub path: String,
    /// The `Host` header.
    pub host: String,
    /// The identity the bearer token mapped to, if any.
    pub identity: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// Everything behind one lock.
#[derive(Default)]
pub struct State {
    /// Crypto keys by resource name.
    pub keys: BTreeMap<String, Key>,
    /// Service-account public keys by `client_email`.
    pub accounts: HashMap<String, RsaPublicKey>,
    /// Refresh tokens (authorized_user credentials) to identities.
    pub refresh_tokens: HashMap<String, String>,
    /// Workload-identity subject tokens to the federated identity.
    pub subject_tokens: HashMap<String, String>,
    /// Access tokens to (identity, expiry in Unix seconds).
    pub tokens: HashMap<String, (String, u64)>,
    /// Denied (identity, key) pairs; `*` matches any.
    pub deny: HashSet<(String, String)>,
    /// Pending faults, first applies first.
    pub faults: VecDeque<Fault>,
    /// The request log.
    pub log: Vec<Logged>,
    /// Cloud Storage buckets: object name → object.
    pub buckets: BTreeMap<String, BTreeMap<String, Object>>,
    /// The last object generation given out.
    pub generation: u64,
    /// Cloud Storage requests without `Authorization` are served as `anonymous` (Google's
    /// Go client, and so sops, sends none to `STORAGE_EMULATOR_HOST`).
    pub gcs_anonymous: bool,
}

/// A Cloud Storage object.
#[derive(Clone, Debug)]
pub struct Object {
    /// Its bytes.
    pub data: Vec<u8>,
    /// Its content type.
    pub content_type: String,
    /// Its generation.
    pub generation: u64,
    /// The identity that uploaded it.
    pub uploader: String,
}

impl State {
    /// A new random access token for `identity`, valid `lifetime` seconds.
    pub fn mint(&mut self, identity: &str, lifetime: u64) -> String {
        let mut raw = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = format!("ya29.emu-{}", hex(&raw));
        self.tokens.insert(
            token.clone(),
            (identity.to_string(), crate::now() + lifetime),
        );
        token
    }

    /// Whether `identity` may use `key`.
    pub fn allowed(&self, identity: &str, key: &str) -> bool {
        ![(identity, key), (identity, "*"), ("*", key), ("*", "*")]
            .iter()
            .any(|(i, k)| self.deny.contains(&(i.to_string(), k.to_string())))
    }

    /// Takes the next fault, if any.
    pub fn next_fault(&mut self) -> Option<Fault> {
        let front = self.faults.front_mut()?;
        let fault = front.clone();
        front.count = front.count.saturating_sub(1);
        if front.count == 0 {
            self.faults.pop_front();
        }
        Some(fault)
    }
}

/// The shared state.
#[derive(Default)]
pub struct Shared {
    state: Mutex<State>,
    /// `http://127.0.0.1:<port>`, set once at startup.
    pub base: String,
}

impl Shared {
    /// A shared state for the server at `base`.
    pub fn new(base: String) -> Self {
        Self {
            state: Mutex::default(),
            base,
        }
    }

    /// The state, even if a handler panicked while holding it.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The token endpoint's URL (the `aud` of service-account assertions).
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.base)
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
