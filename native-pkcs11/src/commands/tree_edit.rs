//! `set`, `unset` and `filestatus`: single-value edits with the file's own data key, and
//! whether a file is encrypted.

use super::layout::layout;
use super::{formats, keyring, open};
use crate::cli::{SetArgs, UnsetArgs};
use crate::failure::{CliResult, Failure};
use crate::io::{read_input, Destination};
use leafcrypt_core::file::OpenFile;
use leafcrypt_core::stores::json::parse_value;
use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::Value;
use leafcrypt_core::treepath;
use leafcrypt_core::ExitCode;
use std::io::Read;
use std::path::Path;

/// Where `set` takes the value from.
pub enum ValueSource<'a> {
    /// The JSON text given on the command line.
    Arg(&'a str),
    /// A file holding the JSON text (`--value-file`).
    File(&'a Path),
    /// Standard input (`--value-stdin`).
    Stdin,
}

/// `set` as parsed: checks its arguments as sops does, then runs [`set`].
pub fn set_command(a: &SetArgs, opts: &crate::cli::Opts) -> CliResult<()> {
    if a.value_file && a.value_stdin {
        return Err(Failure::new(
            ExitCode::ErrorGeneric,
            "Error: cannot use both --value-file and --value-stdin",
        ));
    }
    let source = match (&a.value, a.value_file, a.value_stdin) {
        (_, _, true) => ValueSource::Stdin,
        (Some(v), true, _) => ValueSource::File(Path::new(v)),
        (Some(v), false, _) => ValueSource::Arg(v),
        (None, _, _) => ValueSource::Stdin,
    };
    let complete = a.value.is_some() != a.value_stdin;
    let (Some(file), Some(path), true) = (&a.file, &a.path, complete) else {
        return Err(Failure::new(
            ExitCode::NoFileSpecified,
            if a.value_stdin {
                // sops's text, word for word.
                "Error: file specified, or index and value are missing. Need precisely 2 positional arguments since --value-stdin is used."
            } else {
                "Error: no file specified, or index and value are missing. Need precisely 3 positional arguments."
            },
        ));
    };
    set(file, path, source, a.idempotent, opts)
}

/// `unset` as parsed: checks its arguments as sops does, then runs [`unset`].
pub fn unset_command(a: &UnsetArgs, opts: &crate::cli::Opts) -> CliResult<()> {
    let (Some(file), Some(path)) = (&a.file, &a.path) else {
        return Err(Failure::new(
            ExitCode::NoFileSpecified,
            "Error: no file specified, or index is missing",
        ));
    };
    unset(file, path, a.idempotent, opts)
}

/// `set FILE PATH VALUE`: the value is JSON; the file keeps its data key and key groups.
/// With `idempotent`, an unchanged value leaves the file untouched.
pub fn set(
    file: &Path,
    path: &str,
    value: ValueSource<'_>,
    idempotent: bool,
    opts: &crate::cli::Opts,
) -> CliResult<()> {
    let text = match value {
        ValueSource::Arg(v) => v.as_bytes().to_vec(),
        ValueSource::File(p) => std::fs::read(p).map_err(|e| {
            Failure::new(
                ExitCode::CouldNotReadInputFile,
                format!("cannot read value file {}: {e}", p.display()),
            )
        })?,
        ValueSource::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| {
                Failure::new(
                    ExitCode::CouldNotReadInputFile,
                    format!("cannot read the value from stdin: {e}"),
                )
            })?;
            buf
        }
    };
    let name = file.display().to_string();
    let steps = set_path(path, &name)?;
    let value = parse_value(&text).map_err(|e| {
        Failure::new(
            ExitCode::ErrorInvalidSetFormat,
            format!("Value for --set is not valid JSON ({e})\n  in file: {name}"),
        )
    })?;
    edit(file, opts, idempotent, |f, format| {
        f.set_value(0, &steps, toml_integer(value, format, &text))
    })
}

/// JSON has one number type (sops reads `5433` as a float); in a TOML file, where floats
/// and integers are written differently, a whole number written without `.` or exponent
/// is set as an integer.
fn toml_integer(value: Value, format: Format, text: &[u8]) -> Value {
    let whole = std::str::from_utf8(text)
        .ok()
        .map(str::trim)
        .filter(|t| !t.contains(['.', 'e', 'E']))
        .and_then(|t| t.parse::<i64>().ok());
    match (format, &value, whole) {
        (Format::Toml, Value::Float(_), Some(i)) => Value::Int(i),
        _ => value,
    }
}

