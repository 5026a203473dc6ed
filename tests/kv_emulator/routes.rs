//! Vault key routes: which operation a method and `/keys/...` path ask for, and the names
//! Key Vault uses for that operation in access policies and RBAC.

use hyper::Method;

/// A key operation the emulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `GET /keys/{name}[/{version}]`
    Get,
    /// `GET /keys/{name}/versions`
    List,
    /// `POST /keys/{name}/create`
    Create,
    /// `PUT /keys/{name}` with a JWK
    Import,
    /// `PATCH /keys/{name}/{version}`
    Update,
    /// `POST /keys/{name}/rotate`
    Rotate,
    /// `POST .../encrypt`
    Encrypt,
    /// `POST .../decrypt`
    Decrypt,
    /// `POST .../wrapkey`
    WrapKey,
    /// `POST .../unwrapkey`
    UnwrapKey,
}

impl Op {
    /// The access-policy permission name (`keys/<name>`), also the name used by the admin
    /// API's `deny` and `fault` and in the request log.
    pub fn policy_name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Create => "create",
            Self::Import => "import",
            Self::Update => "update",
            Self::Rotate => "rotate",
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::WrapKey => "wrapKey",
            Self::UnwrapKey => "unwrapKey",
        }
    }

    /// The RBAC data action a role must grant.
    pub fn rbac_action(self) -> &'static str {
        match self {
            Self::Get | Self::List => "Microsoft.KeyVault/vaults/keys/read",
            Self::Create => "Microsoft.KeyVault/vaults/keys/create/action",
            Self::Import => "Microsoft.KeyVault/vaults/keys/import/action",
            Self::Update => "Microsoft.KeyVault/vaults/keys/update/action",
            Self::Rotate => "Microsoft.KeyVault/vaults/keys/rotate/action",
            Self::Encrypt => "Microsoft.KeyVault/vaults/keys/encrypt/action",
            Self::Decrypt => "Microsoft.KeyVault/vaults/keys/decrypt/action",
            Self::WrapKey => "Microsoft.KeyVault/vaults/keys/wrap/action",
            Self::UnwrapKey => "Microsoft.KeyVault/vaults/keys/unwrap/action",
        }
    }

    /// The crypto operation named by a path segment, case-insensitively.
    fn crypto(segment: &str) -> Option<Self> {
        [Self::Encrypt, Self::Decrypt, Self::WrapKey, Self::UnwrapKey]
            .into_iter()
            .find(|op| op.policy_name().eq_ignore_ascii_case(segment))
    }
}

/// A parsed key route: the operation, the key name and the version (`None` = latest).
#[derive(Debug, PartialEq, Eq)]
pub struct Route {
    /// What is asked.
    pub op: Op,
    /// The key name.
    pub name: String,
    /// The pinned version, or `None` for the newest enabled one.
    pub version: Option<String>,
}

/// Parses `path` (without query) for `method`; `None` when it is no key route.
///
/// An empty version segment means "latest": `/keys/n`, `/keys/n/`, `/keys/n/decrypt` and
/// `/keys/n//decrypt` all exist on the wire (Go collapses or keeps the empty segment).
pub fn parse(method: &Method, path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/keys/")?;
    let mut segments = rest.split('/');
    let name = segments.next().filter(|n| valid_name(n))?.to_string();
    let tail: Vec<&str> = segments.collect();
    let route = |op, version: Option<&str>| {
        let version = version.filter(|v| !v.is_empty()).map(str::to_string);
        Some(Route {
            op,
            name: name.clone(),
            version,
        })
    };
    match (method, tail.as_slice()) {
        (&Method::GET, [] | [""]) => route(Op::Get, None),
        (&Method::PUT, [] | [""]) => route(Op::Import, None),
        (&Method::GET, ["versions"]) => route(Op::List, None),
        (&Method::POST, [op]) if op.eq_ignore_ascii_case("create") => route(Op::Create, None),
        (&Method::POST, [op]) if op.eq_ignore_ascii_case("rotate") => route(Op::Rotate, None),
        (&Method::POST, [op]) => route(Op::crypto(op)?, None),
        (&Method::GET, [version] | [version, ""]) => route(Op::Get, Some(version)),
        (&Method::PATCH, [version]) if !version.is_empty() => route(Op::Update, Some(version)),
        (&Method::POST, [version, op]) => route(Op::crypto(op)?, Some(version)),
        _ => None,
    }
}

/// Key Vault object names: 1–127 ASCII letters, digits and dashes.
fn valid_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(op: Op, version: Option<&str>) -> Option<Route> {
        Some(Route {
            op,
            name: "k".into(),
            version: version.map(str::to_string),
        })
    }

    #[test]
    fn latest_forms_and_pinned_forms() {
        let v = "0123456789abcdef0123456789abcdef";
        assert_eq!(parse(&Method::GET, "/keys/k"), r(Op::Get, None));
        assert_eq!(parse(&Method::GET, "/keys/k/"), r(Op::Get, None));
        assert_eq!(
            parse(&Method::GET, &format!("/keys/k/{v}")),
            r(Op::Get, Some(v))
        );
        assert_eq!(
            parse(&Method::POST, "/keys/k/decrypt"),
            r(Op::Decrypt, None)
        );
        assert_eq!(
            parse(&Method::POST, "/keys/k//decrypt"),
            r(Op::Decrypt, None)
        );
        assert_eq!(
            parse(&Method::POST, "/keys/k//UnwrapKey"),
            r(Op::UnwrapKey, None)
        );
        assert_eq!(
            parse(&Method::POST, &format!("/keys/k/{v}/wrapkey")),
            r(Op::WrapKey, Some(v))
        );
        assert_eq!(
            parse(&Method::POST, &format!("/keys/k/{v}/ENCRYPT")),
            r(Op::Encrypt, Some(v))
        );
        assert_eq!(
            parse(&Method::PATCH, &format!("/keys/k/{v}")),
            r(Op::Update, Some(v))
        );
    }

    #[test]
    fn management_routes() {
        assert_eq!(parse(&Method::POST, "/keys/k/create"), r(Op::Create, None));
        assert_eq!(parse(&Method::POST, "/keys/k/rotate"), r(Op::Rotate, None));
        assert_eq!(parse(&Method::GET, "/keys/k/versions"), r(Op::List, None));
        assert_eq!(parse(&Method::PUT, "/keys/k"), r(Op::Import, None));
    }

    #[test]
    fn rejects_other_paths() {
        assert_eq!(parse(&Method::POST, "/keys/k/v/sign"), None);
        assert_eq!(parse(&Method::DELETE, "/keys/k"), None);
        assert_eq!(parse(&Method::GET, "/keys/"), None);
        assert_eq!(parse(&Method::GET, "/keys/bad_name"), None);
        assert_eq!(parse(&Method::GET, "/secrets/k"), None);
        assert_eq!(parse(&Method::PATCH, "/keys/k/"), None);
        assert_eq!(parse(&Method::POST, "/keys/k/v/decrypt/x"), None);
    }
}
