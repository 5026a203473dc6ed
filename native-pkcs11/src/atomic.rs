//! Atomic file writes: a temp file in the target's directory, fsync, rename, keeping the
//! existing file's permissions and owner. On any error the target is untouched and the temp
//! file is removed.
//!
//! - A symlink is written through, as sops does: the file it points to is replaced (its
//!   directory holds the temp file), the link stays a link.
//! - The owner and group of an existing file are copied to the temp file before the rename
//!   (this succeeds for root, or when they are already the writer's own; otherwise the new
//!   file belongs to the writer, as any rename-based editor does it).
//! - A file with several hard links cannot be replaced by a rename without splitting the
//!   links: it is rewritten in place once its complete new content is safe (written and
//!   fsynced) in the temp file, which is then removed. A crash in that window leaves the
//!   complete temp file next to it.
//! - Concurrent writers: a file read with [`remember_read`] is replaced only if it still
//!   holds what was read, checked and replaced under an exclusive `flock` on it, so of two
//!   racing read-modify-write commands the second fails with a clear message instead of
//!   silently undoing the first.
//! - Temp files are named `.NAME.leafcrypt-PID-N.tmp` and created 0600. One left behind by
//!   a killed process (SIGKILL cannot be caught) is removed by the next write to that file
//!   once no process with its PID is alive.

use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Mode of a new file that holds plaintext secrets.
pub const PRIVATE: u32 = 0o600;
/// Mode of a new file that holds only encrypted values.
pub const SHAREABLE: u32 = 0o644;

/// How many symlinks a target may go through (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

/// Digests of the files this process read, by resolved path (see [`remember_read`]).
static READ: Mutex<Vec<(PathBuf, [u8; 32])>> = Mutex::new(Vec::new());

/// Records that `path` held `bytes` when it was read: a later [`write`] to it fails
/// instead of replacing a file another process changed in between.
pub fn remember_read(path: &Path, bytes: &[u8]) {
    let Ok(resolved) = resolve_links(path).and_then(fs::canonicalize) else {
        return;
    };
    let digest: [u8; 32] = Sha256::digest(bytes).into();
    if let Ok(mut read) = READ.lock() {
        read.retain(|(p, _)| *p != resolved);
        read.push((resolved, digest));
    }
}

fn read_digest(path: &Path) -> Option<[u8; 32]> {
    let resolved = fs::canonicalize(path).ok()?;
    let read = READ.lock().ok()?;
    read.iter().find(|(p, _)| *p == resolved).map(|(_, d)| *d)
}

/// An exclusive `flock` on the file at `path`, held until dropped, taken only once the
/// file still holds what this process read (`digest`).
fn lock_unchanged(path: &Path, digest: &[u8; 32]) -> io::Result<File> {
    let file = File::open(path)?;
    // SAFETY: flock on a descriptor we own; blocks until other writers are done.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // Re-read by path: a writer that held the lock may have renamed a new file there.
    let now = fs::read(path)?;
    if Sha256::digest(&now).as_slice() != digest {
        return Err(io::Error::other(
            "the file changed since leafcrypt read it (another writer?); nothing was written, run the command again",
        ));
    }
    Ok(file)
}

/// Writes `data` to `target` atomically. An existing target keeps its mode and owner; a
/// new one gets `new_mode`.
pub fn write(target: &Path, data: &[u8], new_mode: u32) -> io::Result<()> {
    let target = resolve_links(target)?;
    let _lock = match read_digest(&target) {
        Some(digest) => Some(lock_unchanged(&target, &digest)?),
        None => None,
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existing = match fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mode = existing
        .as_ref()
        .map_or(new_mode, |m| m.permissions().mode() & 0o7777);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_stale_temps(&dir, &name);
    let (tmp_path, mut file) = create_temp(&dir, &name)?;
    let guard = TempGuard(Some(tmp_path.clone()));
    file.write_all(data)?;
    if let Some(m) = &existing {
        // Best effort: only root may give a file away.
        let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
    }
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.sync_all()?;
    drop(file);
    if existing.as_ref().is_some_and(|m| m.nlink() > 1) {
        let mut out = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&target)?;
        out.write_all(data)?;
        out.sync_all()?;
        drop(out);
        drop(guard); // removes the temp copy
        return Ok(());
    }
    fs::rename(&tmp_path, &target)?;
    guard.disarm();
    // Make the rename durable; a failure here cannot undo the (complete) write.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The path `target` finally names after following symlinks (a dangling link's target is
/// where the new file goes).
fn resolve_links(target: &Path) -> io::Result<PathBuf> {
    let mut path = target.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&path)?;
                path = match path.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::other(format!(
        "too many levels of symbolic links at {}",
        target.display()
    )))
}

