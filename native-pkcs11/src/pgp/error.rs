//! Why a gpg run failed, worded for the user: which fingerprint, what is missing, what to
//! do. gpg's own diagnostics are cut down to their relevant lines.

use thiserror::Error;

/// A failed PGP operation.
#[derive(Debug, Error)]
pub enum PgpError {
    /// The gpg binary does not exist or cannot be run.
    #[error("{}", missing(program, *from_env, reason))]
    GpgMissing {
        /// The program that was tried.
        program: String,
        /// Whether it came from `SOPS_GPG_EXEC`.
        from_env: bool,
        /// `not found` or `not executable`.
        reason: &'static str,
    },
    /// gpg could not be started for another reason.
    #[error("could not run the GnuPG binary '{program}': {message}")]
    Spawn {
        /// The program.
        program: String,
        /// The operating system's error.
        message: String,
    },
    /// The public key is not in the keyring.
    #[error("the public key {fp} is not in the GnuPG keyring ({home}): import it with `gpg --import KEYFILE.asc` or `gpg --recv-keys {fp}`{}", detail_suffix(detail))]
    NoPublicKey {
        /// The fingerprint.
        fp: String,
        /// The keyring directory.
        home: String,
        /// gpg's relevant lines.
        detail: String,
    },
    /// No secret key (in the keyring or on a card) can decrypt the message.
    #[error("no secret key for {fp} in the GnuPG keyring ({home}) or on a connected smart card: import the secret key with `gpg --import`, or insert the card that holds it{}", detail_suffix(detail))]
    NoSecretKey {
        /// The fingerprint.
        fp: String,
        /// The keyring directory.
        home: String,
        /// gpg's relevant lines.
        detail: String,
    },
    /// The secret key is there but gpg-agent could not use it (passphrase, pinentry, card).
    #[error("gpg-agent could not unlock the secret key of {fp} ({reason}): in a terminal, run `export GPG_TTY=$(tty)` first; without one, allow loopback pinentry (`allow-loopback-pinentry` in gpg-agent.conf, `pinentry-mode loopback` in gpg.conf) or preset the passphrase with gpg-preset-passphrase; for a smart card, insert it{}", detail_suffix(detail))]
    Agent {
        /// The fingerprint.
        fp: String,
        /// gpg's reason (`Inappropriate ioctl for device`, `No passphrase given`, …).
        reason: String,
        /// gpg's relevant lines.
        detail: String,
    },
    /// Any other gpg failure.
    #[error("gpg failed to {operation} for {fp}{}", detail_suffix(detail))]
    Other {
        /// The fingerprint.
        fp: String,
        /// What was attempted.
        operation: &'static str,
        /// gpg's relevant lines.
        detail: String,
    },
    /// gpg succeeded but printed nothing.
    #[error("gpg returned zero bytes decrypting the data key of {fp}")]
    Empty {
        /// The fingerprint.
        fp: String,
    },
}

fn missing(program: &str, from_env: bool, reason: &str) -> String {
    if from_env {
        format!(
            "could not run the GnuPG binary '{program}' named by SOPS_GPG_EXEC ({reason}): \
             point SOPS_GPG_EXEC at gpg, or unset it to use gpg from PATH"
        )
    } else {
        format!(
            "could not run the GnuPG binary '{program}' ({reason} in PATH): install GnuPG \
             (Debian/Ubuntu: `apt-get install gnupg`) or set SOPS_GPG_EXEC to the gpg binary"
        )
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" [{detail}]")
    }
}

/// gpg's diagnostic lines worth showing: errors and warnings, without the keybox/trustdb
/// chatter, the key descriptions of `encrypted with …` and user IDs; at most the last three,
/// joined with `; `.
pub fn relevant_lines(stderr: &str) -> String {
    const NOISE: [&str; 9] = [
        "keybox '",
        "trustdb",
        "marked as ultimately trusted",
        "marginals needed",
        "depth: ",
        "encrypted with ",
        "next trustdb check",
        "using pgp trust model",
        "WARNING: unsafe ownership",
    ];
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("gpg: "))
        .filter(|l| !NOISE.iter().any(|n| l.contains(n)))
        .map(str::trim)
        .collect();
    lines[lines.len().saturating_sub(3)..].join("; ")
}

