//! Where age identities come from, in sops's order: SSH private keys
//! (`SOPS_AGE_SSH_PRIVATE_KEY_FILE`, then `~/.ssh/id_ed25519` and `~/.ssh/id_rsa` when
//! they exist), `SOPS_AGE_KEY` (inline), `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD` (its
//! stdout), and the default user file `$XDG_CONFIG_HOME/sops/age/keys.txt`
//! (`~/.config/sops/age/keys.txt`). All found are used.

use crate::failure::{CliResult, Failure};
use std::path::PathBuf;
use std::process::Command;
use zeroize::Zeroizing;

/// The identity text gathered from every configured source, plus a description of where
/// it came from (for `--verbose` and error messages; never the keys themselves).
pub struct Identities {
    /// Identity file contents, concatenated.
    pub text: Zeroizing<String>,
    /// Human-readable origins, e.g. `SOPS_AGE_KEY_FILE=/path`.
    pub origins: Vec<String>,
    /// SSH private keys: (path, file text).
    pub ssh: Vec<(String, Zeroizing<String>)>,
    /// SSH key files that could not be read; like sops, not fatal (they are named in the
    /// decryption error if no key works).
    pub errors: Vec<String>,
}

/// Gathers identities from the environment. A missing default file is not an error; a
/// missing `SOPS_AGE_KEY_FILE` or a failing `SOPS_AGE_KEY_CMD` is reported when nothing
/// else provided a key (as a hint in the decryption error).
pub fn load() -> CliResult<Identities> {
    let mut text = Zeroizing::new(String::new());
    let mut origins = Vec::new();
    let (ssh, errors) = ssh_keys(&mut origins);
    fn push(text: &mut String, origins: &mut Vec<String>, t: &str, origin: String) {
        text.push_str(t);
        text.push('\n');
        origins.push(origin);
    }
    if let Ok(inline) = std::env::var("SOPS_AGE_KEY") {
        let inline = Zeroizing::new(inline);
        push(&mut text, &mut origins, &inline, "SOPS_AGE_KEY".into());
    }
    if let Some(path) = std::env::var_os("SOPS_AGE_KEY_FILE") {
        let path = PathBuf::from(path);
        match std::fs::read_to_string(&path) {
            Ok(t) => push(
                &mut text,
                &mut origins,
                &Zeroizing::new(t),
                format!("SOPS_AGE_KEY_FILE={}", path.display()),
            ),
            Err(e) => origins.push(format!(
                "SOPS_AGE_KEY_FILE={} (unreadable: {e})",
                path.display()
            )),
        }
    }
    if let Ok(cmd) = std::env::var("SOPS_AGE_KEY_CMD") {
        let out = Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| Failure::new(128, format!("could not run SOPS_AGE_KEY_CMD: {e}")))?;
        if !out.status.success() {
            return Err(Failure::new(
                128,
                format!("SOPS_AGE_KEY_CMD failed with {}", out.status),
            ));
        }
        let t = Zeroizing::new(String::from_utf8_lossy(&out.stdout).into_owned());
        drop(Zeroizing::new(out.stdout));
        push(&mut text, &mut origins, &t, "SOPS_AGE_KEY_CMD".into());
    }
    if let Some(path) = default_key_file() {
        if let Ok(t) = std::fs::read_to_string(&path) {
            push(
                &mut text,
                &mut origins,
                &Zeroizing::new(t),
                path.display().to_string(),
            );
        }
    }
    Ok(Identities {
        text,
        origins,
        ssh,
        errors,
    })
}

/// sops's SSH identities: `SOPS_AGE_SSH_PRIVATE_KEY_FILE` when set (an unreadable file is
/// an error to report), and `~/.ssh/id_ed25519`, `~/.ssh/id_rsa` when they exist.
fn ssh_keys(origins: &mut Vec<String>) -> (Vec<(String, Zeroizing<String>)>, Vec<String>) {
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    let mut read = |path: PathBuf, must_exist: bool| match std::fs::read_to_string(&path) {
        Ok(t) => {
            origins.push(path.display().to_string());
            keys.push((path.display().to_string(), Zeroizing::new(t)));
        }
        Err(e) if must_exist || e.kind() != std::io::ErrorKind::NotFound => {
            errors.push(format!("failed to open file {}: {e}", path.display()));
        }
        Err(_) => {}
    };
    if let Some(path) = std::env::var_os("SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
        read(PathBuf::from(path), true);
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        let dir = PathBuf::from(home).join(".ssh");
        read(dir.join("id_ed25519"), false);
        read(dir.join("id_rsa"), false);
    }
    (keys, errors)
}

/// sops's default identity file.
fn default_key_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}
