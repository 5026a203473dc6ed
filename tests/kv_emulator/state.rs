//! The state both listeners share: keys, test controls (challenge, token lifetime, faults,
//! deny rules), the request log, and the token minter.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::access::Deny;
use crate::faults::Faults;
use crate::jwt::{Claims, Minter};
use crate::reqlog::Entry;
use crate::store::Store;

/// The tenant named in the challenge by default. `adfs` is the one tenant for which MSAL
/// (in Go and Python) skips instance discovery, so client-secret and workload-identity
/// credentials can reach the emulator's authority without any other host.
pub const DEFAULT_TENANT: &str = "adfs";

/// The identity of a managed-identity token requested without a client id.
pub const SYSTEM_IDENTITY: &str = "system-assigned";

/// The request log keeps this many newest entries.
pub const LOG_CAPACITY: usize = 10_000;

/// Token lifetime unless `/admin/token_lifetime` changes it.
pub const DEFAULT_TOKEN_LIFETIME: i64 = 3600;

/// What the 401 challenge announces.
#[derive(Clone, Debug)]
pub struct Challenge {
    /// `resource=`: what tokens must be for (their `aud`).
    pub resource: String,
    /// The tenant, the path of `authorization=`.
    pub tenant: String,
    /// The authority host of `authorization=`.
    pub authority: String,
}

/// Settings tests change through the admin API; [`Controls::reset`] restores them.
pub struct Controls {
    /// The challenge.
    pub challenge: Challenge,
    /// Lifetime of newly minted tokens, seconds.
    pub token_lifetime: i64,
    /// Pending faults.
    pub faults: Faults,
    /// Deny rules.
    pub denies: Vec<Deny>,
    initial: Challenge,
}

impl Controls {
    /// Defaults around `challenge`.
    pub fn new(challenge: Challenge) -> Self {
        Self {
            challenge: challenge.clone(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            faults: Faults::default(),
            denies: Vec::new(),
            initial: challenge,
        }
    }

    /// Back to the startup challenge and lifetime, with no faults and no deny rules.
    pub fn reset(&mut self) {
        *self = Self::new(self.initial.clone());
    }
}

/// Everything the handlers share.
pub struct Shared {
    /// The keys.
    pub store: Mutex<Store>,
    /// Test controls.
    pub controls: Mutex<Controls>,
    /// Request log, oldest first, at most [`LOG_CAPACITY`] entries.
    pub log: Mutex<VecDeque<Entry>>,
    /// Signs and checks tokens.
    pub minter: Minter,
    /// The secret `X-IDENTITY-HEADER` value of the App Service token endpoint.
    pub identity_header: String,
    /// `127.0.0.1:<vault port>`, for kids built outside a vault request (admin API).
    pub vault_host: String,
    /// Vault requests being handled now, and the most seen at once since the last
    /// `/admin/counters/clear` (tests check clients' concurrency bounds with it).
    pub in_flight: InFlight,
}

/// Counts concurrent vault requests and keeps the maximum.
#[derive(Default)]
pub struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// One request counted by [`InFlight::enter`]; leaving on drop.
pub struct Inside<'a>(&'a InFlight);

impl InFlight {
    /// Counts a request in until the guard drops.
    pub fn enter(&self) -> Inside<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        Inside(self)
    }

    /// (now, max).
    pub fn snapshot(&self) -> (usize, usize) {
        (
            self.now.load(Ordering::SeqCst),
            self.max.load(Ordering::SeqCst),
        )
    }

    /// The maximum starts again from the requests in flight now.
    pub fn clear(&self) {
        self.max
            .store(self.now.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    /// Locks the store (a panicked holder leaves it usable: every change is atomic).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the controls.
    pub fn controls(&self) -> MutexGuard<'_, Controls> {
        self.controls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn log(&self) -> MutexGuard<'_, VecDeque<Entry>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends to the request log, dropping the oldest entry when it is full.
    pub fn record(&self, entry: Entry) {
        let mut log = self.log();
        if log.len() >= LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// A copy of the request log, oldest first.
    pub fn log_snapshot(&self) -> Vec<Entry> {
        self.log().iter().cloned().collect()
    }

    /// Empties the request log.
    pub fn clear_log(&self) {
        self.log().clear();
    }

    /// Mints a token for `identity` and `resource` (a scope's `/.default` is dropped),
    /// living `lifetime` seconds (default: the configured lifetime; negative = already expired).
    pub fn issue(&self, identity: &str, resource: &str, lifetime: Option<i64>) -> (String, Claims) {
        let (tenant, default_lifetime) = {
            let c = self.controls();
            (c.challenge.tenant.clone(), c.token_lifetime)
        };
        let now = crate::now();
        let exp = now.saturating_add_signed(lifetime.unwrap_or(default_lifetime));
        let claims = Claims {
            aud: audience(resource),
            iss: format!("https://sts.windows.net/{tenant}/"),
            oid: identity.to_string(),
            appid: identity.to_string(),
            tid: tenant,
            iat: now,
            nbf: now,
            exp,
        };
        (self.minter.mint(&claims), claims)
    }
}

/// A resource or scope reduced to the audience it names: no `/.default`, no trailing `/`.
pub fn audience(resource: &str) -> String {
    let r = resource.trim();
    let r = r.strip_suffix("/.default").unwrap_or(r);
    r.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_normalises_scopes() {
        assert_eq!(
            audience("https://0.0.1:8443/.default"),
            "https://0.0.1:8443"
        );
        assert_eq!(audience("https://0.0.1:8443/"), "https://0.0.1:8443");
        assert_eq!(
            audience("https://vault.azure.net"),
            "https://vault.azure.net"
        );
    }
}
