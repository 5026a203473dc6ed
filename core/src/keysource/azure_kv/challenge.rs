//! Key Vault's bearer challenge: the `WWW-Authenticate` header of its 401 answer names the
//! token scope (`resource` or `scope`) and the tenant (`authorization`).
//!
//! Parsing accepts what both SDKs accept: parameters separated by commas and/or spaces,
//! quoted or not, `authorization` or `authorization_uri`. The resource check is Go's: the
//! vault host *including its port* must end with `"." + resource host`, so a vault at
//! `127.0.0.1:8443` matches the resource `https://0.0.1:8443`, and
//! `myvault.vault.azure.net` matches `https://vault.azure.net`.

use crate::keysource::authority;

/// The OAuth suffix that turns a resource into a scope.
const DEFAULT_SUFFIX: &str = "/.default";

/// A parsed challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The token scope: `scope`, else `resource`, ending in `/.default`.
    pub scope: String,
    /// The tenant: the first path segment of the authorization URL, if any.
    pub tenant_id: Option<String>,
    /// The authorization (authority) URL, if given.
    pub authorization: Option<String>,
}

/// A challenge that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The 401 had no `WWW-Authenticate` header.
    #[error("Key Vault answered 401 without a WWW-Authenticate challenge")]
    Missing,
    /// The header is not a usable bearer challenge.
    #[error("cannot use Key Vault's challenge \"{header}\": {reason}")]
    Malformed {
        /// The header as received (it carries no secret).
        header: String,
        /// What is missing.
        reason: &'static str,
    },
    /// The challenge's resource does not belong to the vault's host.
    #[error(
        "Key Vault's challenge resource \"{resource}\" does not match the vault host \
         \"{host}\": the host (port included) must end with \".{resource_host}\", so a token \
         for this resource could be sent to the wrong service. If you trust this vault \
         endpoint, turn the check off (leafcrypt: --azure-kv-skip-resource-check; client \
         option verify_challenge_resource = false)"
    )]
    ResourceMismatch {
        /// The scope's resource URL.
        resource: String,
        /// Its host (port included).
        resource_host: String,
        /// The vault host the request was for.
        host: String,
    },
}

impl Challenge {
    /// Parses a `WWW-Authenticate` value such as
    /// `Bearer authorization="https://login.windows.net/TENANT", resource="https://vault.azure.net"`.
    pub fn parse(header: &str) -> Result<Self, ChallengeError> {
        let malformed = |reason| ChallengeError::Malformed {
            header: header.to_string(),
            reason,
        };
        let trimmed = header.trim();
        let body = match trimmed.split_once(char::is_whitespace) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest,
            _ if trimmed.eq_ignore_ascii_case("bearer") => "",
            _ => return Err(malformed("not a Bearer challenge")),
        };
        let params = parameters(body);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let authorization = get("authorization")
            .or_else(|| get("authorization_uri"))
            .map(str::to_string);
        let resource = get("scope")
            .or_else(|| get("resource"))
            .ok_or_else(|| malformed("it names neither a scope nor a resource"))?;
        if !resource.contains("://") {
            return Err(malformed("its resource is not an absolute URL"));
        }
        let scope = if resource.ends_with(DEFAULT_SUFFIX) {
            resource.to_string()
        } else {
            format!("{}{DEFAULT_SUFFIX}", resource.trim_end_matches('/'))
        };
        let tenant_id = authorization.as_deref().and_then(tenant_of);
        Ok(Self {
            scope,
            tenant_id,
            authorization,
        })
    }

    /// The resource the scope is for (the scope without `/.default`).
    pub fn resource(&self) -> &str {
        self.scope
            .strip_suffix(DEFAULT_SUFFIX)
            .unwrap_or(&self.scope)
    }

    /// Checks that `vault_host` (`host[:port]`) ends with `"." +` the resource's host,
    /// comparing ports literally as Go does, then (as Python does) once more with the
    /// default HTTPS port `:443` dropped on both sides.
    pub fn verify_resource(&self, vault_host: &str) -> Result<(), ChallengeError> {
        let resource_host = authority(self.resource());
        let host = vault_host.to_ascii_lowercase();
        let matches = |h: &str, r: &str| !r.is_empty() && h.ends_with(&format!(".{r}"));
        let strip = |s: &str| s.strip_suffix(":443").unwrap_or(s).to_string();
        if matches(&host, &resource_host) || matches(&strip(&host), &strip(&resource_host)) {
            return Ok(());
        }
        Err(ChallengeError::ResourceMismatch {
            resource: self.resource().to_string(),
            resource_host,
            host,
        })
    }
}

