//! `vault-emulator`: a loopback HashiCorp Vault (the parts sops and `publish` use) for testing
//! Vault clients (leafcrypt, the real sops, `hvac`) offline, standing in for `vault server -dev`.
//!
//! Plain HTTP on 127.0.0.1 (HTTPS with `--tls DIR`, a throwaway CA in `DIR/ca.pem`). Every `/v1/` request needs `X-Vault-Token` (the root token given
//! with `--root-token`, or one made through the admin API with a narrower policy);
//! `X-Vault-Namespace` is accepted and logged. Engines ([`state::Engine`]): transit (keys with
//! versions: create, read, rotate, encrypt, decrypt; ciphertext `vault:vN:<base64>` as Vault
//! writes it), KV v1 and KV v2, mounted through `sys/mounts`. Like a dev server, `secret/` is
//! KV v2 at start. Errors carry Vault's bodies (`{"errors":[...]}`, [`errors`]); the vault can be
//! sealed (`sys/seal`), and the admin API ([`admin`], under `/admin/`) injects faults and adds
//! restricted tokens.
//!
//! Usage: see [`USAGE`]. It prints one JSON ready line (`addr`, `token`) and runs until stdin
//! closes (unless `--ignore-stdin`), SIGTERM or SIGINT.

#[path = "../kv_emulator/http.rs"]
#[allow(dead_code)]
mod http;

#[path = "../kv_emulator/tls.rs"]
mod tls;

mod admin;
mod errors;
mod kv;
mod routes;
mod state;
mod transit;

use leafcrypt_tests::shutdown::shutdown_signal;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::net::TcpListener;

use crate::state::{Engine, Shared};

/// `vault-emulator --help`.
const USAGE: &str = "\
usage: vault-emulator [options]
  --root-token TOKEN   the root token (default: a random one, printed in the ready line)
  --port N             listen on 127.0.0.1:N (default: an ephemeral port)
  --transit MOUNT      mount a transit engine at MOUNT (repeatable)
  --kv-v1 MOUNT        mount a KV v1 engine at MOUNT (repeatable)
  --kv-v2 MOUNT        mount a KV v2 engine at MOUNT (repeatable; secret/ always is)
  --key MOUNT/NAME     create a transit key (repeatable; mounts MOUNT as transit if needed)
  --tls DIR            serve HTTPS with a fresh CA written to DIR/ca.pem (for VAULT_CACERT)
  --ignore-stdin       do not stop at end of stdin
";

struct Args {
    root_token: Option<String>,
    port: u16,
    mounts: Vec<(String, Engine)>,
    keys: Vec<String>,
    tls: Option<std::path::PathBuf>,
    ignore_stdin: bool,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        root_token: None,
        port: 0,
        mounts: Vec::new(),
        keys: Vec::new(),
        tls: None,
        ignore_stdin: false,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--root-token" => args.root_token = Some(value()?),
            "--port" => args.port = value()?.parse().map_err(|_| "--port: not a port")?,
            "--transit" => args.mounts.push((value()?, Engine::transit())),
            "--kv-v1" => args.mounts.push((value()?, Engine::kv(1))),
            "--kv-v2" => args.mounts.push((value()?, Engine::kv(2))),
            "--key" => args.keys.push(value()?),
            "--tls" => args.tls = Some(value()?.into()),
            "--ignore-stdin" => args.ignore_stdin = true,
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    Ok(Some(args))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("vault-emulator: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vault-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    let port = listener.local_addr()?.port();
    let (addr, acceptor, ca) = match &args.tls {
        Some(dir) => {
            let identity = tls::generate()?;
            std::fs::create_dir_all(dir)?;
            let ca = dir.join("ca.pem");
            std::fs::write(&ca, &identity.ca_pem)?;
            let acceptor = tokio_rustls::TlsAcceptor::from(identity.config);
            (
                format!("https://127.0.0.1:{port}"),
                Some(acceptor),
                Some(ca),
            )
        }
        None => (format!("http://127.0.0.1:{port}"), None, None),
    };
    let root = args.root_token.unwrap_or_else(state::random_token);
    let shared = Arc::new(Shared::new(root.clone()));
    {
        let mut st = shared.state();
        for (mount, engine) in args.mounts {
            st.mount(&mount, engine);
        }
        for spec in &args.keys {
            let (mount, name) = spec
                .rsplit_once('/')
                .ok_or(format!("--key {spec}: expected MOUNT/NAME"))?;
            st.create_key(mount, name);
        }
    }
    let for_routes = Arc::clone(&shared);
    tokio::spawn(http::serve(listener, acceptor, move |req| {
        routes::handle(Arc::clone(&for_routes), req)
    }));
    let shutdown = shutdown_signal(args.ignore_stdin)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{}",
        json!({ "addr": addr, "token": root, "ca": ca })
    )?;
    stdout.flush()?;
    drop(stdout);
    shutdown.await;
    Ok(())
}

/// Shared lock helper: a poisoned lock still holds usable state for a test server.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
