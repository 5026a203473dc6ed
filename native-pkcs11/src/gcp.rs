//! GCP Cloud KMS in the CLI: the `gcp_kms` key source over the process environment
//! (credentials, `SOPS_GCP_KMS_ENDPOINT`, `SSL_CERT_FILE`). The protocol lives in
//! `leafcrypt_core::keysource::gcp_kms`.

use leafcrypt_core::keysource::gcp_kms::GcpKmsSource;
use leafcrypt_core::keysource::KeySource;
use std::sync::Arc;

/// The `gcp_kms` source for the keyring. Credentials are looked up only when a `gcp_kms`
/// key is used.
pub fn keyring_member() -> Box<dyn KeySource> {
    Box::new(GcpKmsSource::from_env(Arc::new(|name| {
        std::env::var(name).ok()
    })))
}
