//! Writes the benchmark inputs into a directory:
//! `services-<N>.yaml` and `services-<N>.json` for each leaf count, and `blob-<M>mib.bin`.
//!
//! ```text
//! cargo run --release -p leafcrypt-core --example gen_bench -- OUT_DIR [--leaves 1000,10000,100000] [--binary-mib 50]
//! ```
//!
//! The data is deterministic (fixed seed): the same command always writes the same bytes.

#[path = "../benches/support/gen.rs"]
mod gen;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What to write, from the command line.
struct Plan {
    out: PathBuf,
    leaves: Vec<usize>,
    binary_mib: usize,
}

const USAGE: &str =
    "usage: gen_bench OUT_DIR [--leaves 1000,10000,100000] [--binary-mib 50] (--binary-mib 0: no blob)";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Plan, String> {
    let mut out = None;
    let mut leaves = vec![1_000, 10_000, 100_000];
    let mut binary_mib = 50;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--leaves" => {
                let list = args.next().ok_or("--leaves needs a value")?;
                leaves = list
                    .split(',')
                    .map(|n| {
                        n.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("--leaves {n:?}: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--binary-mib" => {
                let n = args.next().ok_or("--binary-mib needs a value")?;
                binary_mib = n.parse().map_err(|e| format!("--binary-mib {n:?}: {e}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            _ if out.is_none() && !arg.starts_with('-') => out = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| USAGE.to_string())?;
    Ok(Plan {
        out,
        leaves,
        binary_mib,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("{} ({} bytes)", path.display(), bytes.len());
    Ok(())
}

fn run(plan: &Plan) -> Result<(), String> {
    std::fs::create_dir_all(&plan.out).map_err(|e| format!("{}: {e}", plan.out.display()))?;
    for &n in &plan.leaves {
        let label = gen::label(n);
        write(
            &plan.out.join(format!("services-{label}.yaml")),
            gen::yaml(n).as_bytes(),
        )?;
        write(
            &plan.out.join(format!("services-{label}.json")),
            gen::json(n).as_bytes(),
        )?;
    }
    if plan.binary_mib > 0 {
        let blob = gen::binary(plan.binary_mib << 20);
        write(
            &plan.out.join(format!("blob-{}mib.bin", plan.binary_mib)),
            &blob,
        )?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)).and_then(|plan| run(&plan)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_bench: {e}");
            ExitCode::from(2)
        }
    }
}
