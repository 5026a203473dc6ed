//! One file of a `--recursive` run: the same per-file rules as the single-file commands
//! (the core's file API, the commands' options and checks), written in place (decrypt:
//! into the output directory), returning an [`Outcome`] instead of printing.

use super::report::Outcome;
use super::walk::Found;
use crate::cli::Opts;
use crate::commands::{self, encrypt, keys, unsupported, updatekeys};
use crate::discovery::Loaded;
use crate::failure::{CliResult, Failure};
use crate::io::{read_input, Destination, Input};
use leafcrypt_core::file;
use leafcrypt_core::keysource::Keyring;
use leafcrypt_core::metadata::{KeyGroup, Metadata};
use leafcrypt_core::stores::Format;
use leafcrypt_core::ExitCode;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Which command runs on each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `encrypt`: plaintext files a rule (or the command line's keys) covers.
    Encrypt,
    /// `decrypt --output-dir`: encrypted files, mirrored into the directory.
    Decrypt,
    /// `rotate`: a new data key for every encrypted file.
    Rotate,
    /// `updatekeys`: key groups brought in line with the file's rule.
    Updatekeys,
    /// `filestatus`: encrypted or not.
    Filestatus,
}

/// What every file of a run shares.
pub struct Ctx<'a> {
    /// The command.
    pub kind: Kind,
    /// The global options.
    pub opts: &'a Opts,
    /// `.sops.yaml`, if found.
    pub config: Option<&'a Loaded>,
    /// The key sources (`None` for filestatus and dry runs, which need none).
    pub keyring: Option<&'a Keyring>,
    /// List, do not change.
    pub dry_run: bool,
    /// Decrypt's output directory.
    pub out_dir: Option<&'a Path>,
    /// Updatekeys: each rule's key groups with Key Vault versions pinned, by rule index.
    pub wanted: &'a HashMap<usize, CliResult<Vec<KeyGroup>>>,
    /// `lastmodified` for changed files.
    pub now: &'a str,
}

/// Runs the command on one file.
pub async fn one(ctx: &Ctx<'_>, found: &Found) -> Outcome {
    match run(ctx, found).await {
        Ok(o) => o,
        Err(f) => Outcome::Failed(f),
    }
}

async fn run(ctx: &Ctx<'_>, found: &Found) -> CliResult<Outcome> {
    let path = &found.path;
    // Encrypt without a config uses the command line's keys for every file.
    let by_rule =
        ctx.kind == Kind::Updatekeys || (ctx.kind == Kind::Encrypt && ctx.config.is_some());
    if by_rule && rule_index(ctx, path)?.is_none() {
        return Ok(Outcome::Skipped("no creation rule matches"));
    }
    let input = read_input(Some(path), None)?;
    let formats = commands::formats(&input, ctx.opts)?;
    let metadata = sops_metadata(&input, formats.0)?;
    match (ctx.kind, metadata) {
        (Kind::Filestatus, m) => Ok(if m.is_some() {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        }),
        (Kind::Encrypt, Some(_)) => Ok(Outcome::Skipped("already encrypted")),
        (Kind::Encrypt, None) if ctx.dry_run => Ok(Outcome::Changed),
        (Kind::Encrypt, None) => encrypt_file(ctx, &input, formats).await,
        (_, None) => Ok(Outcome::Skipped("not encrypted")),
        (Kind::Updatekeys, Some(m)) => updatekeys_file(ctx, &input, formats.0, m).await,
        (_, Some(_)) if ctx.dry_run => Ok(Outcome::Changed),
        (Kind::Rotate, Some(_)) => rotate_file(ctx, &input, formats).await,
        (Kind::Decrypt, Some(_)) => decrypt_file(ctx, &input, formats, found).await,
    }
}

/// The index of the creation rule matching `path`, if any.
pub fn rule_index(ctx: &Ctx<'_>, path: &Path) -> CliResult<Option<usize>> {
    let Some(loaded) = ctx.config else {
        return Ok(None);
    };
    let Some(rule) = loaded.config.first_match(&loaded.relative_path(path)) else {
        return Ok(None);
    };
    // The matching rule's own error (a key it cannot parse), as the single-file commands.
    let rule = loaded
        .config
        .matching_rule(&loaded.relative_path(path))
        .map_err(|e| Failure::core(&path.display().to_string(), e))?
        .filter(|r| std::ptr::eq(*r, rule));
    Ok(rule.and_then(|r| {
        loaded
            .config
            .creation_rules
            .iter()
            .position(|c| std::ptr::eq(c, r))
    }))
}

/// The file's sops metadata, `None` for a plaintext file (as `filestatus` decides).
fn sops_metadata(input: &Input, fmt: Format) -> CliResult<Option<Metadata>> {
    let doc = fmt.store(None).parse(&input.bytes).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("cannot parse the file: {e}\n  in file: {}", input.name),
        )
    })?;
    Ok(doc
        .metadata
        .filter(|m| !m.mac.is_empty() || !m.key_groups.is_empty()))
}

fn keyring<'a>(ctx: &Ctx<'a>) -> CliResult<&'a Keyring> {
    ctx.keyring
        .ok_or_else(|| Failure::new(ExitCode::ErrorGeneric, "no key sources"))
}

