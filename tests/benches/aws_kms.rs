//! AWS KMS against moto (loopback): data keys wrapped and unwrapped per second through
//! `AwsKmsSource` (one at a time, and 16 in flight), and the KMS requests per file of a
//! `leafcrypt decrypt --output-dir --jobs 4` batch (counted by moto's recorder).
//!
//! `cargo bench -p leafcrypt-tests --bench aws_kms` (needs scripts/setup's moto). moto is
//! a Python emulator: the rates measure it as much as leafcrypt; the request count is the
//! figure that carries over to AWS.

use leafcrypt_core::keysource::aws_kms::credentials::AwsEnv;
use leafcrypt_core::keysource::aws_kms::{AwsKmsSource, KmsClient};
use leafcrypt_core::keysource::{KeyEntry, KeySource};
use leafcrypt_tests::harness::{Tool, Workdir};
use leafcrypt_tests::moto::Moto;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

const WRAPS: usize = 300;
const FILES: usize = 40;

fn main() {
    let moto = Moto::start();
    let arn = moto.create_key("eu-west-1");
    let vars: HashMap<String, String> = moto.env().into_iter().collect();
    let env = AwsEnv {
        vars: Rc::new(move |n| vars.get(n).cloned()),
        session_name: "sops@bench".into(),
        http: reqwest::Client::new(),
    };
    let source = AwsKmsSource::new(Rc::new(KmsClient::new(env)));
    let key = KeyEntry::new("kms").with("arn", arn.as_str());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        // Warm up: credentials resolved, connection open.
        let first = source.wrap(&key, &[7u8; 32], "now").await.expect("wrap");
        let start = Instant::now();
        let mut last = first.clone();
        for _ in 0..WRAPS {
            last = source.wrap(&key, &[7u8; 32], "now").await.expect("wrap");
        }
        let seq = WRAPS as f64 / start.elapsed().as_secs_f64();
        let start = Instant::now();
        let secret = [9u8; 32];
        for _ in 0..WRAPS / 16 {
            let batch = (0..16).map(|_| source.wrap(&key, &secret, "now"));
            for r in futures_util::future::join_all(batch).await {
                r.expect("wrap");
            }
        }
        let par = (WRAPS / 16 * 16) as f64 / start.elapsed().as_secs_f64();
        let start = Instant::now();
        for _ in 0..WRAPS {
            let s = source.unwrap(&last).await.expect("unwrap");
            assert_eq!(s.expose(), &[7u8; 32]);
        }
        let unwraps = WRAPS as f64 / start.elapsed().as_secs_f64();
        let requests = source.client().request_count();
        println!("aws_kms/wrap sequential: {seq:.0} wraps/s ({WRAPS} wraps)");
        println!("aws_kms/wrap 16 in flight: {par:.0} wraps/s");
        println!("aws_kms/unwrap sequential: {unwraps:.0} unwraps/s");
        println!(
            "aws_kms/requests: {requests} KMS requests for {} operations",
            2 * WRAPS + WRAPS / 16 * 16 + 1
        );
    });
    // Requests per file on a batch decrypt.
    let wd = Workdir::new();
    let env = moto.env();
    let mut names = Vec::new();
    for i in 0..FILES {
        wd.write(&format!("p{i}.yaml"), format!("v: {i}\n"));
        let mut cmd =
            wd.cmd(Tool::Leafcrypt)
                .args(["encrypt", "--kms", &arn, &format!("p{i}.yaml")]);
        for (k, v) in &env {
            cmd = cmd.env(k, v);
        }
        let out = cmd.run().expect_ok("encrypt");
        wd.write(&format!("e{i}.yaml"), &out.stdout);
        names.push(format!("e{i}.yaml"));
    }
    std::fs::create_dir(wd.join("out")).expect("out dir");
    moto.start_recording();
    let mut cmd = wd
        .cmd(Tool::Leafcrypt)
        .args(["decrypt", "--output-dir", "out", "--jobs", "4"])
        .args(&names);
    for (k, v) in &env {
        cmd = cmd.env(k, v);
    }
    let start = Instant::now();
    cmd.run().expect_ok("batch decrypt");
    let took = start.elapsed();
    let decrypts = moto
        .recording()
        .iter()
        .filter(|r| r.operation == "TrentService.Decrypt")
        .count();
    println!(
        "aws_kms/batch decrypt: {FILES} files in {:.2} s, {decrypts} KMS Decrypt requests ({:.2} per file)",
        took.as_secs_f64(),
        decrypts as f64 / FILES as f64
    );
}
