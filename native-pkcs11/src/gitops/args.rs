//! Command-line arguments of `gitops` (clap derive), kept apart from `cli.rs`.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `gitops` subcommands: the commands an Argo CD Config Management Plugin runs.
#[derive(Debug, Subcommand)]
pub enum GitopsCommand {
    /// `helm template` with leafcrypt-encrypted values files decrypted through FIFOs (never
    /// written to disk). Defaults from Argo CD's environment: release ARGOCD_APP_NAME,
    /// namespace ARGOCD_APP_NAMESPACE, values files from the `values-files` parameter or
    /// ARGOCD_ENV_HELM_VALUES, else every encrypted *.yaml next to Chart.yaml.
    HelmTemplate(HelmTemplateArgs),
    /// `kustomize build --enable-alpha-plugins --enable-exec` with leafcrypt installed as the
    /// KSOPS plugin for this run (legacy exec plugin and `ksops` on PATH).
    KustomizeBuild(KustomizeBuildArgs),
}

/// Arguments of `gitops helm-template`.
#[derive(Debug, Args)]
pub struct HelmTemplateArgs {
    /// The chart directory (default: the working directory, Argo CD's app path).
    pub chart: Option<PathBuf>,
    /// A values file, encrypted or not; `secrets://PATH` (helm-secrets' form) is accepted
    /// (repeatable, in helm's order).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<String>,
    /// The release name (default: ARGOCD_ENV_RELEASE_NAME, ARGOCD_APP_NAME, else `release`).
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// The namespace (default: ARGOCD_APP_NAMESPACE).
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The helm binary (default: ARGOCD_ENV_HELM_BIN, LEAFCRYPT_HELM, else `helm` on PATH).
    #[arg(long, value_name = "PATH")]
    pub helm: Option<PathBuf>,
    /// Only list the encrypted values files that would be decrypted (nothing printed when
    /// there are none): a plugin's `discover` command.
    #[arg(long)]
    pub discover: bool,
    /// More `helm template` arguments (after `--`).
    #[arg(last = true, value_name = "HELM_ARGS")]
    pub helm_args: Vec<String>,
}

/// Arguments of `gitops kustomize-build`.
#[derive(Debug, Args)]
pub struct KustomizeBuildArgs {
    /// The kustomization directory (default: the working directory, Argo CD's app path).
    pub dir: Option<PathBuf>,
    /// The kustomize binary (default: ARGOCD_ENV_KUSTOMIZE_BIN, LEAFCRYPT_KUSTOMIZE, else
    /// `kustomize`); a `kubectl*` binary runs as `kubectl kustomize` (legacy plugins only).
    #[arg(long, value_name = "PATH")]
    pub kustomize: Option<PathBuf>,
    /// Only list the files declaring a `kind: ksops` generator (nothing printed when there
    /// are none, or no kustomization): a plugin's `discover` command.
    #[arg(long)]
    pub discover: bool,
    /// More kustomize arguments (after `--`).
    #[arg(last = true, value_name = "KUSTOMIZE_ARGS")]
    pub kustomize_args: Vec<String>,
}
