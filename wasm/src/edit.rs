//! Editing values of an encrypted file in place: decrypt (MAC verified), set the values,
//! re-encrypt with the same data key. Unchanged values keep their ciphertext (their IVs
//! are reused, as sops does), key entries stay as they are, `lastmodified` and the MAC are
//! renewed, so the result opens with the same keys in sops and leafcrypt.
//!
//! ```text
//! setValues(input, { format, indent?, age?, kek?, edits: Edit[] })
//! Edit = { path: '["db"]["password"]', value: string | number | bigint | boolean | null,
//!          type?: "str" | "int" | "float" | "bool" | "time" | "null", document?: number }
//! ```
//!
//! With a `type`, a string `value` is parsed as that type the way sops decodes a plaintext
//! (`"42"` as `int`, `"true"` as `bool`); without one, the JS type decides. A path that
//! does not exist yet is created, as `sops set` does.

use crate::engine;
use crate::failure::{Failure, Result};
use crate::options::Options;
use js_sys::BigInt;
use leafcrypt_core::cipher::{self, ValueType};
use leafcrypt_core::file::{Layout, OpenFile};
use leafcrypt_core::tree::Value;
use leafcrypt_core::treepath::{self, Step};
use wasm_bindgen::prelude::*;

/// Sets values of an encrypted file and re-encrypts it with its own data key; resolves to
/// the new file's bytes. A file whose MAC does not match is refused (`MAC_MISMATCH`):
/// editing must not give a tampered file a fresh MAC.
#[wasm_bindgen(js_name = setValues)]
pub async fn set_values(input: Vec<u8>, options: JsValue) -> Result<Vec<u8>, JsValue> {
    edit(&input, options).await.map_err(Failure::into_js)
}

/// One requested change.
struct Edit {
    document: usize,
    steps: Vec<Step>,
    value: Value,
}

async fn edit(input: &[u8], options: JsValue) -> Result<Vec<u8>> {
    let options = Options::new(options)?;
    let layout = Layout {
        indent: options.count("indent")?,
        ..Layout::new(options.format("format")?)
    };
    let edits = read_edits(&options)?;
    if edits.is_empty() {
        return Err(Failure::Options("options.edits lists no change".into()));
    }
    let mut opened = engine::open(input, &options, true).await?;
    apply(&mut opened, edits)?;
    Ok(opened.seal(&layout, &engine::now())?)
}

fn apply(opened: &mut OpenFile, edits: Vec<Edit>) -> Result<()> {
    for edit in edits {
        let count = opened.tree.branches.len();
        if opened.document_mut(edit.document).is_none() {
            return Err(Failure::Options(format!(
                "options.edits: document {} does not exist (the file has {count})",
                edit.document
            )));
        }
        opened.set_value(edit.document, &edit.steps, edit.value)?;
    }
    Ok(())
}

fn read_edits(options: &Options) -> Result<Vec<Edit>> {
    options
        .objects("edits")?
        .iter()
        .enumerate()
        .map(|(i, edit)| {
            let name = format!("options.edits[{i}]");
            let path = edit
                .string("path")?
                .ok_or_else(|| Failure::Options(format!("{name}.path is required")))?;
            let steps = treepath::parse(&path)?;
            let ty = edit.string("type")?;
            let value = match (edit.get("value")?, ty.as_deref()) {
                (_, Some("null")) => Value::Null,
                (None, _) => {
                    return Err(Failure::Options(format!(
                        "{name}.value is required (type \"null\" sets null)"
                    )))
                }
                (Some(raw), Some(ty)) => typed_value(&raw, ty, &name)?,
                (Some(raw), None) => js_value(&raw, &name)?,
            };
            Ok(Edit {
                document: edit.count("document")?.unwrap_or(0),
                steps,
                value,
            })
        })
        .collect()
}

/// A value from its text and a sops type name, decoded as sops decodes a plaintext.
fn typed_value(raw: &JsValue, ty: &str, name: &str) -> Result<Value> {
    let text = match raw.as_string() {
        Some(s) => s,
        None => js_value(raw, name).map(|v| text_of(&v))?,
    };
    parse_typed(&text, ty).map_err(|why| Failure::Options(format!("{name}: {why}")))
}

/// [`typed_value`]'s decoding, in Rust types.
fn parse_typed(text: &str, ty: &str) -> std::result::Result<Value, String> {
    let value_type = match ty {
        "str" | "int" | "float" | "bool" | "time" => {
            ValueType::from_name(ty).map_err(|e| e.to_string())?
        }
        other => {
            return Err(format!(
                "type '{other}' is not one of str, int, float, bool, time, null"
            ))
        }
    };
    cipher::decode(text.as_bytes(), value_type)
        .map_err(|e| format!("'{text}' is not a valid {ty}: {e}"))
}

/// The plaintext of a scalar (what a typed edit parses).
fn text_of(value: &Value) -> String {
    cipher::plaintext(value)
        .map(|(p, _)| String::from_utf8_lossy(&p).into_owned())
        .unwrap_or_default()
}

/// A value from a JS string, boolean, number or bigint.
fn js_value(raw: &JsValue, name: &str) -> Result<Value> {
    if let Some(s) = raw.as_string() {
        return Ok(Value::Str(s));
    }
    if let Some(b) = raw.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = raw.as_f64() {
        let integral = n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0;
        return Ok(if integral {
            Value::Int(n as i64)
        } else {
            Value::Float(n)
        });
    }
    if raw.is_bigint() {
        let text = String::from(BigInt::from(raw.clone()).to_string(10).unwrap_or_default());
        return text.parse().map(Value::Int).map_err(|_| {
            Failure::Options(format!("{name}.value is out of the 64-bit integer range"))
        });
    }
    Err(Failure::Options(format!(
        "{name}.value must be a string, number, bigint, boolean or null"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_decodes_like_sops() {
        assert_eq!(parse_typed("42", "int"), Ok(Value::Int(42)));
        assert_eq!(parse_typed("true", "bool"), Ok(Value::Bool(true)));
        assert_eq!(parse_typed("1.5", "float"), Ok(Value::Float(1.5)));
        assert_eq!(parse_typed("x y", "str"), Ok(Value::Str("x y".into())));
        assert_eq!(
            parse_typed("2024-01-02T03:04:05Z", "time"),
            Ok(Value::Time("2024-01-02T03:04:05Z".into()))
        );
        assert!(parse_typed("4x", "int")
            .unwrap_err()
            .contains("not a valid int"));
        assert!(parse_typed("x", "comment").is_err());
        assert!(parse_typed("x", "map").is_err());
    }
}
