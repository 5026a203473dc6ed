//! A deterministic, seeded generator of small plaintext files in the five formats.
//!
//! The same seed always gives the same bytes, so a failing case can be reproduced from its
//! name alone. Trees are small (tens of values) but dense in the things that matter to a
//! sops-compatible engine: nesting, every YAML scalar type (with the spellings sops
//! normalises), unicode, comments in every position, block scalars, multi-document YAML, and
//! keys that hit the selectors' suffixes (`_unencrypted`, `_public`, `_secret`), regexes
//! ([`ENCRYPTED_REGEX`], [`UNENCRYPTED_REGEX`]) and comment markers
//! ([`ENCRYPTED_COMMENT_MARK`], [`UNENCRYPTED_COMMENT_MARK`]).

use std::collections::HashSet;

/// Keys matching this are encrypted by the `encrypted_regex` selector.
pub const ENCRYPTED_REGEX: &str = "^(password|token|data)";
/// Keys matching this stay plain under the `unencrypted_regex` selector.
pub const UNENCRYPTED_REGEX: &str = "^(name|url|port|note)";
/// A comment containing this marks the next entry for `encrypted_comment_regex`.
pub const ENCRYPTED_COMMENT_MARK: &str = "sops:enc";
/// A comment containing this marks the next entry for `unencrypted_comment_regex`.
pub const UNENCRYPTED_COMMENT_MARK: &str = "sops:plain";

/// SplitMix64: tiny, fast, and good enough to pick test cases.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What a generated tree may contain.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Comments (head, inline, in lists; `#`/`;` lines for dotenv and INI).
    pub comments: bool,
    /// Comments between list items. sops 3.11 cannot read back its own file when such a
    /// comment is encrypted under `encrypted_comment_regex` (see tests/vectors/README.md,
    /// "bug-list-comment"), so that selector turns them off.
    pub list_comments: bool,
    /// Several YAML documents in one file.
    pub multidoc: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            comments: true,
            list_comments: true,
            multidoc: true,
        }
    }
}

const WORDS: &[&str] = &[
    "name", "url", "port", "host", "password", "token", "data", "user", "app", "note", "region",
    "mode", "level", "path", "items", "config", "db", "cache", "id", "title", "owner", "limits",
    "clé", "日本", "feature", "replicas", "endpoint", "tags",
];

const SUFFIXES: &[&str] = &["", "", "", "", "_unencrypted", "_public", "_secret", "_key"];

const QUOTED_KEYS: &[&str] = &[
    "\"key with spaces\"",
    "\"key: colon\"",
    "\"123\"",
    "y",
    "'single''quoted'",
    "\"#hash\"",
];

const TEXT: &[&str] = &[
    "hello world",
    "héllo wörld",
    "日本語のテキスト",
    "a:b",
    "x#y",
    "http://example.com/p?q=1&r=2",
    "10.0.0.1",
    "1.2.3",
    "nUll",
    "s3cr3t-Value_42",
    "with \"inner\" quotes",
    "it's",
    "a\\b",
    "<html> & more",
];

/// A scalar in its YAML spelling and its JSON spelling.
struct Scalar {
    yaml: String,
    json: String,
}

