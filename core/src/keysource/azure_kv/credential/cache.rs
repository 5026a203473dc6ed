//! A caching wrapper: one token per (scopes, tenant), reused until shortly before it
//! expires, on the shared [`ExpiringCache`] (refresh 5 minutes before `expires_on`, or
//! halfway through a short life; the old token while a failed refresh leaves it valid;
//! one refresh at a time; an injectable [`Clock`]).

use super::{AccessToken, CredentialError, TokenCredential, TokenRequest};
use crate::keysource::rest::cache::{Expiring, ExpiringCache};
use async_trait::async_trait;

pub use crate::keysource::rest::cache::{Clock, REFRESH_MARGIN_SECS};

/// (sorted scopes, tenant).
type Key = (Vec<String>, Option<String>);

impl Expiring for AccessToken {
    fn expires_on(&self) -> u64 {
        self.expires_on
    }
}

/// Caches the tokens of `C`.
pub struct CachingCredential<C> {
    inner: C,
    tokens: ExpiringCache<Key, AccessToken>,
}

impl<C> std::fmt::Debug for CachingCredential<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CachingCredential({} cached token(s), <redacted>)",
            self.tokens.len()
        )
    }
}

impl<C: TokenCredential> CachingCredential<C> {
    /// Caches `inner`'s tokens on the system clock.
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            tokens: ExpiringCache::new(),
        }
    }

    /// Caches `inner`'s tokens on `clock`.
    pub fn with_clock(inner: C, clock: Clock) -> Self {
        Self {
            inner,
            tokens: ExpiringCache::with_clock(clock),
        }
    }

    /// The wrapped credential.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Forgets every cached token (e.g. after Key Vault rejected one).
    pub fn clear(&self) {
        self.tokens.clear();
    }

    fn key(request: &TokenRequest) -> Key {
        let mut scopes = request.scopes.clone();
        scopes.sort();
        (scopes, request.tenant_id.clone())
    }
}

#[async_trait(?Send)]
impl<C: TokenCredential> TokenCredential for CachingCredential<C> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        self.tokens
            .get_or_fetch(Self::key(request), || self.inner.get_token(request))
            .await
    }

    fn invalidate(&self, request: &TokenRequest) {
        self.tokens.remove(&Self::key(request));
        self.inner.invalidate(request);
    }

    fn invalidate_rejected(&self, request: &TokenRequest, token: &str) {
        let rejected = |cached: &AccessToken| cached.token.as_str() == token;
        self.tokens.remove_if(&Self::key(request), rejected);
        self.inner.invalidate_rejected(request, token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use zeroize::Zeroizing;

    /// Hands out `tok-1`, `tok-2`, … each valid for `lifetime` seconds from the shared
    /// clock, or fails while `failing` is set.
    struct Counting {
        calls: AtomicU64,
        now: Arc<AtomicU64>,
        lifetime: u64,
        failing: std::sync::atomic::AtomicBool,
    }

    #[async_trait(?Send)]
    impl TokenCredential for Counting {
        fn name(&self) -> &str {
            "Counting"
        }
        async fn get_token(&self, _: &TokenRequest) -> Result<AccessToken, CredentialError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            // Let other callers run while this one is "on the network".
            tokio::task::yield_now().await;
            if self.failing.load(Ordering::SeqCst) {
                return Err(CredentialError::failed("Counting", "down"));
            }
            Ok(AccessToken {
                token: Zeroizing::new(format!("tok-{n}")),
                expires_on: self.now.load(Ordering::SeqCst) + self.lifetime,
            })
        }
    }

    fn setup(lifetime: u64) -> (CachingCredential<Counting>, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(1_000_000));
        let inner = Counting {
            calls: AtomicU64::new(0),
            now: now.clone(),
            lifetime,
            failing: false.into(),
        };
        let clock_now = now.clone();
        let cache = CachingCredential::with_clock(
            inner,
            Arc::new(move || clock_now.load(Ordering::SeqCst)),
        );
        (cache, now)
    }

    fn request(scope: &str, tenant: Option<&str>) -> TokenRequest {
        TokenRequest {
            scopes: vec![scope.into()],
            tenant_id: tenant.map(String::from),
        }
    }

    async fn token(cache: &CachingCredential<Counting>, req: &TokenRequest) -> String {
        cache.get_token(req).await.unwrap().token.to_string()
    }

    #[tokio::test]
    async fn reuses_until_five_minutes_before_expiry() {
        let (cache, now) = setup(3600);
        let req = request("https://vault.azure.net/.default", None);
        assert_eq!(token(&cache, &req).await, "tok-1");
        now.fetch_add(3600 - 301, Ordering::SeqCst);
        assert_eq!(token(&cache, &req).await, "tok-1");
        now.fetch_add(1, Ordering::SeqCst);
        assert_eq!(token(&cache, &req).await, "tok-2");
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn keys_on_scopes_and_tenant() {
        let (cache, _) = setup(3600);
        let a = request("https://vault.azure.net/.default", None);
        let b = request("https://0.0.1:8443/.default", None);
        let c = request("https://vault.azure.net/.default", Some("t2"));
        assert_eq!(token(&cache, &a).await, "tok-1");
        assert_eq!(token(&cache, &b).await, "tok-2");
        assert_eq!(token(&cache, &c).await, "tok-3");
        assert_eq!(token(&cache, &a).await, "tok-1");
        assert_eq!(token(&cache, &c).await, "tok-3");
    }

    #[tokio::test]
    async fn short_lived_tokens_are_reused_for_half_their_life() {
        let (cache, now) = setup(60);
        let req = request("s", None);
        assert_eq!(token(&cache, &req).await, "tok-1");
        now.fetch_add(29, Ordering::SeqCst);
        assert_eq!(token(&cache, &req).await, "tok-1");
        now.fetch_add(1, Ordering::SeqCst);
        assert_eq!(token(&cache, &req).await, "tok-2");
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_a_still_valid_token_but_not_an_expired_one() {
        let (cache, now) = setup(3600);
        let req = request("s", None);
        assert_eq!(token(&cache, &req).await, "tok-1");
        cache.inner().failing.store(true, Ordering::SeqCst);
        now.fetch_add(3500, Ordering::SeqCst);
        assert_eq!(token(&cache, &req).await, "tok-1");
        assert_eq!(
            cache.inner().calls.load(Ordering::SeqCst),
            2,
            "a refresh was attempted"
        );
        now.fetch_add(100, Ordering::SeqCst);
        let err = cache.get_token(&req).await.unwrap_err();
        assert_eq!(err.message, "down");
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh() {
        let (cache, _) = setup(3600);
        let req = request("s", None);
        let results = futures_util::future::join_all((0..8).map(|_| cache.get_token(&req))).await;
        for r in results {
            assert_eq!(r.unwrap().token.as_str(), "tok-1");
        }
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalidate_forgets_only_that_token() {
        let (cache, _) = setup(3600);
        let a = request("a", None);
        let b = request("b", None);
        assert_eq!(token(&cache, &a).await, "tok-1");
        assert_eq!(token(&cache, &b).await, "tok-2");
        cache.invalidate(&a);
        assert_eq!(token(&cache, &a).await, "tok-3");
        assert_eq!(token(&cache, &b).await, "tok-2");
    }

    #[tokio::test]
    async fn clear_forgets_tokens() {
        let (cache, _) = setup(3600);
        let req = request("s", None);
        assert_eq!(token(&cache, &req).await, "tok-1");
        cache.clear();
        assert_eq!(token(&cache, &req).await, "tok-2");
    }
}
