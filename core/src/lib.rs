//! # leafcrypt-core
//!
//! A SOPS 3.x compatible format engine: parse a configuration file into a [`tree::Tree`],
//! encrypt its values one by one with AES-256-GCM under a fresh data key, cover them with a
//! MAC, and wrap the data key with one or more key-encryption keys ([`keysource`]).
//!
//! The crate does no file, process or network I/O of its own beyond what a key source
//! needs, and builds for `wasm32-unknown-unknown`.
//!
//! # Public surface
//!
//! Public is what the front ends (the CLI `leafcrypt-cli`, the wasm bindings), the
//! integration tests and the fuzz targets use; the rest is `pub(crate)`:
//! - [`ops`]: encrypt, decrypt, re-encrypt, re-wrap — what every front end calls;
//! - [`stores`], [`tree`], [`treepath`], [`metadata`], [`config`]: the formats, the
//!   document tree, `["a"][0]` paths, the `sops` block and `.sops.yaml`;
//! - [`keysource`]: the `KeySource` trait, the `Keyring` and the backends enabled by cargo
//!   features (`age`, `azure-kv`, `pgp`; `rest` holds their shared HTTP plumbing);
//! - [`secret`]: the zeroizing data-key type key sources return;
//! - [`Error`] and [`ExitCode`] ([`exit`]): every failure, with the exit status sops uses;
//! - [`cipher`] (value envelopes and types: the wasm bindings, tests, fuzzing) and [`mac`]
//!   (tests); [`time`]: sops's timestamps and calendar, for the CLI's clock.
//!
//! Internal: `walk` (the tree walk), `selectors` (which values are encrypted), `shamir`
//! (key splitting), `numfmt` (Go's number formatting). They are reached only through
//! [`ops`] and the stores, so they can change without breaking another crate.

#![warn(missing_docs)]

pub mod cipher;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod exit;
pub mod file;
pub mod keysource;
pub mod mac;
pub mod metadata;
pub(crate) mod numfmt;
pub mod ops;
pub mod secret;
pub(crate) mod selectors;
pub(crate) mod shamir;
pub mod stores;
pub mod time;
pub mod tree;
pub mod treepath;
pub(crate) mod walk;

pub use error::{Error, Result};
pub use exit::ExitCode;
