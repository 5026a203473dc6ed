//! The one depth-first tree walk (§4) shared by encryption, decryption and the MAC.
//!
//! It visits every leaf in document order with its AAD (`join(path, ":") + ":"`, list
//! indices left out) and the selector's decision, maintaining the comments stack: a run
//! of comments applies to the next non-comment sibling and all of its descendants.
//! Whether an item counts as a comment is decided on the value *before* the visitor
//! sees it, which reproduces sops's list-comment quirk in both directions.

use crate::selectors::Rules;
use crate::tree::{Entry, Map, Tree, Value};
use crate::Result;

/// A leaf handed to the visitor, which may replace it in place.
pub enum Leaf<'a> {
    /// A comment entry of a map (its text).
    MapComment(&'a mut String),
    /// A scalar, or a comment that is a list element (or, unusually, a map value).
    Value(&'a mut Value),
}

/// Where a leaf sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// A comment entry of a map.
    MapComment,
    /// The value of a map entry.
    MapValue,
    /// An element of a list.
    ListItem,
}

/// What the walk knows about a leaf.
#[derive(Clone, Copy, Debug)]
pub struct LeafInfo<'a> {
    /// The additional data: `a:b:` (`:` for the top level).
    pub aad: &'a str,
    /// Whether the selector picks this leaf for encryption.
    pub selected: bool,
    /// Where the leaf sits.
    pub position: Position,
}

impl LeafInfo<'_> {
    /// The key path for messages: the AAD without its trailing `:`.
    pub fn path(&self) -> &str {
        self.aad.strip_suffix(':').unwrap_or(self.aad)
    }
}

/// Walks every branch of `tree` (each from an empty path and an empty comments stack),
/// calling `visit` for every leaf. Null, empty maps and empty lists are not leaves.
pub fn walk_tree<F>(tree: &mut Tree, rules: &Rules, visit: F) -> Result<()>
where
    F: FnMut(Leaf<'_>, &LeafInfo<'_>) -> Result<()>,
{
    let mut walker = Walker {
        rules,
        visit,
        aad: String::new(),
        levels: Vec::new(),
        stack_matches: 0,
    };
    for branch in &mut tree.branches {
        walker.walk_map(branch, false)?;
    }
    Ok(())
}

struct Walker<'r, F> {
    rules: &'r Rules,
    visit: F,
    /// `a:b:` for the current path (empty at the top level).
    aad: String,
    /// Per nesting level, how many comments of its current run match the selector.
    levels: Vec<usize>,
    /// Sum of `levels`.
    stack_matches: usize,
}

