//! Beyond sops: `--recursive` for `encrypt`, `decrypt`, `rotate`, `updatekeys`,
//! `filestatus` and `azure-kv stale` (and the walk of `azure-kv on-rotation`). The walker ([`walk`]), the per-file runs ([`ops`],
//! which call the single-file commands' rules), the progress line ([`progress`]) and the
//! summary and failure report ([`report`]). Files run `jobs` at a time, so at most `jobs`
//! key-source requests are in flight.

mod ops;
mod progress;
mod report;
pub mod walk;

pub use ops::Kind;

use crate::cli::Opts;
use crate::commands;
use crate::discovery;
use crate::failure::{CliResult, Failure};
use futures_util::stream::{self, StreamExt};
use leafcrypt_core::ExitCode;
use report::{Outcome, Report};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A `--recursive` run.
pub struct Request<'a> {
    /// The command.
    pub kind: Kind,
    /// Files and directories given on the command line.
    pub roots: &'a [PathBuf],
    /// List, do not change.
    pub dry_run: bool,
    /// Files at once.
    pub jobs: usize,
    /// Decrypt's output directory.
    pub out_dir: Option<&'a Path>,
}

/// Runs `req`: walks, runs each file, prints the changed files (stdout), the summary
/// and the failure report (stderr). Fails when any file failed.
pub fn run(req: &Request<'_>, opts: &Opts) -> CliResult<()> {
    check(req, opts)?;
    let (files, walk_errors) = walk::walk(req.roots, req.out_dir)?;
    let (files, collisions) = match req.out_dir {
        Some(dir) => split_collisions(files, dir),
        None => (files, Vec::new()),
    };
    let config = discovery::load(opts.config.as_deref())?;
    if req.kind == Kind::Updatekeys && config.is_none() {
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            "config file not found: updatekeys needs a .sops.yaml (or --config)",
        ));
    }
    if req.kind == Kind::Encrypt && config.is_none() && commands::cli_entries(opts)?.is_empty() {
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            "encrypt --recursive needs keys: a .sops.yaml creation rule, or --age/--pgp/--azure-kv/--pkcs11/…",
        ));
    }
    let needs_keys = !req.dry_run && req.kind != Kind::Filestatus;
    let keyring = if needs_keys {
        Some(commands::keyring(opts)?)
    } else {
        None
    };
    let now = crate::clock::now_rfc3339();
    let wanted = HashMap::new();
    let mut ctx = ops::Ctx {
        kind: req.kind,
        opts,
        config: config.as_ref(),
        keyring: keyring.as_ref(),
        dry_run: req.dry_run,
        out_dir: req.out_dir,
        wanted: &wanted,
        now: &now,
    };
    let wanted = if req.kind == Kind::Updatekeys {
        pinned_rules(&ctx, &files, opts)
    } else {
        HashMap::new()
    };
    ctx.wanted = &wanted;
    let mut results: Vec<(String, Outcome)> = walk_errors
        .into_iter()
        .map(|(n, f)| (n, Outcome::Failed(f)))
        .chain(collisions)
        .collect();
    results.extend(run_all(&ctx, &files, req.jobs));
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let report = Report {
        labels: labels(req.kind, req.dry_run),
        results,
    };
    print_lines(req.kind, &report)?;
    eprint!("{}", report.table());
    report.into_result(verb(req.kind))
}

/// Flags that make no sense with `--recursive`.
fn check(req: &Request<'_>, opts: &Opts) -> CliResult<()> {
    let conflicting = opts.output.is_some()
        || opts.extract.is_some()
        || opts.filename_override.is_some()
        || (opts.in_place && req.kind == Kind::Decrypt);
    if conflicting {
        return Err(Failure::new(
            ExitCode::ErrorConflictingParameters,
            "--recursive cannot be combined with --output, --extract, --filename-override (or decrypt -i): files are written in place (decrypt: into --output-dir)",
        ));
    }
    if req.kind == Kind::Decrypt && req.out_dir.is_none() {
        return Err(Failure::new(
            ExitCode::ErrorConflictingParameters,
            "decrypt --recursive needs --output-dir DIR (plaintext is written nowhere else)",
        ));
    }
    if let Some(dir) = req.out_dir {
        if !dir.is_dir() {
            return Err(Failure::new(
                ExitCode::ErrorConflictingParameters,
                format!("--output-dir {}: not a directory", dir.display()),
            ));
        }
    }
    Ok(())
}