fn scalar(yaml: &str, json: &str) -> Scalar {
    Scalar {
        yaml: yaml.to_string(),
        json: json.to_string(),
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn yaml_double_quoted(s: &str) -> String {
    json_string(s)
}

fn random_scalar(rng: &mut Rng) -> Scalar {
    match rng.below(24) {
        0..=5 => {
            let t = *rng.pick(TEXT);
            // YAML: plain where that parses back as the same string, else double-quoted.
            let plain_ok = !t.contains(": ")
                && !t.contains(" #")
                && !t.starts_with(['<', '"', '\'', '&', '*', '!', '|', '>', '%', '@', '`']);
            let yaml = if plain_ok {
                t.to_string()
            } else {
                yaml_double_quoted(t)
            };
            Scalar {
                yaml,
                json: json_string(t),
            }
        }
        6 => {
            let (y, j) = *rng.pick(&[
                ("\"yes\"", "\"yes\""),
                ("yes", "\"yes\""),
                ("off", "\"off\""),
                ("\"123\"", "\"123\""),
                ("\"\"", "\"\""),
                ("''", "\"\""),
                ("\"true\"", "\"true\""),
                ("'1:20'", "\"1:20\""),
                ("\"tab\\there\"", "\"tab\\there\""),
                ("\"😀 smile\"", "\"😀 smile\""),
                ("'single ''quoted'''", "\"single 'quoted'\""),
                ("\" padded \"", "\" padded \""),
                ("\"line\\u2028sep\"", "\"line\\u2028sep\""),
            ]);
            scalar(y, j)
        }
        7..=9 => {
            let (y, j) = *rng.pick(&[
                ("0", "0"),
                ("42", "42"),
                ("-17", "-17"),
                ("9223372036854775807", "9223372036854775807"),
                ("0x1F", "31"),
                ("0o17", "15"),
                ("1_000", "1000"),
                ("+5", "5"),
            ]);
            scalar(y, j)
        }
        10..=12 => {
            let (y, j) = *rng.pick(&[
                ("1.5", "1.5"),
                ("-0.25", "-0.25"),
                ("1e3", "1e3"),
                ("100.0", "100.0"),
                ("6.02e23", "6.02e23"),
                ("0.0000001", "1e-7"),
                ("1.0e+21", "1e21"),
                (".inf", "1.7976931348623157e308"),
                ("-.inf", "-2.5e-5"),
                (".nan", "0.1"),
                ("3.141592653589793238", "3.141592653589793238"),
                // Not `-0.0` in YAML: left plain, sops writes `-0`, reads it back as the
                // int 0 and then fails its own MAC check.
                ("1.50", "-0.0"),
            ]);
            scalar(y, j)
        }
        13 | 14 => {
            let (y, j) = *rng.pick(&[("true", "true"), ("false", "false"), ("True", "true")]);
            scalar(y, j)
        }
        15 => {
            let y = *rng.pick(&["null", "~", "Null"]);
            scalar(y, "null")
        }
        16 | 17 => {
            let (y, j) = *rng.pick(&[
                ("2024-01-02T03:04:05Z", "\"2024-01-02T03:04:05Z\""),
                ("2024-01-02", "\"2024-01-02\""),
                (
                    "2024-01-02T03:04:05.123456789+02:00",
                    "\"2024-01-02T03:04:05.123456789+02:00\"",
                ),
                ("2024-01-02 03:04:05", "\"2024-01-02 03:04:05\""),
            ]);
            scalar(y, j)
        }
        _ => {
            let n = rng.range(1, 4);
            let words: Vec<&str> = (0..n).map(|_| *rng.pick(WORDS)).collect();
            let t = words.join(" ");
            Scalar {
                yaml: t.clone(),
                json: json_string(&t),
            }
        }
    }
}

fn comment_text(rng: &mut Rng) -> String {
    rng.pick(&[
        " a comment",
        " TODO: rotate this",
        " ünïcode comment ✓",
        "nospace",
        "   three spaces",
        " sops:enc marks the next entry",
        " sops:plain marks the next entry",
        " sops:enc",
        " sops:plain",
        " another note",
    ])
    .to_string()
}

fn key(rng: &mut Rng, used: &mut HashSet<String>, allow_quoted: bool) -> String {
    let mut k = if allow_quoted && rng.chance(6) {
        rng.pick(QUOTED_KEYS).to_string()
    } else {
        format!("{}{}", rng.pick(WORDS), rng.pick(SUFFIXES))
    };
    let mut n = 2;
    while used.contains(&k) {
        k = format!("{}{}{n}", rng.pick(WORDS), rng.pick(SUFFIXES));
        n += 1;
    }
    used.insert(k.clone());
    k
}

enum Node {
    Scalar(Scalar),
    /// A block scalar: header (`|`, `|-`, `>`) and its lines.
    Block(&'static str, Vec<String>),
    Map(Vec<Entry>),
    List(Vec<Item>),
}

struct Entry {
    head: Vec<String>,
    key: String,
    value: Node,
    inline: Option<String>,
}

struct Item {
    head: Vec<String>,
    value: Node,
}

/// Generation state: the options and how many values may still be made.
struct Gen<'a> {
    rng: &'a mut Rng,
    opts: Options,
    budget: usize,
    json: bool,
}

impl Gen<'_> {
    fn comments(&mut self, percent: usize) -> Vec<String> {
        if !self.opts.comments || self.json || !self.rng.chance(percent) {
            return Vec::new();
        }
        (0..self.rng.range(1, 2))
            .map(|_| comment_text(self.rng))
            .collect()
    }

    fn value(&mut self, depth: usize) -> Node {
        self.budget = self.budget.saturating_sub(1);
        let nest = depth < 3 && self.budget > 4;
        match self.rng.below(20) {
            0..=2 if nest => self.map(depth + 1, 1, 4),
            3 | 4 if nest => self.list(depth + 1),
            5 if !self.json => {
                let header = *self.rng.pick(&["|", "|-", ">", "|+"]);
                let n = self.rng.range(1, 3);
                let lines = (0..n)
                    .map(|_| {
                        let text = random_scalar(self.rng).json.replace(['\\', '"'], "");
                        match text.trim() {
                            "" => "text".to_string(),
                            t => t.to_string(),
                        }
                    })
                    .collect();
                Node::Block(header, lines)
            }
            6 if !nest => Node::Scalar(scalar(if self.rng.chance(50) { "{}" } else { "[]" }, "{}")),
            _ => Node::Scalar(random_scalar(self.rng)),
        }
    }

    fn map(&mut self, depth: usize, min: usize, max: usize) -> Node {
        let mut used = HashSet::new();
        let n = self.rng.range(min, max);
        let mut entries = Vec::new();
        for _ in 0..n {
            if self.budget == 0 && entries.len() >= min {
                break;
            }
            let head = self.comments(25);
            let key = key(self.rng, &mut used, !self.json);
            let value = self.value(depth);
            let inline = match value {
                Node::Scalar(_) if !self.json => self.comments(12).pop(),
                _ => None,
            };
            entries.push(Entry {
                head,
                key,
                value,
                inline,
            });
        }
        Node::Map(entries)
    }

    fn list(&mut self, depth: usize) -> Node {
        let n = self.rng.range(1, 4);
        let mut items = Vec::new();
        for _ in 0..n {
            let head = if self.opts.list_comments {
                self.comments(20)
            } else {
                Vec::new()
            };
            let mut head = head;
            let mut value = self.value(depth);
            // The first entry of a map (or item of a list) in an item shares the `- ` line,
            // so its head comments go above the item.
            let first_head = match &mut value {
                Node::Map(entries) => entries.first_mut().map(|e| std::mem::take(&mut e.head)),
                Node::List(items) => items.first_mut().map(|i| std::mem::take(&mut i.head)),
                _ => None,
            };
            if self.opts.list_comments {
                head.extend(first_head.unwrap_or_default());
            }
            items.push(Item { head, value });
        }
        Node::List(items)
    }
}

fn render_yaml(node: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match node {
        Node::Map(entries) => {
            for e in entries {
                for c in &e.head {
                    out.push_str(&format!("{pad}#{c}\n"));
                }
                out.push_str(&format!("{pad}{}:", e.key));
                render_yaml_value(&e.value, indent, e.inline.as_deref(), out);
            }
        }
        Node::List(items) => {
            for item in items {
                for c in &item.head {
                    out.push_str(&format!("{pad}#{c}\n"));
                }
                out.push_str(&format!("{pad}-"));
                match &item.value {
                    Node::Map(entries) if !entries.is_empty() => {
                        // `- k: v` then the other keys two columns in.
                        let mut first = String::new();
                        render_yaml(&item.value, indent + 2, &mut first);
                        out.push(' ');
                        out.push_str(first.trim_start());
                    }
                    Node::List(items) if !items.is_empty() => {
                        let mut first = String::new();
                        render_yaml(&item.value, indent + 2, &mut first);
                        out.push(' ');
                        out.push_str(first.trim_start());
                    }
                    other => render_yaml_value(other, indent, None, out),
                }
            }
        }
        Node::Scalar(s) => out.push_str(&format!("{pad}{}\n", s.yaml)),
        Node::Block(..) => {}
    }
}

/// Writes what follows `key:` or `-`.
fn render_yaml_value(node: &Node, indent: usize, inline: Option<&str>, out: &mut String) {
    let comment = inline.map(|c| format!(" #{c}")).unwrap_or_default();
    match node {
        Node::Scalar(s) => out.push_str(&format!(" {}{comment}\n", s.yaml)),
        Node::Block(header, lines) => {
            out.push_str(&format!(" {header}{comment}\n"));
            let pad = " ".repeat(indent + 2);
            for l in lines {
                out.push_str(&format!("{pad}{l}\n"));
            }
        }
        Node::Map(entries) if entries.is_empty() => out.push_str(&format!(" {{}}{comment}\n")),
        Node::List(items) if items.is_empty() => out.push_str(&format!(" []{comment}\n")),
        Node::Map(_) | Node::List(_) => {
            out.push_str(&format!("{comment}\n"));
            render_yaml(node, indent + 2, out);
        }
    }
}

fn render_json(node: &Node, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent + 1);
    let close = "  ".repeat(indent);
    match node {
        Node::Scalar(s) => out.push_str(&s.json),
        Node::Block(_, lines) => out.push_str(&json_string(&lines.join("\n"))),
        Node::Map(entries) if entries.is_empty() => out.push_str("{}"),
        Node::List(items) if items.is_empty() => out.push_str("[]"),
        Node::Map(entries) => {
            out.push_str("{\n");
            for (i, e) in entries.iter().enumerate() {
                out.push_str(&format!("{pad}{}: ", json_string(&e.key)));
                render_json(&e.value, indent + 1, out);
                out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{close}}}"));
        }
        Node::List(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad);
                render_json(&item.value, indent + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{close}]"));
        }
    }
}

