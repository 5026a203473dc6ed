//! The generator configuration, KSOPS's schema (`apiVersion: viaduct.ai/v1` or `v2`,
//! `kind: ksops`): `files`, `secretFrom` and the argyle fork's `fail-silently`.
//!
//! Read the way KSOPS's YAML decoder reads it: unknown fields are ignored, a scalar where a
//! string is expected is taken as its text (`needs-hash: true` → `"true"`), `null` as `""`.

use leafcrypt_core::tree::{Map, Value};
use std::collections::BTreeMap;

/// One generator configuration.
#[derive(Debug, Default, PartialEq)]
pub struct Generator {
    /// `metadata.name`, for messages.
    pub name: String,
    /// Encrypted manifests, decrypted and emitted as they are (`None`: not given).
    pub files: Option<Vec<String>>,
    /// Secrets built from encrypted files (`None`: not given).
    pub secret_from: Option<Vec<SecretFrom>>,
    /// The argyle fork's `fail-silently`: a source that does not decrypt is left out
    /// (with a warning) instead of failing the build.
    pub fail_silently: bool,
}

/// One `secretFrom` entry: a `v1` Secret built from encrypted files.
#[derive(Debug, Default, PartialEq)]
pub struct SecretFrom {
    /// The Secret's metadata (kustomize's `ObjectMeta`: name, namespace, labels, annotations).
    pub metadata: ObjectMeta,
    /// The Secret's `type` (omitted when empty).
    pub kind: String,
    /// `[key=]path`: the decrypted text under `stringData.key` (key: the file name).
    pub files: Vec<String>,
    /// `[key=]path`: the decrypted bytes, base64, under `data.key`.
    pub binary_files: Vec<String>,
    /// Encrypted dotenv files: each variable under `stringData`.
    pub envs: Vec<String>,
}

/// kustomize's `types.ObjectMeta`: the four fields KSOPS keeps.
#[derive(Debug, Default, PartialEq)]
pub struct ObjectMeta {
    /// `name`.
    pub name: String,
    /// `namespace`.
    pub namespace: String,
    /// `labels`.
    pub labels: BTreeMap<String, String>,
    /// `annotations` (`kustomize.config.k8s.io/needs-hash` and `…/behavior` pass through).
    pub annotations: BTreeMap<String, String>,
}

