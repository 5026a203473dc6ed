//! Finding and loading `.sops.yaml` exactly as sops does: from the working directory up
//! to 100 parents, first hit wins; `--config` overrides. Opt-in (`--config-from-file`,
//! `LEAFCRYPT_CONFIG_FROM_FILE=1`): the search starts from the file's directory instead.

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
    /// How it was found.
    pub found: Found,
}

/// How the config file was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// `--config FILE`.
    Flag,
    /// `SOPS_CONFIG`.
    Env,
    /// Searched upward from this working directory (sops's way).
    CwdSearch(PathBuf),
    /// Searched upward from the file's directory (`--config-from-file`).
    FileSearch(PathBuf),
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::Flag => f.write_str("given with --config"),
            Found::Env => f.write_str("given by SOPS_CONFIG"),
            Found::CwdSearch(d) => write!(
                f,
                "found searching upward from the working directory {}",
                d.display()
            ),
            Found::FileSearch(d) => write!(
                f,
                "found searching upward from the file's directory {} (--config-from-file)",
                d.display()
            ),
        }
    }
}

/// Where the search for `.sops.yaml` starts.
#[derive(Clone, Copy, Debug)]
pub enum Start<'a> {
    /// The working directory (sops's behaviour, the default).
    Cwd,
    /// The directory of this file (`--config-from-file`).
    FileDir(&'a Path),
}

/// Finds `.sops.yaml` from the current directory up (or takes `explicit`) and parses it.
pub fn load(explicit: Option<&Path>) -> CliResult<Option<Loaded>> {
    load_from(explicit, Start::Cwd)
}

/// [`load`] for commands on `file`: with `--config-from-file` (or
/// `LEAFCRYPT_CONFIG_FROM_FILE=1`) the search starts from the file's directory.
pub fn load_for(opts: &crate::cli::Opts, file: Option<&Path>) -> CliResult<Option<Loaded>> {
    let start = match file {
        Some(f) if opts.config_from_file => Start::FileDir(f),
        _ => Start::Cwd,
    };
    load_from(opts.config.as_deref(), start)
}

/// [`load`] with the search starting at `start`.
pub fn load_from(explicit: Option<&Path>, start: Start<'_>) -> CliResult<Option<Loaded>> {
    let found = match explicit {
        Some(p) => {
            let from_env = std::env::var_os("SOPS_CONFIG").is_some_and(|v| Path::new(&v) == p);
            Some((
                p.to_path_buf(),
                if from_env { Found::Env } else { Found::Flag },
            ))
        }
        None => {
            let dir = match start {
                Start::Cwd => cwd()?,
                Start::FileDir(f) => absolute(f)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
            };
            find(&dir)?.map(|p| {
                let how = match start {
                    Start::Cwd => Found::CwdSearch(dir.clone()),
                    Start::FileDir(_) => Found::FileSearch(dir.clone()),
                };
                (p, how)
            })
        }
    };
    let Some((path, found)) = found else {
        return Ok(None);
    };
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
    Ok(Some(Loaded {
        config,
        path,
        found,
    }))
}

fn cwd() -> CliResult<PathBuf> {
    std::env::current_dir().map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("cannot read the working directory: {e}"),
        )
    })
}

fn find(start: &Path) -> CliResult<Option<PathBuf>> {
    let mut dir = Some(start);
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
