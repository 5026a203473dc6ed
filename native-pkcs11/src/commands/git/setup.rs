//! `git setup [--global] [--undo]`: registers the textconv and the merge driver.
//!
//! It writes two things, both reversible with `--undo`:
//! - a block of `.gitattributes` lines between two marker comments (the repository's
//!   `.gitattributes`, or with `--global` the global attributes file), one line
//!   `PATTERN diff=leafcrypt merge=leafcrypt` per pattern of encrypted files;
//! - git config entries `diff.leafcrypt.textconv`, `merge.leafcrypt.name` and
//!   `merge.leafcrypt.driver` (local, or `--global`).

use super::patterns::glob_for;
use crate::cli::{GitSetupArgs, Opts};
use crate::discovery;
use crate::failure::{CliResult, Failure};
use leafcrypt_core::ExitCode;
use std::path::{Path, PathBuf};
use std::process::Command;

const BEGIN: &str = "# leafcrypt git setup: begin (remove with `leafcrypt git setup --undo`)";
const END: &str = "# leafcrypt git setup: end";
const KEYS: [&str; 3] = [
    "diff.leafcrypt.textconv",
    "merge.leafcrypt.name",
    "merge.leafcrypt.driver",
];

/// Writes (or with `--undo` removes) the attributes block and the config entries.
pub fn run(a: &GitSetupArgs, opts: &Opts) -> CliResult<()> {
    let scope = if a.global { "--global" } else { "--local" };
    let attributes = attributes_file(a.global)?;
    if a.undo {
        return undo(scope, &attributes);
    }
    let patterns = patterns(a, opts, &attributes)?;
    let exe = std::env::current_exe()
        .map_err(|e| fail(format!("cannot find leafcrypt's own path: {e}")))?;
    let exe = shell_quote(&exe.to_string_lossy());
    let markers = if a.markers { " --markers" } else { "" };
    let values = [
        format!("{exe} git textconv"),
        "leafcrypt: decrypt, merge key by key, re-encrypt".to_string(),
        format!("{exe} git merge-driver{markers} %O %A %B %P"),
    ];
    for (key, value) in KEYS.iter().zip(&values) {
        git(&["config", scope, key, value])?;
        println!("git config {scope} {key} = {value}");
    }
    let block: String = patterns
        .iter()
        .map(|p| format!("{p} diff=leafcrypt merge=leafcrypt\n"))
        .collect();
    let old = std::fs::read_to_string(&attributes).unwrap_or_default();
    let mut text = without_block(&old);
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("{BEGIN}\n{block}{END}\n"));
    write(&attributes, &text)?;
    println!("{}: wrote", attributes.display());
    print!("{block}");
    Ok(())
}

/// Removes the block and the config entries (and a section left empty by that).
fn undo(scope: &str, attributes: &Path) -> CliResult<()> {
    for key in KEYS {
        if git(&["config", scope, "--get", key]).is_ok() {
            git(&["config", scope, "--unset-all", key])?;
            println!("git config {scope} --unset-all {key}");
        }
    }
    for section in ["diff.leafcrypt", "merge.leafcrypt"] {
        let pattern = format!("^{}\\.", section.replace('.', "\\."));
        if git(&["config", scope, "--get-regexp", &pattern]).is_err()
            && git(&["config", scope, "--remove-section", section]).is_ok()
        {
            println!("git config {scope} --remove-section {section}");
        }
    }
    let Ok(old) = std::fs::read_to_string(attributes) else {
        return Ok(());
    };
    let text = without_block(&old);
    if text == old {
        return Ok(());
    }
    if text.trim().is_empty() {
        std::fs::remove_file(attributes)
            .map_err(|e| fail(format!("cannot remove {}: {e}", attributes.display())))?;
        println!(
            "{}: removed (it held only leafcrypt's lines)",
            attributes.display()
        );
    } else {
        write(attributes, &text)?;
        println!("{}: removed leafcrypt's lines", attributes.display());
    }
    Ok(())
}

/// `text` without the leafcrypt block (markers included).
fn without_block(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == BEGIN {
            inside = true;
        } else if inside && bare == END {
            inside = false;
        } else if !inside {
            out.push_str(line);
        }
    }
    out
}

/// `--pattern`s, else globs from the creation rules' `path_regex` (a rule without one
/// cannot be told from the other files; a regex no glob can say is reported).
fn patterns(a: &GitSetupArgs, opts: &Opts, attributes: &Path) -> CliResult<Vec<String>> {
    if !a.patterns.is_empty() {
        return Ok(a.patterns.clone());
    }
    let Some(loaded) = discovery::load(opts.config.as_deref())? else {
        return Err(fail(
            "no .sops.yaml found to take the patterns of encrypted files from: give them with --pattern GLOB",
        ));
    };
    let config_dir = absolute(loaded.path.parent().unwrap_or(Path::new(".")));
    let attributes_dir = absolute(attributes.parent().unwrap_or(Path::new(".")));
    let prefix = match config_dir.strip_prefix(&attributes_dir) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => String::new(),
    };
    let mut globs = Vec::new();
    let mut unexpressed = Vec::new();
    for rule in &loaded.config.creation_rules {
        let Some(re) = &rule.path_regex else { continue };
        match glob_for(re.as_str(), &prefix) {
            Some(g) if !globs.contains(&g) => globs.push(g),
            Some(_) => {}
            None => unexpressed.push(re.as_str().to_string()),
        }
    }
    for re in &unexpressed {
        eprintln!(
            "[leafcrypt] warning: path_regex '{re}' of {} has no .gitattributes equivalent; add its files with --pattern GLOB",
            loaded.path.display()
        );
    }
    if globs.is_empty() {
        return Err(fail(format!(
            "no creation rule of {} has a path_regex a .gitattributes pattern can express: give the patterns with --pattern GLOB",
            loaded.path.display()
        )));
    }
    Ok(globs)
}

/// The attributes file: the repository's top-level `.gitattributes`, or with `global`
/// `core.attributesFile` (default `$XDG_CONFIG_HOME/git/attributes`).
fn attributes_file(global: bool) -> CliResult<PathBuf> {
    if !global {
        let top = git(&["rev-parse", "--show-toplevel"]).map_err(|e| {
            fail(format!(
                "not inside a git repository ({e}); use --global or run it in one"
            ))
        })?;
        return Ok(PathBuf::from(top.trim_end()).join(".gitattributes"));
    }
    if let Ok(configured) = git(&[
        "config",
        "--global",
        "--path",
        "--get",
        "core.attributesFile",
    ]) {
        return Ok(PathBuf::from(configured.trim_end()));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| {
            fail("neither XDG_CONFIG_HOME nor HOME is set: cannot find the global attributes file")
        })?;
    Ok(config.join("git").join("attributes"))
}

/// Runs `git ARGS`; its stdout, or its stderr as the error.
fn git(args: &[&str]) -> CliResult<String> {
    let out = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| fail(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(fail(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn write(path: &Path, text: &str) -> CliResult<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, text).map_err(|e| fail(format!("cannot write {}: {e}", path.display())))
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| crate::io::absolute(path))
}

/// `text` in single quotes for the shell git runs drivers with.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn fail(message: impl Into<String>) -> Failure {
    Failure::new(ExitCode::ErrorGeneric, message)
}
