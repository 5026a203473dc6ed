//! A private (0700) temporary directory for plaintext the user asked to see or hand to a
//! program; removed with everything in it when dropped. A directory left behind by a
//! leafcrypt that was SIGKILLed (nothing can catch that) is removed by the next one that
//! creates a private directory, once no process with its PID is alive.

use crate::failure::{CliResult, Failure};
use leafcrypt_core::ExitCode;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// A 0700 directory under the temp dir, removed with its contents on drop.
pub struct PrivateDir(PathBuf);

impl PrivateDir {
    /// Creates a fresh private directory.
    pub fn create() -> CliResult<Self> {
        let base = std::env::temp_dir();
        remove_stale(&base);
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
                        ExitCode::CouldNotReadInputFile,
                        format!("cannot create a private temp dir: {e}"),
                    ))
                }
            }
        }
        Err(Failure::new(
            ExitCode::CouldNotReadInputFile,
            "cannot create a private temp dir",
        ))
    }
}

impl PrivateDir {
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// Removes `.leafcrypt-PID-N` directories of this user under `base` whose process is gone.
fn remove_stale(base: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    // SAFETY: getuid has no failure mode.
    let uid = unsafe { libc::getuid() };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(".leafcrypt-"))
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if meta.is_dir() && meta.uid() == uid && pid > 0 && !crate::atomic::process_alive(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_process_private_dir_is_removed_by_the_next_one() {
        let base = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = base.path().join(format!(".leafcrypt-{dead}-1f"));
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join("tmp-file"), "plaintext left by a SIGKILL").unwrap();
        let live = base
            .path()
            .join(format!(".leafcrypt-{}-2f", std::process::id()));
        fs::create_dir(&live).unwrap();
        let other = base.path().join("unrelated");
        fs::create_dir(&other).unwrap();
        remove_stale(base.path());
        assert!(!stale.exists());
        assert!(live.exists() && other.exists());
    }
}
