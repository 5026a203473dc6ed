//! Credentials served over HTTP: the container credentials endpoint (ECS, EKS Pod
//! Identity: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`, with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`) and EC2 instance metadata (IMDSv2: a
//! session token first; `AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_EC2_METADATA_DISABLED`).

use super::{parse_expiration, AwsCredentials, AwsEnv, CredentialError, CredentialProvider};
use crate::keysource::aws_kms::transport::{send_once, Request};
use async_trait::async_trait;
use serde::Deserialize;
use std::time::Duration;

/// The ECS task credentials host.
const ECS_HOST: &str = "http://169.254.170.2";
/// The EC2 instance metadata service.
pub const IMDS_DEFAULT: &str = "http://169.254.169.254";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Served {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    token: Option<String>,
    expiration: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

fn from_served(body: &[u8], source: &str) -> Result<AwsCredentials, CredentialError> {
    let served: Served = serde_json::from_slice(body).map_err(|e| {
        CredentialError::Failed(format!("{source}: the answer is not credentials JSON: {e}"))
    })?;
    if let Some(code) = served.code.as_deref().filter(|c| *c != "Success") {
        return Err(CredentialError::Failed(format!(
            "{source}: {code}: {}",
            served.message.unwrap_or_default()
        )));
    }
    let (Some(id), Some(secret)) = (served.access_key_id, served.secret_access_key) else {
        return Err(CredentialError::Failed(format!(
            "{source}: the answer has no AccessKeyId/SecretAccessKey"
        )));
    };
    let mut creds = AwsCredentials::new(id, secret, served.token, source);
    creds.expires_unix = served.expiration.as_deref().and_then(parse_expiration);
    Ok(creds)
}

/// Container credentials.
pub struct ContainerProvider {
    env: AwsEnv,
}

impl ContainerProvider {
    /// Reads its configuration from `env` at each acquisition.
    pub fn new(env: AwsEnv) -> Self {
        Self { env }
    }

    fn url(&self) -> Option<String> {
        if let Some(rel) = self.env.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            return Some(format!("{ECS_HOST}{rel}"));
        }
        self.env.var("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    }
}

/// Whether `url` may carry credentials: https, or http to loopback or the ECS/EKS hosts
/// (as the SDKs allow).
fn allowed_container_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    matches!(
        host,
        "127.0.0.1" | "localhost" | "[::1]" | "169.254.170.2" | "169.254.170.23" | "[fd00:ec2::23]"
    ) || host.starts_with("127.")
}

#[async_trait(?Send)]
impl CredentialProvider for ContainerProvider {
    fn name(&self) -> String {
        "container credentials".into()
    }

    async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
        let Some(url) = self.url() else {
            return Err(CredentialError::NotConfigured(
                "container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are unset".into(),
            ));
        };
        let source = format!("container credentials {url}");
        if !allowed_container_url(&url) {
            return Err(CredentialError::Failed(format!(
                "{source}: only https or http to loopback and the ECS/EKS hosts is allowed"
            )));
        }
        let mut headers = Vec::new();
        let token = match self.env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            Some(file) => Some(
                self.env
                    .read_file(&file)
                    .map_err(|e| CredentialError::Failed(format!("{source}: {e}")))?
                    .trim()
                    .to_string(),
            ),
            None => self.env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        };
        if let Some(t) = token {
            headers.push(("authorization".to_string(), t));
        }
        let request = Request {
            method: "GET",
            url: &url,
            headers,
            body: Vec::new(),
            timeout: Some(Duration::from_secs(5)),
        };
        let (response, _) = send_once(&self.env.http, &request)
            .await
            .map_err(|e| CredentialError::Failed(format!("{source}: {e}")))?;
        if response.status != 200 {
            return Err(CredentialError::Failed(format!(
                "{source}: HTTP {}",
                response.status
            )));
        }
        from_served(&response.body, &source)
    }
}

