//! `doctor FILE…`: without decrypting any value or unwrapping the data key, each file's key
//! groups and entries, whether this environment can use each entry (the key sources'
//! no-side-effect probes), whether the file is decryptable here (Shamir threshold
//! included), the `.sops.yaml` rule that matches and why, and one concrete next step per
//! problem. Exit 0 when every file is decryptable here; 1 when one is not or cannot be
//! told to be (a key could not be checked); a file that cannot be read exits with sops's
//! code for it (100 for a missing file).

use super::explain::{self, key_name, ConfigReport};
use super::{formats, keyring, load_encrypted};
use crate::cli::{DoctorArgs, Opts};
use crate::failure::{CliResult, Failure};
use crate::io::read_input;
use leafcrypt_core::diagnose::{self, Diagnosis, Verdict};
use leafcrypt_core::keysource::{KeyEntry, Keyring, ProbeStatus};
use leafcrypt_core::metadata::KeyGroup;
use leafcrypt_core::ExitCode;
use serde_json::{json, Value};
use std::path::Path;

/// One file's report.
struct FileReport {
    name: String,
    diagnosis: Diagnosis,
    config: ConfigReport,
    next: Vec<String>,
}

/// Runs `doctor`.
pub fn run(args: &DoctorArgs, opts: &Opts) -> CliResult<()> {
    let keyring = keyring(opts)?;
    let mut reports = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    for file in &args.files {
        match examine(file, opts, &keyring) {
            Ok(r) => reports.push(r),
            Err(f) => failures.push(f),
        }
    }
    let out = if args.json {
        let files: Vec<Value> = reports.iter().map(report_json).collect();
        let errors: Vec<Value> = failures
            .iter()
            .map(|f| json!({"error": f.message, "exit_code": f.code as i32}))
            .collect();
        format!("{}\n", json!({"files": files, "errors": errors}))
    } else {
        reports
            .iter()
            .map(report_text)
            .collect::<Vec<_>>()
            .join("\n")
    };
    crate::io::Destination::Stdout.write(out.as_bytes())?;
    if let Some(f) = failures.into_iter().next() {
        return Err(f);
    }
    if reports.iter().all(|r| r.diagnosis.verdict == Verdict::Yes) {
        Ok(())
    } else {
        // The verdicts are on stdout already.
        Err(Failure::new(ExitCode::ErrorGeneric, ""))
    }
}

fn examine(file: &Path, opts: &Opts, keyring: &Keyring) -> CliResult<FileReport> {
    let input = read_input(Some(file), opts.filename_override.as_deref())?;
    let (fmt, _) = formats(&input, opts)?;
    let (_, metadata) = load_encrypted(&input, fmt)?;
    let diagnosis = crate::runtime::block_on(diagnose::diagnose(&metadata, keyring));
    let config = explain::report(file, opts);
    let next = next_steps(&input.name, &diagnosis, &metadata.key_groups, &config);
    Ok(FileReport {
        name: input.name,
        diagnosis,
        config,
        next,
    })
}

/// One concrete line per problem.
fn next_steps(
    name: &str,
    diagnosis: &Diagnosis,
    stored: &[KeyGroup],
    config: &ConfigReport,
) -> Vec<String> {
    let mut next = Vec::new();
    for (gi, group) in diagnosis.groups.iter().enumerate() {
        for e in &group.entries {
            let key = format!("group {gi}, {}", key_name(&e.key));
            if e.probe.status != ProbeStatus::Usable {
                if let Some(a) = &e.probe.advice {
                    next.push(format!("{key}: {a}"));
                }
            }
            if let Some(s) = &e.probe.stale {
                next.push(format!("{key}: {}", s.replace("FILE", name)));
            }
        }
    }
    if let Some((groups, _)) = &config.keys {
        if !same_keys(groups, stored) {
            next.push(format!(
                "the file's keys differ from its .sops.yaml rule: `leafcrypt updatekeys {name}` (needs a usable key) brings them in line"
            ));
        }
    }
    if let Some(e) = &config.error {
        next.push(format!("config: {e}"));
    }
    next
}

/// Whether the rule's groups name the same keys as the file's, group by group.
fn same_keys(rule: &[KeyGroup], stored: &[KeyGroup]) -> bool {
    let ids = |g: &KeyGroup| {
        let mut v: Vec<String> = g.keys.iter().map(KeyEntry::identity).collect();
        v.sort();
        v
    };
    rule.len() == stored.len() && rule.iter().zip(stored).all(|(a, b)| ids(a) == ids(b))
}

fn report_text(r: &FileReport) -> String {
    let d = &r.diagnosis;
    let mut lines = vec![
        format!("file: {}", r.name),
        format!("key groups: {} (needed: {})", d.groups.len(), d.threshold),
    ];
    for (gi, group) in d.groups.iter().enumerate() {
        lines.push(format!("  group {gi}: {}", group.status().as_str()));
        for e in &group.entries {
            lines.push(format!(
                "    {}: {}: {}",
                key_name(&e.key),
                e.probe.status.as_str(),
                e.probe.detail
            ));
            if let Some(s) = &e.probe.stale {
                lines.push(format!("      stale: {s}"));
            }
        }
    }
    lines.push(format!(
        "decryptable here: {} ({} of {} needed group(s) have a usable key)",
        d.verdict.as_str(),
        d.usable_groups,
        d.threshold
    ));
    lines.extend(explain::text(&r.config));
    if r.next.is_empty() {
        lines.push("next: nothing to do".into());
    } else {
        lines.push("next:".into());
        lines.extend(r.next.iter().map(|n| format!("  - {n}")));
    }
    lines.join("\n") + "\n"
}

fn report_json(r: &FileReport) -> Value {
    let d = &r.diagnosis;
    let groups: Vec<Value> = d
        .groups
        .iter()
        .map(|g| {
            let keys: Vec<Value> = g
                .entries
                .iter()
                .map(|e| {
                    json!({
                        "kind": e.key.kind,
                        "key": e.key.identity(),
                        "status": e.probe.status.as_str(),
                        "detail": e.probe.detail,
                        "advice": e.probe.advice,
                        "stale": e.probe.stale,
                    })
                })
                .collect();
            json!({"status": g.status().as_str(), "keys": keys})
        })
        .collect();
    json!({
        "file": r.name,
        "decryptable": d.verdict.as_str(),
        "needed_groups": d.threshold,
        "usable_groups": d.usable_groups,
        "groups": groups,
        "config": explain::to_json(&r.config),
        "next": r.next,
    })
}
