//! How to reach Vault, as the Go client (`api.DefaultConfig`) and sops read it: the token
//! from `VAULT_TOKEN`, else `~/.vault-token` (trimmed); `VAULT_NAMESPACE`; `VAULT_CACERT`
//! (a PEM bundle added to the trusted roots, natively).

use crate::keysource::rest::http::HttpOptions;
use zeroize::Zeroizing;

/// The client's settings.
#[derive(Clone, Default)]
pub struct Settings {
    /// The token sent as `X-Vault-Token` (none: requests go without one and Vault refuses them).
    pub token: Option<Zeroizing<String>>,
    /// `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// HTTP client options (extra roots, timeout).
    pub http: HttpOptions,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Settings from the variables `env` returns; `home` is the user's home directory
    /// (for `~/.vault-token`). Native only: it reads files.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&std::path::Path>,
    ) -> Result<Settings, super::VaultError> {
        let mut http = crate::keysource::rest::http::options_from_env(env, super::TIMEOUT_VAR)
            .map_err(super::VaultError::Config)?;
        if let Some(path) = env("VAULT_CACERT").filter(|p| !p.is_empty()) {
            let pem = std::fs::read(&path).map_err(|e| {
                super::VaultError::Config(format!("VAULT_CACERT {path}: cannot read: {e}"))
            })?;
            http.extra_roots_pem.push(pem);
        }
        let token = match env("VAULT_TOKEN").filter(|t| !t.is_empty()) {
            Some(t) => Some(Zeroizing::new(t)),
            None => match home.map(|h| h.join(".vault-token")) {
                Some(file) => match std::fs::read_to_string(&file) {
                    Ok(text) => {
                        let text = Zeroizing::new(text);
                        Some(Zeroizing::new(text.trim().to_string())).filter(|t| !t.is_empty())
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => {
                        return Err(super::VaultError::Config(format!(
                            "cannot read the Vault token file {}: {e}",
                            file.display()
                        )))
                    }
                },
                None => None,
            },
        };
        Ok(Settings {
            token,
            namespace: env("VAULT_NAMESPACE").filter(|n| !n.is_empty()),
            http,
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn token_from_env_wins_over_the_token_file() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".vault-token"), "from-file\n").unwrap();
        let s =
            Settings::from_env(&env(&[("VAULT_TOKEN", "from-env")]), Some(home.path())).unwrap();
        assert_eq!(s.token.as_deref().map(String::as_str), Some("from-env"));
        let s =
            Settings::from_env(&env(&[("VAULT_NAMESPACE", "team")]), Some(home.path())).unwrap();
        assert_eq!(s.token.as_deref().map(String::as_str), Some("from-file"));
        assert_eq!(s.namespace.as_deref(), Some("team"));
        assert!(!format!("{s:?}").contains("from-file"));
    }

    #[test]
    fn no_token_anywhere_is_not_an_error() {
        let home = tempfile::tempdir().unwrap();
        let s = Settings::from_env(&env(&[]), Some(home.path())).unwrap();
        assert!(s.token.is_none());
    }

    #[test]
    fn unreadable_cacert_is_named() {
        let e =
            Settings::from_env(&env(&[("VAULT_CACERT", "/nonexistent/ca.pem")]), None).unwrap_err();
        assert!(
            e.to_string().contains("VAULT_CACERT /nonexistent/ca.pem"),
            "{e}"
        );
    }
}
