//! `ksops install [--with-kustomize] DIR`: copies this binary to `DIR/ksops` (mode 0755),
//! as KSOPS does for distroless containers (Argo CD init containers have no shell or `cp`).
//! The copy answers to `ksops` by its name.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where `--with-kustomize` copies kustomize from (KSOPS's image layout).
const KUSTOMIZE: &str = "/usr/local/bin/kustomize";

/// Runs `install` with its arguments.
pub fn run(args: &[OsString]) -> ExitCode {
    let with_kustomize = args.iter().any(|a| a == "--with-kustomize");
    let Some(dest) = args.iter().find(|a| *a != "--with-kustomize") else {
        eprintln!("install requires a destination directory");
        eprintln!("usage: ksops install [--with-kustomize] <dest-dir>");
        return ExitCode::FAILURE;
    };
    let dest = PathBuf::from(dest);
    let me = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error resolving ksops executable path: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut copies = vec![(me, dest.join("ksops"))];
    if with_kustomize {
        copies.push((PathBuf::from(KUSTOMIZE), dest.join("kustomize")));
    }
    for (from, to) in copies {
        if let Err(e) = copy(&from, &to) {
            eprintln!("error installing {} to {}: {e}", name(&to), to.display());
            return ExitCode::FAILURE;
        }
        eprintln!("installed {}", to.display());
    }
    ExitCode::SUCCESS
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copies `from` to `to` (replaced if present, never onto itself), mode 0755.
fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
    if let (Ok(a), Ok(b)) = (from.canonicalize(), to.canonicalize()) {
        if a == b {
            return Err(std::io::Error::other("it is the running binary itself"));
        }
    }
    // A new inode: a running copy at `to` keeps working.
    let _ = std::fs::remove_file(to);
    std::fs::copy(from, to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))
}
