//! The commands, one module each, and [`dispatch`], which runs the parsed command line.
//! Each command reads its input, runs the core's file API (`leafcrypt_core::file`) and
//! writes the result; the decisions about files are the core's.

pub mod batch;
pub mod decrypt;
pub mod doctor;
pub mod edit;
pub mod encrypt;
pub mod exec;
pub mod explain;
pub mod git;
pub mod groups;
mod keyring;
pub mod keys;
pub mod ksops;
mod layout;
mod open;
pub mod publish;
pub mod rotate;
pub mod tree_edit;
pub mod unsupported;
pub mod updatekeys;

pub(crate) use keyring::keyring;
pub(crate) use keys::cli_entries;
pub(crate) use layout::{decryption_order, formats, indent, layout, store};
pub(crate) use open::{load_encrypted, open, open_async, open_to_read};

use crate::cli::{self, Action, Cli, Opts};
use crate::failure::{CliResult, Failure};
use crate::io::read_input;
use crate::log;
use leafcrypt_core::ExitCode as SopsExit;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs `action` (the legacy flags' and `encrypt`/`decrypt`/`rotate`/`edit`'s) on `file`.
pub fn run(action: Action, file: Option<PathBuf>, opts: &Opts) -> CliResult<()> {
    if let (Action::Rotate, Some(p)) = (action, file.as_deref()) {
        crate::io::require_file(p, SopsExit::CouldNotReadInputFile)?;
    }
    // sops checks it for every action but its `encrypt` subcommand (main checks `-e`).
    if action != Action::Encrypt {
        decryption_order(opts)?;
    }
    if let (true, Some(f)) = (opts.explain, file.as_deref()) {
        explain::to_stderr(f, opts);
    }
    if action == Action::Edit {
        let file = file.ok_or_else(no_file)?;
        return edit::run(&file, opts);
    }
    let input = read_input(file.as_deref(), opts.filename_override.as_deref())?;
    match action {
        Action::Encrypt => encrypt::run(&input, opts),
        Action::Decrypt => decrypt::run(&input, opts),
        Action::Rotate => rotate::run(&input, opts),
        Action::Edit => unreachable!("handled above"),
    }
}

/// Runs the parsed command line; returns the process exit code.
pub fn dispatch(cli: &Cli, prog: &str) -> ExitCode {
    if let Err(f) = check_key_service(&cli.opts) {
        return exit(Err(f));
    }
    if !cli.ignored_positionals().is_empty() {
        log::warn(
            "CMD",
            "More than one positional argument provided. Only the first one will be used!",
        );
    }
    if let Some(command) = &cli.command {
        if let Some(code) = subcommand(command, &cli.opts, prog) {
            return code;
        }
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
        if let Err(f) = decryption_order(&cli.opts) {
            return exit(Err(f));
        }
    }
    exit(run(action, file.clone(), &cli.opts))
}

/// `--enable-local-keyservice` and `--keyservice`: leafcrypt's key sources run in-process.
fn check_key_service(opts: &Opts) -> CliResult<()> {
    match opts.enable_local_keyservice.as_deref() {
        None | Some("true" | "1" | "t" | "T" | "TRUE" | "True") => {}
        Some(v) => {
            return Err(Failure::new(
                SopsExit::ErrorGeneric,
                format!(
                    "--enable-local-keyservice={v}: leafcrypt has no key service but the local one (its key sources run in-process); drop the flag"
                ),
            ))
        }
    }
    for url in &opts.keyservice {
        // sops falls back silently to its local key service when a remote one fails.
        log::detail(|| {
            format!("--keyservice {url}: key services are not available in leafcrypt; using the local key sources")
        });
    }
    Ok(())
}

