//! The default credential chain of the AWS SDK for Go v2 (what sops uses), its
//! environment and web-identity members, `credential_source`, the role assumed for a
//! key's `role`, and a cache that reuses credentials until shortly before they expire.
//!
//! Order: when a profile is named (`aws_profile` of the key or `AWS_PROFILE`) only that
//! profile counts, then container credentials and IMDS when it holds none; otherwise
//! environment keys, web identity from the environment, the `default` profile, container
//! credentials, IMDS. A provider that is not configured passes to the next; one that is
//! configured and fails stops the chain, and the error lists what was tried.

use super::profile::{ProfileProvider, SharedFiles};
use super::remote::{ContainerProvider, ImdsProvider};
use super::sts::{self, RoleRequest};
use super::{AwsCredentials, AwsEnv, CredentialError, CredentialProvider};
use crate::keysource::rest::cache::{Expiring, ExpiringCache};
#[cfg(test)]
use crate::keysource::rest::platform;
use async_trait::async_trait;
use std::rc::Rc;

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
pub struct EnvProvider {
    env: AwsEnv,
}

impl EnvProvider {
    /// Reads `env` at each acquisition.
    pub fn new(env: AwsEnv) -> Self {
        Self { env }
    }
}

#[async_trait(?Send)]
impl CredentialProvider for EnvProvider {
    fn name(&self) -> String {
        "environment".into()
    }

    async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
        let id = self
            .env
            .var("AWS_ACCESS_KEY_ID")
            .or_else(|| self.env.var("AWS_ACCESS_KEY"));
        let secret = self
            .env
            .var("AWS_SECRET_ACCESS_KEY")
            .or_else(|| self.env.var("AWS_SECRET_KEY"));
        match (id, secret) {
            (Some(id), Some(secret)) => Ok(AwsCredentials::new(
                id,
                secret,
                self.env.var("AWS_SESSION_TOKEN"),
                "environment",
            )),
            (None, None) => Err(CredentialError::NotConfigured(
                "environment: AWS_ACCESS_KEY_ID is unset".into(),
            )),
            (Some(_), None) => Err(CredentialError::Failed(
                "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
            )),
            (None, Some(_)) => Err(CredentialError::Failed(
                "environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not".into(),
            )),
        }
    }
}

/// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`): IRSA.
pub struct WebIdentityProvider {
    env: AwsEnv,
    region: String,
}

impl WebIdentityProvider {
    /// Reads `env` at each acquisition (the token file rotates); STS in `region`.
    pub fn new(env: AwsEnv, region: &str) -> Self {
        Self {
            env,
            region: region.into(),
        }
    }
}

#[async_trait(?Send)]
impl CredentialProvider for WebIdentityProvider {
    fn name(&self) -> String {
        "web identity".into()
    }

    async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
        let Some(file) = self.env.var("AWS_WEB_IDENTITY_TOKEN_FILE") else {
            return Err(CredentialError::NotConfigured(
                "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is unset".into(),
            ));
        };
        let failed = |m: String| CredentialError::Failed(format!("web identity ({file}): {m}"));
        let role = self
            .env
            .var("AWS_ROLE_ARN")
            .ok_or_else(|| failed("AWS_ROLE_ARN is unset".into()))?;
        let token = self.env.read_file(&file).map_err(failed)?;
        let session = self
            .env
            .var("AWS_ROLE_SESSION_NAME")
            .unwrap_or_else(|| self.env.session_name.clone());
        let request = RoleRequest {
            role_arn: &role,
            session_name: &session,
            external_id: None,
            region: &self.region,
        };
        sts::assume_role_with_web_identity(&self.env, &request, token.trim())
            .await
            .map_err(failed)
    }
}

/// A profile's `credential_source`: `Environment`, `Ec2InstanceMetadata`, `EcsContainer`.
pub async fn credential_source(env: &AwsEnv, source: &str) -> Result<AwsCredentials, String> {
    let provider: Box<dyn CredentialProvider> = match source {
        "Environment" => Box::new(EnvProvider::new(env.clone())),
        "Ec2InstanceMetadata" => Box::new(ImdsProvider::new(env.clone())),
        "EcsContainer" => Box::new(ContainerProvider::new(env.clone())),
        other => {
            return Err(format!(
                "unknown source {other} (Environment, Ec2InstanceMetadata, EcsContainer)"
            ))
        }
    };
    provider.credentials().await.map_err(|e| e.to_string())
}

/// Tries providers in order (see the module documentation).
pub struct ChainProvider {
    members: Vec<Box<dyn CredentialProvider>>,
}

impl ChainProvider {
    /// A chain of `members`.
    pub fn new(members: Vec<Box<dyn CredentialProvider>>) -> Self {
        Self { members }
    }

    /// The SDK's default chain for a key with `profile` (else `AWS_PROFILE`), with STS in
    /// `region`. The shared files are read now.
    pub fn default_for(env: &AwsEnv, profile: Option<&str>, region: &str) -> Self {
        let files = SharedFiles::load(env);
        let named = profile.is_some() || env.var("AWS_PROFILE").is_some();
        let mut members: Vec<Box<dyn CredentialProvider>> = Vec::new();
        if !named {
            members.push(Box::new(EnvProvider::new(env.clone())));
            members.push(Box::new(WebIdentityProvider::new(env.clone(), region)));
        }
        members.push(Box::new(ProfileProvider::new(
            env.clone(),
            files,
            profile,
            region,
        )));
        members.push(Box::new(ContainerProvider::new(env.clone())));
        members.push(Box::new(ImdsProvider::new(env.clone())));
        Self { members }
    }

