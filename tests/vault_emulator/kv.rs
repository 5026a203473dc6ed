//! The KV engines: v1 (one value per path) and v2 (versions under `data/`, `metadata/`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::errors;
use crate::routes::{secret, secret_lease};
use crate::state::{now, rfc3339, Secret};

/// Serves `rest` (the path inside the mount) of a KV engine of `version`.
pub fn handle(
    version: u8,
    store: &mut BTreeMap<String, Vec<Secret>>,
    method: &str,
    rest: &str,
    list: bool,
    body: &Value,
    query_version: Option<usize>,
) -> Resp {
    if version == 1 {
        return v1(store, method, rest, list, body);
    }
    if rest == "config" && method == "GET" {
        return secret(
            json!({ "max_versions": 0, "cas_required": false, "delete_version_after": "0s" }),
        );
    }
    if let Some(path) = rest.strip_prefix("data/") {
        return v2_data(store, method, path, body, query_version);
    }
    if let Some(path) = rest
        .strip_prefix("metadata")
        .map(|p| p.trim_start_matches('/'))
    {
        if list || method == "LIST" {
            return listing(store, path);
        }
        return match (method, store.get(path)) {
            ("GET", Some(versions)) => {
                let all: serde_json::Map<String, Value> = versions
                    .iter()
                    .enumerate()
                    .map(|(i, s)| ((i + 1).to_string(), meta(i + 1, s)))
                    .collect();
                secret(json!({ "current_version": versions.len(), "versions": all }))
            }
            ("DELETE", _) => {
                store.remove(path);
                errors::no_content()
            }
            _ => errors::not_found(),
        };
    }
    errors::no_route(rest)
}

use crate::http::Resp;

fn v1(
    store: &mut BTreeMap<String, Vec<Secret>>,
    method: &str,
    path: &str,
    list: bool,
    body: &Value,
) -> Resp {
    if list || method == "LIST" {
        return listing(store, path);
    }
    match method {
        "GET" => match store.get(path).and_then(|v| v.last()) {
            Some(s) => secret_lease(s.data.clone(), 2_764_800),
            None => errors::not_found(),
        },
        "POST" | "PUT" => {
            if !body.is_object() {
                return errors::bad_request("data must be a JSON object");
            }
            store.insert(
                path.to_string(),
                vec![Secret {
                    data: body.clone(),
                    created: now(),
                }],
            );
            errors::no_content()
        }
        "DELETE" => {
            store.remove(path);
            errors::no_content()
        }
        _ => errors::unsupported_operation(),
    }
}

fn v2_data(
    store: &mut BTreeMap<String, Vec<Secret>>,
    method: &str,
    path: &str,
    body: &Value,
    query_version: Option<usize>,
) -> Resp {
    match method {
        "GET" => {
            let Some(versions) = store.get(path) else {
                return errors::not_found();
            };
            let n = query_version.filter(|v| *v > 0).unwrap_or(versions.len());
            match versions.get(n.wrapping_sub(1)) {
                Some(s) => secret(json!({ "data": s.data, "metadata": meta(n, s) })),
                None => errors::not_found(),
            }
        }
        "POST" | "PUT" => {
            let Some(data) = body.get("data").filter(|d| d.is_object()) else {
                return errors::bad_request("no data provided");
            };
            let versions = store.entry(path.to_string()).or_default();
            if let Some(cas) = body.pointer("/options/cas").and_then(Value::as_u64) {
                if cas as usize != versions.len() {
                    return errors::bad_request(
                        "check-and-set parameter did not match the current version",
                    );
                }
            }
            versions.push(Secret {
                data: data.clone(),
                created: now(),
            });
            let n = versions.len();
            secret(meta(n, &versions[n - 1]))
        }
        "DELETE" => {
            store.remove(path);
            errors::no_content()
        }
        _ => errors::unsupported_operation(),
    }
}

fn meta(version: usize, s: &Secret) -> Value {
    json!({
        "created_time": rfc3339(s.created),
        "custom_metadata": null,
        "deletion_time": "",
        "destroyed": false,
        "version": version,
    })
}

fn listing(store: &BTreeMap<String, Vec<Secret>>, dir: &str) -> Resp {
    let prefix = if dir.is_empty() || dir.ends_with('/') {
        dir.to_string()
    } else {
        format!("{dir}/")
    };
    let mut keys: Vec<String> = store
        .keys()
        .filter_map(|k| k.strip_prefix(prefix.as_str()))
        .map(|k| match k.split_once('/') {
            Some((head, _)) => format!("{head}/"),
            None => k.to_string(),
        })
        .collect();
    keys.dedup();
    if keys.is_empty() {
        return errors::not_found();
    }
    secret(json!({ "keys": keys }))
}
