//! Questions on the controlling terminal (`/dev/tty`): one line read with echo off for
//! secrets (PINs, passphrases), zeroized, the line ending removed.

use std::io::{BufRead, Write};
use zeroize::Zeroizing;

/// Why a question could not be asked or answered.
#[derive(Debug)]
pub enum TtyError {
    /// There is no controlling terminal.
    Open(std::io::Error),
    /// Writing the prompt or reading the answer failed.
    Io(std::io::Error),
}

/// Writes `prompt` and a space on `/dev/tty` and reads one line (echo off when `secret`).
pub fn ask(prompt: &str, secret: bool) -> Result<Zeroizing<String>, TtyError> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(TtyError::Open)?;
    let mut out = &tty;
    write!(out, "{prompt} ").map_err(TtyError::Io)?;
    out.flush().map_err(TtyError::Io)?;
    let echo = secret.then(|| EchoOff::new(&tty));
    let mut line = Zeroizing::new(String::new());
    std::io::BufReader::new(&tty)
        .read_line(&mut line)
        .map_err(TtyError::Io)?;
    drop(echo);
    let _ = writeln!(out);
    let trimmed = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(trimmed);
    Ok(line)
}

/// Turns terminal echo off for its lifetime.
struct EchoOff {
    fd: i32,
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new(tty: &std::fs::File) -> Self {
        use std::os::fd::AsRawFd;
        let fd = tty.as_raw_fd();
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let saved = (unsafe { libc::tcgetattr(fd, &mut t) } == 0).then_some(t);
        if let Some(mut quiet) = saved {
            quiet.c_lflag &= !libc::ECHO;
            // SAFETY: fd is an open terminal, quiet a valid termios.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
        }
        Self { fd, saved }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: restores the attributes read in `new`.
            unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, t) };
        }
    }
}