/// A YAML file: one to three documents (each a map), with comments, block scalars, lists
/// of maps and lists, and every scalar type.
pub fn yaml(seed: u64, opts: Options) -> String {
    let mut rng = Rng::new(seed);
    let docs = if opts.multidoc && rng.chance(30) {
        rng.range(2, 3)
    } else {
        1
    };
    let mut out = String::new();
    if rng.chance(15) {
        out.push_str("---\n");
    }
    for d in 0..docs {
        if d > 0 {
            out.push_str("---\n");
        }
        let mut g = Gen {
            rng: &mut rng,
            opts,
            budget: 30 / docs,
            json: false,
        };
        let tree = g.map(0, 2, 7);
        render_yaml(&tree, 0, &mut out);
        if opts.comments && rng.chance(15) {
            out.push_str("# a foot comment\n");
        }
    }
    out
}

/// A JSON file: one object, nested objects and arrays, no comments.
pub fn json(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut g = Gen {
        rng: &mut rng,
        opts: Options {
            comments: false,
            list_comments: false,
            multidoc: false,
        },
        budget: 30,
        json: true,
    };
    let tree = g.map(0, 2, 7);
    let mut out = String::new();
    render_json(&tree, 0, &mut out);
    out.push('\n');
    out
}

const FLAT_VALUES: &[&str] = &[
    "plain",
    "hello world",
    "héllo wörld",
    "日本語",
    "",
    "\"quoted value\"",
    "a=b=c",
    "42",
    "1.5",
    "true",
    "http://example.com/?q=1",
    "s3cr3t",
];

