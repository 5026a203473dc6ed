//! Key Vault's error responses, with the real service's codes and message templates:
//! `{"error":{"code","message","innererror":{"code"}}}`.

use hyper::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::StatusCode;
use serde_json::json;

use crate::http::{self, Resp};
use crate::routes::Op;
use crate::state::Challenge;

/// Who is calling, as the 403 messages name them.
pub struct Caller<'a> {
    /// The token's `oid` (= `appid`).
    pub identity: &'a str,
    /// The token's tenant.
    pub tenant: &'a str,
}

/// An error body with an optional inner code.
pub fn error(status: StatusCode, code: &str, message: &str, inner: Option<&str>) -> Resp {
    let mut err = json!({ "code": code, "message": message });
    if let Some(inner) = inner {
        err["innererror"] = json!({ "code": inner });
    }
    http::json(status, &json!({ "error": err }))
}

/// 401 with the bearer challenge; `message` says why (missing, expired, wrong audience…).
pub fn unauthorized(challenge: &Challenge, message: &str) -> Resp {
    let mut resp = error(StatusCode::UNAUTHORIZED, "Unauthorized", message, None);
    let value = format!(
        "Bearer authorization=\"{}/{}\", resource=\"{}\"",
        challenge.authority.trim_end_matches('/'),
        challenge.tenant,
        challenge.resource
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    resp
}

/// 404 `KeyNotFound`, naming the key (or `name/version`).
pub fn key_not_found(name: &str, version: Option<&str>) -> Resp {
    let id = match version {
        Some(v) => format!("{name}/{v}"),
        None => name.to_string(),
    };
    let message = format!(
        "A key with (name/id) {id} was not found in this key vault. If you recently deleted \
         this key you may be able to recover it using the correct recovery command. For help \
         resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
    );
    error(StatusCode::NOT_FOUND, "KeyNotFound", &message, None)
}

/// 403 from an access policy lacking `keys/<op>`.
pub fn forbidden_by_policy(caller: &Caller, op: Op, vault: &str) -> Resp {
    let message = format!(
        "The user, group or application 'appid={id};oid={id};iss=https://sts.windows.net/{tenant}/' \
         does not have keys {perm} permission on key vault '{vault};location=local'. For help \
         resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
        id = caller.identity,
        tenant = caller.tenant,
        perm = op.policy_name(),
    );
    error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &message,
        Some("ForbiddenByPolicy"),
    )
}

/// 403 from RBAC: no role grants the operation's data action.
pub fn forbidden_by_rbac(caller: &Caller, op: Op, vault: &str, key: &str) -> Resp {
    let message = format!(
        "Caller is not authorized to perform action on resource.\r\n\
         If role assignments, deny assignments or role definitions were changed recently, \
         please observe propagation time.\r\n\
         Caller: appid={id};oid={id};iss=https://sts.windows.net/{tenant}/\r\n\
         Action: '{action}'\r\n\
         Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/\
         providers/microsoft.keyvault/vaults/{vault}/keys/{key}'\r\n\
         Assignment: (not found)\r\n\
         DenyAssignmentId: null\r\n\
         DecisionReason: null \r\n\
         Vault: {vault};location=local\r\n",
        id = caller.identity,
        tenant = caller.tenant,
        action = op.rbac_action(),
    );
    error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &message,
        Some("ForbiddenByRbac"),
    )
}

/// 403 for decrypt/unwrap on a disabled version.
pub fn key_disabled(op: Op) -> Resp {
    let message = format!(
        "Operation {} is not allowed on a disabled key.",
        op.policy_name()
    );
    error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &message,
        Some("KeyDisabled"),
    )
}

/// 403 for an operation missing from the version's `key_ops`.
pub fn operation_not_permitted(op: Op) -> Resp {
    let message = format!(
        "Operation {} is not permitted on this key.",
        op.policy_name()
    );
    error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &message,
        Some("KeyOperationForbidden"),
    )
}

/// 400 `BadParameter`.
pub fn bad_parameter(message: &str) -> Resp {
    error(StatusCode::BAD_REQUEST, "BadParameter", message, None)
}

/// 500: the emulator itself failed (e.g. writing the state file).
pub fn internal(message: &str) -> Resp {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        message,
        None,
    )
}

/// An injected failure: 429 `Throttled` or a 5xx, with `Retry-After` when given.
pub fn injected(status: StatusCode, retry_after: Option<u64>) -> Resp {
    let mut resp = if status == StatusCode::TOO_MANY_REQUESTS {
        let message = "Request was not processed because too many requests were received. \
                       Reason: VaultRequestTypeLimitReached";
        error(status, "Throttled", message, None)
    } else {
        let message = "The service is temporarily unavailable (injected by the emulator).";
        error(status, "ServiceUnavailable", message, None)
    };
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}
