//! Running the GnuPG binary: `SOPS_GPG_EXEC` if set, else `gpg` from `PATH`. Secrets only
//! travel through pipes; what gpg prints on stdout is kept in a zeroized buffer.

use super::error::PgpError;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

/// The environment variable naming the gpg binary (sops's).
pub const EXEC_ENV: &str = "SOPS_GPG_EXEC";

/// The GnuPG binary to run.
#[derive(Clone, Debug)]
pub struct Gpg {
    program: OsString,
    from_env: bool,
}

/// What one gpg run produced.
pub struct Run {
    /// Whether gpg exited 0.
    pub success: bool,
    /// Everything gpg wrote on stdout (may be a data key: zeroized on drop).
    pub stdout: Zeroizing<Vec<u8>>,
    /// Everything gpg wrote on stderr (diagnostics; never secret material).
    pub stderr: String,
}

impl Gpg {
    /// The binary `SOPS_GPG_EXEC` names, else `gpg`.
    pub fn from_env() -> Self {
        match std::env::var_os(EXEC_ENV).filter(|v| !v.is_empty()) {
            Some(program) => Self {
                program,
                from_env: true,
            },
            None => Self {
                program: "gpg".into(),
                from_env: false,
            },
        }
    }

    /// Runs gpg with `args`, feeding `input` on stdin. `GNUPGHOME` and the rest of the
    /// environment are inherited; `GPG_TTY` is set to our terminal when it is unset and
    /// stdin is one, so that a curses pinentry can ask for a passphrase.
    pub fn run(&self, args: &[&str], input: &[u8]) -> Result<Run, PgpError> {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if std::env::var_os("GPG_TTY").is_none() {
            if let Some(tty) = stdin_tty() {
                command.env("GPG_TTY", tty);
            }
        }
        let mut child = command.spawn().map_err(|e| self.spawn_error(&e))?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (out, err) = std::thread::scope(|scope| {
            scope.spawn(move || {
                if let Some(mut pipe) = stdin {
                    // gpg may exit early (e.g. no such key) and close its stdin: ignore.
                    let _ = pipe.write_all(input);
                }
            });
            let errors = scope.spawn(move || {
                let mut text = Vec::new();
                if let Some(mut pipe) = stderr {
                    let _ = pipe.read_to_end(&mut text);
                }
                String::from_utf8_lossy(&text).into_owned()
            });
            // Room for an armored message without reallocating (no stray copies of a key).
            let mut out = Zeroizing::new(Vec::with_capacity(16 * 1024));
            if let Some(mut pipe) = stdout {
                let _ = pipe.read_to_end(&mut out);
            }
            (out, errors.join().unwrap_or_default())
        });
        let status = child.wait().map_err(|e| PgpError::Spawn {
            program: self.name(),
            message: e.to_string(),
        })?;
        Ok(Run {
            success: status.success(),
            stdout: out,
            stderr: err,
        })
    }

    /// The program as shown in messages.
    pub fn name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    fn spawn_error(&self, e: &std::io::Error) -> PgpError {
        use std::io::ErrorKind::{NotFound, PermissionDenied};
        match e.kind() {
            NotFound | PermissionDenied => PgpError::GpgMissing {
                program: self.name(),
                from_env: self.from_env,
                reason: if e.kind() == NotFound {
                    "not found"
                } else {
                    "not executable"
                },
            },
            _ => PgpError::Spawn {
                program: self.name(),
                message: e.to_string(),
            },
        }
    }
}

/// The terminal on our stdin, if it is one.
fn stdin_tty() -> Option<OsString> {
    use std::os::unix::ffi::OsStringExt;
    // SAFETY: isatty and ttyname_r only read the descriptor and write into `buf`, whose
    // length is passed.
    unsafe {
        if libc::isatty(0) != 1 {
            return None;
        }
        let mut buf = vec![0u8; 256];
        if libc::ttyname_r(0, buf.as_mut_ptr().cast(), buf.len()) != 0 {
            return None;
        }
        let len = buf.iter().position(|b| *b == 0)?;
        buf.truncate(len);
        Some(OsString::from_vec(buf))
    }
}
