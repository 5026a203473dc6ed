//! AWS KMS in the CLI: the key source built from the process environment (credentials
//! chain, endpoints, `SSL_CERT_FILE`), and the command line's `--encryption-context` /
//! `--aws-profile` applied to `kms` keys as sops applies them. The protocol itself lives
//! in `leafcrypt_core::keysource::aws_kms`.

use crate::cli::Opts;
use crate::lazy_source::LazySource;
use leafcrypt_core::keysource::aws_kms::key::{context_map, parse_context};
use leafcrypt_core::keysource::aws_kms::{AwsEnv, AwsKmsSource, KmsClient};
use leafcrypt_core::keysource::rest::http;
use leafcrypt_core::keysource::{KeyEntry, KeySource};
use leafcrypt_core::tree::Value;
use std::rc::Rc;

/// Sets `--encryption-context` and `--aws-profile` on the `kms` keys of `entries` that
/// came from the command line (`--kms`, `--add-kms`, `SOPS_KMS_ARN`), as sops does.
pub fn cli_keys(opts: &Opts, mut entries: Vec<KeyEntry>) -> Vec<KeyEntry> {
    let other = &opts.other_kinds;
    let context = cli_context(opts);
    for e in entries.iter_mut().filter(|e| e.kind == "kms") {
        if let Some(c) = &context {
            e.fields.retain(|(k, _)| k != "context");
            e.fields
                .push(("context".into(), Value::Map(context_map(c))));
        }
        if let Some(p) = other.aws_profile.as_deref().filter(|p| !p.is_empty()) {
            e.set("aws_profile", p);
        }
    }
    entries
}

/// The `--encryption-context` map; sops's warning (and no context) when it is malformed.
fn cli_context(opts: &Opts) -> Option<std::collections::BTreeMap<String, String>> {
    let text = opts.other_kinds.encryption_context.as_deref()?;
    match parse_context(text) {
        Ok(c) if c.is_empty() => None,
        Ok(c) => Some(c),
        Err(warning) => {
            crate::log::warn("AWSKMS", warning);
            None
        }
    }
}

fn build() -> Result<AwsKmsSource, String> {
    let env_lookup = |n: &str| std::env::var(n).ok();
    let options = http::options_from_env(&env_lookup, "LEAFCRYPT_AWS_KMS_TIMEOUT")
        .map_err(|e| format!("kms: {e}"))?;
    let client = http::client(&options).map_err(|e| format!("kms: {e}"))?;
    let env = AwsEnv::process(client);
    Ok(AwsKmsSource::new(Rc::new(KmsClient::new(env))))
}

/// The AWS KMS source as a keyring member, built on first use: files without `kms` keys
/// never read the AWS environment.
pub fn keyring_member() -> Box<dyn KeySource> {
    Box::new(LazySource::new(
        "kms",
        "check the AWS configuration (profile, region, endpoint)",
        build,
    ))
}
