//! When and how long to wait before repeating a request.
//!
//! The defaults follow the Azure SDK for Go (what sops uses for Key Vault): 4 attempts in all,
//! exponential backoff from 0.8 s with full jitter, delays capped at 60 s, plus an overall
//! deadline. A server's `Retry-After` (seconds or HTTP-date), `retry-after-ms` or
//! `x-ms-retry-after-ms` replaces the computed delay (still capped).

use std::time::Duration;

/// How a client retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff base: attempt `n` (from 1) waits a random time below `base * 2^(n-1)`.
    pub base_delay: Duration,
    /// Upper bound of any one delay, server-requested ones included.
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
            deadline: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Whether a response with `status` is worth repeating: 408, 429, 500, 502, 503, 504.
    pub fn is_retryable_status(status: u16) -> bool {
        matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
    }

    /// The delay before attempt `attempt + 1`, after `attempt` (from 1) failed:
    /// `server` (the response's requested delay) when given, else full-jitter exponential
    /// backoff with `jitter` in `[0, 1)`; capped at `max_delay`.
    pub fn delay(&self, attempt: u32, server: Option<Duration>, jitter: f64) -> Duration {
        let delay = server.unwrap_or_else(|| {
            let exp = self
                .base_delay
                .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
            exp.min(self.max_delay).mul_f64(jitter.clamp(0.0, 1.0))
        });
        delay.min(self.max_delay)
    }

    /// Whether attempt `attempt + 1` may start after waiting `delay`, `elapsed` after the
    /// first attempt began.
    pub fn may_retry(&self, attempt: u32, elapsed: Duration, delay: Duration) -> bool {
        attempt < self.max_attempts.max(1) && elapsed.saturating_add(delay) <= self.deadline
    }
}

/// The delay a response asks for: `retry-after-ms`, `x-ms-retry-after-ms` (milliseconds)
/// or `Retry-After` (delta-seconds or an HTTP-date, relative to `now_unix`).
pub fn server_delay(headers: &reqwest::header::HeaderMap, now_unix: u64) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = header(name).and_then(|v| v.parse::<f64>().ok()) {
            if ms.is_finite() && ms >= 0.0 {
                return Some(Duration::from_secs_f64((ms / 1000.0).min(86_400.0)));
            }
        }
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let at = parse_http_date(value)?;
    Some(Duration::from_secs(at.saturating_sub(now_unix)))
}

/// Unix seconds of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`); the obsolete forms
/// are not accepted.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let rest = s.trim().split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let day: u32 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = crate::time::days_from_civil(year, month, day);
    u64::try_from(days * 86_400 + (h * 3600 + m * 60 + sec) as i64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn retries_the_sdk_statuses_only() {
        let retried: Vec<u16> = (100..600)
            .filter(|s| RetryPolicy::is_retryable_status(*s))
            .collect();
        assert_eq!(retried, [408, 429, 500, 502, 503, 504]);
    }

    #[test]
    fn backoff_is_exponential_jittered_and_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, None, 0.5), Duration::from_millis(400));
        assert_eq!(p.delay(3, None, 0.5), Duration::from_millis(1600));
        assert_eq!(p.delay(3, None, 0.0), Duration::ZERO);
        assert_eq!(p.delay(30, None, 0.999_999), p.max_delay.mul_f64(0.999_999));
        // A server's delay replaces the backoff but not the cap.
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7)), 0.1),
            Duration::from_secs(7)
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(999)), 0.1), p.max_delay);
    }

    #[test]
    fn attempts_and_deadline_bound_retries() {
        let p = RetryPolicy::default();
        assert!(p.may_retry(3, Duration::ZERO, Duration::ZERO));
        assert!(!p.may_retry(4, Duration::ZERO, Duration::ZERO));
        assert!(!p.may_retry(1, Duration::from_secs(100), Duration::from_secs(30)));
    }

    #[test]
    fn reads_every_retry_after_form() {
        let now = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(now));
        assert_eq!(
            server_delay(
                &headers(&[("retry-after", "Sun, 06 Nov 1994 08:49:40 GMT")]),
                now
            ),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            server_delay(
                &headers(&[("retry-after", "Sun, 06 Nov 1994 08:49:00 GMT")]),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            server_delay(&headers(&[("retry-after", "2")]), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            server_delay(
                &headers(&[("retry-after", "9"), ("x-ms-retry-after-ms", "250")]),
                now
            ),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            server_delay(&headers(&[("retry-after-ms", "40")]), now),
            Some(Duration::from_millis(40))
        );
        assert_eq!(
            server_delay(&headers(&[("retry-after", "soon")]), now),
            None
        );
        assert_eq!(server_delay(&headers(&[("retry-after", "-1")]), now), None);
        assert_eq!(server_delay(&HeaderMap::new(), now), None);
    }
}
