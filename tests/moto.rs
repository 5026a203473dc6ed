//! moto (an independent AWS emulator, PyPI `moto[server]`, installed by scripts/setup next
//! to the real sops) in server mode on a 127.0.0.1 ephemeral port, for the AWS KMS suite:
//! start/stop, key creation through its KMS API, and its request recorder (every request
//! with headers and body, to prove what each tool sent). Also [`Listener`], a loopback
//! HTTP listener that records requests and answers from a script, for the error paths
//! moto cannot produce (AccessDenied, throttling) and for the no-egress proof.

use base64::Engine as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `moto_server` of the tools venv (scripts/setup installs it beside sops).
pub fn moto_bin() -> PathBuf {
    let bin = crate::harness::sops_bin()
        .parent()
        .map(|d| d.join("moto_server"))
        .unwrap_or_default();
    assert!(
        bin.is_file(),
        "moto_server not found at {} — run scripts/setup (it installs moto[server])",
        bin.display()
    );
    bin
}

/// A running moto server; killed on drop.
pub struct Moto {
    child: Child,
    url: String,
    // moto's recorder writes to a file (by default in its working directory): one per
    // instance, so parallel tests never see each other's requests.
    _dir: tempfile::TempDir,
}

/// One request moto recorded.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `X-Amz-Target` (`TrentService.Decrypt`) or the query `Action` (`AssumeRole`).
    pub operation: String,
    /// The access key ID of the SigV4 `Authorization` header (empty when unsigned).
    pub access_key: String,
    /// The `User-Agent` (tells sops's Go SDK from leafcrypt).
    pub user_agent: String,
    /// The decoded body.
    pub body: String,
}

impl Moto {
    /// Starts moto on an ephemeral 127.0.0.1 port (port 0: the kernel picks it, so
    /// parallel tests never share one) and reads the port from its "Running on" line.
    pub fn start() -> Moto {
        let dir = tempfile::Builder::new()
            .prefix("moto-")
            .tempdir()
            .expect("a temporary directory");
        let mut child = Command::new(moto_bin())
            .args(["-H", "127.0.0.1", "-p", "0"])
            .current_dir(dir.path())
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto_server: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let port = line
                    .split("Running on http://127.0.0.1:")
                    .nth(1)
                    .and_then(|p| p.trim().parse::<u16>().ok());
                if let Some(port) = port {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let Ok(port) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("moto_server did not report the port it listens on");
        };
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The environment both tools get: credentials, every AWS endpoint at moto, IMDS at
    /// a closed loopback port.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "AKIDMOTOTEST"),
            ("AWS_SECRET_ACCESS_KEY", "motosecret"),
            ("AWS_ENDPOINT_URL", self.url()),
            // sops's SDK takes the STS endpoint of profile roles and web identity only
            // from the service-specific variable.
            ("AWS_ENDPOINT_URL_STS", self.url()),
            ("AWS_ENDPOINT_URL_KMS", self.url()),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// A raw request to moto: (status, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        http(&self.url, method, path, headers, body.as_bytes())
    }

    /// Creates a symmetric KMS key in `region`; its ARN.
    pub fn create_key(&self, region: &str) -> String {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDMOTOTEST/20240101/{region}/kms/aws4_request, SignedHeaders=host, Signature=0"
        );
        let (status, body) = self.request(
            "POST",
            "/",
            &[
                ("X-Amz-Target", "TrentService.CreateKey"),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Authorization", &auth),
            ],
            "{}",
        );
        assert_eq!(status, 200, "moto CreateKey: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("CreateKey JSON");
        v["KeyMetadata"]["Arn"]
            .as_str()
            .expect("an ARN")
            .to_string()
    }

    /// Starts recording requests (clearing earlier ones).
    pub fn start_recording(&self) {
        self.request("POST", "/moto-api/recorder/reset-recording", &[], "");
        let (s, _) = self.request("POST", "/moto-api/recorder/start-recording", &[], "");
        assert_eq!(s, 200);
    }

    /// Stops recording and returns what was recorded.
    pub fn recording(&self) -> Vec<Recorded> {
        self.request("POST", "/moto-api/recorder/stop-recording", &[], "");
        let (_, text) = self.request("GET", "/moto-api/recorder/download-recording", &[], "");
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| {
                let header = |name: &str| {
                    v["headers"]
                        .as_object()
                        .and_then(|h| {
                            h.iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                                .and_then(|(_, v)| v.as_str())
                        })
                        .unwrap_or("")
                        .to_string()
                };
                let raw = v["body"].as_str().unwrap_or("");
                let body = if v["body_encoded"].as_bool() == Some(true) {
                    base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default()
                } else {
                    raw.to_string()
                };
                let operation = match header("X-Amz-Target") {
                    t if !t.is_empty() => t,
                    _ => form_value(&body, "Action").unwrap_or_default(),
                };
                let auth = header("Authorization");
                let access_key = auth
                    .split("Credential=")
                    .nth(1)
                    .and_then(|c| c.split('/').next())
                    .unwrap_or("")
                    .to_string();
                Recorded {
                    operation,
                    access_key,
                    user_agent: header("User-Agent"),
                    body,
                }
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A value of an `application/x-www-form-urlencoded` body, decoded.
pub fn form_value(body: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// One blocking HTTP/1.1 request (`Connection: close`): (status, body).
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).expect("write request");
    stream.write_all(body).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// A request a [`Listener`] received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `GET /latest/api/token`.
    pub line: String,
    /// Lower-cased header names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

/// A canned answer: status, extra headers, body.
pub type Reply = (u16, Vec<(String, String)>, String);

/// A loopback HTTP listener that records every request and answers with the next reply
/// of its script (the last one repeats; 404 when the script is empty).
pub struct Listener {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Listener {
    /// Listens on a free 127.0.0.1 port.
    pub fn start(script: Vec<Reply>) -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let mut next = 0usize;
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let reply = script
                    .get(next.min(script.len().saturating_sub(1)))
                    .cloned()
                    .unwrap_or((404, vec![], String::new()));
                next += 1;
                if let Some(s) = serve(stream, &reply) {
                    log.lock().unwrap().push(s);
                }
            }
        });
        Listener { url, seen }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, reply: &Reply) -> Option<Seen> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let (status, extra, text) = reply;
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        text.len()
    );
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(text);
    let mut w = stream;
    let _ = w.write_all(out.as_bytes());
    Some(Seen {
        line: line.trim_end().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
