//! Tree paths in sops's syntax: `["key"][0]["nested"]`, as used by `--extract`, `set` and
//! `unset`. As in sops, list indices count every element, comments included, and
//! setting an index at or past the end of a list appends.

use crate::tree::{Map, Value};
use crate::{Error, Result};

/// One step of a tree path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// Parses `["a"][0]` (keys quoted with `"` or `'`, indices bare).
pub fn parse(path: &str) -> Result<Vec<Step>> {
    let bad = |why: &str| {
        Error::TreePath(format!(
            "invalid tree path '{path}': {why}; expected a form like '[\"key\"][0][\"nested\"]'"
        ))
    };
    let mut steps = Vec::new();
    let mut rest = path.trim();
    if rest.is_empty() {
        return Err(bad("it is empty"));
    }
    while !rest.is_empty() {
        rest = rest
            .strip_prefix('[')
            .ok_or_else(|| bad("each step must start with '['"))?;
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &rest[1..];
            let end = body.find(q).ok_or_else(|| bad("unterminated quoted key"))?;
            steps.push(Step::Key(body[..end].to_string()));
            rest = body[end + 1..]
                .strip_prefix(']')
                .ok_or_else(|| bad("expected ']' after a quoted key"))?;
        } else {
            let end = rest.find(']').ok_or_else(|| bad("missing ']'"))?;
            let index = rest[..end].trim().parse().map_err(|_| {
                bad(&format!(
                    "'{}' is neither a quoted key nor a list index",
                    &rest[..end]
                ))
            })?;
            steps.push(Step::Index(index));
            rest = &rest[end + 1..];
        }
    }
    Ok(steps)
}

/// Renders steps back to the path syntax (for messages).
pub fn render(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| match s {
            Step::Key(k) => format!("[\"{k}\"]"),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect()
}

/// The value at `steps` below `root`, comments skipped when indexing lists.
pub fn get<'a>(root: &'a Map, steps: &[Step]) -> Result<&'a Value> {
    let not_found = |upto: usize| {
        Error::TreePath(format!(
            "component {} not found in the tree (path {})",
            render(&steps[..=upto]),
            render(steps)
        ))
    };
    let mut current: Option<&Value> = None;
    for (i, step) in steps.iter().enumerate() {
        let next = match (current, step) {
            (None, Step::Key(k)) => root.get(k),
            (Some(Value::Map(m)), Step::Key(k)) => m.get(k),
            (Some(Value::List(l)), Step::Index(n)) => l.get(*n),
            _ => None,
        };
        current = Some(next.ok_or_else(|| not_found(i))?);
    }
    current.ok_or_else(|| not_found(0))
}

/// Sets the value at `steps`, creating missing map keys (appended) and, for an index one
/// past the end of a list, appending. Returns whether the tree changed.
pub fn set(root: &mut Map, steps: &[Step], value: Value) -> Result<bool> {
    let (first, _) = steps
        .split_first()
        .ok_or_else(|| Error::TreePath("empty tree path".into()))?;
    let Step::Key(key) = first else {
        return Err(Error::TreePath(format!(
            "path {} must start with a key",
            render(steps)
        )));
    };
    if root.get(key).is_none() {
        root.push(key.clone(), Value::Null);
    }
    let slot = root.get_mut(key).expect("inserted above");
    set_in(slot, steps, 1, value)
}

/// Sets `value` at `steps[at..]` below `slot` (the value at `steps[..at]`). A scalar or null
/// on the way becomes the collection the next step needs; a map or list never changes into
/// the other kind, since its contents would be lost (sops panics on a key in a list and
/// silently ignores an index into a map).
fn set_in(slot: &mut Value, steps: &[Step], at: usize, value: Value) -> Result<bool> {
    let Some(step) = steps.get(at) else {
        let changed = *slot != value;
        *slot = value;
        return Ok(changed);
    };
    let refuse = |what: &str| {
        Err(Error::TreePath(format!(
            "cannot set {}: the value at {} is {what}; unset it first to replace it",
            render(steps),
            render(&steps[..at])
        )))
    };
    match step {
        Step::Key(k) => {
            match slot {
                Value::Map(_) => {}
                Value::List(_) => return refuse("a list, which has no keys"),
                _ => *slot = Value::Map(Map::new()),
            }
            let Value::Map(m) = slot else { unreachable!() };
            if m.get(k).is_none() {
                m.push(k.clone(), Value::Null);
            }
            set_in(m.get_mut(k).expect("inserted above"), steps, at + 1, value)
        }
        Step::Index(n) => {
            match slot {
                Value::List(_) => {}
                Value::Map(_) => return refuse("a map, which has no indices"),
                _ => *slot = Value::List(Vec::new()),
            }
            let Value::List(l) = slot else { unreachable!() };
            // As sops: an index at or past the end appends.
            if *n >= l.len() {
                l.push(Value::Null);
                let last = l.len() - 1;
                return set_in(&mut l[last], steps, at + 1, value).map(|_| true);
            }
            set_in(&mut l[*n], steps, at + 1, value)
        }
    }
}

