//! `gitops helm-template`: `helm template` over a chart whose values files are encrypted.
//! Every encrypted values file is decrypted (MAC checked) before helm starts, so a tampered
//! file fails the render with nothing printed; helm reads the plaintexts from FIFOs.

use super::args::HelmTemplateArgs;
use super::params::{app_env, env, program, Params};
use crate::cli::Opts;
use crate::commands::{keyring, open_to_read, store};
use crate::failure::{CliResult, Failure};
use crate::fifo::Feeds;
use crate::io::read_input;
use leafcrypt_core::stores::Format;
use leafcrypt_core::ExitCode;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

/// helm-secrets' prefix for an encrypted values file.
const SECRETS_SCHEME: &str = "secrets://";

/// A values file for helm: passed as it is, or decrypted first.
struct Values {
    path: PathBuf,
    encrypted: bool,
}

fn fail(message: String) -> Failure {
    Failure::new(ExitCode::ErrorGeneric, message)
}

/// Whether `bytes` (a YAML or JSON values file) carries sops metadata: a top-level `sops`
/// key (YAML: a `sops:` line at column 0, as helm-secrets detects it).
fn is_encrypted(bytes: &[u8], format: Format) -> bool {
    let text = String::from_utf8_lossy(bytes);
    match format {
        Format::Json => {
            serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("sops").is_some())
        }
        _ => text
            .lines()
            .any(|l| l.strip_prefix("sops:").is_some_and(|r| r.trim().is_empty())),
    }
}

/// The repository root under Argo CD (the working directory minus ARGOCD_APP_SOURCE_PATH's
/// components), inside which every values file must lie.
fn repo_root(cwd: &Path) -> Option<PathBuf> {
    let source = env("ARGOCD_APP_SOURCE_PATH")?;
    let depth = Path::new(&source)
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .count();
    cwd.ancestors().nth(depth).map(Path::to_path_buf)
}

/// Resolves a values file named by the user or the application.
fn resolve(spec: &str, root: Option<&Path>) -> CliResult<Values> {
    let (name, forced) = match spec.strip_prefix(SECRETS_SCHEME) {
        Some(rest) => (rest, true),
        None => (spec, false),
    };
    let path = PathBuf::from(name);
    let real = path.canonicalize().map_err(|e| {
        fail(format!(
            "values file {name}: {e} (paths are relative to the app directory)"
        ))
    })?;
    if let Some(root) = root {
        if !real.starts_with(root) {
            return Err(fail(format!(
                "values file {name} lies outside the repository ({}): refused",
                root.display()
            )));
        }
    }
    let bytes = std::fs::read(&path).map_err(|e| fail(format!("values file {name}: {e}")))?;
    let encrypted = is_encrypted(&bytes, Format::from_path(name));
    if forced && !encrypted {
        crate::log::detail(|| format!("{name}: secrets:// but not encrypted, passed as is"));
    }
    Ok(Values { path, encrypted })
}

/// The encrypted `*.yaml`/`*.yml`/`*.json` files in the chart directory (not Chart.yaml),
/// sorted by name: the values files used when none are named.
fn discover(chart: &Path) -> CliResult<Vec<String>> {
    let entries = std::fs::read_dir(chart)
        .map_err(|e| fail(format!("chart directory {}: {e}", chart.display())))?;
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name != "Chart.yaml"
                && (name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
        })
        .filter(|p| {
            std::fs::read(p)
                .is_ok_and(|b| is_encrypted(&b, Format::from_path(&p.to_string_lossy())))
        })
        .map(|p| p.display().to_string())
        .collect();
    found.sort();
    Ok(found)
}

/// The values files in helm's order: the flags, else the `values-files` parameter, else
/// ARGOCD_ENV_HELM_VALUES (comma-separated), else the encrypted files of the chart.
fn value_specs(a: &HelmTemplateArgs, params: &Params, chart: &Path) -> CliResult<Vec<String>> {
    if !a.values.is_empty() {
        return Ok(a.values.clone());
    }
    if let Some(list) = params.array("values-files") {
        return Ok(list);
    }
    if let Some(list) = app_env("HELM_VALUES") {
        return Ok(list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect());
    }
    discover(chart)
}

