//! Differential round trips (issue 12 item 3): random YAML trees through both tools, both
//! directions. Each tree is written as plaintext in a random style (explicit `? ` keys,
//! long and odd keys, block and flow collections, block scalars, unicode, numbers,
//! comments), encrypted by each tool and decrypted by both. It must find no file one tool
//! writes that the other cannot read, no pair of decryptions that differ, and no plaintext
//! sops accepts that leafcrypt refuses.
//!
//! The test runs a fixed seed and a bounded count; `scripts/differential SECS` runs it for
//! longer with a random seed (`LEAFCRYPT_DIFF_SECS`, `LEAFCRYPT_DIFF_SEED`) and keeps every
//! mismatching input in `target/differential/`.

use leafcrypt_tests::gen::Rng;
use leafcrypt_tests::harness::{key_file, recipient, repo_root, Output, Tool, Workdir};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Keys that are hard to write: YAML indicators, quotes, spaces at the ends, unicode,
/// words that would read as other types, a tab, a line break.
const ODD_KEYS: &[&str] = &[
    "a: b",
    "#x",
    "- y",
    "?q",
    "? q",
    "*x",
    "&y",
    "!t",
    "x ",
    " y",
    "",
    "1",
    "true",
    "null",
    "~",
    "a\"b",
    "a'b",
    "tab\tkey",
    "multi\nline",
    "ключ",
    "鍵",
    "🔑 key",
    "<<",
    "-",
    ":",
    "[a]",
    "{b}",
    "a,b",
    "%p",
    "@at",
    "`tick",
    "|",
    ">",
    "0x1F",
    "1e3",
    "key_unencrypted",
    "sopsy",
    "\\back",
];

/// Scalars written as they should be read: numbers in several spellings, booleans, nulls,
/// dates, strings that look like other types. Not `-0.0`: left unencrypted (under
/// `key_unencrypted`) both tools write `-0` and fail their own MAC check (KNOWN_FAILURES.md).
const SCALARS: &[&str] = &[
    "0",
    "-17",
    "42",
    "0x1F",
    "0o17",
    "1.5",
    "-0.25",
    "1e3",
    "1e400",
    ".inf",
    "-.inf",
    ".nan",
    "true",
    "false",
    "null",
    "~",
    "2024-01-02",
    "2024-01-02T03:04:05Z",
    "\"12\"",
    "'true'",
    "yes",
    "no",
    "on",
    "hello world",
    "\"\"",
    "''",
    "\"tab\\tin\"",
    "\"line\\nbreak\"",
    "\"unicode ✓ ünï\"",
    "'it''s'",
    "\"\\u00e9\"",
    "plain: no",
    "\"a: b\"",
    "'# not a comment'",
    "012",
    "+1",
    "1_000",
];

/// A random key.
fn key(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=4 => format!("k{}", rng.below(1000)),
        5 | 6 => rng.pick(ODD_KEYS).to_string(),
        7 => "long".repeat(rng.range(30, 45)),
        8 => format!("{} {}", rng.pick(ODD_KEYS), rng.below(100)),
        _ => format!("ünï_{}", rng.below(100)),
    }
}

/// `s` as a double-quoted YAML scalar.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key as written: plain when that is safe, else quoted.
fn key_text(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars().all(|c| c.is_alphanumeric() || c == '_')
        && k.starts_with(|c: char| c.is_alphabetic());
    if plain {
        k.to_string()
    } else {
        quoted(k)
    }
}

/// Writes random YAML documents.
struct Writer<'r> {
    rng: &'r mut Rng,
    out: String,
    /// Nodes left to write (keeps trees small).
    budget: usize,
}

