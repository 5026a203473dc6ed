//! `exec-env` and `exec-file`: run a command with the decrypted secrets, never leaving
//! plaintext on disk. The child's exit code becomes ours.

use super::{formats, keyring, open_to_read, store};
use crate::cli::{ExecEnvArgs, ExecFileArgs, Opts};
use crate::failure::{CliResult, Failure};
use crate::fifo::Feed;
use crate::io::read_input;
use crate::private_dir::PrivateDir;
use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::Value;
use leafcrypt_core::ExitCode;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus};
use zeroize::Zeroizing;

/// sops's error for `exec-env`/`exec-file` without exactly a file and a command (exit 1).
fn usage() -> Failure {
    Failure::new(ExitCode::ErrorGeneric, "error: missing file to decrypt")
}

/// `exec-env` as parsed: checks its arguments as sops does, then runs [`exec_env`].
pub fn env_command(a: &ExecEnvArgs, opts: &Opts) -> CliResult<i32> {
    let o = EnvOptions {
        pristine: a.pristine,
        same_process: a.same_process,
    };
    let (Some(file), Some(command), true) = (&a.file, &a.command, a.extra.is_empty()) else {
        return Err(usage());
    };
    exec_env(file, command, &o, opts)
}

/// `exec-file` as parsed: checks its arguments as sops does, then runs [`exec_file`].
pub fn file_command(a: &ExecFileArgs, opts: &Opts) -> CliResult<i32> {
    let o = FileOptions {
        no_fifo: a.no_fifo,
        filename: a.filename.clone(),
    };
    let (Some(file), Some(command), true) = (&a.file, &a.command, a.extra.is_empty()) else {
        return Err(usage());
    };
    exec_file(file, command, &o, opts)
}

/// How `exec-env` runs its command.
pub struct EnvOptions {
    /// Pass only the secrets, not our environment.
    pub pristine: bool,
    /// Replace this process with the command (no child, no wait).
    pub same_process: bool,
}

/// `exec-env FILE CMD`: the top-level values of FILE become environment variables of
/// `sh -c CMD`. Returns the child's exit code.
pub fn exec_env(file: &Path, command: &str, env_opts: &EnvOptions, opts: &Opts) -> CliResult<i32> {
    crate::io::require_file(file, ExitCode::CouldNotReadInputFile)?;
    let input = read_input(Some(file), opts.filename_override.as_deref())?;
    let (in_fmt, _) = formats(&input, opts)?;
    let tree = open_to_read(&input, opts, in_fmt, &keyring(opts)?)?.tree;
    let scalar = Format::Dotenv.store(None);
    let mut vars: Vec<(String, Zeroizing<Vec<u8>>)> = Vec::new();
    for (key, value) in tree
        .branches
        .first()
        .map(|b| b.pairs().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if matches!(value, Value::Map(_) | Value::List(_)) {
            return Err(Failure::new(
                ExitCode::ErrorGeneric,
                format!("cannot use complex value in environment; offending key {key}"),
            ));
        }
        let text = match value {
            Value::Null => Vec::new(),
            v => scalar
                .emit_value(v)
                .map_err(|e| Failure::core(&input.name, e))?,
        };
        vars.push((key.to_string(), Zeroizing::new(text)));
    }
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command);
    if env_opts.pristine {
        cmd.env_clear();
    }
    for (k, v) in &vars {
        cmd.env(k, std::ffi::OsStr::from_bytes(v));
    }
    drop(tree);
    if env_opts.same_process {
        let err = cmd.exec();
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            format!("cannot run the command: {err}"),
        ));
    }
    run_child(cmd)
}

/// How `exec-file` hands over the plaintext.
pub struct FileOptions {
    /// Use a private regular file instead of a FIFO.
    pub no_fifo: bool,
    /// The temp file's name.
    pub filename: String,
}

/// `exec-file FILE CMD`: the decrypted file is offered at a private path (a FIFO by
/// default) that replaces `{}` in CMD. The directory is removed afterwards, whatever happens.
pub fn exec_file(
    file: &Path,
    command: &str,
    file_opts: &FileOptions,
    opts: &Opts,
) -> CliResult<i32> {
    crate::io::require_file(file, ExitCode::CouldNotReadInputFile)?;
    let input = read_input(Some(file), opts.filename_override.as_deref())?;
    let (in_fmt, out_fmt) = formats(&input, opts)?;
    let tree = open_to_read(&input, opts, in_fmt, &keyring(opts)?)?.tree;
    let plain = Zeroizing::new(
        store(out_fmt, opts, None)
            .emit(&tree, None)
            .map_err(|e| Failure::core(&input.name, e))?,
    );
    drop(tree);
    if file_opts.filename.contains('/')
        || file_opts.filename.is_empty()
        || file_opts.filename == ".."
    {
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            "--filename must be a plain file name",
        ));
    }
    let dir = PrivateDir::create()?;
    let path = dir.path().join(&file_opts.filename);
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command.replace("{}", &path.to_string_lossy()));

    if file_opts.no_fifo {
        write_private_file(&path, &plain)?;
        return run_child(cmd);
    }
    run_with_fifo(cmd, &path, plain)
}

/// Writes the plaintext to a new 0600 file at `path` (`--no-fifo`).
fn write_private_file(path: &Path, plain: &[u8]) -> CliResult<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            Failure::new(
                ExitCode::CouldNotReadInputFile,
                format!("cannot create the temp file: {e}"),
            )
        })?;
    f.write_all(plain).map_err(|e| {
        Failure::new(
            ExitCode::CouldNotReadInputFile,
            format!("cannot write the temp file: {e}"),
        )
    })
}

/// Runs `cmd` while a thread writes the plaintext into a 0600 FIFO at `path`
/// ([`crate::fifo::Feed`]); returns the child's exit code.
fn run_with_fifo(mut cmd: Command, path: &Path, plain: Zeroizing<Vec<u8>>) -> CliResult<i32> {
    let feed = Feed::start(path, plain)?;
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            feed.finish();
            return Err(Failure::new(
                ExitCode::ErrorGeneric,
                format!("cannot run the command: {e}"),
            ));
        }
    };
    let status = wait(child);
    // A child that never opened the FIFO leaves the writer blocked: finish unblocks it.
    feed.finish();
    Ok(code_of(status?))
}

fn run_child(mut cmd: Command) -> CliResult<i32> {
    let child = cmd.spawn().map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("cannot run the command: {e}"),
        )
    })?;
    wait(child).map(code_of)
}

/// Waits for the child; Ctrl-C reaches it through the terminal's process group and we
/// outlive it to clean up.
fn wait(mut child: std::process::Child) -> CliResult<ExitStatus> {
    // SAFETY: ignoring SIGINT/SIGTERM in the parent only; the child was spawned before and
    // keeps the default dispositions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
    }
    child.wait().map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("waiting for the command failed: {e}"),
        )
    })
}

fn code_of(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(1))
}
