//! Who is on the other end of a Unix socket (`SO_PEERCRED`), and who may talk to whom:
//! the agent serves only its own user, and the client hands keys only to an agent of its
//! own user.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// The user id of the process at the other end of `stream` (as of its `connect`/`listen`).
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid for getsockopt to fill; the fd is open.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// This process's effective user id.
pub fn own_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether a peer of `peer` may talk to a process of `own`: the same user only (root
/// included: root's agent does not serve other users either).
pub fn allowed(peer: u32, own: u32) -> bool {
    peer == own
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_user_is_allowed_and_peercred_reads_it() {
        assert!(allowed(1000, 1000));
        assert!(!allowed(65534, 1000));
        assert!(!allowed(0, 1000));
        assert!(!allowed(1000, 0));
        let (a, _b) = UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), own_uid());
    }
}
