//! `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` values: parsing the envelope, base64, the IV
//! and tag lengths, the type, then AES-GCM under a fixed key.
#![no_main]

use leafcrypt_core::cipher::Cipher;
use leafcrypt_core::secret::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cipher = Cipher::new(&Secret::new(vec![7u8; 32])).expect("a 32-byte key");
    if let Ok(opened) = cipher.open(text, b"key:") {
        let _ = opened.value();
    }
});
