//! Applying a delivery to the files: for each key's new version, the files under the
//! paths whose `azure_kv` entries name the key are re-wrapped with it (the core's
//! [`KeyRotation::affected`] and [`EncryptedFile::rewrap_entries`]), one report line per
//! file and a summary per event.
//!
//! A file already on the new version is left alone, so a replayed event changes nothing.
//! An event older than the key's current version (redelivered late) brings files to the
//! current version, never back to the event's.

use crate::azure;
use crate::bulk::walk;
use crate::cli::Opts;
use crate::failure::Failure;
use crate::io::{read_input, Destination};
use futures_util::stream::{self, StreamExt};
use leafcrypt_core::file::{EncryptedFile, EntryRewrap, Layout};
use leafcrypt_core::keysource::azure_kv::event::{Event, KeyRotation, Schema};
use leafcrypt_core::keysource::azure_kv::AzureKvSource;
use leafcrypt_core::keysource::Keyring;
use leafcrypt_core::stores::Format;
use std::cell::OnceCell;
use std::path::PathBuf;

/// A report line on stdout; a closed stdout (a stopped log reader) must not stop the
/// webhook, so write errors are ignored.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// What happened to the files, summed over a delivery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Files re-wrapped (or, with `--dry-run`, that would be).
    pub rewrapped: usize,
    /// Files naming the key that were already on the new version.
    pub up_to_date: usize,
    /// Files (or events) that failed.
    pub failed: usize,
}

impl Totals {
    fn add(&mut self, other: Totals) {
        self.rewrapped += other.rewrapped;
        self.up_to_date += other.up_to_date;
        self.failed += other.failed;
    }
}

/// Re-wraps files for deliveries; one per process (its keyring and Key Vault client keep
/// their tokens and public keys between deliveries).
pub struct Runner {
    paths: Vec<PathBuf>,
    recursive: bool,
    dry_run: bool,
    /// How many files are re-wrapped at once (their Key Vault requests overlap).
    jobs: usize,
    keyring: Keyring,
    settings: azure::Settings,
    /// The indentation each format is written with (`--indent`, else `.sops.yaml`'s).
    indents: Vec<(Format, Option<usize>)>,
    source: OnceCell<Result<AzureKvSource, String>>,
}

/// What happened to one file: its name, and `OLD -> NEW` when it was re-wrapped.
enum Outcome {
    UpToDate(String),
    Rewrapped(String, String),
    Failed(String, String),
}

/// A file that names the rotated key.
struct Candidate {
    path: PathBuf,
    name: String,
    format: Format,
    file: EncryptedFile,
}

impl Runner {
    /// A runner for the files under `paths`, `jobs` files at a time.
    pub fn new(
        paths: Vec<PathBuf>,
        recursive: bool,
        dry_run: bool,
        jobs: usize,
        opts: &Opts,
    ) -> Result<Self, Failure> {
        // As the other commands: `--indent`, else the config found from the working directory.
        let config = crate::discovery::load(opts.config.as_deref())?;
        let indents = [Format::Yaml, Format::Json, Format::Binary]
            .into_iter()
            .map(|f| (f, crate::commands::indent(f, opts, config.as_ref())))
            .collect();
        Ok(Self {
            indents,
            paths,
            recursive,
            dry_run,
            jobs: jobs.max(1),
            keyring: crate::commands::keyring(opts)?,
            settings: azure::Settings::from_opts(opts),
            source: OnceCell::new(),
        })
    }

    /// Applies every event of a delivery, in order; validation and other events are
    /// reported and skipped (a webhook answers validations before calling this).
    pub async fn delivery(&self, events: &[Event]) -> Totals {
        let mut totals = Totals::default();
        for event in events {
            match event {
                Event::KeyNewVersion(rotation) => totals.add(self.rotation(rotation).await),
                Event::Validation { id, .. } => {
                    report!("event {id}: a subscription validation (answered only by --listen)")
                }
                Event::Other { id, event_type } => {
                    report!("event {id}: {event_type} ignored (not a key's new version)")
                }
            }
        }
        totals
    }

