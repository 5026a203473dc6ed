//! `gcp-emulator`: a loopback Cloud KMS (REST API v1, `encrypt`/`decrypt`) with stand-ins for
//! Google's OAuth token endpoint and the GCE metadata server, for testing Cloud KMS clients
//! (leafcrypt, Google's Python client, gcloud) offline.
//!
//! One plain-HTTP listener on 127.0.0.1 serves:
//! - `POST /v1/{projects/*/locations/*/keyRings/*/cryptoKeys/*}:encrypt|decrypt` ([`kms`]):
//!   bearer token required, versions with a primary, Google's error bodies ([`errors`]);
//! - `POST /token` ([`oauth`]): the JWT-bearer grant signed by a service-account key this
//!   emulator generated (RS256 verified) and the refresh-token grant of the `adc.json` it writes;
//! - `/computeMetadata/v1/...` (metadata server, `Metadata-Flavor: Google`);
//! - `/admin/...` ([`admin`]): keys, rotation, disabled versions, deny rules, faults, tokens, log;
//! - `CONNECT cloudkms.googleapis.com:443` ([`grpc`]): gRPC over TLS (leaf signed by
//!   `<dir>/ca.pem`) for gRPC-only clients such as sops 3.11, through `HTTPS_PROXY`.
//!
//! Usage: see [`USAGE`].

#[allow(dead_code)]
#[path = "../kv_emulator/http.rs"]
mod http;

mod admin;
mod cipher;
mod errors;
mod gcs;
mod grpc;
mod kms;
mod oauth;
mod state;

use leafcrypt_tests::shutdown::shutdown_signal;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::Request;
use rand::RngCore;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::RsaPrivateKey;
use serde_json::json;
use tokio::net::TcpListener;

use crate::state::{Key, Logged, Shared};

/// `--help` text.
const USAGE: &str = "\
gcp-emulator: a loopback Cloud KMS (REST v1 encrypt/decrypt) with OAuth token and metadata
stand-ins, for tests.

Usage: gcp-emulator [OPTIONS]

