//! AWS credentials as the AWS SDKs find them.
//!
//! One trait, [`CredentialProvider`]; each provider knows nothing of the others and
//! [`chain::DefaultChain`] tries them in the SDKs' order: environment variables, the
//! shared config/credentials files (static keys, `source_profile` + `role_arn`,
//! `credential_source`, `web_identity_token_file`, `credential_process`), web identity
//! from the environment, container credentials, then IMDSv2. Configuration is read
//! through an [`AwsEnv`], never from the process environment directly.
//!
//! Modules: [`profile`] (shared files), [`sts`] (AssumeRole, AssumeRoleWithWebIdentity),
//! [`remote`] (container credentials and IMDSv2), [`process`] (`credential_process`,
//! native only), [`chain`] (the default chain and its cache).

pub mod chain;
#[cfg(not(target_arch = "wasm32"))]
pub mod process;
pub mod profile;
pub mod remote;
pub mod sts;

use async_trait::async_trait;
use std::fmt;
use std::rc::Rc;
use zeroize::Zeroizing;

/// Temporary or long-term AWS credentials. The secret parts zeroize on drop and are
/// never printed.
#[derive(Clone)]
pub struct AwsCredentials {
    /// The access key ID (not secret; names the caller in errors).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Zeroizing<String>,
    /// The session token of temporary credentials.
    pub session_token: Option<Zeroizing<String>>,
    /// Expiry, seconds since the Unix epoch, when known.
    pub expires_unix: Option<u64>,
    /// Where they came from (`environment`, `profile dev`, `assumed role R`), for errors.
    pub source: String,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AwsCredentials({} from {}, <redacted>)",
            self.access_key_id, self.source
        )
    }
}

impl AwsCredentials {
    /// Long-term or session credentials from their parts (`source` names the origin).
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: Zeroizing::new(secret_access_key.into()),
            session_token: session_token.filter(|t| !t.is_empty()).map(Zeroizing::new),
            expires_unix: None,
            source: source.into(),
        }
    }

    /// Who is calling, for errors: `access key AKID… (source)`.
    pub fn describe(&self) -> String {
        format!("access key {} from {}", self.access_key_id, self.source)
    }
}

/// Why a provider gave no credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialError {
    /// The provider is not configured: the chain goes on to the next one.
    NotConfigured(String),
    /// The provider is configured and failed: the chain stops, as the SDKs do.
    Failed(String),
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConfigured(m) | Self::Failed(m) => f.write_str(m),
        }
    }
}

/// Something that produces AWS credentials.
#[async_trait(?Send)]
pub trait CredentialProvider {
    /// A short name for errors (`environment`, `profile dev`).
    fn name(&self) -> String;

    /// Credentials, or why there are none.
    async fn credentials(&self) -> Result<AwsCredentials, CredentialError>;
}

/// Credentials given by the caller (the WebAssembly callback, tests).
#[derive(Clone, Debug)]
pub struct StaticProvider(pub AwsCredentials);

#[async_trait(?Send)]
impl CredentialProvider for StaticProvider {
    fn name(&self) -> String {
        self.0.source.clone()
    }

    async fn credentials(&self) -> Result<AwsCredentials, CredentialError> {
        Ok(self.0.clone())
    }
}

/// Reads one configuration variable. Natively [`AwsEnv::process`] reads the process
/// environment; tests pass a closure over a map.
pub type EnvLookup = Rc<dyn Fn(&str) -> Option<String>>;

/// What the providers read: variables, the home directory (for `~/.aws/*`), the STS
/// session name sops uses (`sops@HOSTNAME`) and the HTTP client.
#[derive(Clone)]
pub struct AwsEnv {
    /// Variables (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, …).
    pub vars: EnvLookup,
    /// The session name for assumed roles.
    pub session_name: String,
    /// The HTTP client for STS, container credentials, IMDS and KMS.
    pub http: reqwest::Client,
}

impl fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AwsEnv(session {})", self.session_name)
    }
}

impl AwsEnv {
    /// A variable, `None` when unset or empty.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.vars)(name).filter(|v| !v.is_empty())
    }

    /// Native only: the process environment and `sops@HOSTNAME` as session name.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn process(http: reqwest::Client) -> Self {
        Self {
            vars: Rc::new(|n| std::env::var(n).ok()),
            session_name: session_name(&hostname()),
            http,
        }
    }

    /// Reads a file the configuration names (natively; there are no files on wasm32).
    pub fn read_file(&self, path: &str) -> Result<Zeroizing<String>, String> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            std::fs::read_to_string(path)
                .map(Zeroizing::new)
                .map_err(|e| format!("cannot read {path}: {e}"))
        }
        #[cfg(target_arch = "wasm32")]
        {
            Err(format!(
                "cannot read {path} in WebAssembly: pass a credentials callback instead"
            ))
        }
    }

    /// `~/.aws/NAME` (`HOME`, else `USERPROFILE`), or `None` without a home.
    pub fn aws_dir_file(&self, name: &str) -> Option<String> {
        let home = self.var("HOME").or_else(|| self.var("USERPROFILE"))?;
        Some(format!("{}/.aws/{name}", home.trim_end_matches('/')))
    }
}

/// The machine's host name (empty when unknown).
#[cfg(not(target_arch = "wasm32"))]
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname NUL-terminates or
        // truncates within it.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
        String::new()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }
}

/// sops's STS session name: `sops@` + the host name without characters outside
/// `[a-zA-Z0-9=,.@-_]` (Go's class, where `@-_` is a range), cut to 64 bytes.
pub fn session_name(hostname: &str) -> String {
    let kept: String = hostname
        .chars()
        .filter(|c| {
            c.is_ascii_alphanumeric() || matches!(*c, '=' | ',' | '.') || ('@'..='_').contains(c)
        })
        .collect();
    let mut name = format!("sops@{kept}");
    name.truncate(64);
    name
}

/// Seconds since the epoch of an RFC 3339 / ISO 8601 UTC time (`2024-01-02T03:04:05Z`,
/// fractions and offsets allowed).
pub fn parse_expiration(text: &str) -> Option<u64> {
    let t = text.trim();
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, m, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = t.get(19..)?;
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match rest {
        "Z" | "z" | "" => 0,
        o if o.len() == 6 => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 3600
                + o.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = crate::time::days_from_civil(year, month as u32, day as u32);
    u64::try_from(days * 86_400 + h * 3600 + m * 60 + s - offset).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_name_is_sanitised_like_sops() {
        // Go's class `@-_` is the range @..=_ : a '-' is dropped, as sops drops it.
        assert_eq!(session_name("host-1.example"), "sops@host1.example");
        assert_eq!(session_name("a b/c"), "sops@abc");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn expirations_parse_in_every_form_aws_sends() {
        assert_eq!(parse_expiration("1970-01-02T00:00:00Z"), Some(86_400));
        assert_eq!(parse_expiration("1970-01-02T00:00:00.123Z"), Some(86_400));
        assert_eq!(parse_expiration("1970-01-02T01:00:00+01:00"), Some(86_400));
        assert_eq!(parse_expiration("soon"), None);
    }

    #[test]
    fn credentials_never_print_secrets() {
        let c = AwsCredentials::new("AKID", "SECRET", Some("TOKEN".into()), "environment");
        let shown = format!("{c:?} {}", c.describe());
        assert!(
            !shown.contains("SECRET") && !shown.contains("TOKEN"),
            "{shown}"
        );
    }
}
