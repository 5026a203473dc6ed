//! The actions: encrypt, decrypt, rotate. Each one reads, runs the core, and writes.

pub mod batch;
pub mod edit;
pub mod exec;
pub mod groups;
pub mod tree_edit;
pub mod unsupported;
pub mod updatekeys;

use crate::cli::{Action, Opts};
use crate::discovery;
use crate::failure::{CliResult, Failure};
use crate::identities;
use crate::io::{read_input, Destination, Input};
use leafcrypt_core::keysource::age::AgeSource;
use leafcrypt_core::keysource::{KeyEntry, Keyring};
use leafcrypt_core::metadata::{KeyGroup, Selector};
use leafcrypt_core::ops::{self, DecryptOptions, DecryptionOrder, EncryptOptions, Session};
use leafcrypt_core::stores::{Format, Store};
use leafcrypt_core::treepath;
use leafcrypt_core::ExitCode;
use std::path::{Path, PathBuf};

/// Runs `action` on `file`.
pub fn run(action: Action, file: Option<PathBuf>, opts: &Opts) -> CliResult<()> {
    if let (Action::Rotate, Some(p)) = (action, file.as_deref()) {
        crate::io::require_file(p, ExitCode::CouldNotReadInputFile)?;
    }
    // sops checks it for every action but its `encrypt` subcommand (main checks `-e`).
    if action != Action::Encrypt {
        decryption_order(opts)?;
    }
    if action == Action::Edit {
        let file = file
            .ok_or_else(|| Failure::new(ExitCode::NoFileSpecified, "Error: no file specified"))?;
        return edit::run(&file, opts);
    }
    let input = read_input(file.as_deref(), opts.filename_override.as_deref())?;
    match action {
        Action::Encrypt => encrypt(&input, opts),
        Action::Decrypt => decrypt(&input, opts),
        Action::Rotate => rotate(&input, opts),
        Action::Edit => unreachable!("handled above"),
    }
}

/// `--decryption-order` / `SOPS_DECRYPTION_ORDER`, validated by the core.
pub(crate) fn decryption_order(opts: &Opts) -> CliResult<DecryptionOrder> {
    DecryptionOrder::parse(opts.decryption_order.as_deref().unwrap_or_default())
        .map_err(|e| Failure::core("", e))
}

fn verbose(_opts: &Opts, msg: impl FnOnce() -> String) {
    crate::log::detail(msg);
}

/// Input and output formats from the flags, else the file name.
pub(crate) fn formats(input: &Input, opts: &Opts) -> CliResult<(Format, Format)> {
    let parse = |name: &str| {
        Format::from_name(name).ok_or_else(|| {
            Failure::new(
                ExitCode::ErrorConflictingParameters,
                format!("unknown format '{name}': use yaml, json, dotenv, ini or binary"),
            )
        })
    };
    let input_format =
        match &opts.input_type {
            Some(t) => parse(t)?,
            None if input.name.is_empty() => return Err(Failure::new(
                ExitCode::ErrorConflictingParameters,
                "reading from stdin needs --input-type or --filename-override to know the format",
            )),
            None => Format::from_path(&input.name),
        };
    let output_format = match &opts.output_type {
        Some(t) => parse(t)?,
        None => input_format,
    };
    Ok((input_format, output_format))
}

pub(crate) fn store(
    format: Format,
    opts: &Opts,
    config: Option<&discovery::Loaded>,
) -> Box<dyn Store> {
    let from_config = config.and_then(|c| match format {
        Format::Yaml => c.config.yaml_indent,
        Format::Json => c.config.json_indent,
        Format::Binary => c.config.json_binary_indent,
        _ => None,
    });
    format.store(opts.indent.filter(|i| *i > 0).or(from_config))
}

fn destination(input: &Input, opts: &Opts, private: bool) -> CliResult<Destination> {
    if opts.in_place {
        let path = input.path.clone().ok_or_else(|| {
            Failure::new(
                ExitCode::ErrorConflictingParameters,
                "--in-place needs a file, not stdin",
            )
        })?;
        Ok(Destination::File { path, private })
    } else if let Some(path) = &opts.output {
        Ok(Destination::File {
            path: path.clone(),
            private,
        })
    } else {
        Ok(Destination::Stdout)
    }
}

