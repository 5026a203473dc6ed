//! The keyring every command decrypts and encrypts with: each key source this build
//! supports, identities from the environment.

use super::unsupported;
use crate::cli::Opts;
use crate::failure::{CliResult, Failure};
use crate::identities;
use leafcrypt_core::keysource::age::AgeSource;
use leafcrypt_core::keysource::{KeySource, Keyring};
use leafcrypt_core::ExitCode;

/// The age source with every identity the environment names (`SOPS_AGE_KEY`, key files,
/// SSH keys); a bad SSH key is reported only if no key decrypts, as in sops.
fn age_source() -> CliResult<AgeSource> {
    let ids = identities::load()?;
    crate::log::detail(|| {
        format!(
            "age identities from: {}",
            if ids.origins.is_empty() {
                "none".into()
            } else {
                ids.origins.join(", ")
            }
        )
    });
    let mut age = AgeSource::from_identities_text(&ids.text)
        .map_err(|e| {
            Failure::new(
                ExitCode::CouldNotRetrieveKey,
                format!("Error loading age identities: {e}"),
            )
        })?
        .with_ui(std::sync::Arc::new(crate::age_ui::TtyUi));
    for (origin, text) in &ids.ssh {
        if let Err(e) = age.add_ssh_identity(text, origin) {
            age.note_load_error(e.to_string());
        }
    }
    for e in &ids.errors {
        age.note_load_error(e.clone());
    }
    for (location, data) in &ids.encrypted {
        age.add_encrypted_identities(data, location);
    }
    Ok(age)
}

/// The PKCS#11 source, with the modules and PIN sources the `--pkcs11`/`--add-pkcs11`
/// URIs name.
fn pkcs11_source(opts: &Opts) -> CliResult<crate::pkcs11::source::Pkcs11Source> {
    let hints = opts
        .pkcs11
        .iter()
        .chain(&opts.add_pkcs11)
        .flat_map(|l| crate::pkcs11::uri::split_list(l))
        .map(|u| {
            crate::pkcs11::uri::Pkcs11Uri::parse(&u).map_err(|e| {
                Failure::new(
                    ExitCode::ErrorConflictingParameters,
                    format!("--pkcs11: {e}"),
                )
            })
        })
        .collect::<CliResult<Vec<_>>>()?;
    Ok(crate::pkcs11::source::Pkcs11Source::new(hints))
}

/// A keyring with every key source this build supports, identities from the environment.
pub(crate) fn keyring(opts: &Opts) -> CliResult<Keyring> {
    let age = age_source()?;
    let pkcs11 = pkcs11_source(opts)?;
    // Each source logs its wraps and unwraps as sops's do under --verbose.
    let logged = |source: Box<dyn KeySource>| Box::new(crate::logged::Logged(source));
    let mut keyring = Keyring::new()
        .with(logged(Box::new(age)))
        .with(logged(crate::azure::keyring_member(opts)))
        .with(logged(crate::aws::keyring_member()))
        .with(logged(crate::gcp::keyring_member()))
        .with(logged(crate::vault::keyring_member()))
        .with(logged(Box::new(pkcs11)))
        .with(logged(Box::new(crate::pgp::source::GpgSource::from_env())));
    for stand_in in unsupported::Unsupported::all() {
        keyring.add(stand_in);
    }
    Ok(keyring)
}
