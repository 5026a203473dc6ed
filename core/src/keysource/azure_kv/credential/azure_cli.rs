//! The Azure CLI's logged-in account (native only):
//! `az account get-access-token -o json --resource R [--tenant T]`.
//!
//! `az` is looked up on the `PATH` read through the [`EnvLookup`] (so tests use a fake `az`
//! without touching the process environment) and killed after a timeout. The expiry is
//! `expires_on` (Unix seconds, az 2.54 and later), else `expiresOn` (local time, read with
//! the machine's UTC offset; on non-Unix systems it is taken as UTC). az's output holds
//! the token, so it is never quoted in errors; its stderr is, masked and cut short.

use super::authority::validate_tenant;
use super::{AccessToken, CredentialError, EnvLookup, TokenCredential, TokenRequest};
use crate::keysource::rest::redact::quote;
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// This credential's name in errors.
pub const NAME: &str = "AzureCliCredential";

/// How long `az` may run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The local UTC offset in seconds (local − UTC) at a local wall-clock time given as
/// seconds since 1970-01-01 00:00 (as if it were UTC).
pub type LocalOffset = Arc<dyn Fn(i64) -> i64 + Send + Sync>;

/// The Azure CLI credential.
pub struct AzureCliCredential {
    path_var: Option<String>,
    timeout: Duration,
    local_offset: LocalOffset,
}

impl std::fmt::Debug for AzureCliCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AzureCliCredential(timeout={:?})", self.timeout)
    }
}

impl AzureCliCredential {
    /// Finds `az` on `env("PATH")` at each acquisition; [`DEFAULT_TIMEOUT`].
    pub fn from_env(env: EnvLookup) -> Self {
        Self {
            path_var: env("PATH"),
            timeout: DEFAULT_TIMEOUT,
            local_offset: Arc::new(system_local_offset),
        }
    }

    /// Sets how long `az` may run before it is killed.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how local times (`expiresOn`) are converted to UTC.
    pub fn with_local_offset(mut self, local_offset: LocalOffset) -> Self {
        self.local_offset = local_offset;
        self
    }

    /// The `az` program on the configured `PATH`, if any.
    pub fn find_az(&self) -> Option<PathBuf> {
        let names: &[&str] = if cfg!(windows) {
            &["az.cmd", "az.exe", "az.bat"]
        } else {
            &["az"]
        };
        let path_var = self.path_var.as_deref()?;
        std::env::split_paths(path_var)
            .filter(|dir| !dir.as_os_str().is_empty())
            .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
            .find(|candidate| is_executable(candidate))
    }

