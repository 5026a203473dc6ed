//! The shared config and credentials files (`~/.aws/config`, `~/.aws/credentials`, or
//! `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`) and a profile's credentials:
//! static keys, `role_arn` with `source_profile` or `credential_source`,
//! `web_identity_token_file`, `credential_process`.

use super::sts::{self, RoleRequest};
use super::{AwsCredentials, AwsEnv, CredentialError, CredentialProvider};
use async_trait::async_trait;
use std::collections::HashMap;

/// One profile's properties (keys lower-cased).
pub type Properties = HashMap<String, String>;

/// Parses an INI file of the AWS shape. In the config file sections are `[default]` and
/// `[profile NAME]`; in the credentials file `[NAME]`. Other config sections
/// (`[sso-session …]`, `[services …]`) and nested (indented) properties are skipped.
pub fn parse(text: &str, config_file: bool) -> HashMap<String, Properties> {
    let mut out: HashMap<String, Properties> = HashMap::new();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') {
            let name = trimmed
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            current = if config_file {
                match name.split_once(char::is_whitespace) {
                    Some(("profile", n)) => Some(n.trim().to_string()),
                    None if name == "default" => Some(name.to_string()),
                    _ => None,
                }
            } else {
                Some(name.to_string())
            };
            if let Some(n) = &current {
                out.entry(n.clone()).or_default();
            }
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            continue; // a nested property (`s3 =` sub-keys)
        }
        if let (Some(section), Some((k, v))) = (&current, trimmed.split_once('=')) {
            let value = v.trim();
            // Inline comments need whitespace before `#`/`;`.
            let value = value
                .split(" #")
                .next()
                .unwrap_or(value)
                .split(" ;")
                .next()
                .unwrap_or(value)
                .trim();
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), value.to_string());
        }
    }
    out
}

/// Both shared files, read once.
#[derive(Clone, Debug, Default)]
pub struct SharedFiles {
    config: HashMap<String, Properties>,
    credentials: HashMap<String, Properties>,
    /// The paths read, for errors.
    pub paths: Vec<String>,
}

impl SharedFiles {
    /// Reads the files `env` names (missing files are empty, as for the SDKs).
    pub fn load(env: &AwsEnv) -> Self {
        let config_path = env
            .var("AWS_CONFIG_FILE")
            .or_else(|| env.aws_dir_file("config"));
        let credentials_path = env
            .var("AWS_SHARED_CREDENTIALS_FILE")
            .or_else(|| env.aws_dir_file("credentials"));
        let mut files = Self::default();
        if let Some(p) = config_path {
            if let Ok(text) = env.read_file(&p) {
                files.config = parse(&text, true);
            }
            files.paths.push(p);
        }
        if let Some(p) = credentials_path {
            if let Ok(text) = env.read_file(&p) {
                files.credentials = parse(&text, false);
            }
            files.paths.push(p);
        }
        files
    }

    /// Files from their texts (tests, callers without a file system).
    pub fn from_texts(config: &str, credentials: &str) -> Self {
        Self {
            config: parse(config, true),
            credentials: parse(credentials, false),
            paths: vec!["config".into(), "credentials".into()],
        }
    }

    /// `name`'s properties, the credentials file's winning over the config file's.
    pub fn profile(&self, name: &str) -> Option<Properties> {
        let a = self.config.get(name);
        let b = self.credentials.get(name);
        if a.is_none() && b.is_none() {
            return None;
        }
        let mut merged = a.cloned().unwrap_or_default();
        merged.extend(b.cloned().unwrap_or_default());
        Some(merged)
    }
}

/// A profile's credentials.
pub struct ProfileProvider {
    env: AwsEnv,
    files: SharedFiles,
    name: String,
    explicit: bool,
    region: String,
}

impl ProfileProvider {
    /// The provider for `profile` (else `AWS_PROFILE`, else `default`); STS calls go to
    /// `region`.
    pub fn new(env: AwsEnv, files: SharedFiles, profile: Option<&str>, region: &str) -> Self {
        let (name, explicit) = match profile
            .map(str::to_string)
            .or_else(|| env.var("AWS_PROFILE"))
        {
            Some(n) => (n, true),
            None => ("default".to_string(), false),
        };
        Self {
            env,
            files,
            name,
            explicit,
            region: region.to_string(),
        }
    }