/// sops's line after it rewrote a file in place.
pub(crate) fn written(opts: &Opts) {
    if opts.in_place {
        crate::log::sops(
            "CMD",
            crate::log::Level::Info,
            "File written successfully",
            &[],
        );
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The key description a rotation wraps the new data key for: the entry without `enc` and
/// `created_at`, and for Key Vault without its pinned `version`, so that the new data key
/// is wrapped with the key's current version (beyond sops, which keeps the old version;
/// this is how files catch up with Key Vault's key rotation).
fn rotation_description(entry: &KeyEntry) -> KeyEntry {
    let mut description = entry.description();
    if description.kind == "azure_kv" {
        description.fields.retain(|(k, _)| k != "version");
    }
    description
}

/// Parses a comma-separated key list of one kind into key descriptions.
type EntryParser = fn(&str) -> CliResult<Vec<KeyEntry>>;

/// `age` key descriptions for a comma-separated list of recipients, each checked as sops
/// checks it before doing anything (exit 1, sops's first words).
pub(crate) fn age_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    split_list(list)
        .into_iter()
        .map(|r| {
            check_age_recipient(&r)?;
            Ok(KeyEntry::new("age").with("recipient", r))
        })
        .collect()
}

/// A recipient sops would refuse to parse: its message, exit 1.
fn check_age_recipient(recipient: &str) -> CliResult<()> {
    leafcrypt_core::keysource::age::parse_recipient(recipient)
        .map(|_| ())
        .map_err(|e| match e {
            leafcrypt_core::keysource::KeyError::InvalidKey { message, .. } => {
                Failure::new(ExitCode::ErrorGeneric, message)
            }
            other => Failure::new(ExitCode::ErrorGeneric, other.to_string()),
        })
}

/// `azure_kv` key descriptions for a comma-separated list of key URLs (as sops parses them).
pub(crate) fn azure_kv_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    split_list(list)
        .iter()
        .map(|url| {
            leafcrypt_core::config::azure_entry_from_url(url).map_err(|_| {
                Failure::new(
                    ExitCode::ErrorConflictingParameters,
                    format!(
                        "could not parse \"{url}\" into a valid Azure Key Vault key: \
                         expected https://VAULT/keys/NAME[/VERSION]"
                    ),
                )
            })
        })
        .collect()
}

/// `pgp` key descriptions for a comma-separated list of fingerprints (spaces removed, as
/// sops does).
pub(crate) fn pgp_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(split_list(list)
        .iter()
        .map(|fp| leafcrypt_core::config::pgp_entry(fp))
        .collect())
}

fn pkcs11_entries_checked(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(pkcs11_entries(list))
}

/// Every key given on the command line (`--age`, `--pgp`, `--azure-kv`, `--pkcs11`), in
/// that order.
pub(crate) fn cli_entries(opts: &Opts) -> CliResult<Vec<KeyEntry>> {
    let mut keys = age_entries(&opts.age.join(","))?;
    keys.extend(pgp_entries(&opts.pgp.join(","))?);
    keys.extend(azure_kv_entries(&opts.azure_kv.join(","))?);
    keys.extend(pkcs11_entries(&opts.pkcs11.join(",")));
    let other = &opts.other_kinds;
    keys.extend(kms_entries(other.kms.as_deref().unwrap_or(""))?);
    keys.extend(gcp_kms_entries(other.gcp_kms.as_deref().unwrap_or(""))?);
    keys.extend(hckms_entries(other.hckms.as_deref().unwrap_or(""))?);
    keys.extend(hc_vault_entries(
        other.hc_vault_transit.as_deref().unwrap_or(""),
    )?);
    Ok(keys)
}

/// `kms` key descriptions for sops's `ARN[+ROLE_ARN],…` (leafcrypt has no AWS KMS source:
/// encrypting with them fails naming the key, see [`unsupported`]).
pub(crate) fn kms_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(split_list(list)
        .into_iter()
        .map(|k| match k.split_once('+') {
            Some((arn, role)) => KeyEntry::new("kms").with("arn", arn).with("role", role),
            None => KeyEntry::new("kms").with("arn", k),
        })
        .collect())
}