/// EC2 instance metadata (IMDSv2).
pub struct ImdsProvider {
    env: AwsEnv,
}

impl ImdsProvider {
    /// Reads its configuration from `env` at each acquisition.
    pub fn new(env: AwsEnv) -> Self {
        Self { env }
    }

    /// The metadata endpoint in use.
    pub fn endpoint(&self) -> String {
        self.env
            .var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or_else(|| IMDS_DEFAULT.into())
            .trim_end_matches('/')
            .to_string()
    }

    async fn get(&self, url: &str, token: &str) -> Result<Vec<u8>, String> {
        let request = Request {
            method: "GET",
            url,
            headers: vec![("x-aws-ec2-metadata-token".into(), token.into())],
            body: Vec::new(),
            timeout: Some(Duration::from_secs(1)),
        };
        let (response, _) = send_once(&self.env.http, &request).await?;
        if response.status != 200 {
            return Err(format!("{url}: HTTP {}", response.status));
        }
        Ok(response.body)
    }
}

#[async_trait(?Send)]
impl CredentialProvider for ImdsProvider {
    fn name(&self) -> String {
        "EC2 instance metadata".into()
    }

    async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
        if self
            .env
            .var("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err(CredentialError::NotConfigured(
                "EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED".into(),
            ));
        }
        let base = self.endpoint();
        let source = format!("EC2 instance metadata {base}");
        // Not on EC2 is the common case: an unreachable endpoint means "not configured".
        let token_request = Request {
            method: "PUT",
            url: &format!("{base}/latest/api/token"),
            headers: vec![(
                "x-aws-ec2-metadata-token-ttl-seconds".into(),
                "21600".into(),
            )],
            body: Vec::new(),
            timeout: Some(Duration::from_secs(1)),
        };
        let (response, _) = send_once(&self.env.http, &token_request)
            .await
            .map_err(|e| CredentialError::NotConfigured(format!("{source}: {e}")))?;
        if response.status != 200 {
            return Err(CredentialError::NotConfigured(format!(
                "{source}: the IMDSv2 token request answered HTTP {}",
                response.status
            )));
        }
        let token =
            zeroize::Zeroizing::new(String::from_utf8_lossy(&response.body).trim().to_string());
        let list = format!("{base}/latest/meta-data/iam/security-credentials/");
        let roles = self
            .get(&list, &token)
            .await
            .map_err(|e| CredentialError::Failed(format!("{source}: no instance role: {e}")))?;
        let role = String::from_utf8_lossy(&roles)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        if role.is_empty() {
            return Err(CredentialError::Failed(format!(
                "{source}: the instance has no IAM role"
            )));
        }
        let body = self
            .get(&format!("{list}{role}"), &token)
            .await
            .map_err(|e| CredentialError::Failed(format!("{source}: {e}")))?;
        from_served(&body, &format!("{source} (role {role})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_urls_are_limited_like_the_sdks() {
        assert!(allowed_container_url("http://127.0.0.1:8080/creds"));
        assert!(allowed_container_url("http://169.254.170.2/v2/x"));
        assert!(allowed_container_url("https://example.com/c"));
        assert!(!allowed_container_url("http://example.com/c"));
    }

    #[test]
    fn served_credentials_and_failures_are_read() {
        let ok = br#"{"Code":"Success","AccessKeyId":"AK","SecretAccessKey":"S","Token":"T","Expiration":"1970-01-01T00:01:00Z"}"#;
        let c = from_served(ok, "imds").unwrap();
        assert_eq!((c.access_key_id.as_str(), c.expires_unix), ("AK", Some(60)));
        let bad = br#"{"Code":"AssumeRoleUnauthorizedAccess","Message":"no"}"#;
        assert!(from_served(bad, "imds")
            .unwrap_err()
            .to_string()
            .contains("AssumeRoleUnauthorizedAccess: no"));
    }
}
