//! Tokens or temporary credentials reused until shortly before they expire.
//!
//! A value is refreshed 5 minutes before it expires (or halfway through its life when
//! that is shorter, so short-lived test tokens are still reused). If the refresh fails
//! while the old value is still valid, the old value is returned. Concurrent callers for
//! one key wait for one refresh instead of each asking the source (single flight: N
//! concurrent files make one token or credentials request, not N); refreshes of different
//! keys do not wait for each other. Time comes from an injectable
//! [`Clock`], so tests drive it without sleeping.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Seconds since the Unix epoch, now.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// How long before it expires a value is refreshed, at most.
pub const REFRESH_MARGIN_SECS: u64 = 300;

/// A cacheable value that expires (a bearer token, temporary credentials).
pub trait Expiring: Clone {
    /// Expiry, seconds since the Unix epoch (`u64::MAX`: not known, used until rejected).
    fn expires_on(&self) -> u64;
}

struct Entry<T> {
    value: T,
    refresh_at: u64,
}

/// Values of `T` by key `K` (e.g. scopes and tenant, or a profile name).
pub struct ExpiringCache<K, T> {
    clock: Clock,
    entries: Mutex<HashMap<K, Entry<T>>>,
    refreshing: Mutex<HashMap<K, Gate>>,
}

/// Held while one caller refreshes a key; the others for that key wait on it.
type Gate = Arc<futures_util::lock::Mutex<()>>;

impl<K, T> std::fmt::Debug for ExpiringCache<K, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExpiringCache({} cached, <redacted>)", self.len())
    }
}

impl<K, T> ExpiringCache<K, T> {
    /// How many values are cached (fresh or not).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every cached value.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

impl<K: Eq + Hash + Clone, T: Expiring> ExpiringCache<K, T> {
    /// An empty cache on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(super::platform::now_unix))
    }

    /// An empty cache on `clock`.
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            clock,
            entries: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value for `key` if it is not due for refresh; else `fetch()`'s value,
    /// cached; if `fetch` fails, the old value while it is still valid, else the error.
    pub async fn get_or_fetch<E, F>(&self, key: K, fetch: impl FnOnce() -> F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }
        let gate = self.gate(&key);
        let _one_refresh_per_key = gate.lock().await;
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }
        match fetch().await {
            Ok(value) => {
                self.store(key, &value);
                Ok(value)
            }
            Err(error) => self.still_valid(&key).ok_or(error),
        }
    }

    /// The lock held while `key` is refreshed (one per key, kept for the cache's life).
    fn gate(&self, key: &K) -> Gate {
        match self.refreshing.lock() {
            Ok(mut gates) => gates.entry(key.clone()).or_default().clone(),
            // A poisoned map: refresh without waiting rather than fail.
            Err(_) => Gate::default(),
        }
    }

    /// Forgets the value cached for `key` (e.g. after the server rejected it).
    pub fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }

    /// Forgets the value cached for `key` if `rejected` says it is the one the server
    /// refused: a newer value another caller already fetched stays. Whether one was
    /// forgotten.
    pub fn remove_if(&self, key: &K, rejected: impl FnOnce(&T) -> bool) -> bool {
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        if entries.get(key).is_some_and(|e| rejected(&e.value)) {
            entries.remove(key);
            return true;
        }
        false
    }

    /// The cached value for `key` if it is not due for refresh.
    fn fresh(&self, key: &K) -> Option<T> {
        let now = (self.clock)();
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|e| now < e.refresh_at)
            .map(|e| e.value.clone())
    }

    /// The cached value for `key` if it has not expired.
    fn still_valid(&self, key: &K) -> Option<T> {
        let now = (self.clock)();
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|e| now < e.value.expires_on())
            .map(|e| e.value.clone())
    }

    fn store(&self, key: K, value: &T) {
        let now = (self.clock)();
        let expires_on = value.expires_on();
        if expires_on <= now {
            return;
        }
        let margin = REFRESH_MARGIN_SECS.min((expires_on - now) / 2);
        let refresh_at = expires_on.saturating_sub(margin);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                key,
                Entry {
                    value: value.clone(),
                    refresh_at,
                },
            );
        }
    }
}

impl<K: Eq + Hash + Clone, T: Expiring> Default for ExpiringCache<K, T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Clone, Debug, PartialEq)]
    struct Creds(u64, u64);

    impl Expiring for Creds {
        fn expires_on(&self) -> u64 {
            self.1
        }
    }

    #[tokio::test]
    async fn an_expired_value_is_never_stored_and_errors_pass_through() {
        let now = Arc::new(AtomicU64::new(1000));
        let clock_now = now.clone();
        let cache: ExpiringCache<&str, Creds> =
            ExpiringCache::with_clock(Arc::new(move || clock_now.load(Ordering::SeqCst)));
        let got: Result<_, ()> = cache
            .get_or_fetch("p", || async { Ok(Creds(1, 1000)) })
            .await;
        assert_eq!(got, Ok(Creds(1, 1000)));
        assert!(cache.is_empty());
        let got: Result<_, &str> = cache.get_or_fetch("p", || async { Err("down") }).await;
        assert_eq!(got, Err("down"));
        let got: Result<_, ()> = cache
            .get_or_fetch("p", || async { Ok(Creds(2, 5000)) })
            .await;
        assert_eq!(got, Ok(Creds(2, 5000)));
        let got: Result<_, ()> = cache
            .get_or_fetch("p", || async { Ok(Creds(3, 9000)) })
            .await;
        assert_eq!(got, Ok(Creds(2, 5000)), "reused");
        cache.remove(&"p");
        let got: Result<_, ()> = cache
            .get_or_fetch("p", || async { Ok(Creds(4, 9000)) })
            .await;
        assert_eq!(got, Ok(Creds(4, 9000)));
    }

    /// N concurrent callers, the fetch still pending while they arrive: one fetch; when
    /// the clock passes the refresh time mid-run, one more fetch for all of them.
    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_one_refresh() {
        let now = Arc::new(AtomicU64::new(1000));
        let clock_now = now.clone();
        let cache: ExpiringCache<&str, Creds> =
            ExpiringCache::with_clock(Arc::new(move || clock_now.load(Ordering::SeqCst)));
        let fetches = AtomicU64::new(0);
        let fetch = || async {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            // Still pending when the other callers ask.
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            Ok::<_, ()>(Creds(n, 1000 + 100 * n))
        };
        let round =
            || futures_util::future::join_all((0..8).map(|_| cache.get_or_fetch("k", fetch)));
        let got = round().await;
        assert!(got.iter().all(|g| *g == Ok(Creds(1, 1100))), "{got:?}");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // Past the refresh time (halfway through a 100 s life), before expiry.
        now.store(1060, Ordering::SeqCst);
        let got = round().await;
        assert!(got.iter().all(|g| *g == Ok(Creds(2, 1200))), "{got:?}");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // Another key is fetched on its own.
        let other: Result<_, ()> = cache
            .get_or_fetch("other", || async { Ok(Creds(9, 5000)) })
            .await;
        assert_eq!(other, Ok(Creds(9, 5000)));
    }
}