impl Writer<'_> {
    fn comment(&mut self, indent: usize) {
        if self.rng.chance(12) {
            let _ = writeln!(
                self.out,
                "{}# note {} ✓",
                " ".repeat(indent),
                self.rng.below(100)
            );
        }
    }

    /// A flow value (used inside flow collections and as a value after `key: `).
    fn flow(&mut self, depth: usize) -> String {
        self.budget = self.budget.saturating_sub(1);
        let leaf = depth > 3 || self.budget == 0;
        match self.rng.below(if leaf { 4 } else { 6 }) {
            0..=2 => self.rng.pick(SCALARS).to_string(),
            3 => quoted(&key(self.rng)),
            4 => {
                let n = self.rng.below(4);
                let items: Vec<String> = (0..n).map(|_| self.flow(depth + 1)).collect();
                format!("[{}]", items.join(", "))
            }
            _ => {
                let n = self.rng.below(4);
                let items: Vec<String> = (0..n)
                    .map(|_| {
                        let k = quoted(&key(self.rng));
                        format!("{k}: {}", self.flow(depth + 1))
                    })
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
        }
    }

    /// A block scalar (`|`, `|-`, `>`, `|+`) whose lines sit at `indent`.
    fn block_scalar(&mut self, indent: usize) -> String {
        let style = *self.rng.pick(&["|", "|-", ">", ">-", "|+"]);
        let pad = " ".repeat(indent);
        let mut s = format!("{style}\n");
        for i in 0..self.rng.range(1, 3) {
            let _ = writeln!(s, "{pad}line {i} ✓ {}", self.rng.below(50));
        }
        s
    }

    /// Writes a block mapping at `indent`.
    fn map(&mut self, indent: usize, depth: usize) {
        let n = self.rng.range(1, 4);
        let mut seen = Vec::new();
        for _ in 0..n {
            let k = key(self.rng);
            if seen.contains(&k) {
                continue;
            }
            seen.push(k.clone());
            self.comment(indent);
            let pad = " ".repeat(indent);
            let explicit = k.len() > 128 || k.contains('\n') || self.rng.chance(8);
            if explicit {
                let _ = write!(self.out, "{pad}? {}\n{pad}:", key_text(&k));
            } else {
                let _ = write!(self.out, "{pad}{}:", key_text(&k));
            }
            self.value(indent, depth);
        }
    }

    /// Writes the value after `key:` (the cursor is just after the colon).
    fn value(&mut self, indent: usize, depth: usize) {
        self.budget = self.budget.saturating_sub(1);
        let leaf = depth > 4 || self.budget == 0;
        let step = *self.rng.pick(&[2usize, 4]);
        match self.rng.below(if leaf { 3 } else { 6 }) {
            0 | 1 => {
                let v = self.flow(depth);
                let _ = writeln!(self.out, " {v}");
            }
            2 => {
                let b = self.block_scalar(indent + step);
                let _ = write!(self.out, " {b}");
            }
            3 => {
                self.out.push('\n');
                self.map(indent + step, depth + 1);
            }
            _ => {
                self.out.push('\n');
                // Lists under a key may sit at the key's own indentation, as go-yaml writes.
                let at = if self.rng.chance(50) {
                    indent
                } else {
                    indent + step
                };
                self.list(at, depth + 1);
            }
        }
    }

    /// Writes a block sequence at `indent`.
    fn list(&mut self, indent: usize, depth: usize) {
        let pad = " ".repeat(indent);
        for _ in 0..self.rng.range(1, 3) {
            self.comment(indent);
            self.budget = self.budget.saturating_sub(1);
            let leaf = depth > 4 || self.budget == 0;
            match self.rng.below(if leaf { 2 } else { 4 }) {
                0 => {
                    let v = self.flow(depth);
                    let _ = writeln!(self.out, "{pad}- {v}");
                }
                1 => {
                    let b = self.block_scalar(indent + 2);
                    let _ = write!(self.out, "{pad}- {b}");
                }
                2 => {
                    // A map inside a list item, its first key on the dash's line.
                    let _ = write!(self.out, "{pad}- ");
                    let start = self.out.len();
                    self.map(indent + 2, depth + 1);
                    let first = self.out[start..].trim_start().to_string();
                    self.out.truncate(start);
                    self.out.push_str(&first);
                }
                _ => {
                    let _ = writeln!(self.out, "{pad}-");
                    self.list(indent + 2, depth + 1);
                }
            }
        }
    }
}

/// The plaintext YAML for `seed`: one top-level map (sops needs one), rarely a second
/// document.
fn document(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut w = Writer {
        rng: &mut rng,
        out: String::new(),
        budget: 40,
    };
    w.map(0, 0);
    if w.rng.chance(5) {
        w.out.push_str("---\n");
        w.budget = 10;
        w.map(0, 0);
    }
    w.out
}

