//! Finding and loading `.sops.yaml` exactly as sops does: from the working directory up
//! to 100 parents, first hit wins; `--config` overrides.

use crate::failure::{CliResult, Failure};
use leafcrypt_core::config::Config;
use leafcrypt_core::stores::Format;
use leafcrypt_core::ExitCode;
use std::path::{Path, PathBuf};

/// A loaded config and the directory rule paths are relative to.
pub struct Loaded {
    /// The parsed config.
    pub config: Config,
    /// Where the config file was found.
    pub path: PathBuf,
}

/// Finds `.sops.yaml` from the current directory up (or takes `explicit`) and parses it.
pub fn load(explicit: Option<&Path>) -> CliResult<Option<Loaded>> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => find()?,
    };
    let Some(path) = path else { return Ok(None) };
    let bytes = std::fs::read(&path).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("error loading config {}: {e}", path.display()),
        )
    })?;
    let doc = Format::Yaml.store(None).parse(&bytes).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("error loading config {}: {e}", path.display()),
        )
    })?;
    let root = doc.tree.branches.into_iter().next().unwrap_or_default();
    let config = Config::from_map(&root).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("error loading config {}: {e}", path.display()),
        )
    })?;
    Ok(Some(Loaded { config, path }))
}

fn find() -> CliResult<Option<PathBuf>> {
    let cwd = std::env::current_dir().map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("cannot read the working directory: {e}"),
        )
    })?;
    let mut dir = Some(cwd.as_path());
    for _ in 0..100 {
        let Some(d) = dir else { break };
        let candidate = d.join(".sops.yaml");
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
        if d.join(".sops.yml").is_file() {
            eprintln!(
                "[leafcrypt] warning: ignoring {} (the config must be named .sops.yaml)",
                d.join(".sops.yml").display()
            );
        }
        dir = d.parent();
    }
    Ok(None)
}

impl Loaded {
    /// `file` as the config's rules see it: absolute, then relative to the config's
    /// directory when it lies below it.
    pub fn relative_path(&self, file: &Path) -> String {
        let abs = absolute(file);
        let base = self.path.parent().map(absolute).unwrap_or_default();
        match abs.strip_prefix(&base) {
            Ok(rel) if !base.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
            _ => abs.to_string_lossy().into_owned(),
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    // Lexical clean-up of `.` and `..` (Go's filepath.Abs does the same).
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
