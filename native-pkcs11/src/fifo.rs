//! Plaintexts handed to a child process through FIFOs in a private directory: nothing is
//! written to disk, each FIFO is fed by its own thread while the child runs, and a FIFO
//! the child never opened is drained so that no writer is left blocked.

use crate::failure::{CliResult, Failure};
use crate::private_dir::PrivateDir;
use leafcrypt_core::ExitCode;
use std::ffi::CString;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use zeroize::Zeroizing;

/// FIFOs being fed; [`Feeds::finish`] once the child has exited.
pub struct Feeds {
    feeds: Vec<Feed>,
    // Dropped last: removes the FIFOs and their directory.
    _dir: PrivateDir,
}

/// One FIFO being fed by its own thread; [`Feed::finish`] once the child has exited.
pub struct Feed {
    path: PathBuf,
    writer: JoinHandle<()>,
}

/// Makes a 0600 FIFO at `path`.
fn mkfifo(path: &Path) -> CliResult<()> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Failure::new(ExitCode::ErrorGeneric, "bad temp path"))?;
    // SAFETY: c_path is a valid NUL-terminated path; mkfifo has no other preconditions.
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
        return Err(Failure::new(
            ExitCode::CouldNotReadInputFile,
            format!("cannot create a FIFO: {}", std::io::Error::last_os_error()),
        ));
    }
    Ok(())
}

impl Feeds {
    /// Creates one FIFO per `(file name, plaintext)` in a new private directory and starts
    /// feeding them; returns the feeds and the FIFOs' paths, in order.
    pub fn start(items: Vec<(String, Zeroizing<Vec<u8>>)>) -> CliResult<(Self, Vec<PathBuf>)> {
        let dir = PrivateDir::create()?;
        let mut paths = Vec::new();
        for (name, _) in &items {
            let path = dir.path().join(name);
            mkfifo(&path)?;
            paths.push(path);
        }
        let feeds = items
            .into_iter()
            .zip(&paths)
            .map(|((_, plain), path)| Feed::spawn_writer(path.clone(), plain))
            .collect();
        Ok((Self { feeds, _dir: dir }, paths))
    }

    /// After the child exited: unblocks the writers of FIFOs it never opened (by reading
    /// and discarding) and joins every writer.
    pub fn finish(self) {
        for feed in self.feeds {
            feed.finish();
        }
    }
}

impl Feed {
    /// Creates a 0600 FIFO at `path` (in a private directory the caller owns) and starts
    /// feeding it `plain`.
    pub fn start(path: &Path, plain: Zeroizing<Vec<u8>>) -> CliResult<Self> {
        mkfifo(path)?;
        Ok(Self::spawn_writer(path.to_path_buf(), plain))
    }

    fn spawn_writer(path: PathBuf, plain: Zeroizing<Vec<u8>>) -> Self {
        let p = path.clone();
        let writer = std::thread::spawn(move || {
            // Blocks until the reader opens the FIFO.
            if let Ok(mut f) = fs::OpenOptions::new().write(true).open(&p) {
                let _ = f.write_all(&plain);
            }
        });
        Self { path, writer }
    }

    /// After the child exited (or was never started): if it never opened the FIFO, becomes
    /// the reader so that the writer's open() returns, discards what it writes, and joins
    /// the writer.
    pub fn finish(self) {
        let Self { path, writer } = self;
        if !writer.is_finished() {
            if let Ok(mut reader) = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&path)
            {
                let mut sink = Zeroizing::new(vec![0u8; 64 * 1024]);
                while !writer.is_finished() {
                    if matches!(reader.read(&mut sink), Ok(0) | Err(_)) {
                        std::thread::yield_now();
                    }
                }
            }
        }
        let _ = writer.join();
    }
}
