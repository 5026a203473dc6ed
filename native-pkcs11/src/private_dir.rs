//! A private (0700) temporary directory for plaintext the user asked to see or hand to a
//! program; removed with everything in it when dropped.

use crate::failure::{CliResult, Failure, IO};
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// A 0700 directory under the temp dir, removed with its contents on drop.
pub struct PrivateDir(PathBuf);

impl PrivateDir {
    /// Creates a fresh private directory.
    pub fn create() -> CliResult<Self> {
        let base = std::env::temp_dir();
        for attempt in 0..16u64 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            let p = base.join(format!(
                ".leafcrypt-{}-{:x}",
                std::process::id(),
                nanos ^ attempt
            ));
            match fs::DirBuilder::new().mode(0o700).create(&p) {
                Ok(()) => return Ok(Self(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(Failure::new(
                        IO,
                        format!("cannot create a private temp dir: {e}"),
                    ))
                }
            }
        }
        Err(Failure::new(IO, "cannot create a private temp dir"))
    }
}

impl PrivateDir {
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
