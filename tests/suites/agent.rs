//! `leafcrypt agent`: 50 decryptions of Key Vault-wrapped files through the emulator make
//! 50 unwraps without the agent and one per file with it; a rotated file misses; a wrong
//! cached key is caught by the MAC and dropped; `--clear` and `--lock` forget; the TTL
//! expires keys (polled through `--status`); the socket is 0600 in a 0700 directory and a
//! connection from another user is refused (`SO_PEERCRED`, as `nobody` when run as root).

use leafcrypt_core::file::EncryptedFile;
use leafcrypt_core::stores::Format;
use leafcrypt_tests::harness::{leafcrypt_bin, Output, Tool, Workdir};
use leafcrypt_tests::kv::Emulator;
use leafcrypt_tests::kv_emulator_bin;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FILES: usize = 5;
const ROUNDS: usize = 10;

/// A running agent; stopped (and waited for) on drop.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    fn start(ttl: &str) -> Agent {
        let mut child = Command::new(leafcrypt_bin())
            .args(["agent", "--ttl", ttl])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the agent");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let value = line
            .strip_prefix("LEAFCRYPT_AGENT_SOCK=")
            .and_then(|l| l.split_once("; export LEAFCRYPT_AGENT_SOCK;"))
            .unwrap_or_else(|| panic!("not an agent line: {line:?}"))
            .0;
        Agent {
            child,
            socket: PathBuf::from(value),
        }
    }

    fn control(&self, flag: &str) -> Output {
        Workdir::new()
            .cmd(Tool::Leafcrypt)
            .args(["agent", flag, "--socket"])
            .arg(&self.socket)
            .run()
    }

    fn status(&self) -> serde_json::Value {
        let out = self.control("--status").expect_ok("agent --status");
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.control("--stop");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    kv: Emulator,
    wd: Workdir,
}

impl Setup {
    /// `FILES` YAML files encrypted for one Key Vault key (no other key).
    fn new() -> Setup {
        let kv = Emulator::start_bin(kv_emulator_bin!());
        let key = kv.create_key("k");
        let wd = Workdir::new();
        wd.write(
            ".sops.yaml",
            format!("creation_rules:\n  - azure_keyvault: {}\n", key.kid),
        );
        for i in 0..FILES {
            wd.write(&format!("f{i}.yaml"), plain(i));
        }
        let s = Setup { kv, wd };
        for i in 0..FILES {
            s.leafcrypt(None, &["encrypt", "-i", &format!("f{i}.yaml")])
                .expect_ok("encrypt");
        }
        s
    }

    fn leafcrypt(&self, agent: Option<&Agent>, args: &[&str]) -> Output {
        let mut cmd = self.wd.cmd(Tool::Leafcrypt).args(args);
        for (k, v) in self.kv.env_for_sops() {
            cmd = cmd.env(k, v);
        }
        cmd = cmd.env("IMDS_ENDPOINT", &self.kv.ready().imds_endpoint);
        if let Some(a) = agent {
            cmd = cmd.env("LEAFCRYPT_AGENT_SOCK", &a.socket);
        }
        cmd.run()
    }

    /// Decrypts file `i` and checks the plaintext.
    fn decrypt(&self, agent: Option<&Agent>, i: usize) {
        let out = self
            .leafcrypt(agent, &["decrypt", &format!("f{i}.yaml")])
            .expect_ok("decrypt");
        assert_eq!(out.stdout_text(), plain(i));
    }

    fn unwraps(&self) -> u64 {
        self.kv.counters().count("decrypt", "k")
    }

    /// Unwraps made by `f`.
    fn unwraps_during(&self, f: impl FnOnce()) -> u64 {
        let before = self.unwraps();
        f();
        self.unwraps() - before
    }
}

fn plain(i: usize) -> String {
    format!("db:\n    password: secret-{i}\n")
}

/// Polls `cond` (the agent's status, the emulator's counters) until it holds.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::yield_now();
    }
}

