//! `leafcrypt`: the native command-line tool. Thin: argument parsing, file I/O and
//! reporting; the format engine lives in `leafcrypt-core`.

mod age_ui;
mod atomic;
mod azure;
mod cli;
mod clock;
mod commands;
mod discovery;
mod failure;
mod identities;
mod io;
mod keygen;
mod kv_proxy;
mod log;
mod logged;
mod pgp;
mod pkcs11;
mod private_dir;
mod runtime;
mod tty;
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
    run(&cli, &prog)
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

/// sops's error for `exec-env`/`exec-file` without exactly a file and a command (exit 1).
fn exec_usage() -> failure::Failure {
    failure::Failure::new(SopsExit::ErrorGeneric, "error: missing file to decrypt")
}

/// sops's error for a command without its file (exit 100).
fn no_file() -> failure::Failure {
    failure::Failure::new(SopsExit::NoFileSpecified, "Error: no file specified")
}

/// Runs the parsed command line.
fn run(cli: &cli::Cli, prog: &str) -> ExitCode {
    match cli.opts.enable_local_keyservice.as_deref() {
        None | Some("true" | "1" | "t" | "T" | "TRUE" | "True") => {}
        Some(v) => {
            return exit(Err(failure::Failure::new(
                SopsExit::ErrorGeneric,
                format!(
                    "--enable-local-keyservice={v}: leafcrypt has no key service but the local one (its key sources run in-process); drop the flag"
                ),
            )))
        }
    }
    for url in &cli.opts.keyservice {
        // sops falls back silently to its local key service when a remote one fails.
        log::detail(|| {
            format!("--keyservice {url}: key services are not available in leafcrypt; using the local key sources")
        });
    }
    if !cli.ignored_positionals().is_empty() {
        log::warn(
            "CMD",
            "More than one positional argument provided. Only the first one will be used!",
        );
    }
    use commands::tree_edit::{self, ValueSource};
    match &cli.command {
        Some(cli::Command::AgeKeygen(_)) => {
            return exit(keygen::run(
                cli.opts.output.as_deref(),
                &clock::now_rfc3339(),
            ))
        }
        Some(cli::Command::Set(a)) => {
            if a.value_file && a.value_stdin {
                return exit(Err(failure::Failure::new(
                    SopsExit::ErrorGeneric,
                    "Error: cannot use both --value-file and --value-stdin",
                )));
            }
            let source = match (&a.value, a.value_file, a.value_stdin) {
                (_, _, true) => ValueSource::Stdin,
                (Some(v), true, _) => ValueSource::File(std::path::Path::new(v)),
                (Some(v), false, _) => ValueSource::Arg(v),
                (None, _, _) => ValueSource::Stdin,
            };
            let complete = a.value.is_some() != a.value_stdin;
            let (Some(file), Some(path), true) = (&a.file, &a.path, complete) else {
                return exit(Err(failure::Failure::new(
                    SopsExit::NoFileSpecified,
                    if a.value_stdin {
                        // sops's text, word for word.
                        "Error: file specified, or index and value are missing. Need precisely 2 positional arguments since --value-stdin is used."
                    } else {
                        "Error: no file specified, or index and value are missing. Need precisely 3 positional arguments."
                    },
                )));
            };
            return exit(tree_edit::set(file, path, source, a.idempotent, &cli.opts));
        }
        Some(cli::Command::Updatekeys(a)) => {
            return exit(commands::updatekeys::run(&a.files, a.yes, &cli.opts))
        }
        Some(cli::Command::ExecEnv(a)) => {
            let o = commands::exec::EnvOptions {
                pristine: a.pristine,
                same_process: a.same_process,
            };
            let (Some(file), Some(command), true) = (&a.file, &a.command, a.extra.is_empty())
            else {
                return exit(Err(exec_usage()));
            };
            return exit_code(commands::exec::exec_env(file, command, &o, &cli.opts));
        }
        Some(cli::Command::ExecFile(a)) => {
            let o = commands::exec::FileOptions {
                no_fifo: a.no_fifo,
                filename: a.filename.clone(),
            };
            let (Some(file), Some(command), true) = (&a.file, &a.command, a.extra.is_empty())
            else {
                return exit(Err(exec_usage()));
            };
            return exit_code(commands::exec::exec_file(file, command, &o, &cli.opts));
        }
        Some(cli::Command::Decrypt(d)) if d.output_dir.is_some() => {
            let Some(dir) = &d.output_dir else {
                return SopsExit::ErrorConflictingParameters.into();
            };
            return exit(commands::batch::decrypt_to_dir(
                &d.files, dir, d.jobs, &cli.opts,
            ));
        }
        Some(cli::Command::Groups(g)) => {
            use commands::groups::{run, Change};
            return exit(match g {
                cli::GroupsCommand::Add { file } => commands::cli_entries(&cli.opts)
                    .and_then(|keys| run(file, Change::Add(keys), &cli.opts)),
                cli::GroupsCommand::Delete { file, index } => match index {
                    Some(index) => run(file, Change::Delete(*index), &cli.opts),
                    None => Err(failure::Failure::new(
                        SopsExit::ErrorGeneric,
                        "error: exactly one positional argument (index) required",
                    )),
                },
            });
        }
        Some(cli::Command::Pkcs11(c)) => return exit(pkcs11::command::run(c)),
        Some(cli::Command::AzureKv(c)) => return exit(azure::command::run(c, &cli.opts)),
        Some(cli::Command::KvProxy(a)) => {
            return exit(kv_proxy::run(kv_proxy::ProxyOptions {
                vaults: a.vaults.clone(),
                allow_origins: a.allow_origins.clone(),
                port: a.port,
                exit_with_stdin: a.exit_with_stdin,
            }))
        }
        Some(cli::Command::Completion { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command(prog), prog, &mut script);
            return exit(io::Destination::Stdout.write(&script));
        }
        Some(cli::Command::Publish(_)) => {
            eprintln!(
                "{prog} publish: not available in leafcrypt {}: publishing comes with the cloud key sources; use sops 3.11 for it",
                env!("CARGO_PKG_VERSION")
            );
            return SopsExit::ErrorGeneric.into();
        }
        Some(cli::Command::Keyservice(_)) => {
            eprintln!(
                "{prog} keyservice: not available in leafcrypt {}: its key sources run in-process; use sops 3.11 for a key service",
                env!("CARGO_PKG_VERSION")
            );
            return SopsExit::ErrorGeneric.into();
        }
        Some(cli::Command::Unset(a)) => {
            let (Some(file), Some(path)) = (&a.file, &a.path) else {
                return exit(Err(failure::Failure::new(
                    SopsExit::NoFileSpecified,
                    "Error: no file specified, or index is missing",
                )));
            };
            return exit(tree_edit::unset(file, path, a.idempotent, &cli.opts));
        }
        Some(cli::Command::Filestatus(f)) => match &f.file {
            Some(file) => return exit(tree_edit::filestatus(file, &cli.opts)),
            None => return exit(Err(no_file())),
        },
        _ => {}
    }
    if let Some(arg) = &cli.set {
        let Some(file) = &cli.file else {
            eprintln!("Error: no file specified");
            return SopsExit::NoFileSpecified.into();
        };
        return exit(tree_edit::legacy_set(file, arg, &cli.opts));
    }
    let Some((action, file)) = cli.action() else {
        // No file and no action: sops's error (`--help` lists the commands).
        return exit(Err(no_file()));
    };
    // sops checks --decryption-order for the legacy flags, -e included.
    if cli.command.is_none() {
        if let Err(f) = commands::decryption_order(&cli.opts) {
            return exit(Err(f));
        }
    }
    exit(commands::run(action, file.clone(), &cli.opts))
}

/// Like [`exit`], for commands whose success carries a child's exit code.
fn exit_code(result: failure::CliResult<i32>) -> ExitCode {
    log::flush();
    match result {
        Ok(code) => u8::try_from(code).map_or(SopsExit::ErrorGeneric.into(), ExitCode::from),
        Err(f) => exit(Err(f)),
    }
}

/// Reports a failure on stderr and turns it into the process exit code.
fn exit(result: failure::CliResult<()>) -> ExitCode {
    log::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("{}", f.message);
            }
            f.code.into()
        }
    }
}
