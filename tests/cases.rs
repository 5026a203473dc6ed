//! Interop cases: a plaintext, how to encrypt it, and the checks that compare leafcrypt with
//! the real sops on it.
//!
//! [`Case::check`] runs, in one fresh directory:
//!
//! 1. sops encrypts the input; sops decrypts that (the *normalised plaintext*);
//!    leafcrypt decrypts sops's file and must print the same bytes;
//! 2. leafcrypt encrypts the same input with the same arguments; sops and leafcrypt both
//!    decrypt it and must print the normalised plaintext;
//! 3. layout: both encrypted files are equal once [`mask`](crate::mask) has hidden the
//!    random parts, and leafcrypt's age armor is well formed.
//!
//! When sops refuses the input, leafcrypt must refuse it too, with the same exit code and a
//! first stderr line that starts with sops's. Every mismatch is collected (not just the first)
//! into a [`Failure`] that holds the input, both outputs and a diff.

use crate::gen::{self, Options};
use crate::harness::{clip, indent, Output, Tool, Workdir};
use crate::textdiff::diff;
use std::fmt;
use std::path::{Path, PathBuf};

/// The five sops stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (`.yaml`).
    Yaml,
    /// JSON (`.json`).
    Json,
    /// dotenv (`.env`).
    Dotenv,
    /// INI (`.ini`).
    Ini,
    /// Binary (any other extension; `.bin` here).
    Binary,
}

impl Format {
    /// All five.
    pub const ALL: [Format; 5] = [
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Ini,
        Format::Binary,
    ];

    /// The file extension that selects this store in both tools.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "env",
            Format::Ini => "ini",
            Format::Binary => "bin",
        }
    }

    /// A generated plaintext in this format.
    pub fn generate(self, seed: u64, opts: Options) -> Vec<u8> {
        match self {
            Format::Yaml => gen::yaml(seed, opts).into_bytes(),
            Format::Json => gen::json(seed).into_bytes(),
            Format::Dotenv => gen::dotenv(seed, opts).into_bytes(),
            Format::Ini => gen::ini(seed, opts).into_bytes(),
            Format::Binary => gen::binary(seed),
        }
    }

    /// An encrypted file of this format with its random parts masked (INI's `[sops]`
    /// section also sorted, as sops writes it in random order).
    pub fn mask(self, encrypted: &str) -> String {
        match self {
            Format::Ini => crate::mask::mask_ini(encrypted),
            _ => crate::mask::mask(encrypted),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ext())
    }
}

/// Which values get encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// No selector flag: everything except keys ending in `_unencrypted`.
    Default,
    /// `--unencrypted-suffix _public`.
    UnencryptedSuffix,
    /// `--encrypted-suffix _secret`.
    EncryptedSuffix,
    /// `--unencrypted-regex` [`gen::UNENCRYPTED_REGEX`].
    UnencryptedRegex,
    /// `--encrypted-regex` [`gen::ENCRYPTED_REGEX`].
    EncryptedRegex,
    /// `--unencrypted-comment-regex sops:plain` (legacy `-e` form only in sops 3.11).
    UnencryptedCommentRegex,
    /// `--encrypted-comment-regex sops:enc` (legacy `-e` form only in sops 3.11).
    EncryptedCommentRegex,
    /// `--mac-only-encrypted --encrypted-regex …` (legacy `-e` form only in sops 3.11).
    MacOnlyEncrypted,
}

impl Selector {
    /// All eight.
    pub const ALL: [Selector; 8] = [
        Selector::Default,
        Selector::UnencryptedSuffix,
        Selector::EncryptedSuffix,
        Selector::UnencryptedRegex,
        Selector::EncryptedRegex,
        Selector::UnencryptedCommentRegex,
        Selector::EncryptedCommentRegex,
        Selector::MacOnlyEncrypted,
    ];

