//! `credential_process` (native only): runs the profile's command through the shell, as
//! the Go SDK does, and reads its JSON (`Version` 1, `AccessKeyId`, `SecretAccessKey`,
//! `SessionToken`, `Expiration`).

use super::{parse_expiration, AwsCredentials, CredentialError};
use serde::Deserialize;
use zeroize::Zeroizing;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    version: Option<u32>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    expiration: Option<String>,
}

/// Runs `command` for `profile` and returns its credentials.
pub async fn run(command: &str, profile: &str) -> Result<AwsCredentials, CredentialError> {
    let source = format!("credential_process of profile {profile}");
    let fail = |m: String| CredentialError::Failed(format!("{source}: {m}"));
    #[cfg(unix)]
    let mut cmd = {
        let mut c = tokio::process::Command::new("sh");
        c.arg("-c").arg(command);
        c
    };
    #[cfg(not(unix))]
    let mut cmd = {
        let mut c = tokio::process::Command::new("cmd.exe");
        c.arg("/C").arg(command);
        c
    };
    let out = cmd
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .await
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    let stdout = Zeroizing::new(out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(fail(format!(
            "exited with {}: {}",
            out.status,
            err.lines().next().unwrap_or("").trim()
        )));
    }
    let parsed: Output = serde_json::from_slice(&stdout)
        .map_err(|e| fail(format!("its output is not credentials JSON: {e}")))?;
    if parsed.version != Some(1) {
        return Err(fail("its output must have \"Version\": 1".into()));
    }
    let (Some(id), Some(secret)) = (parsed.access_key_id, parsed.secret_access_key) else {
        return Err(fail("its output has no AccessKeyId/SecretAccessKey".into()));
    };
    let mut creds = AwsCredentials::new(id, secret, parsed.session_token, source);
    creds.expires_unix = parsed.expiration.as_deref().and_then(parse_expiration);
    Ok(creds)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_the_process_output_and_reports_failures() {
        let ok =
            r#"printf '{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"S","SessionToken":"T"}'"#;
        let c = run(ok, "p").await.unwrap();
        assert_eq!(c.access_key_id, "AK");
        assert_eq!(c.session_token.as_deref().map(|s| s.as_str()), Some("T"));
        let err = run("echo nope >&2; exit 3", "p")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("credential_process of profile p: exited with") && err.contains("nope"),
            "{err}"
        );
        let err = run("echo '{}'", "p").await.unwrap_err().to_string();
        assert!(err.contains("Version"), "{err}");
    }
}
