//! A minimal Entra ID (v2) authority on the HTTPS listener, for client-secret, client-certificate
//! and workload-identity credentials: instance discovery, OpenID metadata, and the
//! client-credentials token endpoint.
//!
//! Credentials are checked for shape only (a non-empty secret, or a JWT-shaped assertion);
//! the identity is the `client_id`.

use std::collections::HashMap;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::json;

use crate::http::{self, Dropped, Resp};
use crate::jwt::is_jwt_shaped;
use crate::reqlog::Entry;
use crate::state::Shared;
use crate::tokens::{self, oauth_error, TOKEN_OP};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Serves an authority request, recording it in the log.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let mut entry = Entry::new("vault", &req);
    let result = respond(&shared, req, &mut entry).await;
    entry.status = result.as_ref().map_or(0, |r| r.status().as_u16());
    shared.record(entry);
    result
}

async fn respond(
    shared: &Shared,
    req: Request<Incoming>,
    entry: &mut Entry,
) -> Result<Resp, Dropped> {
    let base = format!(
        "https://{}",
        http::header(&req, "host").unwrap_or(&shared.vault_host)
    );
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method(), segments.as_slice()) {
        (&Method::GET, ["common", "discovery", "instance"]) => {
            let query = http::query(&req);
            let tenant = query
                .get("authorization_endpoint")
                .and_then(|e| e.strip_prefix(&base))
                .and_then(|rest| {
                    rest.trim_start_matches('/')
                        .split('/')
                        .next()
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "common".to_string());
            let host = base.trim_start_matches("https://");
            Ok(http::json(
                StatusCode::OK,
                &json!({
                    "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
                    "api-version": "1.1",
                    "metadata": [{ "preferred_network": host, "preferred_cache": host, "aliases": [host] }],
                }),
            ))
        }
        (&Method::GET, [tenant, "v2.0", ".well-known", "openid-configuration"])
        | (&Method::GET, [tenant, ".well-known", "openid-configuration"]) => Ok(http::json(
            StatusCode::OK,
            &openid_configuration(&base, tenant),
        )),
        (&Method::POST, [_tenant, "oauth2", "v2.0", "token"]) => {
            entry.op = Some(TOKEN_OP.to_string());
            if let Some(answer) = tokens::injected(shared).await {
                return answer;
            }
            let body = match http::body(req.into_body()).await {
                Ok(b) => b,
                Err(msg) => {
                    return Ok(oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        &msg,
                    ))
                }
            };
            let form: HashMap<String, String> =
                form_urlencoded::parse(&body).into_owned().collect();
            Ok(token(shared, &form, entry))
        }
        _ => Ok(oauth_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint",
        )),
    }
}

fn openid_configuration(base: &str, tenant: &str) -> serde_json::Value {
    json!({
        "issuer": format!("{base}/{tenant}/v2.0"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": null,
    })
}

/// The client-credentials grant.
fn token(shared: &Shared, form: &HashMap<String, String>, entry: &mut Entry) -> Resp {
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if field("grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let Some(client_id) = field("client_id") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id is required",
        );
    };
    let credential_ok = match (field("client_secret"), field("client_assertion")) {
        (Some(_), None) => true,
        (None, Some(assertion)) => {
            field("client_assertion_type") == Some(JWT_BEARER) && is_jwt_shaped(assertion)
        }
        _ => false,
    };
    if !credential_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "send either client_secret or a JWT client_assertion of type jwt-bearer",
        );
    }
    // Go adds "openid offline_access profile" to the scope: the resource is the /.default one.
    let Some(scope) = field("scope").and_then(|s| s.split(' ').find(|p| p.ends_with("/.default")))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "a <resource>/.default scope is required",
        );
    };
    let (access_token, claims) = shared.issue(client_id, scope, None);
    entry.authorized = true;
    entry.identity = Some(client_id.to_string());
    let expires_in = claims.exp.saturating_sub(claims.iat);
    http::json(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": access_token,
        }),
    )
}