fn flat_key(rng: &mut Rng, used: &mut HashSet<String>) -> String {
    key(rng, used, false)
        .replace(['é', ' '], "e")
        .replace("日本", "nihon")
}

/// A dotenv file: `KEY=value` lines, `#` comment lines, an `export`, a blank line.
pub fn dotenv(seed: u64, opts: Options) -> String {
    let mut rng = Rng::new(seed);
    let mut used = HashSet::new();
    let mut out = String::new();
    for _ in 0..rng.range(3, 12) {
        if opts.comments && rng.chance(25) {
            out.push_str(&format!("#{}\n", comment_text(&mut rng)));
        }
        let k = flat_key(&mut rng, &mut used);
        let v = if rng.chance(8) {
            "line one\\nline two"
        } else {
            rng.pick(FLAT_VALUES)
        };
        out.push_str(&format!("{k}={v}\n"));
        if rng.chance(5) {
            out.push('\n');
        }
    }
    out
}

/// An INI file: maybe keys before any section, then sections; `;` and `#` comments.
pub fn ini(seed: u64, opts: Options) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::new();
    let mut sections = HashSet::new();
    let entries = |rng: &mut Rng, out: &mut String, n: usize| {
        let mut used = HashSet::new();
        for _ in 0..n {
            if opts.comments && rng.chance(20) {
                let mark = if rng.chance(50) { ';' } else { '#' };
                out.push_str(&format!("{mark}{}\n", comment_text(rng)));
            }
            let k = flat_key(rng, &mut used);
            let v = rng.pick(FLAT_VALUES);
            let sep = if rng.chance(50) { "=" } else { " = " };
            out.push_str(&format!("{k}{sep}{v}\n"));
        }
    };
    if rng.chance(40) {
        let n = rng.range(1, 3);
        entries(&mut rng, &mut out, n);
        out.push('\n');
    }
    for _ in 0..rng.range(1, 3) {
        let name = flat_key(&mut rng, &mut sections);
        if opts.comments && rng.chance(25) {
            out.push_str(&format!("; about {name}\n"));
        }
        out.push_str(&format!("[{name}]\n"));
        let n = rng.range(1, 5);
        entries(&mut rng, &mut out, n);
        out.push('\n');
    }
    out
}

