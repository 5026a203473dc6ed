//! The document tree every store parses into and emits from.
//!
//! A [`Tree`] holds one [`Map`] per document (YAML files may hold several; every other
//! format holds exactly one). Maps keep insertion order and may contain comments as
//! entries; lists may contain comments as elements. Scalars are typed the way sops types
//! them, because the type decides both the plaintext bytes and the `type:` tag of an
//! encrypted value.

/// The deepest nesting of maps and lists any store reads (go-yaml and Go's JSON decoder
/// allow 10000). It keeps every recursive walk of a tree (parse, MAC, encrypt, emit, drop)
/// within a 1 MiB stack, the browser's wasm default, even in debug builds.
pub const MAX_DEPTH: usize = 256;

/// A parsed file: one branch per document.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Tree {
    /// The documents, in file order. Only YAML produces more than one.
    pub branches: Vec<Map>,
}

/// An ordered mapping whose entries are key/value pairs or comments. Two maps are equal
/// when their entries are (the layout is not compared).
#[derive(Clone, Debug, Default)]
pub struct Map {
    /// Entries in document order.
    pub entries: Vec<Entry>,
    /// How the store that parsed this map laid it out in its source (only the TOML
    /// store sets it, on a document's root map), so that it can write the same bytes
    /// back. Presentation only: it never takes part in comparisons.
    pub layout: Option<Layout>,
}

impl PartialEq for Map {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

/// A store's record of a parsed document's formatting, opaque to everything but that
/// store.
#[derive(Clone)]
pub struct Layout(std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl Layout {
    /// Wraps a store's layout record.
    pub fn new<T: std::any::Any + Send + Sync>(record: T) -> Self {
        Self(std::sync::Arc::new(record))
    }

    /// The record, if it is a `T`.
    pub fn get<T: std::any::Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Layout(..)")
    }
}

/// One entry of a [`Map`].
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// `key: value`.
    Pair(String, Value),
    /// A comment line; the text excludes the comment character (`# a` → `" a"`).
    Comment(String),
}

/// A node of the tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null` (never encrypted, never hashed).
    Null,
    /// A UTF-8 string.
    Str(String),
    /// A string that is not valid UTF-8 (binary store); encrypted with `type:str`.
    Bytes(Vec<u8>),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A timestamp, held as its canonical RFC 3339 text with nanoseconds trimmed
    /// (`2024-01-02T00:00:00Z`, `2024-01-02T03:04:05.5+02:00`).
    Time(String),
    /// A comment that is a list element (text excludes the comment character).
    Comment(String),
    /// A nested map.
    Map(Map),
    /// A list.
    List(Vec<Value>),
}

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key: value`.
    pub fn push(&mut self, key: impl Into<String>, value: Value) {
        self.entries.push(Entry::Pair(key.into(), value));
    }

    /// The value of the first pair named `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find_map(|e| match e {
            Entry::Pair(k, v) if k == key => Some(v),
            _ => None,
        })
    }

    /// Mutable access to the value of the first pair named `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries.iter_mut().find_map(|e| match e {
            Entry::Pair(k, v) if k == key => Some(v),
            _ => None,
        })
    }

    /// Removes every pair named `key`, returning the first removed value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let mut removed = None;
        self.entries.retain_mut(|e| match e {
            Entry::Pair(k, v) if k == key => {
                if removed.is_none() {
                    removed = Some(std::mem::replace(v, Value::Null));
                }
                false
            }
            _ => true,
        });
        removed
    }

    /// Iterates over the key/value pairs, skipping comments.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Pair(k, v) => Some((k.as_str(), v)),
            Entry::Comment(_) => None,
        })
    }
}

impl Value {
    /// The string content, if this is a UTF-8 string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
}