/// Runs a subcommand that is not one of the actions; `None` for those (`encrypt`,
/// `decrypt` of one file, `rotate`, `edit`), which [`run`] handles.
fn subcommand(command: &cli::Command, opts: &Opts, prog: &str) -> Option<ExitCode> {
    use cli::Command as C;
    Some(match command {
        C::AgeKeygen(_) => exit(crate::keygen::run(
            opts.output.as_deref(),
            &crate::clock::now_rfc3339(),
        )),
        C::Set(a) => exit(tree_edit::set_command(a, opts)),
        C::Unset(a) => exit(tree_edit::unset_command(a, opts)),
        C::Encrypt(f) | C::Rotate(f) | C::Filestatus(f) if f.bulk.recursive => {
            let kind = match command {
                C::Encrypt(_) => crate::bulk::Kind::Encrypt,
                C::Rotate(_) => crate::bulk::Kind::Rotate,
                _ => crate::bulk::Kind::Filestatus,
            };
            let roots: Vec<PathBuf> = f.file.iter().chain(&f.extra).cloned().collect();
            exit(crate::bulk::run(
                &crate::bulk::Request {
                    kind,
                    roots: &roots,
                    dry_run: f.bulk.dry_run,
                    jobs: f.bulk.jobs,
                    out_dir: None,
                },
                opts,
            ))
        }
        C::Edit(f) if f.bulk.recursive => exit(Err(Failure::new(
            SopsExit::ErrorConflictingParameters,
            "edit does not take --recursive",
        ))),
        C::Updatekeys(a) if a.bulk.recursive => exit(updatekeys_recursive(a, opts)),
        C::Decrypt(d) if d.recursive => exit(crate::bulk::run(
            &crate::bulk::Request {
                kind: crate::bulk::Kind::Decrypt,
                roots: &d.files,
                dry_run: d.dry_run,
                jobs: d.jobs,
                out_dir: d.output_dir.as_deref(),
            },
            opts,
        )),
        C::Filestatus(f) => exit(match &f.file {
            Some(file) => tree_edit::filestatus(file, opts),
            None => Err(no_file()),
        }),
        C::Updatekeys(a) => {
            if opts.explain {
                a.files.iter().for_each(|f| explain::to_stderr(f, opts));
            }
            exit(updatekeys::run(&a.files, a.yes, opts))
        }
        C::ExecEnv(a) => exit_code(exec::env_command(a, opts)),
        C::ExecFile(a) => exit_code(exec::file_command(a, opts)),
        C::Decrypt(d) => match &d.output_dir {
            Some(dir) => exit(batch::decrypt_to_dir(&d.files, dir, d.jobs, opts)),
            None => return None,
        },
        C::Groups(g) => exit(groups::command(g, opts)),
        C::Pkcs11(c) => exit(crate::pkcs11::command::run(c)),
        C::AzureKv(c) => exit(crate::azure::command::run(c, opts)),
        C::KvProxy(a) => exit(crate::kv_proxy::run(crate::kv_proxy::ProxyOptions {
            vaults: a.vaults.clone(),
            allow_origins: a.allow_origins.clone(),
            port: a.port,
            exit_with_stdin: a.exit_with_stdin,
        })),
        C::Completion { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut crate::command(prog), prog, &mut script);
            exit(crate::io::Destination::Stdout.write(&script))
        }
        C::Publish(a) => exit(publish::run(a, opts)),
        C::K8s(c) => exit(crate::k8s::run(c, opts)),
        C::Gitops(c) => exit_code(crate::gitops::run(c, opts)),
        C::Ksops(a) => ksops::run(&a.args, opts),
        C::Git(g) => exit(git::run(g, opts)),
        C::Agent(a) => exit(crate::agent::run(a)),
        C::Doctor(a) => exit(doctor::run(a, opts)),
        C::Explain(a) => exit(explain::run(a, opts)),
        C::Keyservice(_) => not_available(
            prog,
            "keyservice",
            "its key sources run in-process; use sops 3.11 for a key service",
        ),
        _ => return None,
    })
}

/// `updatekeys --recursive`: needs `--yes` or `--dry-run` (no question per file).
fn updatekeys_recursive(a: &cli::UpdatekeysArgs, opts: &Opts) -> CliResult<()> {
    if !a.yes && !a.bulk.dry_run {
        return Err(Failure::new(
            SopsExit::ErrorConflictingParameters,
            "updatekeys --recursive asks no questions: add --yes to apply, or --dry-run to list the files that would change",
        ));
    }
    crate::bulk::run(
        &crate::bulk::Request {
            kind: crate::bulk::Kind::Updatekeys,
            roots: &a.files,
            dry_run: a.bulk.dry_run,
            jobs: a.bulk.jobs,
            out_dir: None,
        },
        opts,
    )
}

/// A sops command leafcrypt does not have: its reason, exit 1.
fn not_available(prog: &str, command: &str, why: &str) -> ExitCode {
    eprintln!(
        "{prog} {command}: not available in leafcrypt {}: {why}",
        env!("CARGO_PKG_VERSION")
    );
    SopsExit::ErrorGeneric.into()
}

/// sops's error for a command without its file (exit 100).
pub(crate) fn no_file() -> Failure {
    Failure::new(SopsExit::NoFileSpecified, "Error: no file specified")
}

/// Like [`exit`], for commands whose success carries a child's exit code.
fn exit_code(result: CliResult<i32>) -> ExitCode {
    log::flush();
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(f) => exit(Err(f)),
    }
}

/// Reports a failure on stderr and turns it into the process exit code.
pub(crate) fn exit(result: CliResult<()>) -> ExitCode {
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
