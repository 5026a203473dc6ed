//! `leafcrypt pkcs11 …`: the command-line glue for [`super::admin`].

use super::admin::{self, KekType};
use super::uri::Pkcs11Uri;
use crate::cli::Pkcs11Command;
use crate::failure::{CliResult, Failure};
use leafcrypt_core::ExitCode;

/// Runs a `pkcs11` subcommand.
pub fn run(cmd: &Pkcs11Command) -> CliResult<()> {
    match cmd {
        Pkcs11Command::Keygen { uri, kind, bits } => {
            let uri = Pkcs11Uri::parse(uri)
                .map_err(|e| Failure::new(ExitCode::ErrorConflictingParameters, e.to_string()))?;
            let kind = match kind.as_str() {
                "aes" => KekType::Aes,
                "rsa" if (2048..=8192).contains(bits) => KekType::Rsa(*bits),
                "rsa" => {
                    return Err(Failure::new(
                        ExitCode::ErrorConflictingParameters,
                        "--bits must be between 2048 and 8192",
                    ))
                }
                other => {
                    return Err(Failure::new(
                        ExitCode::ErrorConflictingParameters,
                        format!("unknown key type '{other}': use aes or rsa"),
                    ))
                }
            };
            let made = admin::keygen(&uri, kind)
                .map_err(|e| Failure::new(ExitCode::ErrorGeneric, e.to_string()))?;
            println!("{made}");
            Ok(())
        }
        Pkcs11Command::List { module } => {
            let text = admin::list(module.as_deref())
                .map_err(|e| Failure::new(ExitCode::ErrorGeneric, e.to_string()))?;
            print!("{text}");
            Ok(())
        }
    }
}
