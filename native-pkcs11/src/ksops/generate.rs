//! Running one generator: every file it names decrypted through the core's open path
//! (format by extension, MAC checked), up to `KSOPS_CONCURRENCY_LIMIT` at a time, then
//! KSOPS's output: the decrypted manifests as they are, then one `v1` Secret per
//! `secretFrom` entry. Any failure fails the whole generator (no partial output), unless
//! the generator says `fail-silently: true`, which leaves out what did not decrypt.

use super::config::{Generator, SecretFrom};
use super::{dotenv, Settings};
use crate::cli::Opts;
use crate::commands::open_async;
use crate::failure::Failure;
use crate::io::Input;
use base64::Engine as _;
use futures_util::stream::{self, StreamExt};
use leafcrypt_core::file::Layout;
use leafcrypt_core::keysource::Keyring;
use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::{Entry, Map, Tree, Value};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// What one generator produced, in KSOPS's order.
pub struct Generated {
    /// The decrypted manifests, then the Secrets.
    pub parts: Vec<Part>,
}

/// One generated piece.
pub enum Part {
    /// A decrypted `files` entry.
    Manifest {
        /// The path as the configuration gives it.
        file: String,
        /// Its plaintext as `leafcrypt decrypt` prints it.
        plain: Zeroizing<Vec<u8>>,
        /// Its documents, for YAML and JSON files.
        tree: Option<Tree>,
    },
    /// A Secret built from a `secretFrom` entry.
    Secret(Map),
}

/// A generator that failed; the message names the file and the field that lists it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GenError(pub String);

/// Where a file is listed in the configuration.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Files,
    SecretFiles,
    BinaryFiles,
    Envs,
}

impl Section {
    fn field(self) -> &'static str {
        match self {
            Section::Files => "files",
            Section::SecretFiles => "secretFrom.files",
            Section::BinaryFiles => "secretFrom.binaryFiles",
            Section::Envs => "secretFrom.envs",
        }
    }
}

/// One file to decrypt.
struct Job {
    /// `None` for `files`, else the `secretFrom` index.
    secret: Option<usize>,
    section: Section,
    key: String,
    path: String,
}

/// A decrypted file.
struct Plain {
    bytes: Zeroizing<Vec<u8>>,
    tree: Option<Tree>,
}

/// The value a dummy Secret carries under `stringData` (KSOPS_GENERATE_DUMMY_SECRETS).
const DUMMY: &str = "SECRET";

/// Runs `generator` with `keyring` (the files' keys) and `opts` (decryption flags).
pub fn run(
    generator: &Generator,
    settings: &Settings,
    keyring: &Keyring,
    opts: &Opts,
) -> Result<Generated, GenError> {
    let jobs = jobs(generator)?;
    let results: Vec<Result<Plain, String>> = crate::runtime::block_on(
        stream::iter(&jobs)
            .map(|job| async move {
                if settings.dummy {
                    dummy(job)
                } else {
                    decrypt(&job.path, keyring, opts).await
                }
            })
            .buffered(settings.limit)
            .collect(),
    );
    let mut failed_secrets = vec![false; generator.secret_from.as_ref().map_or(0, Vec::len)];
    let mut parts = Vec::new();
    let mut by_secret: Vec<Vec<(&Job, Plain)>> =
        failed_secrets.iter().map(|_| Vec::new()).collect();
    for (job, result) in jobs.iter().zip(results) {
        let plain = match result {
            Ok(p) => p,
            Err(reason) => {
                let what = format!(
                    "error decrypting file \"{}\" from {}: {reason}",
                    job.path,
                    job.section.field()
                );
                if !generator.fail_silently {
                    return Err(GenError(what));
                }
                eprintln!("[leafcrypt] ksops: fail-silently: left out: {what}");
                if let Some(i) = job.secret {
                    failed_secrets[i] = true;
                }
                continue;
            }
        };
        match job.secret {
            None => parts.push(Part::Manifest {
                file: job.path.clone(),
                plain: plain.bytes,
                tree: plain.tree,
            }),
            Some(i) => by_secret[i].push((job, plain)),
        }
    }
    for (i, sf) in generator.secret_from.iter().flatten().enumerate() {
        if failed_secrets[i] {
            eprintln!(
                "[leafcrypt] ksops: fail-silently: Secret {:?} (secretFrom[{i}]) left out",
                sf.metadata.name
            );
            continue;
        }
        parts.push(Part::Secret(secret(sf, &by_secret[i])?));
    }
    Ok(Generated { parts })
}

