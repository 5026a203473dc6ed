//! The Key Vault emulator validated by clients that were not written against it:
//! Microsoft's Python SDK (managed identity through App Service and through IMDS) and the
//! real sops 3.11.0; then the emulator's own rules that those clients do not reach
//! (challenge before the body, version pinning, disabled versions, tokens, faults, Entra
//! routes, persistence, lifecycle).
//!
//! The real tools come from `$SOPS_BIN` (else `.tools/sops/bin/sops`, else
//! `/opt/sopsvenv/bin/sops`) and the Python beside it (or `$KV_PYTHON`). When absent, those
//! tests print why and pass, except under `CI`, where they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use leafcrypt_tests::harness::{repo_root, Tool, Workdir};
use leafcrypt_tests::kv::{Deny, Emulator, Fault, LogEntry, Options, Response};
use leafcrypt_tests::kv_emulator_bin;
use rand::RngCore;
use rsa::pkcs8::DecodePrivateKey;
use serde_json::{json, Value};

fn start() -> Emulator {
    Emulator::start_bin(kv_emulator_bin!())
}

// ---- locating the independent clients ------------------------------------------------------

/// The real sops and the Python that has `azure-keyvault-keys` and `azure-identity`, or
/// `None` after printing why (only outside CI: under CI a missing tool fails the test).
fn clients() -> Option<(PathBuf, PathBuf)> {
    let found = locate_clients();
    match found {
        Ok(paths) => Some(paths),
        Err(reason) if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") => {
            panic!("{reason} (required under CI)")
        }
        Err(reason) => {
            eprintln!("SKIPPED: {reason}");
            None
        }
    }
}