Options:
  --dir DIR                where to write service-account key files and adc.json (default: a
                           temporary directory removed on exit)
  --port N                 listening port on 127.0.0.1 (default: ephemeral)
  --key NAME               create crypto key NAME (projects/P/locations/L/keyRings/R/cryptoKeys/K)
                           at startup (repeatable)
  --bucket NAME            create Cloud Storage bucket NAME at startup (repeatable)
  --gcs-anonymous          serve Cloud Storage requests without Authorization as `anonymous`
                           (Google's Go client sends none to STORAGE_EMULATOR_HOST)
  --service-account EMAIL  generate an RSA-2048 service-account key file <dir>/<user>.json whose
                           token_uri is this emulator (repeatable)
  --ignore-stdin           keep running at end of input (default: exit when stdin closes)
  -h, --help               this text

When ready it prints one JSON line on stdout: {endpoint, token_uri, metadata_host, admin, token,
adc, ca, external_account, service_accounts: {email: path}}; `token` is a valid access token for user@emu-project.example.

Admin API (JSON, POST under <admin>): keys {name} | rotate {name} | version {name, version,
enabled} | bucket {name} | deny {identity?, key? (a key, or buckets/NAME)} | fault {status?, count?, delay_ms?} | token {identity?,
lifetime?} -> {access_token} | log/clear | reset; GET log | objects (every stored object, bytes in
base64).

Cloud Storage (JSON API v1, objects in memory, bearer tokens as for KMS): POST
/upload/storage/v1/b/B/o?uploadType=media&name=O (or uploadType=multipart), GET /storage/v1/b/B,
GET /storage/v1/b/B/o/O[?alt=media]; Google's clients reach it with STORAGE_EMULATOR_HOST=<endpoint>.

Real sops 3.11 against it (gRPC through the proxy front): HTTPS_PROXY=<endpoint>
SSL_CERT_FILE=<ca> GOOGLE_OAUTH_ACCESS_TOKEN=<token> sops encrypt --gcp-kms <key> file.yaml
";

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(Default)]
struct Args {
    dir: Option<PathBuf>,
    port: u16,
    keys: Vec<String>,
    buckets: Vec<String>,
    gcs_anonymous: bool,
    accounts: Vec<String>,
    ignore_stdin: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut out = Args::default();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--dir" => out.dir = Some(value("--dir")?.into()),
            "--port" => {
                out.port = value("--port")?
                    .parse()
                    .map_err(|_| "--port needs a number".to_string())?
            }
            "--key" => {
                let name = value("--key")?;
                if !kms::valid_key_name(&name) {
                    return Err(format!(
                        "--key {name}: not projects/*/locations/*/keyRings/*/cryptoKeys/*"
                    ));
                }
                out.keys.push(name);
            }
            "--bucket" => out.buckets.push(value("--bucket")?),
            "--gcs-anonymous" => out.gcs_anonymous = true,
            "--service-account" => out.accounts.push(value("--service-account")?),
            "--ignore-stdin" => out.ignore_stdin = true,
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    Ok(Some(out))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("gcp-emulator: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gcp-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

fn random_hex(n: usize) -> String {
    let mut raw = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut raw);
    state::hex(&raw)
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let (dir, _tmp) = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            (std::fs::canonicalize(d)?, None)
        }
        None => {
            let tmp = tempfile::Builder::new().prefix("gcp-emulator-").tempdir()?;
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    let base = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let shared = Arc::new(Shared::new(base.clone()));

    let mut accounts = serde_json::Map::new();
    for email in &args.accounts {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
        let pem = key.to_pkcs8_pem(LineEnding::LF)?;
        let file = json!({
            "type": "service_account",
            "project_id": "emu-project",
            "private_key_id": random_hex(20),
            "private_key": pem.as_str(),
            "client_email": email,
            "client_id": "100000000000000000001",
            "auth_uri": format!("{base}/auth"),
            "token_uri": shared.token_uri(),
        });
        let user = email.split('@').next().unwrap_or("sa");
        let path = dir.join(format!("{user}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&file)?)?;
        shared
            .lock()
            .accounts
            .insert(email.clone(), key.to_public_key());
        accounts.insert(email.clone(), json!(path));
    }
    let refresh = format!("1//emu-{}", random_hex(16));
    let adc = dir.join("adc.json");
    std::fs::write(
        &adc,
        serde_json::to_vec_pretty(&json!({
            "type": "authorized_user",
            "client_id": "emu-client.apps.googleusercontent.com",
            "client_secret": "emu-secret",
            "refresh_token": refresh,
            "token_uri": shared.token_uri(),
        }))?,
    )?;
    // Workload-identity federation: a subject token file and an external_account file that
    // exchanges it at /sts and impersonates the first service account (if any).
    let subject = format!("emu-subject-{}", random_hex(16));
    std::fs::write(dir.join("subject-token"), &subject)?;
    let mut external = json!({
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/emu/providers/file",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{base}/sts"),
        "credential_source": {"file": dir.join("subject-token"), "format": {"type": "text"}},
    });
    if let Some(email) = args.accounts.first() {
        external["service_account_impersonation_url"] = json!(format!(
            "{base}/v1/projects/-/serviceAccounts/{email}:generateAccessToken"
        ));
    }
    let external_path = dir.join("external.json");
    std::fs::write(&external_path, serde_json::to_vec_pretty(&external)?)?;
    let token = {
        let mut state = shared.lock();
        state.subject_tokens.insert(
            subject,
            "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/emu/subject/file".into(),
        );
        state
            .refresh_tokens
            .insert(refresh, "adc-user@emu-project.example".into());
        for name in &args.keys {
            state.keys.entry(name.clone()).or_insert_with(Key::new);
        }
        state.gcs_anonymous = args.gcs_anonymous;
        for name in &args.buckets {
            state.buckets.entry(name.clone()).or_default();
        }
        state.mint("user@emu-project.example", 3599)
    };

    let (ca_pem, acceptor) = grpc::identity()?;
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_pem)?;
    tokio::spawn(serve(listener, Arc::clone(&shared), acceptor));

    let shutdown = shutdown_signal(args.ignore_stdin)?;
    let ready = json!({
        "endpoint": base,
        "token_uri": shared.token_uri(),
        "metadata_host": base.trim_start_matches("http://"),
        "admin": format!("{base}/admin"),
        "token": token,
        "adc": adc,
        "service_accounts": accounts,
        "ca": ca,
        "external_account": external_path,
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{ready}")?;
    stdout.flush()?;
    drop(stdout);
    shutdown.await;
    Ok(())
}

/// Serves HTTP/1.1 with upgrades (for `CONNECT`), each connection on its own task.
async fn serve(listener: TcpListener, shared: Arc<Shared>, acceptor: tokio_rustls::TlsAcceptor) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let shared = Arc::clone(&shared);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                route(Arc::clone(&shared), acceptor.clone(), req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// Google's REST APIs answer CORS requests from any origin: so does the emulator (Cloud KMS
/// and Cloud Storage), for the browser viewer's tests.
fn with_cors(mut resp: http::Resp, preflight: bool) -> http::Resp {
    let headers = resp.headers_mut();
    let mut set = |k: &'static str, v: &'static str| {
        headers.insert(k, hyper::header::HeaderValue::from_static(v));
    };
    set("access-control-allow-origin", "*");
    if preflight {
        set(
            "access-control-allow-methods",
            "GET, POST, PUT, DELETE, OPTIONS",
        );
        set(
            "access-control-allow-headers",
            "authorization, content-type, x-goog-api-client, x-goog-user-project",
        );
        set("access-control-max-age", "3600");
    }
    resp
}

async fn route(
    shared: Arc<Shared>,
    acceptor: tokio_rustls::TlsAcceptor,
    req: Request<Incoming>,
) -> Result<http::Resp, http::Dropped> {
    let path = req.uri().path().to_string();
    if req.method() == hyper::Method::OPTIONS {
        let mut resp = http::json(hyper::StatusCode::OK, &serde_json::json!({}));
        *resp.status_mut() = hyper::StatusCode::NO_CONTENT;
        *resp.body_mut() = Default::default();
        return Ok(with_cors(resp, true));
    }
    if req.method() == hyper::Method::CONNECT {
        let host = req.uri().to_string();
        let resp = grpc::connect(Arc::clone(&shared), acceptor, req);
        shared.lock().log.push(Logged {
            method: "CONNECT".into(),
            path: String::new(),
            host,
            identity: None,
            status: resp.status().as_u16(),
        });
        return Ok(resp);
    }
    if path.starts_with("/admin/") {
        return Ok(admin::handle(shared, req).await);
    }
    let method = req.method().to_string();
    let host = http::header(&req, "host").unwrap_or("").to_string();
    let mut identity = None;
    let resp = if path.starts_with("/v1/projects/-/serviceAccounts/") {
        let caller = kms::authenticate(&shared, &req).ok();
        identity = caller.clone();
        oauth::impersonate(&shared, caller, &path)
    } else if path == "/sts" {
        oauth::sts(Arc::clone(&shared), req).await
    } else if gcs::owns(&path) {
        let anonymous =
            shared.lock().gcs_anonymous && http::header(&req, "authorization").is_none();
        let caller = if anonymous {
            Ok("anonymous".to_string())
        } else {
            kms::authenticate(&shared, &req)
        };
        match caller {
            Ok(id) => {
                let resp = gcs::handle(Arc::clone(&shared), req, &id).await;
                identity = Some(id);
                resp
            }
            Err(resp) => resp,
        }
    } else if path.starts_with("/v1/") {
        let fault = shared.lock().next_fault();
        if let Some(f) = &fault {
            if f.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
            }
        }
        match fault {
            Some(f) if f.status != 0 => errors::google(
                f.status,
                errors::status_name(f.status),
                errors::fault_message(f.status),
            ),
            _ => match kms::authenticate(&shared, &req) {
                Ok(id) => {
                    let resp = kms::handle(Arc::clone(&shared), req, &id).await;
                    identity = Some(id);
                    resp
                }
                Err(resp) => resp,
            },
        }
    } else if path == "/token" {
        oauth::token(Arc::clone(&shared), req).await
    } else {
        oauth::metadata(&shared, &req)
    };
    shared.lock().log.push(Logged {
        method,
        path,
        host,
        identity,
        status: resp.status().as_u16(),
    });
    Ok(with_cors(resp, false))
}
