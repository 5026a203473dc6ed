//! The CLI's side: used only when `LEAFCRYPT_AGENT_SOCK` is set, and only after the file
//! was read. A cached key is checked like any other (the MAC) before plaintext exists;
//! an agent that cannot be reached, or runs as another user, is ignored.

use super::peer;
use super::protocol::{read_frame, status, write_frame, Id, Request};
use leafcrypt_core::secret::Secret;
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// The variable naming the agent's socket.
pub const SOCK_VAR: &str = "LEAFCRYPT_AGENT_SOCK";

/// A connection target: the agent's socket.
pub struct Agent {
    path: PathBuf,
}

/// The agent named by `LEAFCRYPT_AGENT_SOCK`, if set and not empty.
pub fn from_env() -> Option<Agent> {
    let path = std::env::var_os(SOCK_VAR).filter(|p| !p.is_empty())?;
    Some(Agent::at(Path::new(&path)))
}

impl Agent {
    /// The agent listening on `path`.
    pub fn at(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    /// Sends one request and returns the status byte and payload.
    pub fn call(&self, request: &Request) -> io::Result<(u8, Zeroizing<Vec<u8>>)> {
        let mut stream = UnixStream::connect(&self.path)?;
        let agent_uid = peer::peer_uid(&stream)?;
        if !peer::allowed(agent_uid, peer::own_uid()) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("the agent runs as uid {agent_uid}, not as this user: not used"),
            ));
        }
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        write_frame(&mut stream, &request.encode())?;
        let body = read_frame(&mut stream)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the agent closed the connection (it serves only its own user)",
            )
        })?;
        let Some((&code, payload)) = body.split_first() else {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "empty answer"));
        };
        Ok((code, Zeroizing::new(payload.to_vec())))
    }

    /// The data key cached for `id`; `None` on a miss or any trouble (then the key
    /// sources are asked as usual).
    pub fn get(&self, id: &Id) -> Option<Secret> {
        match self.call(&Request::Get(*id)) {
            Ok((status::OK, key)) if !key.is_empty() => Some(Secret::new(key.to_vec())),
            Ok(_) => None,
            Err(e) => {
                trouble(&self.path, &e);
                None
            }
        }
    }

    /// Hands a verified data key to the agent.
    pub fn put(&self, id: &Id, key: &Secret) {
        let request = Request::Put(*id, Zeroizing::new(key.expose().to_vec()));
        if let Err(e) = self.call(&request) {
            trouble(&self.path, &e);
        }
    }

    /// Asks the agent to forget `id` (its key did not verify).
    pub fn forget(&self, id: &Id) {
        if let Err(e) = self.call(&Request::Forget(*id)) {
            trouble(&self.path, &e);
        }
    }
}

fn trouble(path: &Path, e: &io::Error) {
    crate::log::detail(|| {
        format!(
            "data-key agent {}: {e}; using the key sources",
            path.display()
        )
    });
}
