//! Stand-ins for `oauth2.googleapis.com/token` (JWT-bearer grant from a service-account key,
//! RS256 verified; refresh-token grant for gcloud's authorized_user credentials) and for the
//! GCE metadata server's token endpoint.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, StatusCode};
use rsa::Pkcs1v15Sign;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::errors;
use crate::http::{self, Resp};
use crate::state::Shared;

/// Access-token lifetime, as Google's (one hour minus a second).
const LIFETIME: u64 = 3599;

/// The identity of the metadata server's default service account.
pub const METADATA_IDENTITY: &str = "default-compute@emu-project.iam.gserviceaccount.com";

/// Google's token endpoint, the `aud` google-auth puts in every assertion.
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

fn token_response(shared: &Shared, identity: &str) -> Resp {
    let token = shared.lock().mint(identity, LIFETIME);
    http::json(
        StatusCode::OK,
        &json!({"access_token": token, "expires_in": LIFETIME, "token_type": "Bearer"}),
    )
}

/// `POST /token`.
pub async fn token(shared: Arc<Shared>, req: Request<Incoming>) -> Resp {
    let body = match http::body(req.into_body()).await {
        Ok(b) => b,
        Err(e) => return errors::oauth(400, "invalid_request", &e),
    };
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(&body).into_owned().collect();
    match form.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
            let assertion = form.get("assertion").map(String::as_str).unwrap_or("");
            match verify_assertion(&shared, assertion) {
                Ok(identity) => token_response(&shared, &identity),
                Err(description) => errors::oauth(400, "invalid_grant", description),
            }
        }
        Some("refresh_token") => {
            let refresh = form.get("refresh_token").map(String::as_str).unwrap_or("");
            let identity = shared.lock().refresh_tokens.get(refresh).cloned();
            match identity {
                Some(identity) => token_response(&shared, &identity),
                None => errors::oauth(400, "invalid_grant", "Bad Request"),
            }
        }
        _ => errors::oauth(400, "unsupported_grant_type", "Invalid grant_type."),
    }
}

