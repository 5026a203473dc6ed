//! Sending one AWS request: endpoints (`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`,
//! else the public regional host), retries of throttling and transient failures (with
//! `Retry-After`), and the small XML reading STS answers need.

use super::credentials::AwsEnv;
use crate::keysource::rest::http::error_chain;
use crate::keysource::rest::platform;
use crate::keysource::rest::retry::{server_delay, RetryPolicy};
use std::time::Duration;

/// The endpoint of `service` (`kms`, `sts`) in `region`: `AWS_ENDPOINT_URL_<SERVICE>`,
/// else `AWS_ENDPOINT_URL` (both ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is
/// `true`), else `https://SERVICE.REGION.amazonaws.com` (`.com.cn` in China).
pub fn endpoint(env: &AwsEnv, service: &str, region: &str) -> String {
    let ignore = env
        .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !ignore {
        let specific = format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase());
        if let Some(url) = env.var(&specific).or_else(|| env.var("AWS_ENDPOINT_URL")) {
            return url.trim_end_matches('/').to_string();
        }
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{service}.{region}.{suffix}")
}

/// The `host[:port]` of `url`, for the `host` header and for errors.
pub fn host_of(url: &str) -> String {
    crate::keysource::authority(url)
}

/// An answer.
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// One request to send (possibly several times).
pub struct Request<'a> {
    /// `GET`, `PUT`, `POST`.
    pub method: &'a str,
    /// The full URL.
    pub url: &'a str,
    /// Headers, already signed when the service needs it.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// A per-request timeout (natively).
    pub timeout: Option<Duration>,
}

/// Sends `request` once. Errors are the whole cause chain ("connection refused").
pub async fn send_once(
    http: &reqwest::Client,
    request: &Request<'_>,
) -> Result<(Response, Option<Duration>), String> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|e| format!("bad method: {e}"))?;
    let mut builder = http.request(method, request.url);
    for (k, v) in &request.headers {
        if k.eq_ignore_ascii_case("host") {
            continue; // reqwest sets it from the URL, identically
        }
        builder = builder.header(k.as_str(), v.as_str());
    }
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(t) = request.timeout {
        builder = builder.timeout(t);
    }
    let response = builder
        .body(request.body.clone())
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    let status = response.status().as_u16();
    let delay = server_delay(response.headers(), platform::now_unix());
    let body = response
        .bytes()
        .await
        .map_err(|e| error_chain(&e))?
        .to_vec();
    Ok((Response { status, body }, delay))
}

/// Whether an AWS error code is throttling (retried whatever the status).
pub fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "RequestThrottled"
            | "LimitExceededException"
            | "KMSInternalException"
            | "DependencyTimeoutException"
    )
}

/// Sends `request` under `policy`: throttling (by status or by `code_of` the body),
/// 5xx and transport failures are repeated with backoff or the server's `Retry-After`.
/// Returns the last answer or transport error, and how many requests were sent.
pub async fn send(
    http: &reqwest::Client,
    request: &Request<'_>,
    policy: &RetryPolicy,
    code_of: &dyn Fn(&[u8]) -> Option<String>,
) -> (Result<Response, String>, u32) {
    let started = platform::now_unix();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (result, server) = match send_once(http, request).await {
            Ok((r, d)) => (Ok(r), d),
            Err(e) => (Err(e), None),
        };
        let retry = match &result {
            Ok(r) => {
                RetryPolicy::is_retryable_status(r.status)
                    || (r.status >= 400 && code_of(&r.body).is_some_and(|c| is_throttling(&c)))
            }
            Err(_) => true,
        };
        let delay = policy.delay(attempt, server, platform::jitter());
        let elapsed = Duration::from_secs(platform::now_unix().saturating_sub(started));
        if !retry || !policy.may_retry(attempt, elapsed, delay) {
            return (result, attempt);
        }
        platform::sleep(delay).await;
    }
}

/// The text of the first `<tag>…</tag>` in `xml`, entities decoded.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(
        xml[start..end]
            .trim()
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
pub(crate) use tests::env_of;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::rc::Rc;

    pub(crate) fn env_of(pairs: &[(&str, &str)]) -> AwsEnv {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AwsEnv {
            vars: Rc::new(move |n| map.get(n).cloned()),
            session_name: "sops@test".into(),
            http: reqwest::Client::new(),
        }
    }

    #[test]
    fn endpoints_follow_the_sdk_variables() {
        let none = env_of(&[]);
        assert_eq!(
            endpoint(&none, "kms", "eu-west-1"),
            "https://kms.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint(&none, "sts", "cn-north-1"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        let general = env_of(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9/")]);
        assert_eq!(endpoint(&general, "kms", "x"), "http://127.0.0.1:9");
        let both = env_of(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:8"),
        ]);
        assert_eq!(endpoint(&both, "kms", "x"), "http://127.0.0.1:8");
        assert_eq!(endpoint(&both, "sts", "x"), "http://127.0.0.1:9");
        let ignored = env_of(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        assert_eq!(
            endpoint(&ignored, "kms", "us-east-1"),
            "https://kms.us-east-1.amazonaws.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8/x?y"), "127.0.0.1:8");
    }

    #[test]
    fn reads_sts_xml() {
        let xml = "<R><Credentials><AccessKeyId> AK </AccessKeyId><SessionToken>a&amp;b</SessionToken></Credentials></R>";
        assert_eq!(xml_text(xml, "AccessKeyId").as_deref(), Some("AK"));
        assert_eq!(xml_text(xml, "SessionToken").as_deref(), Some("a&b"));
        assert_eq!(xml_text(xml, "Expiration"), None);
    }
}