/// sops's legacy `--set '<path> <json value>' FILE`: the path ends at the first `] `.
/// A malformed argument is sops's `Invalid --set format` (exit 7).
pub fn legacy_set(file: &Path, arg: &str, opts: &crate::cli::Opts) -> CliResult<()> {
    let invalid = || Failure::new(ExitCode::ErrorInvalidSetFormat, "Invalid --set format");
    let (path, value) = arg
        .find("] ")
        .map(|i| (arg[..=i].trim_end_matches(' '), &arg[i + 2..]))
        .ok_or_else(invalid)?;
    if parse_value(value.as_bytes()).is_err() {
        return Err(Failure::new(
            ExitCode::ErrorInvalidSetFormat,
            "Value for --set is not valid JSON",
        ));
    }
    treepath::parse(path).map_err(|_| invalid())?;
    set(file, path, ValueSource::Arg(value), false, opts)
}

/// `unset FILE PATH`: removes a key or list element.
pub fn unset(file: &Path, path: &str, idempotent: bool, opts: &crate::cli::Opts) -> CliResult<()> {
    let steps = set_path(path, &file.display().to_string())?;
    edit(file, opts, idempotent, |f, _| {
        match f.unset_value(0, &steps) {
            Ok(()) => Ok(true),
            Err(_) if idempotent => Ok(false),
            Err(e) => Err(e),
        }
    })
}

/// Parses a `set`/`unset` path; a malformed one is sops's exit 7.
fn set_path(path: &str, name: &str) -> CliResult<Vec<treepath::Step>> {
    treepath::parse(path).map_err(|e| {
        Failure::new(
            ExitCode::ErrorInvalidSetFormat,
            format!("Invalid set index format: {e}\n  in file: {name}"),
        )
    })
}

/// Decrypts `file`, applies `change` to its first document, re-encrypts with the same data
/// key and writes it back atomically, unless the change reports no difference and
/// `idempotent` is set.
fn edit(
    file: &Path,
    opts: &crate::cli::Opts,
    idempotent: bool,
    change: impl FnOnce(&mut OpenFile, Format) -> leafcrypt_core::Result<bool>,
) -> CliResult<()> {
    crate::io::require_file(file, ExitCode::CouldNotReadInputFile)?;
    let input = read_input(Some(file), opts.filename_override.as_deref())?;
    let formats = formats(&input, opts)?;
    let keyring = keyring(opts)?;
    let mut opened = open(&input, opts, formats.0, &keyring)?;
    // A path that does not exist (unset) is sops's exit 1.
    let changed = change(&mut opened, formats.0).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("{e}\n  in file: {}", input.name),
        )
    })?;
    if !changed && idempotent {
        return Ok(());
    }
    let now = crate::clock::now_rfc3339();
    // As sops: the file is rewritten in the output format (`--output-type`).
    let out = opened
        .seal(&layout(formats, opts, None), &now)
        .map_err(|e| Failure::core(&input.name, e))?;
    crate::io::write_back(file, &out)
}

/// `filestatus FILE`: prints `{"encrypted":true}` or `{"encrypted":false}` as sops does.
pub fn filestatus(file: &Path, opts: &crate::cli::Opts) -> CliResult<()> {
    crate::io::require_file(file, ExitCode::ErrorGeneric)?;
    let input = read_input(Some(file), opts.filename_override.as_deref())?;
    let (in_fmt, _) = formats(&input, opts)?;
    // As sops: a file that does not parse is an error, one without metadata is plain.
    let doc = in_fmt.store(None).parse(&input.bytes).map_err(|e| {
        Failure::new(
            ExitCode::ErrorGeneric,
            format!("cannot load encrypted file: {e}\n  in file: {}", input.name),
        )
    })?;
    let encrypted = doc
        .metadata
        .is_some_and(|m| !m.mac.is_empty() || !m.key_groups.is_empty());
    Destination::Stdout.write(format!("{{\"encrypted\":{encrypted}}}\n").as_bytes())
}
