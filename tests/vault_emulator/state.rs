//! The emulator's state: mounts and their engines, tokens and policies, the seal, injected
//! faults and the request log.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

/// A transit key: its versions (AES-256-GCM keys), version 1 first.
pub struct TransitKey {
    /// Key material per version.
    pub versions: Vec<Zeroizing<[u8; 32]>>,
    /// Lowest version that may still decrypt.
    pub min_decryption_version: usize,
    /// Unix seconds of each version's creation.
    pub created: Vec<u64>,
}

impl TransitKey {
    fn new() -> Self {
        let mut k = Self {
            versions: Vec::new(),
            min_decryption_version: 1,
            created: Vec::new(),
        };
        k.rotate();
        k
    }

    /// Adds a new latest version.
    pub fn rotate(&mut self) {
        let mut material = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(material.as_mut());
        self.versions.push(material);
        self.created.push(now());
    }
}

/// One KV secret version.
#[derive(Clone)]
pub struct Secret {
    /// Its data.
    pub data: Value,
    /// Unix seconds of the write.
    pub created: u64,
}

/// An engine mounted at a path.
pub enum Engine {
    /// Transit: named keys.
    Transit(BTreeMap<String, TransitKey>),
    /// KV of a version (1 or 2): path → versions (v1 keeps only the last).
    Kv(u8, BTreeMap<String, Vec<Secret>>),
}

impl Engine {
    /// An empty transit engine.
    pub fn transit() -> Self {
        Engine::Transit(BTreeMap::new())
    }

    /// An empty KV engine of `version`.
    pub fn kv(version: u8) -> Self {
        Engine::Kv(version, BTreeMap::new())
    }

    /// The `type` Vault reports for it.
    pub fn kind(&self) -> &'static str {
        match self {
            Engine::Transit(_) => "transit",
            Engine::Kv(..) => "kv",
        }
    }
}

/// One policy rule: a path (a trailing `*` matches any suffix) and its capabilities.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rule {
    /// The path pattern, without `/v1/`.
    pub path: String,
    /// `create`, `read`, `update`, `delete`, `list`, `sudo`.
    pub capabilities: Vec<String>,
}

/// An injected fault, as posted to `/admin/fault`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fault {
    /// Status to answer with instead of serving (429, 5xx); none = serve after `delay_ms`.
    #[serde(default)]
    pub status: Option<u16>,
    /// Only requests whose path (without `/v1/`) starts with this; empty = all.
    #[serde(default)]
    pub path_prefix: String,
    /// How many requests it applies to.
    #[serde(default = "one")]
    pub count: u32,
    /// Latency added before answering.
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

/// One logged request (never the token itself).
#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// `X-Vault-Namespace`, if sent.
    pub namespace: Option<String>,
    /// Whether a token was sent.
    pub token: bool,
    /// The status answered.
    pub status: u16,
}

/// Everything behind the lock.
pub struct State {
    /// Sealed vaults answer 503 to everything but the seal/health routes.
    pub sealed: bool,
    /// Mount path (with a trailing `/`) → engine.
    pub mounts: BTreeMap<String, Engine>,
    /// Non-root tokens → their rules.
    pub tokens: HashMap<String, Vec<Rule>>,
    /// Pending faults, first added first used.
    pub faults: Vec<Fault>,
    /// Requests served.
    pub log: Vec<LogEntry>,
    /// Origins allowed by `sys/config/cors` (`*` = any); empty: CORS disabled, as in Vault.
    pub cors_origins: Vec<String>,
    /// Headers `sys/config/cors` allows beyond Vault's standard ones.
    pub cors_headers: Vec<String>,
}

impl State {
    /// Mounts `engine` at `path` (replacing nothing: an existing mount is kept).
    pub fn mount(&mut self, path: &str, engine: Engine) -> bool {
        let key = mount_key(path);
        if self.mounts.contains_key(&key) {
            return false;
        }
        self.mounts.insert(key, engine);
        true
    }

    /// Creates transit key `name` under `mount` (mounting transit there if needed).
    pub fn create_key(&mut self, mount: &str, name: &str) {
        self.mount(mount, Engine::transit());
        if let Some(Engine::Transit(keys)) = self.mounts.get_mut(&mount_key(mount)) {
            keys.entry(name.to_string()).or_insert_with(TransitKey::new);
        }
    }

    /// The mount serving `path` (longest prefix) and the rest of the path.
    pub fn route<'a>(&mut self, path: &'a str) -> Option<(String, &'a str)> {
        let with_slash = format!("{path}/");
        let mount = self
            .mounts
            .keys()
            .filter(|m| with_slash.starts_with(m.as_str()))
            .max_by_key(|m| m.len())?
            .clone();
        let rest = path.get(mount.len().min(path.len())..).unwrap_or("");
        Some((mount, rest))
    }

    /// Consumes one use of the first fault matching `path`.
    pub fn take_fault(&mut self, path: &str) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|f| path.starts_with(&f.path_prefix))?;
        let fault = &mut self.faults[i];
        fault.count = fault.count.saturating_sub(1);
        let used = fault.clone();
        if fault.count == 0 {
            self.faults.remove(i);
        }
        Some(used)
    }
}

/// A new transit key.
pub fn new_key() -> TransitKey {
    TransitKey::new()
}

/// `path` as a mount key: no leading slash, one trailing slash.
pub fn mount_key(path: &str) -> String {
    format!("{}/", path.trim_matches('/'))
}

/// The state plus the root token.
pub struct Shared {
    state: Mutex<State>,
    /// The root token (every capability).
    pub root: String,
}

impl Shared {
    /// A dev-like vault: unsealed, `secret/` as KV v2.
    pub fn new(root: String) -> Self {
        let mut mounts = BTreeMap::new();
        mounts.insert("secret/".to_string(), Engine::kv(2));
        Self {
            state: Mutex::new(State {
                sealed: false,
                mounts,
                tokens: HashMap::new(),
                faults: Vec::new(),
                log: Vec::new(),
                cors_origins: Vec::new(),
                cors_headers: Vec::new(),
            }),
            root,
        }
    }

    /// The locked state.
    pub fn state(&self) -> MutexGuard<'_, State> {
        crate::lock(&self.state)
    }
}

/// Whether `rules` grant `capability` on `path`.
pub fn allowed(rules: &[Rule], path: &str, capability: &str) -> bool {
    rules.iter().any(|r| {
        let matches = match r.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == r.path,
        };
        matches
            && r.capabilities
                .iter()
                .any(|c| c == capability || c == "sudo")
    })
}

/// A random token in Vault's `hvs.` style.
pub fn random_token() -> String {
    let mut buf = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut buf);
    let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    format!("hvs.{hex}")
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// RFC 3339 UTC of Unix seconds (what Vault writes in `created_time`).
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