    /// `--resource R [--tenant T]`, validated so nothing can be read as another option.
    fn arguments(request: &TokenRequest) -> Result<Vec<String>, CredentialError> {
        let [scope] = request.scopes.as_slice() else {
            return Err(CredentialError::failed(
                NAME,
                format!(
                    "the Azure CLI takes exactly one scope, got {}",
                    request.scopes.len()
                ),
            ));
        };
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        let safe = |c: char| c.is_ascii_alphanumeric() || ".-_/:".contains(c);
        if resource.is_empty() || resource.starts_with('-') || !resource.chars().all(safe) {
            return Err(CredentialError::failed(
                NAME,
                format!("unusable scope \"{scope}\" for the Azure CLI"),
            ));
        }
        let mut args: Vec<String> = [
            "account",
            "get-access-token",
            "-o",
            "json",
            "--resource",
            resource,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(tenant) = request.tenant_id.as_deref().filter(|t| !t.is_empty()) {
            validate_tenant(tenant).map_err(|e| CredentialError::failed(NAME, e))?;
            args.extend(["--tenant".to_string(), tenant.to_string()]);
        }
        Ok(args)
    }

    /// Reads az's JSON. Errors never quote it.
    fn parse(&self, stdout: &[u8]) -> Result<AccessToken, CredentialError> {
        let bad = || {
            CredentialError::failed(
                NAME,
                "az printed something other than the expected JSON token",
            )
        };
        let json: serde_json::Value = serde_json::from_slice(stdout).map_err(|_| bad())?;
        let token = json
            .get("accessToken")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(bad)?;
        let expires_on = match json.get("expires_on").and_then(super::entra::json_seconds) {
            Some(epoch) => epoch,
            None => json
                .get("expiresOn")
                .and_then(|v| v.as_str())
                .and_then(parse_local_datetime)
                .map(|naive| naive - (self.local_offset)(naive))
                .and_then(|utc| u64::try_from(utc).ok())
                .ok_or_else(|| {
                    CredentialError::failed(NAME, "az printed a token without a readable expiry")
                })?,
        };
        Ok(AccessToken {
            token: Zeroizing::new(token.to_string()),
            expires_on,
        })
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// The machine's offset at `naive` local seconds: from the C library's `localtime_r`
/// on Unix (applied at the UTC instant that is `naive` read as UTC, which differs from the
/// exact answer only within a DST switch), 0 elsewhere.
fn system_local_offset(naive: i64) -> i64 {
    #[cfg(unix)]
    {
        // `time_t` is 32 bits on some targets, where the conversion can fail.
        #[allow(irrefutable_let_patterns)]
        let Ok(t) = libc::time_t::try_from(naive) else {
            return 0;
        };
        // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the call; localtime_r writes only to `tm`.
        let converted = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
        // `c_long` is 32 bits on some targets.
        #[allow(clippy::useless_conversion)]
        if converted {
            i64::from(tm.tm_gmtoff)
        } else {
            0
        }
    }
    #[cfg(not(unix))]
    {
        let _ = naive;
        0
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` as seconds since 1970-01-01 00:00 (no zone applied).
fn parse_local_datetime(text: &str) -> Option<i64> {
    let (date, time) = text.trim().split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second);
    // Month and day are in range (checked above), so the casts are exact.
    let days = || crate::time::days_from_civil(year, month as u32, day as u32);
    valid.then(|| days() * 86_400 + hour * 3600 + minute * 60 + second)
}

#[async_trait(?Send)]
impl TokenCredential for AzureCliCredential {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, CredentialError> {
        let args = Self::arguments(request)?;
        let az = self.find_az().ok_or_else(|| {
            CredentialError::unavailable(
                NAME,
                "the Azure CLI (az) is not on PATH: install it and run `az login`",
            )
        })?;
        let child = tokio::process::Command::new(&az)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                CredentialError::failed(NAME, format!("cannot run {}: {e}", az.display()))
            })?;
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| {
                CredentialError::failed(
                    NAME,
                    format!(
                        "az did not answer within {} s and was stopped",
                        self.timeout.as_secs_f64()
                    ),
                )
            })?
            .map_err(|e| CredentialError::failed(NAME, format!("waiting for az: {e}")))?;
        let stdout = Zeroizing::new(output.stdout);
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("az login") || stderr.contains("az account set") {
                return Err(CredentialError::unavailable(
                    NAME,
                    "not logged in: please run 'az login' to set up an account",
                ));
            }
            return Err(CredentialError::failed(
                NAME,
                format!("az failed ({}): {}", output.status, quote(&stderr, &[])),
            ));
        }
        self.parse(&stdout)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::credential::test_support::{env_of, write_script};

    /// A directory holding a fake `az` with `body` (a shell script) that logs its
    /// arguments to `argv` beside it.
    fn fake_az(body: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let text =
            format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/argv\"\n{body}\n");
        write_script(&dir.path().join("az"), &text);
        dir
    }

    fn credential(dir: &tempfile::TempDir) -> AzureCliCredential {
        let path = format!("/nonexistent-leafcrypt:{}", dir.path().display());
        AzureCliCredential::from_env(&env_of(&[("PATH", &path)]))
    }

    fn request(tenant: Option<&str>) -> TokenRequest {
        TokenRequest {
            scopes: vec!["https://0.0.1:8443/.default".into()],
            tenant_id: tenant.map(String::from),
        }
    }

    #[tokio::test]
    async fn runs_az_with_resource_and_tenant_and_reads_expires_on() {
        let dir = fake_az(
            r#"echo '{"accessToken":"cli-token","expiresOn":"2099-01-01 00:00:00.000000","expires_on":1900000003,"subscription":"s","tenant":"t","tokenType":"Bearer"}'"#,
        );
        let token = credential(&dir)
            .get_token(&request(Some("tenant-9")))
            .await
            .unwrap();
        assert_eq!(
            (token.token.as_str(), token.expires_on),
            ("cli-token", 1_900_000_003)
        );
        let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
        assert_eq!(
            argv.lines().collect::<Vec<_>>(),
            [
                "account",
                "get-access-token",
                "-o",
                "json",
                "--resource",
                "https://0.0.1:8443",
                "--tenant",
                "tenant-9"
            ]
        );
        credential(&dir).get_token(&request(None)).await.unwrap();
        let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
        assert!(!argv.contains("--tenant"), "{argv}");
    }

    #[tokio::test]
    async fn falls_back_to_expires_on_in_local_time() {
        let dir = fake_az(
            r#"echo '{"accessToken":"old-cli","expiresOn":"2030-06-01 12:30:00.123456","tokenType":"Bearer"}'"#,
        );
        // 2030-06-01T12:30:00 at UTC+02:00 is 10:30:00Z = 1906540200.
        let token = credential(&dir)
            .with_local_offset(Arc::new(|_| 7200))
            .get_token(&request(None))
            .await
            .unwrap();
        assert_eq!(token.expires_on, 1_906_540_200);
    }

    #[tokio::test]
    async fn not_logged_in_is_unavailable_with_the_hint() {
        let dir = fake_az("echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1");
        let err = credential(&dir)
            .get_token(&request(None))
            .await
            .unwrap_err();
        assert!(err.unavailable, "{err}");
        assert!(err.message.contains("please run 'az login'"), "{err}");
    }

    #[tokio::test]
    async fn other_failures_quote_stderr_masked() {
        let dir = fake_az(
            "echo 'ERROR: AADSTS50173 grant expired eyJhbGciOi.eyJzdWIiOiJ4In0.sig' >&2\nexit 2",
        );
        let err = credential(&dir)
            .get_token(&request(None))
            .await
            .unwrap_err();
        assert!(!err.unavailable);
        assert!(
            err.message.contains("AADSTS50173 grant expired <redacted>"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn bad_json_is_a_failure_that_does_not_quote_the_output() {
        let dir = fake_az("echo 'accessToken: plain-secret-token'");
        let err = credential(&dir)
            .get_token(&request(None))
            .await
            .unwrap_err();
        assert!(!err.unavailable);
        assert!(err.message.contains("expected JSON"), "{err}");
        assert!(!err.message.contains("plain-secret-token"));
        let dir = fake_az(r#"echo '{"accessToken":"t"}'"#);
        let err = credential(&dir)
            .get_token(&request(None))
            .await
            .unwrap_err();
        assert!(err.message.contains("readable expiry"), "{err}");
    }

    #[tokio::test]
    async fn a_hanging_az_is_stopped_after_the_timeout() {
        let dir = fake_az("exec sleep 30");
        let started = std::time::Instant::now();
        let err = credential(&dir)
            .with_timeout(Duration::from_millis(300))
            .get_token(&request(None))
            .await
            .unwrap_err();
        assert!(err.message.contains("did not answer within 0.3 s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn missing_az_is_unavailable_and_bad_input_is_refused_before_running() {
        let empty = tempfile::tempdir().unwrap();
        let err = credential(&empty)
            .get_token(&request(None))
            .await
            .unwrap_err();
        assert!(
            err.unavailable && err.message.contains("not on PATH"),
            "{err}"
        );
        let no_path = AzureCliCredential::from_env(&env_of(&[]));
        assert!(no_path.find_az().is_none());
        let dir = fake_az("echo never");
        let err = credential(&dir)
            .get_token(&request(Some("--output=x")))
            .await
            .unwrap_err();
        assert!(err.message.contains("invalid tenant"), "{err}");
        let err = credential(&dir)
            .get_token(&TokenRequest {
                scopes: vec!["--debug".into()],
                tenant_id: None,
            })
            .await
            .unwrap_err();
        assert!(err.message.contains("unusable scope"), "{err}");
        assert!(!dir.path().join("argv").exists(), "az was never run");
    }

    #[test]
    fn local_datetimes() {
        assert_eq!(parse_local_datetime("1970-01-01 00:00:00"), Some(0));
        assert_eq!(
            parse_local_datetime("2000-03-01 00:00:01.5"),
            Some(951_868_801)
        );
        assert_eq!(
            parse_local_datetime("2024-02-29T23:59:59"),
            Some(1_709_251_199)
        );
        assert_eq!(parse_local_datetime("2024-13-01 00:00:00"), None);
        assert_eq!(parse_local_datetime("tomorrow"), None);
    }
}
