//! Three-way merge of an encrypted file (the Git merge driver's rule).
//!
//! Base, ours and theirs are decrypted (each must pass its MAC), their plaintext trees are
//! merged key by key, and the result is re-encrypted with *ours*' data key and metadata.
//! Values the merge leaves as ours has them keep their `ENC[…]` text byte for byte (ours'
//! IVs are reused, as `set` and `edit` reuse them); changed values get fresh IVs; the MAC
//! and `lastmodified` are renewed. Everything happens in memory.
//!
//! The rule, per node: equal on both sides → that; changed on one side only → that side;
//! changed on both sides → maps are merged key by key (a key added or removed on one side
//! follows that side), lists of one length on all three sides item by item, anything
//! else is a conflict. The comment lines before each key (and at a map's end) merge the
//! same way, as one value. A conflict is either reported (its key path listed, nothing
//! written) or, with markers, replaced by a string holding `<<<<<<< ours … >>>>>>> theirs`
//! that is encrypted like any other value.

use super::{EncryptedFile, Layout, OpenFile};
use crate::keysource::Keyring;
use crate::metadata::Metadata;
use crate::ops::DecryptOptions;
use crate::stores::Format;
use crate::tree::{Entry, Map, Tree, Value};
use crate::treepath::{self, Step};
use crate::{Error, ExitCode};
use std::collections::HashMap;

/// How to merge.
#[derive(Clone, Debug, Default)]
pub struct MergeOptions {
    /// Write conflicts as marker strings (encrypted) instead of refusing the merge.
    pub markers: bool,
    /// How the three versions are decrypted (`ignore_mac` is always off).
    pub decrypt: DecryptOptions,
    /// The time of the merge, RFC 3339 seconds, UTC (the new `lastmodified`).
    pub now: String,
}

/// The three versions of the file, as bytes.
#[derive(Clone, Copy, Debug)]
pub struct MergeInput<'a> {
    /// The common ancestor; `None` when there is none (both sides added the file).
    pub base: Option<&'a [u8]>,
    /// Our version (the one the result is encrypted like).
    pub ours: &'a [u8],
    /// Their version.
    pub theirs: &'a [u8],
}

/// What a merge produced.
#[derive(Debug)]
pub enum Merged {
    /// No conflict: the merged, encrypted file.
    Clean(Vec<u8>),
    /// Conflicting key paths (`["a"]["b"]`); with markers, also the encrypted file that
    /// holds them.
    Conflicts {
        /// The key paths changed differently on both sides.
        paths: Vec<String>,
        /// The file with marker values, when markers were asked for.
        file: Option<Vec<u8>>,
    },
}

/// One of the three versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The common ancestor.
    Base,
    /// Our version.
    Ours,
    /// Their version.
    Theirs,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Base => "base",
            Side::Ours => "ours",
            Side::Theirs => "theirs",
        })
    }
}

/// Why a merge could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// One version does not parse or decrypt (or fails its MAC).
    #[error("the {side} version: {source}")]
    Open {
        /// Which version.
        side: Side,
        /// The core's error.
        source: Error,
    },
    /// Their key groups (or selector) differ from ours and from the base: the merge would
    /// drop their key change.
    #[error(
        "their version changed the file's {what} and ours did not make the same change; \
         the merge keeps ours' data key and keys, so it would drop theirs. Make both branches \
         agree first (e.g. `leafcrypt updatekeys -y FILE` or `rotate` on one side), then merge"
    )]
    Metadata {
        /// What differs (`key groups`, `selector`).
        what: &'static str,
    },
    /// The merged tree could not be re-encrypted.
    #[error("re-encrypting the merged file: {0}")]
    Seal(Error),
}

impl MergeError {
    /// sops's exit code for the underlying failure (1 for a refused merge).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            MergeError::Open { source, .. } | MergeError::Seal(source) => source.exit_code(),
            MergeError::Metadata { .. } => ExitCode::ErrorGeneric,
        }
    }
}

