//! The Key Vault emulator (`kv-emulator`, see `tests/kv_emulator/main.rs`) from a test:
//! spawn it, read its ready line, drive its admin API, talk to its vault directly, and get
//! the environment that points the real sops at it. The child is killed on drop, and it
//! also exits by itself when the test process dies (its stdin closes).
//!
//! ```ignore
//! let kv = Emulator::start_bin(leafcrypt_tests::kv_emulator_bin!());
//! let key = kv.create_key("app");
//! ```
//!
//! Helpers panic with a clear message on failure, like the rest of the test harness.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The path of the `kv-emulator` binary; only integration tests of `leafcrypt-tests` have it.
#[macro_export]
macro_rules! kv_emulator_bin {
    () => {
        ::std::path::Path::new(env!("CARGO_BIN_EXE_kv-emulator"))
    };
}

/// How long any single exchange with the emulator may take.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The emulator's ready line.
#[derive(Clone, Debug, Deserialize)]
pub struct Ready {
    /// `https://127.0.0.1:<vault port>`.
    pub vault: String,
    /// `http://127.0.0.1:<token port>`.
    pub token_endpoint: String,
    /// App Service managed-identity endpoint (`IDENTITY_ENDPOINT`).
    pub msi_endpoint: String,
    /// Its secret header value (`IDENTITY_HEADER`).
    pub identity_header: String,
    /// IMDS host (`AZURE_POD_IDENTITY_AUTHORITY_HOST` for Python).
    pub imds_endpoint: String,
    /// Entra authority host (`AZURE_AUTHORITY_HOST`); tenant `adfs` by default.
    pub authority: String,
    /// Admin API base.
    pub admin: String,
    /// The CA to trust for the vault's certificate.
    pub ca: PathBuf,
}

/// Startup options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--state FILE`: keys persist across restarts.
    pub state: Option<PathBuf>,
    /// `--create NAME` for each.
    pub create: Vec<String>,
    /// `--resource URL`.
    pub resource: Option<String>,
}

/// A key version the emulator reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// `https://127.0.0.1:<port>/keys/<name>/<version>`.
    pub kid: String,
    /// The version (32 hex digits).
    pub version: String,
    /// The whole KeyBundle.
    pub bundle: Value,
}

/// A fault rule (`/admin/fault`); see the emulator's admin docs. The default affects one
/// request.
#[derive(Clone, Debug, Serialize)]
pub struct Fault {
    /// Operation policy name (`get`, `decrypt`, …, `token`) or `*`.
    pub op: String,
    /// Status to answer with (429, 5xx, 401).
    pub status: Option<u16>,
    /// Number of requests affected.
    pub count: u32,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
    /// Added latency.
    pub delay_ms: u64,
    /// Close the connection instead of answering.
    pub drop_connection: bool,
}

impl Default for Fault {
    fn default() -> Self {
        Self {
            op: "*".into(),
            status: None,
            count: 1,
            retry_after: None,
            delay_ms: 0,
            drop_connection: false,
        }
    }
}

/// A deny rule (`/admin/deny`).
#[derive(Clone, Debug, Serialize)]
pub struct Deny {
    /// Identity (token `oid`) or everyone.
    pub identity: Option<String>,
    /// Key name or every key.
    pub key: Option<String>,
    /// Operation policy name or `*`.
    pub op: String,
    /// `policy` or `rbac`.
    pub model: String,
}

/// `GET /admin/counters`.
#[derive(Clone, Debug, Deserialize)]
pub struct Counters {
    /// Vault requests being handled now.
    pub in_flight: usize,
    /// The most vault requests handled at once.
    pub max_in_flight: usize,
    /// Logged vault requests with a valid token by `"<op> <key name>"`, e.g. `"decrypt k"`.
    pub ops: std::collections::BTreeMap<String, u64>,
    /// Logged vault requests without one (answered with the 401 challenge).
    pub unauthorized: u64,
}

impl Counters {
    /// How many `op` requests for key `name` were logged.
    pub fn count(&self, op: &str, name: &str) -> u64 {
        self.ops.get(&format!("{op} {name}")).copied().unwrap_or(0)
    }
}

/// One request-log entry.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct LogEntry {
    /// `vault` or `token`.
    pub listener: String,
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// `api-version`, if sent.
    pub api_version: Option<String>,
    /// Operation policy name, if it was a key or token operation.
    pub op: Option<String>,
    /// Whether a valid token was presented / a token issued.
    pub authorized: bool,
    /// The identity.
    pub identity: Option<String>,
    /// Status sent (0 = dropped).
    pub status: u16,
}

/// An HTTP response read by the helper clients.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A running emulator; killed on drop.
pub struct Emulator {
    child: Child,
    // Held open: the emulator exits when it closes.
    _stdin: ChildStdin,
    ready: Ready,
    tls: Arc<rustls::ClientConfig>,
    // Holds ca.pem; removed after the child is killed.
    _dir: tempfile::TempDir,
}

