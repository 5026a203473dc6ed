//! Helpers for the workflow suites (edit, set/unset, exec, updatekeys, command errors):
//! editor substitutes as shell scripts, a private `TMPDIR` per test that must end up empty,
//! and the parts of an encrypted file that a key-preserving command must not touch.

use crate::harness::{vectors_dir, Output, Tool, Workdir};
use regex::Regex;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// How long any workflow command may run: a tool waiting for input that never comes
/// (sops re-opening the editor forever on EOF) fails the test instead of hanging it.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Writes an executable `#!/bin/sh` script `name` into the directory and returns its path.
///
/// The body runs with `set -eu`; `$1` (or the last argument) is the file to edit.
pub fn script(dir: &Workdir, name: &str, body: &str) -> PathBuf {
    let path = dir.write(name, format!("#!/bin/sh\nset -eu\n{body}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot make {} executable: {e}", path.display()));
    path
}

/// A shell snippet that appends the temp file's path, its mode and its directory's mode
/// (octal, one per line) to `log` — for an editor script whose file is `"$f"`.
pub fn record_temp_file(log: &Path) -> String {
    let log = log.display();
    format!(
        "printf '%s\\n' \"$f\" >> '{log}'\nstat -c '%a' \"$f\" >> '{log}'\nstat -c '%a' \"$(dirname \"$f\")\" >> '{log}'"
    )
}

/// One editor run as recorded by [`record_temp_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempFileSeen {
    /// The temp file's path.
    pub path: PathBuf,
    /// Its mode, in octal (`600`).
    pub mode: String,
    /// Its directory's mode, in octal (`700`).
    pub dir_mode: String,
}

/// Parses the log written by [`record_temp_file`] (empty when the editor never ran).
pub fn temp_files_seen(log: &Path) -> Vec<TempFileSeen> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(3)
        .filter(|c| c.len() == 3)
        .map(|c| TempFileSeen {
            path: PathBuf::from(c[0]),
            mode: c[1].to_string(),
            dir_mode: c[2].to_string(),
        })
        .collect()
}

/// Creates `<dir>/tmp`, to be given to the tools as `TMPDIR`.
pub fn private_tmp(dir: &Workdir) -> PathBuf {
    let path = dir.join("tmp");
    std::fs::create_dir_all(&path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    path
}

/// Everything under `dir` (relative paths, sorted): what a command left behind.
pub fn leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            found.push(rel.display().to_string());
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

/// The age-wrapped data key blocks (`-----BEGIN AGE ENCRYPTED FILE-----` … `END …`), raw as
/// they appear in any store: equal before and after means the data key was not re-wrapped.
pub fn wrapped_keys(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----",
    )
    .find_iter(text)
    .map(|m| m.as_str().to_string())
    .collect()
}

/// Every `ENC[…]` token (values, comments and the MAC), in file order.
pub fn enc_tokens(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(&RE, r"ENC\[[^\]]*\]")
        .find_iter(text)
        .map(|m| m.as_str().to_string())
        .collect()
}

/// The age recipients named in the file, sorted (duplicates kept).
pub fn age_recipients(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let mut list: Vec<String> = re(&RE, r"age1[02-9ac-hj-np-z]{58}")
        .find_iter(text)
        .map(|m| m.as_str().to_string())
        .collect();
    list.sort();
    list
}

/// The `shamir_threshold` stored in a YAML file's metadata (`None` when absent).
pub fn shamir_threshold(text: &str) -> Option<u32> {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(&RE, r"(?m)^\s*shamir_threshold:\s*(\d+)\s*$")
        .captures(text)
        .and_then(|c| c[1].parse().ok())
}

/// Copies `tests/vectors/<rel>` into the directory as `name`; returns `name`.
pub fn copy_vector(dir: &Workdir, rel: &str, name: &str) -> String {
    let src = vectors_dir().join(rel);
    let bytes =
        std::fs::read(&src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
    dir.write(name, bytes);
    name.to_string()
}

/// Decrypts `file` (in the directory) with `tool` and the identity file `identity`.
pub fn decrypt(dir: &Workdir, tool: Tool, file: &str, identity: &Path) -> Output {
    dir.cmd(tool)
        .args(["decrypt", file])
        .identity(identity)
        .timeout(LIMIT)
        .run()
}

/// `sops decrypt` of `file` with `identity`; panics with the output unless it succeeds.
pub fn sops_plaintext(dir: &Workdir, file: &str, identity: &Path) -> Vec<u8> {
    decrypt(dir, Tool::Sops, file, identity)
        .expect_ok(&format!("sops decrypting {file}"))
        .stdout
}

/// Text of `name` in the directory (lossy).
pub fn read_text(dir: &Workdir, name: &str) -> String {
    String::from_utf8_lossy(&dir.read(name)).into_owned()
}

/// Writes `plain` as `plain.<ext of name>` and has sops encrypt it to `recipients`
/// (comma-separated) into `name`; returns the encrypted bytes.
pub fn sops_encrypt(dir: &Workdir, name: &str, plain: &[u8], recipients: &str) -> Vec<u8> {
    let ext = name.rsplit('.').next().unwrap_or("yaml");
    let source = format!("plain-for-{name}.{ext}");
    dir.write(&source, plain);
    let out = dir
        .cmd(Tool::Sops)
        .args(["encrypt", "--age", recipients, &source])
        .timeout(LIMIT)
        .run()
        .expect_ok(&format!("sops encrypting {source}"));
    std::fs::remove_file(dir.join(&source))
        .unwrap_or_else(|e| panic!("cannot remove {source}: {e}"));
    dir.write(name, &out.stdout);
    out.stdout
}
