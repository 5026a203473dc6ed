//! Which upstream URL a proxied request goes to; anything else is refused.
//!
//! With one vault, `/keys/…` goes to it. With any number, `/{vault host}/keys/…` goes to
//! that vault if it was given. Only key paths are forwarded.

/// The vaults the proxy forwards to.
pub struct Routes {
    /// Origins `https://host[:port]`, no trailing slash.
    vaults: Vec<String>,
}

impl Routes {
    /// Vault URLs `https://NAME.vault.azure.net` (a trailing slash or path is refused).
    pub fn new(vaults: &[String]) -> Result<Self, String> {
        if vaults.is_empty() {
            return Err("give at least one --vault https://NAME.vault.azure.net".into());
        }
        let mut out = Vec::new();
        for v in vaults {
            let v = v.trim().trim_end_matches('/');
            let host = v
                .strip_prefix("https://")
                .ok_or_else(|| format!("--vault {v}: Key Vault URLs start with https://"))?;
            if host.is_empty() || host.contains('/') || host.contains('@') {
                return Err(format!("--vault {v}: expected https://HOST[:PORT]"));
            }
            out.push(v.to_string());
        }
        Ok(Self { vaults: out })
    }

    /// The upstream URL for `path_and_query`, or why it is refused.
    pub fn target(&self, path_and_query: &str) -> Result<String, String> {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let (vault, rest) = if path.starts_with("/keys/") && self.vaults.len() == 1 {
            (self.vaults[0].as_str(), path.to_string())
        } else {
            let trimmed = path.strip_prefix('/').unwrap_or(path);
            let (host, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
            let vault = self
                .vaults
                .iter()
                .find(|v| host_of(v) == host)
                .ok_or_else(|| {
                    format!("{host} is not a vault this proxy forwards to (start it with --vault https://{host})")
                })?;
            (vault.as_str(), format!("/{rest}"))
        };
        if !rest.starts_with("/keys/") || rest.contains("/../") || rest.ends_with("/..") {
            return Err(format!(
                "only key operations (/keys/…) are forwarded, not {rest}"
            ));
        }
        Ok(match query {
            Some(q) => format!("{vault}{rest}?{q}"),
            None => format!("{vault}{rest}"),
        })
    }

    /// For the start-up line.
    pub fn describe(&self) -> String {
        self.vaults.join(", ")
    }
}

/// The host[:port] of an `https://` URL.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split('/').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_vault_serves_root_key_paths() {
        let r = Routes::new(&["https://a.vault.azure.net/".into()]).unwrap();
        assert_eq!(
            r.target("/keys/k/v1/decrypt?api-version=7.6").unwrap(),
            "https://a.vault.azure.net/keys/k/v1/decrypt?api-version=7.6"
        );
        assert_eq!(
            r.target("/a.vault.azure.net/keys/k/").unwrap(),
            "https://a.vault.azure.net/keys/k/"
        );
    }

    #[test]
    fn unknown_hosts_and_non_key_paths_are_refused() {
        let r = Routes::new(&[
            "https://a.vault.azure.net".into(),
            "https://127.0.0.1:8443".into(),
        ])
        .unwrap();
        assert!(
            r.target("/keys/k/decrypt").is_err(),
            "ambiguous with two vaults"
        );
        assert_eq!(
            r.target("/127.0.0.1:8443/keys/k").unwrap(),
            "https://127.0.0.1:8443/keys/k"
        );
        assert!(r.target("/evil.example/keys/k").is_err());
        assert!(r.target("/a.vault.azure.net/secrets/s").is_err());
        assert!(r.target("/a.vault.azure.net/keys/../secrets/s").is_err());
        assert!(Routes::new(&["http://a".into()]).is_err());
        assert!(Routes::new(&["https://a/path".into()]).is_err());
    }
}
