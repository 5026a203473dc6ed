//! STS: `AssumeRole` (a key's `role`, a profile's `role_arn`) and
//! `AssumeRoleWithWebIdentity` (IRSA / `AWS_WEB_IDENTITY_TOKEN_FILE`), over STS's query
//! API in the key's region.

use super::{parse_expiration, AwsCredentials, AwsEnv};
use crate::keysource::aws_kms::sign::{signature_headers, Unsigned};
use crate::keysource::aws_kms::transport::{self, endpoint, host_of, xml_text, Request};
use crate::keysource::rest::platform;
use crate::keysource::rest::retry::RetryPolicy;

/// What to assume.
pub struct RoleRequest<'a> {
    /// The role ARN.
    pub role_arn: &'a str,
    /// The session name (`sops@HOST` by default).
    pub session_name: &'a str,
    /// `external_id` of the profile, if any.
    pub external_id: Option<&'a str>,
    /// The region whose STS endpoint is used.
    pub region: &'a str,
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_encode_pairs(pairs);
    s.shrink_to_fit();
    s
}

fn form_encode_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `AssumeRole` with `base` credentials (signed); the temporary credentials.
pub async fn assume_role(
    env: &AwsEnv,
    base: &AwsCredentials,
    request: &RoleRequest<'_>,
) -> Result<AwsCredentials, String> {
    let mut pairs = vec![
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", request.role_arn),
        ("RoleSessionName", request.session_name),
    ];
    if let Some(id) = request.external_id {
        pairs.push(("ExternalId", id));
    }
    let body = form(&pairs).into_bytes();
    let url = format!("{}/", endpoint(env, "sts", request.region));
    let mut headers = vec![
        ("host", host_of(&url)),
        (
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
    ];
    let unsigned = Unsigned {
        method: "POST",
        url: &url,
        headers: &headers,
        body: &body,
    };
    let signed = signature_headers(&unsigned, base, request.region, "sts", platform::now_unix())?;
    headers.retain(|(k, _)| *k != "host");
    let mut all: Vec<(String, String)> = headers
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    all.extend(signed);
    let creds = call(env, &url, all, body)
        .await
        .map_err(|e| format!("{e} (with {})", base.describe()))?;
    Ok(AwsCredentials {
        source: format!("assumed role {}", request.role_arn),
        ..creds
    })
}

/// `AssumeRoleWithWebIdentity` with the OIDC `token` (unsigned, as the SDKs send it).
pub async fn assume_role_with_web_identity(
    env: &AwsEnv,
    request: &RoleRequest<'_>,
    token: &str,
) -> Result<AwsCredentials, String> {
    let body = form(&[
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", request.role_arn),
        ("RoleSessionName", request.session_name),
        ("WebIdentityToken", token),
    ])
    .into_bytes();
    let url = format!("{}/", endpoint(env, "sts", request.region));
    let headers = vec![(
        "content-type".to_string(),
        "application/x-www-form-urlencoded; charset=utf-8".to_string(),
    )];
    let creds = call(env, &url, headers, body).await?;
    Ok(AwsCredentials {
        source: format!("web identity role {}", request.role_arn),
        ..creds
    })
}

async fn call(
    env: &AwsEnv,
    url: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> Result<AwsCredentials, String> {
    let request = Request {
        method: "POST",
        url,
        headers,
        body,
        timeout: None,
    };
    let code_of = |b: &[u8]| xml_text(&String::from_utf8_lossy(b), "Code");
    let (result, _) = transport::send(&env.http, &request, &RetryPolicy::default(), &code_of).await;
    let response = result.map_err(|e| format!("STS {}: {e}", host_of(url)))?;
    let text = String::from_utf8_lossy(&response.body);
    if response.status != 200 {
        let code = xml_text(&text, "Code").unwrap_or_default();
        let message = crate::keysource::rest::redact::quote(
            &xml_text(&text, "Message").unwrap_or_default(),
            &[],
        );
        return Err(format!(
            "STS {} answered HTTP {} {code}: {message}",
            host_of(url),
            response.status
        ));
    }
    let field = |t: &str| {
        xml_text(&text, t).ok_or_else(|| format!("STS {} answer has no {t}", host_of(url)))
    };
    let mut creds = AwsCredentials::new(
        field("AccessKeyId")?,
        field("SecretAccessKey")?,
        Some(field("SessionToken")?),
        "STS",
    );
    creds.expires_unix = xml_text(&text, "Expiration").and_then(|e| parse_expiration(&e));
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_is_rfc3986() {
        assert_eq!(
            form(&[("RoleArn", "arn:aws:iam::1:role/r"), ("N", "sops@h x")]),
            "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&N=sops%40h%20x"
        );
    }
}
