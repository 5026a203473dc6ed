//! `edit`: decrypt into a private temp file, run the user's editor, re-encrypt with the
//! **same** data key. Also the default action when only a file is given, as in sops.
//!
//! The temp file lives in a 0700 directory, is created 0600 and is removed on every exit
//! path (the directory guard runs on return and unwinding; SIGINT/SIGTERM/SIGHUP are
//! ignored by leafcrypt while the editor runs, so the editor takes them and we clean up).

use super::encrypt::encrypt_options;
use super::layout::layout;
use super::{formats, keyring, open, store};
use crate::cli::Opts;
use crate::discovery;
use crate::failure::{CliResult, Failure};
use crate::io::{read_input, Input};
use crate::private_dir::PrivateDir;
use leafcrypt_core::metadata::SOPS_VERSION;
use leafcrypt_core::stores::Format;
use leafcrypt_core::Error;
use leafcrypt_core::ExitCode;
use std::io::BufRead;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Command;
use zeroize::Zeroizing;

/// Edits `file` (creating it from a template when it does not exist).
pub fn run(file: &Path, opts: &Opts) -> CliResult<()> {
    if file.exists() {
        edit_existing(file, opts)
    } else {
        create_new(file, opts)
    }
}

fn edit_existing(file: &Path, opts: &Opts) -> CliResult<()> {
    let input = read_input(Some(file), opts.filename_override.as_deref())?;
    let (in_fmt, _) = formats(&input, opts)?;
    let keyring = keyring(opts)?;
    let mut opened = open(&input, opts, in_fmt, &keyring)?;
    let plain = Zeroizing::new(
        store(in_fmt, opts, None)
            .emit(&opened.tree, None)
            .map_err(|e| Failure::core(&input.name, e))?,
    );
    let Some(tree) = edit_loop(file, &plain, in_fmt, opts)? else {
        return Err(Failure::new(
            ExitCode::FileHasNotBeenModified,
            "File has not changed, exiting.",
        ));
    };
    opened.tree = tree;
    let now = crate::clock::now_rfc3339();
    opened
        .reencrypt(&now)
        .map_err(|e| Failure::core(&input.name, e))?;
    opened.metadata.version = SOPS_VERSION.to_string();
    let out = store(in_fmt, opts, None)
        .emit(&opened.tree, Some(&opened.metadata))
        .map_err(|e| Failure::core(&input.name, e))?;
    write_back(&input, &out)
}

fn create_new(file: &Path, opts: &Opts) -> CliResult<()> {
    let name = opts
        .filename_override
        .as_deref()
        .unwrap_or(file)
        .display()
        .to_string();
    let input = Input {
        path: Some(file.to_path_buf()),
        name,
        bytes: Vec::new(),
    };
    let (in_fmt, _) = formats(&input, opts)?;
    let config = discovery::load_for(opts, Some(file))?;
    let options = encrypt_options(&input.name, in_fmt, opts, config.as_ref())?;
    let template = template(in_fmt);
    let Some(tree) = edit_loop(file, template.as_bytes(), in_fmt, opts)? else {
        return Err(Failure::new(
            ExitCode::FileHasNotBeenModified,
            "File has not changed, exiting.",
        ));
    };
    let keyring = keyring(opts)?;
    let layout = layout((in_fmt, in_fmt), opts, None);
    let out = crate::runtime::block_on(options.encrypt_tree(tree, &layout, &keyring))
        .map_err(|e| Failure::core(&input.name, e))?;
    write_back(&input, &out)
}

fn write_back(input: &Input, out: &[u8]) -> CliResult<()> {
    let path = input
        .path
        .clone()
        .ok_or_else(|| Failure::new(ExitCode::ErrorGeneric, "edit needs a file"))?;
    crate::io::write_back(&path, out)
}

/// Writes `plain` to a private temp file named like `file`, runs the editor until the
/// content parses (or the user aborts), and returns the new tree; `None` when unchanged.
fn edit_loop(
    file: &Path,
    plain: &[u8],
    fmt: Format,
    opts: &Opts,
) -> CliResult<Option<leafcrypt_core::tree::Tree>> {
    let dir = PrivateDir::create()?;
    let name = file
        .file_name()
        .map(|n| n.to_owned())
        .unwrap_or_else(|| "tmp-file".into());
    let path = dir.path().join(name);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| {
                Failure::new(
                    ExitCode::CouldNotReadInputFile,
                    format!("cannot create the temp file: {e}"),
                )
            })?;
        f.write_all(plain).map_err(|e| {
            Failure::new(
                ExitCode::CouldNotReadInputFile,
                format!("cannot write the temp file: {e}"),
            )
        })?;
    }
    let editor = editor_command()?;
    loop {
        run_editor(&editor, &path, file)?;
        let edited = Zeroizing::new(std::fs::read(&path).map_err(|e| {
            Failure::new(
                ExitCode::CouldNotReadInputFile,
                format!("cannot read the edited file: {e}"),
            )
        })?);
        if edited.as_slice() == plain {
            return Ok(None);
        }
        let problem = match store(fmt, opts, None).parse(&edited) {
            Ok(doc) if doc.metadata.is_some() => Error::AlreadyEncrypted.to_string(),
            Ok(doc) => return Ok(Some(doc.tree)),
            Err(e) => e.to_string(),
        };
        eprintln!("Could not load the edited file: {problem}");
        eprintln!("Press Enter to return to the editor, or type 'a' then Enter (or end the input) to abort; the encrypted file is unchanged.");
        let mut answer = String::new();
        let n = std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| {
                Failure::new(
                    ExitCode::CouldNotReadInputFile,
                    format!("cannot read the answer: {e}"),
                )
            })?;
        if n == 0 || answer.trim().eq_ignore_ascii_case("a") {
            return Err(Failure::new(
                ExitCode::CouldNotReadInputFile,
                format!(
                    "Aborted: the edited content was invalid ({problem}); the file is unchanged."
                ),
            ));
        }
    }
}

