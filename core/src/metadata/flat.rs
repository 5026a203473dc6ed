//! The flattened metadata form of dotenv and INI (§9.2): nested maps and lists become
//! `name__map_key__list_0…` keys with string values, and newlines become the two
//! characters `\n`.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::numfmt::go_float_plain;
use crate::tree::{Map, Value};

const MAP_SEP: &str = "__map_";
const LIST_SEP: &str = "__list_";

/// Flattens `map` into `(key, text)` pairs sorted by key. Nulls, comments and empty
/// containers produce nothing.
pub(crate) fn flatten(map: &Map) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in map.pairs() {
        flatten_value(key.to_string(), value, &mut out);
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn flatten_value(prefix: String, value: &Value, out: &mut Vec<(String, String)>) {
    let text = match value {
        Value::Null | Value::Comment(_) => return,
        Value::Map(m) => {
            for (k, v) in m.pairs() {
                flatten_value(format!("{prefix}{MAP_SEP}{k}"), v, out);
            }
            return;
        }
        Value::List(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten_value(format!("{prefix}{LIST_SEP}{i}"), v, out);
            }
            return;
        }
        Value::Str(s) | Value::Time(s) => s.replace('\n', "\\n"),
        Value::Bytes(b) => String::from_utf8_lossy(b).replace('\n', "\\n"),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => go_float_plain(*f),
        Value::Bool(b) => b.to_string(),
    };
    out.push((prefix, text));
}

/// One node of the tree being rebuilt from flat keys.
enum Node {
    Leaf(String),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

/// One step of a flat key below its top-level name.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Rebuilds the nested map from flat pairs; `\n` in values becomes a newline. Map keys
/// come out sorted (the flat form has no order); list elements in index order.
pub(crate) fn unflatten(pairs: &[(String, String)]) -> Result<Map> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for (key, text) in pairs {
        let (name, steps) = split_key(key)?;
        let leaf = Node::Leaf(text.replace("\\n", "\n"));
        insert(&mut root, name, &steps, leaf, key)?;
    }
    let mut map = Map::new();
    for (k, node) in root {
        map.push(k, node.into_value());
    }
    Ok(map)
}

fn conflict(key: &str) -> Error {
    Error::Metadata(format!("conflicting flattened metadata key '{key}'"))
}

fn insert(
    map: &mut BTreeMap<String, Node>,
    name: &str,
    steps: &[Step<'_>],
    leaf: Node,
    full_key: &str,
) -> Result<()> {
    let Some((first, rest)) = steps.split_first() else {
        return match map.insert(name.to_string(), leaf) {
            None => Ok(()),
            Some(_) => Err(conflict(full_key)),
        };
    };
    let slot = map
        .entry(name.to_string())
        .or_insert_with(|| container_for(first));
    insert_step(slot, first, rest, leaf, full_key)
}

fn container_for(step: &Step<'_>) -> Node {
    match step {
        Step::Key(_) => Node::Map(BTreeMap::new()),
        Step::Index(_) => Node::List(BTreeMap::new()),
    }
}

fn insert_step(
    node: &mut Node,
    step: &Step<'_>,
    rest: &[Step<'_>],
    leaf: Node,
    full_key: &str,
) -> Result<()> {
    match (node, step) {
        (Node::Map(m), Step::Key(k)) => insert(m, k, rest, leaf, full_key),
        (Node::List(l), Step::Index(i)) => match rest.split_first() {
            None => match l.insert(*i, leaf) {
                None => Ok(()),
                Some(_) => Err(conflict(full_key)),
            },
            Some((next, rest)) => {
                let slot = l.entry(*i).or_insert_with(|| container_for(next));
                insert_step(slot, next, rest, leaf, full_key)
            }
        },
        _ => Err(conflict(full_key)),
    }
}

/// sops never writes a flattened key with an empty name or map key; one would not survive
/// being written again.
fn empty_component(key: &str) -> Error {
    Error::Metadata(format!(
        "invalid flattened metadata key '{key}': empty name component"
    ))
}

/// Splits `age__list_0__map_enc` into `age` and `[Index(0), Key("enc")]`.
fn split_key(key: &str) -> Result<(&str, Vec<Step<'_>>)> {
    let next_sep = |s: &str| {
        let m = s.find(MAP_SEP);
        let l = s.find(LIST_SEP);
        match (m, l) {
            (Some(m), Some(l)) if l < m => Some((l, LIST_SEP.len(), true)),
            (Some(m), _) => Some((m, MAP_SEP.len(), false)),
            (None, Some(l)) => Some((l, LIST_SEP.len(), true)),
            (None, None) => None,
        }
    };
    let Some((pos, _, _)) = next_sep(key) else {
        return Ok((key, Vec::new()));
    };
    let name = &key[..pos];
    let mut rest = &key[pos..];
    let mut steps = Vec::new();
    while let Some((_, sep_len, is_list)) = next_sep(rest) {
        let body = &rest[sep_len..];
        let end = next_sep(body).map_or(body.len(), |(p, _, _)| p);
        let part = &body[..end];
        if is_list {
            let index = part.parse().map_err(|_| {
                Error::Metadata(format!(
                    "invalid list index '{part}' in flattened metadata key '{key}'"
                ))
            })?;
            steps.push(Step::Index(index));
        } else if part.is_empty() {
            return Err(empty_component(key));
        } else {
            steps.push(Step::Key(part));
        }
        rest = &body[end..];
    }
    if name.is_empty() {
        return Err(empty_component(key));
    }
    Ok((name, steps))
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Leaf(s) => Value::Str(s),
            Node::Map(m) => {
                let mut map = Map::new();
                for (k, v) in m {
                    map.push(k, v.into_value());
                }
                Value::Map(map)
            }
            Node::List(l) => Value::List(l.into_values().map(Node::into_value).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unflatten_rebuilds_nesting_in_index_order() {
        let map = unflatten(&pairs(&[
            ("key_groups__list_1__map_age__list_0__map_recipient", "r1"),
            ("key_groups__list_0__map_age__list_0__map_enc", "a\\nb"),
            ("version", "3.11.0"),
        ]))
        .unwrap();
        let groups = map.get("key_groups").and_then(Value::as_list).unwrap();
        assert_eq!(groups.len(), 2);
        let enc = groups[0]
            .as_map()
            .and_then(|g| g.get("age"))
            .and_then(Value::as_list)
            .unwrap()[0]
            .as_map()
            .and_then(|e| e.get("enc"))
            .cloned();
        assert_eq!(enc, Some(Value::Str("a\nb".into())));
        assert_eq!(map.get("version"), Some(&Value::Str("3.11.0".into())));
    }

    #[test]
    fn flatten_then_unflatten_round_trips() {
        let flat = pairs(&[
            ("age__list_0__map_enc", "x\\ny"),
            ("kms__list_0__map_context__map_app", "demo"),
            ("lastmodified", "2024-01-01T00:00:00Z"),
        ]);
        assert_eq!(flatten(&unflatten(&flat).unwrap()), flat);
    }

    #[test]
    fn empty_components_are_errors() {
        for key in ["__list_0__map_x", "age__list_0__map_", "age__map___map_x"] {
            let e = unflatten(&pairs(&[(key, "v")])).unwrap_err();
            assert!(e.to_string().contains("empty name component"), "{key}: {e}");
        }
    }

    #[test]
    fn conflicts_and_bad_indices_are_errors() {
        assert!(unflatten(&pairs(&[("age", "x"), ("age__list_0__map_enc", "y")])).is_err());
        assert!(unflatten(&pairs(&[("age__list_x__map_enc", "y")])).is_err());
    }
}
