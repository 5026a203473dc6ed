//! The PKCS#11 key source in-process against one SoftHSM2 token (SoftHSM reads its config
//! once per process, so this test binary has a single token, created before any test
//! touches the module; tests use distinct key labels and never log in with a wrong PIN).
//! Covers OAEP interoperability with the token's own OAEP, CKA_DECRYPT false, corrupted
//! ciphertexts and concurrent unwraps (throughput: `benches/pkcs11.rs`).

mod softhsm;

// The PIN prompt of pkcs11::pin asks through the CLI's terminal module.
#[allow(dead_code)]
#[path = "../src/tty.rs"]
mod tty;

#[allow(dead_code)]
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

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism as CkMechanism, MechanismType};
use cryptoki::object::{Attribute, ObjectClass};
use leafcrypt_core::keysource::KeyEntry;
use pkcs11::admin::{keygen, KekType};
use pkcs11::error::Pkcs11Error;
use pkcs11::source::Pkcs11Source;
use pkcs11::token::Token;
use pkcs11::uri::Pkcs11Uri;
use std::sync::OnceLock;

const LABEL: &str = "lc-inproc";

/// The process's token, with an AES KEK `aes` and an RSA-2048 KEK `rsa`.
fn token() -> &'static softhsm::SoftHsm {
    static HSM: OnceLock<softhsm::SoftHsm> = OnceLock::new();
    HSM.get_or_init(|| {
        let hsm = softhsm::SoftHsm::new(LABEL);
        // Set before the module is first loaded; every test waits on this OnceLock first.
        std::env::set_var("SOFTHSM2_CONF", &hsm.conf);
        keygen(&uri("aes"), KekType::Aes).expect("AES keygen");
        keygen(&uri("rsa"), KekType::Rsa(2048)).expect("RSA keygen");
        // SoftHSM's file store fails object creation racing other sessions, so every
        // object is made here, before any test runs.
        no_decrypt_key();
        hsm
    })
}

/// An AES key with CKA_DECRYPT false, labelled `no-decrypt`, CKA_ID `dec0`.
fn no_decrypt_key() {
    let u = uri("no-decrypt");
    let t = Token::find(&u).unwrap();
    t.login(&u).unwrap();
    let s = t.rw_session().unwrap();
    s.generate_key(
        &CkMechanism::AesKeyGen,
        &[
            Attribute::Token(true),
            Attribute::Label(b"no-decrypt".to_vec()),
            Attribute::Id(vec![0xde, 0xc0]),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::ValueLen(32.into()),
            Attribute::Encrypt(true),
            Attribute::Decrypt(false),
            Attribute::Sign(false),
            Attribute::Unwrap(false),
            Attribute::Wrap(false),
        ],
    )
    .unwrap();
}

fn uri(object: &str) -> Pkcs11Uri {
    Pkcs11Uri::parse(&format!(
        "pkcs11:token={LABEL};object={object}?module-path={}&pin-value={}",
        softhsm::MODULE,
        softhsm::PIN
    ))
    .unwrap()
}

fn source() -> Pkcs11Source {
    token();
    Pkcs11Source::new(vec![uri("x").without_object()])
}

trait WithoutObject {
    fn without_object(self) -> Pkcs11Uri;
}

impl WithoutObject for Pkcs11Uri {
    /// A token-wide hint: the same query, no object.
    fn without_object(self) -> Pkcs11Uri {
        let mut u = Pkcs11Uri::parse(&format!("pkcs11:token={LABEL}")).unwrap();
        u.module_path = self.module_path;
        u.pin_value = self.pin_value;
        u
    }
}

fn key(object: &str, mechanism: Option<&str>) -> KeyEntry {
    let k = KeyEntry::new("pkcs11").with("uri", format!("pkcs11:token={LABEL};object={object}"));
    match mechanism {
        Some(m) => k.with("mechanism", m),
        None => k,
    }
}

const MECHANISMS: [(&str, Option<&str>); 3] = [
    ("aes", None),
    ("rsa", Some("RSA-OAEP-SHA1")),
    ("rsa", Some("RSA-X509+OAEP-SHA256")),
];

#[test]
fn wrap_unwrap_round_trips_with_fresh_randomness() {
    let src = source();
    for (object, mechanism) in MECHANISMS {
        let secret = [0x5au8; 32];
        let a = src
            .wrap_entry(&key(object, mechanism), &secret, "2026-01-01T00:00:00Z")
            .unwrap();
        let b = src
            .wrap_entry(&key(object, mechanism), &secret, "2026-01-01T00:00:00Z")
            .unwrap();
        assert_ne!(
            a.get("enc"),
            b.get("enc"),
            "{object}: wraps must not repeat"
        );
        assert_eq!(a.get("mechanism"), Some(mechanism.unwrap_or("AES-GCM")));
        assert_eq!(a.get("id").map(str::len), Some(32), "16-byte CKA_ID as hex");
        assert_eq!(&src.unwrap_entry(&a).unwrap()[..], &secret);
        assert_eq!(&src.unwrap_entry(&b).unwrap()[..], &secret);
        if object == "aes" {
            let enc = a.get("enc").unwrap();
            let raw =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, enc).unwrap();
            assert_eq!(raw.len(), 12 + 32 + 16, "IV || ciphertext || tag");
        }
    }
}

