//! The files under the given paths: a file as given, a directory's files, and with
//! `--recursive` its subdirectories' too (hidden directories such as `.git` and symlinked
//! directories are not entered, so a link cannot make the walk loop).

use std::path::{Path, PathBuf};

/// The files under `paths`, sorted and without duplicates, and the paths that could not be
/// read (with why).
pub fn files(paths: &[PathBuf], recursive: bool) -> (Vec<PathBuf>, Vec<String>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => visit(path, recursive, &mut found, &mut errors),
            Ok(_) => found.push(path.clone()),
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    found.sort();
    found.dedup();
    (found, errors)
}

fn visit(dir: &Path, recursive: bool, found: &mut Vec<PathBuf>, errors: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if recursive && !hidden {
                visit(&path, recursive, found, errors);
            }
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            found.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_directories_recursively_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "a.yaml",
            "sub/b.json",
            "sub/deeper/c.env",
            ".git/d.yaml",
            ".e.yaml",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        let names = |found: Vec<PathBuf>| -> Vec<String> {
            found
                .iter()
                .map(|p| p.strip_prefix(root).unwrap().display().to_string())
                .collect()
        };
        let (flat, errors) = files(&[root.to_path_buf()], false);
        assert!(errors.is_empty());
        assert_eq!(names(flat), [".e.yaml", "a.yaml"]);
        let (deep, _) = files(&[root.to_path_buf(), root.join("a.yaml")], true);
        assert_eq!(
            names(deep),
            [".e.yaml", "a.yaml", "sub/b.json", "sub/deeper/c.env"]
        );
        let (_, errors) = files(&[root.join("missing")], true);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("missing"), "{errors:?}");
    }
}
