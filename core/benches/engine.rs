//! Engine benchmarks: parse, emit, and the whole encrypt and decrypt flows on generated
//! service-config trees (1k, 10k and 100k leaf values, YAML and JSON), plus a 50 MiB binary
//! file. Run with `cargo bench -p leafcrypt-core --bench engine [-- FILTER]`.
//!
//! "Whole flow" means what the CLI does between reading and writing the file: parse, the
//! operation (data key, per-value AES-GCM, MAC, age wrap or unwrap), emit. The `stages`
//! groups time those steps one by one on the largest tree.
//!
//! Outside `cargo bench` (e.g. `cargo test --all-targets`, which runs every benchmark once
//! as a smoke test) only the 1k trees and a 1 MiB blob are used, so debug builds stay quick.

#[path = "support/gen.rs"]
mod gen;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use leafcrypt_core::keysource::age::AgeSource;
use leafcrypt_core::keysource::{KeyEntry, Keyring};
use leafcrypt_core::metadata::KeyGroup;
use leafcrypt_core::ops::{self, DecryptOptions, EncryptOptions};
use leafcrypt_core::stores::Format;
use std::time::Duration;

/// The throwaway age identity of the test vectors (also holds its recipient).
const IDENTITY: &str = include_str!("../../tests/vectors/age/key1.txt");

/// A fixed `lastmodified` so that runs are comparable.
const NOW: &str = "2026-11-29T00:00:00Z";

/// The tree formats benchmarked.
const FORMATS: [Format; 2] = [Format::Yaml, Format::Json];

/// Decryption as `leafcrypt decrypt` runs it: nothing is re-encrypted afterwards, so no
/// IV stash is kept.
fn decrypt_opts() -> DecryptOptions {
    DecryptOptions {
        skip_iv_stash: true,
        ..DecryptOptions::default()
    }
}

/// Inputs and keys for one run.
struct Fixture {
    keyring: Keyring,
    tree_opts: EncryptOptions,
    binary_opts: EncryptOptions,
    leaves: Vec<usize>,
    blob_len: usize,
}

impl Fixture {
    fn new() -> Self {
        // `cargo bench` passes `--bench`; anything else is a one-shot smoke run.
        let full = std::env::args().any(|a| a == "--bench");
        let recipient = IDENTITY
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .expect("key1.txt names its public key")
            .trim()
            .to_string();
        let source =
            AgeSource::from_identities_text(IDENTITY).expect("key1.txt is a valid age identity");
        let tree_opts = EncryptOptions {
            key_groups: vec![KeyGroup {
                keys: vec![KeyEntry::new("age").with("recipient", recipient)],
            }],
            store_selector: true,
            now: NOW.to_string(),
            ..EncryptOptions::default()
        };
        let binary_opts = EncryptOptions {
            store_selector: false,
            ..tree_opts.clone()
        };
        Self {
            keyring: Keyring::new().with(Box::new(source)),
            tree_opts,
            binary_opts,
            leaves: if full {
                vec![1_000, 10_000, 100_000]
            } else {
                vec![1_000]
            },
            blob_len: if full { 50 << 20 } else { 1 << 20 },
        }
    }

    /// Plaintext input of `format` with `leaves` leaf values.
    fn plain(format: Format, leaves: usize) -> Vec<u8> {
        match format {
            Format::Json => gen::json(leaves).into_bytes(),
            _ => gen::yaml(leaves).into_bytes(),
        }
    }
}

/// Parse, encrypt, emit: `sops encrypt` minus the file I/O.
fn encrypt_flow(format: Format, input: &[u8], opts: &EncryptOptions, keyring: &Keyring) -> Vec<u8> {
    let store = format.store(None);
    let mut doc = store.parse(input).expect("benchmark input parses");
    let metadata = pollster::block_on(ops::encrypt(&mut doc.tree, opts, keyring)).expect("encrypt");
    store
        .emit(&doc.tree, Some(&metadata))
        .expect("emit encrypted")
}

/// Parse, decrypt (MAC verified), emit: `sops decrypt` minus the file I/O.
fn decrypt_flow(format: Format, input: &[u8], keyring: &Keyring) -> Vec<u8> {
    let store = format.store(None);
    let mut doc = store.parse(input).expect("encrypted input parses");
    let metadata = doc
        .metadata
        .take()
        .expect("encrypted input has sops metadata");
    pollster::block_on(ops::decrypt(
        &mut doc.tree,
        &metadata,
        keyring,
        decrypt_opts(),
    ))
    .expect("decrypt");
    store.emit(&doc.tree, None).expect("emit plaintext")
}

/// Measurement settings by size: short runs, and only 10 samples at 100k.
fn tune(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    leaves: usize,
) {
    if leaves >= 100_000 {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
    } else {
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
    }
}

/// `parse` and `emit` of plaintext trees.
fn stores(c: &mut Criterion, fx: &Fixture) {
    for format in FORMATS {
        let store = format.store(None);
        let mut parse = c.benchmark_group(format!("parse/{}", format.name()));
        for &n in &fx.leaves {
            let input = Fixture::plain(format, n);
            tune(&mut parse, n);
            parse.throughput(Throughput::Elements(n as u64));
            parse.bench_with_input(
                BenchmarkId::from_parameter(gen::label(n)),
                &input,
                |b, input| b.iter(|| store.parse(input).expect("parse")),
            );
        }
        parse.finish();

        let mut emit = c.benchmark_group(format!("emit/{}", format.name()));
        for &n in &fx.leaves {
            let tree = store.parse(&Fixture::plain(format, n)).expect("parse").tree;
            tune(&mut emit, n);
            emit.throughput(Throughput::Elements(n as u64));
            emit.bench_with_input(
                BenchmarkId::from_parameter(gen::label(n)),
                &tree,
                |b, tree| b.iter(|| store.emit(tree, None).expect("emit")),
            );
        }
        emit.finish();
    }
}