/// Merges three versions of an encrypted file of `layout.input` format (see the module
/// documentation). The output is written in `layout.output`.
pub async fn merge(
    input: MergeInput<'_>,
    layout: &Layout,
    keyring: &Keyring,
    options: &MergeOptions,
) -> Result<Merged, MergeError> {
    let open = |side: Side, bytes: &[u8]| {
        let mut opts = options.decrypt.clone();
        opts.ignore_mac = false;
        opts.skip_iv_stash = side != Side::Ours;
        let parsed = EncryptedFile::parse(bytes, layout.input);
        async move {
            let file = parsed.map_err(|source| MergeError::Open { side, source })?;
            file.open(keyring, opts)
                .await
                .map_err(|source| MergeError::Open { side, source })
        }
    };
    let mut ours = open(Side::Ours, input.ours).await?;
    let theirs = open(Side::Theirs, input.theirs).await?;
    let base = match input.base {
        Some(bytes) => Some(open(Side::Base, bytes).await?),
        None => None,
    };
    check_metadata(
        base.as_ref().map(|b| &b.metadata),
        &ours.metadata,
        &theirs.metadata,
    )?;
    let mut merger = Merger {
        markers: options.markers,
        conflicts: Vec::new(),
        path: Vec::new(),
        document: 0,
    };
    let tree = merger.tree(base.as_ref().map(|b| &b.tree), &ours.tree, &theirs.tree);
    let conflicts = std::mem::take(&mut merger.conflicts);
    if !conflicts.is_empty() && !options.markers {
        return Ok(Merged::Conflicts {
            paths: conflicts,
            file: None,
        });
    }
    let bytes = if tree == ours.tree {
        // Nothing of theirs to take: ours as it is, byte for byte.
        input.ours.to_vec()
    } else {
        ours.tree = tree;
        seal(ours, layout, &options.now)?
    };
    Ok(if conflicts.is_empty() {
        Merged::Clean(bytes)
    } else {
        Merged::Conflicts {
            paths: conflicts,
            file: Some(bytes),
        }
    })
}

/// Re-encrypts ours with its data key and IV stash and writes it.
fn seal(ours: OpenFile, layout: &Layout, now: &str) -> Result<Vec<u8>, MergeError> {
    ours.seal(layout, now).map_err(MergeError::Seal)
}

/// The parts of the metadata a merge must not silently drop: which keys (kind and
/// identity, not the wrapped data key), the threshold, and the selector.
fn key_set(m: &Metadata) -> (Vec<Vec<(String, String)>>, usize) {
    let groups = m
        .key_groups
        .iter()
        .map(|g| {
            let mut keys: Vec<(String, String)> = g
                .keys
                .iter()
                .map(|k| (k.kind.clone(), k.identity()))
                .collect();
            keys.sort();
            keys
        })
        .collect();
    (groups, m.shamir_threshold)
}

/// Refuses a merge in which theirs changed the keys or selector and ours did not make
/// the same change (a change on ours only is kept: the result is encrypted like ours).
fn check_metadata(
    base: Option<&Metadata>,
    ours: &Metadata,
    theirs: &Metadata,
) -> Result<(), MergeError> {
    let changed = |f: &dyn Fn(&Metadata) -> String| {
        let t = f(theirs);
        t != f(ours) && base.is_none_or(|b| t != f(b))
    };
    if changed(&|m| format!("{:?}", key_set(m))) {
        return Err(MergeError::Metadata { what: "key groups" });
    }
    if changed(&|m| format!("{:?}/{}", m.selector, m.mac_only_encrypted)) {
        return Err(MergeError::Metadata {
            what: "selector (which values are encrypted)",
        });
    }
    Ok(())
}

/// The tree merge: collects conflicting paths while it builds the result.
struct Merger {
    markers: bool,
    conflicts: Vec<String>,
    path: Vec<Step>,
    document: usize,
}

impl Merger {
    fn tree(&mut self, base: Option<&Tree>, ours: &Tree, theirs: &Tree) -> Tree {
        let count = ours.branches.len().max(theirs.branches.len());
        let empty = Map::new();
        let mut branches = Vec::with_capacity(count);
        for i in 0..count {
            self.document = i;
            let b = base.and_then(|b| b.branches.get(i));
            let (o, t) = (ours.branches.get(i), theirs.branches.get(i));
            let merged = match (o, t) {
                (Some(o), Some(t)) => Some(self.map(b.unwrap_or(&empty), o, t)),
                // A document only one side has: kept unless the other side removed it.
                (Some(side), None) | (None, Some(side)) => match b {
                    Some(b) if b == side => None,
                    _ => Some(side.clone()),
                },
                (None, None) => None,
            };
            branches.extend(merged);
        }
        Tree { branches }
    }

