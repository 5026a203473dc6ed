//! Command-line arguments of `k8s` (clap derive), kept apart from `cli.rs`.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `k8s` subcommands.
#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Write an encrypted Kubernetes Secret manifest (stdout or --output): the Secret
    /// `kubectl create secret … --dry-run=client -o yaml` would print, with `data`
    /// encrypted and the rest readable. Keys from the flags, else the .sops.yaml rule.
    Secret(Box<SecretArgs>),
    /// Print a `.sops.yaml` with a creation rule for Kubernetes manifests
    /// (`encrypted_regex: ^(data|stringData)$`, `mac_only_encrypted: true`) for the keys
    /// given with --age/--pgp/--azure-kv/--pkcs11/….
    Config(ConfigArgs),
}

/// Arguments of `k8s secret`.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// The Secret's name.
    pub name: String,
    /// A key and literal value, `KEY=VALUE` (repeatable).
    #[arg(long = "from-literal", value_name = "KEY=VALUE")]
    pub literals: Vec<String>,
    /// A file whose content becomes a key, `[KEY=]PATH` (key: the file name; repeatable).
    #[arg(long = "from-file", value_name = "[KEY=]PATH")]
    pub files: Vec<String>,
    /// A file of `KEY=VALUE` lines, one key each (repeatable).
    #[arg(long = "from-env-file", value_name = "PATH")]
    pub env_files: Vec<PathBuf>,
    /// The Secret's type (kubectl's `--type`); none by default.
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// The Secret's namespace.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// A TLS Secret (`kubernetes.io/tls`): the PEM certificate (kubectl's `create secret tls --cert`).
    #[arg(long = "cert", value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// A TLS Secret: the PEM private key (kubectl's `create secret tls --key`).
    #[arg(long = "key", value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A registry Secret (`kubernetes.io/dockerconfigjson`): the registry.
    #[arg(long, value_name = "SERVER")]
    pub docker_server: Option<String>,
    /// A registry Secret: the user name.
    #[arg(long, value_name = "USER", requires = "docker_password")]
    pub docker_username: Option<String>,
    /// A registry Secret: the password.
    #[arg(long, value_name = "PASSWORD", requires = "docker_username")]
    pub docker_password: Option<String>,
    /// A registry Secret: the e-mail address.
    #[arg(long, value_name = "EMAIL")]
    pub docker_email: Option<String>,
}

/// Arguments of `k8s config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The rule's `path_regex` (which files it applies to).
    #[arg(long, value_name = "REGEX", default_value = r"\.ya?ml$")]
    pub path_regex: String,
}