/// How one tree fared.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Verdict {
    /// Both tools refused the plaintext.
    BothRefused,
    /// Every file was read by both tools to the same bytes.
    Agree,
    /// sops encrypted it, leafcrypt refused it.
    OnlySopsAccepts,
    /// leafcrypt encrypted it, sops refused it.
    OnlyLeafcryptAccepts,
    /// A file one tool wrote could not be read (by the other or by itself).
    Unreadable,
    /// Two decryptions of the same tree differ.
    Differs,
    /// sops cannot read the file it wrote itself (a sops bug); leafcrypt reads both files.
    SopsCannotReadItsOwnFile,
    /// sops's decrypt lost a comment leafcrypt kept (a sops bug); nothing else differs.
    SopsDropsAComment,
}

fn run(dir: &Workdir, tool: Tool, args: &[&str]) -> Output {
    dir.cmd(tool)
        .args(args)
        .identity(key_file(1))
        .timeout(Duration::from_secs(60))
        .run()
}

/// Encrypts `src` with each tool and decrypts each result with both.
fn round_trip(src: &str) -> (Verdict, String) {
    let dir = Workdir::new();
    dir.write("plain.yaml", src);
    let mut written = Vec::new();
    for tool in [Tool::Sops, Tool::Leafcrypt] {
        let out = run(
            &dir,
            tool,
            &["encrypt", "--age", recipient(1), "plain.yaml"],
        );
        written.push((tool, out));
    }
    let (sops_ok, ours_ok) = (written[0].1.ok(), written[1].1.ok());
    match (sops_ok, ours_ok) {
        (false, false) => return (Verdict::BothRefused, String::new()),
        (true, false) => {
            return (
                Verdict::OnlySopsAccepts,
                format!("leafcrypt: {}", written[1].1.stderr_text()),
            )
        }
        (false, true) => {
            return (
                Verdict::OnlyLeafcryptAccepts,
                format!("sops: {}", written[0].1.stderr_text()),
            )
        }
        (true, true) => {}
    }
    // Every writer/reader pair: (writer, reader, output).
    let mut reads: Vec<(Tool, Tool, Output)> = Vec::new();
    for (writer, enc) in &written {
        let name = format!("{writer:?}.enc.yaml");
        dir.write(&name, &enc.stdout);
        for reader in [Tool::Sops, Tool::Leafcrypt] {
            reads.push((*writer, reader, run(&dir, reader, &["decrypt", &name])));
        }
    }
    let file = |writer: Tool| {
        String::from_utf8_lossy(&written[usize::from(writer == Tool::Leafcrypt)].1.stdout)
            .into_owned()
    };
    let sops_reads_its_own = reads[0].2.ok();
    for (writer, reader, out) in &reads {
        // sops failing on its own file is a sops bug (KNOWN_FAILURES.md); it then fails on
        // leafcrypt's identical file too. leafcrypt must read both.
        let tolerated = *reader == Tool::Sops && !sops_reads_its_own;
        if !out.ok() && !tolerated {
            return (
                Verdict::Unreadable,
                format!(
                    "{writer:?} wrote, {reader:?} read: {}\n--- file:\n{}",
                    out.stderr_text(),
                    file(*writer)
                ),
            );
        }
    }
    // A comment sops leaves encrypted after decryption (see KNOWN_FAILURES.md) differs only
    // in its random IV: compare envelopes as `ENC[…]`.
    let envelope = regex::bytes::Regex::new(r"ENC\[AES256_GCM,[^\]]*\]").unwrap();
    let ok: Vec<(String, Tool, Vec<u8>)> = reads
        .iter()
        .filter(|(_, _, out)| out.ok())
        .map(|(w, r, out)| {
            (
                format!("{w:?} wrote, {r:?} read"),
                *r,
                envelope
                    .replace_all(&out.stdout, &b"ENC[\xe2\x80\xa6]"[..])
                    .into_owned(),
            )
        })
        .collect();
    let mut dropped_comment = false;
    for (what, reader, bytes) in &ok[1..] {
        let (first_what, first_reader, first) = &ok[0];
        if bytes == first {
            continue;
        }
        // sops's decrypt drops a comment before a nested list whose first item has its own
        // comment (KNOWN_FAILURES.md): tolerated when that is the only difference.
        let (sops_text, ours_text) = match (first_reader, reader) {
            (Tool::Sops, Tool::Leafcrypt) => (first, bytes),
            (Tool::Leafcrypt, Tool::Sops) => (bytes, first),
            _ => (first, bytes),
        };
        if first_reader != reader && only_comments_dropped(sops_text, ours_text) {
            dropped_comment = true;
            continue;
        }
        return (
            Verdict::Differs,
            format!(
                "{first_what}:\n{}\n{what}:\n{}",
                String::from_utf8_lossy(first),
                String::from_utf8_lossy(bytes)
            ),
        );
    }
    if !sops_reads_its_own {
        (
            Verdict::SopsCannotReadItsOwnFile,
            reads[0].2.first_stderr_line(),
        )
    } else if dropped_comment {
        (Verdict::SopsDropsAComment, String::new())
    } else {
        (Verdict::Agree, String::new())
    }
}

