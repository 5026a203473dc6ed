//! Sending a token request under the Key Vault client's [`RetryPolicy`]: transient
//! statuses and connection errors are retried with backoff (or after the server's
//! `Retry-After`). A probe (the first managed-identity request off Azure) gives up at
//! once when nothing answers.

use crate::keysource::azure_kv::platform::{jitter, now_unix, sleep};
use crate::keysource::azure_kv::retry::{server_delay, RetryPolicy};
use std::time::Duration;
use zeroize::Zeroizing;

/// The final answer.
pub(crate) struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body (it may hold a token: never quote it whole).
    pub body: Zeroizing<Vec<u8>>,
}

/// No answer could be read.
pub(crate) struct NoAnswer {
    /// The last transport error.
    pub error: reqwest::Error,
}

/// Sends `build()` until the answer is final: a status `retry_status` does not call
/// transient, or the policy's attempts or deadline are used up (then the last answer or
/// error is returned). With `probe`, the first attempt times out after that long and a
/// transport error on it is returned at once.
pub(crate) async fn send(
    policy: &RetryPolicy,
    build: &dyn Fn() -> reqwest::RequestBuilder,
    retry_status: &dyn Fn(u16) -> bool,
    probe: Option<Duration>,
) -> Result<Answer, NoAnswer> {
    let started = now_unix();
    let mut attempt = 1u32;
    loop {
        let probing = attempt == 1 && probe.is_some();
        let mut request = build();
        if let Some(timeout) = probe.filter(|_| probing) {
            request = request.timeout(timeout);
        }
        let (server_wait, last) = match exchange(request).await {
            Ok((answer, _)) if !retry_status(answer.status) => return Ok(answer),
            Ok((answer, wait)) => (wait, Ok(answer)),
            Err(error) if probing => return Err(NoAnswer { error }),
            Err(error) => (None, Err(NoAnswer { error })),
        };
        let delay = policy.delay(attempt, server_wait, jitter());
        let elapsed = Duration::from_secs(now_unix().saturating_sub(started));
        if !policy.may_retry(attempt, elapsed, delay) {
            return last;
        }
        sleep(delay).await;
        attempt += 1;
    }
}

/// One request: the answer and the delay it asks for before a retry.
async fn exchange(
    request: reqwest::RequestBuilder,
) -> Result<(Answer, Option<Duration>), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let wait = server_delay(response.headers(), now_unix());
    let body = Zeroizing::new(response.bytes().await?.to_vec());
    Ok((Answer { status, body }, wait))
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
    use crate::keysource::azure_kv::test_server::{Reply, TestServer};

    async fn run(server: &TestServer, probe: Option<Duration>) -> Result<Answer, NoAnswer> {
        let client = reqwest::Client::new();
        let url = format!("{}/token", server.url);
        send(
            &fast_policy(),
            &|| client.get(&url),
            &RetryPolicy::is_retryable_status,
            probe,
        )
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
    async fn a_probe_that_cannot_connect_stops_at_once() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let client = reqwest::Client::new();
        let url = format!("http://{closed}/token");
        let result = send(
            &fast_policy(),
            &|| client.get(&url),
            &|_| true,
            Some(Duration::from_millis(200)),
        )
        .await;
        assert!(result.is_err_and(|e| e.error.is_connect()));
    }
}