fn locate_clients() -> Result<(PathBuf, PathBuf), String> {
    let sops = match std::env::var_os("SOPS_BIN") {
        Some(p) => PathBuf::from(p),
        None => [
            repo_root().join(".tools/sops/bin/sops"),
            PathBuf::from("/opt/sopsvenv/bin/sops"),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or("the real sops is not installed (scripts/setup puts it in .tools/sops)")?,
    };
    if !sops.is_file() {
        return Err(format!("SOPS_BIN={} is not a file", sops.display()));
    }
    let python = match std::env::var_os("KV_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => sops.with_file_name("python"),
    };
    let check = Command::new(&python)
        .args(["-c", "import azure.keyvault.keys, azure.identity"])
        .env_clear()
        .output();
    match check {
        Ok(out) if out.status.success() => Ok((sops, python)),
        _ => Err(format!(
            "{} cannot import Microsoft's Key Vault SDK",
            python.display()
        )),
    }
}

// ---- Microsoft's Python SDK ---------------------------------------------------------------

/// Creates a key, reads it, round-trips every algorithm locally-encrypted and fully remote,
/// and reports a 404 and a 403; prints one JSON object.
const PYTHON_SCRIPT: &str = r#"
import json, os, time

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm

vault = os.environ["KV_VAULT"]
plaintext = bytes.fromhex(os.environ["KV_PLAINTEXT"])
cred = ManagedIdentityCredential()
keys = KeyClient(vault, cred)
out = {}


def error(e):
    return {"status": e.status_code, "code": e.error.code, "inner": e.error.innererror, "message": e.error.message}


def round_trips(client):
    result = {}
    for alg in (EncryptionAlgorithm.rsa_oaep_256, EncryptionAlgorithm.rsa_oaep, EncryptionAlgorithm.rsa1_5):
        enc = client.encrypt(alg, plaintext)
        dec = client.decrypt(alg, enc.ciphertext)
        result["encrypt " + alg.value] = {"ct": enc.ciphertext.hex(), "pt": dec.plaintext.hex(), "kid": dec.key_id}
    for alg in (KeyWrapAlgorithm.rsa_oaep_256, KeyWrapAlgorithm.rsa_oaep, KeyWrapAlgorithm.rsa1_5):
        wrapped = client.wrap_key(alg, plaintext)
        start = time.monotonic()
        unwrapped = client.unwrap_key(alg, wrapped.encrypted_key)
        result["wrap " + alg.value] = {"ct": wrapped.encrypted_key.hex(), "pt": unwrapped.key.hex(),
                                       "kid": unwrapped.key_id, "seconds": time.monotonic() - start}
    return result


created = keys.create_key("py-key", "RSA", size=2048)
out["created_kid"] = created.id
got = keys.get_key("py-key")
out["get_kid"] = got.id
out["n_bytes"] = len(got.key.n)
out["local"] = round_trips(CryptographyClient(got.id, cred))
# keys/get is denied on remote-key, so the client cannot work locally: every op goes remote.
out["remote"] = round_trips(CryptographyClient(os.environ["KV_REMOTE_KID"], cred))
try:
    keys.get_key("missing-key")
    out["missing"] = None
except ResourceNotFoundError as e:
    out["missing"] = error(e)
try:
    CryptographyClient(os.environ["KV_RBAC_KID"], cred).decrypt(EncryptionAlgorithm.rsa_oaep_256, b"\0" * 256)
    out["rbac"] = None
except HttpResponseError as e:
    out["rbac"] = error(e)
print(json.dumps(out))
"#;

/// How the Python SDK gets its token.
#[derive(Clone, Copy)]
enum Identity {
    AppService,
    Imds,
}

fn python_sdk_against_the_emulator(identity: Identity) {
    let Some((_, python)) = clients() else { return };
    let kv = start();
    let remote = kv.create_key("remote-key");
    let rbac = kv.create_key("rbac-key");
    kv.deny(&deny(None, Some("remote-key"), "get", "policy"));
    kv.deny(&deny(None, Some("rbac-key"), "decrypt", "rbac"));
    kv.fault(&Fault {
        op: "unwrapKey".into(),
        status: Some(429),
        count: 2,
        retry_after: Some(1),
        ..Fault::default()
    });
    let plaintext = random_bytes(32);
    let ready = kv.ready();
    let mut env = vec![
        (
            "REQUESTS_CA_BUNDLE".to_string(),
            ready.ca.display().to_string(),
        ),
        ("KV_VAULT".into(), ready.vault.clone()),
        ("KV_PLAINTEXT".into(), hex(&plaintext)),
        ("KV_REMOTE_KID".into(), remote.kid.clone()),
        ("KV_RBAC_KID".into(), rbac.kid.clone()),
    ];
    let token_path = match identity {
        Identity::AppService => {
            env.push(("IDENTITY_ENDPOINT".into(), ready.msi_endpoint.clone()));
            env.push(("IDENTITY_HEADER".into(), ready.identity_header.clone()));
            "/msi/token"
        }
        Identity::Imds => {
            env.push((
                "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
                ready.imds_endpoint.clone(),
            ));
            "/metadata/identity/oauth2/token"
        }
    };
    let out = run_python(&python, PYTHON_SCRIPT, &env);

    let created = out["created_kid"].as_str().expect("created_kid");
    let version = created
        .strip_prefix(&format!("{}/keys/py-key/", kv.vault()))
        .unwrap_or_else(|| panic!("kid {created} is not on this vault"));
    assert!(is_version(version), "version {version}");
    assert_eq!(out["get_kid"], created);
    assert_eq!(out["n_bytes"], 256);
    for (set, kid) in [("local", created), ("remote", remote.kid.as_str())] {
        let results = out[set].as_object().expect("results");
        assert_eq!(results.len(), 6, "{set}: {results:?}");
        for (alg, r) in results {
            assert_eq!(r["pt"], hex(&plaintext), "{set} {alg}");
            assert_eq!(r["kid"], kid, "{set} {alg}");
        }
    }
    // The SDK encrypted locally with the public key the emulator published: the private key
    // the emulator holds for that version opens it.
    let key = exported_key(&kv, "py-key", version);
    let ct = unhex(
        out["local"]["encrypt RSA-OAEP-256"]["ct"]
            .as_str()
            .expect("ct"),
    );
    let opened = key.decrypt(rsa::Oaep::new::<sha2::Sha256>(), &ct);
    assert_eq!(
        opened.expect("RSA-OAEP-256 with the exported key"),
        plaintext
    );
    assert_sdk_errors(&out);
    // Two 429s with Retry-After: 1, then success: the SDK waited and retried.
    let seconds = out["local"]["wrap RSA-OAEP-256"]["seconds"]
        .as_f64()
        .expect("seconds");
    assert!(seconds >= 1.9, "the first unwrap took {seconds} s");
    assert_sdk_log(&kv.log(), token_path);
}

/// The private key the emulator holds for a version.
fn exported_key(kv: &Emulator, name: &str, version: &str) -> rsa::RsaPrivateKey {
    rsa::RsaPrivateKey::from_pkcs8_pem(&kv.export_pem(name, version)).expect("exported PEM")
}

/// The 404 and the RBAC 403 as the SDK reported them.
fn assert_sdk_errors(out: &Value) {
    assert_eq!(out["missing"]["status"], 404);
    assert_eq!(out["missing"]["code"], "KeyNotFound");
    assert_eq!(out["rbac"]["status"], 403);
    assert_eq!(out["rbac"]["code"], "Forbidden");
    assert_eq!(out["rbac"]["inner"]["code"], "ForbiddenByRbac");
    let message = out["rbac"]["message"].as_str().expect("message");
    let action = "Action: 'Microsoft.KeyVault/vaults/keys/decrypt/action'";
    assert!(message.contains(action), "{message}");
}

/// What the emulator saw of the SDK run: the retried unwrap, the fully remote key, the tokens.
fn assert_sdk_log(log: &[LogEntry], token_path: &str) {
    let statuses = |key: &str, op: &str| {
        let wanted = |e: &&LogEntry| {
            e.authorized
                && e.path.starts_with(&format!("/keys/{key}/"))
                && e.op.as_deref() == Some(op)
        };
        log.iter()
            .filter(wanted)
            .map(|e| e.status)
            .collect::<Vec<_>>()
    };
    assert_eq!(statuses("py-key", "unwrapKey"), [429, 429, 200, 200, 200]);
    // remote-key's GET was refused, so encrypt and wrapkey had to reach the vault.
    assert_eq!(statuses("remote-key", "get"), [403]);
    assert_eq!(statuses("remote-key", "encrypt"), [200, 200, 200]);
    assert_eq!(statuses("remote-key", "wrapKey"), [200, 200, 200]);
    // Tokens came from the expected endpoint, and the vault saw that identity.
    let tokens: Vec<&LogEntry> = log.iter().filter(|e| e.listener == "token").collect();
    assert!(!tokens.is_empty());
    let from_endpoint = |e: &&LogEntry| e.path == token_path && e.status == 200;
    assert!(tokens.iter().all(from_endpoint), "{tokens:?}");
    let authorized = log.iter().filter(|e| e.listener == "vault" && e.authorized);
    assert!(authorized.clone().count() > 0);
    assert!(authorized
        .into_iter()
        .all(|e| e.identity.as_deref() == Some("system-assigned")));
}

#[test]
fn python_sdk_with_app_service_managed_identity() {
    python_sdk_against_the_emulator(Identity::AppService);
}

#[test]
fn python_sdk_with_imds_managed_identity() {
    python_sdk_against_the_emulator(Identity::Imds);
}

/// Runs `script` with only `env` (plus PATH and a private HOME); its last stdout line is JSON.
fn run_python(python: &Path, script: &str, env: &[(String, String)]) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kv_sdk.py");
    std::fs::write(&path, script).expect("write script");
    let out = Command::new(python)
        .arg(&path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("python printed no JSON ({e}): {stdout}"))
}