/// `gcp_kms` key descriptions for a comma-separated list of resource IDs.
pub(crate) fn gcp_kms_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(split_list(list)
        .into_iter()
        .map(|id| KeyEntry::new("gcp_kms").with("resource_id", id))
        .collect())
}

/// `hckms` key descriptions for a comma-separated list of `region:key-uuid` IDs.
pub(crate) fn hckms_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(split_list(list)
        .into_iter()
        .map(|id| KeyEntry::new("hckms").with("key_id", id))
        .collect())
}

/// `hc_vault` key descriptions for `https://ADDR/v1/ENGINE/keys/NAME` URIs.
pub(crate) fn hc_vault_entries(list: &str) -> CliResult<Vec<KeyEntry>> {
    Ok(split_list(list)
        .into_iter()
        .map(|uri| {
            let (address, rest) = uri.split_once("/v1/").unwrap_or((uri.as_str(), ""));
            let (engine, key) = rest.rsplit_once("/keys/").unwrap_or((rest, ""));
            KeyEntry::new("hc_vault")
                .with("vault_address", address)
                .with("engine_path", engine)
                .with("key_name", key)
        })
        .collect())
}

/// `pkcs11` key descriptions for a comma-separated list of URIs (as given; the stored
/// form without PIN or module is made when the key is wrapped).
pub(crate) fn pkcs11_entries(list: &str) -> Vec<KeyEntry> {
    crate::pkcs11::uri::split_list(list)
        .into_iter()
        .map(|u| KeyEntry::new("pkcs11").with("uri", u))
        .collect()
}

/// The selector given on the command line, if any (at most one).
fn cli_selector(opts: &Opts) -> CliResult<Option<Selector>> {
    let given: Vec<Selector> = [
        opts.unencrypted_suffix
            .clone()
            .map(Selector::UnencryptedSuffix),
        opts.encrypted_suffix.clone().map(Selector::EncryptedSuffix),
        opts.unencrypted_regex
            .clone()
            .map(Selector::UnencryptedRegex),
        opts.encrypted_regex.clone().map(Selector::EncryptedRegex),
        opts.unencrypted_comment_regex
            .clone()
            .map(Selector::UnencryptedCommentRegex),
        opts.encrypted_comment_regex
            .clone()
            .map(Selector::EncryptedCommentRegex),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        return Err(Failure::new(
            ExitCode::ErrorConflictingParameters,
            "Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file",
        ));
    }
    Ok(given.into_iter().next())
}

/// A keyring with every key source this build supports, identities from the environment.
pub(crate) fn keyring(opts: &Opts) -> CliResult<Keyring> {
    let ids = identities::load()?;
    verbose(opts, || {
        format!(
            "age identities from: {}",
            if ids.origins.is_empty() {
                "none".into()
            } else {
                ids.origins.join(", ")
            }
        )
    });
    let mut age = AgeSource::from_identities_text(&ids.text)
        .map_err(|e| {
            Failure::new(
                ExitCode::CouldNotRetrieveKey,
                format!("Error loading age identities: {e}"),
            )
        })?
        .with_ui(std::sync::Arc::new(crate::age_ui::TtyUi));
    // Like sops, a bad SSH key is reported only if no key decrypts.
    for (origin, text) in &ids.ssh {
        if let Err(e) = age.add_ssh_identity(text, origin) {
            age.note_load_error(e.to_string());
        }
    }
    for e in &ids.errors {
        age.note_load_error(e.clone());
    }
    for (location, data) in &ids.encrypted {
        age.add_encrypted_identities(data, location);
    }
    let hints = opts
        .pkcs11
        .iter()
        .chain(&opts.add_pkcs11)
        .flat_map(|l| crate::pkcs11::uri::split_list(l))
        .map(|u| {
            crate::pkcs11::uri::Pkcs11Uri::parse(&u).map_err(|e| {
                Failure::new(
                    ExitCode::ErrorConflictingParameters,
                    format!("--pkcs11: {e}"),
                )
            })
        })
        .collect::<CliResult<Vec<_>>>()?;
    let pkcs11 = crate::pkcs11::source::Pkcs11Source::new(hints);
    // Each source logs its wraps and unwraps as sops's do under --verbose.
    let logged = |source: Box<dyn leafcrypt_core::keysource::KeySource>| {
        Box::new(crate::logged::Logged(source))
    };
    let mut keyring = Keyring::new()
        .with(logged(Box::new(age)))
        .with(logged(crate::azure::keyring_member(opts)))
        .with(logged(Box::new(pkcs11)))
        .with(logged(Box::new(crate::pgp::source::GpgSource::from_env())));
    for stand_in in unsupported::Unsupported::all() {
        keyring.add(stand_in);
    }
    Ok(keyring)
}

