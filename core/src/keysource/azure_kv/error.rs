//! Key Vault errors that say what to do: which permission is missing (in both the RBAC
//! and the access-policy model), whether the key or only its version is missing, which
//! credential was refused, which host could not be reached. Every message names the key
//! (`https://vault/keys/name[/version]`) and never carries a token or key material.

use super::challenge::ChallengeError;
use super::credential::CredentialError;
use super::key_id::{KeyId, KeyIdError, KIND};
use crate::keysource::KeyError;
use serde::Deserialize;
use std::fmt;

/// A Key Vault key operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Read the key (public part and attributes).
    Get,
    /// Encrypt with the key.
    Encrypt,
    /// Decrypt with the key.
    Decrypt,
    /// Wrap a key with the key.
    WrapKey,
    /// Unwrap a key with the key.
    UnwrapKey,
}

impl Operation {
    /// The operation's path segment (`encrypt`, `wrapkey`, …); `None` for [`Operation::Get`].
    pub fn path(self) -> Option<&'static str> {
        match self {
            Self::Get => None,
            Self::Encrypt => Some("encrypt"),
            Self::Decrypt => Some("decrypt"),
            Self::WrapKey => Some("wrapkey"),
            Self::UnwrapKey => Some("unwrapkey"),
        }
    }

    /// The RBAC data action that allows it.
    pub fn rbac_action(self) -> &'static str {
        match self {
            Self::Get => "Microsoft.KeyVault/vaults/keys/read",
            Self::Encrypt => "Microsoft.KeyVault/vaults/keys/encrypt/action",
            Self::Decrypt => "Microsoft.KeyVault/vaults/keys/decrypt/action",
            Self::WrapKey => "Microsoft.KeyVault/vaults/keys/wrap/action",
            Self::UnwrapKey => "Microsoft.KeyVault/vaults/keys/unwrap/action",
        }
    }

    /// The access-policy key permission that allows it.
    pub fn access_policy_permission(self) -> &'static str {
        match self {
            Self::Get => "keys/get",
            Self::Encrypt => "keys/encrypt",
            Self::Decrypt => "keys/decrypt",
            Self::WrapKey => "keys/wrapKey",
            Self::UnwrapKey => "keys/unwrapKey",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Get => "get",
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::WrapKey => "wrapKey",
            Self::UnwrapKey => "unwrapKey",
        })
    }
}

/// What a 404 was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// The vault has no key of that name.
    Key,
    /// The key exists; the version does not.
    Version,
    /// One of the two (the vault would not say which).
    KeyOrVersion,
}