// ---- the real sops ------------------------------------------------------------------------

/// The `azure_kv` entry of a sops-encrypted YAML file.
struct AzureEntry {
    vault_url: String,
    name: String,
    version: String,
    enc: String,
}

fn azure_entry(yaml: &str) -> AzureEntry {
    let field = |name: &str| {
        let re = regex::Regex::new(&format!(r"(?m)^\s+(?:- )?{name}: (\S+)$")).expect("regex");
        let found: Vec<String> = re.captures_iter(yaml).map(|c| c[1].to_string()).collect();
        found
            .into_iter()
            .find(|v| name != "version" || is_version(v))
            .unwrap_or_else(|| panic!("no {name} in\n{yaml}"))
    };
    AzureEntry {
        vault_url: field("vault_url"),
        name: field("name"),
        version: field("version"),
        enc: field("enc"),
    }
}

#[test]
fn real_sops_encrypts_and_decrypts_through_the_emulator() {
    if clients().is_none() {
        return;
    }
    let kv = start();
    let v1 = kv.create_key("sops-key");
    let dir = Workdir::new();
    let plain = "db_password: hunter2\nlist:\n    - a\n    - b\n";
    dir.write("secret.yaml", plain);
    let sops = |args: &[&str]| {
        let mut cmd = dir
            .cmd(Tool::Sops)
            .args(args)
            .timeout(Duration::from_secs(120));
        for (k, v) in kv.env_for_sops() {
            cmd = cmd.env(k, v);
        }
        cmd.run()
    };
    let encrypt = |url: &str, out: &str| {
        let enc = sops(&["encrypt", "--azure-kv", url, "secret.yaml"]).expect_ok("sops encrypt");
        dir.write(out, enc.stdout_text());
        azure_entry(&enc.stdout_text())
    };
    let decrypt = |file: &str| {
        sops(&["decrypt", file])
            .expect_ok("sops decrypt")
            .stdout_text()
    };

    // Version omitted: sops asks for the latest and pins it.
    let first = encrypt(&kv.key_url("sops-key"), "one.yaml");
    assert_eq!(
        (first.vault_url.as_str(), first.name.as_str()),
        (kv.vault(), "sops-key")
    );
    assert_eq!(first.version, v1.version);
    assert_eq!(
        first.enc.len(),
        342,
        "RSA-2048 ciphertext, unpadded base64url"
    );
    assert!(first
        .enc
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(decrypt("one.yaml"), plain);

    // The enc is RSA-OAEP-256 to the version's key, wrapping the 32-byte data key.
    let key = exported_key(&kv, "sops-key", &v1.version);
    let wrapped = URL_SAFE_NO_PAD.decode(&first.enc).expect("base64url");
    let data_key = key
        .decrypt(rsa::Oaep::new::<sha2::Sha256>(), &wrapped)
        .expect("RSA-OAEP-256");
    assert_eq!(data_key.len(), 32);

    // Version given explicitly.
    let pinned = encrypt(
        &format!("{}/{}", kv.key_url("sops-key"), v1.version),
        "pinned.yaml",
    );
    assert_eq!(pinned.version, v1.version);

    // After a rotation old files still decrypt with their version; new files pin the new one.
    let v2 = kv.rotate("sops-key");
    assert_ne!(v2.version, v1.version);
    kv.clear_log();
    assert_eq!(decrypt("one.yaml"), plain);
    let decrypts: Vec<(String, u16)> = kv
        .log()
        .into_iter()
        .filter(|e| e.op.as_deref() == Some("decrypt") && e.authorized)
        .map(|e| (e.path, e.status))
        .collect();
    assert_eq!(
        decrypts,
        [(format!("/keys/sops-key/{}/decrypt", v1.version), 200)]
    );
    let second = encrypt(&kv.key_url("sops-key"), "two.yaml");
    assert_eq!(second.version, v2.version);
    assert_eq!(decrypt("two.yaml"), plain);
}

/// A self-signed certificate and its RSA key in one PEM file, as `AZURE_CLIENT_CERTIFICATE_PATH`
/// takes them (MSAL signs the client assertion with RS256).
fn client_certificate_pem() -> String {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("keygen");
    let key_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .expect("PKCS#8")
        .to_string();
    let pair = rcgen::KeyPair::from_pem(&key_pem).expect("rcgen RSA key");
    let params =
        rcgen::CertificateParams::new(vec!["ci-cert.example".to_string()]).expect("params");
    let cert = params.self_signed(&pair).expect("self-signed");
    format!("{}{key_pem}", cert.pem())
}

#[test]
fn real_sops_gets_tokens_from_the_emulators_entra_authority() {
    if clients().is_none() {
        return;
    }
    let kv = start();
    kv.create_key("entra-key");
    let dir = Workdir::new();
    let plain = "api_key: s3cr3t-value\n";
    dir.write("secret.yaml", plain);
    let jwt = format!(
        "{}.{}.c2ln",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64(br#"{"sub":"wl"}"#)
    );
    // A trailing newline, as Kubernetes writes it: the assertion must be trimmed.
    let federated = dir.write("federated.jwt", format!("{jwt}\n"));
    let certificate = dir.write("client.pem", client_certificate_pem());
    let ready = kv.ready().clone();
    // Tenant "adfs": MSAL skips instance discovery, so nothing but the emulator is contacted.
    let routes: [(&str, &str, (&str, String)); 3] = [
        (
            "secret-app",
            "EnvironmentCredential",
            ("AZURE_CLIENT_SECRET", "s3cret".into()),
        ),
        (
            "cert-app",
            "EnvironmentCredential",
            (
                "AZURE_CLIENT_CERTIFICATE_PATH",
                certificate.display().to_string(),
            ),
        ),
        (
            "wl-app",
            "WorkloadIdentityCredential",
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                federated.display().to_string(),
            ),
        ),
    ];
    for (i, (client_id, credential, (var, value))) in routes.into_iter().enumerate() {
        let sops = |args: &[&str]| {
            dir.cmd(Tool::Sops)
                .args(args)
                .timeout(Duration::from_secs(120))
                .env("SSL_CERT_FILE", &ready.ca)
                .env("AZURE_AUTHORITY_HOST", &ready.authority)
                .env("AZURE_TENANT_ID", "adfs")
                .env("AZURE_CLIENT_ID", client_id)
                .env("AZURE_TOKEN_CREDENTIALS", credential)
                .env(var, &value)
                .run()
        };
        kv.clear_log();
        if i == 0 {
            let enc = sops(&[
                "encrypt",
                "--azure-kv",
                &kv.key_url("entra-key"),
                "secret.yaml",
            ]);
            dir.write(
                "secret.enc.yaml",
                enc.expect_ok("sops encrypt").stdout_text(),
            );
        }
        let out = sops(&["decrypt", "secret.enc.yaml"]).expect_ok(client_id);
        assert_eq!(out.stdout_text(), plain, "{client_id}");
        let log = kv.log();
        let issued: Vec<_> = log
            .iter()
            .filter(|e| e.op.as_deref() == Some("token"))
            .collect();
        assert!(!issued.is_empty(), "{client_id}: {log:?}");
        assert!(
            issued
                .iter()
                .all(|e| e.path == "/adfs/oauth2/v2.0/token"
                    && e.identity.as_deref() == Some(client_id)),
            "{log:?}"
        );
        let decrypts: Vec<_> = log
            .iter()
            .filter(|e| e.op.as_deref() == Some("decrypt") && e.authorized)
            .collect();
        assert_eq!(decrypts.len(), 1, "{log:?}");
        assert_eq!(decrypts[0].identity.as_deref(), Some(client_id));
    }
}

// ---- the emulator's own rules -------------------------------------------------------------

fn deny(identity: Option<&str>, key: Option<&str>, op: &str, model: &str) -> Deny {
    Deny {
        identity: identity.map(String::from),
        key: key.map(String::from),
        op: op.into(),
        model: model.into(),
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn is_version(v: &str) -> bool {
    v.len() == 32
        && v.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn error_code(resp: &Response) -> (u16, String, String) {
    let body = resp.json();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        resp.status,
        text(&body["error"]["code"]),
        text(&body["error"]["innererror"]["code"]),
    )
}

/// A vault call with a fresh token for the default identity, api-version 7.6.
fn call(kv: &Emulator, method: &str, path: &str, body: Option<Value>) -> Response {
    let token = kv.mint_token(None, None);
    let sep = if path.contains('?') { '&' } else { '?' };
    kv.vault_request(
        method,
        &format!("{path}{sep}api-version=7.6"),
        Some(&token),
        body.as_ref(),
    )
}

fn crypt(kv: &Emulator, path: &str, alg: &str, value: &[u8]) -> Response {
    call(
        kv,
        "POST",
        path,
        Some(json!({ "alg": alg, "value": b64(value) })),
    )
}

fn value_of(resp: &Response) -> Vec<u8> {
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let value = resp.json()["value"].as_str().expect("value").to_string();
    assert!(!value.contains('='), "unpadded output");
    URL_SAFE_NO_PAD.decode(value).expect("base64url")
}

#[test]
fn challenge_is_sent_before_the_body_is_read() {
    let kv = start();
    let key = kv.create_key("k");
    let host = kv.vault().trim_start_matches("https://");
    // Announce a body and never send it: the answer must come anyway.
    let request = format!(
        "POST /keys/k/{}/decrypt?api-version=7.6 HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n",
        key.version
    );
    let resp = kv
        .vault_raw(request.as_bytes(), Duration::from_secs(10))
        .expect("answered without the body");
    assert_eq!(resp.status, 401);
    let port = host.rsplit(':').next().expect("port");
    let expected = format!(
        "Bearer authorization=\"{}/adfs\", resource=\"https://0.0.1:{port}\"",
        kv.vault()
    );
    assert_eq!(resp.header("www-authenticate"), Some(expected.as_str()));
    assert_eq!(
        resp.json(),
        json!({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}})
    );
    assert!(
        resp.headers
            .iter()
            .all(|(k, _)| !k.starts_with("access-control-")),
        "no CORS headers"
    );
    let last = kv.log().pop().expect("logged");
    assert_eq!(
        (last.op.as_deref(), last.authorized, last.status),
        (Some("decrypt"), false, 401)
    );
}

#[test]
fn tokens_are_checked_for_signature_expiry_and_audience() {
    let kv = start();
    kv.create_key("k");
    let get = |token: &str| kv.vault_request("GET", "/keys/k?api-version=7.6", Some(token), None);
    let unauthorized = |resp: Response, why: &str| {
        assert_eq!(resp.status, 401, "{why}");
        assert!(
            resp.header("www-authenticate").is_some(),
            "{why}: challenge sent"
        );
        let message = resp.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains(why), "{message}");
    };
    let good = kv.mint_token(Some("app"), None);
    assert_eq!(get(&good).status, 200);
    unauthorized(get(&kv.mint_token(None, Some(-60))), "expired");
    let mut forged = good.clone();
    forged.push('x');
    unauthorized(get(&forged), "signature");
    kv.set_challenge(Some("https://0.0.2:1"), None, None);
    unauthorized(get(&good), "audience");
    kv.reset();
    assert_eq!(get(&good).status, 200);

    // api-version is required and checked.
    let token = kv.mint_token(None, None);
    for (query, status) in [
        ("", 400),
        ("?api-version=9.9", 400),
        ("?api-version=7.0", 200),
        ("?api-version=2025-07-01", 200),
    ] {
        let resp = kv.vault_request("GET", &format!("/keys/k{query}"), Some(&token), None);
        assert_eq!(resp.status, status, "{query}");
    }
    let log = kv.log();
    let last = log.last().expect("logged");
    assert_eq!(
        (last.api_version.as_deref(), last.identity.as_deref()),
        (Some("2025-07-01"), Some("system-assigned"))
    );
}

#[test]
fn versions_are_pinned_and_a_wrong_version_is_a_bad_parameter() {
    let kv = start();
    let created = call(
        &kv,
        "POST",
        "/keys/k/create",
        Some(json!({"kty": "RSA", "key_size": 2048})),
    );
    assert_eq!(created.status, 200);
    let kid1 = created.json()["key"]["kid"]
        .as_str()
        .expect("kid")
        .to_string();
    let v1 = kid1.rsplit('/').next().expect("version").to_string();
    assert_eq!(kid1, format!("{}/keys/k/{v1}", kv.vault()));
    let rotated = call(&kv, "POST", "/keys/k/rotate", None);
    let kid2 = rotated.json()["key"]["kid"]
        .as_str()
        .expect("kid")
        .to_string();
    let v2 = kid2.rsplit('/').next().expect("version").to_string();
    assert!(is_version(&v1) && is_version(&v2) && v1 != v2);

    let secret = random_bytes(32);
    let ct1 = value_of(&crypt(
        &kv,
        &format!("/keys/k/{v1}/encrypt"),
        "RSA-OAEP-256",
        &secret,
    ));
    assert_eq!(
        value_of(&crypt(
            &kv,
            &format!("/keys/k/{v1}/decrypt"),
            "RSA-OAEP-256",
            &ct1
        )),
        secret
    );
    let wrong = crypt(&kv, &format!("/keys/k/{v2}/decrypt"), "RSA-OAEP-256", &ct1);
    assert_eq!(
        error_code(&wrong),
        (400, "BadParameter".into(), String::new())
    );
    // Every "latest" form means v2.
    for path in ["/keys/k/decrypt", "/keys/k//decrypt", "/keys/k//DECRYPT"] {
        assert_eq!(crypt(&kv, path, "RSA-OAEP-256", &ct1).status, 400, "{path}");
    }
    for path in ["/keys/k", "/keys/k/"] {
        assert_eq!(
            call(&kv, "GET", path, None).json()["key"]["kid"],
            kid2.as_str(),
            "{path}"
        );
    }
    let wrapped = crypt(&kv, "/keys/k//WrapKey", "RSA-OAEP", &secret);
    assert_eq!(wrapped.json()["kid"], kid2.as_str());
    assert_eq!(
        value_of(&crypt(
            &kv,
            &format!("/keys/k/{v2}/unwrapkey"),
            "RSA-OAEP",
            &value_of(&wrapped)
        )),
        secret
    );
    // Lenient input: padded standard base64 of a PKCS#1 v1.5 ciphertext.
    let ct = value_of(&crypt(&kv, "/keys/k/encrypt", "RSA1_5", &secret));
    let padded = base64::engine::general_purpose::STANDARD.encode(&ct);
    let resp = call(
        &kv,
        "POST",
        &format!("/keys/k/{v2}/decrypt"),
        Some(json!({"alg": "RSA1_5", "value": padded})),
    );
    assert_eq!(value_of(&resp), secret);
    assert_eq!(
        error_code(&crypt(&kv, "/keys/k/encrypt", "A256GCM", &secret)).0,
        400
    );

    let versions = call(&kv, "GET", "/keys/k/versions", None).json();
    let kids: Vec<&str> = versions["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|v| v["kid"].as_str())
        .collect();
    assert_eq!(kids, [kid1.as_str(), kid2.as_str()]);
    let unknown = call(&kv, "GET", &format!("/keys/k/{}", "0".repeat(32)), None);
    assert_eq!(
        error_code(&unknown),
        (404, "KeyNotFound".into(), String::new())
    );
    assert_eq!(
        error_code(&call(&kv, "GET", "/keys/nope", None)).1,
        "KeyNotFound"
    );

    // The kid follows the Host the client used.
    let port = kv.vault().rsplit(':').next().expect("port");
    let token = kv.mint_token(None, None);
    let request = format!(
        "GET /keys/k/{v1}?api-version=7.6 HTTP/1.1\r\nHost: localhost:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    let resp = kv
        .vault_raw(request.as_bytes(), Duration::from_secs(10))
        .expect("GET");
    assert_eq!(
        resp.json()["key"]["kid"],
        format!("https://localhost:{port}/keys/k/{v1}")
    );
}

#[test]
fn an_imported_jwk_becomes_a_version_with_its_key_ops() {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    let kv = start();
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("keygen");
    let int = |n: &rsa::BigUint| b64(&n.to_bytes_be());
    let (p, q) = (&key.primes()[0], &key.primes()[1]);
    let (n, e) = (int(key.n()), int(key.e()));
    let jwk = json!({"kty": "RSA", "n": n, "e": e, "d": int(key.d()), "p": int(p), "q": int(q),
                     "key_ops": ["decrypt", "unwrapKey"]});
    let imported = call(&kv, "PUT", "/keys/imported", Some(json!({ "key": jwk })));
    assert_eq!(
        imported.status,
        200,
        "{}",
        String::from_utf8_lossy(&imported.body)
    );
    let bundle = imported.json();
    assert_eq!(bundle["key"]["n"], n);
    assert_eq!(bundle["key"]["key_ops"], json!(["decrypt", "unwrapKey"]));

    // Encrypted here with the public half, decrypted by the vault.
    let secret = random_bytes(32);
    let ct = key
        .to_public_key()
        .encrypt(
            &mut rand::thread_rng(),
            rsa::Oaep::new::<sha2::Sha256>(),
            &secret,
        )
        .expect("encrypt");
    assert_eq!(
        value_of(&crypt(&kv, "/keys/imported/decrypt", "RSA-OAEP-256", &ct)),
        secret
    );
    let refused = crypt(&kv, "/keys/imported/encrypt", "RSA-OAEP-256", &secret);
    assert_eq!(
        error_code(&refused),
        (403, "Forbidden".into(), "KeyOperationForbidden".into())
    );
    let public_only = call(
        &kv,
        "PUT",
        "/keys/imported",
        Some(json!({"key": {"kty": "RSA", "n": n, "e": e}})),
    );
    assert_eq!(
        error_code(&public_only),
        (400, "BadParameter".into(), String::new())
    );
}

#[test]
fn a_disabled_version_refuses_decrypt_and_unwrap_only() {
    let kv = start();
    let v1 = kv.create_key("k").version;
    let v2 = kv.create_key("k").version;
    let secret = random_bytes(32);
    let ct = value_of(&crypt(
        &kv,
        &format!("/keys/k/{v2}/encrypt"),
        "RSA-OAEP-256",
        &secret,
    ));
    let patched = call(
        &kv,
        "PATCH",
        &format!("/keys/k/{v2}"),
        Some(json!({"attributes": {"enabled": false}})),
    );
    assert_eq!(patched.status, 200);
    assert_eq!(patched.json()["attributes"]["enabled"], false);

    for op in ["decrypt", "unwrapkey"] {
        let resp = crypt(&kv, &format!("/keys/k/{v2}/{op}"), "RSA-OAEP-256", &ct);
        assert_eq!(
            error_code(&resp),
            (403, "Forbidden".into(), "KeyDisabled".into()),
            "{op}"
        );
    }
    for op in ["encrypt", "wrapkey"] {
        let resp = crypt(&kv, &format!("/keys/k/{v2}/{op}"), "RSA-OAEP-256", &secret);
        assert_eq!(resp.status, 200, "{op}");
    }
    let latest = call(&kv, "GET", "/keys/k/", None).json();
    assert_eq!(
        latest["key"]["kid"],
        format!("{}/keys/k/{v1}", kv.vault()),
        "newest enabled"
    );

    kv.set_enabled("k", &v2, true);
    assert_eq!(
        value_of(&crypt(
            &kv,
            &format!("/keys/k/{v2}/decrypt"),
            "RSA-OAEP-256",
            &ct
        )),
        secret
    );
    // key_ops restrict operations too.
    call(
        &kv,
        "PATCH",
        &format!("/keys/k/{v2}"),
        Some(json!({"key_ops": ["encrypt"]})),
    );
    let resp = crypt(&kv, &format!("/keys/k/{v2}/decrypt"), "RSA-OAEP-256", &ct);
    assert_eq!(
        error_code(&resp),
        (403, "Forbidden".into(), "KeyOperationForbidden".into())
    );
}

#[test]
fn deny_rules_and_faults_answer_like_key_vault() {
    let kv = start();
    let version = kv.create_key("k").version;
    let secret = random_bytes(32);
    let encrypt_as = |identity: &str| {
        let token = kv.mint_token(Some(identity), None);
        let body = json!({"alg": "RSA-OAEP-256", "value": b64(&secret)});
        kv.vault_request(
            "POST",
            &format!("/keys/k/{version}/encrypt?api-version=7.6"),
            Some(&token),
            Some(&body),
        )
    };
    kv.deny(&deny(Some("app-a"), None, "encrypt", "policy"));
    let refused = encrypt_as("app-a");
    assert_eq!(
        error_code(&refused),
        (403, "Forbidden".into(), "ForbiddenByPolicy".into())
    );
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.starts_with("The user, group or application 'appid=app-a;oid=app-a;"),
        "{message}"
    );
    assert!(
        message.contains("does not have keys encrypt permission on key vault"),
        "{message}"
    );
    assert_eq!(encrypt_as("app-b").status, 200);

    let fault = |f: Fault| kv.fault(&f);
    fault(Fault {
        op: "get".into(),
        status: Some(503),
        count: 1,
        retry_after: Some(2),
        ..Fault::default()
    });
    let unavailable = call(&kv, "GET", "/keys/k", None);
    assert_eq!(
        (unavailable.status, unavailable.header("retry-after")),
        (503, Some("2"))
    );
    assert_eq!(
        call(&kv, "GET", "/keys/k", None).status,
        200,
        "one use only"
    );

    fault(Fault {
        op: "*".into(),
        status: Some(401),
        count: 1,
        ..Fault::default()
    });
    let refused = call(&kv, "GET", "/keys/k", None);
    assert_eq!(
        (refused.status, refused.header("www-authenticate").is_some()),
        (401, true)
    );

    fault(Fault {
        op: "get".into(),
        count: 1,
        drop_connection: true,
        ..Fault::default()
    });
    let token = kv.mint_token(None, None);
    let request = format!(
        "GET /keys/k?api-version=7.6 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
        kv.vault().trim_start_matches("https://")
    );
    assert!(
        kv.vault_raw(request.as_bytes(), Duration::from_secs(10))
            .is_err(),
        "connection dropped"
    );

    fault(Fault {
        op: "get".into(),
        count: 1,
        delay_ms: 400,
        ..Fault::default()
    });
    let started = Instant::now();
    assert_eq!(call(&kv, "GET", "/keys/k", None).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));

    for bad in [
        json!({"op": "get", "status": 200}),
        json!({"op": "get", "status": 503, "count": 0}),
    ] {
        let headers = [("Content-Type", "application/json")];
        let resp = kv.token_request("POST", "/admin/fault", &headers, bad.to_string().as_bytes());
        assert_eq!(resp.status, 400, "{bad}");
    }
    let statuses: Vec<u16> = kv
        .log()
        .iter()
        .filter(|e| e.op.as_deref() == Some("get"))
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [503, 200, 401, 0, 200]);
}

