//! `leafcrypt`: the native command-line tool. Thin: argument parsing, file I/O and
//! reporting; the format engine lives in `leafcrypt-core`.

mod age_ui;
mod agent;
mod atomic;
mod aws;
mod azure;
mod bulk;
mod cli;
mod clock;
mod commands;
mod discovery;
mod failure;
mod fifo;
mod gcp;
mod gitops;
mod http_server;
mod identities;
mod io;
mod k8s;
mod keygen;
mod ksops;
mod kv_proxy;
mod lazy_source;
mod log;
mod logged;
mod pgp;
mod pkcs11;
mod private_dir;
mod publish;
mod runtime;
mod tty;
mod vault;
mod version;

use leafcrypt_core::ExitCode as SopsExit;
use std::process::ExitCode;

/// Stack of the thread that does the work: deep (but accepted) documents recurse, and debug
/// builds' frames are several times larger than release ones.
const STACK_SIZE: usize = 64 << 20;

fn main() -> ExitCode {
    match std::thread::Builder::new()
        .name("leafcrypt".into())
        .stack_size(STACK_SIZE)
        .spawn(cli_main)
    {
        Ok(worker) => worker.join().unwrap_or(ExitCode::FAILURE),
        Err(_) => cli_main(),
    }
}

fn cli_main() -> ExitCode {
    let prog = version::program_name();
    // Installed as `ksops` (a copy or symlink), the binary is the KSOPS plugin.
    if prog == "ksops" {
        return commands::ksops::as_ksops();
    }
    let mut cli = match parse(&prog) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cli.last_values_win();
    if cli.version {
        println!("{}", version::line());
        return ExitCode::SUCCESS;
    }
    // sops logs under --verbose only in its legacy forms (no subcommand).
    log::init(cli.opts.verbose, cli.command.is_none());
    commands::dispatch(&cli, &prog)
}

/// Parses the command line under the name the program was invoked as (`sops` when
/// installed as sops). An unknown flag fails as sops's does: exit 1, `Incorrect Usage.`
/// and the help on stdout, a logrus `level=fatal` line on stderr.
fn parse(prog: &str) -> Result<cli::Cli, ExitCode> {
    use clap::FromArgMatches;
    let command = || command(prog);
    let failed = |e: clap::Error| {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let flag = match (e.kind(), e.get(ContextKind::InvalidArg)) {
            (ErrorKind::UnknownArgument, Some(ContextValue::String(arg)))
                if arg.starts_with('-') =>
            {
                arg.trim_start_matches('-')
                    .split('=')
                    .next()
                    .unwrap_or("")
                    .to_string()
            }
            _ => {
                let _ = e.print();
                return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
            }
        };
        let msg = format!("flag provided but not defined: -{flag}");
        // Within a subcommand sops writes `Incorrect Usage:` and the subcommand's help.
        let mut top = command();
        let sub = std::env::args()
            .skip(1)
            .take_while(|a| {
                !a.starts_with(&format!("-{flag}")) && !a.starts_with(&format!("--{flag}"))
            })
            .find(|a| top.find_subcommand(a).is_some());
        match sub.and_then(|s| top.find_subcommand_mut(&s).cloned()) {
            Some(mut sub) => {
                println!("Incorrect Usage: {msg}\n");
                let _ = sub.print_help();
            }
            None => {
                println!("Incorrect Usage. {msg}\n");
                let _ = top.print_help();
            }
        }
        log::fatal("CMD", &msg);
        SopsExit::ErrorGeneric.into()
    };
    let matches = command()
        .try_get_matches_from(std::env::args_os())
        .map_err(failed)?;
    cli::Cli::from_arg_matches(&matches).map_err(failed)
}

/// The command-line definition under the program's name.
fn command(prog: &str) -> clap::Command {
    use clap::CommandFactory;
    cli::Cli::command()
        .name(if prog == "sops" { "sops" } else { "leafcrypt" })
        .bin_name(prog)
}
