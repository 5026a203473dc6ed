//! `git`: the diff textconv, the merge driver, and `git setup`, which registers both.

mod merge;
mod patterns;
mod setup;
mod textconv;

use crate::cli::{GitCommand, Opts};
use crate::failure::{CliResult, Failure};
use leafcrypt_core::stores::Format;
use leafcrypt_core::ExitCode;

/// Runs a `git` subcommand.
pub fn run(command: &GitCommand, opts: &Opts) -> CliResult<()> {
    match command {
        GitCommand::Setup(a) => setup::run(a, opts),
        GitCommand::Textconv { file } => textconv::run(file, opts),
        GitCommand::MergeDriver(a) => merge::run(a, opts),
    }
}

/// The format of `name`: `--input-type`, else its extension.
fn format_of(name: &str, opts: &Opts) -> CliResult<Format> {
    match &opts.input_type {
        Some(t) => Format::from_name(t).ok_or_else(|| {
            Failure::new(
                ExitCode::ErrorConflictingParameters,
                format!("unknown format '{t}': use yaml, json, dotenv, ini or binary"),
            )
        }),
        None => Ok(Format::from_path(name)),
    }
}

/// Reads `path`, naming it on failure.
fn read(path: &std::path::Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Failure::new(
            ExitCode::CouldNotReadInputFile,
            format!("cannot read {}: {e}", path.display()),
        )
    })
}
