//! Opening an encrypted input with the core's file API, its errors worded as sops words
//! them for encrypted files, and sops's log lines between the steps.

use super::layout::decryption_order;
use crate::cli::Opts;
use crate::failure::{CliResult, Failure};
use crate::io::Input;
use leafcrypt_core::file::{EncryptedFile, OpenFile};
use leafcrypt_core::keysource::Keyring;
use leafcrypt_core::metadata::Metadata;
use leafcrypt_core::ops::DecryptOptions;
use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::Tree;
use leafcrypt_core::Error;
use leafcrypt_core::ExitCode;

/// Parses an encrypted input without decrypting it.
fn parse(input: &Input, in_fmt: Format) -> CliResult<EncryptedFile> {
    EncryptedFile::parse(&input.bytes, in_fmt).map_err(|e| match e {
        Error::Metadata(m) => bad_sops_entry(input, in_fmt, m),
        e => encrypted_parse_failure(&input.name, e),
    })
}

/// Parses an encrypted input without decrypting it: its tree (values still `ENC[…]`) and
/// its metadata.
pub(crate) fn load_encrypted(input: &Input, in_fmt: Format) -> CliResult<(Tree, Metadata)> {
    parse(input, in_fmt).map(|f| (f.tree, f.metadata))
}

/// Parses an encrypted input and decrypts it (MAC checked unless `--ignore-mac`), keeping
/// each value's IV so that a re-encryption leaves unchanged values byte-identical.
pub(crate) fn open(
    input: &Input,
    opts: &Opts,
    in_fmt: Format,
    keyring: &Keyring,
) -> CliResult<OpenFile> {
    crate::runtime::block_on(open_async(input, opts, in_fmt, keyring, true))
}

/// Like [`open`], for callers that only read the plaintext (no IV stash kept).
pub(crate) fn open_to_read(
    input: &Input,
    opts: &Opts,
    in_fmt: Format,
    keyring: &Keyring,
) -> CliResult<OpenFile> {
    crate::runtime::block_on(open_async(input, opts, in_fmt, keyring, false))
}

/// [`open`]/[`open_to_read`] as a future, for callers that decrypt several files at once
/// (their key-source requests then overlap).
pub(crate) async fn open_async(
    input: &Input,
    opts: &Opts,
    in_fmt: Format,
    keyring: &Keyring,
    keep_ivs: bool,
) -> CliResult<OpenFile> {
    let file = parse(input, in_fmt)?;
    // sops's first line for a `version` that is not semver is the parser's message alone.
    file.check_version().map_err(|e| match e {
        Error::Metadata(m) => Failure::new(
            ExitCode::ErrorGeneric,
            format!("{m}\n  in file: {}", input.name),
        ),
        e => Failure::core(&input.name, e),
    })?;
    let options = DecryptOptions {
        ignore_mac: opts.ignore_mac,
        strict: opts.strict,
        skip_iv_stash: !keep_ivs,
        decryption_order: decryption_order(opts)?,
    };
    let agent = crate::agent::client::from_env();
    let id = file.key_entries_digest();
    let mut from_agent = false;
    let result = match agent.as_ref().and_then(|a| a.get(&id)) {
        // A cached key is checked like any other: values and MAC, before any plaintext.
        Some(key) => match file.open_with_key(key, options.clone()) {
            Ok(opened) => {
                crate::log::detail(|| "data key from the agent".to_string());
                from_agent = true;
                Ok(opened)
            }
            Err(_) => {
                crate::log::detail(|| "the agent's data key did not verify: dropped".to_string());
                agent.as_ref().inspect(|a| a.forget(&id));
                file.open(keyring, options.clone()).await
            }
        },
        None => file.open(keyring, options.clone()).await,
    };
    // Only keys the key sources gave and the MAC verified are handed to the agent.
    if let (Some(agent), Ok(opened), false) = (&agent, &result, from_agent || options.ignore_mac) {
        agent.put(&id, &opened.session.data_key);
    }
    // sops's lines between the key sources' and the tree's (or the MAC's) result.
    let recovered = !matches!(
        result,
        Err(Error::DataKey(_) | Error::Key(_) | Error::Metadata(_))
    );
    if recovered {
        use crate::log::{sops, Level};
        sops("SOPS", Level::Info, "Data key recovered successfully", &[]);
        sops("SOPS", Level::Debug, "Decrypting tree", &[]);
    }
    let opened = result.map_err(|e| Failure::core(&input.name, e))?;
    for w in &opened.session.warnings {
        eprintln!("[leafcrypt] warning: {w}");
    }
    Ok(opened)
}

/// A `sops` entry that is not usable metadata, worded as sops's first line words it: Go's
/// unmarshal error for YAML and JSON entries of the wrong type, the time parser's error for
/// a missing `lastmodified`; leafcrypt's own words follow.
fn bad_sops_entry(input: &Input, in_fmt: Format, message: String) -> Failure {
    let name = &input.name;
    let first = if message.starts_with("parsing time ") {
        None
    } else {
        match in_fmt {
            Format::Yaml if message.contains("not a mapping") => {
                Some("Error unmarshalling input yaml: yaml: unmarshal errors:".to_string())
            }
            Format::Json if message.contains("not a metadata object") => Some(format!(
                "Error unmarshalling input json: json: cannot unmarshal {} into Go struct field SopsFile.sops of type stores.Metadata",
                json_sops_kind(&input.bytes)
            )),
            _ => return Failure::core(name, Error::Metadata(message)),
        }
    };
    let text = match first {
        Some(first) => format!("{first}\n  {message}\n  in file: {name}"),
        None => format!("{message}\n  in file: {name}"),
    };
    Failure::new(ExitCode::ErrorGeneric, text)
}

/// Go's name for the JSON type of a file's `sops` entry.
fn json_sops_kind(bytes: &[u8]) -> &'static str {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| {
            v.get("sops").map(|s| match s {
                serde_json::Value::Number(_) => "number",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Array(_) => "array",
                serde_json::Value::Bool(_) => "bool",
                _ => "value",
            })
        })
        .unwrap_or("value")
}

/// A parse error of a file that should be encrypted, worded as sops words it.
fn encrypted_parse_failure(name: &str, e: Error) -> Failure {
    match e.parse_detail() {
        Some((format @ ("yaml" | "json"), detail)) => Failure::new(
            ExitCode::ErrorGeneric,
            format!("Error unmarshalling input {format}: {detail}\n  in file: {name}"),
        ),
        Some((_, detail)) => Failure::new(
            ExitCode::ErrorGeneric,
            format!("{detail}\n  in file: {name}"),
        ),
        None => Failure::core(name, e),
    }
}