    fn map(&mut self, base: &Map, ours: &Map, theirs: &Map) -> Map {
        let (b, o, t) = (Slots::of(base), Slots::of(ours), Slots::of(theirs));
        let mut out: Vec<(Vec<String>, String, Value)> = Vec::new();
        for slot in &o.pairs {
            let (bs, ts) = (b.get(slot.key), t.get(slot.key));
            self.path.push(Step::Key(slot.key.to_string()));
            let value = self.value(bs.map(|s| s.value), Some(slot.value), ts.map(|s| s.value));
            if let Some(v) = value {
                let comments = self.comments(
                    bs.map(|s| &s.comments[..]),
                    &slot.comments,
                    ts.map(|s| &s.comments[..]),
                    "the comments before it",
                );
                out.push((comments, slot.key.to_string(), v));
            }
            self.path.pop();
        }
        // Keys theirs has and ours has not: added by theirs, or removed by ours.
        let mut previous: Option<&str> = None;
        for slot in &t.pairs {
            if o.get(slot.key).is_none() {
                self.path.push(Step::Key(slot.key.to_string()));
                let merged = self.value(b.get(slot.key).map(|s| s.value), None, Some(slot.value));
                self.path.pop();
                if let Some(v) = merged {
                    let at = previous
                        .and_then(|p| out.iter().position(|(_, k, _)| k == p))
                        .map_or(out.len(), |i| i + 1);
                    let comments = slot.comments.iter().map(|c| c.to_string()).collect();
                    out.insert(at, (comments, slot.key.to_string(), v));
                }
            }
            previous = Some(slot.key);
        }
        let tail = self.comments(
            Some(&b.tail),
            &o.tail,
            Some(&t.tail),
            "the comments at its end",
        );
        let mut map = Map::new();
        for (comments, key, value) in out {
            map.entries.extend(comments.into_iter().map(Entry::Comment));
            map.push(key, value);
        }
        map.entries.extend(tail.into_iter().map(Entry::Comment));
        map
    }

    /// The comment lines before a key (or at a map's end), merged as one value: a change
    /// on one side wins; different changes on both sides are a conflict (ours kept).
    fn comments(
        &mut self,
        base: Option<&[&str]>,
        ours: &[&str],
        theirs: Option<&[&str]>,
        what: &str,
    ) -> Vec<String> {
        let (b, t) = (base.unwrap_or(&[]), theirs.unwrap_or(&[]));
        let chosen = if ours == t || b == t {
            ours
        } else if b == ours {
            t
        } else {
            let path = treepath::render(&self.path);
            let path = if path.is_empty() {
                format!("{what} (top level)")
            } else {
                format!("{path} ({what})")
            };
            self.note_conflict(path);
            ours
        };
        chosen.iter().map(|c| c.to_string()).collect()
    }

    fn value(
        &mut self,
        base: Option<&Value>,
        ours: Option<&Value>,
        theirs: Option<&Value>,
    ) -> Option<Value> {
        if ours == theirs || base == theirs {
            return ours.cloned();
        }
        if base == ours {
            return theirs.cloned();
        }
        match (base, ours, theirs) {
            (None | Some(Value::Map(_)), Some(Value::Map(o)), Some(Value::Map(t))) => {
                let empty = Map::new();
                let b = base.and_then(Value::as_map).unwrap_or(&empty);
                Some(Value::Map(self.map(b, o, t)))
            }
            (Some(Value::List(b)), Some(Value::List(o)), Some(Value::List(t)))
                if b.len() == o.len() && o.len() == t.len() =>
            {
                let mut items = Vec::with_capacity(o.len());
                for i in 0..o.len() {
                    self.path.push(Step::Index(i));
                    items.push(
                        self.value(Some(&b[i]), Some(&o[i]), Some(&t[i]))
                            .unwrap_or(Value::Null),
                    );
                    self.path.pop();
                }
                Some(Value::List(items))
            }
            _ => self.conflict(base, ours, theirs),
        }
    }

    fn conflict(
        &mut self,
        base: Option<&Value>,
        ours: Option<&Value>,
        theirs: Option<&Value>,
    ) -> Option<Value> {
        self.note_conflict(treepath::render(&self.path));
        if !self.markers {
            return ours.cloned();
        }
        Some(Value::Str(format!(
            "<<<<<<< ours\n{}\n||||||| base\n{}\n=======\n{}\n>>>>>>> theirs",
            shown(ours),
            shown(base),
            shown(theirs)
        )))
    }
}

