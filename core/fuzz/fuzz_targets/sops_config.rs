//! `.sops.yaml`: the YAML parser, then creation rules (regexes, key groups, every key kind,
//! selectors, thresholds) and rule matching.
#![no_main]

use leafcrypt_core::config::Config;
use leafcrypt_core::stores::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Format::Yaml.store(None).parse(data) else {
        return;
    };
    let Some(root) = doc.tree.branches.first() else {
        return;
    };
    if let Ok(config) = Config::from_map(root) {
        let _ = config.matching_rule("dir/secrets.enc.yaml");
    }
});