    /// Credentials of profile `name`, following `source_profile` (cycles refused).
    async fn resolve(
        &self,
        name: &str,
        seen: &mut Vec<String>,
    ) -> Result<AwsCredentials, CredentialError> {
        let failed = |m: String| CredentialError::Failed(format!("profile {name}: {m}"));
        if seen.iter().any(|s| s == name) && seen.last().map(String::as_str) != Some(name) {
            return Err(failed(format!(
                "source_profile cycle: {}",
                seen.join(" -> ")
            )));
        }
        let props = self
            .files
            .profile(name)
            .ok_or_else(|| failed(format!("not found in {}", self.files.paths.join(" or "))))?;
        let get = |k: &str| props.get(k).filter(|v| !v.is_empty()).cloned();
        let static_keys = || match (get("aws_access_key_id"), get("aws_secret_access_key")) {
            (Some(id), Some(secret)) => Some(AwsCredentials::new(
                id,
                secret,
                get("aws_session_token"),
                format!("profile {name}"),
            )),
            _ => None,
        };
        let already_seen = seen.last().map(String::as_str) == Some(name);
        seen.push(name.to_string());
        let session = get("role_session_name").unwrap_or_else(|| self.env.session_name.clone());
        if let (Some(role), false) = (get("role_arn"), already_seen) {
            let request = RoleRequest {
                role_arn: &role,
                session_name: &session,
                external_id: props.get("external_id").map(String::as_str),
                region: &self.region,
            };
            if let Some(file) = get("web_identity_token_file") {
                let token = self.env.read_file(&file).map_err(failed)?;
                return sts::assume_role_with_web_identity(&self.env, &request, token.trim())
                    .await
                    .map_err(failed);
            }
            let base = if let Some(source) = get("source_profile") {
                if source == name {
                    static_keys()
                        .ok_or_else(|| failed("source_profile is itself and has no keys".into()))?
                } else {
                    Box::pin(self.resolve(&source, seen)).await?
                }
            } else if let Some(source) = get("credential_source") {
                super::chain::credential_source(&self.env, &source)
                    .await
                    .map_err(|e| failed(format!("credential_source {source}: {e}")))?
            } else {
                return Err(failed(
                    "role_arn needs source_profile, credential_source or web_identity_token_file"
                        .into(),
                ));
            };
            return sts::assume_role(&self.env, &base, &request)
                .await
                .map_err(failed);
        }
        if let Some(creds) = static_keys() {
            return Ok(creds);
        }
        if let Some(file) = get("web_identity_token_file") {
            return Err(failed(format!(
                "web_identity_token_file {file} needs role_arn"
            )));
        }
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(command) = get("credential_process") {
            return super::process::run(&command, name).await;
        }
        Err(failed(
            "has no credentials (aws_access_key_id, role_arn, credential_process)".into(),
        ))
    }
}

#[async_trait(?Send)]
impl CredentialProvider for ProfileProvider {
    fn name(&self) -> String {
        format!("profile {}", self.name)
    }

    async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
        if !self.explicit && self.files.profile(&self.name).is_none() {
            return Err(CredentialError::NotConfigured(format!(
                "profile default: not found in {}",
                if self.files.paths.is_empty() {
                    "the shared files (no home directory)".to_string()
                } else {
                    self.files.paths.join(" or ")
                }
            )));
        }
        let mut seen = Vec::new();
        match self.resolve(&self.name.clone(), &mut seen).await {
            // An implicit default profile without any credential property lets the
            // chain go on (it may hold only a region).
            Err(CredentialError::Failed(m)) if m.contains("has no credentials") => {
                Err(CredentialError::NotConfigured(m))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_files_and_merges_them() {
        let config = "[default]\nregion = eu-west-1\n[profile dev]\nrole_arn = arn:aws:iam::1:role/r # comment\nsource_profile = base\ns3 =\n  max_concurrent_requests = 2\n[sso-session x]\nsso_region = y\n";
        let creds = "[base]\naws_access_key_id=AK\naws_secret_access_key = SK\n; comment\n[dev]\nregion = us-east-1\n";
        let files = SharedFiles::from_texts(config, creds);
        let dev = files.profile("dev").unwrap();
        assert_eq!(dev["role_arn"], "arn:aws:iam::1:role/r");
        assert_eq!(dev["region"], "us-east-1");
        assert!(!dev.contains_key("max_concurrent_requests"));
        assert_eq!(files.profile("base").unwrap()["aws_access_key_id"], "AK");
        assert!(files.profile("x").is_none());
    }

    fn env() -> AwsEnv {
        crate::keysource::aws_kms::transport::env_of(&[])
    }

    #[test]
    fn static_profiles_resolve_and_missing_ones_say_where_they_looked() {
        let files =
            SharedFiles::from_texts("", "[p]\naws_access_key_id=AK\naws_secret_access_key=SK\n");
        let p = ProfileProvider::new(env(), files.clone(), Some("p"), "us-east-1");
        let c = pollster::block_on(p.credentials()).unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.source.as_str()),
            ("AK", "profile p")
        );
        let missing = ProfileProvider::new(env(), files.clone(), Some("nope"), "us-east-1");
        let err = pollster::block_on(missing.credentials()).unwrap_err();
        assert!(
            matches!(&err, CredentialError::Failed(m) if m.contains("profile nope: not found in config or credentials")),
            "{err:?}"
        );
        let implicit = ProfileProvider::new(env(), files, None, "us-east-1");
        assert!(matches!(
            pollster::block_on(implicit.credentials()),
            Err(CredentialError::NotConfigured(_))
        ));
    }

    #[test]
    fn source_profile_cycles_are_refused() {
        let files = SharedFiles::from_texts(
            "[profile a]\nrole_arn=arn:aws:iam::1:role/a\nsource_profile=b\n[profile b]\nrole_arn=arn:aws:iam::1:role/b\nsource_profile=a\n",
            "",
        );
        let p = ProfileProvider::new(env(), files, Some("a"), "us-east-1");
        let err = pollster::block_on(p.credentials()).unwrap_err().to_string();
        assert!(err.contains("cycle"), "{err}");
    }
}