    /// The selector's flags.
    pub fn flags(self) -> Vec<String> {
        let f = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        match self {
            Selector::Default => Vec::new(),
            Selector::UnencryptedSuffix => f(&["--unencrypted-suffix", "_public"]),
            Selector::EncryptedSuffix => f(&["--encrypted-suffix", "_secret"]),
            Selector::UnencryptedRegex => f(&["--unencrypted-regex", gen::UNENCRYPTED_REGEX]),
            Selector::EncryptedRegex => f(&["--encrypted-regex", gen::ENCRYPTED_REGEX]),
            Selector::UnencryptedCommentRegex => {
                f(&["--unencrypted-comment-regex", gen::UNENCRYPTED_COMMENT_MARK])
            }
            Selector::EncryptedCommentRegex => {
                f(&["--encrypted-comment-regex", gen::ENCRYPTED_COMMENT_MARK])
            }
            Selector::MacOnlyEncrypted => f(&[
                "--mac-only-encrypted",
                "--encrypted-regex",
                gen::ENCRYPTED_REGEX,
            ]),
        }
    }

    /// The action argument: the `encrypt` subcommand, or legacy `-e` for the flags that
    /// sops 3.11's subcommand lacks.
    pub fn action(self) -> &'static str {
        match self {
            Selector::UnencryptedCommentRegex
            | Selector::EncryptedCommentRegex
            | Selector::MacOnlyEncrypted => "-e",
            _ => "encrypt",
        }
    }

    /// What the generated inputs may contain under this selector.
    pub fn gen_options(self) -> Options {
        Options {
            // sops 3.11 cannot read back an encrypted list comment under
            // encrypted_comment_regex (vectors: selectors/bug-list-comment).
            list_comments: self != Selector::EncryptedCommentRegex,
            ..Options::default()
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Selector::Default => "default",
            Selector::UnencryptedSuffix => "unencrypted_suffix",
            Selector::EncryptedSuffix => "encrypted_suffix",
            Selector::UnencryptedRegex => "unencrypted_regex",
            Selector::EncryptedRegex => "encrypted_regex",
            Selector::UnencryptedCommentRegex => "unencrypted_comment_regex",
            Selector::EncryptedCommentRegex => "encrypted_comment_regex",
            Selector::MacOnlyEncrypted => "mac_only_encrypted",
        })
    }
}

/// How a `.sops.yaml` reaches the tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigVia {
    /// Written as `.sops.yaml` in the working directory (found by discovery).
    Discovery,
    /// Written as `config.sops.yaml` and passed with `--config` (before the subcommand).
    Flag,
}

/// One interop case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Name used in messages (format, selector, seed…).
    pub name: String,
    /// Store of the input file.
    pub format: Format,
    /// The plaintext.
    pub input: Vec<u8>,
    /// Encryption arguments, identical for both tools, without the file name
    /// (e.g. `["encrypt", "--age", R1]`).
    pub encrypt: Vec<String>,
    /// A `.sops.yaml` for both tools, and how it is given to them.
    pub config: Option<(String, ConfigVia)>,
    /// The identity file used to decrypt.
    pub identity: PathBuf,
}

/// Everything that went wrong in one case, with what is needed to reproduce it.
#[derive(Debug)]
pub struct Failure {
    /// The case's name.
    pub name: String,
    /// The mismatches, each with its outputs and diff.
    pub problems: Vec<String>,
    /// Where the case's files were kept for a post-mortem.
    pub kept: PathBuf,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "=== {} ({} problem(s); files kept in {})",
            self.name,
            self.problems.len(),
            self.kept.display()
        )?;
        for p in &self.problems {
            writeln!(f, "--- {p}")?;
        }
        Ok(())
    }
}

/// Panics with every failure's report when there is any.
pub fn assert_no_failures(failures: &[Failure]) {
    if failures.is_empty() {
        return;
    }
    let mut report = format!("{} case(s) failed:\n", failures.len());
    for f in failures {
        report.push_str(&f.to_string());
    }
    panic!("{report}");
}