fn write_in_place(input: &Input, out: &[u8]) -> CliResult<Outcome> {
    let path = input.path.clone().unwrap_or_default();
    Destination::File {
        path,
        private: false,
    }
    .write(out)?;
    Ok(Outcome::Changed)
}

async fn encrypt_file(
    ctx: &Ctx<'_>,
    input: &Input,
    formats: (Format, Format),
) -> CliResult<Outcome> {
    let new = encrypt::encrypt_options(&input.name, formats.0, ctx.opts, ctx.config)?;
    let tree =
        file::parse_plain(&input.bytes, formats.0).map_err(|e| Failure::core(&input.name, e))?;
    let layout = commands::layout(formats, ctx.opts, ctx.config);
    let out = new
        .encrypt_tree(tree, &layout, keyring(ctx)?)
        .await
        .map_err(|e| Failure::core(&input.name, e))?;
    write_in_place(input, &out)
}

async fn updatekeys_file(
    ctx: &Ctx<'_>,
    input: &Input,
    fmt: Format,
    current: Metadata,
) -> CliResult<Outcome> {
    let path = input.path.as_deref().unwrap_or(Path::new(""));
    let index = rule_index(ctx, path)?.unwrap_or_default();
    let loaded = ctx
        .config
        .ok_or_else(|| Failure::new(ExitCode::ErrorGeneric, "updatekeys needs a .sops.yaml"))?;
    let rule = &loaded.config.creation_rules[index];
    let wanted = match ctx.wanted.get(&index) {
        Some(Ok(groups)) => groups,
        Some(Err(f)) => return Err(Failure::new(f.code, f.message.clone())),
        None => &rule.key_groups,
    };
    let threshold = ctx
        .opts
        .shamir_secret_sharing_threshold
        .unwrap_or(rule.shamir_threshold);
    let threshold_changes =
        wanted.len() > 1 && threshold != 0 && threshold != current.shamir_threshold;
    if updatekeys::describe_diff(&current.key_groups, wanted).is_none() && !threshold_changes {
        return Ok(Outcome::Unchanged);
    }
    if ctx.dry_run {
        return Ok(Outcome::Changed);
    }
    unsupported::check_wrappable(wanted, Some(rule), Some(loaded))?;
    let (tree, mut metadata) = commands::load_encrypted(input, fmt)?;
    leafcrypt_core::ops::update_keys(&mut metadata, wanted, threshold, keyring(ctx)?, ctx.now)
        .await
        .map_err(|e| Failure::core(&input.name, e))?;
    let out = fmt
        .store(None)
        .emit(&tree, Some(&metadata))
        .map_err(|e| Failure::core(&input.name, e))?;
    write_in_place(input, &out)
}

async fn rotate_file(
    ctx: &Ctx<'_>,
    input: &Input,
    formats: (Format, Format),
) -> CliResult<Outcome> {
    let keyring = keyring(ctx)?;
    let mut opened = commands::open_async(input, ctx.opts, formats.0, keyring, true).await?;
    let groups = file::rotation_groups(&opened.metadata.key_groups, &keys::key_changes(ctx.opts)?)
        .map_err(|e| {
            Failure::new(
                ExitCode::ErrorGeneric,
                format!("{e}\n  in file: {}", input.name),
            )
        })?;
    opened
        .rotate(groups, keyring, ctx.now)
        .await
        .map_err(|e| Failure::core(&input.name, e))?;
    let out = opened
        .emit(&commands::layout(formats, ctx.opts, None))
        .map_err(|e| Failure::core(&input.name, e))?;
    write_in_place(input, &out)
}

/// Where decrypt writes `found`: the output directory, mirroring the tree below its root.
pub fn decrypt_target(out_dir: &Path, found: &Found) -> PathBuf {
    out_dir.join(found.relative())
}

async fn decrypt_file(
    ctx: &Ctx<'_>,
    input: &Input,
    formats: (Format, Format),
    found: &Found,
) -> CliResult<Outcome> {
    let out_dir = ctx.out_dir.ok_or_else(|| {
        Failure::new(
            ExitCode::ErrorConflictingParameters,
            "decrypt --recursive needs --output-dir",
        )
    })?;
    let target = decrypt_target(out_dir, found);
    let opened = commands::open_async(input, ctx.opts, formats.0, keyring(ctx)?, false).await?;
    let out = opened
        .into_plaintext(&commands::layout(formats, ctx.opts, ctx.config), None)
        .map_err(|e| Failure::core(&input.name, e))?;
    if let Some(parent) = target.parent() {
        private_dirs(out_dir, parent)?;
    }
    Destination::File {
        path: target,
        private: true,
    }
    .write(&out)?;
    Ok(Outcome::Changed)
}

/// Creates `dir` (below `base`) and its missing parents with mode 0700.
fn private_dirs(base: &Path, dir: &Path) -> CliResult<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() || dir == base {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            Failure::new(
                ExitCode::CouldNotWriteOutputFile,
                format!("cannot create {}: {e}", dir.display()),
            )
        })
}
