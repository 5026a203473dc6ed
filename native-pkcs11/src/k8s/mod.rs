//! `k8s`: encrypted Kubernetes Secret manifests (`k8s secret`) and the `.sops.yaml` preset
//! for Kubernetes manifests (`k8s config`).

pub mod args;
mod manifest;
mod preset;

use crate::cli::Opts;
use crate::commands::{encrypt::encrypt_options, keyring, layout};
use crate::failure::{CliResult, Failure};
use crate::io::Destination;
use args::{K8sCommand, SecretArgs};
use leafcrypt_core::file;
use leafcrypt_core::metadata::Selector;
use leafcrypt_core::stores::Format;
use leafcrypt_core::ExitCode;
use manifest::Secret;
use std::path::Path;
use zeroize::Zeroizing;

pub use preset::ENCRYPTED_REGEX;

/// Runs a `k8s` subcommand.
pub fn run(command: &K8sCommand, opts: &Opts) -> CliResult<()> {
    match command {
        K8sCommand::Secret(a) => secret(a, opts),
        K8sCommand::Config(a) => preset::print(a, opts),
    }
}

/// An error of the Secret's sources (kubectl's wording), exit 1.
fn bad(message: impl Into<String>) -> Failure {
    Failure::new(ExitCode::ErrorGeneric, message.into())
}

/// Reads a source file the user named (never a plaintext we write).
fn read(path: &Path) -> CliResult<Zeroizing<Vec<u8>>> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| bad(format!("error reading {}: {e}", path.display())))
}

/// The Secret the flags describe, as kubectl would build it.
fn build(a: &SecretArgs) -> CliResult<Secret> {
    // kubectl prints no type for `--type ""`.
    let kind = a.kind.clone().filter(|t| !t.is_empty());
    let mut s = Secret::new(a.name.clone(), a.namespace.clone(), kind);
    let tls = a.tls_cert.is_some();
    let docker = a.docker_username.is_some();
    if tls && docker {
        return Err(bad(
            "--cert/--key (a TLS Secret) and --docker-* (a registry Secret) cannot be combined",
        ));
    }
    if (tls || docker) && s.kind.is_some() {
        return Err(bad(
            "--type is set by --cert/--key (kubernetes.io/tls) and --docker-* (kubernetes.io/dockerconfigjson)",
        ));
    }
    if let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key) {
        s.kind = Some("kubernetes.io/tls".into());
        s.add("tls.crt", read(cert)?).map_err(bad)?;
        s.add("tls.key", read(key)?).map_err(bad)?;
    }
    if let (Some(user), Some(password)) = (&a.docker_username, &a.docker_password) {
        s.kind = Some("kubernetes.io/dockerconfigjson".into());
        let server = a
            .docker_server
            .as_deref()
            .unwrap_or("https://index.docker.io/v1/");
        let json = manifest::docker_config_json(server, user, password, a.docker_email.as_deref());
        s.add(".dockerconfigjson", json).map_err(bad)?;
    } else if a.docker_server.is_some() || a.docker_email.is_some() {
        return Err(bad(
            "--docker-server/--docker-email need --docker-username and --docker-password",
        ));
    }
    let other_sources = !a.files.is_empty() || !a.literals.is_empty();
    if !a.env_files.is_empty() && other_sources {
        return Err(bad(
            "--from-env-file cannot be combined with --from-file or --from-literal (as in kubectl)",
        ));
    }
    for spec in &a.files {
        add_file(&mut s, spec)?;
    }
    for lit in &a.literals {
        let Some((k, v)) = lit.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(bad(format!(
                "invalid literal source {lit:?}, expected key=value"
            )));
        };
        s.add(k, Zeroizing::new(v.as_bytes().to_vec()))
            .map_err(bad)?;
    }
    for f in &a.env_files {
        s.add_env_file(&f.display().to_string(), &read(f)?)
            .map_err(bad)?;
    }
    Ok(s)
}

/// `--from-file [KEY=]PATH`: one key, or one per regular file of a directory.
fn add_file(s: &mut Secret, spec: &str) -> CliResult<()> {
    let (key, path) = match spec.split_once('=') {
        Some((k, p)) if k.is_empty() || p.is_empty() => {
            return Err(bad(format!(
                "key names or file paths cannot be empty: {spec:?}"
            )))
        }
        Some((k, p)) => (Some(k), Path::new(p)),
        None => (None, Path::new(spec)),
    };
    if path.is_dir() {
        if key.is_some() {
            return Err(bad(format!(
                "cannot give a key name for a directory path: {spec:?}"
            )));
        }
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| bad(format!("error listing {}: {e}", path.display())))?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            s.add(&name, read(&p)?).map_err(bad)?;
        }
        return Ok(());
    }
    let name = match key {
        Some(k) => k.to_string(),
        None => path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
    };
    s.add(&name, read(path)?).map_err(bad)
}

/// `k8s secret`: builds the Secret in memory and writes it encrypted.
fn secret(a: &SecretArgs, opts: &Opts) -> CliResult<()> {
    if opts.in_place {
        return Err(Failure::new(
            ExitCode::ErrorConflictingParameters,
            "k8s secret writes a new manifest: use --output FILE, not --in-place",
        ));
    }
    let plain = build(a)?.to_yaml();
    // `.sops.yaml` rules match the output file's name (else NAME.yaml in this directory).
    let name = opts
        .filename_override
        .clone()
        .or_else(|| opts.output.clone())
        .unwrap_or_else(|| format!("{}.yaml", a.name).into())
        .display()
        .to_string();
    let config = crate::discovery::load(opts.config.as_deref())?;
    let mut new = encrypt_options(&name, Format::Yaml, opts, config.as_ref())?;
    if new.selector.is_none() {
        // Neither a flag nor the rule chose: the Kubernetes preset.
        new.selector = Some(Selector::EncryptedRegex(ENCRYPTED_REGEX.into()));
        new.mac_only_encrypted = true;
    }
    let tree =
        file::parse_plain(plain.as_bytes(), Format::Yaml).map_err(|e| Failure::core(&name, e))?;
    drop(plain);
    let keyring = keyring(opts)?;
    let layout = layout((Format::Yaml, Format::Yaml), opts, config.as_ref());
    let out = crate::runtime::block_on(new.encrypt_tree(tree, &layout, &keyring))
        .map_err(|e| Failure::core(&name, e))?;
    match &opts.output {
        Some(path) => Destination::File {
            path: path.clone(),
            private: false,
        },
        None => Destination::Stdout,
    }
    .write(&out)
}
