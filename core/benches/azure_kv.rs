//! Azure Key Vault: wrapping 1,000 data keys with a cached public key.
//!
//! The key source encrypts data keys locally (RSA-OAEP-256, RSA-2048) once it knows the
//! key version's public key. Here the public key comes from a [`PublicKeyStore`], so the
//! client never needs the vault: its endpoint is a closed loopback port, its credential
//! refuses every request, and the bench asserts that no HTTP request was made.

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leafcrypt_core::keysource::azure_kv::credential::{
    AccessToken, CredentialError, TokenCredential, TokenRequest,
};
use leafcrypt_core::keysource::azure_kv::local::{
    JsonWebKey, PublicKey, PublicKeyStore, StoredKey,
};
use leafcrypt_core::keysource::azure_kv::{AzureKvSource, ClientOptions, KeyId, KeyVaultClient};
use leafcrypt_core::keysource::rest::platform::now_unix;
use leafcrypt_core::keysource::KeySource;
use std::cell::Cell;
use std::rc::Rc;

const VAULT: &str = "https://myvault.vault.azure.net";
const VERSION: &str = "46a35325fd3a49debd2b22d4b0d75719";
const NOW: &str = "2026-11-29T06:00:00Z";
/// An RSA-2048 public key (the unit tests' key), as Key Vault's JWK `n` and `e`.
const N: &str = "yvqaaEXv1jdnHxguQy64SvSmx9NZT-XwnWdj7bFApOyN_RT08Me9r_ePk9Cg5MyATQz_SUaQUzphVgb03YQUzaURQOwBuDLXONhL0nB4chPvo7II-JYDwfo7fDyQNNG7nPOUCQJaNpSA5Qmh38eBD_dwWTGnDAG8P2435h5zQnICe0UKfFQsh4-QMOhS4euUWQdLOp0U6EKGs5PDvbfjdW4roGUHqp2LfZgnZi2z_s15Gky_BYDpxEuDy1GLuAa5cXzsOREOO9kkK_vBzilApof3X0GYmXRgebVoEKRTxfJqSOnqG7Vk33W5mD6pyUfWZ1OYGGzq1gMuysmDIbJFiQ";
const E: &str = "AQAB";

/// A store that already holds the key version's public JWK.
struct Stored;

impl PublicKeyStore for Stored {
    fn load(&self, kid: &str) -> Option<StoredKey> {
        Some(StoredKey {
            jwk: JsonWebKey {
                kid: kid.to_string(),
                kty: "RSA".into(),
                n: Some(N.into()),
                e: Some(E.into()),
                key_ops: vec!["encrypt".into(), "decrypt".into()],
            },
            enabled: true,
            fetched_at: now_unix(),
        })
    }

    fn save(&self, _kid: &str, _key: &StoredKey) {}
}

/// A credential that counts requests and grants none.
#[derive(Default)]
struct Refuse(Cell<u32>);

#[async_trait(?Send)]
impl TokenCredential for Refuse {
    fn name(&self) -> &str {
        "Refuse"
    }

    async fn get_token(&self, _: &TokenRequest) -> Result<AccessToken, CredentialError> {
        self.0.set(self.0.get() + 1);
        Err(CredentialError {
            credential: "Refuse".into(),
            message: "the bench makes no vault calls".into(),
            unavailable: false,
        })
    }
}

fn wrap_1000(c: &mut Criterion) {
    let credential = Rc::new(Refuse::default());
    let options = ClientOptions {
        // Port 9 (discard) on loopback: nothing may leave the machine even by mistake.
        endpoint: Some("http://127.0.0.1:9".into()),
        public_key_store: Some(Rc::new(Stored)),
        ..ClientOptions::default()
    };
    let client = Rc::new(
        KeyVaultClient::new(reqwest::Client::new(), credential.clone(), options).expect("client"),
    );
    let source = AzureKvSource::new(client.clone());
    let key = KeyId::new(VAULT, "k", Some(VERSION)).to_entry();
    let data_keys: Vec<[u8; 32]> = (0..1000u32)
        .map(|i| {
            let mut k = [0u8; 32];
            k[..4].copy_from_slice(&i.to_le_bytes());
            k
        })
        .collect();

    let mut group = c.benchmark_group("azure_kv");
    group.throughput(Throughput::Elements(data_keys.len() as u64));
    group.sample_size(10);
    group.bench_function("wrap 1,000 data keys (cached RSA-2048 public key)", |b| {
        b.iter(|| {
            for data_key in &data_keys {
                let entry = pollster::block_on(source.wrap(&key, data_key, NOW)).expect("wrap");
                assert_eq!(entry.get("enc").map(str::len), Some(342));
            }
        })
    });
    // Baseline: the bare RSA-OAEP-256 encryptions, to show what the key source adds.
    let id = KeyId::new(VAULT, "k", Some(VERSION));
    let jwk = Stored.load(&id.to_string()).expect("stored key").jwk;
    let public = PublicKey::new(id, jwk, true).expect("public key");
    group.bench_function("RSA-OAEP-256 alone, 1,000 data keys (baseline)", |b| {
        b.iter(|| {
            for data_key in &data_keys {
                let out = public.encrypt_oaep256(data_key).expect("encrypt");
                assert_eq!(out.len(), 256);
            }
        })
    });
    group.finish();

    assert_eq!(client.request_count(), 0, "wrapping made vault calls");
    assert_eq!(credential.0.get(), 0, "wrapping asked for a token");
    println!(
        "azure_kv: vault requests during the bench: {}, token requests: {}",
        client.request_count(),
        credential.0.get()
    );
}

criterion_group!(benches, wrap_1000);
criterion_main!(benches);