fn encrypt(input: &Input, opts: &Opts) -> CliResult<()> {
    let (in_fmt, out_fmt) = formats(input, opts)?;
    let config = discovery::load(opts.config.as_deref())?;
    let options = encrypt_options(&input.name, in_fmt, opts, config.as_ref())?;
    let doc = store(in_fmt, opts, config.as_ref())
        .parse(&input.bytes)
        .map_err(|e| match e {
            // A top-level `sops` entry that is not valid metadata is still the reserved
            // entry: sops refuses such a plaintext with 203, whatever the entry holds.
            leafcrypt_core::Error::Metadata(_) => {
                Failure::core(&input.name, leafcrypt_core::Error::AlreadyEncrypted)
            }
            e => Failure::core(&input.name, e),
        })?;
    if doc.metadata.is_some() {
        return Err(Failure::core(
            &input.name,
            leafcrypt_core::Error::AlreadyEncrypted,
        ));
    }
    let mut tree = doc.tree;
    let keyring = keyring(opts)?;
    let metadata = crate::runtime::block_on(ops::encrypt(&mut tree, &options, &keyring))
        .map_err(|e| Failure::core(&input.name, e))?;
    let out = store(out_fmt, opts, config.as_ref())
        .emit(&tree, Some(&metadata))
        .map_err(|e| Failure::core(&input.name, e))?;
    destination(input, opts, false)?.write(&out)?;
    written(opts);
    Ok(())
}

/// What a new file is encrypted with: keys from the command line, else the matching
/// `.sops.yaml` rule; selectors and threshold from the flags, else the rule.
pub(crate) fn encrypt_options(
    name: &str,
    in_fmt: Format,
    opts: &Opts,
    config: Option<&discovery::Loaded>,
) -> CliResult<EncryptOptions> {
    let rule = match config {
        Some(c) => {
            let rel = c.relative_path(Path::new(name));
            verbose(opts, || {
                format!("config {} (rule path '{rel}')", c.path.display())
            });
            c.config
                .matching_rule(&rel)
                .map_err(|e| Failure::core(name, e))?
                .cloned()
        }
        None => None,
    };
    let cli_keys = cli_entries(opts)?;
    // Empty groups are refused by the core (ops::check_key_groups); a matching rule
    // without any key is one empty group, as in sops.
    let from_cli = !cli_keys.is_empty();
    let key_groups: Vec<KeyGroup> = match (&rule, cli_keys.is_empty()) {
        (_, false) => vec![KeyGroup { keys: cli_keys }],
        (Some(r), true) if r.key_groups.is_empty() => vec![KeyGroup::default()],
        (Some(r), true) => r.key_groups.clone(),
        (None, true) => Vec::new(),
    };
    // Fail before the file is read or an editor opened, as sops does.
    ops::check_key_groups(&key_groups).map_err(|e| Failure::core("", e))?;
    if from_cli {
        // sops prints its keys' Go pointers here; leafcrypt names the keys.
        let keys: Vec<String> = key_groups
            .iter()
            .flat_map(|g| g.keys.iter().map(|k| k.identity()))
            .collect();
        crate::log::sops(
            "CMD",
            crate::log::Level::Debug,
            &format!("Master keys available:  [{}]", keys.join(" ")),
            &[],
        );
    }
    let rule_used = rule.as_ref().filter(|_| !from_cli);
    unsupported::check_wrappable(&key_groups, rule_used, config)?;
    for key in key_groups.iter().flat_map(|g| &g.keys) {
        if key.kind == "age" {
            check_age_recipient(key.get("recipient").unwrap_or_default())?;
        }
    }
    let mut selector =
        cli_selector(opts)?.or_else(|| rule.as_ref().and_then(|r| r.selector.clone()));
    let binary = in_fmt == Format::Binary;
    if binary && selector.is_some() {
        eprintln!("[leafcrypt] warning: selectors are ignored for binary files");
        selector = None;
    }
    let options = EncryptOptions {
        key_groups,
        shamir_threshold: opts
            .shamir_secret_sharing_threshold
            .filter(|t| *t > 0)
            .or(rule.as_ref().map(|r| r.shamir_threshold))
            .unwrap_or(0),
        selector,
        store_selector: !binary,
        // sops ignores mac_only_encrypted for binary files (their one value is always encrypted).
        mac_only_encrypted: !binary
            && (opts.mac_only_encrypted || rule.as_ref().is_some_and(|r| r.mac_only_encrypted)),
        now: crate::clock::now_rfc3339(),
    };
    verbose(opts, || {
        format!("encrypting for {} key group(s)", options.key_groups.len())
    });
    Ok(options)
}

