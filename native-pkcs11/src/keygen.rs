//! `leafcrypt age-keygen`: a new age X25519 identity in `age-keygen`'s file format.

use crate::failure::{CliResult, Failure};
use age::secrecy::ExposeSecret;
use leafcrypt_core::ExitCode;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use zeroize::Zeroizing;

/// Generates an identity and writes it to `out` (mode 0600, never overwriting) or stdout.
pub fn run(out: Option<&Path>, now: &str) -> CliResult<()> {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let text = Zeroizing::new(format!(
        "# created: {now}\n# public key: {recipient}\n{}\n",
        identity.to_string().expose_secret()
    ));
    match out {
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| {
                    Failure::new(
                        ExitCode::CouldNotReadInputFile,
                        format!("cannot create {}: {e}", path.display()),
                    )
                })?;
            f.write_all(text.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| {
                    Failure::new(
                        ExitCode::CouldNotReadInputFile,
                        format!("cannot write {}: {e}", path.display()),
                    )
                })?;
        }
        None => std::io::stdout().write_all(text.as_bytes()).map_err(|e| {
            Failure::new(
                ExitCode::CouldNotReadInputFile,
                format!("cannot write the identity: {e}"),
            )
        })?,
    }
    eprintln!("Public key: {recipient}");
    Ok(())
}
