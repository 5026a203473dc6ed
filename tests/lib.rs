//! Shared helpers for the cross-crate and interop tests: running sops and leafcrypt
//! ([`harness`]), masking the random parts of encrypted files ([`mask`]), generating
//! plaintext files ([`gen`]), describing and running interop cases ([`cases`]), line
//! diffs for failure messages ([`textdiff`]), and editor scripts, private temp dirs and
//! key-preservation checks for the workflow suites ([`workflow`]), and the emulators'
//! shutdown ([`shutdown`]), and the GCP emulator from a test ([`gcp`]).

pub mod cases;
pub mod gcp;
pub mod gen;
pub mod harness;
pub mod kv;
pub mod mask;
pub mod moto;
pub mod shutdown;
pub mod textdiff;
pub mod vault;
pub mod workflow;