/// Every file the generator names, in KSOPS's order.
fn jobs(generator: &Generator) -> Result<Vec<Job>, GenError> {
    let mut jobs: Vec<Job> = generator
        .files
        .iter()
        .flatten()
        .map(|path| Job {
            secret: None,
            section: Section::Files,
            key: String::new(),
            path: path.clone(),
        })
        .collect();
    for (i, sf) in generator.secret_from.iter().flatten().enumerate() {
        for (section, list) in [
            (Section::SecretFiles, &sf.files),
            (Section::BinaryFiles, &sf.binary_files),
        ] {
            for entry in list {
                let (key, path) = key_path(entry)?;
                jobs.push(Job {
                    secret: Some(i),
                    section,
                    key,
                    path,
                });
            }
        }
        for path in &sf.envs {
            jobs.push(Job {
                secret: Some(i),
                section: Section::Envs,
                key: path.clone(),
                path: path.clone(),
            });
        }
    }
    Ok(jobs)
}

/// `key=path` or `path` (key: the file name); more than one `=` is an error, as in KSOPS.
fn key_path(entry: &str) -> Result<(String, String), GenError> {
    let parts: Vec<&str> = entry.split('=').collect();
    match parts.as_slice() {
        [path] => Ok((go_base(path), path.to_string())),
        [key, path] => Ok((key.to_string(), path.to_string())),
        _ => Err(GenError(format!(
            "invalid format in file generator {entry:?}: use KEY=PATH or PATH (one '=')"
        ))),
    }
}

/// Go's `filepath.Base`: the last element, trailing slashes dropped.
fn go_base(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Decrypts `path` as `leafcrypt decrypt` does (format by extension, MAC checked).
async fn decrypt(path: &str, keyring: &Keyring, opts: &Opts) -> Result<Plain, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("error reading {path:?}: {e}"))?;
    let format = Format::from_path(path);
    let input = Input {
        path: Some(path.into()),
        name: path.to_string(),
        bytes,
    };
    let opened = open_async(&input, opts, format, keyring, false)
        .await
        .map_err(reason)?;
    let tree = matches!(format, Format::Yaml | Format::Json).then(|| opened.tree.clone());
    let plain = opened
        .into_plaintext(&Layout::new(format), None)
        .map_err(|e| reason(Failure::core(path, e)))?;
    Ok(Plain {
        bytes: Zeroizing::new(plain),
        tree,
    })
}

/// A failure's message on one line-group, indented under the generator's line.
fn reason(f: Failure) -> String {
    f.message.trim_end().replace('\n', "\n  ")
}

/// KSOPS_GENERATE_DUMMY_SECRETS: placeholders instead of decrypted values (the files are
/// read but not decrypted, for CI without keys).
fn dummy(job: &Job) -> Result<Plain, String> {
    let bytes =
        std::fs::read(&job.path).map_err(|e| format!("error reading {:?}: {e}", job.path))?;
    let format = Format::from_path(&job.path);
    let parsed = || {
        format
            .store(None)
            .parse(&bytes)
            .map_err(|e| reason(Failure::core(&job.path, e)))
    };
    let plain = match job.section {
        Section::SecretFiles | Section::BinaryFiles => DUMMY.as_bytes().to_vec(),
        Section::Envs => {
            let doc = parsed()?;
            let mut text = String::new();
            for (k, _) in doc.tree.branches.iter().flat_map(Map::pairs) {
                text.push_str(&format!("{k}={DUMMY}\n"));
            }
            text.into_bytes()
        }
        Section::Files => {
            if !matches!(format, Format::Yaml | Format::Json) {
                return Err("dummy secrets need a YAML or JSON manifest".into());
            }
            let mut tree = parsed()?.tree;
            for doc in &mut tree.branches {
                dummy_values(doc);
            }
            let plain = Format::Yaml
                .store(None)
                .emit(&tree, None)
                .map_err(|e| reason(Failure::core(&job.path, e)))?;
            return Ok(Plain {
                bytes: Zeroizing::new(plain),
                tree: Some(tree),
            });
        }
    };
    Ok(Plain {
        bytes: Zeroizing::new(plain),
        tree: None,
    })
}

