//! The agent's memory: data keys by id, each forgotten (zeroized) when its TTL runs out,
//! on `clear`, `lock` and `stop`.

use super::protocol::Id;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

struct Entry {
    key: Zeroizing<Vec<u8>>,
    expires: Instant,
}

/// Cached data keys and the agent's counters.
pub struct Cache {
    ttl: Duration,
    entries: HashMap<Id, Entry>,
    locked: bool,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups not answered.
    pub misses: u64,
    /// Connections refused (another user).
    pub refused: u64,
}

impl Cache {
    /// An empty, unlocked cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: HashMap::new(),
            locked: false,
            hits: 0,
            misses: 0,
            refused: 0,
        }
    }

    /// The key cached under `id`, unless it expired or the cache is locked.
    pub fn get(&mut self, id: &Id, now: Instant) -> Option<Zeroizing<Vec<u8>>> {
        self.sweep(now);
        let found = self
            .entries
            .get(id)
            .filter(|_| !self.locked)
            .map(|e| e.key.clone());
        if found.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        found
    }

    /// Caches `key` under `id` for the TTL; `false` when locked.
    pub fn put(&mut self, id: Id, key: Zeroizing<Vec<u8>>, now: Instant) -> bool {
        if self.locked {
            return false;
        }
        let expires = now + self.ttl;
        self.entries.insert(id, Entry { key, expires });
        true
    }

    /// Forgets `id`.
    pub fn forget(&mut self, id: &Id) {
        self.entries.remove(id);
    }

    /// Forgets every key (each zeroized as it drops).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Forgets every key and refuses new ones until [`Cache::unlock`].
    pub fn lock(&mut self) {
        self.clear();
        self.locked = true;
    }

    /// Accepts keys again.
    pub fn unlock(&mut self) {
        self.locked = false;
    }

    /// Forgets the expired keys.
    pub fn sweep(&mut self, now: Instant) {
        self.entries.retain(|_, e| e.expires > now);
    }

    /// The counters as JSON (never a key or an id).
    pub fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "entries": self.entries.len(),
            "locked": self.locked,
            "ttl_ms": self.ttl.as_millis() as u64,
            "hits": self.hits,
            "misses": self.misses,
            "refused": self.refused,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_lock_forgets_and_refuses() {
        let t0 = Instant::now();
        let mut c = Cache::new(Duration::from_secs(10));
        assert!(c.put([1; 32], Zeroizing::new(vec![9; 32]), t0));
        assert_eq!(c.get(&[1; 32], t0).unwrap().as_slice(), [9; 32]);
        assert!(c.get(&[2; 32], t0).is_none());
        assert!(c.get(&[1; 32], t0 + Duration::from_secs(11)).is_none());
        assert_eq!(c.status()["entries"], 0);
        c.put([1; 32], Zeroizing::new(vec![9; 32]), t0);
        c.lock();
        assert!(!c.put([3; 32], Zeroizing::new(vec![1]), t0));
        assert!(c.get(&[1; 32], t0).is_none());
        c.unlock();
        assert!(c.put([3; 32], Zeroizing::new(vec![1]), t0));
        c.clear();
        assert_eq!(
            (c.status()["entries"].as_u64(), c.hits, c.misses),
            (Some(0), 1, 3)
        );
    }
}
