//! Stores: one module per file format, each parsing into a [`Tree`] and emitting the
//! bytes sops 3.11 emits.

pub mod binary;
mod detect;
pub mod dotenv;
pub mod ini;
pub mod json;
pub mod toml;
pub mod yaml;

pub use detect::detect;

use crate::error::Result;
use crate::metadata::Metadata;
use crate::tree::{Tree, Value};

/// A parsed file: the tree and, for encrypted files, its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The data, without the `sops` entry.
    pub tree: Tree,
    /// The `sops` metadata, when the file has it.
    pub metadata: Option<Metadata>,
}

/// A file format.
pub trait Store {
    /// Parses `input`. A `sops` entry (dotenv/INI: `sops_…` keys) is taken out of the tree
    /// and returned as metadata.
    fn parse(&self, input: &[u8]) -> Result<Document>;

    /// Emits `tree`, with `metadata` embedded when given (encrypted output).
    fn emit(&self, tree: &Tree, metadata: Option<&Metadata>) -> Result<Vec<u8>>;

    /// Emits a single value, as `--extract` prints it: a scalar as its bare text plus
    /// nothing else, a map or list in this format.
    fn emit_value(&self, value: &Value) -> Result<Vec<u8>>;
}

/// The formats: sops's five, and TOML (a leafcrypt extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
    /// dotenv (`.env`).
    Dotenv,
    /// INI (`.ini`).
    Ini,
    /// Any other file: one `data` value.
    Binary,
    /// TOML (`.toml`): a leafcrypt extension, sops cannot read these files.
    Toml,
}

impl Format {
    /// The format sops picks for a file name: by extension, case-sensitive as sops's
    /// (`x.YAML` is a binary file to sops), binary otherwise.
    pub fn from_path(path: &str) -> Format {
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            Format::Yaml
        } else if path.ends_with(".json") {
            Format::Json
        } else if path.ends_with(".env") {
            Format::Dotenv
        } else if path.ends_with(".ini") {
            Format::Ini
        } else if path.ends_with(".toml") {
            Format::Toml
        } else {
            Format::Binary
        }
    }

    /// The format for a file by its name and content: [`Format::from_path`], except that a
    /// `.toml` file whose content starts with `{` is sops's binary store (sops, which has
    /// no TOML store, encrypts a `.toml` file as binary and writes JSON; no TOML document
    /// starts with `{`), so such files keep opening as they do with sops.
    pub fn from_path_and_content(path: &str, content: &[u8]) -> Format {
        match Format::from_path(path) {
            Format::Toml if content.trim_ascii_start().starts_with(b"{") => Format::Binary,
            other => other,
        }
    }

    /// Parses a `--input-type` / `--output-type` name.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            "toml" => Format::Toml,
            _ => return None,
        })
    }

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
            Format::Toml => "toml",
        }
    }

    /// The store for this format. `indent` overrides the default indentation
    /// (YAML: spaces, default 4; JSON: spaces, `None` = TAB).
    pub fn store(self, indent: Option<usize>) -> Box<dyn Store> {
        match self {
            Format::Yaml => Box::new(yaml::YamlStore::new(indent.unwrap_or(4))),
            Format::Json => Box::new(json::JsonStore::new(indent)),
            Format::Dotenv => Box::new(dotenv::DotenvStore),
            Format::Ini => Box::new(ini::IniStore),
            Format::Binary => Box::new(binary::BinaryStore::new(indent)),
            Format::Toml => Box::new(toml::TomlStore),
        }
    }
}