    async fn rotation(&self, event: &KeyRotation) -> Totals {
        let key = event.key.unversioned();
        let schema = match event.schema {
            Schema::EventGrid => "Event Grid schema",
            Schema::CloudEvents => "CloudEvents",
        };
        let mut totals = Totals::default();
        let (candidates, errors) = self.candidates(event);
        for e in &errors {
            report!("failed {e}");
        }
        totals.failed += errors.len();
        if candidates.is_empty() {
            report!(
                "event {} ({schema}): no file names {key}; nothing to do",
                event.event_id
            );
            return totals;
        }
        let rotation = match self.target(event).await {
            Ok(r) => r,
            Err(e) => {
                report!("failed event {}: {e}", event.event_id);
                totals.failed += 1;
                return totals;
            }
        };
        let now = crate::clock::now_rfc3339();
        // Files are independent: their vault requests overlap (order of the report kept).
        let outcomes: Vec<Outcome> = stream::iter(candidates)
            .map(|c| self.file(c, &rotation, &now))
            .buffered(self.jobs)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Outcome::UpToDate(name) => {
                    report!("up to date {name}: already on {}", rotation.version());
                    totals.up_to_date += 1;
                }
                Outcome::Rewrapped(name, what) => {
                    let verb = if self.dry_run {
                        "would re-wrap"
                    } else {
                        "re-wrapped"
                    };
                    report!("{verb} {name}: {key} {what}");
                    totals.rewrapped += 1;
                }
                Outcome::Failed(name, why) => {
                    report!("failed {name}: {}", one_line(&why));
                    totals.failed += 1;
                }
            }
        }
        report!(
            "event {} ({schema}): {key} version {}: {} {}, {} up to date, {} failed",
            event.event_id,
            rotation.version(),
            totals.rewrapped,
            if self.dry_run {
                "would be re-wrapped"
            } else {
                "re-wrapped"
            },
            totals.up_to_date,
            totals.failed
        );
        totals
    }

    /// Re-wraps one file's entries (or, with `--dry-run`, says it would).
    async fn file(&self, mut c: Candidate, rotation: &KeyRotation, now: &str) -> Outcome {
        let affected = rotation.affected(&c.file.metadata.key_groups);
        if affected.is_empty() {
            return Outcome::UpToDate(c.name);
        }
        let from: Vec<String> = affected
            .iter()
            .map(|a| a.version.clone().unwrap_or_else(|| "(none)".into()))
            .collect();
        let what = format!("{} -> {}", from.join(","), rotation.version());
        if self.dry_run {
            return Outcome::Rewrapped(c.name, what);
        }
        let changes: Vec<EntryRewrap> = affected
            .iter()
            .map(|a| EntryRewrap {
                group: a.group,
                index: a.index,
                description: rotation
                    .new_description(&c.file.metadata.key_groups[a.group].keys[a.index]),
            })
            .collect();
        if let Err(e) = c.file.rewrap_entries(&changes, &self.keyring, now).await {
            return Outcome::Failed(c.name, e.to_string());
        }
        let layout = Layout {
            indent: self.indent(c.format),
            ..Layout::new(c.format)
        };
        let written = c
            .file
            .emit(&layout)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                Destination::File {
                    path: c.path.clone(),
                    private: false,
                }
                .write(&bytes)
                .map_err(|f| f.message)
            });
        match written {
            Ok(()) => Outcome::Rewrapped(c.name, what),
            Err(e) => Outcome::Failed(c.name, e),
        }
    }

    fn indent(&self, format: Format) -> Option<usize> {
        self.indents
            .iter()
            .find(|(f, _)| *f == format)
            .and_then(|(_, i)| *i)
    }

    /// The files under the paths, found by the `--recursive` walker (`.gitignore` honoured;
    /// without `--recursive`, a directory's own files), and the paths that could not be read.
    fn files(&self) -> (Vec<PathBuf>, Vec<String>) {
        let mut errors = Vec::new();
        let mut roots = Vec::new();
        for path in &self.paths {
            match std::fs::metadata(path) {
                Ok(_) => roots.push(path.clone()),
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
        if roots.is_empty() {
            return (Vec::new(), errors);
        }
        let depth = if self.recursive { None } else { Some(1) };
        match walk::walk_to(&roots, None, depth) {
            Ok((found, walk_errors)) => {
                errors.extend(
                    walk_errors
                        .into_iter()
                        .map(|(root, f)| format!("{root}: {}", f.message)),
                );
                (found.into_iter().map(|f| f.path).collect(), errors)
            }
            Err(f) => {
                errors.push(f.message);
                (Vec::new(), errors)
            }
        }
    }

    /// The encrypted files under the paths with an entry of the event's key.
    fn candidates(&self, event: &KeyRotation) -> (Vec<Candidate>, Vec<String>) {
        let (files, mut errors) = self.files();
        let mut out = Vec::new();
        for path in files {
            let input = match read_input(Some(&path), None) {
                Ok(i) => i,
                Err(f) => {
                    errors.push(one_line(&f.message));
                    continue;
                }
            };
            // Files that cannot hold a Key Vault entry are not parsed at all.
            if !input.bytes.windows(8).any(|w| w == b"azure_kv") {
                continue;
            }
            let format = Format::from_path(&input.name);
            let Ok(file) = EncryptedFile::parse(&input.bytes, format) else {
                continue;
            };
            let names_key = file
                .metadata
                .key_groups
                .iter()
                .flat_map(|g| &g.keys)
                .any(|k| event.names_key(k));
            if names_key {
                out.push(Candidate {
                    path,
                    name: input.name,
                    format,
                    file,
                });
            }
        }
        (out, errors)
    }

    /// The event's rotation, retargeted to the key's current version when the event is
    /// older than it.
    async fn target(&self, event: &KeyRotation) -> Result<KeyRotation, String> {
        let source = self
            .source
            .get_or_init(|| azure::build(&self.settings).map_err(|f| f.message))
            .as_ref()?;
        let current = source
            .current_version(&event.key.vault_url, &event.key.name)
            .await
            .map_err(|e| {
                format!(
                    "cannot read the current version of {}: {}",
                    event.key.unversioned(),
                    one_line(&e.to_string())
                )
            })?;
        if current.eq_ignore_ascii_case(event.version()) {
            return Ok(event.clone());
        }
        eprintln!(
            "on-rotation: event {} names version {} of {}, but its current version is {current}: files are brought to {current}",
            event.event_id,
            event.version(),
            event.key.unversioned()
        );
        Ok(event.retarget(&current))
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