/// The argyle fork's dummy Secret: every `stringData` value `SECRET`, every `data` value
/// its base64.
fn dummy_values(doc: &mut Map) {
    for (field, placeholder) in [
        ("stringData", DUMMY.to_string()),
        ("data", b64(DUMMY.as_bytes())),
    ] {
        if let Some(Value::Map(m)) = doc.get_mut(field) {
            for entry in &mut m.entries {
                if let Entry::Pair(_, v) = entry {
                    *v = Value::Str(placeholder.clone());
                }
            }
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The Secret of one `secretFrom` entry, keys sorted as KSOPS's encoder sorts them.
fn secret(sf: &SecretFrom, files: &[(&Job, Plain)]) -> Result<Map, GenError> {
    let mut string_data: BTreeMap<String, String> = BTreeMap::new();
    let mut data: BTreeMap<String, String> = BTreeMap::new();
    let text = |job: &Job, plain: &Plain| {
        String::from_utf8(plain.bytes.to_vec()).map_err(|_| {
            GenError(format!(
                "the decrypted content of \"{}\" ({}) is not UTF-8 text; list it under binaryFiles",
                job.path,
                job.section.field()
            ))
        })
    };
    for (job, plain) in files {
        match job.section {
            Section::SecretFiles => {
                string_data.insert(job.key.clone(), text(job, plain)?);
            }
            Section::BinaryFiles => {
                data.insert(job.key.clone(), b64(&plain.bytes));
            }
            _ => {}
        }
    }
    for (job, plain) in files.iter().filter(|(j, _)| j.section == Section::Envs) {
        let env = dotenv::parse(&Zeroizing::new(text(job, plain)?)).map_err(|e| {
            GenError(format!(
                "error unmarshalling .env file \"{}\": {e}",
                job.path
            ))
        })?;
        string_data.extend(env);
    }
    let mut meta = Map::new();
    let m = &sf.metadata;
    if !m.annotations.is_empty() {
        meta.push("annotations", string_map(&m.annotations));
    }
    if !m.labels.is_empty() {
        meta.push("labels", string_map(&m.labels));
    }
    if !m.name.is_empty() {
        meta.push("name", Value::Str(m.name.clone()));
    }
    if !m.namespace.is_empty() {
        meta.push("namespace", Value::Str(m.namespace.clone()));
    }
    let mut secret = Map::new();
    secret.push("apiVersion", Value::Str("v1".into()));
    if !data.is_empty() {
        secret.push("data", string_map(&data));
    }
    secret.push("kind", Value::Str("Secret".into()));
    secret.push("metadata", Value::Map(meta));
    if !string_data.is_empty() {
        secret.push("stringData", string_map(&string_data));
    }
    if !sf.kind.is_empty() {
        secret.push("type", Value::Str(sf.kind.clone()));
    }
    Ok(secret)
}

fn string_map(map: &BTreeMap<String, String>) -> Value {
    let mut m = Map::new();
    for (k, v) in map {
        m.push(k.clone(), Value::Str(v.clone()));
    }
    Value::Map(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_follows_ksops() {
        assert_eq!(
            key_path("./dir/secret.enc.conf").unwrap(),
            ("secret.enc.conf".into(), "./dir/secret.enc.conf".into())
        );
        assert_eq!(
            key_path("secret.yaml=./secret.enc.yaml").unwrap(),
            ("secret.yaml".into(), "./secret.enc.yaml".into())
        );
        let err = key_path("a=b=c").unwrap_err().0;
        assert!(
            err.contains("invalid format in file generator \"a=b=c\""),
            "{err}"
        );
        assert_eq!(go_base("dir/"), "dir");
    }
}
