//! The challenge flow: discover a vault's challenge, send with a token, re-challenge once
//! on a rejected token, and map the final status to the result or a [`KvError`].

use super::transport::Exchange;
use super::KeyVaultClient;
use crate::keysource::azure_kv::challenge::Challenge;
use crate::keysource::azure_kv::credential::TokenRequest;
use crate::keysource::azure_kv::error::{KvError, Missing, Operation, ServerError};
use crate::keysource::azure_kv::key_id::KeyId;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use zeroize::Zeroizing;

impl KeyVaultClient {
    /// Runs `operation` with the challenge flow; the 2xx body, or the mapped error.
    pub(super) async fn call(
        &self,
        operation: Operation,
        key: &KeyId,
        body: Option<Zeroizing<String>>,
    ) -> Result<Zeroizing<String>, KvError> {
        self.check_scheme(key)?;
        let method = match operation {
            Operation::Get => Method::GET,
            _ => Method::POST,
        };
        let url = self.url(operation, key);
        let origin = key.vault_url.to_ascii_lowercase();
        let empty = body.as_ref().map(|_| "");
        let mut rechallenged = false;
        loop {
            let cached = self.challenges.borrow().get(&origin).cloned();
            let Some(challenge) = cached else {
                let ex = {
                    // One discovery per vault at a time; the others then find its challenge.
                    // The guard is dropped before `outcome`, which may call again (404).
                    let gate = self.discovery_gate(&origin);
                    let _one_discovery = gate.lock().await;
                    if self.challenges.borrow().contains_key(&origin) {
                        continue;
                    }
                    self.exchange(operation, key, &method, &url, None, empty)
                        .await?
                };
                if ex.status != 401 {
                    return self.outcome(operation, key, ex).await;
                }
                self.cache_challenge(key, &origin, &ex.headers)?;
                continue;
            };
            let request = TokenRequest {
                scopes: vec![challenge.scope.clone()],
                tenant_id: challenge.tenant_id.clone(),
            };
            let bearer = self.bearer(key, &request).await?;
            let ex = self
                .exchange(
                    operation,
                    key,
                    &method,
                    &url,
                    Some(&bearer),
                    body.as_deref().map(String::as_str),
                )
                .await?;
            if ex.status != 401 {
                return self.outcome(operation, key, ex).await;
            }
            // Key Vault rejected the token: a caching credential must not hand it out again
            // (but keeps a newer one that a concurrent operation already fetched).
            match bearer.to_str().ok().and_then(|b| b.strip_prefix("Bearer ")) {
                Some(token) => self.credential.invalidate_rejected(&request, token),
                None => self.credential.invalidate(&request),
            }
            if rechallenged {
                return Err(self.unauthorized(operation, key, &ex));
            }
            rechallenged = true;
            self.rechallenge(key, &origin, &ex.headers)?;
        }
    }

    /// The lock that makes concurrent challenge discoveries of `origin` wait for one.
    fn discovery_gate(&self, origin: &str) -> std::rc::Rc<futures_util::lock::Mutex<()>> {
        self.discovering
            .borrow_mut()
            .entry(origin.to_string())
            .or_default()
            .clone()
    }

    /// Refuses a plain-http vault URL unless requests go through an endpoint.
    fn check_scheme(&self, key: &KeyId) -> Result<(), KvError> {
        if self.endpoint.is_none() && !key.vault_url.starts_with("https://") {
            return Err(KvError::Config(format!(
                "{key}: vault URLs must be https (plain http only through an endpoint)"
            )));
        }
        Ok(())
    }

    /// The `Authorization` header (marked sensitive) for a token the credential gives
    /// for `request`.
    async fn bearer(&self, key: &KeyId, request: &TokenRequest) -> Result<HeaderValue, KvError> {
        let token =
            self.credential
                .get_token(request)
                .await
                .map_err(|error| KvError::Credential {
                    key: Box::new(key.clone()),
                    error,
                })?;
        let bearer = Zeroizing::new(format!("Bearer {}", token.token.as_str()));
        let mut bearer = HeaderValue::from_str(&bearer).map_err(|_| KvError::Credential {
            key: Box::new(key.clone()),
            error: crate::keysource::azure_kv::credential::CredentialError {
                credential: self.credential.name().into(),
                message: "the token has characters not allowed in an HTTP header".into(),
                unavailable: false,
            },
        })?;
        bearer.set_sensitive(true);
        Ok(bearer)
    }

    /// Adopts the challenge of a 401's headers as the one cached for `origin`.
    fn cache_challenge(
        &self,
        key: &KeyId,
        origin: &str,
        headers: &HeaderMap,
    ) -> Result<(), KvError> {
        let challenge = self.adopt(key, headers)?;
        self.challenges
            .borrow_mut()
            .insert(origin.to_string(), challenge);
        Ok(())
    }

    /// After a rejected token: a new challenge (tenant change, claims) replaces the cached
    /// one; without one, the next round rediscovers it.
    fn rechallenge(&self, key: &KeyId, origin: &str, headers: &HeaderMap) -> Result<(), KvError> {
        match headers.get("www-authenticate") {
            Some(_) => self.cache_challenge(key, origin, headers)?,
            None => {
                self.challenges.borrow_mut().remove(origin);
            }
        }
        Ok(())
    }

    /// The error for a 401 that a token did not cure.
    fn unauthorized(&self, operation: Operation, key: &KeyId, ex: &Exchange) -> KvError {
        KvError::Unauthorized {
            key: Box::new(key.clone()),
            operation,
            credential: self.credential.name().into(),
            detail: ServerError::parse(&ex.body).message_line(),
        }
    }

    /// Parses and checks the challenge in a 401's headers.
    fn adopt(&self, key: &KeyId, headers: &HeaderMap) -> Result<Challenge, KvError> {
        let fail = |error| KvError::Challenge {
            key: Box::new(key.clone()),
            error,
        };
        let header = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| fail(crate::keysource::azure_kv::challenge::ChallengeError::Missing))?;
        let challenge = Challenge::parse(header).map_err(fail)?;
        if self.options.verify_challenge_resource {
            challenge.verify_resource(&key.host()).map_err(fail)?;
        }
        Ok(challenge)
    }

    /// The body of a 2xx answer, or the error the status means.
    async fn outcome(
        &self,
        operation: Operation,
        key: &KeyId,
        ex: Exchange,
    ) -> Result<Zeroizing<String>, KvError> {
        match ex.status {
            200..=299 => Ok(ex.body),
            404 => Err(KvError::NotFound {
                key: Box::new(key.clone()),
                missing: self.what_is_missing(key).await,
            }),
            401 => Err(self.unauthorized(operation, key, &ex)),
            0 => Err(self.no_response(operation, key, "no HTTP status (blocked request)", 1)),
            status => Err(KvError::from_status(
                key,
                operation,
                status,
                &ex.body,
                ex.attempts,
            )),
        }
    }

    /// After a 404 on a pinned key: asks for the latest version to tell a missing key
    /// from a missing version.
    async fn what_is_missing(&self, key: &KeyId) -> Missing {
        if key.version.is_none() {
            return Missing::Key;
        }
        match Box::pin(self.call(Operation::Get, &key.unversioned(), None)).await {
            Ok(_) => Missing::Version,
            Err(KvError::NotFound { .. }) => Missing::Key,
            Err(_) => Missing::KeyOrVersion,
        }
    }
}
