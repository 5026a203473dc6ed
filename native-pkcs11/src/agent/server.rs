//! The agent process: a Unix socket (0600, in a 0700 directory of this user) served by a
//! thread per connection, refusing peers of another user (`SO_PEERCRED`), a sweeper that
//! forgets expired keys, and a thread woken by signals (through a pipe); on `--stop`, SIGINT, SIGTERM or SIGHUP every
//! key is zeroized and the socket (and the directory it created) removed.

use super::cache::Cache;
use super::peer;
use super::protocol::{read_frame, status, write_frame, Request};
use crate::failure::{CliResult, Failure};
use leafcrypt_core::ExitCode;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Where the socket lives.
pub struct Place {
    /// The socket.
    pub socket: PathBuf,
    /// Its directory, when the agent created it (removed on exit).
    created_dir: Option<PathBuf>,
}

struct Shared {
    cache: Mutex<Cache>,
    stop: AtomicBool,
    socket: PathBuf,
}

impl Shared {
    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn fail(message: String) -> Failure {
    Failure::new(ExitCode::ErrorGeneric, message)
}

/// Chooses and checks the socket's place: `socket` (its directory created 0700, or an
/// existing one that is this user's and closed to others), else a new 0700 directory
/// under `$XDG_RUNTIME_DIR` or the temp dir.
pub fn place(socket: Option<&Path>) -> CliResult<Place> {
    let Some(socket) = socket else {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        for attempt in 0..16u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = base.join(format!(
                "leafcrypt-agent-{}-{:x}",
                std::process::id(),
                nanos ^ attempt
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    return Ok(Place {
                        socket: dir.join("agent.sock"),
                        created_dir: Some(dir),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(fail(format!("cannot create {}: {e}", dir.display()))),
            }
        }
        return Err(fail(
            "cannot create a private directory for the agent".into(),
        ));
    };
    let dir = socket
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let created_dir = if dir.exists() {
        let meta = std::fs::metadata(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        if meta.uid() != peer::own_uid() || meta.mode() & 0o077 != 0 {
            return Err(fail(format!(
                "{}: the agent's directory must be yours and closed to others (chmod 700), mode is {:o}",
                dir.display(),
                meta.mode() & 0o777
            )));
        }
        None
    } else {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        Some(dir.to_path_buf())
    };
    if let Ok(meta) = std::fs::symlink_metadata(socket) {
        if !meta.file_type().is_socket() {
            return Err(fail(format!(
                "{}: exists and is not a socket",
                socket.display()
            )));
        }
        if UnixStream::connect(socket).is_ok() {
            return Err(fail(format!(
                "{}: an agent already listens there",
                socket.display()
            )));
        }
        let _ = std::fs::remove_file(socket);
    }
    Ok(Place {
        socket: socket.to_path_buf(),
        created_dir,
    })
}

/// The socket, created 0600 (umask 0177 while binding, then chmod).
fn bind(path: &Path) -> CliResult<UnixListener> {
    // SAFETY: umask only swaps the process's file-creation mask.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    // SAFETY: as above, restoring it.
    unsafe { libc::umask(old) };
    let listener =
        listener.map_err(|e| fail(format!("cannot listen on {}: {e}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
    Ok(listener)
}

/// `VAR=value; export VAR;` as ssh-agent prints it (the value quoted when needed).
pub fn shell_line(socket: &Path) -> String {
    let s = socket.display().to_string();
    let plain = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c));
    let value = if plain {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    };
    let var = super::client::SOCK_VAR;
    format!(
        "{var}={value}; export {var};\necho Agent pid {};\n",
        std::process::id()
    )
}

/// Runs the agent in the foreground until it is stopped.
pub fn serve(place: Place, ttl: Duration) -> CliResult<()> {
    // No core dumps, no ptrace by other processes of this user: keys live in this memory.
    // SAFETY: prctl with these arguments only changes this process's dumpable flag.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let signals = signal_pipe()?;
    let listener = bind(&place.socket)?;
    let shared = Arc::new(Shared {
        cache: Mutex::new(Cache::new(ttl)),
        stop: AtomicBool::new(false),
        socket: place.socket.clone(),
    });
    {
        let mut out = io::stdout().lock();
        let _ = out.write_all(shell_line(&place.socket).as_bytes());
        let _ = out.flush();
    }
    let sweeper = Arc::clone(&shared);
    let tick = (ttl / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    std::thread::spawn(move || {
        while !sweeper.stop.load(Ordering::SeqCst) {
            std::thread::sleep(tick);
            sweeper.cache().sweep(Instant::now());
        }
    });
    let on_signal = Arc::clone(&shared);
    std::thread::spawn(move || {
        wait_for(signals);
        stop(&on_signal);
    });
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        if let Ok(stream) = conn {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || connection(&shared, stream));
        }
    }
    shared.cache().clear();
    let _ = std::fs::remove_file(&place.socket);
    if let Some(dir) = &place.created_dir {
        let _ = std::fs::remove_dir(dir);
    }
    Ok(())
}

/// Marks the agent stopping, forgets every key and wakes the accept loop.
fn stop(shared: &Shared) {
    shared.stop.store(true, Ordering::SeqCst);
    shared.cache().clear();
    let _ = UnixStream::connect(&shared.socket);
}

fn connection(shared: &Shared, mut stream: UnixStream) {
    let allowed = peer::peer_uid(&stream).map(|uid| (uid, peer::allowed(uid, peer::own_uid())));
    match allowed {
        Ok((_, true)) => {}
        Ok((uid, false)) => {
            shared.cache().refused += 1;
            eprintln!(
                "leafcrypt agent: refused a connection from uid {uid} (serves uid {} only)",
                peer::own_uid()
            );
            return;
        }
        Err(e) => {
            eprintln!("leafcrypt agent: refused a connection: cannot read its credentials: {e}");
            return;
        }
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    while let Ok(Some(body)) = read_frame(&mut stream) {
        let (code, payload) = answer(shared, Request::decode(&body));
        let mut reply = zeroize::Zeroizing::new(vec![code]);
        reply.extend_from_slice(&payload);
        if write_frame(&mut stream, &reply).is_err() {
            return;
        }
        if shared.stop.load(Ordering::SeqCst) {
            let _ = UnixStream::connect(&shared.socket);
            return;
        }
    }
}

fn answer(shared: &Shared, request: Option<Request>) -> (u8, zeroize::Zeroizing<Vec<u8>>) {
    let none = zeroize::Zeroizing::new(Vec::new());
    let now = Instant::now();
    let Some(request) = request else {
        return (status::BAD, none);
    };
    let mut cache = shared.cache();
    match request {
        Request::Get(id) => match cache.get(&id, now) {
            Some(key) => (status::OK, key),
            None => (status::MISS, none),
        },
        Request::Put(id, key) => {
            if cache.put(id, key, now) {
                (status::OK, none)
            } else {
                (status::LOCKED, none)
            }
        }
        Request::Forget(id) => {
            cache.forget(&id);
            (status::OK, none)
        }
        Request::Clear => {
            cache.clear();
            (status::OK, none)
        }
        Request::Lock => {
            cache.lock();
            (status::OK, none)
        }
        Request::Unlock => {
            cache.unlock();
            (status::OK, none)
        }
        Request::Stop => {
            cache.clear();
            shared.stop.store(true, Ordering::SeqCst);
            (status::OK, none)
        }
        Request::Status => {
            cache.sweep(now);
            let text = cache.status().to_string().into_bytes();
            (status::OK, zeroize::Zeroizing::new(text))
        }
    }
}

/// The write end of the signal pipe, for the handler.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the buffer is one valid byte.
        unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    }
}

/// Routes SIGINT, SIGTERM and SIGHUP (whichever thread receives them) to a pipe; returns
/// its read end, readable once one arrived.
fn signal_pipe() -> CliResult<libc::c_int> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe(2) returns.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(fail(format!(
            "cannot create a pipe: {}",
            io::Error::last_os_error()
        )));
    }
    SIGNAL_PIPE.store(fds[1], Ordering::SeqCst);
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with a handler that only calls write(2).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
    Ok(fds[0])
}

/// Blocks until a byte arrives on the signal pipe.
fn wait_for(fd: libc::c_int) {
    let mut byte = [0u8; 1];
    loop {
        // SAFETY: reads at most one byte into a one-byte buffer.
        let n = unsafe { libc::read(fd, byte.as_mut_ptr().cast(), 1) };
        if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_line_quotes_unusual_paths() {
        let l = shell_line(Path::new("/tmp/a b/agent.sock"));
        assert!(l.starts_with(
            "LEAFCRYPT_AGENT_SOCK='/tmp/a b/agent.sock'; export LEAFCRYPT_AGENT_SOCK;\n"
        ));
        let l = shell_line(Path::new("/run/user/1/x/agent.sock"));
        assert!(l.starts_with("LEAFCRYPT_AGENT_SOCK=/run/user/1/x/agent.sock; export"));
    }

    #[test]
    fn an_open_directory_is_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = place(Some(&d.path().join("s"))).err().unwrap();
        assert!(e.message.contains("chmod 700"), "{}", e.message);
        let p = place(Some(&d.path().join("new/s"))).unwrap();
        let mode = std::fs::metadata(d.path().join("new")).unwrap().mode() & 0o777;
        assert_eq!(
            (mode, p.socket.file_name().unwrap().to_str()),
            (0o700, Some("s"))
        );
    }
}