/// The keyring directory gpg uses: `GNUPGHOME`, else `~/.gnupg`.
pub fn gnupg_home() -> String {
    match std::env::var_os("GNUPGHOME").filter(|v| !v.is_empty()) {
        Some(dir) => dir.to_string_lossy().into_owned(),
        None => match std::env::var_os("HOME") {
            Some(home) => format!("{}/.gnupg", home.to_string_lossy()),
            None => "~/.gnupg".into(),
        },
    }
}

/// Classifies a failed `gpg --encrypt` for `fp`.
pub fn encrypt_failure(fp: &str, stderr: &str) -> PgpError {
    let detail = relevant_lines(stderr);
    if stderr.contains("No public key") {
        return PgpError::NoPublicKey {
            fp: fp.into(),
            home: gnupg_home(),
            detail,
        };
    }
    let detail = if stderr.contains("Unusable public key") {
        format!("{detail}; the key is expired or revoked, or has no encryption subkey")
    } else {
        detail
    };
    PgpError::Other {
        fp: fp.into(),
        operation: "encrypt the data key",
        detail,
    }
}

/// Classifies a failed `gpg -d` of a message for `fp`.
pub fn decrypt_failure(fp: &str, stderr: &str) -> PgpError {
    let detail = relevant_lines(stderr);
    let reason = stderr
        .lines()
        .find_map(|l| l.split_once("public key decryption failed: "))
        .map(|(_, r)| r.trim().to_string());
    match reason {
        Some(r) if r != "No secret key" => PgpError::Agent {
            fp: fp.into(),
            reason: r,
            detail,
        },
        _ if stderr.contains("No secret key") => PgpError::NoSecretKey {
            fp: fp.into(),
            home: gnupg_home(),
            detail,
        },
        _ if stderr.contains("can't connect to the agent") => PgpError::Agent {
            fp: fp.into(),
            reason: "no gpg-agent".into(),
            detail,
        },
        _ => PgpError::Other {
            fp: fp.into(),
            operation: "decrypt the data key",
            detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_TTY: &str = "gpg: encrypted with 255-bit ECDH key, ID FAF23EC553E93829, created 2026-12-07\n      \"Test PW <pw@example.invalid>\"\ngpg: public key decryption failed: Inappropriate ioctl for device\ngpg: decryption failed: No secret key\n";

    #[test]
    fn pinentry_failure_is_an_agent_error_not_a_missing_key() {
        let e = decrypt_failure("AF56", NO_TTY);
        assert!(
            matches!(&e, PgpError::Agent { reason, .. } if reason == "Inappropriate ioctl for device")
        );
        let text = e.to_string();
        assert!(text.contains("AF56") && text.contains("GPG_TTY"), "{text}");
        assert!(
            !text.contains("Test PW"),
            "user IDs are not repeated: {text}"
        );
    }

    #[test]
    fn missing_keys_name_the_fingerprint_and_the_fix() {
        let e = decrypt_failure(
            "B611",
            "gpg: encrypted with 2048-bit RSA key, ID 832D91F4BEA02569, created 2019-08-29\n      \"Key 3\"\ngpg: decryption failed: No secret key\n",
        );
        assert!(matches!(e, PgpError::NoSecretKey { .. }));
        assert!(e
            .to_string()
            .ends_with("[gpg: decryption failed: No secret key]"));
        let e = encrypt_failure(
            "FBC7",
            "gpg: keybox '/tmp/x/pubring.kbx' created\ngpg: FBC7: skipped: No public key\ngpg: [stdin]: encryption failed: No public key\n",
        );
        let text = e.to_string();
        assert!(text.contains("gpg --recv-keys FBC7"), "{text}");
        assert!(!text.contains("keybox"), "{text}");
    }
}
