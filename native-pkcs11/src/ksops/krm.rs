//! The KRM exec function: a `config.kubernetes.io/v1` ResourceList on stdin, every item
//! of kind `ksops` replaced by what it generates (other items pass through), the
//! ResourceList on stdout. On failure the items stay as they came, `results` carries
//! `{message, severity: error}` and the exit code is 1 (kustomize and kpt then fail).

use super::generate::{self, Part};
use super::{config::Generator, Settings};
use crate::cli::Opts;
use leafcrypt_core::keysource::Keyring;
use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::{Map, Tree, Value};

/// The YAML indentation of the ResourceList written back.
const INDENT: usize = 2;

/// Processes the ResourceList `input`: returns the ResourceList to print and the error
/// message when a generator failed.
pub fn process(
    input: &[u8],
    settings: &Settings,
    keyring: &dyn Fn() -> Result<Keyring, String>,
    opts: &Opts,
) -> (Vec<u8>, Option<String>) {
    let mut list = match read(input) {
        Ok(list) => list,
        Err(message) => {
            let mut list = Map::new();
            list.push("apiVersion", Value::Str("config.kubernetes.io/v1".into()));
            list.push("kind", Value::Str("ResourceList".into()));
            list.push("items", Value::List(Vec::new()));
            return fail(list, message);
        }
    };
    match generate_items(&list, settings, keyring, opts) {
        Ok(items) => {
            set(&mut list, "items", Value::List(items));
            (emit(list), None)
        }
        Err(message) => fail(list, message),
    }
}

/// Parses the ResourceList.
fn read(input: &[u8]) -> Result<Map, String> {
    let doc = Format::Yaml
        .store(Some(INDENT))
        .parse(input)
        .map_err(|e| format!("reading the ResourceList on stdin: {e}"))?;
    let list = doc.tree.branches.into_iter().next().unwrap_or_default();
    match list.get("kind").and_then(Value::as_str) {
        Some("ResourceList") => Ok(list),
        other => Err(format!(
            "stdin is not a ResourceList (kind: {}); run me as a KRM function or give the generator file as the argument",
            other.unwrap_or("none")
        )),
    }
}

/// The new item list: generated objects in place of each `ksops` item.
fn generate_items(
    list: &Map,
    settings: &Settings,
    keyring: &dyn Fn() -> Result<Keyring, String>,
    opts: &Opts,
) -> Result<Vec<Value>, String> {
    let items = match list.get("items") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::List(items)) => items,
        Some(_) => return Err("the ResourceList's 'items' is not a list".into()),
    };
    let mut keys = None;
    let mut out = Vec::new();
    for item in items {
        let Some(map) = item.as_map().filter(|m| is_ksops(m)) else {
            out.push(item.clone());
            continue;
        };
        let origin = origin(map);
        let generator = Generator::from_map(map).map_err(|e| format!("{origin}: {e}"))?;
        if keys.is_none() {
            keys = Some(keyring()?);
        }
        let keyring = keys.as_ref().expect("set above");
        let generated = generate::run(&generator, settings, keyring, opts)
            .map_err(|e| format!("{origin}: {e}"))?;
        for part in generated.parts {
            out.extend(objects(part).map_err(|e| format!("{origin}: {e}"))?);
        }
    }
    Ok(out)
}

/// Whether an item is a generator configuration (`kind: ksops`, any apiVersion).
fn is_ksops(item: &Map) -> bool {
    item.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.eq_ignore_ascii_case("ksops"))
}

/// The generator as messages name it: its name and the file kustomize or kpt read it from.
pub fn origin(item: &Map) -> String {
    let meta = item.get("metadata").and_then(Value::as_map);
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let path = meta
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_map)
        .and_then(|a| {
            a.get("config.kubernetes.io/path")
                .or_else(|| a.get("internal.config.kubernetes.io/path"))
        })
        .and_then(Value::as_str);
    match path {
        Some(p) => format!("ksops generator {name:?} ({p})"),
        None => format!("ksops generator {name:?}"),
    }
}

/// The objects of one generated part.
fn objects(part: Part) -> Result<Vec<Value>, String> {
    let docs = match part {
        Part::Secret(map) => vec![map],
        Part::Manifest {
            tree: Some(tree), ..
        } => tree.branches,
        Part::Manifest { file, plain, .. } => {
            Format::Yaml
                .store(None)
                .parse(&plain)
                .map_err(|_| {
                    format!("the decrypted content of \"{file}\" (files) is not a YAML manifest")
                })?
                .tree
                .branches
        }
    };
    Ok(docs
        .into_iter()
        .filter(|d| d.pairs().next().is_some())
        .map(Value::Map)
        .collect())
}

/// The ResourceList with the error in `results`.
fn fail(mut list: Map, message: String) -> (Vec<u8>, Option<String>) {
    let mut result = Map::new();
    result.push("message", Value::Str(message.clone()));
    result.push("severity", Value::Str("error".into()));
    set(&mut list, "results", Value::List(vec![Value::Map(result)]));
    (emit(list), Some(message))
}

/// Replaces (or appends) `key`.
fn set(map: &mut Map, key: &str, value: Value) {
    match map.get_mut(key) {
        Some(v) => *v = value,
        None => map.push(key, value),
    }
}

fn emit(list: Map) -> Vec<u8> {
    let tree = Tree {
        branches: vec![list],
    };
    // Emitting a parsed tree cannot fail; an empty output would make the caller fail.
    Format::Yaml
        .store(Some(INDENT))
        .emit(&tree, None)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn run(input: &str) -> (String, Option<String>) {
        let opts = crate::cli::Cli::try_parse_from(["leafcrypt"]).unwrap().opts;
        let settings = Settings {
            limit: 20,
            dummy: false,
        };
        let keys = || Ok(Keyring::new());
        let (out, err) = process(input.as_bytes(), &settings, &keys, &opts);
        (String::from_utf8(out).unwrap(), err)
    }

    #[test]
    fn other_items_pass_through_and_empty_generators_generate_nothing() {
        let (out, err) = run("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: keep\n- apiVersion: viaduct.ai/v1\n  kind: ksops\n  metadata:\n    name: g\n  files: []\n");
        assert_eq!(err, None);
        assert_eq!(
            out,
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: keep\n"
        );
    }

    #[test]
    fn failures_go_to_results_and_items_stay() {
        let (out, err) = run("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- kind: ksops\n  metadata:\n    name: g\n    annotations:\n      config.kubernetes.io/path: gen.yaml\n");
        let err = err.unwrap();
        assert!(
            err.starts_with("ksops generator \"g\" (gen.yaml): missing"),
            "{err}"
        );
        assert!(out.contains("items:\n  - kind: ksops\n"), "{out}");
        assert!(out.contains("severity: error"), "{out}");
        let (out, err) = run("kind: Secret\n");
        assert!(err.unwrap().contains("not a ResourceList"));
        assert!(out.contains("kind: ResourceList"), "{out}");
    }
}