/// `POST /sts`: the STS token exchange of workload-identity federation. The subject token
/// must be one this emulator issued (`<dir>/subject-token`); the answer is a federated token.
pub async fn sts(shared: Arc<Shared>, req: Request<Incoming>) -> Resp {
    let body = match http::body(req.into_body()).await {
        Ok(b) => b,
        Err(e) => return errors::oauth(400, "invalid_request", &e),
    };
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" {
        return errors::oauth(400, "invalid_grant", "Invalid grant_type.");
    }
    if get("requested_token_type") != "urn:ietf:params:oauth:token-type:access_token"
        || get("subject_token_type").is_empty()
        || !get("audience").starts_with("//iam.googleapis.com/")
    {
        return errors::oauth(400, "invalid_request", "Invalid token exchange request.");
    }
    let identity = shared
        .lock()
        .subject_tokens
        .get(get("subject_token"))
        .cloned();
    match identity {
        Some(identity) => {
            let token = shared.lock().mint(&identity, LIFETIME);
            http::json(
                StatusCode::OK,
                &json!({"access_token": token, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": LIFETIME}),
            )
        }
        None => errors::oauth(
            400,
            "invalid_grant",
            "The audience in ID Token does not match the expected audience.",
        ),
    }
}

/// `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken` (IAM credentials):
/// a token for `email`, to a caller with a valid bearer token.
pub fn impersonate(shared: &Shared, caller: Option<String>, path: &str) -> Resp {
    let Some(caller) = caller else {
        return errors::invalid_credentials();
    };
    let email = path
        .trim_start_matches("/v1/projects/-/serviceAccounts/")
        .trim_end_matches(":generateAccessToken");
    let _ = caller;
    let token = shared.lock().mint(email, LIFETIME);
    let expire = crate::now() + LIFETIME;
    http::json(
        StatusCode::OK,
        &json!({"accessToken": token, "expireTime": rfc3339(expire)}),
    )
}

/// Unix seconds as RFC 3339 UTC.
fn rfc3339(t: u64) -> String {
    let (days, secs) = (t / 86_400, t % 86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Checks a service-account assertion: RS256 by a registered account (`iss`), `aud` = our
/// token endpoint, not expired, at most an hour long, with a scope. Returns the account's email.
fn verify_assertion(shared: &Shared, jwt: &str) -> Result<String, &'static str> {
    let (iss, claims) = verify_signed(shared, jwt)?;
    // google-auth always names Google's endpoint; others name the file's token_uri.
    let aud = claims["aud"].as_str().unwrap_or("");
    if aud != shared.token_uri() && aud != GOOGLE_TOKEN_URI {
        return Err("Invalid JWT: Failed audience check.");
    }
    if claims["scope"].as_str().is_none_or(str::is_empty) {
        return Err("Invalid JWT: no scope claim.");
    }
    Ok(iss)
}

/// Checks a self-signed JWT used directly as a bearer token (what Google's libraries send for
/// service accounts when they can): RS256 by a registered account, in its lifetime, with
/// `aud` = the Cloud KMS service or a scope. Returns the account's email.
pub fn verify_self_signed(shared: &Shared, jwt: &str) -> Result<String, &'static str> {
    let (iss, claims) = verify_signed(shared, jwt)?;
    let aud_ok = claims["aud"]
        .as_str()
        .is_some_and(|a| a.starts_with("https://cloudkms.googleapis.com"));
    let scope_ok = claims["scope"].as_str().is_some_and(|s| !s.is_empty());
    if !aud_ok && !scope_ok {
        return Err("Invalid JWT: Failed audience check.");
    }
    Ok(iss)
}

/// Verifies the RS256 signature by the account named in `iss` and the time claims.
fn verify_signed(shared: &Shared, jwt: &str) -> Result<(String, Value), &'static str> {
    let (signing_input, signature) = jwt.rsplit_once('.').ok_or("Invalid JWT.")?;
    let (header, claims) = signing_input.split_once('.').ok_or("Invalid JWT.")?;
    let decode = |part: &str| -> Result<Value, &'static str> {
        let raw = URL_SAFE_NO_PAD.decode(part).map_err(|_| "Invalid JWT.")?;
        serde_json::from_slice(&raw).map_err(|_| "Invalid JWT.")
    };
    let (header, claims) = (decode(header)?, decode(claims)?);
    if header["alg"] != "RS256" {
        return Err("Invalid JWT: unsupported algorithm.");
    }
    let iss = claims["iss"].as_str().ok_or("Invalid JWT: no iss claim.")?;
    let public = shared
        .lock()
        .accounts
        .get(iss)
        .cloned()
        .ok_or("Invalid JWT Signature.")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "Invalid JWT Signature.")?;
    let hash = Sha256::digest(signing_input.as_bytes());
    let padding = Pkcs1v15Sign {
        hash_len: Some(32),
        prefix: SHA256_DIGEST_INFO_PREFIX.into(),
    };
    public
        .verify(padding, &hash, &signature)
        .map_err(|_| "Invalid JWT Signature.")?;
    let now = crate::now();
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap_or(0),
        claims["exp"].as_u64().unwrap_or(0),
    );
    if exp <= now || exp < iat || exp - iat > 3600 || iat > now + 300 {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
    }
    Ok((iss.to_string(), claims))
}

/// The metadata server: `/` (a probe) and `.../service-accounts/default/token` and `email`,
/// each requiring `Metadata-Flavor: Google` like the real one.
pub fn metadata(shared: &Shared, req: &Request<Incoming>) -> Resp {
    let path = req.uri().path();
    let mut resp = if http::header(req, "metadata-flavor") != Some("Google") {
        let mut r = http::json(
            StatusCode::FORBIDDEN,
            &json!("Missing Metadata-Flavor:Google header."),
        );
        *r.status_mut() = StatusCode::FORBIDDEN;
        r
    } else {
        match path.trim_end_matches('/') {
            "" | "/computeMetadata/v1" => http::json(StatusCode::OK, &json!({})),
            "/computeMetadata/v1/instance/service-accounts/default/token" => {
                token_response(shared, METADATA_IDENTITY)
            }
            "/computeMetadata/v1/instance/service-accounts/default/email" => {
                http::json(StatusCode::OK, &json!(METADATA_IDENTITY))
            }
            "/computeMetadata/v1/instance/service-accounts/default" => http::json(
                StatusCode::OK,
                &json!({"aliases": ["default"], "email": METADATA_IDENTITY,
                        "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}),
            ),
            "/computeMetadata/v1/project/project-id" => {
                http::json(StatusCode::OK, &json!("emu-project"))
            }
            _ => http::json(StatusCode::NOT_FOUND, &json!("Not Found")),
        }
    };
    resp.headers_mut()
        .insert("metadata-flavor", HeaderValue::from_static("Google"));
    resp
}
