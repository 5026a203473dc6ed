//! The Vault emulator (`vault-emulator`, see `tests/vault_emulator/main.rs`) from a test:
//! start it, reach its `/v1/` API as a root client and its admin API (faults, restricted
//! tokens, the request log).
//!
//! ```ignore
//! let vault = Vault::start(leafcrypt_tests::vault_emulator_bin!(), &["--key", "transit/app"]);
//! let url = vault.key_url("transit", "app");
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// The path of the `vault-emulator` binary; only integration tests of `leafcrypt-tests` have it.
#[macro_export]
macro_rules! vault_emulator_bin {
    () => {
        ::std::path::Path::new(env!("CARGO_BIN_EXE_vault-emulator"))
    };
}

/// A running emulator; stopped (stdin closed, then killed) on drop.
pub struct Vault {
    child: Child,
    _stdin: ChildStdin,
    /// `http://127.0.0.1:<port>`.
    pub addr: String,
    /// The root token.
    pub token: String,
}

impl Vault {
    /// Starts `bin` with extra `args` and waits for its ready line.
    pub fn start(bin: &Path, args: &[&str]) -> Vault {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
        if read.map_or(true, |n| n == 0) {
            let _ = child.kill();
            panic!(
                "vault-emulator exited before it was ready: {:?}",
                child.wait()
            );
        }
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("bad ready line from vault-emulator ({e}): {line}"));
        Vault {
            child,
            _stdin: stdin,
            addr: ready["addr"].as_str().expect("addr").to_string(),
            token: ready["token"].as_str().expect("token").to_string(),
        }
    }

    /// `<addr>/v1/<engine>/keys/<name>`, the URI sops takes.
    pub fn key_url(&self, engine: &str, name: &str) -> String {
        format!("{}/v1/{engine}/keys/{name}", self.addr)
    }

    /// `VAULT_ADDR` and `VAULT_TOKEN` (root).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("VAULT_ADDR".into(), self.addr.clone()),
            ("VAULT_TOKEN".into(), self.token.clone()),
        ]
    }

    /// One request with the root token: (status, JSON body or null).
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.request(method, &format!("/v1/{path}"), Some(&self.token), body)
    }

    /// Adds a fault (`{"status": 503, "count": 2, "path_prefix": "transit/", "delay_ms": 0}`).
    pub fn fault(&self, fault: Value) {
        let (status, body) = self.request("POST", "/admin/fault", None, Some(&fault));
        assert_eq!(status, 204, "admin fault: {body}");
    }

    /// Adds a token limited to `rules` (`[{"path": "transit/encrypt/*", "capabilities": ["update"]}]`).
    pub fn add_token(&self, token: &str, rules: Value) {
        let body = json!({ "token": token, "rules": rules });
        let (status, answer) = self.request("POST", "/admin/token", None, Some(&body));
        assert_eq!(status, 204, "admin token: {answer}");
    }

    /// The request log (method, path, namespace, token sent, status).
    pub fn requests(&self) -> Vec<Value> {
        let (_, log) = self.request("GET", "/admin/requests", None, None);
        log.as_array().cloned().unwrap_or_default()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        let (status, _) = self.request("DELETE", "/admin/requests", None, None);
        assert_eq!(status, 204, "clear requests");
    }

    /// Seals the vault.
    pub fn seal(&self) {
        let (status, body) = self.api("PUT", "sys/seal", None);
        assert_eq!(status, 204, "seal: {body}");
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let host = self.addr.trim_start_matches("http://");
        let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
            payload.len()
        );
        if let Some(t) = token {
            head.push_str(&format!("X-Vault-Token: {t}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(payload.as_bytes()))
            .expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read");
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