/// `key=value` pairs separated by commas and/or whitespace; values may be quoted (with
/// backslash escapes) or bare. Stray tokens without `=` are skipped.
fn parameters(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ',' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'=').is_none() {
            if key.is_empty() && chars.peek().is_none() {
                return out;
            }
            continue;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',' && !c.is_whitespace()) {
                value.push(c);
            }
        }
        if !key.is_empty() {
            out.push((key, value));
        }
    }
}

/// The first path segment of an authority URL (`https://login.windows.net/TENANT/...`).
fn tenant_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    let path = &rest[rest.find('/')?..];
    path.trim_start_matches('/')
        .split(['/', '?', '#'])
        .next()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn parses_the_real_challenge() {
        let c = Challenge::parse(&format!(
            r#"Bearer authorization="https://login.windows.net/{TENANT}", resource="https://vault.azure.net""#
        ))
        .unwrap();
        assert_eq!(c.scope, "https://vault.azure.net/.default");
        assert_eq!(c.tenant_id.as_deref(), Some(TENANT));
        assert_eq!(c.resource(), "https://vault.azure.net");
    }

    #[test]
    fn parses_header_variants() {
        let cases = [
            // authorization_uri, unquoted, space-separated (Go's splitting)
            format!("Bearer authorization_uri=https://login.microsoftonline.com/{TENANT} resource=https://vault.azure.net"),
            // commas without spaces, scope instead of resource
            format!(r#"Bearer authorization="https://login.microsoftonline.com/{TENANT}/",scope="https://vault.azure.net/.default""#),
            // lowercase scheme, extra parameters, trailing comma
            format!(r#"bearer  error="invalid_token", Authorization="https://login.microsoftonline.com/{TENANT}/oauth2/authorize" , resource="https://vault.azure.net/","#),
        ];
        for header in cases {
            let c = Challenge::parse(&header).unwrap_or_else(|e| panic!("{header}: {e}"));
            assert_eq!(c.scope, "https://vault.azure.net/.default", "{header}");
            assert_eq!(c.tenant_id.as_deref(), Some(TENANT), "{header}");
        }
        // scope wins over resource
        let c = Challenge::parse(
            r#"Bearer resource="https://a.example", scope="https://b.example/.default""#,
        )
        .unwrap();
        assert_eq!(c.scope, "https://b.example/.default");
        assert_eq!(c.tenant_id, None);
    }

    #[test]
    fn refuses_unusable_challenges() {
        for header in [
            r#"Basic realm="x""#,
            r#"Bearer authorization="https://login.windows.net/t""#,
            r#"Bearer resource="vault.azure.net""#,
            "Bearer",
            "",
        ] {
            assert!(
                matches!(
                    Challenge::parse(header),
                    Err(ChallengeError::Malformed { .. })
                ),
                "{header}"
            );
        }
    }

    #[test]
    fn resource_must_be_a_dot_suffix_of_the_host_with_its_port() {
        let c = |r: &str| Challenge::parse(&format!(r#"Bearer resource="{r}""#)).unwrap();
        assert!(c("https://vault.azure.net")
            .verify_resource("myvault.vault.azure.net")
            .is_ok());
        assert!(c("https://0.0.1:8443")
            .verify_resource("127.0.0.1:8443")
            .is_ok());
        assert!(c("https://1:8443")
            .verify_resource("127.0.0.1:8443")
            .is_ok());
        // Python's extra leniency: the default port on one side only.
        assert!(c("https://vault.azure.net:443")
            .verify_resource("v.vault.azure.net")
            .is_ok());
        for (resource, host) in [
            ("https://127.0.0.1:8443", "127.0.0.1:8443"),
            ("https://vault.azure.net", "127.0.0.1:8443"),
            ("https://0.0.1:8444", "127.0.0.1:8443"),
            ("https://vault.azure.net", "evilvault.azure.net"),
        ] {
            let err = c(resource).verify_resource(host).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(&format!("\"{resource}\"")), "{text}");
            assert!(text.contains(&format!("\"{host}\"")), "{text}");
            assert!(text.contains("--azure-kv-skip-resource-check"), "{text}");
        }
    }
}