    /// The members' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.members.iter().map(|m| m.name()).collect()
    }
}

#[async_trait(?Send)]
impl CredentialProvider for ChainProvider {
    fn name(&self) -> String {
        "default credential chain".into()
    }

    async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
        let mut tried = Vec::new();
        for member in &self.members {
            match member.credentials().await {
                Ok(c) => return Ok(c),
                Err(CredentialError::NotConfigured(m)) => tried.push(m),
                Err(CredentialError::Failed(m)) => {
                    tried.push(m);
                    return Err(CredentialError::Failed(tried.join("; ")));
                }
            }
        }
        Err(CredentialError::Failed(format!(
            "{}; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --aws-profile",
            tried.join("; ")
        )))
    }
}

/// `role` assumed with the credentials of `base`.
pub struct AssumeRoleProvider {
    env: AwsEnv,
    base: Rc<dyn CredentialProvider>,
    role: String,
    region: String,
}

impl AssumeRoleProvider {
    /// Assumes `role` (STS in `region`) with `base`'s credentials.
    pub fn new(env: AwsEnv, base: Rc<dyn CredentialProvider>, role: &str, region: &str) -> Self {
        Self {
            env,
            base,
            role: role.into(),
            region: region.into(),
        }
    }
}

#[async_trait(?Send)]
impl CredentialProvider for AssumeRoleProvider {
    fn name(&self) -> String {
        format!("role {}", self.role)
    }

    async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
        let base = self.base.credentials().await?;
        let request = RoleRequest {
            role_arn: &self.role,
            session_name: &self.env.session_name,
            external_id: None,
            region: &self.region,
        };
        sts::assume_role(&self.env, &base, &request)
            .await
            .map_err(|e| CredentialError::Failed(format!("role {}: {e}", self.role)))
    }
}

impl Expiring for AwsCredentials {
    fn expires_on(&self) -> u64 {
        self.expires_unix.unwrap_or(u64::MAX)
    }
}

/// Reuses `inner`'s credentials through the shared [`ExpiringCache`]: refreshed shortly
/// before they expire (credentials without expiry are kept for the life of the cache),
/// one refresh at a time, the old ones kept while a failed refresh leaves them valid.
pub struct CachedProvider {
    inner: Box<dyn CredentialProvider>,
    cache: ExpiringCache<(), AwsCredentials>,
}

impl CachedProvider {
    /// Caches `inner`.
    pub fn new(inner: Box<dyn CredentialProvider>) -> Self {
        Self {
            inner,
            cache: ExpiringCache::new(),
        }
    }
}

#[async_trait(?Send)]
impl CredentialProvider for CachedProvider {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
        self.cache
            .get_or_fetch((), || self.inner.credentials())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keysource::aws_kms::transport::env_of;
    use std::cell::Cell;

    struct Counting(Rc<Cell<u32>>, Option<u64>);

    #[async_trait(?Send)]
    impl CredentialProvider for Counting {
        fn name(&self) -> String {
            "counting".into()
        }
        async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
            self.0.set(self.0.get() + 1);
            let mut c = AwsCredentials::new("AK", "S", None, "counting");
            c.expires_unix = self.1;
            Ok(c)
        }
    }

    #[test]
    fn env_keys_come_first_unless_a_profile_is_named() {
        let env = env_of(&[
            ("AWS_ACCESS_KEY_ID", "AKENV"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]);
        let chain = ChainProvider::default_for(&env, None, "us-east-1");
        let c = pollster::block_on(chain.credentials()).unwrap();
        assert_eq!(c.source, "environment");
        let named = ChainProvider::default_for(&env, Some("p"), "us-east-1");
        assert_eq!(
            named.names(),
            [
                "profile p",
                "container credentials",
                "EC2 instance metadata"
            ]
        );
        let err = pollster::block_on(named.credentials())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("profile p: not found in"), "{err}");
    }

    #[test]
    fn an_empty_environment_lists_every_credential_tried() {
        let env = env_of(&[("AWS_EC2_METADATA_DISABLED", "true")]);
        let chain = ChainProvider::default_for(&env, None, "us-east-1");
        let err = pollster::block_on(chain.credentials())
            .unwrap_err()
            .to_string();
        for part in [
            "environment: AWS_ACCESS_KEY_ID is unset",
            "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is unset",
            "profile default: not found",
            "container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are unset",
            "EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED",
        ] {
            assert!(err.contains(part), "{part} missing from {err}");
        }
        let half = env_of(&[("AWS_ACCESS_KEY_ID", "AK")]);
        let err = pollster::block_on(ChainProvider::default_for(&half, None, "x").credentials())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
        );
    }

    #[test]
    fn cache_reuses_until_due_and_refetches_expired_credentials() {
        let calls = Rc::new(Cell::new(0));
        let forever = CachedProvider::new(Box::new(Counting(calls.clone(), None)));
        for _ in 0..3 {
            pollster::block_on(forever.credentials()).unwrap();
        }
        assert_eq!(calls.get(), 1);
        let calls = Rc::new(Cell::new(0));
        let soon = platform::now_unix() + 600;
        let hour = CachedProvider::new(Box::new(Counting(calls.clone(), Some(soon))));
        for _ in 0..3 {
            pollster::block_on(hour.credentials()).unwrap();
        }
        assert_eq!(calls.get(), 1);
        let calls = Rc::new(Cell::new(0));
        let expired = CachedProvider::new(Box::new(Counting(calls.clone(), Some(1))));
        for _ in 0..3 {
            pollster::block_on(expired.credentials()).unwrap();
        }
        assert_eq!(calls.get(), 3);
    }
}
