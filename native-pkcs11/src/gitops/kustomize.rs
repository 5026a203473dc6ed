//! `gitops kustomize-build`: kustomize with leafcrypt as the KSOPS generator, installed for
//! this run only: a private `XDG_CONFIG_HOME` holding the legacy exec plugin paths
//! (`kustomize/plugin/viaduct.ai/{v1,v2}/ksops/ksops`, and `ksops-exec`) and a private
//! directory first on `PATH` with `ksops` (for KRM exec functions), all links to this
//! binary. Spares the Argo CD sidecar an init step laying out plugin directories (KSOPS's
//! `unable to find plugin root` under Argo CD's XDG_CONFIG_HOME).

use super::args::KustomizeBuildArgs;
use super::params::{app_env, env, program};
use crate::failure::{CliResult, Failure};
use crate::private_dir::PrivateDir;
use leafcrypt_core::ExitCode;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn fail(message: String) -> Failure {
    Failure::new(ExitCode::ErrorGeneric, message)
}

/// The kustomization file of `dir`, if any.
fn kustomization(dir: &Path) -> Option<PathBuf> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The YAML files of `dir` declaring a `kind: ksops` generator (sorted).
fn ksops_generators(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .filter(|p| {
            std::fs::read_to_string(p).is_ok_and(|t| {
                t.lines().any(|l| {
                    l.strip_prefix("kind:")
                        .is_some_and(|k| matches!(k.trim(), "ksops" | "ksops-exec"))
                })
            })
        })
        .collect();
    found.sort();
    found
}

/// Lays out the plugin links to this binary under `dir`; returns (XDG_CONFIG_HOME, bin dir).
fn install(dir: &Path) -> CliResult<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe()
        .map_err(|e| fail(format!("cannot find the leafcrypt binary: {e}")))?;
    let xdg = dir.join("xdg");
    let bin = dir.join("bin");
    let mut links = vec![bin.join("ksops")];
    for version in ["v1", "v2"] {
        for kind in ["ksops", "ksops-exec"] {
            links.push(
                xdg.join("kustomize/plugin/viaduct.ai")
                    .join(version)
                    .join(kind)
                    .join(kind),
            );
        }
    }
    for link in links {
        let parent = link.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent)
            .and_then(|()| std::os::unix::fs::symlink(&exe, &link))
            .map_err(|e| fail(format!("cannot install the ksops plugin link: {e}")))?;
    }
    Ok((xdg, bin))
}

/// The age key file the ksops child would have found under the caller's own
/// XDG_CONFIG_HOME (which this command replaces), unless SOPS_AGE_KEY_FILE is set.
fn default_age_key_file() -> Option<PathBuf> {
    if env("SOPS_AGE_KEY_FILE").is_some() {
        return None;
    }
    let config = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(config.join("sops/age/keys.txt")).filter(|p| p.is_file())
}

/// `gitops kustomize-build`: returns kustomize's exit code.
pub fn build(a: &KustomizeBuildArgs) -> CliResult<i32> {
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if a.discover {
        if kustomization(&dir).is_some() {
            for g in ksops_generators(&dir) {
                println!("{}", g.display());
            }
        }
        return Ok(0);
    }
    if kustomization(&dir).is_none() {
        return Err(fail(format!(
            "{}: no kustomization.yaml here (the app path must be a kustomization)",
            dir.display()
        )));
    }
    let kustomize = program(
        a.kustomize.as_ref(),
        "KUSTOMIZE_BIN",
        "LEAFCRYPT_KUSTOMIZE",
        "kustomize",
    );
    // kubectl's embedded kustomize has no --enable-exec (it runs legacy exec plugins only).
    let is_kubectl = kustomize
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("kubectl"));
    let mut args: Vec<String> = if is_kubectl {
        vec!["kustomize".into(), "--enable-alpha-plugins".into()]
    } else {
        vec![
            "build".into(),
            "--enable-alpha-plugins".into(),
            "--enable-exec".into(),
        ]
    };
    if let Some(extra) = app_env("KUSTOMIZE_ARGS") {
        args.extend(extra.split_whitespace().map(str::to_string));
    }
    args.extend(a.kustomize_args.iter().cloned());
    args.push(dir.display().to_string());
    let private = PrivateDir::create()?;
    let (xdg, bin) = install(private.path())?;
    let path = match std::env::var_os("PATH") {
        Some(p) => {
            let mut all = vec![bin];
            all.extend(std::env::split_paths(&p));
            std::env::join_paths(all).map_err(|e| fail(format!("PATH: {e}")))?
        }
        None => bin.into_os_string(),
    };
    let mut cmd = Command::new(&kustomize);
    cmd.args(&args)
        .env("XDG_CONFIG_HOME", &xdg)
        .env("PATH", path)
        .stdin(Stdio::null());
    if let Some(keys) = default_age_key_file() {
        cmd.env("SOPS_AGE_KEY_FILE", keys);
    }
    let status = cmd
        .status()
        .map_err(|e| {
            fail(format!(
                "cannot run {}: {e} (install kustomize in the plugin's sidecar, or set ARGOCD_ENV_KUSTOMIZE_BIN)",
                kustomize.display()
            ))
        })?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(1)))
}