impl Emulator {
    /// Starts `$KV_EMULATOR_BIN`, else `<repo>/target/debug/kv-emulator` (for tests of other
    /// crates; build it first with `cargo build -p leafcrypt-tests --bin kv-emulator`).
    pub fn start() -> Self {
        let bin = std::env::var_os("KV_EMULATOR_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::harness::repo_root().join("target/debug/kv-emulator"));
        Self::start_bin(&bin)
    }

    /// Starts the binary at `bin` with default options.
    pub fn start_bin(bin: &Path) -> Self {
        Self::start_with(bin, &Options::default())
    }

    /// Starts the binary at `bin` with `options` and waits for its ready line.
    pub fn start_with(bin: &Path, options: &Options) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("kv-emulator-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let mut cmd = Command::new(bin);
        cmd.arg("--dir").arg(dir.path());
        if let Some(state) = &options.state {
            cmd.arg("--state").arg(state);
        }
        for name in &options.create {
            cmd.arg("--create").arg(name);
        }
        if let Some(resource) = &options.resource {
            cmd.arg("--resource").arg(resource);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        // The emulator prints one line when ready; EOF means it failed (its stderr says why).
        let read = BufReader::new(stdout).read_line(&mut line);
        if read.map_or(true, |n| n == 0) {
            let _ = child.kill();
            let status = child.wait();
            panic!("kv-emulator exited before it was ready: {status:?}");
        }
        let ready: Ready = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("bad ready line from kv-emulator ({e}): {line}"));
        let tls = client_config(&ready.ca);
        Self {
            child,
            _stdin: stdin,
            ready,
            tls,
            _dir: dir,
        }
    }

    /// The ready line's URLs and paths.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// `https://127.0.0.1:<port>`.
    pub fn vault(&self) -> &str {
        &self.ready.vault
    }

    /// The CA file to trust.
    pub fn ca(&self) -> &Path {
        &self.ready.ca
    }

    /// `<vault>/keys/<name>`.
    pub fn key_url(&self, name: &str) -> String {
        format!("{}/keys/{name}", self.ready.vault)
    }

    /// The variables that make the real sops (Go SDK) use this emulator through App Service
    /// managed identity.
    pub fn env_for_sops(&self) -> Vec<(String, String)> {
        vec![
            ("SSL_CERT_FILE".into(), self.ready.ca.display().to_string()),
            ("IDENTITY_ENDPOINT".into(), self.ready.msi_endpoint.clone()),
            ("IDENTITY_HEADER".into(), self.ready.identity_header.clone()),
            (
                "AZURE_TOKEN_CREDENTIALS".into(),
                "ManagedIdentityCredential".into(),
            ),
        ]
    }

    // ---- admin API -------------------------------------------------------------------

    /// POSTs `body` to `/admin/<route>` and returns the JSON answer; panics on non-200.
    pub fn admin(&self, route: &str, body: &Value) -> Value {
        let resp = self.admin_call("POST", route, Some(body));
        if resp.status != 200 {
            panic!(
                "admin {route} failed: {} {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            );
        }
        resp.json()
    }

    /// Creates key `name` (or a new version of it), RSA-2048.
    pub fn create_key(&self, name: &str) -> KeyInfo {
        key_info(self.admin("keys", &json!({ "name": name })))
    }

    /// Adds a new version to `name`.
    pub fn rotate(&self, name: &str) -> KeyInfo {
        key_info(self.admin("rotate", &json!({ "name": name })))
    }

    /// Enables or disables a version.
    pub fn set_enabled(&self, name: &str, version: &str, enabled: bool) {
        self.admin(
            "version",
            &json!({ "name": name, "version": version, "enabled": enabled }),
        );
    }

    /// The private key of a version (PKCS#8 PEM), for cross-checks.
    pub fn export_pem(&self, name: &str, version: &str) -> String {
        let answer = self.admin("export", &json!({ "name": name, "version": version }));
        answer["pem"]
            .as_str()
            .expect("pem in export answer")
            .to_string()
    }

    /// Queues a fault.
    pub fn fault(&self, fault: &Fault) {
        self.admin(
            "fault",
            &serde_json::to_value(fault).expect("fault serializes"),
        );
    }

    /// Adds a deny rule.
    pub fn deny(&self, deny: &Deny) {
        self.admin(
            "deny",
            &serde_json::to_value(deny).expect("deny serializes"),
        );
    }

    /// Changes the challenge; `None` keeps a part as it is.
    pub fn set_challenge(
        &self,
        resource: Option<&str>,
        tenant: Option<&str>,
        authority: Option<&str>,
    ) {
        self.admin(
            "challenge",
            &json!({ "resource": resource, "tenant": tenant, "authority": authority }),
        );
    }

    /// Lifetime of tokens minted from now on (seconds; negative = already expired).
    pub fn set_token_lifetime(&self, seconds: i64) {
        self.admin("token_lifetime", &json!({ "seconds": seconds }));
    }

    /// A token for `identity` (default: the system-assigned identity) and the current resource.
    pub fn mint_token(&self, identity: Option<&str>, lifetime: Option<i64>) -> String {
        let answer = self.admin(
            "token",
            &json!({ "identity": identity, "lifetime": lifetime }),
        );
        answer["access_token"]
            .as_str()
            .expect("access_token in answer")
            .to_string()
    }

    /// The request log.
    pub fn log(&self) -> Vec<LogEntry> {
        let resp = self.admin_call("GET", "log", None);
        let entries = resp.json()["entries"].clone();
        serde_json::from_value(entries).expect("log entries")
    }

    /// The emulator's counters: vault requests in flight now, the most at once since
    /// [`Emulator::clear_counters`], and logged vault requests by `"<op> <key name>"`
    /// (authorized ones) and unauthorized.
    pub fn counters(&self) -> Counters {
        let resp = self.admin_call("GET", "counters", None);
        serde_json::from_value(resp.json()).expect("counters")
    }

    /// The in-flight maximum starts again from the requests in flight now.
    pub fn clear_counters(&self) {
        self.admin("counters/clear", &json!({}));
    }

    /// Empties the request log.
    pub fn clear_log(&self) {
        self.admin("log/clear", &json!({}));
    }

    /// No faults, no deny rules, startup challenge and lifetime, empty log.
    pub fn reset(&self) {
        self.admin("reset", &json!({}));
    }

    fn admin_call(&self, method: &str, route: &str, body: Option<&Value>) -> Response {
        let prefix = self
            .ready
            .admin
            .trim_start_matches(&self.ready.token_endpoint);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let headers = [("Content-Type", "application/json")];
        self.token_request(
            method,
            &format!("{prefix}/{route}"),
            &headers,
            body.as_bytes(),
        )
    }

    /// Sends a request to the plain-HTTP token listener (token endpoints, admin API);
    /// `path_and_query` starts with `/`.
    pub fn token_request(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let addr = self.ready.token_endpoint.trim_start_matches("http://");
        let mut head = format!("{method} {path_and_query} HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let exchange = || -> io::Result<Response> {
            let mut stream = TcpStream::connect(addr)?;
            stream.set_read_timeout(Some(IO_TIMEOUT))?;
            stream.write_all(&[head.as_bytes(), body].concat())?;
            read_response(&mut stream)
        };
        exchange()
            .unwrap_or_else(|e| panic!("{method} {path_and_query} on the token listener: {e}"))
    }

    // ---- direct vault access -----------------------------------------------------------

    /// Sends a request to the vault; `path_and_query` starts with `/`. A token makes it
    /// `Authorization: Bearer`; a body is sent as JSON.
    pub fn vault_request(
        &self,
        method: &str,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "{method} {path_and_query} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.vault_host(),
            body.len()
        );
        self.vault_raw(&[head.as_bytes(), body.as_bytes()].concat(), IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("{method} {path_and_query}: {e}"))
    }

    /// Writes `request` verbatim over TLS and reads one response, waiting at most `timeout`
    /// for it (an error when the server never answers or closes without answering).
    pub fn vault_raw(&self, request: &[u8], timeout: Duration) -> io::Result<Response> {
        let server_name = rustls::pki_types::ServerName::try_from("127.0.0.1")
            .map_err(|e| io::Error::other(e.to_string()))?;
        let conn = rustls::ClientConnection::new(Arc::clone(&self.tls), server_name)
            .map_err(io::Error::other)?;
        let tcp = TcpStream::connect(self.vault_host())?;
        tcp.set_read_timeout(Some(timeout))?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(request)?;
        tls.flush()?;
        read_response(&mut tls)
    }

    fn vault_host(&self) -> &str {
        self.ready.vault.trim_start_matches("https://")
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn key_info(bundle: Value) -> KeyInfo {
    let kid = bundle["key"]["kid"]
        .as_str()
        .expect("kid in bundle")
        .to_string();
    let version = kid.rsplit('/').next().unwrap_or_default().to_string();
    KeyInfo {
        kid,
        version,
        bundle,
    }
}

/// A client config trusting only the emulator's CA.
fn client_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read ca.pem") {
        roots.add(cert.expect("parse ca.pem")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Reads one HTTP/1.1 response with a `Content-Length` (or a body up to EOF).
fn read_response(stream: &mut impl Read) -> io::Result<Response> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[header_end..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok());
    match length {
        Some(len) => {
            while body.len() < len {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "body cut short",
                    ));
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
        }
        None => loop {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
                // A TLS peer closing without close_notify ends the body all the same.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
        },
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}
