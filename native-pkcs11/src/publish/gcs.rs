//! Publishing to Google Cloud Storage as sops 3.11 does (the encrypted file as object
//! `<gcs_prefix><file name>`), through the JSON API's simple upload
//! (`POST {endpoint}/upload/storage/v1/b/BUCKET/o?uploadType=media&name=OBJECT`).
//!
//! The OAuth token comes from the GCP KMS key source's credential chain
//! (`leafcrypt_core::keysource::gcp_kms::credential`: `GOOGLE_CREDENTIALS`,
//! `GOOGLE_OAUTH_ACCESS_TOKEN`, `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's application-default
//! credentials, the metadata server). Endpoint: `STORAGE_EMULATOR_HOST` as Google's clients
//! read it (`host:port` means plain HTTP), else `https://storage.googleapis.com`. Unlike
//! Google's Go client, which sends no credentials to an emulator, leafcrypt always sends the
//! token.

use crate::failure::{CliResult, Failure};
use leafcrypt_core::keysource::gcp_kms::credential::{discover, Env, TokenProvider};
use leafcrypt_core::keysource::rest::redact;
use leafcrypt_core::keysource::rest::retry::RetryPolicy;
use leafcrypt_core::ExitCode;
use std::sync::Arc;

/// Google's endpoint.
const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";
/// The endpoint override Google's libraries read.
const EMULATOR_VAR: &str = "STORAGE_EMULATOR_HOST";
/// Per-request timeout (seconds), as for Cloud KMS.
const TIMEOUT_VAR: &str = "LEAFCRYPT_GCS_TIMEOUT";

fn fail(message: String) -> Failure {
    Failure::new(ExitCode::ErrorGeneric, message)
}

/// The endpoint for `STORAGE_EMULATOR_HOST`'s value (a URL as is, `host:port` as HTTP).
fn endpoint(value: Option<String>) -> String {
    match value.map(|v| v.trim().trim_end_matches('/').to_string()) {
        Some(v) if v.contains("://") => v,
        Some(v) if !v.is_empty() => format!("http://{v}"),
        _ => DEFAULT_ENDPOINT.to_string(),
    }
}

/// Percent-encoding of a path segment or query value (unreserved characters kept).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The upload URL of `bucket`/`object` at `endpoint`.
fn upload_url(endpoint: &str, bucket: &str, object: &str) -> String {
    format!(
        "{endpoint}/upload/storage/v1/b/{}/o?uploadType=media&name={}",
        encode(bucket),
        encode(object)
    )
}

/// The `error.message` of a Google error body, else the status line.
fn google_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v["error"]["message"].as_str().map(str::to_string)
}

/// Uploads `body` to `gcs://bucket/object`.
pub fn upload(bucket: &str, object: &str, body: Vec<u8>) -> CliResult<()> {
    let env: Env = Arc::new(|name| std::env::var(name).ok());
    let target = format!("gcs://{bucket}/{object}");
    let url = upload_url(&endpoint(env(EMULATOR_VAR)), bucket, object);
    let credential =
        discover(&env).map_err(|e| fail(format!("cannot publish to {target}: {e}")))?;
    let options = leafcrypt_core::keysource::rest::http::options_from_env(&*env, TIMEOUT_VAR)
        .map_err(|e| fail(format!("cannot publish to {target}: {e}")))?;
    crate::runtime::block_on(async {
        let http = leafcrypt_core::keysource::rest::http::client(&options).map_err(fail)?;
        let tokens = TokenProvider::new(http.clone(), RetryPolicy::default());
        let token = tokens.token(&credential).await.map_err(|e| {
            fail(format!(
                "cannot publish to {target}: no access token from {}: {e}",
                credential.origin
            ))
        })?;
        let secrets = [token.value.as_str()];
        let resp = http
            .post(&url)
            .bearer_auth(token.value.as_str())
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                fail(format!(
                    "cannot reach Cloud Storage at {url}: {}; check {EMULATOR_VAR}",
                    redact::root_cause(&e, &secrets)
                ))
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let message = google_message(&text).unwrap_or_else(|| "no error message".into());
        Err(fail(format!(
            "failed to upload {target}: HTTP {}: {} (credential: {})",
            status.as_u16(),
            redact::quote(&message, &secrets),
            credential.origin
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_urls_as_google_clients_build_them() {
        assert_eq!(endpoint(None), DEFAULT_ENDPOINT);
        assert_eq!(endpoint(Some(String::new())), DEFAULT_ENDPOINT);
        assert_eq!(
            endpoint(Some("127.0.0.1:9023".into())),
            "http://127.0.0.1:9023"
        );
        assert_eq!(
            endpoint(Some("https://gcs.example/".into())),
            "https://gcs.example"
        );
        assert_eq!(
            upload_url("http://h", "b", "dir/a b.yaml"),
            "http://h/upload/storage/v1/b/b/o?uploadType=media&name=dir%2Fa%20b.yaml"
        );
    }

    #[test]
    fn google_error_messages() {
        assert_eq!(
            google_message(r#"{"error":{"code":403,"message":"denied"}}"#).as_deref(),
            Some("denied")
        );
        assert_eq!(google_message("<html>"), None);
    }
}