/// Removes `.NAME.leafcrypt-PID-N.tmp` files of `name` in `dir` whose process is gone.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}.leafcrypt-");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if pid > 0 && !process_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with `pid` exists.
pub(crate) fn process_alive(pid: i32) -> bool {
    // Signal 0 checks existence; EPERM means it exists under another user.
    // SAFETY: kill with signal 0 sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    for attempt in 0..16u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // Uniqueness, not secrecy: the PID (for the stale-file check) and a counter.
        let path = dir.join(format!(".{name}.leafcrypt-{pid}-{nanos:x}{attempt}.tmp"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a unique temp file",
    ))
}

/// Removes the temp file unless disarmed.
struct TempGuard(Option<PathBuf>);

impl TempGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_mode_and_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.yaml");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write(&p, b"new", SHAREABLE).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn new_file_gets_requested_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plain.yaml");
        write(&p, b"x", PRIVATE).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn failure_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: rename fails, the temp file must go.
        let target = dir.path().join("sub");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), "k").unwrap();
        assert!(write(&target, b"x", PRIVATE).is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("sub")]);
    }

    #[test]
    fn writes_through_symlinks_and_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        fs::create_dir(&real_dir).unwrap();
        let real = real_dir.join("f.yaml");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink("real/f.yaml", &link).unwrap();
        let link2 = dir.path().join("link2.yaml");
        std::os::unix::fs::symlink(&link, &link2).unwrap();
        write(&link2, b"new", SHAREABLE).unwrap();
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(&link2)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            fs::read_dir(&real_dir).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        fs::write(&p, "v0").unwrap();
        remember_read(&p, b"v0");
        fs::write(&p, "v1 by another writer").unwrap();
        let e = write(&p, b"v2", SHAREABLE).unwrap_err();
        assert!(
            e.to_string().contains("changed since leafcrypt read it"),
            "{e}"
        );
        assert_eq!(fs::read(&p).unwrap(), b"v1 by another writer");
        remember_read(&p, b"v1 by another writer");
        write(&p, b"v2", SHAREABLE).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"v2");
    }

    #[test]
    fn hard_links_stay_linked() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        fs::write(&a, "old").unwrap();
        fs::hard_link(&a, &b).unwrap();
        write(&a, b"new", SHAREABLE).unwrap();
        assert_eq!(fs::read(&b).unwrap(), b"new");
        assert_eq!(fs::metadata(&a).unwrap().nlink(), 2);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.yaml");
        fs::write(&p, "old").unwrap();
        // A PID that is not running: a finished child's.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".f.yaml.leafcrypt-{dead}-1.tmp"));
        fs::write(&stale, "plaintext left by a SIGKILL").unwrap();
        let live = dir
            .path()
            .join(format!(".f.yaml.leafcrypt-{}-1.tmp", std::process::id()));
        fs::write(&live, "a write in progress").unwrap();
        let other = dir.path().join(format!(".g.yaml.leafcrypt-{dead}-1.tmp"));
        fs::write(&other, "another file's").unwrap();
        write(&p, b"new", SHAREABLE).unwrap();
        assert!(!stale.exists(), "the dead writer's temp file is gone");
        assert!(live.exists(), "a live writer's temp file stays");
        assert!(other.exists(), "only this file's temp files are touched");
    }
}
