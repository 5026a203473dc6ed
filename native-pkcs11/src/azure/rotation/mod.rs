//! `leafcrypt azure-kv on-rotation PATHS… (--stdin | --listen ADDR --secret-env VAR|
//! --secret-file F)`: re-wrap files when Key Vault creates a new key version, from Event
//! Grid deliveries read on stdin or received as a webhook.
//!
//! The events and the "which entries" rule are the core's
//! (`leafcrypt_core::keysource::azure_kv::event`); the re-wrap of single entries is the
//! core's too (`EncryptedFile::rewrap_entries`); the file walk is `--recursive`'s
//! ([`crate::bulk::walk`]). Here: applying a delivery and reporting ([`apply`]), the HTTP side ([`webhook`]) and its shared secret
//! ([`secret`]).

mod apply;
mod secret;
mod webhook;

use crate::cli::{OnRotationArgs, Opts};
use crate::failure::{CliResult, Failure};
use leafcrypt_core::keysource::azure_kv::event;
use leafcrypt_core::ExitCode;
use std::io::Read;

/// Runs `azure-kv on-rotation`.
pub fn run(args: &OnRotationArgs, opts: &Opts) -> CliResult<()> {
    let usage = |m: String| Failure::new(ExitCode::ErrorConflictingParameters, m);
    let listen = match args.listen {
        Some(addr) if !addr.ip().is_loopback() && !args.allow_remote => {
            return Err(usage(format!(
                "on-rotation: refusing to listen on {addr}, which is not a loopback address: the webhook rewrites files; put it behind a TLS reverse proxy and pass --allow-remote"
            )))
        }
        other => other,
    };
    let secret = match (listen, &args.secret_env, &args.secret_file) {
        (None, _, _) => None,
        (Some(_), Some(var), _) => Some(secret::SharedSecret::from_env(var).map_err(usage)?),
        (Some(_), None, Some(path)) => Some(secret::SharedSecret::from_file(path).map_err(usage)?),
        (Some(_), None, None) => return Err(usage(
            "on-rotation: --listen needs a shared secret: --secret-env VAR or --secret-file FILE"
                .into(),
        )),
    };
    let runner = apply::Runner::new(
        args.paths.clone(),
        args.recursive,
        args.dry_run,
        args.jobs,
        opts,
    )?;
    if let (Some(addr), Some(secret)) = (listen, secret) {
        return crate::runtime::block_on(webhook::serve(addr, secret, runner));
    }
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body).map_err(|e| {
        Failure::new(
            ExitCode::CouldNotReadInputFile,
            format!("Error reading stdin: {e}"),
        )
    })?;
    let events = event::parse_events(&body)
        .map_err(|e| Failure::new(ExitCode::ErrorGeneric, format!("on-rotation: {e}")))?;
    let totals = crate::runtime::block_on(runner.delivery(&events));
    if totals.failed > 0 {
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            format!(
                "on-rotation: {} failure{}; the files listed as failed were left as they were",
                totals.failed,
                if totals.failed == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(())
}