/// Each matched rule's key groups, Key Vault keys without a version pinned (one `get`
/// per distinct rule used, none when the rules name versions).
fn pinned_rules(
    ctx: &ops::Ctx<'_>,
    files: &[walk::Found],
    opts: &Opts,
) -> HashMap<usize, CliResult<Vec<leafcrypt_core::metadata::KeyGroup>>> {
    let mut out = HashMap::new();
    let Some(loaded) = ctx.config else {
        return out;
    };
    for f in files {
        if let Ok(Some(i)) = ops::rule_index(ctx, &f.path) {
            out.entry(i).or_insert_with(|| {
                let groups = loaded.config.creation_rules[i].key_groups.clone();
                if ctx.dry_run && !needs_pinning(&groups) {
                    return Ok(groups);
                }
                commands::updatekeys::pin_azure_versions(groups, opts)
            });
        }
    }
    out
}

fn needs_pinning(groups: &[leafcrypt_core::metadata::KeyGroup]) -> bool {
    groups
        .iter()
        .flat_map(|g| &g.keys)
        .any(|k| k.kind == "azure_kv" && k.get("version").unwrap_or("").is_empty())
}

/// Runs every file, `jobs` at a time, drawing the progress line.
fn run_all(ctx: &ops::Ctx<'_>, files: &[walk::Found], jobs: usize) -> Vec<(String, Outcome)> {
    let mut progress = progress::Progress::new(files.len(), verb(ctx.kind));
    let results = crate::runtime::block_on(async {
        let mut stream = stream::iter(files)
            .map(|f| async move { (f.path.display().to_string(), ops::one(ctx, f).await) })
            .buffer_unordered(jobs.max(1));
        let mut out = Vec::with_capacity(files.len());
        while let Some((name, outcome)) = stream.next().await {
            progress.tick(&name);
            out.push((name, outcome));
        }
        out
    });
    progress.finish();
    results
}

/// Splits off the files that would be written to the same output file as another one
/// (several roots mirrored into one `--output-dir`): those fail, none of them is written.
fn split_collisions(
    files: Vec<walk::Found>,
    dir: &Path,
) -> (Vec<walk::Found>, Vec<(String, Outcome)>) {
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    for f in &files {
        *seen.entry(ops::decrypt_target(dir, f)).or_default() += 1;
    }
    let (clashing, ok): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|f| seen[&ops::decrypt_target(dir, f)] > 1);
    let failed = clashing
        .into_iter()
        .map(|f| {
            let target = ops::decrypt_target(dir, &f);
            let why = Failure::new(
                ExitCode::ErrorConflictingParameters,
                format!("another input is also written to {}", target.display()),
            );
            (f.path.display().to_string(), Outcome::Failed(why))
        })
        .collect();
    (ok, failed)
}

fn labels(kind: Kind, dry_run: bool) -> (&'static str, &'static str) {
    match (kind, dry_run) {
        (Kind::Filestatus, _) => ("encrypted", "not encrypted"),
        (_, true) => ("would change", "unchanged"),
        _ => ("changed", "unchanged"),
    }
}

fn verb(kind: Kind) -> &'static str {
    match kind {
        Kind::Encrypt => "encrypt",
        Kind::Decrypt => "decrypt",
        Kind::Rotate => "rotate",
        Kind::Updatekeys => "update",
        Kind::Filestatus => "check",
    }
}

/// stdout: filestatus's `{"file":…,"encrypted":…}` lines, else the changed files' names.
fn print_lines(kind: Kind, report: &Report) -> CliResult<()> {
    let mut out = String::new();
    if kind != Kind::Filestatus {
        for name in report.changed() {
            out.push_str(name);
            out.push('\n');
        }
    }
    for (name, o) in report.results.iter().filter(|_| kind == Kind::Filestatus) {
        if let Outcome::Changed | Outcome::Unchanged = o {
            let encrypted = matches!(o, Outcome::Changed);
            let name = serde_json::Value::String(name.clone());
            out.push_str(&format!("{{\"file\":{name},\"encrypted\":{encrypted}}}\n"));
        }
    }
    crate::io::Destination::Stdout.write(out.as_bytes())
}

/// The encrypted files under `roots` (for `azure-kv stale --recursive`), in path order.
pub fn encrypted_files(roots: &[PathBuf], opts: &Opts) -> CliResult<Vec<PathBuf>> {
    let (files, errors) = walk::walk(roots, None)?;
    if let Some((name, f)) = errors.into_iter().next() {
        return Err(Failure::new(f.code, format!("{name}: {}", f.message)));
    }
    Ok(files
        .into_iter()
        .filter(|f| {
            crate::io::read_input(Some(&f.path), None)
                .ok()
                .and_then(|input| {
                    let (fmt, _) = commands::formats(&input, opts).ok()?;
                    let doc = fmt.store(None).parse(&input.bytes).ok()?;
                    doc.metadata
                })
                .is_some()
        })
        .map(|f| f.path)
        .collect())
}