/// A Key Vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The key URL or entry is not a Key Vault key.
    #[error(transparent)]
    InvalidKey(#[from] KeyIdError),
    /// The client was configured wrongly.
    #[error("Azure Key Vault client: {0}")]
    Config(String),
    /// 403: the caller lacks the permission.
    #[error(
        "Azure Key Vault denied {operation} on {key}: the caller needs the RBAC data action \
         '{rbac}' (e.g. through the \"Key Vault Crypto User\" role) or, on a vault that uses \
         access policies, the key permission '{policy}'{said}",
        rbac = operation.rbac_action(),
        policy = operation.access_policy_permission(),
        said = quoted(detail)
    )]
    Forbidden {
        /// The key.
        key: Box<KeyId>,
        /// The denied operation.
        operation: Operation,
        /// The server's `Action:` line or policy sentence, when it sent one.
        detail: Option<String>,
    },
    /// 403 `KeyDisabled`, or a public key whose attributes say it is disabled.
    #[error(
        "Azure Key Vault key {key} is disabled, so {operation} is not allowed: enable this \
         key version in the vault (or, to encrypt, use an enabled version){said}",
        said = quoted(detail)
    )]
    KeyDisabled {
        /// The key.
        key: Box<KeyId>,
        /// The refused operation.
        operation: Operation,
        /// The server's message, when it sent one.
        detail: Option<String>,
    },
    /// 404.
    #[error("{}", not_found(key, *missing))]
    NotFound {
        /// The key.
        key: Box<KeyId>,
        /// What is missing.
        missing: Missing,
    },
    /// 401 on a request that carried a fresh token, after one re-challenge.
    #[error(
        "Azure Key Vault refused the token from {credential} for {operation} on {key} \
         (401 Unauthorized even after a fresh challenge): check that this identity belongs \
         to the vault's tenant and that the token is for the vault's resource{said}",
        said = quoted(detail)
    )]
    Unauthorized {
        /// The key.
        key: Box<KeyId>,
        /// The operation.
        operation: Operation,
        /// The credential that produced the token.
        credential: String,
        /// The server's message.
        detail: Option<String>,
    },
    /// The credential could not produce a token.
    #[error("cannot get a token for Azure Key Vault key {key}: {error}")]
    Credential {
        /// The key.
        key: Box<KeyId>,
        /// Why.
        error: CredentialError,
    },
    /// The 401 challenge was unusable or named another resource.
    #[error("Azure Key Vault key {key}: {error}")]
    Challenge {
        /// The key.
        key: Box<KeyId>,
        /// Why.
        error: ChallengeError,
    },
    /// 429 until the attempts ran out.
    #[error(
        "Azure Key Vault throttled {operation} on {key}: still 429 Too Many Requests after \
         {attempts} attempts. Vault request limits apply per vault and caller over ~10 s \
         windows: retry later, run fewer jobs at once, or let public keys be cached{said}",
        said = quoted(detail)
    )]
    Throttled {
        /// The key.
        key: Box<KeyId>,
        /// The operation.
        operation: Operation,
        /// Attempts made.
        attempts: u32,
        /// The server's message.
        detail: Option<String>,
    },
    /// Any other HTTP error status.
    #[error(
        "Azure Key Vault answered {status}{code} to {operation} on {key}{after}{said}",
        code = code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(),
        after = if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() },
        said = quoted(detail)
    )]
    Status {
        /// The key.
        key: Box<KeyId>,
        /// The operation.
        operation: Operation,
        /// HTTP status.
        status: u16,
        /// `error.code` (and `innererror.code`).
        code: Option<String>,
        /// The server's message.
        detail: Option<String>,
        /// Attempts made.
        attempts: u32,
    },
    /// No HTTP response at all.
    #[error(
        "cannot reach Azure Key Vault at {host} for {operation} on {key} after {attempts} \
         attempt(s): {detail}{hint}",
        hint = hint.as_deref().map(|h| format!(" — {h}")).unwrap_or_default()
    )]
    Network {
        /// The key.
        key: Box<KeyId>,
        /// The operation.
        operation: Operation,
        /// `host[:port]` the request went to.
        host: String,
        /// The transport error.
        detail: String,
        /// What to try.
        hint: Option<String>,
        /// Attempts made.
        attempts: u32,
    },
    /// wasm32 in a browser: `fetch` failed without a response (CORS).
    #[error(
        "{operation} on {key} via {host}: the browser blocked the request: Azure Key Vault \
         sends no CORS headers — use azureKv.endpoint with a CORS proxy such as `leafcrypt \
         kv-proxy`"
    )]
    BrowserBlocked {
        /// The key.
        key: Box<KeyId>,
        /// The operation.
        operation: Operation,
        /// `host[:port]` the request went to.
        host: String,
    },
    /// The vault's answer could not be understood.
    #[error("Azure Key Vault key {key}: unexpected answer to {operation}: {message}")]
    InvalidResponse {
        /// The key.
        key: Box<KeyId>,
        /// The operation.
        operation: Operation,
        /// What was wrong.
        message: String,
    },
    /// Local cryptography failed (bad public key, bad ciphertext).
    #[error("Azure Key Vault key {key}: {message}")]
    Crypto {
        /// The key.
        key: Box<KeyId>,
        /// What failed (never key material).
        message: String,
    },
}

fn quoted(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(". Key Vault said: {d}"))
        .unwrap_or_default()
}

fn not_found(key: &KeyId, missing: Missing) -> String {
    let version = key.version.as_deref().unwrap_or("");
    let vault = &key.vault_url;
    let name = &key.name;
    match missing {
        Missing::Key => format!(
            "Azure Key Vault key {key} not found: vault {vault} has no key named '{name}' \
             (check the vault URL and name; a deleted key can be recovered while soft-deleted)"
        ),
        Missing::Version => format!(
            "Azure Key Vault key {key} not found: key '{name}' exists in {vault} but has no \
             version '{version}' (the file names a version that was never in this vault)"
        ),
        Missing::KeyOrVersion => format!(
            "Azure Key Vault key {key} not found: vault {vault} has no key '{name}' or no \
             version '{version}' of it"
        ),
    }
}

