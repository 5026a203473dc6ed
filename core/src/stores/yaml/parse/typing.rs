//! Typing scalars: plain ones resolved as go-yaml does, tags applied, and the walk
//! errors sops reports later for values and keys it cannot walk.

use super::super::scalar::{self, resolve, Resolved};
use super::{perr, PResult, Parser, Props, ScalarTok};
use crate::error::Error;
use crate::tree::Value;
use base64::Engine;

impl<'a> Parser<'a> {
    pub(super) fn record_walk_error(&mut self, message: String) {
        if self.walk_error.is_none() {
            self.walk_error = Some(Error::EncryptTree {
                path: String::new(),
                message,
            });
        }
    }

    pub(super) fn non_string_key(&mut self, value: &Value, text: &str) {
        let shown = match value {
            Value::Int(i) => format!("(type int): %!s(int={i})"),
            Value::Float(f) => format!(
                "(type float64): %!s(float64={})",
                crate::numfmt::go_float_yaml(*f)
            ),
            Value::Bool(b) => format!("(type bool): %!s(bool={b})"),
            Value::Null => "(type <nil>): %!s(<nil>)".to_string(),
            Value::Time(_) => {
                let go = scalar::parse_timestamp(text)
                    .map(|t| t.go_string)
                    .unwrap_or_default();
                format!("(type time.Time): {go}")
            }
            Value::Map(_) => "(type map[string]interface {}): map[]".to_string(),
            _ => format!("(type string): {text}"),
        };
        self.record_walk_error(format!(
            "Error walking tree: Tree contains a non-string key {shown}. Only string keys aresupported"
        ));
    }

    /// Types a scalar token: plain scalars are resolved, quoted ones are strings, tags
    /// override both.
    pub(super) fn typed_scalar(&mut self, tok: &ScalarTok, props: &Props) -> PResult<Value> {
        match props.tag.as_deref() {
            None => {}
            Some(tag) => return self.apply_tag(&tok.text, tag, tok.line),
        }
        if !tok.plain {
            return Ok(Value::Str(tok.text.clone()));
        }
        Ok(self.resolved_value(&tok.text))
    }

    pub(super) fn resolved_value(&mut self, text: &str) -> Value {
        match resolve(text) {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(i) => Value::Int(i),
            Resolved::Uint(_) => {
                self.record_walk_error(
                    "Error walking tree: Cannot walk value, unknown type: uint64".into(),
                );
                Value::Str(text.to_string())
            }
            Resolved::Float(f) => Value::Float(f),
            Resolved::Time(t) => Value::Time(t.rfc3339),
            Resolved::Str | Resolved::Merge => Value::Str(text.to_string()),
        }
    }

    pub(super) fn apply_tag_to_string(
        &mut self,
        text: String,
        props: &Props,
        line: usize,
    ) -> PResult<Value> {
        match props.tag.as_deref() {
            None => Ok(Value::Str(text)),
            Some(tag) => self.apply_tag(&text, tag, line),
        }
    }

    pub(super) fn apply_tag(&mut self, text: &str, tag: &str, line: usize) -> PResult<Value> {
        let tag = tag
            .strip_prefix("!<tag:yaml.org,2002:")
            .and_then(|t| t.strip_suffix('>'))
            .map_or(tag, |t| t);
        let short = tag.strip_prefix("!!").unwrap_or(tag);
        let mismatch = || perr(line, format!("cannot decode !!str `{text}` as a !!{short}"));
        let value = match short {
            "str" => Value::Str(text.to_string()),
            "binary" => {
                let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(cleaned)
                    .map_err(|_| {
                        perr(
                            line,
                            "!!binary value contains invalid base64 data".to_string(),
                        )
                    })?;
                match String::from_utf8(bytes) {
                    Ok(s) => Value::Str(s),
                    Err(e) => Value::Bytes(e.into_bytes()),
                }
            }
            "int" => match self.resolved_value(text) {
                v @ Value::Int(_) => v,
                _ => return Err(mismatch()),
            },
            "float" => match self.resolved_value(text) {
                Value::Int(i) => Value::Float(i as f64),
                v @ Value::Float(_) => v,
                _ => return Err(mismatch()),
            },
            "bool" => match self.resolved_value(text) {
                v @ Value::Bool(_) => v,
                _ => return Err(mismatch()),
            },
            "null" => match self.resolved_value(text) {
                Value::Null => Value::Null,
                _ => return Err(mismatch()),
            },
            "timestamp" => match scalar::parse_timestamp(text) {
                Some(t) => Value::Time(t.rfc3339),
                None => return Err(mismatch()),
            },
            _ if tag.starts_with("!!") => self.resolved_value(text),
            // Local tags (`!mytag`) are dropped; the scalar stays the text it was written as.
            _ => Value::Str(text.to_string()),
        };
        Ok(value)
    }
}
