//! Running the two tools under test: where their binaries are, a clean per-test working
//! directory, and one command with its environment, working directory and captured output.
//!
//! Every command starts from an empty environment (only `PATH`, `HOME` and
//! `XDG_CONFIG_HOME` pointing into the test's directory, plus what the test sets), so a
//! developer's own `SOPS_AGE_KEY_FILE`, `SOPS_AGE_RECIPIENTS` or `~/.config/sops/age/keys.txt`
//! can never leak into a result.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The vendored sops 3.11 vectors (`tests/vectors`).
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// The age identity file `tests/vectors/age/<name>` (e.g. `key1.txt`, `keys-2-and-4.txt`).
pub fn age_key_file(name: &str) -> PathBuf {
    vectors_dir().join("age").join(name)
}

/// The throwaway age recipients R1..R4 (index 0..3) of `tests/vectors/age/recipients.txt`.
pub fn recipients() -> &'static [String] {
    static RECIPIENTS: OnceLock<Vec<String>> = OnceLock::new();
    RECIPIENTS.get_or_init(|| {
        let path = vectors_dir().join("age").join("recipients.txt");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let list: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("age1"))
            .map(str::to_string)
            .collect();
        assert_eq!(list.len(), 4, "{} must list 4 recipients", path.display());
        list
    })
}

/// Recipient `Rn` (1-based, as in `tests/vectors/README.md`).
pub fn recipient(n: usize) -> &'static str {
    &recipients()[n - 1]
}

/// The identity file holding only `Rn`'s key (1-based).
pub fn key_file(n: usize) -> PathBuf {
    age_key_file(&format!("key{n}.txt"))
}

/// One of the two programs being compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// The real sops 3.11.0 (the reference).
    Sops,
    /// The leafcrypt CLI (the implementation under test).
    Leafcrypt,
}

impl Tool {
    /// Both tools, reference first.
    pub const BOTH: [Tool; 2] = [Tool::Sops, Tool::Leafcrypt];

    /// The binary to run; panics with a clear message when it is missing.
    pub fn binary(self) -> &'static Path {
        match self {
            Tool::Sops => sops_bin(),
            Tool::Leafcrypt => leafcrypt_bin(),
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tool::Sops => "sops",
            Tool::Leafcrypt => "leafcrypt",
        })
    }
}

fn located(var: &str, candidates: &[PathBuf], hint: &str) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(var).map(PathBuf::from) {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{var}={} is not a file: {hint}", path.display()))
        };
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            format!("not found (set {var}; tried {}): {hint}", tried.join(", "))
        })
}

/// The real sops: `$SOPS_BIN`, else `<repo>/.tools/sops/bin/sops`, else `/opt/sopsvenv/bin/sops`.
///
/// Panics (so the test fails, never skips) when none exists.
pub fn sops_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = BIN.get_or_init(|| {
        located(
            "SOPS_BIN",
            &[
                repo_root().join(".tools/sops/bin/sops"),
                PathBuf::from("/opt/sopsvenv/bin/sops"),
            ],
            "the real sops 3.11.0 is required; install it with scripts/setup",
        )
    });
    match found {
        Ok(p) => p,
        Err(msg) => panic!("sops {msg}"),
    }
}

/// The leafcrypt binary: `$LEAFCRYPT_BIN`, else `<repo>/target/debug/leafcrypt`.
///
/// It is not built from here (a nested cargo would deadlock on the target lock); panics
/// with the command to run when it is missing.
pub fn leafcrypt_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = BIN.get_or_init(|| {
        located(
            "LEAFCRYPT_BIN",
            &[repo_root().join("target/debug/leafcrypt")],
            "build it first with `cargo build -p leafcrypt-cli --bin leafcrypt`",
        )
    });
    match found {
        Ok(p) => p,
        Err(msg) => panic!("leafcrypt {msg}"),
    }
}

