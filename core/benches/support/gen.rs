//! Deterministic benchmark inputs: service-configuration trees and a pseudo-random blob.
//!
//! A tree is a top-level map of services (`service-0001`, `service-0002`, …), each with
//! exactly [`LEAVES_PER_SERVICE`] leaf values: ten strings of about 30 bytes (two of them in
//! a list), four ints, three floats and three bools, spread over nested maps the way a
//! deployment config looks. The same seed always gives the same bytes, so the engine
//! benches and the CLI script measure identical data.
//!
//! Shared by `benches/engine.rs` and `examples/gen_bench.rs` through `#[path]`; it uses
//! nothing but `std`.

use std::fmt::Write as _;

/// Leaf values in one generated service.
pub const LEAVES_PER_SERVICE: usize = 20;

/// The seed every generated input starts from.
pub const SEED: u64 = 0x5eed_1eaf_c0de_2026;

/// SplitMix64: a tiny, fast, well-mixed generator; plenty for synthetic data.
pub struct Rng(u64);

impl Rng {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }

    /// `len` lowercase letters and digits, starting with a letter (so that no reader takes
    /// the text for a number, a bool or null).
    pub fn word(&mut self, len: usize) -> String {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
        const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::with_capacity(len);
        for i in 0..len {
            let set = if i == 0 { LETTERS } else { ALNUM };
            s.push(char::from(
                set[(self.next_u64() % set.len() as u64) as usize],
            ));
        }
        s
    }
}

/// One generated node.
enum Node {
    Str(String),
    Int(u64),
    /// A float, held as its decimal text (always with a fractional part).
    Float(String),
    Bool(bool),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// A float with two decimals and a non-zero fractional part, e.g. `3.25`.
fn float(rng: &mut Rng, whole_max: u64) -> Node {
    let whole = rng.range(0, whole_max);
    let frac = rng.range(1, 100);
    Node::Float(format!("{whole}.{frac:02}"))
}

/// Service number `i` (1-based) with [`LEAVES_PER_SERVICE`] leaves.
fn service(rng: &mut Rng, i: usize) -> Node {
    let map = |pairs: Vec<(&str, Node)>| {
        Node::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    };
    map(vec![
        ("name", Node::Str(format!("svc-{i:04}-{}", rng.word(21)))),
        (
            "image",
            Node::Str(format!("registry.local/team/{}", rng.word(10))),
        ),
        ("replicas", Node::Int(rng.range(1, 13))),
        ("cpu", float(rng, 8)),
        ("memory_mb", Node::Int(rng.range(64, 16384))),
        ("enabled", Node::Bool(rng.next_u64() & 1 == 1)),
        ("port", Node::Int(rng.range(1024, 65535))),
        (
            "args",
            Node::List(vec![
                Node::Str(format!("--mode={}", rng.word(23))),
                Node::Str(format!("--zone={}", rng.word(23))),
            ]),
        ),
        (
            "env",
            map(vec![
                ("LOG_LEVEL", Node::Str(rng.word(30))),
                (
                    "DATABASE_URL",
                    Node::Str(format!("postgres://db-{i:04}:5432/{}", rng.word(6))),
                ),
                ("API_TOKEN", Node::Str(rng.word(30))),
                ("TIMEOUT_S", float(rng, 120)),
                ("FEATURE_X", Node::Bool(rng.next_u64() & 1 == 1)),
                ("MAX_CONN", Node::Int(rng.range(1, 1000))),
            ]),
        ),
        (
            "labels",
            map(vec![
                ("team", Node::Str(rng.word(30))),
                ("owner", Node::Str(rng.word(30))),
                ("canary", Node::Bool(rng.next_u64() & 1 == 1)),
            ]),
        ),
        (
            "health",
            map(vec![
                ("path", Node::Str(format!("/healthz/{}", rng.word(21)))),
                ("interval_s", float(rng, 60)),
            ]),
        ),
    ])
}

/// The services for about `leaves` leaf values (rounded up to whole services).
fn services(leaves: usize) -> Vec<(String, Node)> {
    let mut rng = Rng::new(SEED);
    let count = leaves.div_ceil(LEAVES_PER_SERVICE);
    (1..=count)
        .map(|i| (format!("service-{i:04}"), service(&mut rng, i)))
        .collect()
}

/// Appends `n` spaces.
fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// The text of a scalar, as YAML and JSON both accept it (strings JSON-quoted only when
/// `quote_strings`).
fn scalar(out: &mut String, node: &Node, quote_strings: bool) {
    match node {
        Node::Str(s) if quote_strings => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 => {
                        let _ = write!(out, "\\u{:04x}", c as u32);
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Node::Str(s) => out.push_str(s),
        Node::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Node::Float(f) => out.push_str(f),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::List(_) | Node::Map(_) => unreachable!("scalar() called on a collection"),
    }
}

/// Block-style YAML for the pairs of a map at `depth` (2-space indentation).
fn yaml_map(out: &mut String, pairs: &[(String, Node)], depth: usize) {
    for (key, value) in pairs {
        pad(out, depth * 2);
        out.push_str(key);
        out.push(':');
        match value {
            Node::Map(inner) => {
                out.push('\n');
                yaml_map(out, inner, depth + 1);
            }
            Node::List(items) => {
                out.push('\n');
                for item in items {
                    pad(out, depth * 2 + 2);
                    out.push_str("- ");
                    scalar(out, item, false);
                    out.push('\n');
                }
            }
            leaf => {
                out.push(' ');
                scalar(out, leaf, false);
                out.push('\n');
            }
        }
    }
}

/// Pretty JSON (2-space indentation) for `node` at `depth`.
fn json_node(out: &mut String, node: &Node, depth: usize) {
    match node {
        Node::Map(pairs) => {
            out.push_str("{\n");
            for (n, (key, value)) in pairs.iter().enumerate() {
                pad(out, depth * 2 + 2);
                scalar(out, &Node::Str(key.clone()), true);
                out.push_str(": ");
                json_node(out, value, depth + 1);
                out.push_str(if n + 1 < pairs.len() { ",\n" } else { "\n" });
            }
            pad(out, depth * 2);
            out.push('}');
        }
        Node::List(items) => {
            out.push_str("[\n");
            for (n, item) in items.iter().enumerate() {
                pad(out, depth * 2 + 2);
                json_node(out, item, depth + 1);
                out.push_str(if n + 1 < items.len() { ",\n" } else { "\n" });
            }
            pad(out, depth * 2);
            out.push(']');
        }
        leaf => scalar(out, leaf, true),
    }
}

/// A YAML service tree with about `leaves` leaf values.
pub fn yaml(leaves: usize) -> String {
    let mut out = String::with_capacity(leaves * 48);
    yaml_map(&mut out, &services(leaves), 0);
    out
}

/// A JSON service tree with about `leaves` leaf values (same data as [`yaml`]).
pub fn json(leaves: usize) -> String {
    let mut out = String::with_capacity(leaves * 56);
    json_node(&mut out, &Node::Map(services(leaves)), 0);
    out.push('\n');
    out
}

/// `len` pseudo-random bytes.
pub fn binary(len: usize) -> Vec<u8> {
    let mut rng = Rng::new(SEED ^ 0xb1b1_b1b1);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A size label: `1k`, `10k`, `100k`, or the plain number.
pub fn label(leaves: usize) -> String {
    if leaves >= 1000 && leaves % 1000 == 0 {
        format!("{}k", leaves / 1000)
    } else {
        leaves.to_string()
    }
}
