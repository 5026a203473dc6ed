//! Azure Key Vault's `WWW-Authenticate` challenge, read from untrusted responses.
#![no_main]

use leafcrypt_core::keysource::azure_kv::challenge::Challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(challenge) = Challenge::parse(header) {
        let _ = challenge.resource();
        let _ = challenge.verify_resource("myvault.vault.azure.net");
    }
});
