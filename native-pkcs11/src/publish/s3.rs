//! Publishing to S3 as sops 3.11 does (`PutObject` of the encrypted file at
//! `<s3_prefix><file name>`), signed with AWS Signature Version 4 with the credentials the
//! AWS KMS key source finds (`leafcrypt_core::keysource::aws_kms::credentials`' default
//! chain: environment, `AWS_PROFILE` and the shared config/credentials files with roles,
//! web identity, container, IMDS). Region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else
//! the profile's `region`, else `us-east-1`. Endpoint:
//! `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL` (path-style, as the AWS SDK addresses an
//! IP or `localhost` endpoint), else the bucket's virtual host on AWS.

use crate::failure::{CliResult, Failure};
use hmac::{Hmac, Mac};
use leafcrypt_core::keysource::aws_kms::credentials::chain::ChainProvider;
use leafcrypt_core::keysource::aws_kms::credentials::profile::SharedFiles;
use leafcrypt_core::keysource::aws_kms::{AwsEnv, CredentialProvider};
use leafcrypt_core::keysource::rest::redact;
use leafcrypt_core::ExitCode;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

fn fail(message: String) -> Failure {
    Failure::new(ExitCode::ErrorGeneric, message)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 encoding of one path segment (unreserved characters kept).
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `(url, host, canonical path)` of `bucket`/`key`.
fn locate(bucket: &str, key: &str, region: &str) -> (String, String, String) {
    let key_path: Vec<String> = key.split('/').map(encode_segment).collect();
    let key_path = key_path.join("/");
    match env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL")) {
        Some(endpoint) => {
            let endpoint = endpoint.trim_end_matches('/');
            let host = leafcrypt_core::keysource::authority(endpoint);
            let path = format!("/{}/{key_path}", encode_segment(bucket));
            (format!("{endpoint}{path}"), host, path)
        }
        None => {
            let host = format!("{bucket}.s3.{region}.amazonaws.com");
            let path = format!("/{key_path}");
            (format!("https://{host}{path}"), host, path)
        }
    }
}

/// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region` (`AWS_PROFILE`,
/// else `default`), else `us-east-1`.
fn region(env: &AwsEnv) -> String {
    env.var("AWS_REGION")
        .or_else(|| env.var("AWS_DEFAULT_REGION"))
        .or_else(|| {
            let profile = env.var("AWS_PROFILE").unwrap_or_else(|| "default".into());
            SharedFiles::load(env)
                .profile(&profile)?
                .get("region")
                .filter(|r| !r.is_empty())
                .cloned()
        })
        .unwrap_or_else(|| "us-east-1".into())
}

/// Uploads `body` to `s3://bucket/key`.
pub fn upload(bucket: &str, key: &str, body: Vec<u8>) -> CliResult<()> {
    let lookup = |n: &str| std::env::var(n).ok();
    let options = leafcrypt_core::keysource::rest::http::options_from_env(
        &lookup,
        "LEAFCRYPT_AWS_KMS_TIMEOUT",
    )
    .map_err(|e| fail(format!("cannot publish to s3://{bucket}/{key}: {e}")))?;
    let http = leafcrypt_core::keysource::rest::http::client(&options).map_err(fail)?;
    let env = AwsEnv::process(http.clone());
    let region = region(&env);
    let chain = ChainProvider::default_for(&env, None, &region);
    let credentials = crate::runtime::block_on(chain.credentials()).map_err(|e| {
        fail(format!(
            "cannot publish to s3://{bucket}/{key}: no AWS credentials: {e}"
        ))
    })?;
    let access = credentials.access_key_id.clone();
    let secret = credentials.secret_access_key.clone();
    let session = credentials.session_token.clone();
    let (url, host, path) = locate(bucket, key, &region);
    let now = crate::clock::now_rfc3339().replace(['-', ':'], "");
    let date = &now[..8];
    let payload_hash = hex(&Sha256::digest(&body));
    let mut headers = vec![
        ("host".to_string(), host),
        ("x-amz-content-sha256".to_string(), payload_hash.clone()),
        ("x-amz-date".to_string(), now.clone()),
    ];
    if let Some(token) = &session {
        headers.push(("x-amz-security-token".into(), token.to_string()));
    }
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical = format!("PUT\n{path}\n\n{canonical_headers}\n{signed}\n{payload_hash}");
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{now}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut signing_key = Zeroizing::new(hmac(format!("AWS4{}", secret.as_str()).as_bytes(), date));
    for part in [region.as_str(), "s3", "aws4_request"] {
        signing_key = Zeroizing::new(hmac(&signing_key, part));
    }
    let signature = hex(&hmac(&signing_key, &to_sign));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}"
    );
    let secrets = [secret.as_str()];
    crate::runtime::block_on(async {
        let mut request = http
            .put(&url)
            .header("authorization", authorization)
            .body(body);
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            request = request.header(k.as_str(), v.as_str());
        }
        let resp = request.send().await.map_err(|e| {
            fail(format!(
                "cannot reach S3 at {url}: {}; check AWS_ENDPOINT_URL_S3/AWS_REGION",
                redact::root_cause(&e, &secrets)
            ))
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let code = text
            .split("<Code>")
            .nth(1)
            .and_then(|r| r.split("</Code>").next())
            .unwrap_or("no error code");
        Err(fail(format!(
            "failed to upload s3://{bucket}/{key}: HTTP {}: {}",
            status.as_u16(),
            redact::quote(code, &secrets)
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::rc::Rc;

    fn aws_env(vars: &[(&str, &str)]) -> AwsEnv {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AwsEnv {
            vars: Rc::new(move |n| vars.get(n).cloned()),
            session_name: "sops@test".into(),
            http: reqwest::Client::new(),
        }
    }

    #[test]
    fn the_region_comes_from_the_environment_then_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "[default]\nregion = us-west-2\n\n[profile team]\nregion = eu-west-1\n",
        )
        .unwrap();
        let config = config.display().to_string();
        let file = ("AWS_CONFIG_FILE", config.as_str());
        assert_eq!(region(&aws_env(&[file])), "us-west-2");
        assert_eq!(
            region(&aws_env(&[file, ("AWS_PROFILE", "team")])),
            "eu-west-1"
        );
        assert_eq!(
            region(&aws_env(&[
                file,
                ("AWS_PROFILE", "team"),
                ("AWS_REGION", "ap-south-1")
            ])),
            "ap-south-1"
        );
        assert_eq!(
            region(&aws_env(&[file, ("AWS_DEFAULT_REGION", "ca-central-1")])),
            "ca-central-1"
        );
        assert_eq!(
            region(&aws_env(&[("AWS_CONFIG_FILE", "/nonexistent")])),
            "us-east-1"
        );
    }
}
