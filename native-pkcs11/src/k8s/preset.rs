//! The `.sops.yaml` preset for Kubernetes manifests: only `data`/`stringData` encrypted,
//! the MAC over the encrypted values only (so that kustomize/Argo CD may rewrite labels,
//! names and annotations without breaking it), for the keys given on the command line.

use super::args::ConfigArgs;
use crate::cli::Opts;
use crate::commands::cli_entries;
use crate::failure::{CliResult, Failure};
use crate::io::Destination;
use leafcrypt_core::ExitCode;

/// The preset's `encrypted_regex`.
pub const ENCRYPTED_REGEX: &str = "^(data|stringData)$";

/// A YAML single-quoted scalar.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The rule's text for `a`'s path regex and the flags' keys.
fn rule(a: &ConfigArgs, opts: &Opts) -> String {
    let mut out = format!(
        "# Kubernetes manifests (leafcrypt k8s config): data/stringData encrypted, the rest readable.\ncreation_rules:\n  - path_regex: {}\n    encrypted_regex: {}\n    mac_only_encrypted: true\n",
        quoted(&a.path_regex),
        quoted(ENCRYPTED_REGEX)
    );
    let joined = |v: &[String]| v.join(",");
    let o = &opts.other_kinds;
    let fields: [(&str, Option<String>); 6] = [
        ("age", Some(joined(&opts.age))),
        ("pgp", Some(joined(&opts.pgp))),
        ("kms", o.kms.clone()),
        ("gcp_kms", o.gcp_kms.clone()),
        ("azure_keyvault", Some(joined(&opts.azure_kv))),
        ("hc_vault_transit_uri", o.hc_vault_transit.clone()),
    ];
    for (field, value) in fields {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push_str(&format!("    {field}: {}\n", quoted(&v)));
        }
    }
    let pkcs11: Vec<&str> = opts
        .pkcs11
        .iter()
        .flat_map(|l| l.split(','))
        .filter(|u| !u.is_empty())
        .collect();
    if !pkcs11.is_empty() {
        out.push_str("    pkcs11:\n");
        for uri in pkcs11 {
            out.push_str(&format!("      - {}\n", quoted(uri)));
        }
    }
    out
}

/// `k8s config`: prints the preset rule (to stdout or `--output`).
pub fn print(a: &ConfigArgs, opts: &Opts) -> CliResult<()> {
    regex::Regex::new(&a.path_regex).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("--path-regex {}: {e}", a.path_regex),
        )
    })?;
    let entries = cli_entries(opts)?;
    if entries.is_empty() {
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            "k8s config needs keys: --age, --pgp, --azure-kv, --pkcs11, --kms, --gcp-kms or --hc-vault-transit",
        ));
    }
    for e in entries.iter().filter(|e| e.kind == "age") {
        crate::commands::keys::check_age_recipient(e.get("recipient").unwrap_or_default())?;
    }
    let text = rule(a, opts);
    match &opts.output {
        Some(path) => Destination::File {
            path: path.clone(),
            private: false,
        },
        None => Destination::Stdout,
    }
    .write(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_parses_as_a_sops_config_with_the_preset() {
        let opts = Opts {
            age: vec!["age1xyz".into()],
            pkcs11: vec!["pkcs11:token=t;object=k".into()],
            ..Default::default()
        };
        let a = ConfigArgs {
            path_regex: r"\.ya?ml$".into(),
        };
        let text = rule(&a, &opts);
        let doc = leafcrypt_core::stores::Format::Yaml
            .store(None)
            .parse(text.as_bytes())
            .unwrap();
        let config = leafcrypt_core::config::Config::from_map(&doc.tree.branches[0]).unwrap();
        let r = config.matching_rule("k8s/secret.yaml").unwrap().unwrap();
        assert!(r.mac_only_encrypted);
        assert_eq!(
            r.selector,
            Some(leafcrypt_core::metadata::Selector::EncryptedRegex(
                ENCRYPTED_REGEX.into()
            ))
        );
        assert_eq!(r.key_groups[0].keys.len(), 2);
        assert!(config.matching_rule("x.json").is_err());
    }
}
