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
