//! `gitops`: the commands an Argo CD Config Management Plugin runs as its `generate` (and
//! `discover`) step; parameters come from Argo CD's environment (see [`params`]).

pub mod args;
mod helm;
mod kustomize;
mod params;

use crate::cli::Opts;
use crate::failure::CliResult;
use args::GitopsCommand;

/// Runs a `gitops` subcommand; its success carries the rendering tool's exit code.
pub fn run(command: &GitopsCommand, opts: &Opts) -> CliResult<i32> {
    match command {
        GitopsCommand::HelmTemplate(a) => helm::template(a, opts),
        GitopsCommand::KustomizeBuild(a) => kustomize::build(a),
    }
}
