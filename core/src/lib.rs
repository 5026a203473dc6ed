//! # leafcrypt-core
//!
//! A SOPS 3.x compatible format engine: parse a configuration file into a [`tree::Tree`],
//! encrypt its values one by one with AES-256-GCM under a fresh data key, cover them with a
//! MAC, and wrap the data key with one or more key-encryption keys ([`keysource`]).
//!
//! The crate does no file, process or network I/O of its own beyond what a key source
//! needs, and builds for `wasm32-unknown-unknown`.

#![warn(missing_docs)]

pub mod cipher;
pub mod config;
pub mod error;
pub mod file;
pub mod keysource;
pub mod mac;
pub mod metadata;
pub mod numfmt;
pub mod ops;
pub mod secret;
pub mod selectors;
pub mod shamir;
pub mod stores;
pub mod time;
pub mod tree;
pub mod treepath;
pub mod walk;

pub use error::{Error, Result};
