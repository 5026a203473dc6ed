//! Where age identities come from, in sops's order: SSH private keys
//! (`SOPS_AGE_SSH_PRIVATE_KEY_FILE`, then `~/.ssh/id_ed25519` and `~/.ssh/id_rsa` when
//! they exist), `SOPS_AGE_KEY` (inline), `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD` (its
//! stdout), and the default user file `$XDG_CONFIG_HOME/sops/age/keys.txt`
//! (`~/.config/sops/age/keys.txt`). All found are used. A source that is an age file
//! (passphrase-protected identities, binary or armored) is kept whole for the core, which
//! asks for its passphrase when it is first needed.

use crate::failure::{CliResult, Failure};
use leafcrypt_core::keysource::age::AgeSource;
use leafcrypt_core::ExitCode;
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
    /// Passphrase-protected identity files: (location as sops names it, contents).
    pub encrypted: Vec<(String, Zeroizing<Vec<u8>>)>,
}

/// Gathers identities from the environment. A missing default file is not an error; a
/// missing `SOPS_AGE_KEY_FILE` or a failing `SOPS_AGE_KEY_CMD` is reported when nothing
/// else provided a key (as a hint in the decryption error).
pub fn load() -> CliResult<Identities> {
    let mut found = Found {
        text: Zeroizing::new(String::new()),
        origins: Vec::new(),
        encrypted: Vec::new(),
    };
    let (ssh, errors) = ssh_keys(&mut found.origins);
    if let Ok(inline) = std::env::var("SOPS_AGE_KEY") {
        let inline = Zeroizing::new(inline);
        found.add(inline.as_bytes(), "SOPS_AGE_KEY", "SOPS_AGE_KEY".into());
    }
    if let Some(path) = std::env::var_os("SOPS_AGE_KEY_FILE") {
        let path = PathBuf::from(path);
        match std::fs::read(&path) {
            Ok(t) => found.add(
                &Zeroizing::new(t),
                "SOPS_AGE_KEY_FILE",
                format!("SOPS_AGE_KEY_FILE={}", path.display()),
            ),
            Err(e) => found.origins.push(format!(
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
            .map_err(|e| {
                Failure::new(
                    ExitCode::CouldNotRetrieveKey,
                    format!("could not run SOPS_AGE_KEY_CMD: {e}"),
                )
            })?;
        if !out.status.success() {
            return Err(Failure::new(
                ExitCode::CouldNotRetrieveKey,
                format!("SOPS_AGE_KEY_CMD failed with {}", out.status),
            ));
        }
        let stdout = Zeroizing::new(out.stdout);
        found.add(&stdout, "SOPS_AGE_KEY_CMD", "SOPS_AGE_KEY_CMD".into());
    }
    if let Some(path) = default_key_file() {
        if let Ok(t) = std::fs::read(&path) {
            let location = path.display().to_string();
            found.add(&Zeroizing::new(t), &location, location.clone());
        }
    }
    let Found {
        text,
        origins,
        encrypted,
    } = found;
    Ok(Identities {
        text,
        origins,
        ssh,
        errors,
        encrypted,
    })
}

/// What the identity sources held so far.
struct Found {
    text: Zeroizing<String>,
    origins: Vec<String>,
    encrypted: Vec<(String, Zeroizing<Vec<u8>>)>,
}

impl Found {
    /// Adds one source's contents: a passphrase-protected identity file is kept whole
    /// (opened when needed), an identity list joins the text.
    fn add(&mut self, bytes: &[u8], location: &str, origin: String) {
        if AgeSource::is_encrypted_identity_file(bytes) {
            self.encrypted
                .push((location.to_string(), Zeroizing::new(bytes.to_vec())));
            self.origins
                .push(format!("{origin} (passphrase-protected)"));
        } else {
            self.text.push_str(&String::from_utf8_lossy(bytes));
            self.text.push('\n');
            self.origins.push(origin);
        }
    }
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