impl Merger {
    /// Records a conflict at `path` (prefixed with the document number past the first).
    fn note_conflict(&mut self, path: String) {
        self.conflicts.push(if self.document == 0 {
            path
        } else {
            format!("document {}: {path}", self.document + 1)
        });
    }
}

/// A map as the merge sees it: each pair with the comment lines just before it, and
/// the comment lines after the last pair.
struct Slots<'m> {
    pairs: Vec<Slot<'m>>,
    tail: Vec<&'m str>,
    /// Key → index of its first pair.
    index: HashMap<&'m str, usize>,
}

struct Slot<'m> {
    comments: Vec<&'m str>,
    key: &'m str,
    value: &'m Value,
}

impl<'m> Slots<'m> {
    fn of(map: &'m Map) -> Self {
        let mut pairs = Vec::new();
        let mut pending = Vec::new();
        let mut index = HashMap::new();
        for entry in &map.entries {
            match entry {
                Entry::Comment(c) => pending.push(c.as_str()),
                Entry::Pair(key, value) => {
                    index.entry(key.as_str()).or_insert(pairs.len());
                    pairs.push(Slot {
                        comments: std::mem::take(&mut pending),
                        key,
                        value,
                    });
                }
            }
        }
        Self {
            pairs,
            tail: pending,
            index,
        }
    }

    fn get(&self, key: &str) -> Option<&Slot<'m>> {
        self.index.get(key).map(|&i| &self.pairs[i])
    }
}

