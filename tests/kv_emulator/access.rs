//! Permissions: everything is allowed unless a deny rule matches the caller, key and
//! operation; the rule's model decides whether the 403 reads like an access policy or RBAC.

use serde::{Deserialize, Serialize};

use crate::routes::Op;

/// How the vault authorises data-plane calls, which shapes the 403 body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Access policies: `Forbidden` / `ForbiddenByPolicy`.
    Policy,
    /// Azure RBAC: `Forbidden` / `ForbiddenByRbac`, naming the data action.
    Rbac,
}

/// A deny rule, as posted to `/admin/deny`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deny {
    /// The identity (token `oid`) it applies to; none = everyone.
    #[serde(default)]
    pub identity: Option<String>,
    /// The key it applies to; none = every key.
    #[serde(default)]
    pub key: Option<String>,
    /// The operation's policy name (`get`, `decrypt`, `wrapKey`, …) or `*`.
    pub op: String,
    /// Which kind of 403 to answer with.
    pub model: Model,
}

impl Deny {
    fn matches(&self, identity: &str, key: &str, op: Op) -> bool {
        self.identity.as_deref().is_none_or(|i| i == identity)
            && self.key.as_deref().is_none_or(|k| k == key)
            && (self.op == "*" || self.op.eq_ignore_ascii_case(op.policy_name()))
    }
}

/// The model of the first rule denying `op` on `key` to `identity`, if any.
pub fn denied(rules: &[Deny], identity: &str, key: &str, op: Op) -> Option<Model> {
    rules
        .iter()
        .find(|r| r.matches(identity, key, op))
        .map(|r| r.model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_on_identity_key_and_op() {
        let rules: Vec<Deny> = serde_json::from_str(
            r#"[{"identity":"app","op":"decrypt","model":"policy"},
                {"key":"k2","op":"*","model":"rbac"}]"#,
        )
        .expect("json");
        assert_eq!(
            denied(&rules, "app", "k1", Op::Decrypt),
            Some(Model::Policy)
        );
        assert_eq!(denied(&rules, "other", "k1", Op::Decrypt), None);
        assert_eq!(denied(&rules, "app", "k1", Op::Encrypt), None);
        assert_eq!(denied(&rules, "other", "k2", Op::Get), Some(Model::Rbac));
        let case: Vec<Deny> =
            serde_json::from_str(r#"[{"op":"WRAPKEY","model":"rbac"}]"#).expect("json");
        assert_eq!(denied(&case, "x", "y", Op::WrapKey), Some(Model::Rbac));
    }
}
