//! `kv-emulator`: a loopback Azure Key Vault (the keys API) with its own token endpoints, for
//! testing Key Vault clients (leafcrypt, the real sops, Microsoft's SDKs) offline.
//!
//! Two listeners, both on 127.0.0.1:
//! - **HTTPS** (a CA generated at startup, written to `<dir>/ca.pem`): the vault's
//!   `/keys/...` routes ([`vault`]) and a minimal Entra ID v2 authority ([`entra`]).
//! - **plain HTTP**: managed-identity token endpoints ([`tokens`]: App Service
//!   `/msi/token`, IMDS `/metadata/identity/oauth2/token`) and the admin API ([`admin`]).
//!
//! Every vault request must carry a token minted by those endpoints (HS256, checked for
//! signature, `exp` and `aud`); without one the vault answers Key Vault's 401 challenge
//! before reading the body, with `resource="https://0.0.1:<port>"` so the Go and Python
//! SDKs' challenge-resource check accepts `127.0.0.1:<port>`. Errors follow the real
//! service's codes and texts ([`errors`]); faults and deny rules come from the admin API.
//! The vault sends no CORS headers, like the real one.
//!
//! Usage: see [`cli::USAGE`] (`kv-emulator --help`). Typical by hand:
//!
//! ```text
//! kv-emulator --create app-key --ignore-stdin &   # prints the JSON ready line
//! ```

mod access;
mod admin;
mod cli;
mod crypto;
mod entra;
mod errors;
mod faults;
mod http;
mod jwt;
mod reqlog;
mod routes;
mod state;
mod store;
mod tls;
mod tokens;
mod vault;

use leafcrypt_tests::shutdown::shutdown_signal;
use std::collections::VecDeque;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::Request;
use rand::RngCore;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::state::{Challenge, Controls, Shared, DEFAULT_TENANT};
use crate::store::{KeyVersion, Store};

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Command::Run(args)) => args,
        Ok(cli::Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("kv-emulator: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kv-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: cli::Args) -> Result<(), Box<dyn std::error::Error>> {
    // The temporary directory (when --dir is absent) lives until run() returns.
    let (dir, _tmp) = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            (std::fs::canonicalize(d)?, None)
        }
        None => {
            let tmp = tempfile::Builder::new().prefix("kv-emulator-").tempdir()?;
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    let identity = tls::generate()?;
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &identity.ca_pem)?;

    let vault_listener = TcpListener::bind(("127.0.0.1", args.vault_port)).await?;
    let token_listener = TcpListener::bind(("127.0.0.1", args.token_port)).await?;
    let vault_port = vault_listener.local_addr()?.port();
    let token_port = token_listener.local_addr()?.port();
    let vault_url = format!("https://127.0.0.1:{vault_port}");
    let token_url = format!("http://127.0.0.1:{token_port}");

    let shared = Arc::new(Shared {
        store: Mutex::new(Store::open(args.state.clone())?),
        controls: Mutex::new(Controls::new(Challenge {
            resource: args
                .resource
                .clone()
                .unwrap_or_else(|| format!("https://0.0.1:{vault_port}")),
            tenant: DEFAULT_TENANT.to_string(),
            authority: vault_url.clone(),
        })),
        log: Mutex::new(VecDeque::new()),
        minter: jwt::Minter::new(),
        identity_header: random_hex(16),
        vault_host: format!("127.0.0.1:{vault_port}"),
        in_flight: Default::default(),
    });
    for name in &args.create {
        if !shared.store().contains(name) {
            let key = vault::generate(2048).await?;
            shared.store().add(name, KeyVersion::new(key))?;
        }
    }

    let for_vault = Arc::clone(&shared);
    let acceptor = TlsAcceptor::from(identity.config);
    tokio::spawn(http::serve(vault_listener, Some(acceptor), move |req| {
        vault_listener_route(Arc::clone(&for_vault), req)
    }));
    let for_tokens = Arc::clone(&shared);
    tokio::spawn(http::serve(token_listener, None, move |req| {
        token_listener_route(Arc::clone(&for_tokens), req)
    }));

    let shutdown = shutdown_signal(args.ignore_stdin)?;
    let ready = json!({
        "vault": vault_url,
        "token_endpoint": token_url,
        "msi_endpoint": format!("{token_url}/msi/token"),
        "identity_header": shared.identity_header,
        "imds_endpoint": token_url,
        "authority": vault_url,
        "admin": format!("{token_url}/admin"),
        "ca": ca,
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{ready}")?;
    stdout.flush()?;
    drop(stdout);

    shutdown.await;
    Ok(())
}

async fn vault_listener_route(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<http::Resp, http::Dropped> {
    if req.uri().path().starts_with("/keys/") {
        vault::handle(shared, req).await
    } else {
        entra::handle(shared, req).await
    }
}

async fn token_listener_route(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<http::Resp, http::Dropped> {
    if req.uri().path().starts_with("/admin/") {
        Ok(admin::handle(shared, req).await)
    } else {
        tokens::handle(shared, req).await
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
