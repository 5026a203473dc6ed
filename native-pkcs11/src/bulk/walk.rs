//! The files under `--recursive`'s roots: directories walked honouring `.gitignore` (also
//! outside a Git repository), `.ignore` and the global Git excludes, in path order.

use crate::failure::{CliResult, Failure};
use leafcrypt_core::ExitCode;
use std::path::{Path, PathBuf};

/// A file found under one of the roots.
#[derive(Debug, Clone)]
pub struct Found {
    /// The root it was found under (the file itself when a root is a file).
    pub root: PathBuf,
    /// The file.
    pub path: PathBuf,
}

impl Found {
    /// The file's path below its root (its name when the root is the file).
    pub fn relative(&self) -> PathBuf {
        match self.path.strip_prefix(&self.root) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
            _ => self.path.file_name().map(PathBuf::from).unwrap_or_default(),
        }
    }
}

/// Files that configure tools rather than hold secrets: never operated on.
const TOOL_FILES: [&str; 5] = [
    ".sops.yaml",
    ".sops.yml",
    ".gitignore",
    ".ignore",
    ".gitattributes",
];

/// The files found, and the walk's errors by root.
pub type Walked = (Vec<Found>, Vec<(String, Failure)>);

/// Walks `roots`; `exclude` (e.g. decrypt's output directory) is not entered. Files the
/// walk cannot read are returned as failures next to the files found.
pub fn walk(roots: &[PathBuf], exclude: Option<&Path>) -> CliResult<Walked> {
    walk_to(roots, exclude, None)
}

/// As [`walk`], at most `max_depth` levels below each root (`Some(1)`: a directory's own
/// files only).
pub fn walk_to(
    roots: &[PathBuf],
    exclude: Option<&Path>,
    max_depth: Option<usize>,
) -> CliResult<Walked> {
    if roots.is_empty() {
        return Err(Failure::new(
            ExitCode::NoFileSpecified,
            "--recursive needs at least one file or directory",
        ));
    }
    let exclude = exclude.and_then(|p| std::fs::canonicalize(p).ok());
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for root in roots {
        if !root.exists() {
            return Err(Failure::new(
                ExitCode::NoFileSpecified,
                format!(
                    "Error: cannot operate on non-existent file \"{}\"",
                    root.display()
                ),
            ));
        }
        let skip = exclude.clone();
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .require_git(false)
            .max_depth(max_depth)
            .filter_entry(move |e| {
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                if is_dir && e.file_name() == ".git" {
                    return false;
                }
                match (&skip, is_dir) {
                    (Some(x), true) => std::fs::canonicalize(e.path()).ok().as_ref() != Some(x),
                    _ => true,
                }
            })
            .build();
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                    let tool = e
                        .file_name()
                        .to_str()
                        .is_some_and(|n| TOOL_FILES.contains(&n));
                    if !tool || e.depth() == 0 {
                        found.push(Found {
                            root: root.clone(),
                            path: e.into_path(),
                        });
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    let name = root.display().to_string();
                    errors.push((
                        name,
                        Failure::new(
                            ExitCode::CouldNotReadInputFile,
                            format!("cannot walk: {err}"),
                        ),
                    ));
                }
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);
    Ok((found, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honours_gitignore_without_a_repository_and_skips_tool_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/skip")).unwrap();
        std::fs::create_dir_all(d.join(".git")).unwrap();
        std::fs::write(d.join(".gitignore"), "*.local.yaml\nskip/\n").unwrap();
        for f in [
            "a/x.yaml",
            "a/y.local.yaml",
            "a/skip/z.yaml",
            ".sops.yaml",
            ".env",
            ".git/config",
        ] {
            std::fs::write(d.join(f), "k: v\n").unwrap();
        }
        let (found, errors) = walk(&[d.to_path_buf()], None).unwrap();
        assert!(errors.is_empty());
        let rel: Vec<_> = found.iter().map(|f| f.relative()).collect();
        assert_eq!(rel, [PathBuf::from(".env"), PathBuf::from("a/x.yaml")]);
        let (found, _) = walk(&[d.to_path_buf()], Some(&d.join("a"))).unwrap();
        assert_eq!(found.len(), 1);
        let (found, _) = walk_to(&[d.join("a")], None, Some(1)).unwrap();
        let rel: Vec<_> = found.iter().map(|f| f.relative()).collect();
        assert_eq!(rel, [PathBuf::from("x.yaml")]);
    }
}