#[test]
fn fifty_decryptions_one_unwrap_per_file_with_the_agent() {
    let s = Setup::new();
    let every = |agent: Option<&Agent>| {
        for _ in 0..ROUNDS {
            for i in 0..FILES {
                s.decrypt(agent, i);
            }
        }
    };
    let t = Instant::now();
    let without = s.unwraps_during(|| every(None));
    let time_without = t.elapsed();
    assert_eq!(without, (FILES * ROUNDS) as u64);

    let agent = Agent::start("15m");
    let t = Instant::now();
    let with = s.unwraps_during(|| every(Some(&agent)));
    let time_with = t.elapsed();
    assert_eq!(with, FILES as u64, "one unwrap per file with the agent");
    let st = agent.status();
    assert_eq!(
        (st["entries"].as_u64(), st["hits"].as_u64()),
        (Some(FILES as u64), Some((FILES * (ROUNDS - 1)) as u64)),
        "{st}"
    );
    eprintln!(
        "agent: {} decryptions, {without} unwraps in {time_without:?} without, {with} in {time_with:?} with",
        FILES * ROUNDS
    );

    // The socket: 0600 in a 0700 directory of this user.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&agent.socket), 0o600);
    assert_eq!(mode(agent.socket.parent().unwrap()), 0o700);

    // A rotated file has other key entries: it misses.
    s.leafcrypt(Some(&agent), &["rotate", "-i", "f0.yaml"])
        .expect_ok("rotate");
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 0)), 1);
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 0)), 0);

    // A wrong key under a file's id: the MAC catches it, the entry is dropped, the key
    // source is asked, and its key replaces the wrong one.
    let bytes = std::fs::read(s.wd.join("f1.yaml")).unwrap();
    let id = EncryptedFile::parse(&bytes, Format::Yaml)
        .unwrap()
        .key_entries_digest();
    let mut put = vec![2u8];
    put.extend_from_slice(&id);
    put.extend_from_slice(&[0x42; 32]);
    assert_eq!(raw_call(&agent.socket, &put), [0]);
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 1)), 1);
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 1)), 0);

    // --clear forgets everything: the next decryption of each file unwraps again.
    agent.control("--clear").expect_ok("--clear");
    assert_eq!(agent.status()["entries"], 0);
    let again = s.unwraps_during(|| (0..FILES).for_each(|i| s.decrypt(Some(&agent), i)));
    assert_eq!(again, FILES as u64);

    // --lock forgets and refuses keys until --unlock.
    agent.control("--lock").expect_ok("--lock");
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 2)), 1);
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 2)), 1);
    assert_eq!(agent.status()["entries"], 0);
    agent.control("--unlock").expect_ok("--unlock");
    s.decrypt(Some(&agent), 2);
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 2)), 0);

    // --stop: the process exits and the socket and its directory are gone.
    let mut agent = agent;
    agent.control("--stop").expect_ok("--stop");
    let mut exited = None;
    eventually("the agent exits", || {
        exited = agent.child.try_wait().unwrap();
        exited.is_some()
    });
    assert!(exited.unwrap().success());
    assert!(!agent.socket.parent().unwrap().exists());
    // An agent that is gone is ignored: decryption asks the key source.
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 3)), 1);
}

#[test]
fn keys_expire_after_the_ttl() {
    let s = Setup::new();
    let agent = Agent::start("300ms");
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 0)), 1);
    eventually("the entry expires", || agent.status()["entries"] == 0);
    assert_eq!(s.unwraps_during(|| s.decrypt(Some(&agent), 0)), 1);

    // SIGTERM: keys forgotten, socket and directory removed, exit 0.
    let mut agent = agent;
    let killed = Command::new("kill")
        .args(["-TERM", &agent.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut exited = None;
    eventually("the agent exits on SIGTERM", || {
        exited = agent.child.try_wait().unwrap();
        exited.is_some()
    });
    assert!(exited.unwrap().success(), "{exited:?}");
    assert!(!agent.socket.parent().unwrap().exists());
}

#[test]
fn another_user_is_refused() {
    let agent = Agent::start("15m");
    let probe = Workdir::new();
    let own = std::fs::metadata(probe.write("uid", "")).unwrap().uid();
    if own != 0 {
        // Not root: no other user to become. The socket's mode keeps others out, and the
        // agent's check itself is unit-tested (`agent::peer`).
        let mode = std::fs::metadata(&agent.socket).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        return;
    }
    // As root: open the directory and socket to everyone, so that only the agent's
    // SO_PEERCRED check stands between `nobody` and the keys.
    let dir = agent.socket.parent().unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::set_permissions(&agent.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = Command::new(leafcrypt_bin())
        .args(["agent", "--status", "--socket"])
        .arg(&agent.socket)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run leafcrypt as nobody");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nobody was served: {err}");
    assert!(
        err.contains("closed the connection") || err.contains("runs as uid 0"),
        "{err}"
    );
    assert_eq!(agent.status()["refused"], 1);
    // The same user still is.
    assert_eq!(agent.status()["locked"], false);
}

/// One request in the agent's framing; returns the response body.
fn raw_call(socket: &Path, body: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(socket).unwrap();
    s.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut out = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut out).unwrap();
    out
}