#[test]
fn corrupted_or_foreign_ciphertexts_fail_cleanly() {
    let src = source();
    for (object, mechanism) in MECHANISMS {
        let mut entry = src
            .wrap_entry(&key(object, mechanism), &[1u8; 32], "2026-01-01T00:00:00Z")
            .unwrap();
        let enc = entry.get("enc").unwrap().to_string();
        let mut raw =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &enc).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        entry.set(
            "enc",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw),
        );
        let e = src.unwrap_entry(&entry).unwrap_err();
        assert!(
            matches!(e, Pkcs11Error::BadCiphertext(_) | Pkcs11Error::Other { .. }),
            "{object} {mechanism:?}: {e}"
        );
        entry.set("enc", "not base64!");
        assert!(matches!(
            src.unwrap_entry(&entry),
            Err(Pkcs11Error::Entry(_))
        ));
    }
}

/// Our software OAEP is standard OAEP: blocks we encode decrypt with the token's own
/// CKM_RSA_PKCS_OAEP, and the token's OAEP ciphertexts decode with ours (SHA-1: the hash
/// SoftHSM offers on the token).
#[test]
fn software_oaep_interoperates_with_the_tokens_oaep() {
    token();
    let u = uri("rsa");
    let t = Token::find(&u).unwrap();
    t.login(&u).unwrap();
    let s = t.session().unwrap();
    let public = t
        .find_key(&s, &u, None, ObjectClass::PUBLIC_KEY)
        .unwrap()
        .unwrap();
    let private = t
        .find_key(&s, &u, None, ObjectClass::PRIVATE_KEY)
        .unwrap()
        .unwrap();
    let k = t.modulus_len(&s, public).unwrap();
    let sha1 = || {
        CkMechanism::RsaPkcsOaep(PkcsOaepParams::new(
            MechanismType::SHA1,
            PkcsMgfType::MGF1_SHA1,
            PkcsOaepSource::empty(),
        ))
    };
    let msg = b"a 32-byte data key, more or less";

    let em = pkcs11::oaep::encode::<sha1::Sha1>(msg, k, &[9u8; 20]).unwrap();
    let ct = s.encrypt(&CkMechanism::RsaX509, public, &em).unwrap();
    assert_eq!(s.decrypt(&sha1(), private, &ct).unwrap(), msg);

    let ct = s.encrypt(&sha1(), public, msg).unwrap();
    let mut raw = s.decrypt(&CkMechanism::RsaX509, private, &ct).unwrap();
    while raw.len() < k {
        raw.insert(0, 0);
    }
    assert_eq!(pkcs11::oaep::decode::<sha1::Sha1>(&raw).unwrap(), msg);
}

/// A key whose CKA_DECRYPT is false wraps but cannot unwrap: a clear error, not a crash.
#[test]
fn a_key_without_the_decrypt_permission_is_refused() {
    let src = source();
    let entry = src
        .wrap_entry(&key("no-decrypt", None), &[3u8; 32], "2026-01-01T00:00:00Z")
        .unwrap();
    assert_eq!(entry.get("id"), Some("dec0"));
    let e = src.unwrap_entry(&entry).unwrap_err();
    assert!(matches!(e, Pkcs11Error::NotPermitted(_)), "{e}");
    assert!(e.to_string().contains("CKA_DECRYPT"), "{e}");
}

/// Several threads unwrap at once, each with its own session on the one login.
#[test]
fn concurrent_unwraps_from_several_threads() {
    let src = source();
    let entries: Vec<(KeyEntry, [u8; 32])> = MECHANISMS
        .iter()
        .enumerate()
        .map(|(i, (object, mechanism))| {
            let secret = [i as u8 + 1; 32];
            (
                src.wrap_entry(&key(object, *mechanism), &secret, "2026-01-01T00:00:00Z")
                    .unwrap(),
                secret,
            )
        })
        .collect();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (src, entries) = (&src, &entries);
            scope.spawn(move || {
                for n in 0..30 {
                    let (entry, secret) = &entries[(t + n) % entries.len()];
                    assert_eq!(&src.unwrap_entry(entry).unwrap()[..], secret);
                }
            });
        }
    });
}

/// A `slot-id` naming a slot that holds no token is CKR_TOKEN_NOT_PRESENT, not "no token matches".
#[test]
fn slot_without_a_token_is_token_not_present() {
    token();
    let u = Pkcs11Uri::parse(&format!(
        "pkcs11:slot-id=4294967295?module-path={}",
        softhsm::MODULE
    ))
    .unwrap();
    let err = Token::find(&u).err().expect("no token in that slot");
    assert!(matches!(err, Pkcs11Error::TokenNotPresent(_)), "{err}");
}
