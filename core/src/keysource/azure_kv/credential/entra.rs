//! The Entra ID v2 token endpoint, shared by the credentials that post a form to it
//! (client secret, client certificate, workload identity), and token-response parsing
//! shared with managed identity.

use super::{AccessToken, CredentialError};
use crate::keysource::rest::platform::now_unix;
use crate::keysource::rest::redact::{quote, root_cause};
use crate::keysource::rest::retry::RetryPolicy;
use crate::keysource::rest::send::Retry;
use zeroize::Zeroizing;

/// Reads seconds from a JSON number or a decimal string (`"1700000000"`), as token
/// services send either.
pub(crate) fn json_seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// Reads `{"access_token", "expires_on" | "expires_in"}`: `expires_on` (Unix seconds)
/// wins, else `now + expires_in`. `what` names the service for errors; no error quotes the
/// body, which holds the token.
pub(crate) fn parse_token_response(
    credential: &str,
    what: &str,
    body: &[u8],
) -> Result<AccessToken, CredentialError> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|_| {
        CredentialError::failed(
            credential,
            format!(
                "{what} answered 200 with a body that is not JSON ({} bytes)",
                body.len()
            ),
        )
    })?;
    let token = json
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            CredentialError::failed(
                credential,
                format!("{what} answered without an access_token"),
            )
        })?;
    let expires_on = json
        .get("expires_on")
        .and_then(json_seconds)
        .or_else(|| {
            json.get("expires_in")
                .and_then(json_seconds)
                .map(|s| now_unix().saturating_add(s))
        })
        .ok_or_else(|| {
            CredentialError::failed(
                credential,
                format!("{what} answered without a usable expires_on or expires_in"),
            )
        })?;
    Ok(AccessToken {
        token: Zeroizing::new(token.to_string()),
        expires_on,
    })
}

/// An error answer's useful part: OAuth's `error` + `error_description`, or Azure's
/// `{"error":{"code","message"}}`, or `message`; masked and cut short.
pub(crate) fn describe_error_body(body: &[u8], secrets: &[&str]) -> String {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return if body.is_empty() {
            "empty body".into()
        } else {
            format!("\"{}\"", quote(&String::from_utf8_lossy(body), secrets))
        };
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
    let error = json.get("error");
    let (code, message) = match error {
        Some(serde_json::Value::Object(inner)) => {
            (text(inner.get("code")), text(inner.get("message")))
        }
        _ => (
            text(error),
            text(json.get("error_description")).or_else(|| text(json.get("message"))),
        ),
    };
    let joined = match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        (None, Some(m)) => m,
        (None, None) => "no error description".into(),
    };
    quote(&joined, secrets)
}

/// Posts `form` to the token endpoint `url` and reads the token. Every failure is a hard
/// one (the credential is configured). `secrets` are masked if a server echoes them.
pub(crate) async fn request_token(
    http: &reqwest::Client,
    credential: &str,
    url: &str,
    form: &[(&str, &str)],
    secrets: &[&str],
) -> Result<AccessToken, CredentialError> {
    let failed = |m: String| CredentialError::failed(credential, m);
    let build = || {
        http.post(url)
            .header("Accept", "application/json")
            .form(form)
    };
    let answer = Retry::new(&RetryPolicy::default())
        .send(&build)
        .await
        .map_err(|e| {
            failed(format!(
                "cannot reach the token endpoint {url}: {}",
                root_cause(&e.error, secrets)
            ))
        })?;
    let (status, body) = (answer.status, answer.body);
    if !(200..300).contains(&status) {
        return Err(failed(format!(
            "the token endpoint {url} answered {status}: {}",
            describe_error_body(&body, secrets)
        )));
    }
    parse_token_response(credential, &format!("the token endpoint {url}"), &body)
}

/// The client-credentials grant with a JWT client assertion (client certificate and
/// workload identity): posts it to `url` for `scope`; the assertion is masked in errors.
pub(crate) async fn request_token_with_assertion(
    http: &reqwest::Client,
    credential: &str,
    url: &str,
    client_id: &str,
    assertion: &str,
    scope: &str,
) -> Result<AccessToken, CredentialError> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
        ("scope", scope),
    ];
    request_token(http, credential, url, &form, &[assertion]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_seconds_as_numbers_or_strings() {
        assert_eq!(
            json_seconds(&serde_json::json!(1700000000)),
            Some(1700000000)
        );
        assert_eq!(
            json_seconds(&serde_json::json!("1700000000")),
            Some(1700000000)
        );
        assert_eq!(json_seconds(&serde_json::json!(12.0)), Some(12));
        assert_eq!(json_seconds(&serde_json::json!("soon")), None);
        assert_eq!(json_seconds(&serde_json::json!(-5)), None);
    }

    #[test]
    fn expires_on_wins_over_expires_in() {
        let token = parse_token_response(
            "X",
            "svc",
            br#"{"access_token":"tok","expires_on":"1900000000","expires_in":60}"#,
        )
        .unwrap();
        assert_eq!(
            (token.token.as_str(), token.expires_on),
            ("tok", 1900000000)
        );
        let before = now_unix();
        let token =
            parse_token_response("X", "svc", br#"{"access_token":"tok","expires_in":3599}"#)
                .unwrap();
        assert!((before + 3599..=now_unix() + 3599).contains(&token.expires_on));
    }

    #[test]
    fn bad_bodies_are_described_without_quoting_them() {
        let err = parse_token_response("X", "svc", b"access_token=eyJsecret").unwrap_err();
        assert!(!err.message.contains("eyJ"), "{err}");
        assert!(err.message.contains("not JSON"), "{err}");
        let err = parse_token_response("X", "svc", br#"{"access_token":"t"}"#).unwrap_err();
        assert!(err.message.contains("expires_on"), "{err}");
        assert!(!err.unavailable);
    }

    #[test]
    fn error_bodies_in_both_shapes() {
        let oauth = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. hunter22"}"#;
        assert_eq!(
            describe_error_body(oauth, &["hunter22"]),
            "invalid_client: AADSTS7000215: Invalid client secret provided. <redacted>"
        );
        let azure = br#"{"error":{"code":"IdentityNotFound","message":"no identity"}}"#;
        assert_eq!(
            describe_error_body(azure, &[]),
            "IdentityNotFound: no identity"
        );
        assert_eq!(describe_error_body(b"", &[]), "empty body");
    }
}