/// Parses an encrypted input without decrypting it: its tree (values still `ENC[…]`) and
/// its metadata. Errors are worded as sops words them for encrypted files.
pub(crate) fn load_encrypted(
    input: &Input,
    in_fmt: Format,
) -> CliResult<(
    leafcrypt_core::tree::Tree,
    leafcrypt_core::metadata::Metadata,
)> {
    let doc = in_fmt
        .store(None)
        .parse(&input.bytes)
        .map_err(|e| match e {
            leafcrypt_core::Error::Metadata(m) => bad_sops_entry(input, in_fmt, m),
            e => encrypted_parse_failure(&input.name, e),
        })?;
    let Some(metadata) = doc.metadata else {
        // An encrypted binary file is JSON: report why this one is not, as sops does.
        if in_fmt == Format::Binary {
            if let Err(e) = Format::Json.store(None).parse(&input.bytes) {
                return Err(encrypted_parse_failure(&input.name, e));
            }
        }
        return Err(Failure::core(
            &input.name,
            leafcrypt_core::Error::MetadataNotFound(String::new()),
        ));
    };
    Ok((doc.tree, metadata))
}

/// A decrypted file: its plain tree, its metadata and the key material to re-encrypt it.
pub(crate) type Opened = (
    leafcrypt_core::tree::Tree,
    leafcrypt_core::metadata::Metadata,
    Session,
);

/// Parses an encrypted input and decrypts it (MAC checked unless `--ignore-mac`), keeping
/// each value's IV so that a re-encryption leaves unchanged values byte-identical.
pub(crate) fn open(
    input: &Input,
    opts: &Opts,
    in_fmt: Format,
    keyring: &Keyring,
) -> CliResult<Opened> {
    open_with(input, opts, in_fmt, keyring, true)
}

/// Like [`open`], for callers that only read the plaintext (no IV stash kept).
pub(crate) fn open_to_read(
    input: &Input,
    opts: &Opts,
    in_fmt: Format,
    keyring: &Keyring,
) -> CliResult<Opened> {
    open_with(input, opts, in_fmt, keyring, false)
}

fn open_with(
    input: &Input,
    opts: &Opts,
    in_fmt: Format,
    keyring: &Keyring,
    keep_ivs: bool,
) -> CliResult<Opened> {
    crate::runtime::block_on(open_async(input, opts, in_fmt, keyring, keep_ivs))
}