/// A configuration that does not fit the schema; the message names the field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Generator {
    /// Reads a generator from its YAML document.
    pub fn from_map(doc: &Map) -> Result<Generator, ConfigError> {
        let name = doc
            .get("metadata")
            .and_then(Value::as_map)
            .and_then(|m| m.get("name"))
            .and_then(|v| text(v, "metadata.name").ok())
            .unwrap_or_default();
        let files = optional_list(doc.get("files"), "files")?;
        let secret_from = match doc.get("secretFrom") {
            None | Some(Value::Null) => None,
            Some(Value::List(items)) => Some(
                items
                    .iter()
                    .filter(|v| !matches!(v, Value::Comment(_)))
                    .enumerate()
                    .map(|(i, v)| SecretFrom::from_value(v, &format!("secretFrom[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => return Err(ConfigError("'secretFrom' must be a list".into())),
        };
        if files.is_none() && secret_from.is_none() {
            return Err(ConfigError(
                "missing the required 'files' or 'secretFrom' key in the ksops manifest".into(),
            ));
        }
        let fail_silently = match doc.get("fail-silently") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Str(s)) if s == "true" => true,
            Some(Value::Str(s)) if s == "false" => false,
            Some(_) => return Err(ConfigError("'fail-silently' must be true or false".into())),
        };
        Ok(Generator {
            name,
            files,
            secret_from,
            fail_silently,
        })
    }
}

impl SecretFrom {
    fn from_value(value: &Value, at: &str) -> Result<SecretFrom, ConfigError> {
        let map = match value {
            Value::Map(m) => m,
            Value::Null => return Ok(SecretFrom::default()),
            _ => return Err(ConfigError(format!("'{at}' must be a mapping"))),
        };
        let field = |name: &str| format!("{at}.{name}");
        Ok(SecretFrom {
            metadata: ObjectMeta::from_value(map.get("metadata"), &field("metadata"))?,
            kind: match map.get("type") {
                None => String::new(),
                Some(v) => text(v, &field("type"))?,
            },
            files: optional_list(map.get("files"), &field("files"))?.unwrap_or_default(),
            binary_files: optional_list(map.get("binaryFiles"), &field("binaryFiles"))?
                .unwrap_or_default(),
            envs: optional_list(map.get("envs"), &field("envs"))?.unwrap_or_default(),
        })
    }
}

impl ObjectMeta {
    fn from_value(value: Option<&Value>, at: &str) -> Result<ObjectMeta, ConfigError> {
        let map = match value {
            None | Some(Value::Null) => return Ok(ObjectMeta::default()),
            Some(Value::Map(m)) => m,
            Some(_) => return Err(ConfigError(format!("'{at}' must be a mapping"))),
        };
        let field = |name: &str| format!("{at}.{name}");
        let scalar = |name: &str| match map.get(name) {
            None => Ok(String::new()),
            Some(v) => text(v, &field(name)),
        };
        Ok(ObjectMeta {
            name: scalar("name")?,
            namespace: scalar("namespace")?,
            labels: string_map(map.get("labels"), &field("labels"))?,
            annotations: string_map(map.get("annotations"), &field("annotations"))?,
        })
    }
}

/// A scalar as the text a Go string field receives.
fn text(value: &Value, at: &str) -> Result<String, ConfigError> {
    Ok(match value {
        Value::Null => String::new(),
        Value::Str(s) | Value::Time(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return Err(ConfigError(format!("'{at}' must be a string"))),
    })
}

/// A list of strings, `None` when absent or null.
fn optional_list(value: Option<&Value>, at: &str) -> Result<Option<Vec<String>>, ConfigError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(items)) => items
            .iter()
            .filter(|v| !matches!(v, Value::Comment(_)))
            .enumerate()
            .map(|(i, v)| text(v, &format!("{at}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ConfigError(format!("'{at}' must be a list of strings"))),
    }
}

/// A map of strings (labels, annotations).
fn string_map(value: Option<&Value>, at: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Map(m)) => m
            .pairs()
            .map(|(k, v)| Ok((k.to_string(), text(v, &format!("{at}.{k}"))?)))
            .collect(),
        Some(_) => Err(ConfigError(format!("'{at}' must be a mapping of strings"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leafcrypt_core::stores::Format;

    fn generator(yaml: &str) -> Result<Generator, ConfigError> {
        let doc = Format::Yaml.store(None).parse(yaml.as_bytes()).unwrap();
        Generator::from_map(&doc.tree.branches[0])
    }

    #[test]
    fn reads_ksops_readme_secret_from() {
        let g = generator(
            "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: gen\nsecretFrom:\n- metadata:\n    name: secret-name\n    labels:\n      app: foo\n    annotations:\n      kustomize.config.k8s.io/needs-hash: false\n      n: 5\n  type: Opaque\n  files:\n  - ./secret.enc.conf\n  - secret.yaml=./secret.enc.yaml\n",
        )
        .unwrap();
        assert_eq!(g.name, "gen");
        assert_eq!(g.files, None);
        let sf = &g.secret_from.unwrap()[0];
        assert_eq!(sf.metadata.name, "secret-name");
        assert_eq!(
            sf.metadata.annotations["kustomize.config.k8s.io/needs-hash"],
            "false"
        );
        assert_eq!(sf.metadata.annotations["n"], "5");
        assert_eq!(sf.kind, "Opaque");
        assert_eq!(
            sf.files,
            ["./secret.enc.conf", "secret.yaml=./secret.enc.yaml"]
        );
    }

    #[test]
    fn needs_files_or_secret_from_and_typed_fields() {
        assert!(generator("kind: ksops\nmetadata: {name: g}\n")
            .unwrap_err()
            .0
            .contains("'files' or 'secretFrom'"));
        assert_eq!(
            generator("kind: ksops\nfiles: []\n").unwrap().files,
            Some(vec![])
        );
        assert_eq!(
            generator("kind: ksops\nfiles: {a: b}\n").unwrap_err().0,
            "'files' must be a list of strings"
        );
        assert_eq!(
            generator("kind: ksops\nsecretFrom:\n- metadata:\n    labels: [x]\n")
                .unwrap_err()
                .0,
            "'secretFrom[0].metadata.labels' must be a mapping of strings"
        );
    }
}