/// Removes the value at `steps`. Errors when it does not exist.
pub fn unset(root: &mut Map, steps: &[Step]) -> Result<()> {
    let (last, parents) = steps
        .split_last()
        .ok_or_else(|| Error::TreePath("empty tree path".into()))?;
    let missing = || Error::TreePath(format!("component {} not found in the tree", render(steps)));
    if parents.is_empty() {
        let Step::Key(k) = last else {
            return Err(missing());
        };
        return root.remove(k).map(|_| ()).ok_or_else(missing);
    }
    let parent = get_mut(root, parents).ok_or_else(missing)?;
    match (parent, last) {
        (Value::Map(m), Step::Key(k)) => m.remove(k).map(|_| ()).ok_or_else(missing),
        (Value::List(l), Step::Index(n)) if *n < l.len() => {
            l.remove(*n);
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn get_mut<'a>(root: &'a mut Map, steps: &[Step]) -> Option<&'a mut Value> {
    let (first, rest) = steps.split_first()?;
    let Step::Key(k) = first else { return None };
    let mut current = root.get_mut(k)?;
    for step in rest {
        current = match (current, step) {
            (Value::Map(m), Step::Key(k)) => m.get_mut(k)?,
            (Value::List(l), Step::Index(n)) => l.get_mut(*n)?,
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_indices() {
        assert_eq!(
            parse(r#"["a"][0]['b c']"#).unwrap(),
            vec![
                Step::Key("a".into()),
                Step::Index(0),
                Step::Key("b c".into())
            ]
        );
        for bad in ["", "a", "[\"a\"", "[x]", "[\"a\"]x"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn get_set_unset_round_trip() {
        let mut m = Map::new();
        m.push(
            "a",
            Value::List(vec![Value::Comment(" c".into()), Value::Int(1)]),
        );
        // Comments count as list elements, as in sops.
        let p = parse(r#"["a"][1]"#).unwrap();
        assert_eq!(get(&m, &p).unwrap(), &Value::Int(1));
        assert!(set(
            &mut m,
            &parse(r#"["b"]["c"][0]"#).unwrap(),
            Value::Bool(true)
        )
        .unwrap());
        assert_eq!(
            get(&m, &parse(r#"["b"]["c"][0]"#).unwrap()).unwrap(),
            &Value::Bool(true)
        );
        assert!(!set(&mut m, &p, Value::Int(1)).unwrap());
        // An index past the end appends.
        assert!(set(&mut m, &parse(r#"["a"][9]"#).unwrap(), Value::Int(2)).unwrap());
        assert_eq!(
            get(&m, &parse(r#"["a"][2]"#).unwrap()).unwrap(),
            &Value::Int(2)
        );
        // A list never turns into a map, nor a map into a list: their contents would be lost.
        let before = m.clone();
        let e = set(&mut m, &parse(r#"["a"]["x"]"#).unwrap(), Value::Int(3)).unwrap_err();
        assert!(
            e.to_string().contains(r#"the value at ["a"] is a list"#),
            "{e}"
        );
        let e = set(&mut m, &parse(r#"["b"][0]"#).unwrap(), Value::Int(3)).unwrap_err();
        assert!(
            e.to_string().contains(r#"the value at ["b"] is a map"#),
            "{e}"
        );
        assert_eq!(m, before);
        unset(&mut m, &p).unwrap();
        assert_eq!(get(&m, &p).unwrap(), &Value::Int(2));
        assert!(unset(&mut m, &parse(r#"["a"][5]"#).unwrap()).is_err());
        assert!(unset(&mut m, &parse(r#"["zz"]"#).unwrap()).is_err());
    }
}
