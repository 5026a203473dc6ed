//! Unwraps per second on a private SoftHSM2 token (created in a temporary directory), one
//! thread: AES-GCM, RSA-OAEP-SHA1 (the token's OAEP) and RSA-X509+OAEP-SHA256 (raw RSA on
//! the token, OAEP-SHA256 decoded in software). Run with `cargo bench -p leafcrypt-cli`.

#[path = "../tests/softhsm/mod.rs"]
mod softhsm;

// The PIN prompt of pkcs11::pin asks through the CLI's terminal module.
#[allow(dead_code)]
#[path = "../src/tty.rs"]
mod tty;

// Their unit-test modules compile here without their #[test] functions.
#[allow(dead_code, unused_imports)]
#[path = "../src/pkcs11"]
mod pkcs11 {
    pub mod admin;
    pub mod error;
    pub mod mechanism;
    pub mod oaep;
    pub mod pin;
    pub mod probe;
    pub mod source;
    pub mod token;
    pub mod uri;
}

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leafcrypt_core::keysource::KeyEntry;
use pkcs11::admin::{keygen, KekType};
use pkcs11::source::Pkcs11Source;
use pkcs11::uri::Pkcs11Uri;

const LABEL: &str = "lc-bench";

fn uri(object: Option<&str>) -> Pkcs11Uri {
    let object = object.map(|o| format!(";object={o}")).unwrap_or_default();
    Pkcs11Uri::parse(&format!(
        "pkcs11:token={LABEL}{object}?module-path={}&pin-value={}",
        softhsm::MODULE,
        softhsm::PIN
    ))
    .expect("bench URI")
}

fn unwraps(c: &mut Criterion) {
    let hsm = softhsm::SoftHsm::new(LABEL);
    // SoftHSM reads its config once per process: set it before the module is loaded.
    std::env::set_var("SOFTHSM2_CONF", &hsm.conf);
    keygen(&uri(Some("aes")), KekType::Aes).expect("AES keygen");
    keygen(&uri(Some("rsa")), KekType::Rsa(2048)).expect("RSA keygen");
    let src = Pkcs11Source::new(vec![uri(None)]);

    let mut group = c.benchmark_group("pkcs11_unwrap_softhsm");
    group.throughput(Throughput::Elements(1));
    for (name, object, mechanism) in [
        ("AES-GCM", "aes", None),
        ("RSA-OAEP-SHA1", "rsa", Some("RSA-OAEP-SHA1")),
        ("RSA-X509+OAEP-SHA256", "rsa", Some("RSA-X509+OAEP-SHA256")),
    ] {
        let mut key =
            KeyEntry::new("pkcs11").with("uri", format!("pkcs11:token={LABEL};object={object}"));
        if let Some(m) = mechanism {
            key = key.with("mechanism", m);
        }
        let entry = src
            .wrap_entry(&key, &[7u8; 32], "2026-01-01T00:00:00Z")
            .expect("wrap");
        group.bench_function(name, |b| {
            b.iter(|| src.unwrap_entry(&entry).expect("unwrap"))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = unwraps
}
criterion_main!(benches);
