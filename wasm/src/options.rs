//! Reading the plain JS option objects the API functions take.
//!
//! Missing, `undefined` and `null` properties all mean "not given". A property of the
//! wrong type is an [`Failure::Options`] error that names it.

use crate::failure::{Failure, Result};
use js_sys::{Array, Reflect};
use leafcrypt_core::metadata::Selector;
use leafcrypt_core::stores::Format;
use wasm_bindgen::JsValue;

/// A JS options object (or `undefined`), read property by property.
#[derive(Clone)]
pub struct Options {
    object: JsValue,
    /// Where this object sits in the caller's options, for messages (`options.age`).
    name: String,
}

impl Options {
    /// Wraps the top-level options argument.
    pub fn new(object: JsValue) -> Result<Self> {
        Self::named(object, "options")
    }

    fn named(object: JsValue, name: &str) -> Result<Self> {
        if !object.is_undefined() && !object.is_null() && !object.is_object() {
            return Err(Failure::Options(format!("{name} must be an object")));
        }
        Ok(Self {
            object,
            name: name.to_string(),
        })
    }

    /// The JS value itself.
    pub fn raw(&self) -> &JsValue {
        &self.object
    }

    fn field_name(&self, key: &str) -> String {
        format!("{}.{key}", self.name)
    }

    /// The raw property `key`, `None` when absent, `undefined` or `null`.
    pub fn get(&self, key: &str) -> Result<Option<JsValue>> {
        if !self.object.is_object() {
            return Ok(None);
        }
        let value = Reflect::get(&self.object, &JsValue::from_str(key))
            .map_err(|_| Failure::Options(format!("cannot read {}", self.field_name(key))))?;
        Ok((!value.is_undefined() && !value.is_null()).then_some(value))
    }

    /// The nested options object `key` (empty when absent).
    pub fn object(&self, key: &str) -> Result<Options> {
        let value = self.get(key)?.unwrap_or(JsValue::UNDEFINED);
        Self::named(value, &self.field_name(key))
    }

    /// Whether the property `key` is present at all.
    pub fn has(&self, key: &str) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// The string property `key`.
    pub fn string(&self, key: &str) -> Result<Option<String>> {
        self.get(key)?
            .map(|v| {
                v.as_string().ok_or_else(|| {
                    Failure::Options(format!("{} must be a string", self.field_name(key)))
                })
            })
            .transpose()
    }

    /// The boolean property `key` (`false` when absent).
    pub fn flag(&self, key: &str) -> Result<bool> {
        match self.get(key)? {
            None => Ok(false),
            Some(v) => v.as_bool().ok_or_else(|| {
                Failure::Options(format!("{} must be a boolean", self.field_name(key)))
            }),
        }
    }

    /// The non-negative integer property `key`.
    pub fn count(&self, key: &str) -> Result<Option<usize>> {
        self.get(key)?
            .map(|v| match v.as_f64() {
                Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 1e6 => Ok(n as usize),
                _ => Err(Failure::Options(format!(
                    "{} must be a non-negative integer",
                    self.field_name(key)
                ))),
            })
            .transpose()
    }

    /// The property `key` as a list of strings: an array of strings, or one string
    /// (which counts as a one-element list).
    pub fn strings(&self, key: &str) -> Result<Vec<String>> {
        let Some(value) = self.get(key)? else {
            return Ok(Vec::new());
        };
        if let Some(s) = value.as_string() {
            return Ok(vec![s]);
        }
        let bad = || {
            Failure::Options(format!(
                "{} must be a string or an array of strings",
                self.field_name(key)
            ))
        };
        if !Array::is_array(&value) {
            return Err(bad());
        }
        Array::from(&value)
            .iter()
            .map(|item| item.as_string().ok_or_else(bad))
            .collect()
    }

    /// The property `key` as a list of values: an array, or one value.
    pub fn list(&self, key: &str) -> Result<Vec<JsValue>> {
        Ok(match self.get(key)? {
            None => Vec::new(),
            Some(v) if Array::is_array(&v) => Array::from(&v).iter().collect(),
            Some(v) => vec![v],
        })
    }

    /// The list of option objects `key` (an array of objects, or one object).
    pub fn objects(&self, key: &str) -> Result<Vec<Options>> {
        self.list(key)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| Self::named(v, &format!("{}[{i}]", self.field_name(key))))
            .collect()
    }

    /// The file format named by `key` (required).
    pub fn format(&self, key: &str) -> Result<Format> {
        let name = self.string(key)?.ok_or_else(|| {
            Failure::Options(format!(
                "{} is required: one of yaml, json, dotenv, ini, binary, toml",
                self.field_name(key)
            ))
        })?;
        Format::from_name(&name).ok_or_else(|| {
            Failure::Options(format!(
                "{} '{name}' is not one of yaml, json, dotenv, ini, binary, toml",
                self.field_name(key)
            ))
        })
    }

    /// The selector given by at most one of the six selector options
    /// (`encryptedRegex`, `unencryptedSuffix`, …).
    pub fn selector(&self) -> Result<Option<Selector>> {
        const NAMES: [(&str, &str); 6] = [
            ("unencryptedSuffix", "unencrypted_suffix"),
            ("encryptedSuffix", "encrypted_suffix"),
            ("unencryptedRegex", "unencrypted_regex"),
            ("encryptedRegex", "encrypted_regex"),
            ("unencryptedCommentRegex", "unencrypted_comment_regex"),
            ("encryptedCommentRegex", "encrypted_comment_regex"),
        ];
        let mut found = None;
        for (option, field) in NAMES {
            if let Some(pattern) = self.string(option)? {
                if found.is_some() {
                    return Err(Failure::Options(
                        "at most one of unencryptedSuffix, encryptedSuffix, unencryptedRegex, \
                         encryptedRegex, unencryptedCommentRegex, encryptedCommentRegex may be given"
                            .into(),
                    ));
                }
                found = Selector::from_field(field, pattern);
            }
        }
        Ok(found)
    }
}