impl<F> Walker<'_, F>
where
    F: FnMut(Leaf<'_>, &LeafInfo<'_>) -> Result<()>,
{
    fn walk_map(&mut self, map: &mut Map, path_matched: bool) -> Result<()> {
        self.levels.push(0);
        for entry in &mut map.entries {
            match entry {
                Entry::Comment(text) => {
                    let own = self.push_comment(text);
                    self.leaf(
                        Leaf::MapComment(text),
                        path_matched,
                        Some(own),
                        Position::MapComment,
                    )?;
                }
                Entry::Pair(key, value) => {
                    let own = match value {
                        Value::Comment(text) => Some(self.push_comment(text)),
                        _ => None,
                    };
                    let len = self.aad.len();
                    self.aad.push_str(key);
                    self.aad.push(':');
                    let matched = path_matched || self.rules.key_matches(key);
                    let result = self.walk_value(value, matched, own, Position::MapValue);
                    self.aad.truncate(len);
                    result?;
                    if own.is_none() {
                        self.clear_top();
                    }
                }
            }
        }
        self.pop_level();
        Ok(())
    }

    fn walk_list(&mut self, items: &mut [Value], path_matched: bool) -> Result<()> {
        self.levels.push(0);
        for item in items {
            let own = match item {
                Value::Comment(text) => Some(self.push_comment(text)),
                _ => None,
            };
            self.walk_value(item, path_matched, own, Position::ListItem)?;
            if own.is_none() {
                self.clear_top();
            }
        }
        self.pop_level();
        Ok(())
    }

    fn walk_value(
        &mut self,
        value: &mut Value,
        path_matched: bool,
        own: Option<bool>,
        pos: Position,
    ) -> Result<()> {
        match value {
            Value::Null => Ok(()),
            Value::Map(map) => self.walk_map(map, path_matched),
            Value::List(items) => self.walk_list(items, path_matched),
            _ => self.leaf(Leaf::Value(value), path_matched, own, pos),
        }
    }

    fn leaf(
        &mut self,
        leaf: Leaf<'_>,
        path_matched: bool,
        own: Option<bool>,
        position: Position,
    ) -> Result<()> {
        let selected =
            self.rules
                .should_encrypt(path_matched, self.stack_matches, own.unwrap_or(false));
        let aad = if self.aad.is_empty() {
            ":"
        } else {
            self.aad.as_str()
        };
        (self.visit)(
            leaf,
            &LeafInfo {
                aad,
                selected,
                position,
            },
        )
    }

    /// Adds a comment to the current level; returns whether it matched.
    fn push_comment(&mut self, text: &str) -> bool {
        let matched = self.rules.comment_matches(text);
        if matched {
            if let Some(top) = self.levels.last_mut() {
                *top += 1;
            }
            self.stack_matches += 1;
        }
        matched
    }

    fn clear_top(&mut self) {
        if let Some(top) = self.levels.last_mut() {
            self.stack_matches -= *top;
            *top = 0;
        }
    }

    fn pop_level(&mut self) {
        self.clear_top();
        self.levels.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Selector;

    fn collect(tree: &mut Tree, sel: Option<Selector>) -> Vec<(String, bool, Position)> {
        let rules = Rules::compile(sel.as_ref()).unwrap();
        let mut seen = Vec::new();
        walk_tree(tree, &rules, |_, info| {
            seen.push((info.aad.to_string(), info.selected, info.position));
            Ok(())
        })
        .unwrap();
        seen
    }

    fn sample() -> Tree {
        let mut inner = Map::new();
        inner.entries.push(Entry::Comment(" inner".into()));
        inner.push("a", Value::Int(1));
        inner.push(
            "list",
            Value::List(vec![
                Value::Str("x".into()),
                Value::Comment(" lc".into()),
                Value::Null,
                Value::Bool(true),
            ]),
        );
        let mut root = Map::new();
        root.entries.push(Entry::Comment(" top".into()));
        root.push("str", Value::Str("s".into()));
        root.push("nested", Value::Map(inner));
        root.push("key_unencrypted", Value::Str("v".into()));
        root.push("empty", Value::Map(Map::new()));
        Tree {
            branches: vec![root.clone(), root],
        }
    }

    #[test]
    fn aad_leaves_out_list_indices() {
        let seen = collect(&mut sample(), None);
        let aads: Vec<_> = seen.iter().map(|(a, s, _)| (a.as_str(), *s)).collect();
        let one = [
            (":", true),
            ("str:", true),
            ("nested:", true),
            ("nested:a:", true),
            ("nested:list:", true),
            ("nested:list:", true),
            ("nested:list:", true),
            ("key_unencrypted:", false),
        ];
        assert_eq!(aads, [one, one].concat());
        assert_eq!(seen[5].2, Position::ListItem);
        assert_eq!(seen[0].2, Position::MapComment);
    }

    #[test]
    fn comment_runs_cover_the_next_sibling_and_its_subtree() {
        let mut inner = Map::new();
        inner.push("deep", Value::Str("d".into()));
        let mut root = Map::new();
        root.entries.push(Entry::Comment(" sops:enc".into()));
        root.entries.push(Entry::Comment(" other".into()));
        root.push("sub", Value::Map(inner));
        root.push("after", Value::Str("a".into()));
        root.push(
            "list",
            Value::List(vec![
                Value::Comment(" sops:enc".into()),
                Value::Int(1),
                Value::Int(2),
            ]),
        );
        let seen = collect(
            &mut Tree {
                branches: vec![root],
            },
            Some(Selector::EncryptedCommentRegex("sops:enc".into())),
        );
        let got: Vec<_> = seen.iter().map(|(a, s, _)| (a.as_str(), *s)).collect();
        assert_eq!(
            got,
            [
                (":", false), // the marker itself
                (":", true),  // the next comment in the run
                ("sub:deep:", true),
                ("after:", false), // the run was cleared by `sub`
                ("list:", false),  // marker in a list
                ("list:", true),
                ("list:", false),
            ]
        );
    }
}
