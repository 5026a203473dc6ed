//! `explain FILE`: the `.sops.yaml` found for a file and how (flag, `SOPS_CONFIG`, search
//! from the working directory, search from the file's directory), the creation rule that
//! matches (and why earlier ones did not, from the core's [`Config::explain`]) and the
//! keys it yields. `doctor` prints the same report for each file.
//!
//! [`Config::explain`]: leafcrypt_core::config::Config::explain

use crate::cli::{ExplainArgs, Opts};
use crate::discovery;
use crate::failure::{CliResult, Failure};
use leafcrypt_core::config::Explanation;
use leafcrypt_core::metadata::KeyGroup;
use leafcrypt_core::ExitCode;
use serde_json::{json, Value};
use std::path::Path;

/// What the config says about one file.
pub(crate) struct ConfigReport {
    /// The config file, if one was found.
    pub path: Option<String>,
    /// How it was found, or where the search started.
    pub found: String,
    /// The rule matching, if a config was found.
    pub explanation: Option<Explanation>,
    /// The matched rule's key groups and Shamir threshold.
    pub keys: Option<(Vec<KeyGroup>, usize)>,
    /// Why the config or the rule could not be used.
    pub error: Option<String>,
}

impl ConfigReport {
    /// Whether a rule matched and its keys parsed.
    pub fn matched(&self) -> bool {
        self.keys.is_some()
    }
}

/// The config report for `file` (its rules matched against `--filename-override` when given,
/// as the commands match them).
pub(crate) fn report(file: &Path, opts: &Opts) -> ConfigReport {
    let name = opts.filename_override.as_deref().unwrap_or(file);
    let loaded = match discovery::load_for(opts, Some(file)) {
        Ok(l) => l,
        Err(f) => {
            return ConfigReport {
                path: None,
                found: String::new(),
                explanation: None,
                keys: None,
                error: Some(f.message),
            }
        }
    };
    let Some(loaded) = loaded else {
        let start = if opts.config_from_file {
            format!("the file's directory {}", parent(file))
        } else {
            format!(
                "the working directory {}",
                std::env::current_dir().unwrap_or_default().display()
            )
        };
        return ConfigReport {
            path: None,
            found: format!("no .sops.yaml found searching upward from {start}"),
            explanation: None,
            keys: None,
            error: None,
        };
    };
    let relative = loaded.relative_path(name);
    let explanation = loaded.config.explain(&relative);
    let (keys, error) = match loaded.config.matching_rule(&relative) {
        Ok(Some(rule)) => (Some((rule.key_groups.clone(), rule.shamir_threshold)), None),
        Ok(None) => (None, Some("the config has no creation rules".to_string())),
        Err(e) => (None, Some(e.to_string())),
    };
    ConfigReport {
        path: Some(loaded.path.display().to_string()),
        found: loaded.found.to_string(),
        explanation: Some(explanation),
        keys,
        error,
    }
}

fn parent(file: &Path) -> String {
    let abs = if file.is_absolute() {
        file.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(file)
    };
    abs.parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// `age age1…`, `azure_kv https://…`: how reports name a key.
pub(crate) fn key_name(entry: &leafcrypt_core::keysource::KeyEntry) -> String {
    format!("{} {}", entry.kind, entry.identity())
}

/// The report as text lines (no trailing newline).
pub(crate) fn text(report: &ConfigReport) -> Vec<String> {
    let mut lines = Vec::new();
    match &report.path {
        Some(p) => lines.push(format!("config: {p} ({})", report.found)),
        None if report.error.is_none() => lines.push(format!("config: none ({})", report.found)),
        None => {}
    }
    if let Some(e) = &report.explanation {
        lines.push(format!(
            "path matched against the rules: {}",
            e.relative_path
        ));
        for v in &e.rules {
            let name = match &v.path_regex {
                Some(re) => format!("creation_rules[{}] (path_regex '{re}')", v.position),
                None => format!("creation_rules[{}]", v.position),
            };
            let verdict = if v.matched { "matches" } else { "skipped" };
            lines.push(format!("  {name}: {verdict}: {}", v.reason));
        }
        if e.matched.is_none() {
            lines.push("  no creation rule matches".into());
        }
    }
    if let Some((groups, threshold)) = &report.keys {
        lines.push(format!(
            "rule keys: {} group(s){}",
            groups.len(),
            if *threshold > 0 {
                format!(", shamir_threshold {threshold}")
            } else {
                String::new()
            }
        ));
        for (i, g) in groups.iter().enumerate() {
            let names: Vec<String> = g.keys.iter().map(key_name).collect();
            lines.push(format!("  group {i}: {}", names.join(", ")));
        }
    }
    if let Some(e) = &report.error {
        lines.push(format!("config error: {e}"));
    }
    lines
}

/// The report as JSON.
pub(crate) fn to_json(report: &ConfigReport) -> Value {
    let rules: Vec<Value> = report
        .explanation
        .iter()
        .flat_map(|e| &e.rules)
        .map(|v| json!({"index": v.position, "path_regex": v.path_regex, "matched": v.matched, "reason": v.reason}))
        .collect();
    json!({
        "path": report.path,
        "found": report.found,
        "relative_path": report.explanation.as_ref().map(|e| e.relative_path.clone()),
        "rules": rules,
        "matched_rule": report.explanation.as_ref().and_then(|e| e.matched.map(|i| e.rules[i].position)),
        "key_groups": report.keys.as_ref().map(|(groups, _)| groups.iter().map(|g| g.keys.iter().map(key_name).collect::<Vec<_>>()).collect::<Vec<_>>()),
        "shamir_threshold": report.keys.as_ref().map(|(_, t)| *t),
        "error": report.error,
    })
}

/// `--explain` on another command: the report on stderr, `[leafcrypt] explain: ` first.
pub(crate) fn to_stderr(file: &Path, opts: &Opts) {
    for line in text(&report(file, opts)) {
        eprintln!("[leafcrypt] explain: {line}");
    }
}

/// Runs `explain`: exit 0 when a rule matches and its keys parse, else 1.
pub fn run(args: &ExplainArgs, opts: &Opts) -> CliResult<()> {
    let report = report(&args.file, opts);
    let out = if args.json {
        format!("{}\n", to_json(&report))
    } else {
        let mut lines = vec![format!("file: {}", args.file.display())];
        lines.extend(text(&report));
        lines.join("\n") + "\n"
    };
    crate::io::Destination::Stdout.write(out.as_bytes())?;
    if report.matched() {
        Ok(())
    } else {
        // The reason is on stdout already.
        Err(Failure::new(ExitCode::ErrorGeneric, ""))
    }
}
