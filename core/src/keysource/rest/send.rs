//! Sending one request under a [`RetryPolicy`]: transient statuses and transport errors
//! are retried with backoff (or after the server's `Retry-After`) until the answer is
//! final or the policy's attempts or deadline are used up. A probe (e.g. the first
//! instance-metadata request off the cloud) gives up at once when nothing answers.

use super::http::is_transient;
use super::platform::{jitter, now_unix, sleep};
use super::retry::{server_delay, RetryPolicy};
use reqwest::header::HeaderMap;
use std::time::Duration;
use zeroize::Zeroizing;

/// The final answer.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body (it may hold a token or a key: never quote it whole).
    pub body: Zeroizing<Vec<u8>>,
    /// Requests sent, this one included.
    pub attempts: u32,
}

/// No answer could be read.
pub struct NoAnswer {
    /// The last transport error.
    pub error: reqwest::Error,
    /// Requests sent.
    pub attempts: u32,
}

/// Which failures are repeated, and how: built with [`Retry::new`], then sent with
/// [`Retry::send`].
pub struct Retry<'a> {
    policy: &'a RetryPolicy,
    retry_status: &'a dyn Fn(u16) -> bool,
    retry_error: &'a dyn Fn(&reqwest::Error) -> bool,
    probe: Option<Duration>,
}

impl<'a> Retry<'a> {
    /// Repeats [`RetryPolicy::is_retryable_status`] answers and every transport error.
    pub fn new(policy: &'a RetryPolicy) -> Self {
        Self {
            policy,
            retry_status: &RetryPolicy::is_retryable_status,
            retry_error: &any_error,
            probe: None,
        }
    }

    /// Repeats the answers whose status `retry` calls transient instead.
    pub fn statuses(mut self, retry: &'a dyn Fn(u16) -> bool) -> Self {
        self.retry_status = retry;
        self
    }

    /// Repeats only transport errors [`is_transient`] calls transient (not certificate
    /// problems; on wasm32 only timeouts).
    pub fn transient_errors_only(mut self) -> Self {
        self.retry_error = &is_transient;
        self
    }

    /// Probes: the first attempt times out after `timeout` (when given) and a transport
    /// error on it is returned at once.
    pub fn probe(mut self, timeout: Option<Duration>) -> Self {
        self.probe = timeout;
        self
    }

    /// Sends `build()` (called once per attempt) until the answer is final; when the
    /// policy gives up, the last answer or error is returned.
    pub async fn send(
        &self,
        build: &dyn Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, NoAnswer> {
        let started = now_unix();
        let mut attempt = 1u32;
        loop {
            let probing = attempt == 1 && self.probe.is_some();
            let mut request = build();
            if let Some(timeout) = self.probe.filter(|_| probing) {
                request = request.timeout(timeout);
            }
            let (retry, server_wait, last) = match exchange(request, attempt).await {
                Ok((answer, wait)) => ((self.retry_status)(answer.status), wait, Ok(answer)),
                Err(error) if probing => {
                    return Err(NoAnswer {
                        error,
                        attempts: attempt,
                    })
                }
                Err(error) => (
                    (self.retry_error)(&error),
                    None,
                    Err(NoAnswer {
                        error,
                        attempts: attempt,
                    }),
                ),
            };
            if !retry {
                return last;
            }
            let delay = self.policy.delay(attempt, server_wait, jitter());
            let elapsed = Duration::from_secs(now_unix().saturating_sub(started));
            if !self.policy.may_retry(attempt, elapsed, delay) {
                return last;
            }
            sleep(delay).await;
            attempt += 1;
        }
    }
}

/// The default: every transport error is worth another attempt.
fn any_error(_: &reqwest::Error) -> bool {
    true
}

/// One request: the answer and the delay it asks for before a retry.
async fn exchange(
    request: reqwest::RequestBuilder,
    attempt: u32,
) -> Result<(Answer, Option<Duration>), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let wait = server_delay(&headers, now_unix());
    let body = Zeroizing::new(response.bytes().await?.to_vec());
    Ok((
        Answer {
            status,
            headers,
            body,
            attempts: attempt,
        },
        wait,
    ))
}

/// A policy for tests: three attempts, (almost) no waiting.
#[cfg(test)]
pub(crate) fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        deadline: Duration::from_secs(10),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::rest::test_server::{Reply, TestServer};

    async fn run(server: &TestServer, probe: Option<Duration>) -> Result<Answer, NoAnswer> {
        let client = reqwest::Client::new();
        let url = format!("{}/token", server.url);
        Retry::new(&fast_policy())
            .probe(probe)
            .send(&|| client.get(&url))
            .await
    }

    #[tokio::test]
    async fn transient_statuses_are_retried_until_a_final_answer() {
        let server = TestServer::start(vec![
            Reply::json(503, "{}"),
            Reply::json(429, "{}").header("Retry-After", "0"),
            Reply::json(200, r#"{"ok":1}"#),
        ])
        .await;
        let answer = run(&server, None).await.ok().unwrap();
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (200, br#"{"ok":1}"#.as_slice())
        );
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn a_final_status_is_returned_at_once_and_attempts_are_bounded() {
        let server = TestServer::start(vec![Reply::json(400, "{}")]).await;
        assert_eq!(run(&server, None).await.ok().unwrap().status, 400);
        assert_eq!(server.requests().len(), 1);
        let server = TestServer::start(vec![Reply::json(500, "{}"); 5]).await;
        assert_eq!(
            run(&server, Some(Duration::from_secs(1)))
                .await
                .ok()
                .unwrap()
                .status,
            500
        );
        assert_eq!(server.requests().len(), 3, "max_attempts");
    }

    #[tokio::test]
    async fn transport_errors_are_retried_unless_only_transient_ones_are() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let client = reqwest::Client::new();
        let refused = format!("http://{closed}/token");
        let policy = fast_policy();
        let error = Retry::new(&policy)
            .send(&|| client.get(&refused))
            .await
            .err()
            .unwrap();
        assert_eq!(error.attempts, 3, "a refused connection is retried");
        let error = Retry::new(&policy)
            .transient_errors_only()
            .send(&|| client.get(&refused))
            .await
            .err()
            .unwrap();
        assert_eq!(error.attempts, 3, "a refused connection is transient");
        // A request that cannot even be built is no network hiccup.
        let error = Retry::new(&policy)
            .transient_errors_only()
            .send(&|| client.get("http://[::1"))
            .await
            .err()
            .unwrap();
        assert!(error.error.is_builder(), "{}", error.error);
        assert_eq!(error.attempts, 1);
    }

    #[tokio::test]
    async fn a_probe_that_cannot_connect_stops_at_once() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let client = reqwest::Client::new();
        let url = format!("http://{closed}/token");
        let result = Retry::new(&fast_policy())
            .statuses(&|_| true)
            .probe(Some(Duration::from_millis(200)))
            .send(&|| client.get(&url))
            .await;
        assert!(result.is_err_and(|e| e.error.is_connect()));
    }
}