/// Arbitrary bytes (often not UTF-8), 1 to 200 of them.
pub fn binary(seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let n = rng.range(1, 200);
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let o = Options::default();
        assert_eq!(yaml(7, o), yaml(7, o));
        assert_eq!(json(7), json(7));
        assert_eq!(dotenv(7, o), dotenv(7, o));
        assert_eq!(ini(7, o), ini(7, o));
        assert_eq!(binary(7), binary(7));
        assert_ne!(yaml(7, o), yaml(8, o));
    }

    #[test]
    fn seeds_cover_the_features() {
        let o = Options::default();
        let all: String = (0..20).map(|s| yaml(s, o)).collect();
        for needle in [
            "---\n",
            "#",
            "- ",
            ": |",
            "_unencrypted:",
            "password",
            "sops:enc",
        ] {
            assert!(all.contains(needle), "no {needle:?} in 20 YAML seeds");
        }
        let all: String = (0..20).map(json).collect();
        assert!(all.contains("[\n") && all.contains("{\n"));
        assert!(
            all.lines().all(|l| !l.trim_start().starts_with('#')),
            "JSON has no comments"
        );
    }

    #[test]
    fn no_list_comments_when_disabled() {
        let o = Options {
            list_comments: false,
            ..Options::default()
        };
        for seed in 0..30 {
            let text = yaml(seed, o);
            let lines: Vec<&str> = text.lines().collect();
            for pair in lines.windows(2) {
                let comment_then_item =
                    pair[0].trim_start().starts_with('#') && pair[1].trim_start().starts_with("- ");
                assert!(!comment_then_item, "seed {seed}: {text}");
            }
        }
    }
}
