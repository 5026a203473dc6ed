//! `--verbose` output: sops's log lines and leafcrypt's own detail lines on stderr.
//!
//! sops logs through logrus with a text formatter prefixed by the logger's name
//! (`[AGE]\t time="2026-12-07T17:18:24Z" level=info msg="Decryption succeeded"`); it
//! does so with `--verbose` on the legacy forms (`-e`, `-d`, `-r`, `--set`, edit), not
//! with the subcommands. [`sops`] writes the same lines in the same cases, so clients
//! that grep them (`Data key recovered successfully`) keep working.
//!
//! leafcrypt's own detail lines ([`detail`], `[leafcrypt] …`: where identities and
//! configs came from, never key material) come with `--verbose` in every form. While
//! sops's lines are written they are held back until the command ends, so that stderr
//! starts exactly as sops's does.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// A logrus level.
#[derive(Debug, Clone, Copy)]
pub enum Level {
    /// `level=debug`.
    Debug,
    /// `level=info`.
    Info,
    /// `level=warning` (written at any verbosity).
    Warning,
    /// `level=fatal` (the error that ends sops, written at any verbosity).
    Fatal,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Fatal => "fatal",
        }
    }
}

const VERBOSE: u8 = 1;
const SOPS_LINES: u8 = 2;
static MODE: AtomicU8 = AtomicU8::new(0);
static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// logrus's base timestamp (the `[0000]` seconds of terminal output count from it).
static START: OnceLock<Instant> = OnceLock::new();

/// Sets what `--verbose` prints: nothing, leafcrypt's detail lines, or (`sops_lines`,
/// for the legacy forms) sops's log lines too.
pub fn init(verbose: bool, sops_lines: bool) {
    START.get_or_init(Instant::now);
    let mode = match (verbose, sops_lines) {
        (false, _) => 0,
        (true, false) => VERBOSE,
        (true, true) => VERBOSE | SOPS_LINES,
    };
    MODE.store(mode, Ordering::Relaxed);
}

fn mode() -> u8 {
    MODE.load(Ordering::Relaxed)
}

/// Writes one of sops's log lines (logger `name`, e.g. `AGE`, `SOPS`, `CMD`) when sops
/// would; `fields` are sorted by key, as logrus writes them.
pub fn sops(name: &str, level: Level, msg: &str, fields: &[(&str, &str)]) {
    if mode() & SOPS_LINES == 0 {
        return;
    }
    emit(name, level, msg, fields);
}

/// Writes one logrus line as sops would: the text form, or on a terminal logrus's colored
/// form (`INFO[0000] msg …`); the logger name is bold when stdout is a terminal (sops's
/// color library looks at stdout).
fn emit(name: &str, level: Level, msg: &str, fields: &[(&str, &str)]) {
    let text = if is_tty(libc::STDERR_FILENO) {
        let bold = is_tty(libc::STDOUT_FILENO)
            && std::env::var_os("NO_COLOR").is_none()
            && std::env::var("TERM").as_deref() != Ok("dumb");
        let secs = START.get_or_init(Instant::now).elapsed().as_secs();
        colored_line(name, bold, secs, level, msg, fields)
    } else {
        line(name, &crate::clock::now_rfc3339(), level, msg, fields)
    };
    eprint!("{text}");
}

fn is_tty(fd: libc::c_int) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// logrus's colored terminal line:
/// `[NAME]\t \e[36mINFO\e[0m[0003] msg (padded to 44)  \e[36mkey\e[0m=value`.
fn colored_line(
    name: &str,
    bold: bool,
    secs: u64,
    level: Level,
    msg: &str,
    fields: &[(&str, &str)],
) -> String {
    let color = match level {
        Level::Debug => 37,
        Level::Info => 36,
        Level::Warning => 33,
        Level::Fatal => 31,
    };
    let tag: String = level.name().to_ascii_uppercase().chars().take(4).collect();
    let name = if bold {
        format!("\x1b[1m[{name}]\x1b[22m")
    } else {
        format!("[{name}]")
    };
    let mut out = format!("{name}\t \x1b[{color}m{tag}\x1b[0m[{secs:04}] {msg:<44} ");
    let mut fields = fields.to_vec();
    fields.sort_by_key(|(k, _)| *k);
    for (k, v) in fields {
        out.push_str(&format!(" \x1b[{color}m{k}\x1b[0m={}", quoted(v)));
    }
    out.push('\n');
    out
}

/// Writes sops's `level=fatal` line for the error that ends the program (sops writes it
/// whatever the verbosity).
pub fn fatal(name: &str, msg: &str) {
    emit(name, Level::Fatal, msg, &[]);
}

/// Writes one of sops's warnings (sops writes them whatever the verbosity).
pub fn warn(name: &str, msg: &str) {
    emit(name, Level::Warning, msg, &[]);
}

/// Writes a leafcrypt detail line (`[leafcrypt] …`) under `--verbose`.
pub fn detail(msg: impl FnOnce() -> String) {
    match mode() {
        0 => {}
        m if m & SOPS_LINES != 0 => {
            if let Ok(mut held) = HELD.lock() {
                held.push(msg());
            }
        }
        _ => eprintln!("[leafcrypt] {}", msg()),
    }
}

/// Writes the detail lines held back while sops's lines were written.
pub fn flush() {
    if let Ok(mut held) = HELD.lock() {
        for msg in held.drain(..) {
            eprintln!("[leafcrypt] {msg}");
        }
    }
}

/// One logrus text line: `[NAME]\t time="…" level=… msg=… key=value…\n`.
fn line(name: &str, time: &str, level: Level, msg: &str, fields: &[(&str, &str)]) -> String {
    let mut out = format!(
        "[{name}]\t time={} level={} msg={}",
        quoted(time),
        level.name(),
        quoted(msg)
    );
    let mut fields = fields.to_vec();
    fields.sort_by_key(|(k, _)| *k);
    for (k, v) in fields {
        out.push_str(&format!(" {k}={}", quoted(v)));
    }
    out.push('\n');
    out
}

/// A value as logrus writes it: bare when it only holds `[A-Za-z0-9-._/@^+]`, else quoted.
fn quoted(s: &str) -> String {
    let bare = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if bare {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_logrus_text_lines() {
        assert_eq!(
            line("SOPS", "2026-12-07T17:18:24Z", Level::Info, "Data key recovered successfully", &[]),
            "[SOPS]\t time=\"2026-12-07T17:18:24Z\" level=info msg=\"Data key recovered successfully\"\n"
        );
        assert_eq!(
            line(
                "AZKV",
                "t",
                Level::Info,
                "Decryption",
                &[("version", "v1"), ("key", "k 1")]
            ),
            "[AZKV]\t time=t level=info msg=Decryption key=\"k 1\" version=v1\n"
        );
    }

    #[test]
    fn terminal_lines_are_logrus_colored_lines() {
        assert_eq!(
            colored_line(
                "AGE",
                true,
                3,
                Level::Info,
                "Encryption succeeded",
                &[("recipient", "age1x")]
            ),
            format!(
                "\x1b[1m[AGE]\x1b[22m\t \x1b[36mINFO\x1b[0m[0003] {:<44}  \x1b[36mrecipient\x1b[0m=age1x\n",
                "Encryption succeeded"
            )
        );
        assert_eq!(
            colored_line("CMD", false, 0, Level::Warning, "m", &[]),
            format!("[CMD]\t \x1b[33mWARN\x1b[0m[0000] {:<44} \n", "m")
        );
    }
}