/// How many seeds a generated matrix cell runs (`LEAFCRYPT_INTEROP_SEEDS`, default `default`).
pub fn seed_count(default: u64) -> u64 {
    std::env::var("LEAFCRYPT_INTEROP_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A stable seed for a named matrix cell (FNV-1a), so each cell gets different inputs.
pub fn base_seed(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Collects problems for one case.
pub struct Checker {
    /// The case's working directory.
    pub dir: Workdir,
    problems: Vec<String>,
}

impl Checker {
    /// An identity file in this checker's directory holding the age keys `keys` (1-based,
    /// as in `tests/vectors/age/keyN.txt`).
    pub fn identities(&self, keys: &[usize]) -> PathBuf {
        let mut text = String::new();
        for &k in keys {
            let path = crate::harness::key_file(k);
            text.push_str(
                &std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
            );
            text.push('\n');
        }
        let names: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        self.dir
            .write(&format!("keys-{}.txt", names.join("-")), text)
    }

    /// A checker with a fresh directory.
    pub fn new() -> Checker {
        Checker {
            dir: Workdir::new(),
            problems: Vec::new(),
        }
    }

    /// Records a problem.
    pub fn problem(&mut self, text: String) {
        self.problems.push(text);
    }

    /// Whether nothing went wrong so far.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Records a problem unless `actual` (labelled) equals `expected` byte for byte.
    pub fn same_bytes(&mut self, what: &str, expected: &[u8], actual: &Output) -> bool {
        if !actual.ok() {
            self.problem(format!("{what}: command failed\n{actual:?}"));
            return false;
        }
        if expected == actual.stdout.as_slice() {
            return true;
        }
        let (e, a) = (
            String::from_utf8_lossy(expected),
            String::from_utf8_lossy(&actual.stdout),
        );
        self.problem(format!(
            "{what}: output differs (- expected, + actual)\n$ {}\n{}",
            actual.command,
            indent(&clip(&diff(&e, &a, 2), 6000))
        ));
        false
    }

    /// Records a problem unless leafcrypt failed like sops did: same exit code, and a first
    /// stderr line that starts with sops's.
    ///
    /// One tolerated difference: the number in go-yaml's `yaml: line N:` prefix. go-yaml
    /// counts lines from the start of the construct it was parsing (or 0-based at EOF), so
    /// it is often one off; leafcrypt names the 1-based line of the problem. The text after
    /// the prefix must still match.
    pub fn same_failure(&mut self, what: &str, sops: &Output, leaf: &Output) {
        if sops.ok() {
            self.problem(format!("{what}: sops unexpectedly succeeded\n{sops:?}"));
            return;
        }
        let (s, l) = (
            mask_yaml_line(&sops.first_stderr_line()),
            mask_yaml_line(&leaf.first_stderr_line()),
        );
        if leaf.code != sops.code || !l.starts_with(&s) {
            self.problem(format!(
                "{what}: failure differs from sops's\n  sops      exit {}: {s}\n  leafcrypt exit {}: {l}\n{leaf:?}",
                sops.code, leaf.code
            ));
        }
    }

    /// Records a problem for each malformed age armor in `text` (see
    /// [`armor_problems`](crate::mask::armor_problems)).
    pub fn armor_ok(&mut self, what: &str, text: &str) {
        for p in crate::mask::armor_problems(text) {
            self.problem(format!("{what}: {p}"));
        }
    }

    /// Finishes: `None` when clean, else the failure (keeping the directory).
    pub fn finish(self, name: &str, input: &[u8]) -> Option<Failure> {
        if self.problems.is_empty() {
            return None;
        }
        let mut problems = self.problems;
        problems.insert(
            0,
            format!(
                "input:\n{}",
                indent(&clip(&String::from_utf8_lossy(input), 4000))
            ),
        );
        Some(Failure {
            name: name.to_string(),
            problems,
            kept: self.dir.keep(),
        })
    }
}

impl Default for Checker {
    fn default() -> Self {
        Checker::new()
    }
}

/// The results of [`Case::check`] beyond pass/fail, for follow-up checks (rotation).
pub struct Encrypted {
    /// sops's encrypted file (name in the case's directory).
    pub sops_file: String,
    /// leafcrypt's encrypted file.
    pub leaf_file: String,
    /// The normalised plaintext (sops decrypting its own file).
    pub plaintext: Vec<u8>,
}

impl Case {
    /// The global arguments every command of this case gets (`--config` when given so).
    fn global_args(&self, dir: &Path) -> Vec<String> {
        match &self.config {
            Some((_, ConfigVia::Flag)) => vec![
                "--config".to_string(),
                dir.join("config.sops.yaml").display().to_string(),
            ],
            _ => Vec::new(),
        }
    }

    /// Decrypts `file` (in the case's directory) with `tool` and `identity`.
    pub fn decrypt(&self, c: &Checker, tool: Tool, file: &str, identity: &Path) -> Output {
        c.dir
            .cmd(tool)
            .args(self.global_args(c.dir.path()))
            .args(["decrypt", file])
            .identity(identity)
            .run()
    }

    /// Runs the three checks of the module docs; `None` when everything matched.
    pub fn check(&self) -> Option<Failure> {
        let mut c = Checker::new();
        self.check_in(&mut c);
        c.finish(&self.name, &self.input)
    }

    /// [`check`](Case::check) inside a given checker; returns the files when both tools
    /// encrypted the input.
    pub fn check_in(&self, c: &mut Checker) -> Option<Encrypted> {
        let ext = self.format.ext();
        let input = format!("input.{ext}");
        c.dir.write(&input, &self.input);
        if let Some((text, via)) = &self.config {
            let name = match via {
                ConfigVia::Discovery => ".sops.yaml",
                ConfigVia::Flag => "config.sops.yaml",
            };
            c.dir.write(name, text);
        }
        let global = self.global_args(c.dir.path());
        let encrypt = |tool: Tool| {
            c.dir
                .cmd(tool)
                .args(&global)
                .args(&self.encrypt)
                .arg(&input)
                .identity(&self.identity)
                .run()
        };
        let sops_enc = encrypt(Tool::Sops);
        let leaf_enc = encrypt(Tool::Leafcrypt);
        if !sops_enc.ok() {
            c.same_failure("encrypting an input sops rejects", &sops_enc, &leaf_enc);
            return None;
        }
        let sops_file = format!("sops.enc.{ext}");
        let leaf_file = format!("leafcrypt.enc.{ext}");
        c.dir.write(&sops_file, &sops_enc.stdout);

        let sops_dec = self.decrypt(c, Tool::Sops, &sops_file, &self.identity);
        if !sops_dec.ok() {
            c.problem(format!(
                "sops cannot decrypt its own file (a sops bug; the generator should avoid it)\n{sops_dec:?}"
            ));
            return None;
        }
        let plaintext = sops_dec.stdout;
        let leaf_dec = self.decrypt(c, Tool::Leafcrypt, &sops_file, &self.identity);
        c.same_bytes(
            "leafcrypt decrypting sops's file vs sops decrypting it",
            &plaintext,
            &leaf_dec,
        );

        if !leaf_enc.ok() {
            c.problem(format!(
                "leafcrypt cannot encrypt what sops encrypts\n{leaf_enc:?}"
            ));
            return None;
        }
        c.dir.write(&leaf_file, &leaf_enc.stdout);
        let s = String::from_utf8_lossy(&sops_enc.stdout);
        let l = String::from_utf8_lossy(&leaf_enc.stdout);
        c.armor_ok("leafcrypt's encrypted file", &l);
        let (ms, ml) = (self.format.mask(&s), self.format.mask(&l));
        if ms != ml {
            c.problem(format!(
                "layout: leafcrypt's encrypted file differs from sops's after masking (- sops, + leafcrypt)\n{}",
                indent(&clip(&diff(&ms, &ml, 2), 6000))
            ));
        }
        for tool in Tool::BOTH {
            let out = self.decrypt(c, tool, &leaf_file, &self.identity);
            c.same_bytes(
                &format!("{tool} decrypting leafcrypt's file vs the normalised plaintext"),
                &plaintext,
                &out,
            );
        }
        Some(Encrypted {
            sops_file,
            leaf_file,
            plaintext,
        })
    }
}

/// The standard matrix cell: `format` × `selector`, `seeds` generated inputs, recipient R1.
pub fn matrix_cell(format: Format, selector: Selector, seeds: u64) -> Vec<Failure> {
    let cell = format!("{format}/{selector}");
    let base = base_seed(&cell);
    let mut failures = Vec::new();
    for i in 0..seeds {
        let seed = base.wrapping_add(i);
        let mut encrypt = vec![
            selector.action().to_string(),
            "--age".to_string(),
            crate::harness::recipient(1).to_string(),
        ];
        encrypt.extend(selector.flags());
        let case = Case {
            name: format!("{cell} seed {seed}"),
            format,
            input: format.generate(seed, selector.gen_options()),
            encrypt,
            config: None,
            identity: crate::harness::key_file(1),
        };
        failures.extend(case.check());
    }
    failures
}

/// Replaces the number of a go-yaml `yaml: line N:` prefix with `N` (see
/// [`Checker::same_failure`]).
fn mask_yaml_line(line: &str) -> String {
    let re = regex::Regex::new(r"yaml: line \d+:").expect("valid regex");
    re.replace_all(line, "yaml: line N:").into_owned()
}
