//! SigV4 request signing, by AWS's `aws-sigv4` crate (no hand-written crypto here).

use super::credentials::AwsCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use std::time::{Duration, UNIX_EPOCH};

/// A request to sign: method, full URL, headers (`host` included) and body.
pub struct Unsigned<'a> {
    /// `POST`, `GET`.
    pub method: &'a str,
    /// The full URL.
    pub url: &'a str,
    /// Headers that are sent and signed.
    pub headers: &'a [(&'a str, String)],
    /// The body.
    pub body: &'a [u8],
}

/// The headers to add to `request` (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` for session credentials), signed for `service` in `region` at
/// `now_unix`.
pub fn signature_headers(
    request: &Unsigned<'_>,
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    now_unix: u64,
) -> Result<Vec<(String, String)>, String> {
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.as_str(),
        credentials.session_token.as_ref().map(|t| t.to_string()),
        None,
        "leafcrypt",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(UNIX_EPOCH + Duration::from_secs(now_unix))
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("cannot sign the request: {e}"))?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url,
        request.headers.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::Bytes(request.body),
    )
    .map_err(|e| format!("cannot sign the request: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("cannot sign the request: {e}"))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn creds(token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Zeroizing::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: token.map(|t| Zeroizing::new(t.to_string())),
            expires_unix: None,
            source: "test".into(),
        }
    }

    #[test]
    fn signs_as_the_sigv4_test_suite_expects() {
        // AWS's published SigV4 test vector "get-vanilla" (20150830T123600Z, us-east-1,
        // service "service").
        let headers = [("host", "example.amazonaws.com".to_string())];
        let req = Unsigned {
            method: "GET",
            url: "https://example.amazonaws.com/",
            headers: &headers,
            body: b"",
        };
        let out =
            signature_headers(&req, &creds(None), "us-east-1", "service", 1_440_938_160).unwrap();
        let auth = &out.iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert!(out
            .iter()
            .any(|(k, v)| k == "x-amz-date" && v == "20150830T123600Z"));
        let with_token =
            signature_headers(&req, &creds(Some("tok")), "us-east-1", "service", 0).unwrap();
        assert!(with_token
            .iter()
            .any(|(k, v)| k == "x-amz-security-token" && v == "tok"));
    }
}