/// [`open`]/[`open_to_read`] as a future, for callers that decrypt several files at once
/// (their key-source requests then overlap).
pub(crate) async fn open_async(
    input: &Input,
    opts: &Opts,
    in_fmt: Format,
    keyring: &Keyring,
    keep_ivs: bool,
) -> CliResult<Opened> {
    let (mut tree, metadata) = load_encrypted(input, in_fmt)?;
    // sops refuses a `version` that is not semver before it decrypts or rewrites a file.
    // Its first line is the semver parser's message alone, as sops prints it.
    leafcrypt_core::metadata::check_version(&metadata.version).map_err(|e| match e {
        leafcrypt_core::Error::Metadata(m) => Failure::new(
            ExitCode::ErrorGeneric,
            format!("{m}\n  in file: {}", input.name),
        ),
        e => Failure::core(&input.name, e),
    })?;
    let result = ops::decrypt(
        &mut tree,
        &metadata,
        keyring,
        DecryptOptions {
            ignore_mac: opts.ignore_mac,
            strict: opts.strict,
            skip_iv_stash: !keep_ivs,
            decryption_order: decryption_order(opts)?,
        },
    )
    .await;
    // sops's lines between the key sources' and the tree's (or the MAC's) result.
    let recovered = !matches!(
        result,
        Err(leafcrypt_core::Error::DataKey(_)
            | leafcrypt_core::Error::Key(_)
            | leafcrypt_core::Error::Metadata(_))
    );
    if recovered {
        use crate::log::{sops, Level};
        sops("SOPS", Level::Info, "Data key recovered successfully", &[]);
        sops("SOPS", Level::Debug, "Decrypting tree", &[]);
    }
    let session = result.map_err(|e| Failure::core(&input.name, e))?;
    for w in &session.warnings {
        eprintln!("[leafcrypt] warning: {w}");
    }
    Ok((tree, metadata, session))
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
            Format::Json if message.contains("not a metadata object") => {
                let kind = serde_json::from_slice::<serde_json::Value>(&input.bytes)
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
                    .unwrap_or("value");
                Some(format!(
                    "Error unmarshalling input json: json: cannot unmarshal {kind} into Go struct field SopsFile.sops of type stores.Metadata"
                ))
            }
            _ => return Failure::core(name, leafcrypt_core::Error::Metadata(message)),
        }
    };
    let text = match first {
        Some(first) => format!("{first}\n  {message}\n  in file: {name}"),
        None => format!("{message}\n  in file: {name}"),
    };
    Failure::new(ExitCode::ErrorGeneric, text)
}

/// A parse error of a file that should be encrypted, worded as sops words it.
fn encrypted_parse_failure(name: &str, e: leafcrypt_core::Error) -> Failure {
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

/// `--extract`'s value, or sops's `error truncating tree` (exit 1) naming the first
/// component that is missing.
fn extract<'t>(
    root: &'t leafcrypt_core::tree::Map,
    path: &str,
    name: &str,
) -> CliResult<&'t leafcrypt_core::tree::Value> {
    let steps = treepath::parse(path).map_err(|e| Failure::core(name, e))?;
    treepath::get(root, &steps).map_err(|_| {
        let (i, step) = (1..=steps.len())
            .find(|n| treepath::get(root, &steps[..*n]).is_err())
            .map(|n| (n - 1, &steps[n - 1]))
            .unwrap_or((0, &steps[0]));
        let what = match step {
            treepath::Step::Key(k) => format!("component ['{k}'] not found"),
            treepath::Step::Index(n)
                if i > 0
                    && treepath::get(root, &steps[..i]).is_ok_and(|v| v.as_list().is_some()) =>
            {
                format!("component [{n}] accesses out of bounds")
            }
            treepath::Step::Index(n) => format!("component [{n}] not found"),
        };
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("error truncating tree: {what}\n  in file: {name}"),
        )
    })
}

fn decrypt(input: &Input, opts: &Opts) -> CliResult<()> {
    let (in_fmt, out_fmt) = formats(input, opts)?;
    let keyring = keyring(opts)?;
    let (tree, _metadata, _session) = open_to_read(input, opts, in_fmt, &keyring)?;
    let config = if opts.indent.is_none() {
        discovery::load(opts.config.as_deref()).ok().flatten()
    } else {
        None
    };
    let out_store = store(out_fmt, opts, config.as_ref());
    let out = match &opts.extract {
        Some(path) => {
            let empty = leafcrypt_core::tree::Map::new();
            let root = tree.branches.first().unwrap_or(&empty);
            out_store.emit_value(extract(root, path, &input.name)?)
        }
        // The plaintext of a binary file moves out of the tree instead of being copied.
        None if out_fmt == Format::Binary => {
            leafcrypt_core::stores::binary::BinaryStore::into_plain(tree)
        }
        None => out_store.emit(&tree, None),
    }
    .map_err(|e| Failure::core(&input.name, e))?;
    destination(input, opts, true)?.write(&out)?;
    written(opts);
    Ok(())
}

