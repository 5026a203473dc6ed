//! What an Argo CD Config Management Plugin is given: `ARGOCD_APP_*`, the application's
//! `env` as `ARGOCD_ENV_*`, and its parameters as JSON in `ARGOCD_APP_PARAMETERS`
//! (`[{"name":"values-files","array":[…]},{"name":"helm-parameters","map":{…}},…]`).

use crate::failure::{CliResult, Failure};
use leafcrypt_core::ExitCode;
use serde_json::Value;
use std::path::PathBuf;

/// The application's parameters, parsed.
#[derive(Debug, Default)]
pub struct Params(Vec<Value>);

impl Params {
    /// Parses `ARGOCD_APP_PARAMETERS` (absent or empty: no parameters).
    pub fn from_env() -> CliResult<Self> {
        match std::env::var("ARGOCD_APP_PARAMETERS") {
            Ok(s) if !s.trim().is_empty() => Self::parse(&s),
            _ => Ok(Self::default()),
        }
    }

    /// Parses the JSON list of parameters.
    pub fn parse(json: &str) -> CliResult<Self> {
        match serde_json::from_str(json) {
            Ok(Value::Array(items)) => Ok(Self(items)),
            _ => Err(Failure::new(
                ExitCode::ErrorGeneric,
                "ARGOCD_APP_PARAMETERS is not a JSON list of parameters",
            )),
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    }

    /// An `array` parameter's strings.
    pub fn array(&self, name: &str) -> Option<Vec<String>> {
        let list = self.get(name)?.get("array")?.as_array()?;
        Some(
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )
    }

    /// A `map` parameter's entries, sorted by key.
    pub fn map(&self, name: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .get(name)
            .and_then(|p| p.get("map"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// A `string` parameter.
    pub fn string(&self, name: &str) -> Option<String> {
        Some(self.get(name)?.get("string")?.as_str()?.to_string())
    }
}

/// The application's `env` entry `name` (Argo CD prefixes it `ARGOCD_ENV_`), if non-empty.
pub fn app_env(name: &str) -> Option<String> {
    std::env::var(format!("ARGOCD_ENV_{name}"))
        .ok()
        .filter(|v| !v.is_empty())
}

/// A non-empty environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The program to run: the flag, else the application's `env` entry `app_var`, else the
/// variable `var`, else `default` (found on `PATH`).
pub fn program(flag: Option<&PathBuf>, app_var: &str, var: &str, default: &str) -> PathBuf {
    flag.cloned()
        .or_else(|| app_env(app_var).map(PathBuf::from))
        .or_else(|| env(var).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argo_cd_parameters_are_read_by_kind() {
        let p = Params::parse(
            r#"[{"name":"values-files","array":["a.yaml","b.yaml"]},{"name":"helm-parameters","map":{"z":"1","a":"2"}},{"name":"release-name","string":"r"}]"#,
        )
        .unwrap();
        assert_eq!(p.array("values-files").unwrap(), ["a.yaml", "b.yaml"]);
        assert_eq!(
            p.map("helm-parameters"),
            [("a".into(), "2".into()), ("z".into(), "1".into())]
        );
        assert_eq!(p.string("release-name").as_deref(), Some("r"));
        assert!(p.array("missing").is_none());
        assert!(Params::parse("{}").is_err());
    }
}
