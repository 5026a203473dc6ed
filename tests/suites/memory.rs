//! Peak memory of the worst accepted input (issue 12): leafcrypt runs under `ulimit -v`
//! (address space, which bounds the heap and every reservation) set to its own baseline —
//! measured on a tiny file, so the 64 MiB work thread's stack and the allocator's arenas are
//! in it — plus a small multiple of the input (decrypt) or of the output (encrypt).
//!
//! The bound (README, *Security*): address space ≤ baseline + 8 × the larger of input and
//! output. The encrypted form of a value is ~60 times the 2 bytes of `1,` in a flow list, so
//! for encrypt the output is what grows. Inputs beyond the parsers' limits (nesting, aliasing)
//! fail cleanly under the same limit: sops's exit code, never an abort (134) on a failed allocation.

use leafcrypt_tests::harness::{clean_env, key_file, recipient, Tool, Workdir};
use std::process::{Command, Stdio};

/// The multiple of the input (decrypt) or output (encrypt) allowed above the baseline.
const FACTOR: u64 = 8;

/// What a run under a limit did.
struct Limited {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs leafcrypt `args` in `dir` under `ulimit -v kib` (0: unlimited).
fn limited(dir: &Workdir, kib: u64, args: &[&str]) -> Limited {
    let limit = if kib == 0 {
        "unlimited".to_string()
    } else {
        kib.to_string()
    };
    let home = dir.join(".home");
    let _ = std::fs::create_dir_all(&home);
    let mut cmd = Command::new("sh");
    clean_env(&mut cmd, &home);
    let out = cmd
        .arg("-c")
        .arg(format!("ulimit -v {limit} && exec \"$0\" \"$@\""))
        .arg(Tool::Leafcrypt.binary())
        .args(args)
        .env("SOPS_AGE_KEY_FILE", key_file(1))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("sh runs");
    Limited {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The smallest limit (KiB, to 1 MiB) under which `decrypt` of a tiny file succeeds, above
/// the 64 MiB the work thread's stack needs (below it leafcrypt falls back to the main
/// thread, which is not the configuration being measured).
fn baseline_kib(dir: &Workdir) -> u64 {
    dir.write("tiny.yaml", "a: b\n");
    let enc = limited(dir, 0, &["encrypt", "--age", recipient(1), "tiny.yaml"]);
    assert_eq!(enc.code, 0, "{}", enc.stderr);
    dir.write("tiny.enc.yaml", &enc.stdout);
    let (mut lo, mut hi) = (80 << 10, 1 << 20);
    assert_eq!(limited(dir, hi, &["decrypt", "tiny.enc.yaml"]).code, 0);
    while hi - lo > 1024 {
        let mid = (lo + hi) / 2;
        if limited(dir, mid, &["decrypt", "tiny.enc.yaml"]).code == 0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

fn kib(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(1024)
}

/// Encrypts `name` without a limit; returns the encrypted bytes.
fn encrypt(dir: &Workdir, name: &str) -> Vec<u8> {
    let out = limited(dir, 0, &["encrypt", "--age", recipient(1), name]);
    assert_eq!(out.code, 0, "encrypt {name}: {}", out.stderr);
    out.stdout
}

#[test]
fn peak_memory_stays_within_a_small_multiple_of_the_input() {
    let dir = Workdir::new();
    let base = baseline_kib(&dir);
    eprintln!("baseline: {} MiB of address space", base >> 10);
    assert!(base < 256 << 10, "baseline {base} KiB");

    // decrypt: a flat map of short keys is the densest encrypted file (one envelope per
    // ~12 bytes of plaintext); ~24 MB here, so the input's share dominates the baseline.
    let plain: String = (0..200_000).map(|i| format!("k{i}: v\n")).collect();
    dir.write("flat.yaml", &plain);
    let enc = encrypt(&dir, "flat.yaml");
    assert!(enc.len() > 20_000_000, "{} bytes", enc.len());
    dir.write("flat.enc.yaml", &enc);
    let limit = base + FACTOR * kib(enc.len());
    let out = limited(&dir, limit, &["decrypt", "flat.enc.yaml"]);
    assert_eq!(out.code, 0, "decrypt under {limit} KiB: {}", out.stderr);
    assert!(out.stdout == plain.as_bytes(), "decrypts to the plaintext");

    // encrypt: a long flow list of one-character values has the largest output per input
    // byte; and the largest alias expansion the budget allows (1 MiB free, then 4 times the
    // document: a 2 MB scalar and four aliases of it).
    let flow = format!("a: [{}1]\n", "1,".repeat(150_000));
    dir.write("flow.yaml", &flow);
    let alias = format!("a: &a {}\nb: [*a, *a, *a, *a]\n", "x".repeat(2_000_000));
    dir.write("alias.yaml", &alias);
    for name in ["flow.yaml", "alias.yaml"] {
        let size = encrypt(&dir, name).len();
        let limit = base + FACTOR * kib(size);
        let out = limited(&dir, limit, &["encrypt", "--age", recipient(1), name]);
        assert_eq!(
            out.code, 0,
            "encrypt {name} under {limit} KiB: {}",
            out.stderr
        );
        // The whole file (its length varies by a few bytes: age's random grease stanza).
        assert!(
            out.stdout.len().abs_diff(size) < 1000
                && out.stdout.ends_with(b"    version: 3.11.0\n"),
            "{name}: the whole file"
        );
    }

    // Beyond the limits, under the same address space: refused, never an abort.
    let bombs = [
        (
            "aliases.yaml",
            format!("a: &a {}\nb: [*a, *a, *a, *a, *a]\n", "x".repeat(2_000_000)),
            "yaml: document contains excessive aliasing",
        ),
        (
            "text-bomb.yaml",
            format!(
                "a: &a {}\nb: [{}]\n",
                "x".repeat(1_000_000),
                vec!["*a"; 100_000].join(",")
            ),
            "yaml: document contains excessive aliasing",
        ),
        (
            "deep.yaml",
            format!("a: {}{}\n", "[".repeat(200_000), "]".repeat(200_000)),
            "exceeded max depth of",
        ),
    ];
    for (name, src, message) in bombs {
        dir.write(name, &src);
        for args in [
            vec!["encrypt", "--age", recipient(1), name],
            vec!["decrypt", name],
        ] {
            let limit = base + FACTOR * kib(src.len());
            let out = limited(&dir, limit, &args);
            // sops's codes for these (hostile.rs): 2 on encrypt, 1 or 2 on decrypt.
            assert!(
                matches!(out.code, 1 | 2),
                "{args:?} under {limit} KiB: exit {}: {}",
                out.code,
                out.stderr
            );
            assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        }
    }
}
