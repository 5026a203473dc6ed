//! Formats, indentation and output destination from the flags, shared by the commands.

use crate::cli::Opts;
use crate::discovery;
use crate::failure::{CliResult, Failure};
use crate::io::{Destination, Input};
use leafcrypt_core::file::Layout;
use leafcrypt_core::ops::DecryptionOrder;
use leafcrypt_core::stores::{Format, Store};
use leafcrypt_core::ExitCode;

/// `--decryption-order` / `SOPS_DECRYPTION_ORDER`, validated by the core.
pub(crate) fn decryption_order(opts: &Opts) -> CliResult<DecryptionOrder> {
    DecryptionOrder::parse(opts.decryption_order.as_deref().unwrap_or_default())
        .map_err(|e| Failure::core("", e))
}

/// Input and output formats from the flags, else the file name.
pub(crate) fn formats(input: &Input, opts: &Opts) -> CliResult<(Format, Format)> {
    let parse = |name: &str| {
        Format::from_name(name).ok_or_else(|| {
            Failure::new(
                ExitCode::ErrorConflictingParameters,
                format!("unknown format '{name}': use yaml, json, dotenv, ini, binary or toml (a leafcrypt extension)"),
            )
        })
    };
    let input_format =
        match &opts.input_type {
            Some(t) => parse(t)?,
            None if input.name.is_empty() => return Err(Failure::new(
                ExitCode::ErrorConflictingParameters,
                "reading from stdin needs --input-type or --filename-override to know the format",
            )),
            None => Format::from_path_and_content(&input.name, &input.bytes),
        };
    let output_format = match &opts.output_type {
        Some(t) => parse(t)?,
        None => input_format,
    };
    Ok((input_format, output_format))
}

/// The indentation `format` is written with: `--indent`, else `.sops.yaml`'s.
pub(crate) fn indent(
    format: Format,
    opts: &Opts,
    config: Option<&discovery::Loaded>,
) -> Option<usize> {
    let from_config = config.and_then(|c| match format {
        Format::Yaml => c.config.yaml_indent,
        Format::Json => c.config.json_indent,
        Format::Binary => c.config.json_binary_indent,
        _ => None,
    });
    opts.indent.filter(|i| *i > 0).or(from_config)
}

/// The store that writes `format` (indentation from the flags, else the config).
pub(crate) fn store(
    format: Format,
    opts: &Opts,
    config: Option<&discovery::Loaded>,
) -> Box<dyn Store> {
    format.store(indent(format, opts, config))
}

/// The core's layout for reading `input` and writing `output`.
pub(crate) fn layout(
    (input, output): (Format, Format),
    opts: &Opts,
    config: Option<&discovery::Loaded>,
) -> Layout {
    Layout {
        input,
        output,
        indent: indent(output, opts, config),
    }
}

/// Where the result goes: the file itself (`-i`), `--output`, else stdout.
pub(crate) fn destination(input: &Input, opts: &Opts, private: bool) -> CliResult<Destination> {
    if opts.in_place {
        let path = input.path.clone().ok_or_else(|| {
            Failure::new(
                ExitCode::ErrorConflictingParameters,
                "--in-place needs a file, not stdin",
            )
        })?;
        Ok(Destination::File { path, private })
    } else if let Some(path) = &opts.output {
        Ok(Destination::File {
            path: path.clone(),
            private,
        })
    } else {
        Ok(Destination::Stdout)
    }
}

/// sops's line after it rewrote a file in place.
pub(crate) fn written(opts: &Opts) {
    if opts.in_place {
        crate::log::sops(
            "CMD",
            crate::log::Level::Info,
            "File written successfully",
            &[],
        );
    }
}