/// Decrypts an encrypted values file to YAML (MAC checked).
fn decrypt(path: &Path, opts: &Opts) -> CliResult<Zeroizing<Vec<u8>>> {
    let input = read_input(Some(path), None)?;
    let format = Format::from_path(&input.name);
    let keyring = keyring(opts)?;
    let tree = open_to_read(&input, opts, format, &keyring)?.tree;
    store(Format::Yaml, opts, None)
        .emit(&tree, None)
        .map(Zeroizing::new)
        .map_err(|e| Failure::core(&input.name, e))
}

/// helm's arguments after `template`.
fn helm_args(
    a: &HelmTemplateArgs,
    params: &Params,
    chart: &Path,
    values: &[PathBuf],
) -> Vec<String> {
    let release = a
        .release
        .clone()
        .or_else(|| params.string("release-name"))
        .or_else(|| app_env("RELEASE_NAME"))
        .or_else(|| env("ARGOCD_APP_NAME"))
        .unwrap_or_else(|| "release".into());
    let mut args = vec!["template".to_string(), release, chart.display().to_string()];
    if let Some(ns) = a.namespace.clone().or_else(|| env("ARGOCD_APP_NAMESPACE")) {
        args.extend(["--namespace".into(), ns]);
    }
    for v in values {
        args.extend(["--values".into(), v.display().to_string()]);
    }
    for (k, v) in params.map("helm-parameters") {
        args.extend(["--set".into(), format!("{k}={v}")]);
    }
    if let Some(kv) = env("KUBE_VERSION") {
        args.extend(["--kube-version".into(), kv]);
    }
    for api in env("KUBE_API_VERSIONS").iter().flat_map(|s| s.split(',')) {
        if !api.is_empty() {
            args.extend(["--api-versions".into(), api.to_string()]);
        }
    }
    if let Some(extra) = app_env("HELM_ARGS") {
        args.extend(extra.split_whitespace().map(str::to_string));
    }
    args.extend(a.helm_args.iter().cloned());
    args
}

/// `gitops helm-template`: decrypts, then runs helm; returns helm's exit code.
pub fn template(a: &HelmTemplateArgs, opts: &Opts) -> CliResult<i32> {
    let params = Params::from_env()?;
    let chart = a.chart.clone().unwrap_or_else(|| PathBuf::from("."));
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .map_err(|e| fail(format!("working directory: {e}")))?;
    let root = repo_root(&cwd);
    let values = value_specs(a, &params, &chart)?
        .iter()
        .map(|s| resolve(s, root.as_deref()))
        .collect::<CliResult<Vec<_>>>()?;
    if a.discover {
        if !chart.join("Chart.yaml").is_file() {
            return Ok(0);
        }
        for v in values.iter().filter(|v| v.encrypted) {
            println!("{}", v.path.display());
        }
        return Ok(0);
    }
    let mut plain = Vec::new();
    for (i, v) in values.iter().enumerate().filter(|(_, v)| v.encrypted) {
        plain.push((format!("values-{i}.yaml"), decrypt(&v.path, opts)?));
    }
    let (feeds, fifos) = Feeds::start(plain)?;
    let mut fifos = fifos.into_iter();
    let paths: Vec<PathBuf> = values
        .iter()
        .map(|v| match v.encrypted {
            true => fifos.next().unwrap_or_default(),
            false => v.path.clone(),
        })
        .collect();
    let helm = program(a.helm.as_ref(), "HELM_BIN", "LEAFCRYPT_HELM", "helm");
    let child = Command::new(&helm)
        .args(helm_args(a, &params, &chart, &paths))
        .stdin(Stdio::null())
        .spawn();
    let status = match child {
        Ok(mut c) => c.wait(),
        Err(e) => {
            feeds.finish();
            return Err(fail(format!(
                "cannot run {}: {e} (install helm in the plugin's sidecar, or set ARGOCD_ENV_HELM_BIN)",
                helm.display()
            )));
        }
    };
    feeds.finish();
    let status = status.map_err(|e| fail(format!("waiting for helm: {e}")))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_files_are_told_by_their_top_level_sops_key() {
        assert!(is_encrypted(b"a: ENC[x]\nsops:\n  mac: x\n", Format::Yaml));
        assert!(!is_encrypted(b"a:\n  sops:\n", Format::Yaml));
        assert!(!is_encrypted(b"sops: 1\n", Format::Yaml));
        assert!(is_encrypted(br#"{"a":1,"sops":{}}"#, Format::Json));
        assert!(!is_encrypted(br#"{"a":{"sops":{}}}"#, Format::Json));
    }
}
