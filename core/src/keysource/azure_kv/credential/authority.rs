//! The Entra ID (Azure AD) authority: which login host issues tokens, and which tenants a
//! credential may request tokens for.
//!
//! The host comes from `AZURE_AUTHORITY_HOST`, default [`PUBLIC_CLOUD`]. Sovereign clouds
//! use their own hosts: [`AZURE_CHINA`] (operated by 21Vianet) and [`AZURE_US_GOVERNMENT`];
//! their Key Vault scopes are `https://vault.azure.cn/.default` and
//! `https://vault.usgovcloudapi.net/.default`, which Key Vault's challenge names anyway.
//! The token endpoint is called directly (`{host}/{tenant}/oauth2/v2.0/token`): there is
//! no MSAL-style instance discovery, so a custom host needs nothing else.

use super::EnvLookup;

/// The public cloud's login host.
pub const PUBLIC_CLOUD: &str = "https://login.microsoftonline.com";
/// Azure operated by 21Vianet (China).
pub const AZURE_CHINA: &str = "https://login.chinacloudapi.cn";
/// Azure US Government.
pub const AZURE_US_GOVERNMENT: &str = "https://login.microsoftonline.us";

/// A validated authority host: `https://host[:port]` (plain `http` only for loopback
/// hosts, for test servers), without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorityHost(String);

impl Default for AuthorityHost {
    fn default() -> Self {
        Self(PUBLIC_CLOUD.into())
    }
}

impl AuthorityHost {
    /// Validates `url`. Errors say what is wrong with it.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim().trim_end_matches('/');
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("authority host \"{url}\" is not an absolute URL"))?;
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || rest.contains(['?', '#', '@']) {
            return Err(format!(
                "authority host \"{url}\" must be scheme://host[:port][/path]"
            ));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if is_loopback(host) => {}
            _ => {
                return Err(format!(
                    "authority host \"{url}\" must use https (plain http only for loopback)"
                ))
            }
        }
        Ok(Self(url.to_string()))
    }

    /// `AZURE_AUTHORITY_HOST` when set and not empty, else the public cloud.
    pub fn from_env(env: EnvLookup) -> Result<Self, String> {
        match env("AZURE_AUTHORITY_HOST").filter(|v| !v.trim().is_empty()) {
            Some(url) => Self::parse(&url).map_err(|e| format!("AZURE_AUTHORITY_HOST: {e}")),
            None => Ok(Self::default()),
        }
    }

    /// The host URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Entra ID v2 token endpoint for `tenant` (validated by the caller).
    pub fn token_endpoint(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.0)
    }
}

fn is_loopback(host_port: &str) -> bool {
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a tenant id (a GUID, a domain such as `contoso.onmicrosoft.com`, or `adfs`):
/// letters, digits, `.` and `-` only, so it is safe in a URL path and a command line.
pub fn validate_tenant(tenant: &str) -> Result<(), String> {
    let ok = !tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid tenant id \"{tenant}\": use letters, digits, '.' and '-' only"
        ))
    }
}

/// Settings shared by the credentials that talk to Entra ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntraOptions {
    /// The login host.
    pub authority: AuthorityHost,
    /// Tenants other than the configured one that a request (Key Vault's challenge) may
    /// ask for; `*` allows any.
    pub additionally_allowed_tenants: Vec<String>,
}

impl EntraOptions {
    /// From `AZURE_AUTHORITY_HOST` and `AZURE_ADDITIONALLY_ALLOWED_TENANTS`
    /// (separated by `;`).
    pub fn from_env(env: EnvLookup) -> Result<Self, String> {
        let additionally_allowed_tenants = env("AZURE_ADDITIONALLY_ALLOWED_TENANTS")
            .unwrap_or_default()
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect();
        Ok(Self {
            authority: AuthorityHost::from_env(env)?,
            additionally_allowed_tenants,
        })
    }

    /// The tenant to ask for: the configured one unless the request names another that
    /// is allowed (as the Azure SDKs do). Errors say how to allow it.
    pub fn resolve_tenant(
        &self,
        configured: &str,
        requested: Option<&str>,
    ) -> Result<String, String> {
        let Some(requested) = requested.filter(|r| !r.is_empty() && *r != configured) else {
            return Ok(configured.to_string());
        };
        validate_tenant(requested)?;
        if configured.eq_ignore_ascii_case("adfs") {
            return Err(format!(
                "Key Vault asked for tenant \"{requested}\" but the credential is configured \
                 for ADFS, which cannot switch tenants"
            ));
        }
        let allowed = self
            .additionally_allowed_tenants
            .iter()
            .any(|t| t == "*" || t.eq_ignore_ascii_case(requested));
        if allowed {
            Ok(requested.to_string())
        } else {
            Err(format!(
                "Key Vault asked for tenant \"{requested}\" but the credential is configured \
                 for tenant \"{configured}\"; to allow it, add it to \
                 AZURE_ADDITIONALLY_ALLOWED_TENANTS (or \"*\" for any)"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_to_the_public_cloud_and_reads_the_override() {
        assert_eq!(
            AuthorityHost::from_env(&env(&[])).unwrap().as_str(),
            PUBLIC_CLOUD
        );
        let host = AuthorityHost::from_env(&env(&[(
            "AZURE_AUTHORITY_HOST",
            "https://login.chinacloudapi.cn/",
        )]))
        .unwrap();
        assert_eq!(host.as_str(), AZURE_CHINA);
        assert_eq!(
            host.token_endpoint("t1"),
            "https://login.chinacloudapi.cn/t1/oauth2/v2.0/token"
        );
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(AuthorityHost::parse("http://127.0.0.1:8444").is_ok());
        assert!(AuthorityHost::parse("http://[::1]:8444").is_ok());
        assert!(AuthorityHost::parse("http://localhost").is_ok());
        let err = AuthorityHost::parse("http://login.example.com").unwrap_err();
        assert!(err.contains("must use https"), "{err}");
        assert!(AuthorityHost::parse("login.microsoftonline.com").is_err());
        assert!(AuthorityHost::parse("https://a?b").is_err());
    }

    #[test]
    fn tenants_are_checked_and_switching_needs_permission() {
        assert!(validate_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
        assert!(validate_tenant("contoso.onmicrosoft.com").is_ok());
        assert!(validate_tenant("a/b").is_err());
        assert!(validate_tenant("--x y").is_err());
        let strict = EntraOptions::default();
        assert_eq!(strict.resolve_tenant("t1", None).unwrap(), "t1");
        assert_eq!(strict.resolve_tenant("t1", Some("t1")).unwrap(), "t1");
        let err = strict.resolve_tenant("t1", Some("t2")).unwrap_err();
        assert!(err.contains("AZURE_ADDITIONALLY_ALLOWED_TENANTS"), "{err}");
        let open = EntraOptions::from_env(&env(&[("AZURE_ADDITIONALLY_ALLOWED_TENANTS", "t3; *")]))
            .unwrap();
        assert_eq!(open.resolve_tenant("t1", Some("t2")).unwrap(), "t2");
        assert!(open.resolve_tenant("adfs", Some("t2")).is_err());
    }
}
