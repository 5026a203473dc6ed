//! Publishing to Vault KV (v1 or v2) as sops 3.11 does: the decrypted tree is written as
//! the secret's data at `<mount><vault_path><file name>` (v2: under `<mount>data/`, wrapped
//! in `{"data": …}`), unless the secret already holds exactly that data. The address is
//! the rule's `vault_address`, else `VAULT_ADDR` (default `https://127.0.0.1:8200`); the
//! token, namespace and CA bundle as for the `hc_vault` key source.

use crate::failure::{CliResult, Failure};
use leafcrypt_core::keysource::hc_vault::Settings;
use leafcrypt_core::keysource::rest::redact;
use leafcrypt_core::ExitCode;
use serde_json::{json, Value};
use std::path::PathBuf;

/// A Vault KV destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultDestination {
    address: String,
    path: String,
    mount: String,
    version: u8,
}

impl VaultDestination {
    /// As sops's `NewVaultDestination`: `path` and `mount` end with `/`, the mount defaults
    /// to `secret/`, a version other than 1 or 2 is 2.
    pub fn new(address: &str, path: &str, mount: &str, version: i64) -> Self {
        let slash = |s: &str| {
            if s.ends_with('/') {
                s.to_string()
            } else {
                format!("{s}/")
            }
        };
        Self {
            address: address.to_string(),
            path: slash(path),
            mount: slash(if mount.is_empty() { "secret/" } else { mount }),
            version: if version == 1 { 1 } else { 2 },
        }
    }

    fn address(&self) -> String {
        if !self.address.is_empty() {
            return self.address.clone();
        }
        std::env::var("VAULT_ADDR")
            .ok()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "https://127.0.0.1:8200".into())
    }

    fn secret_path(&self, file_name: &str) -> String {
        match self.version {
            1 => format!("{}{}{file_name}", self.mount, self.path),
            _ => format!("{}data/{}{file_name}", self.mount, self.path),
        }
    }

    /// `<address>/v1/<secret path>`, what sops prints.
    pub fn url(&self, file_name: &str) -> String {
        format!("{}/v1/{}", self.address(), self.secret_path(file_name))
    }

    /// Writes `data` for `file_name` unless the secret already holds it.
    pub fn upload(&self, data: &Value, file_name: &str) -> CliResult<()> {
        crate::runtime::block_on(self.upload_async(data, file_name))
    }

    async fn upload_async(&self, data: &Value, file_name: &str) -> CliResult<()> {
        let fail = |m: String| Failure::new(ExitCode::ErrorGeneric, m);
        let env = |k: &str| std::env::var(k).ok();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let settings =
            Settings::from_env(&env, home.as_deref()).map_err(|e| fail(e.to_string()))?;
        let http = leafcrypt_core::keysource::rest::http::client(&settings.http).map_err(fail)?;
        let url = self.url(file_name);
        let secrets: Vec<&str> = settings.token.iter().map(|t| t.as_str()).collect();
        let with_headers = |mut r: reqwest::RequestBuilder| {
            r = r.header("X-Vault-Request", "true");
            if let Some(t) = &settings.token {
                r = r.header("X-Vault-Token", t.as_str());
            }
            if let Some(ns) = &settings.namespace {
                r = r.header("X-Vault-Namespace", ns.as_str());
            }
            r
        };
        let transport = |e: reqwest::Error| {
            fail(format!(
                "cannot reach Vault at {url}: {}; check VAULT_ADDR or the rule's vault_address",
                redact::root_cause(&e, &secrets)
            ))
        };
        // sops reads first and skips the write when nothing changed; a failed read only warns.
        let existing = match with_headers(http.get(&url)).send().await {
            Ok(r) if r.status().is_success() => r
                .bytes()
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok()),
            Ok(_) => None,
            Err(e) => {
                crate::log::detail(|| format!("publish: cannot read {url} first: {e}"));
                None
            }
        };
        // As sops: the answer's `data.data` (so KV v1 secrets are always written again), with
        // Go's cmp.Equal, which never finds Vault's numbers (json.Number) equal to the file's.
        let existing = existing.as_ref().and_then(|e| e.pointer("/data/data"));
        if existing == Some(data) && !has_number(data) {
            crate::log::detail(|| format!("Secret in {url} is already up-to-date."));
            return Ok(());
        }
        let body = match self.version {
            1 => data.clone(),
            _ => json!({ "data": data }),
        };
        let resp = with_headers(http.put(&url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let errors: Vec<String> = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("errors").and_then(Value::as_array).cloned())
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let hint = match status.as_u16() {
            403 => "; the token (VAULT_TOKEN) needs the 'create'/'update' capability on that path",
            404 => "; is a KV engine mounted there (vault secrets enable -path=… kv)?",
            503 => "; is Vault sealed?",
            _ => "",
        };
        Err(fail(format!(
            "Error making API request.\n\nURL: PUT {url}\nCode: {}. Errors:\n\n* {}{hint}",
            status.as_u16(),
            redact::quote(&errors.join("\n* "), &secrets)
        )))
    }
}

/// Whether `value` holds a number anywhere.
fn has_number(value: &Value) -> bool {
    match value {
        Value::Number(_) => true,
        Value::Array(items) => items.iter().any(has_number),
        Value::Object(map) => map.values().any(has_number),
        _ => false,
    }
}