#[test]
fn token_endpoints_check_their_headers_and_entra_issues_client_tokens() {
    let kv = start();
    kv.create_key("k");
    let ready = kv.ready().clone();
    let resource = format!(
        "https://0.0.1:{}",
        ready.vault.rsplit(':').next().expect("port")
    );
    let msi = format!("/msi/token?api-version=2019-08-01&resource={resource}&client_id=app-7");
    assert_eq!(
        kv.token_request("GET", &msi, &[], b"").status,
        401,
        "no X-IDENTITY-HEADER"
    );
    let issued = kv.token_request(
        "GET",
        &msi,
        &[("X-IDENTITY-HEADER", &ready.identity_header)],
        b"",
    );
    assert_eq!(issued.status, 200);
    let token = issued.json()["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(
        kv.vault_request("GET", "/keys/k?api-version=7.6", Some(&token), None)
            .status,
        200
    );
    assert_eq!(
        kv.log().last().and_then(|e| e.identity.clone()).as_deref(),
        Some("app-7")
    );
    let imds =
        format!("/metadata/identity/oauth2/token?api-version=2018-02-01&resource={resource}");
    assert_eq!(
        kv.token_request("GET", &imds, &[], b"").status,
        400,
        "no Metadata: true"
    );
    let imds_token = kv.token_request("GET", &imds, &[("Metadata", "true")], b"");
    assert_eq!(imds_token.json()["expires_in"], "3600");

    // Entra v2 on the HTTPS listener: metadata, then client secret and client assertion.
    let config = kv
        .vault_request(
            "GET",
            "/adfs/v2.0/.well-known/openid-configuration",
            None,
            None,
        )
        .json();
    let endpoint = config["token_endpoint"]
        .as_str()
        .expect("token_endpoint")
        .to_string();
    assert_eq!(endpoint, format!("{}/adfs/oauth2/v2.0/token", ready.vault));
    let post_form = |form: &str| {
        let host = ready.vault.trim_start_matches("https://");
        let request = format!(
            "POST /adfs/oauth2/v2.0/token HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{form}",
            form.len()
        );
        kv.vault_raw(request.as_bytes(), Duration::from_secs(10))
            .expect("token POST")
    };
    let scope = format!("scope={resource}/.default+openid+offline_access");
    let secret = post_form(&format!(
        "grant_type=client_credentials&client_id=ci-app&client_secret=s3cret&{scope}"
    ));
    let token = secret.json()["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(
        kv.vault_request("GET", "/keys/k?api-version=7.6", Some(&token), None)
            .status,
        200
    );
    assert_eq!(
        kv.log().last().and_then(|e| e.identity.clone()).as_deref(),
        Some("ci-app")
    );
    let assertion_type =
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";
    let jwt = format!(
        "{}.{}.c2ln",
        b64(br#"{"alg":"RS256"}"#),
        b64(br#"{"sub":"wl"}"#)
    );
    let federated = post_form(&format!("grant_type=client_credentials&client_id=wl-app&{assertion_type}&client_assertion={jwt}&{scope}"));
    assert_eq!(federated.status, 200);
    let bad = post_form(&format!("grant_type=client_credentials&client_id=wl-app&{assertion_type}&client_assertion=nope&{scope}"));
    assert_eq!(
        (bad.status, bad.json()["error"].clone()),
        (401, json!("invalid_client"))
    );
    // No secret or token ever reaches the log.
    let log = serde_json::to_string(&kv.token_request("GET", "/admin/log", &[], b"").json())
        .expect("json");
    assert!(
        !log.contains("s3cret") && !log.contains(&token) && !log.contains(&ready.identity_header)
    );
}

#[test]
fn token_lifetime_and_token_faults_reach_managed_identity_clients() {
    let kv = start();
    kv.create_key("k");
    let ready = kv.ready().clone();
    let port = ready.vault.rsplit(':').next().expect("port");
    let msi = format!("/msi/token?api-version=2019-08-01&resource=https://0.0.1:{port}");
    let header = [("X-IDENTITY-HEADER", ready.identity_header.as_str())];
    let fetch = || kv.token_request("GET", &msi, &header, b"");
    let expires_on = |resp: &Response| {
        let text = resp.json()["expires_on"]
            .as_str()
            .expect("expires_on")
            .to_string();
        text.parse::<u64>().expect("unix seconds")
    };
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
    };

    kv.set_token_lifetime(120);
    let before = now();
    let lifetime = expires_on(&fetch()) - before;
    assert!((119..=121).contains(&lifetime), "{lifetime}");
    // An endpoint that hands out already-expired tokens: the vault refuses them.
    kv.set_token_lifetime(-5);
    let stale = fetch().json()["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let refused = kv.vault_request("GET", "/keys/k?api-version=7.6", Some(&stale), None);
    assert_eq!(
        error_code(&refused),
        (401, "Unauthorized".into(), String::new())
    );

    kv.fault(&Fault {
        op: "token".into(),
        status: Some(500),
        count: 1,
        ..Fault::default()
    });
    assert_eq!(fetch().status, 500);
    assert_eq!(fetch().status, 200, "the fault was used up");
    let statuses: Vec<u16> = kv
        .log()
        .iter()
        .filter(|e| e.listener == "token")
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [200, 200, 500, 200]);
}

#[test]
fn keys_survive_a_restart_with_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        state: Some(dir.path().join("state.json")),
        create: vec!["p".into()],
        ..Options::default()
    };
    let secret = random_bytes(32);
    let (bundle, ct) = {
        let kv = Emulator::start_with(kv_emulator_bin!(), &options);
        let bundle = call(&kv, "GET", "/keys/p", None).json();
        (
            bundle,
            value_of(&crypt(&kv, "/keys/p/encrypt", "RSA-OAEP-256", &secret)),
        )
    };
    let kv = Emulator::start_with(kv_emulator_bin!(), &options);
    let again = call(&kv, "GET", "/keys/p", None).json();
    let version = |b: &Value| {
        b["key"]["kid"]
            .as_str()
            .and_then(|k| k.rsplit('/').next())
            .map(String::from)
    };
    assert_eq!(
        version(&again),
        version(&bundle),
        "--create kept the existing key"
    );
    assert_eq!(again["key"]["n"], bundle["key"]["n"]);
    assert_eq!(
        value_of(&crypt(&kv, "/keys/p/decrypt", "RSA-OAEP-256", &ct)),
        secret
    );
}

#[test]
fn exits_when_stdin_closes_and_on_sigterm() {
    let help = Command::new(kv_emulator_bin!())
        .arg("--help")
        .output()
        .expect("--help");
    assert!(String::from_utf8_lossy(&help.stdout).contains("--state FILE"));

    for close_stdin in [true, false] {
        let mut child = Command::new(kv_emulator_bin!())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("ready line");
        let ready: Value = serde_json::from_str(&line).expect("ready JSON");
        let ca = PathBuf::from(ready["ca"].as_str().expect("ca"));
        assert!(ca.is_file());
        let stdin = child.stdin.take();
        if close_stdin {
            drop(stdin);
        } else {
            let killed = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            assert!(killed.is_ok_and(|s| s.success()));
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("exited in time")
            .expect("wait");
        assert!(status.success(), "{status:?}");
        assert!(!ca.exists(), "its temporary directory was removed");
    }
}