impl KvError {
    /// The key the error is about, when it is about one.
    pub fn key(&self) -> Option<&KeyId> {
        match self {
            Self::InvalidKey(_) | Self::Config(_) => None,
            Self::Forbidden { key, .. }
            | Self::KeyDisabled { key, .. }
            | Self::NotFound { key, .. }
            | Self::Unauthorized { key, .. }
            | Self::Credential { key, .. }
            | Self::Challenge { key, .. }
            | Self::Throttled { key, .. }
            | Self::Status { key, .. }
            | Self::Network { key, .. }
            | Self::BrowserBlocked { key, .. }
            | Self::InvalidResponse { key, .. }
            | Self::Crypto { key, .. } => Some(&**key),
        }
    }

    /// The error for an HTTP error `status` other than 401 and 404 (those need the
    /// client's context), from the response `body`.
    pub fn from_status(
        key: &KeyId,
        operation: Operation,
        status: u16,
        body: &str,
        attempts: u32,
    ) -> Self {
        let server = ServerError::parse(body);
        let key = Box::new(key.clone());
        match status {
            403 if server.is_key_disabled() => Self::KeyDisabled {
                key,
                operation,
                detail: server.message_line(),
            },
            403 => Self::Forbidden {
                key,
                operation,
                detail: server.denial_detail(),
            },
            429 => Self::Throttled {
                key,
                operation,
                attempts,
                detail: server.message_line(),
            },
            _ => Self::Status {
                key,
                operation,
                status,
                code: server.codes(),
                detail: server.message_line(),
                attempts,
            },
        }
    }
}

impl From<KvError> for KeyError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::InvalidKey(e) => KeyError::InvalidKey {
                kind: KIND.into(),
                key: e.input.clone(),
                message: e.reason.into(),
            },
            other => KeyError::Failed {
                kind: KIND.into(),
                message: other.to_string(),
            },
        }
    }
}

/// Key Vault's error body: `{"error":{"code","message","innererror":{"code"}}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerError {
    /// `error.code`.
    pub code: Option<String>,
    /// `error.innererror.code`.
    pub inner_code: Option<String>,
    /// `error.message`.
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    code: Option<String>,
    message: Option<String>,
    innererror: Option<Inner>,
}

#[derive(Deserialize)]
struct Inner {
    code: Option<String>,
}

/// Longest server text quoted in a message.
const MAX_QUOTE: usize = 400;

impl ServerError {
    /// Parses `body`; anything else yields no fields.
    pub fn parse(body: &str) -> Self {
        let Ok(Envelope { error: Some(b) }) = serde_json::from_str::<Envelope>(body) else {
            return Self::default();
        };
        Self {
            code: b.code,
            inner_code: b.innererror.and_then(|i| i.code),
            message: b.message,
        }
    }

    fn codes(&self) -> Option<String> {
        match (&self.code, &self.inner_code) {
            (Some(c), Some(i)) => Some(format!("{c}/{i}")),
            (Some(c), None) => Some(c.clone()),
            (None, i) => i.clone(),
        }
    }

    fn is_key_disabled(&self) -> bool {
        self.code.as_deref() == Some("KeyDisabled")
            || self.inner_code.as_deref() == Some("KeyDisabled")
            || self
                .message
                .as_deref()
                .is_some_and(|m| m.contains("disabled key"))
    }

    /// The message's first line, without Key Vault's "For help" link, bounded.
    pub(crate) fn message_line(&self) -> Option<String> {
        let m = self.message.as_deref()?;
        let line = m.lines().next().unwrap_or(m);
        let line = line
            .split(" For help resolving this issue")
            .next()
            .unwrap_or(line)
            .trim();
        (!line.is_empty()).then(|| bounded(line))
    }

    /// For a 403: the RBAC `Action: '…'` line, else the policy sentence, with the codes.
    fn denial_detail(&self) -> Option<String> {
        let codes = self.codes().map(|c| format!(" ({c})")).unwrap_or_default();
        let message = self.message.as_deref().unwrap_or("");
        if let Some(action) = message
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("Action:"))
        {
            return Some(format!("{}{codes}", bounded(action)));
        }
        self.message_line()
            .map(|m| format!("{m}{codes}"))
            .or_else(|| self.codes())
    }
}