/// Whether `sops` equals `ours` once comments are removed from both, and every comment
/// line of `sops` is in `ours` (sops lost comments, nothing else).
fn only_comments_dropped(sops: &[u8], ours: &[u8]) -> bool {
    fn split(text: &[u8]) -> (Vec<String>, Vec<String>) {
        let (mut data, mut comments) = (Vec::new(), Vec::new());
        for line in String::from_utf8_lossy(text).lines() {
            let trimmed = line.trim_start();
            if let Some(c) = trimmed.strip_prefix('#') {
                comments.push(c.to_string());
            } else if let Some((before, c)) = line.split_once(":   #") {
                // An explicit key's `:` with the comment on its line.
                data.push(format!("{before}:"));
                comments.push(c.to_string());
            } else {
                data.push(line.to_string());
            }
        }
        (data, comments)
    }
    let (sops_data, sops_comments) = split(sops);
    let (our_data, our_comments) = split(ours);
    sops_data == our_data
        && sops_comments.len() < our_comments.len()
        && sops_comments.iter().all(|c| our_comments.contains(c))
}

/// Runs trees from `seed` on until `count` trees or `limit` time; returns the tally and the
/// failing cases (seed, verdict, detail).
fn campaign(seed: u64, count: usize, limit: Duration) -> (Vec<(Verdict, usize)>, Vec<String>) {
    let start = Instant::now();
    let mut tally: Vec<(Verdict, usize)> = Vec::new();
    let mut failures = Vec::new();
    let keep = repo_root().join("target/differential");
    // LEAFCRYPT_DIFF_CASES=s1,s2,… replays those trees only.
    let replay: Vec<u64> = std::env::var("LEAFCRYPT_DIFF_CASES")
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_default();
    let cases: Box<dyn Iterator<Item = u64>> = if replay.is_empty() {
        Box::new((0..count as u64).map(|i| seed.wrapping_add(i)))
    } else {
        Box::new(replay.into_iter())
    };
    for case in cases {
        if start.elapsed() > limit {
            break;
        }
        let src = document(case);
        let (verdict, detail) = round_trip(&src);
        match tally.iter_mut().find(|(v, _)| *v == verdict) {
            Some((_, n)) => *n += 1,
            None => tally.push((verdict, 1)),
        }
        let tolerated = matches!(
            verdict,
            Verdict::Agree
                | Verdict::BothRefused
                | Verdict::SopsCannotReadItsOwnFile
                | Verdict::SopsDropsAComment
        );
        if !tolerated {
            let _ = std::fs::create_dir_all(&keep);
            let _ = std::fs::write(keep.join(format!("{case}.yaml")), &src);
            failures.push(format!("seed {case}: {verdict:?}\n{src}\n{detail}"));
        }
    }
    (tally, failures)
}

/// Every tree both tools accept reads back the same through every writer/reader pair, and
/// leafcrypt accepts every tree sops accepts. Fixed seed, bounded count.
#[test]
fn random_trees_round_trip_through_both_tools() {
    let secs: u64 = std::env::var("LEAFCRYPT_DIFF_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let seed: u64 = std::env::var("LEAFCRYPT_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let (count, limit) = if secs > 0 {
        (usize::MAX, Duration::from_secs(secs))
    } else {
        (60, Duration::from_secs(3600))
    };
    let (tally, failures) = campaign(seed, count, limit);
    let total: usize = tally.iter().map(|(_, n)| n).sum();
    eprintln!("differential: seed {seed}, {total} trees: {tally:?}");
    let agree = tally
        .iter()
        .find(|(v, _)| *v == Verdict::Agree)
        .map_or(0, |(_, n)| *n);
    assert!(
        failures.is_empty(),
        "{} of {total} trees failed (inputs in target/differential/):\n{}",
        failures.len(),
        failures.join("\n=====\n")
    );
    assert!(
        agree * 2 > total,
        "most trees must be accepted by both: {tally:?}"
    );
}
