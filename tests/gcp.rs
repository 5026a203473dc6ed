//! gcp-emulator (`tests/gcp_emulator`) from a test: start it with arguments, read its ready
//! line, call its admin API.
//!
//! ```ignore
//! let gcp = Gcp::start(leafcrypt_tests::gcp_emulator_bin!(), &["--key", KEY]);
//! let endpoint = gcp.get("endpoint");
//! ```

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The path of the `gcp-emulator` binary; only integration tests of `leafcrypt-tests` have it.
#[macro_export]
macro_rules! gcp_emulator_bin {
    () => {
        ::std::path::Path::new(env!("CARGO_BIN_EXE_gcp-emulator"))
    };
}

/// A running gcp-emulator; it exits when dropped (its stdin closes).
pub struct Gcp {
    child: Child,
    /// The ready line (`endpoint`, `token`, `ca`, …).
    pub ready: Value,
    _dir: tempfile::TempDir,
}

impl Gcp {
    /// Starts `bin` with `--dir` (a temporary directory) and `args`; waits for its ready line.
    pub fn start(bin: &Path, args: &[&str]) -> Gcp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(bin)
            .arg("--dir")
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let ready = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("bad ready line from gcp-emulator ({e}): {line:?}"));
        Gcp {
            child,
            ready,
            _dir: dir,
        }
    }

    /// A text field of the ready line.
    pub fn get(&self, field: &str) -> String {
        self.ready[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in the ready line"))
            .to_string()
    }

    /// One admin call (`GET log`/`objects`, `POST` the others); panics unless 200.
    pub fn admin(&self, method: &str, op: &str, body: Value) -> Value {
        let host = self
            .get("endpoint")
            .trim_start_matches("http://")
            .to_string();
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let mut s = TcpStream::connect(&host).expect("connect admin");
        write!(
            s,
            "{method} /admin/{op} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("admin request");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("admin answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("http answer");
        assert!(head.starts_with("HTTP/1.1 200"), "admin {op}: {answer}");
        serde_json::from_str(body).expect("admin json")
    }
}

impl Drop for Gcp {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