fn rotate(input: &Input, opts: &Opts) -> CliResult<()> {
    let (in_fmt, out_fmt) = formats(input, opts)?;
    // sops parses the age recipients to add and remove before it decrypts.
    for list in [opts.add_age.as_deref(), opts.rm_age.as_deref()]
        .into_iter()
        .flatten()
    {
        age_entries(list)?;
    }
    let keyring = keyring(opts)?;
    let (mut tree, mut metadata, session) = open(input, opts, in_fmt, &keyring)?;

    let mut groups: Vec<KeyGroup> = metadata
        .key_groups
        .iter()
        .map(|g| KeyGroup {
            keys: g.keys.iter().map(rotation_description).collect(),
        })
        .collect();
    let changes = [
        (
            opts.rm_age.as_deref(),
            opts.add_age.as_deref(),
            age_entries as EntryParser,
        ),
        (
            opts.rm_pkcs11.as_deref(),
            opts.add_pkcs11.as_deref(),
            pkcs11_entries_checked,
        ),
        (opts.rm_pgp.as_deref(), opts.add_pgp.as_deref(), pgp_entries),
        (
            opts.rm_azure_kv.as_deref(),
            opts.add_azure_kv.as_deref(),
            azure_kv_entries,
        ),
        (
            opts.other_kinds.rm_kms.as_deref(),
            opts.other_kinds.add_kms.as_deref(),
            kms_entries,
        ),
        (
            opts.other_kinds.rm_gcp_kms.as_deref(),
            opts.other_kinds.add_gcp_kms.as_deref(),
            gcp_kms_entries,
        ),
        (
            opts.other_kinds.rm_hckms.as_deref(),
            opts.other_kinds.add_hckms.as_deref(),
            hckms_entries,
        ),
        (
            opts.other_kinds.rm_hc_vault_transit.as_deref(),
            opts.other_kinds.add_hc_vault_transit.as_deref(),
            hc_vault_entries,
        ),
    ];
    for (rm, add, parse) in changes {
        if let Some(rm) = rm {
            let rm: Vec<String> = parse(rm)?
                .iter()
                .map(|k| rotation_description(k).identity())
                .collect();
            for g in &mut groups {
                g.keys.retain(|k| !rm.contains(&k.identity()));
            }
        }
        if let Some(add) = add {
            if groups.is_empty() {
                groups.push(KeyGroup::default());
            }
            for entry in parse(add)? {
                let known = groups[0]
                    .keys
                    .iter()
                    .any(|k| k.kind == entry.kind && k.identity() == entry.identity());
                if !known {
                    groups[0].keys.push(entry);
                }
            }
        }
    }
    groups.retain(|g| !g.keys.is_empty());
    if groups.is_empty() {
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            "rotate would leave the file with no keys; add one with --add-age, --add-pgp, --add-azure-kv or --add-pkcs11",
        ));
    }

    let now = crate::clock::now_rfc3339();
    metadata.key_groups = groups;
    crate::runtime::block_on(ops::rotate(
        &mut tree,
        &mut metadata,
        &session,
        &keyring,
        &now,
    ))
    .map_err(|e| Failure::core(&input.name, e))?;
    if in_fmt == Format::Binary && metadata.selector.is_none() {
        // sops writes the default selector when it rewrites a binary file.
        metadata.selector = Some(Selector::UnencryptedSuffix(
            leafcrypt_core::metadata::DEFAULT_UNENCRYPTED_SUFFIX.into(),
        ));
    }
    let out = store(out_fmt, opts, None)
        .emit(&tree, Some(&metadata))
        .map_err(|e| Failure::core(&input.name, e))?;
    destination(input, opts, false)?.write(&out)?;
    written(opts);
    Ok(())
}