/// `$SOPS_EDITOR`, else `$EDITOR`, split like a shell would (`code --wait`), else the first
/// of vim, nano, vi on the PATH.
fn editor_command() -> CliResult<Vec<String>> {
    for var in ["SOPS_EDITOR", "EDITOR"] {
        if let Ok(v) = std::env::var(var) {
            if !v.trim().is_empty() {
                return split_words(&v).ok_or_else(|| {
                    Failure::new(
                        ExitCode::ErrorGeneric,
                        format!("cannot parse ${var}: unbalanced quotes"),
                    )
                });
            }
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for candidate in ["vim", "nano", "vi"] {
        if std::env::split_paths(&path).any(|d| d.join(candidate).is_file()) {
            return Ok(vec![candidate.to_string()]);
        }
    }
    Err(Failure::new(
        ExitCode::ErrorGeneric,
        "no editor found: set SOPS_EDITOR or EDITOR",
    ))
}

/// Runs the editor on `path`; a failure is sops's exit 201, naming `file`.
fn run_editor(editor: &[String], path: &Path, file: &Path) -> CliResult<()> {
    let fail = |why: String| {
        Failure::new(
            ExitCode::NoEditorFound,
            format!(
                "Could not run editor: {why}; the file is unchanged\n  in file: {}",
                file.display()
            ),
        )
    };
    let mut child = Command::new(&editor[0])
        .args(&editor[1..])
        .arg(path)
        .spawn()
        .map_err(|e| fail(format!("cannot start '{}': {e}", editor[0])))?;
    let saved = ignore_signals();
    let status = child.wait();
    restore_signals(saved);
    let status = status.map_err(|e| fail(format!("waiting for it failed: {e}")))?;
    if !status.success() {
        return Err(fail(format!("it exited with {status}")));
    }
    Ok(())
}

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

fn ignore_signals() -> [libc::sighandler_t; 3] {
    // SAFETY: setting the disposition of standard signals to SIG_IGN in this process only;
    // the editor was spawned before and keeps its own dispositions.
    SIGNALS.map(|s| unsafe { libc::signal(s, libc::SIG_IGN) })
}

fn restore_signals(saved: [libc::sighandler_t; 3]) {
    for (s, h) in SIGNALS.iter().zip(saved) {
        // SAFETY: restoring the handler previously returned by signal().
        unsafe { libc::signal(*s, h) };
    }
}

/// Splits a command line into words: whitespace separates, `'…'` and `"…"` group, `\`
/// escapes the next character outside single quotes. `None` on unbalanced quotes.
fn split_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => cur.push(chars.next()?),
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    (!words.is_empty()).then_some(words)
}

/// The example content sops offers for a new file.
fn template(fmt: Format) -> &'static str {
    match fmt {
        Format::Yaml => "hello: Welcome to SOPS! Edit this file as you please!\nexample_key: example_value\n# Example comment\nexample_array:\n    - example_value1\n    - example_value2\nexample_number: 1234.56789\nexample_booleans:\n    - true\n    - false\n",
        Format::Json | Format::Binary => "{\n\t\"hello\": \"Welcome to SOPS! Edit this file as you please!\",\n\t\"example_key\": \"example_value\",\n\t\"example_array\": [\n\t\t\"example_value1\",\n\t\t\"example_value2\"\n\t],\n\t\"example_number\": 1234.56789,\n\t\"example_booleans\": [\n\t\ttrue,\n\t\tfalse\n\t]\n}\n",
        Format::Dotenv => "# This is an example file.\nhello=Welcome to SOPS! Edit this file as you please!\nexample_key=example_value\nexample_multiline=foo\\nbar\\nbaz\n",
        Format::Ini => "; This is an example file.\n[Welcome!]\nhello       = Welcome to SOPS! Edit this file as you please!\nexample_key = example_value\n",
        // leafcrypt's own (sops has no TOML store).
        Format::Toml => "# This is an example file.\nhello = \"Welcome to leafcrypt! Edit this file as you please!\"\nexample_key = \"example_value\"\nexample_array = [\"example_value1\", \"example_value2\"]\nexample_number = 1234.56789\nexample_booleans = [true, false]\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_editor_commands_like_a_shell() {
        assert_eq!(split_words("code --wait").unwrap(), ["code", "--wait"]);
        assert_eq!(
            split_words(r#"'my editor' -a "x y" z\ w"#).unwrap(),
            ["my editor", "-a", "x y", "z w"]
        );
        assert!(split_words("'open").is_none());
        assert!(split_words("   ").is_none());
    }

    #[test]
    fn templates_parse_in_their_format() {
        for fmt in [
            Format::Yaml,
            Format::Json,
            Format::Dotenv,
            Format::Ini,
            Format::Toml,
        ] {
            let doc = fmt.store(None).parse(template(fmt).as_bytes()).unwrap();
            assert!(doc.metadata.is_none());
            assert_eq!(
                fmt.store(None).emit(&doc.tree, None).unwrap(),
                template(fmt).as_bytes(),
                "{fmt:?}"
            );
        }
    }
}
