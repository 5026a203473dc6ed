//! A drop-in for KSOPS (viaduct-ai/kustomize-sops): the kustomize generator that decrypts
//! sops files, run as `leafcrypt ksops …` or under the name `ksops`. The modes are KSOPS's:
//!
//! - no argument, stdin a pipe: a KRM exec function ([`krm`]);
//! - one argument: a legacy exec plugin; the argument is the generator's configuration
//!   file, the output a multi-document YAML stream;
//! - `install [--with-kustomize] DIR`: copies this binary to `DIR/ksops` ([`install`]).
//!
//! The configuration schema is in [`config`], the generation in [`generate`].

pub mod config;
mod dotenv;
pub mod generate;
mod install;
pub mod krm;

use crate::cli::Opts;
use crate::commands::keyring;
use generate::Part;
use leafcrypt_core::keysource::Keyring;
use leafcrypt_core::stores::Format;
use std::ffi::OsString;
use std::io::Read;
use std::process::ExitCode;

/// Environment: how many files are decrypted at once (KSOPS's default: 20).
const CONCURRENCY_VAR: &str = "KSOPS_CONCURRENCY_LIMIT";
/// Environment (argyle fork): placeholders instead of decrypted values.
const DUMMY_VAR: &str = "KSOPS_GENERATE_DUMMY_SECRETS";

/// Settings from the environment.
pub struct Settings {
    /// Files decrypted at once.
    pub limit: usize,
    /// Dummy secrets instead of decryption.
    pub dummy: bool,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let limit = match std::env::var(CONCURRENCY_VAR) {
            Err(_) => 20,
            Ok(v) if v.is_empty() => 20,
            Ok(v) => match v.parse::<i64>() {
                Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => {
                    return Err(format!(
                        "error parsing {CONCURRENCY_VAR} value {v:?}: a positive integer is needed"
                    ))
                }
            },
        };
        let dummy = match std::env::var(DUMMY_VAR).as_deref() {
            Err(_) | Ok("") => false,
            Ok("1" | "t" | "T" | "true" | "TRUE" | "True") => true,
            Ok("0" | "f" | "F" | "false" | "FALSE" | "False") => false,
            Ok(v) => {
                return Err(format!(
                    "error converting string to boolean, please use either false or true : {DUMMY_VAR}={v:?}"
                ))
            }
        };
        Ok(Settings { limit, dummy })
    }
}

/// The usage KSOPS prints (on stderr, exit 1) when the invocation fits no mode.
const HELP: &str = "
KSOPS (leafcrypt) is a kustomize plugin for SOPS encrypted resources.
It supports both legacy and KRM style exec kustomize functions.

kustomize Usage:
- kustomize build --enable-alpha-plugins --enable-exec
- kubectl kustomize --enable-alpha-plugins (legacy exec plugin only)

Standalone Usage :
- Legacy: ksops secret-generator.yaml
- KRM: cat resource-list.yaml | ksops

Install Usage (copy ksops binary to a target directory):
- ksops install /custom-tools
- ksops install --with-kustomize /custom-tools
";

/// Runs KSOPS's command line `args` (what follows `ksops`); `opts` are leafcrypt's
/// options (decryption order, key flags) from the environment.
pub fn main(args: &[OsString], opts: &Opts) -> ExitCode {
    if args.first().is_some_and(|a| a == "install") {
        return install::run(&args[1..]);
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let keys = || -> Result<Keyring, String> {
        if settings.dummy {
            return Ok(Keyring::new());
        }
        keyring(opts).map_err(|f| f.message)
    };
    match args {
        [] if stdin_is_pipe() => {
            let mut input = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut input) {
                return failed(&format!("reading stdin: {e}"));
            }
            let (out, error) = krm::process(&input, &settings, &keys, opts);
            let written = crate::io::Destination::Stdout.write(&out);
            match (error, written) {
                (None, Ok(())) => ExitCode::SUCCESS,
                (Some(e), _) => failed(&e),
                (None, Err(f)) => failed(&f.message),
            }
        }
        [arg] if arg != "-h" && arg != "--help" => legacy(arg, &settings, &keys, opts),
        _ => {
            eprint!("{HELP}");
            ExitCode::FAILURE
        }
    }
}

/// KSOPS's failure: `unable to generate manifests: …` on stderr, exit 1.
fn failed(message: &str) -> ExitCode {
    eprintln!("unable to generate manifests: {message}");
    ExitCode::FAILURE
}

/// The legacy exec plugin: the generator configuration is the file `path`.
fn legacy(
    path: &OsString,
    settings: &Settings,
    keys: &dyn Fn() -> Result<Keyring, String>,
    opts: &Opts,
) -> ExitCode {
    let shown = path.to_string_lossy();
    let Ok(raw) = std::fs::read(path) else {
        eprintln!("unable to read in manifest: {shown}");
        return ExitCode::FAILURE;
    };
    let doc = match Format::Yaml.store(None).parse(&raw) {
        Ok(doc) => doc.tree.branches.into_iter().next().unwrap_or_default(),
        Err(e) => {
            return failed(&format!(
                "error unmarshalling manifest content of {shown}: {e}"
            ))
        }
    };
    let mut origin = krm::origin(&doc);
    if let Some(root) = std::env::var_os("KUSTOMIZE_PLUGIN_CONFIG_ROOT") {
        origin.push_str(&format!(" in {}", root.to_string_lossy()));
    }
    let generator = match config::Generator::from_map(&doc) {
        Ok(g) => g,
        Err(e) => return failed(&format!("{origin}: {e}")),
    };
    let keyring = match keys() {
        Ok(k) => k,
        Err(e) => return failed(&format!("{origin}: {e}")),
    };
    let generated = match generate::run(&generator, settings, &keyring, opts) {
        Ok(g) => g,
        Err(e) => return failed(&format!("{origin}: {e}")),
    };
    match crate::io::Destination::Stdout.write(&stream(generated.parts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => failed(&f.message),
    }
}

/// KSOPS's legacy output: the parts joined by `---` lines, no trailing separator.
fn stream(parts: Vec<Part>) -> Vec<u8> {
    let count = parts.len();
    let mut out = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        let last = i + 1 == count;
        match part {
            Part::Manifest { plain, .. } => {
                out.extend_from_slice(&plain);
                if !last {
                    out.extend_from_slice(b"\n---\n");
                }
            }
            Part::Secret(map) => {
                let tree = leafcrypt_core::tree::Tree {
                    branches: vec![map],
                };
                out.extend(
                    Format::Yaml
                        .store(Some(2))
                        .emit(&tree, None)
                        .unwrap_or_default(),
                );
                if !last {
                    out.extend_from_slice(b"---\n");
                }
            }
        }
    }
    out
}

/// Whether stdin is not a character device (KSOPS's test for the KRM mode).
fn stdin_is_pipe() -> bool {
    // SAFETY: fstat only writes into the zeroed struct it is given.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd 0 and a valid pointer to `st`.
    let rc = unsafe { libc::fstat(0, &mut st) };
    rc == 0 && (st.st_mode & libc::S_IFMT) != libc::S_IFCHR
}