fn bounded(s: &str) -> String {
    if s.len() <= MAX_QUOTE {
        return s.to_string();
    }
    let mut end = MAX_QUOTE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyId {
        KeyId::parse("https://v.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef").unwrap()
    }

    const POLICY: &str = r#"{"error":{"code":"Forbidden","message":"The user, group or application 'appid=a;oid=o;iss=https://sts.windows.net/t/' does not have keys decrypt permission on key vault 'v;location=northeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287","innererror":{"code":"ForbiddenByPolicy"}}}"#;
    const RBAC: &str = r#"{"error":{"code":"Forbidden","message":"Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: name=x;appid=a;oid=o;iss=i\r\nAction: 'Microsoft.KeyVault/vaults/keys/encrypt/action'\r\nResource: '/subscriptions/s/keys/k'\r\nAssignment: (not found)\r\n","innererror":{"code":"ForbiddenByRbac"}}}"#;

    #[test]
    fn forbidden_names_both_permission_models_and_quotes_the_server() {
        let policy = KvError::from_status(&key(), Operation::Decrypt, 403, POLICY, 1).to_string();
        for part in [
            "denied decrypt on https://v.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef",
            "'Microsoft.KeyVault/vaults/keys/decrypt/action'",
            "'keys/decrypt'",
            "does not have keys decrypt permission on key vault 'v;location=northeurope'.",
            "(Forbidden/ForbiddenByPolicy)",
        ] {
            assert!(policy.contains(part), "missing {part:?} in {policy}");
        }
        assert!(!policy.contains("fwlink"), "{policy}");

        let rbac = KvError::from_status(&key(), Operation::Encrypt, 403, RBAC, 1).to_string();
        for part in [
            "denied encrypt",
            "'Microsoft.KeyVault/vaults/keys/encrypt/action'",
            "'keys/encrypt'",
            "Key Vault said: Action: 'Microsoft.KeyVault/vaults/keys/encrypt/action' (Forbidden/ForbiddenByRbac)",
        ] {
            assert!(rbac.contains(part), "missing {part:?} in {rbac}");
        }
        let get = KvError::from_status(&key(), Operation::Get, 403, "", 1).to_string();
        assert!(
            get.contains("'Microsoft.KeyVault/vaults/keys/read'") && get.contains("'keys/get'")
        );
    }

    #[test]
    fn maps_disabled_throttled_and_other_statuses() {
        let disabled = r#"{"error":{"code":"Forbidden","message":"Operation decrypt is not allowed on a disabled key.","innererror":{"code":"KeyDisabled"}}}"#;
        let e = KvError::from_status(&key(), Operation::Decrypt, 403, disabled, 1);
        assert!(matches!(e, KvError::KeyDisabled { .. }), "{e}");
        assert!(e.to_string().contains("is disabled"));

        let throttled = r#"{"error":{"code":"Throttled","message":"Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"}}"#;
        let e = KvError::from_status(&key(), Operation::Decrypt, 429, throttled, 4).to_string();
        assert!(
            e.contains("after 4 attempts") && e.contains("VaultRequestTypeLimitReached"),
            "{e}"
        );

        let bad = r#"{"error":{"code":"BadParameter","message":"The parameter is incorrect."}}"#;
        let e = KvError::from_status(&key(), Operation::Decrypt, 400, bad, 1).to_string();
        assert!(
            e.contains("400 BadParameter") && e.contains("The parameter is incorrect."),
            "{e}"
        );
        let e = KvError::from_status(&key(), Operation::Get, 502, "<html>", 4).to_string();
        assert!(e.contains("502") && e.contains("after 4 attempts"), "{e}");
    }

    #[test]
    fn not_found_says_what_is_missing_and_converts_to_key_error() {
        let e = |missing| {
            KvError::NotFound {
                key: Box::new(key()),
                missing,
            }
            .to_string()
        };
        assert!(e(Missing::Key).contains("has no key named 'k'"));
        assert!(e(Missing::Version).contains("has no version '0123456789abcdef0123456789abcdef'"));
        let converted: KeyError = KvError::NotFound {
            key: Box::new(key()),
            missing: Missing::Key,
        }
        .into();
        assert!(
            matches!(&converted, KeyError::Failed { kind, message } if kind == "azure_kv" && message.contains(&key().to_string()))
        );
    }
}
