//! `ksops`: the KSOPS drop-in (the generator lives in [`crate::ksops`]), as a subcommand
//! and when the binary is invoked under the name `ksops`.

use crate::cli::{Cli, Opts};
use std::ffi::OsString;
use std::process::ExitCode;

/// `leafcrypt ksops ARGS…`.
pub fn run(args: &[OsString], opts: &Opts) -> ExitCode {
    crate::ksops::main(args, opts)
}

/// The binary invoked as `ksops`: KSOPS's command line is the whole of argv; leafcrypt's
/// options come from the environment only (`SOPS_DECRYPTION_ORDER`, …).
pub fn as_ksops() -> ExitCode {
    use clap::Parser;
    let opts = match Cli::try_parse_from(["leafcrypt"]) {
        Ok(cli) => cli.opts,
        Err(e) => {
            eprintln!("unable to generate manifests: {e}");
            return ExitCode::FAILURE;
        }
    };
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    crate::log::init(false, false);
    crate::ksops::main(&args, &opts)
}