/// A value as conflict markers show it: a scalar's text, a map or list as JSON.
fn shown(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "(deleted)".into();
    };
    if let Some((plain, _)) = crate::cipher::plaintext(value) {
        return String::from_utf8_lossy(&plain).into_owned();
    }
    match value {
        Value::Null => "null".into(),
        other => Format::Json
            .store(None)
            .emit_value(other)
            .map(|b| String::from_utf8_lossy(&b).trim_end().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Map {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.push(*k, v.clone());
        }
        m
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn merge_maps(base: &Map, ours: &Map, theirs: &Map, markers: bool) -> (Map, Vec<String>) {
        let mut m = Merger {
            markers,
            conflicts: Vec::new(),
            path: Vec::new(),
            document: 0,
        };
        let out = m.map(base, ours, theirs);
        (out, m.conflicts)
    }

    #[test]
    fn different_keys_changed_merge_cleanly_in_ours_order() {
        let base = map(&[("a", s("1")), ("b", s("2")), ("c", s("3"))]);
        let ours = map(&[("a", s("1o")), ("b", s("2")), ("c", s("3"))]);
        let theirs = map(&[
            ("a", s("1")),
            ("b", s("2")),
            ("n", s("new")),
            ("c", s("3t")),
        ]);
        let (out, conflicts) = merge_maps(&base, &ours, &theirs, false);
        assert!(conflicts.is_empty());
        let want = map(&[
            ("a", s("1o")),
            ("b", s("2")),
            ("n", s("new")),
            ("c", s("3t")),
        ]);
        assert_eq!(out, want);
    }

    #[test]
    fn removals_follow_the_side_that_removed() {
        let base = map(&[("a", s("1")), ("b", s("2"))]);
        let ours = map(&[("b", s("2"))]);
        let theirs = map(&[("a", s("1"))]);
        let (out, conflicts) = merge_maps(&base, &ours, &theirs, false);
        assert!(conflicts.is_empty());
        assert_eq!(out, Map::new());
    }

    #[test]
    fn the_same_key_changed_twice_is_a_conflict_at_its_path() {
        let inner = |v| Value::Map(map(&[("pw", s(v))]));
        let base = map(&[("db", inner("x"))]);
        let ours = map(&[("db", inner("o"))]);
        let theirs = map(&[("db", inner("t"))]);
        let (out, conflicts) = merge_maps(&base, &ours, &theirs, false);
        assert_eq!(conflicts, vec![r#"["db"]["pw"]"#.to_string()]);
        assert_eq!(out, ours);
        let (out, _) = merge_maps(&base, &ours, &theirs, true);
        let Some(Value::Map(db)) = out.get("db") else {
            panic!("db is not a map: {out:?}")
        };
        assert_eq!(
            db.get("pw"),
            Some(&s(
                "<<<<<<< ours\no\n||||||| base\nx\n=======\nt\n>>>>>>> theirs"
            ))
        );
    }

    #[test]
    fn lists_merge_by_position_only_at_equal_length() {
        let list = |v: &[&str]| Value::List(v.iter().map(|x| s(x)).collect());
        let base = map(&[("l", list(&["a", "b"]))]);
        let ours = map(&[("l", list(&["A", "b"]))]);
        let theirs = map(&[("l", list(&["a", "B"]))]);
        let (out, conflicts) = merge_maps(&base, &ours, &theirs, false);
        assert!(conflicts.is_empty());
        assert_eq!(out.get("l"), Some(&list(&["A", "B"])));
        let theirs = map(&[("l", list(&["a", "b", "c"]))]);
        let (_, conflicts) = merge_maps(&base, &ours, &theirs, false);
        assert_eq!(conflicts, vec![r#"["l"]"#.to_string()]);
    }

    fn with_keys(recipients: &[&str], enc: &str) -> Metadata {
        use crate::keysource::KeyEntry;
        let keys = recipients
            .iter()
            .map(|r| KeyEntry::new("age").with("recipient", *r).with("enc", enc))
            .collect();
        Metadata {
            key_groups: vec![crate::metadata::KeyGroup { keys }],
            ..Default::default()
        }
    }

    #[test]
    fn key_changes_are_refused_only_when_theirs_would_be_dropped() {
        let base = with_keys(&["a"], "1");
        let rewrapped = with_keys(&["a"], "2");
        let added = with_keys(&["a", "b"], "3");
        // A re-wrap (rotate) alone is no key change.
        assert!(check_metadata(Some(&base), &base, &rewrapped).is_ok());
        // Ours only: kept (the result is encrypted like ours).
        assert!(check_metadata(Some(&base), &added, &base).is_ok());
        // Both the same: fine, in any order.
        let reordered = with_keys(&["b", "a"], "4");
        assert!(check_metadata(Some(&base), &added, &reordered).is_ok());
        // Theirs only, or both differently: refused.
        let err = check_metadata(Some(&base), &base, &added).unwrap_err();
        assert!(err.to_string().contains("key groups"), "{err}");
        assert_eq!(err.exit_code(), ExitCode::ErrorGeneric);
        let other = with_keys(&["a", "c"], "5");
        assert!(check_metadata(Some(&base), &added, &other).is_err());
        // Without a base, the two sides must agree.
        assert!(check_metadata(None, &added, &other).is_err());
        assert!(check_metadata(None, &added, &reordered).is_ok());
    }

    #[test]
    fn comments_travel_with_their_key_and_merge_like_values() {
        let c = |t: &str| Entry::Comment(t.into());
        let p = |k: &str, v: &str| Entry::Pair(k.into(), s(v));
        let m = |entries: Vec<Entry>| Map {
            entries,
            ..Map::default()
        };
        let base = m(vec![c(" a"), p("a", "1"), p("b", "2"), c(" end")]);
        let ours = m(vec![c(" a"), p("a", "1o"), p("b", "2"), c(" end")]);
        let theirs = m(vec![
            c(" a, theirs"),
            p("a", "1"),
            c(" b"),
            p("b", "2"),
            c(" n"),
            p("n", "3"),
            c(" end, theirs"),
        ]);
        let (out, conflicts) = merge_maps(&base, &ours, &theirs, false);
        assert!(conflicts.is_empty(), "{conflicts:?}");
        let want = m(vec![
            c(" a, theirs"),
            p("a", "1o"),
            c(" b"),
            p("b", "2"),
            c(" n"),
            p("n", "3"),
            c(" end, theirs"),
        ]);
        assert_eq!(out, want);
        let ours = m(vec![c(" a, ours"), p("a", "1"), p("b", "2"), c(" end")]);
        let (_, conflicts) = merge_maps(&base, &ours, &theirs, false);
        assert_eq!(
            conflicts,
            vec![r#"["a"] (the comments before it)"#.to_string()]
        );
    }

    #[test]
    fn deleted_on_one_side_and_changed_on_the_other_conflicts() {
        let base = map(&[("a", s("1"))]);
        let ours = Map::new();
        let theirs = map(&[("a", s("2"))]);
        let (_, conflicts) = merge_maps(&base, &ours, &theirs, false);
        assert_eq!(conflicts, vec![r#"["a"]"#.to_string()]);
    }
}