/// The whole encrypt and decrypt flows on trees; checks the round trip once per size.
fn flows(c: &mut Criterion, fx: &Fixture) {
    for format in FORMATS {
        let mut encrypt = c.benchmark_group(format!("encrypt/{}", format.name()));
        let mut encrypted = Vec::new();
        for &n in &fx.leaves {
            let input = Fixture::plain(format, n);
            tune(&mut encrypt, n);
            encrypt.throughput(Throughput::Elements(n as u64));
            encrypt.bench_with_input(
                BenchmarkId::from_parameter(gen::label(n)),
                &input,
                |b, input| b.iter(|| encrypt_flow(format, input, &fx.tree_opts, &fx.keyring)),
            );
            let ciphertext = encrypt_flow(format, &input, &fx.tree_opts, &fx.keyring);
            let store = format.store(None);
            let expected = store
                .emit(&store.parse(&input).expect("parse").tree, None)
                .expect("emit");
            assert!(
                decrypt_flow(format, &ciphertext, &fx.keyring) == expected,
                "{} {n}: decrypt(encrypt(x)) differs from x",
                format.name()
            );
            encrypted.push((n, ciphertext));
        }
        encrypt.finish();

        let mut decrypt = c.benchmark_group(format!("decrypt/{}", format.name()));
        for (n, ciphertext) in &encrypted {
            tune(&mut decrypt, *n);
            decrypt.throughput(Throughput::Elements(*n as u64));
            decrypt.bench_with_input(
                BenchmarkId::from_parameter(gen::label(*n)),
                ciphertext,
                |b, input| b.iter(|| decrypt_flow(format, input, &fx.keyring)),
            );
        }
        decrypt.finish();
    }
}

/// The stages of the whole flows, separately, on the largest tree: where the time goes.
fn stages(c: &mut Criterion, fx: &Fixture) {
    let Some(&n) = fx.leaves.last() else { return };
    for format in FORMATS {
        let store = format.store(None);
        let plain = store.parse(&Fixture::plain(format, n)).expect("parse").tree;
        let ciphertext = encrypt_flow(
            format,
            &Fixture::plain(format, n),
            &fx.tree_opts,
            &fx.keyring,
        );
        let encrypted = store.parse(&ciphertext).expect("parse encrypted");
        let metadata = encrypted
            .metadata
            .clone()
            .expect("encrypted input has sops metadata");

        let mut group = c.benchmark_group(format!("stages/{}", format.name()));
        tune(&mut group, n);
        group.throughput(Throughput::Elements(n as u64));
        let label = gen::label(n);
        group.bench_function(BenchmarkId::new("parse-encrypted", &label), |b| {
            b.iter(|| store.parse(&ciphertext).expect("parse"))
        });
        group.bench_function(BenchmarkId::new("encrypt-values", &label), |b| {
            b.iter_batched(
                || plain.clone(),
                |mut tree| {
                    pollster::block_on(ops::encrypt(&mut tree, &fx.tree_opts, &fx.keyring))
                        .expect("encrypt")
                },
                BatchSize::LargeInput,
            )
        });
        group.bench_function(BenchmarkId::new("decrypt-values", &label), |b| {
            b.iter_batched(
                || encrypted.tree.clone(),
                |mut tree| {
                    pollster::block_on(ops::decrypt(
                        &mut tree,
                        &metadata,
                        &fx.keyring,
                        decrypt_opts(),
                    ))
                    .expect("decrypt")
                },
                BatchSize::LargeInput,
            )
        });
        group.bench_function(BenchmarkId::new("emit-encrypted", &label), |b| {
            b.iter(|| store.emit(&encrypted.tree, Some(&metadata)).expect("emit"))
        });
        group.finish();
    }
}

/// Encrypting and decrypting one large binary file.
fn binary(c: &mut Criterion, fx: &Fixture) {
    let blob = gen::binary(fx.blob_len);
    let ciphertext = encrypt_flow(Format::Binary, &blob, &fx.binary_opts, &fx.keyring);
    assert!(
        decrypt_flow(Format::Binary, &ciphertext, &fx.keyring) == blob,
        "binary round trip differs"
    );

    let mut group = c.benchmark_group("binary");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Bytes(fx.blob_len as u64));
    let id = format!("{}MiB", fx.blob_len >> 20);
    group.bench_with_input(BenchmarkId::new("encrypt", &id), &blob, |b, blob| {
        b.iter(|| encrypt_flow(Format::Binary, blob, &fx.binary_opts, &fx.keyring))
    });
    group.bench_with_input(BenchmarkId::new("decrypt", &id), &ciphertext, |b, input| {
        b.iter(|| decrypt_flow(Format::Binary, input, &fx.keyring))
    });
    group.finish();
}

fn engine(c: &mut Criterion) {
    let fx = Fixture::new();
    stores(c, &fx);
    flows(c, &fx);
    stages(c, &fx);
    binary(c, &fx);
}

criterion_group!(benches, engine);
criterion_main!(benches);