/// Proxy variables given to every command: anything not on loopback goes to a closed
/// port on 127.0.0.1 and fails at once, so a test can never reach another address (a
/// vector's dummy `https://myvault.vault.azure.net`, the IMDS address 169.254.169.254).
/// Both tools honour them (reqwest and Go's `ProxyFromEnvironment`); loopback stays direct.
pub const NETWORK_GUARD: [(&str, &str); 8] = [
    ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ("https_proxy", "http://127.0.0.1:9"),
    ("HTTP_PROXY", "http://127.0.0.1:9"),
    ("http_proxy", "http://127.0.0.1:9"),
    ("ALL_PROXY", "http://127.0.0.1:9"),
    ("all_proxy", "http://127.0.0.1:9"),
    ("NO_PROXY", "127.0.0.1,localhost,::1"),
    ("no_proxy", "127.0.0.1,localhost,::1"),
];

/// A fresh temporary working directory for one test, with no `.sops.yaml` above it.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    /// Creates the directory; panics if a `.sops.yaml` sits in it or any parent, since
    /// sops would pick that up and the test would not mean what it says.
    pub fn new() -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix("leafcrypt-interop-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        for ancestor in dir.path().ancestors() {
            for name in [".sops.yaml", ".sops.yml"] {
                let stray = ancestor.join(name);
                assert!(
                    !stray.exists(),
                    "{} exists above the test directory; sops would use it",
                    stray.display()
                );
            }
        }
        Workdir { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `bytes` to `name` and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, bytes)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// The bytes of `name`.
    pub fn read(&self, name: &str) -> Vec<u8> {
        let path = self.join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// A command for `tool` running in this directory.
    pub fn cmd(&self, tool: Tool) -> Cmd {
        Cmd::new(tool, self.path())
    }

    /// Keeps the directory after the test (for a post-mortem) and returns its path.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}

impl Default for Workdir {
    fn default() -> Self {
        Workdir::new()
    }
}

/// One invocation of a tool, built step by step and then [`run`](Cmd::run).
pub struct Cmd {
    tool: Tool,
    cwd: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
}

impl Cmd {
    /// A command for `tool` with working directory `cwd`.
    pub fn new(tool: Tool, cwd: &Path) -> Cmd {
        Cmd {
            tool,
            cwd: cwd.to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            timeout: None,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Uses this age identity file (`SOPS_AGE_KEY_FILE`).
    pub fn identity(self, path: impl AsRef<Path>) -> Cmd {
        self.env("SOPS_AGE_KEY_FILE", path.as_ref())
    }

    /// Feeds these bytes on stdin (otherwise stdin is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(bytes.into());
        self
    }

    /// Kills the command when it runs longer than `limit` (then [`Output::timed_out`] is
    /// true and the code is -1): for commands that could wait forever, such as an editor
    /// loop that keeps asking for input.
    pub fn timeout(mut self, limit: Duration) -> Cmd {
        self.timeout = Some(limit);
        self
    }

    /// The command line, for messages.
    pub fn describe(&self) -> String {
        let mut s = self.tool.to_string();
        for a in &self.args {
            s.push(' ');
            let a = a.to_string_lossy();
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "|$'\"()^".contains(c)) {
                s.push('\'');
                s.push_str(&a.replace('\'', "'\\''"));
                s.push('\'');
            } else {
                s.push_str(&a);
            }
        }
        s
    }

    /// Runs the command to completion and captures everything.
    pub fn run(self) -> Output {
        let home = self.cwd.join(".home");
        let _ = std::fs::create_dir_all(&home);
        let mut command = Command::new(self.tool.binary());
        clean_env(&mut command, &home);
        command
            .args(&self.args)
            .current_dir(&self.cwd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let described = self.describe();
        let input = self.stdin.unwrap_or_default();
        if let Some(limit) = self.timeout {
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start `{described}`: {e}"));
            return wait_with_deadline(child, input, limit, described);
        }
        run_command(&mut command, &input, described)
    }
}

/// Runs `command` (its environment already set, e.g. by [`clean_env`]) to completion,
/// feeding `stdin` and capturing both outputs; `described` names it in messages. For
/// programs other than the two tools (git, kpt, …); the tools go through [`Cmd`].
pub fn run_command(command: &mut Command, stdin: &[u8], described: String) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{described}`: {e}"));
    if let Some(mut pipe) = child.stdin.take() {
        // A tool that does not read stdin closes it early: a broken pipe is fine.
        let _ = pipe.write_all(stdin);
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot wait for `{described}`: {e}"));
    Output {
        command: described,
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
        timed_out: false,
    }
}

/// Feeds `input`, collects both pipes on their own threads and kills `child` once `limit`
/// has passed.
fn wait_with_deadline(
    mut child: std::process::Child,
    input: Vec<u8>,
    limit: Duration,
    described: String,
) -> Output {
    fn drain(
        pipe: Option<impl std::io::Read + Send + 'static>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    }
    let stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(mut pipe) = stdin {
            // A tool that does not read stdin closes it early: a broken pipe is fine.
            let _ = pipe.write_all(&input);
        }
    });
    let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child
                    .wait()
                    .unwrap_or_else(|e| panic!("cannot wait for `{described}`: {e}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("cannot wait for `{described}`: {e}"),
        }
    };
    let _ = feeder.join();
    // A grandchild (an editor, a child of exec-env) may still hold the pipes after a kill;
    // it inherits them, so joining would wait for it. Only join when the tool exited.
    let collect = |h: std::thread::JoinHandle<Vec<u8>>| {
        if timed_out && !h.is_finished() {
            Vec::new()
        } else {
            h.join().unwrap_or_default()
        }
    };
    Output {
        command: described,
        code: if timed_out {
            -1
        } else {
            status.code().unwrap_or(-1)
        },
        stdout: collect(stdout),
        stderr: collect(stderr),
        timed_out,
    }
}

/// One plain-HTTP/1.1 JSON request to a loopback emulator at `host` (`127.0.0.1:PORT`),
/// e.g. an admin call: the JSON answer; panics unless the status is 200.
pub fn http_json(host: &str, method: &str, path: &str, body: &str) -> serde_json::Value {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(host).expect("connect admin");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("admin request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("admin answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("http answer");
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "{method} {path}: {answer}"
    );
    serde_json::from_str(body).expect("admin json")
}

/// Gives `command` the tests' clean environment: only `PATH`, `HOME` (and
/// `XDG_CONFIG_HOME`) under `home`, `LANG`, and the network guard.
pub fn clean_env(command: &mut Command, home: &Path) {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("LANG", "C.UTF-8")
        .envs(NETWORK_GUARD.iter().copied());
}

/// What one command did.
#[derive(Clone)]
pub struct Output {
    /// The command line (for messages).
    pub command: String,
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
    /// Whether the command was killed by its [`Cmd::timeout`].
    pub timed_out: bool,
}

impl Output {
    /// Whether the command exited 0.
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// stdout as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The first non-empty stderr line.
    pub fn first_stderr_line(&self) -> String {
        self.stderr_text()
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string()
    }

    /// Panics with the full command, exit code and stderr unless the command exited 0.
    pub fn expect_ok(self, what: &str) -> Output {
        assert!(self.ok(), "{what}: expected success\n{self:?}");
        self
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        if self.timed_out {
            writeln!(f, "exit code: none (killed after its timeout)")?;
        } else {
            writeln!(f, "exit code: {}", self.code)?;
        }
        writeln!(f, "stderr:\n{}", indent(&self.stderr_text()))?;
        write!(f, "stdout:\n{}", indent(&clip(&self.stdout_text(), 4000)))
    }
}

/// Indents every line by four spaces (for readable failure messages).
pub fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
}

/// Cuts `text` to about `max` bytes (on a char boundary), marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} more bytes)", &text[..end], text.len() - end)
}
