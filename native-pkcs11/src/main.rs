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
mod pkcs11;
mod private_dir;
mod runtime;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    use commands::tree_edit::{self, ValueSource};
    match &cli.command {
        Some(cli::Command::AgeKeygen(_)) => {
            return exit(keygen::run(
                cli.opts.output.as_deref(),
                &clock::now_rfc3339(),
            ))
        }
        Some(cli::Command::Set(a)) => {
            let source = match (&a.value, a.value_file, a.value_stdin) {
                (_, _, true) => ValueSource::Stdin,
                (Some(v), true, _) => ValueSource::File(std::path::Path::new(v)),
                (Some(v), false, _) => ValueSource::Arg(v),
                (None, _, _) => {
                    eprintln!("leafcrypt set: a VALUE is required unless --value-stdin is given");
                    return ExitCode::from(failure::BAD_ARGS as u8);
                }
            };
            return exit(tree_edit::set(
                &a.file,
                &a.path,
                source,
                a.idempotent,
                &cli.opts,
            ));
        }
        Some(cli::Command::Updatekeys(a)) => {
            return exit(commands::updatekeys::run(&a.files, a.yes, &cli.opts))
        }
        Some(cli::Command::ExecEnv(a)) => {
            let o = commands::exec::EnvOptions {
                pristine: a.pristine,
                same_process: a.same_process,
            };
            return exit_code(commands::exec::exec_env(&a.file, &a.command, &o, &cli.opts));
        }
        Some(cli::Command::ExecFile(a)) => {
            let o = commands::exec::FileOptions {
                no_fifo: a.no_fifo,
                filename: a.filename.clone(),
            };
            return exit_code(commands::exec::exec_file(
                &a.file, &a.command, &o, &cli.opts,
            ));
        }
        Some(cli::Command::Decrypt(d)) if d.output_dir.is_some() || d.files.len() > 1 => {
            let Some(dir) = &d.output_dir else {
                eprintln!("leafcrypt decrypt: several files need --output-dir DIR");
                return ExitCode::from(failure::BAD_ARGS as u8);
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
                cli::GroupsCommand::Delete { file, index } => {
                    run(file, Change::Delete(*index), &cli.opts)
                }
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
            use clap::CommandFactory;
            clap_complete::generate(
                *shell,
                &mut cli::Cli::command(),
                "leafcrypt",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Some(cli::Command::Unset(a)) => {
            return exit(tree_edit::unset(&a.file, &a.path, a.idempotent, &cli.opts))
        }
        Some(cli::Command::Filestatus(f)) => match &f.file {
            Some(file) => return exit(tree_edit::filestatus(file, &cli.opts)),
            None => {
                eprintln!("leafcrypt filestatus: a FILE is required");
                return ExitCode::from(failure::BAD_ARGS as u8);
            }
        },
        _ => {}
    }
    let Some((action, file)) = cli.action() else {
        eprintln!("leafcrypt: no action given. Use `leafcrypt encrypt|decrypt|rotate FILE` or -e/-d/-r (see --help).");
        return ExitCode::from(failure::BAD_ARGS as u8);
    };
    // sops checks --decryption-order for the legacy flags, -e included.
    if cli.command.is_none() {
        if let Err(f) = commands::decryption_order(&cli.opts) {
            return exit(Err(f));
        }
    }
    exit(commands::run(action, file, &cli.opts))
}

/// Like [`exit`], for commands whose success carries a child's exit code.
fn exit_code(result: failure::CliResult<i32>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(f) => exit(Err(f)),
    }
}

/// Reports a failure on stderr and turns it into the process exit code.
fn exit(result: failure::CliResult<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("{}", f.message);
            }
            ExitCode::from(u8::try_from(f.code).unwrap_or(1))
        }
    }
}
