//! Data at rest without a file: [`encrypt_text`] / [`decrypt_text`] encrypt bytes of
//! any length under a Key Vault key with an envelope.
//!
//! A fresh AES-256-GCM key encrypts the plaintext; the key is RSA-OAEP-256-encrypted to
//! the vault key version (locally from the public key by default, so encrypting needs no
//! vault permission beyond `get`); decrypting asks the vault to `decrypt` it.
//!
//! The ciphertext is one ASCII string of five `.`-separated fields:
//!
//! ```text
//! lckv1.<kid>.<wrapped key>.<nonce>.<ciphertext‖tag>
//! ```
//!
//! - `lckv1`: format and version tag; other tags are refused;
//! - `kid`: base64url of `https://{vault}/keys/{name}/{version}` (always pinned);
//! - `wrapped key`: base64url of the RSA-OAEP-256 ciphertext of the 32-byte AES key;
//! - `nonce`: base64url of the 12-byte GCM nonce;
//! - `ciphertext‖tag`: base64url of the AES-256-GCM output (16-byte tag last).
//!
//! All base64url is unpadded. The AAD is `lckv1.<kid field>`, which binds the key id to
//! the ciphertext. Decrypting takes the key the caller trusts and refuses a ciphertext
//! that names another vault or key, so a crafted ciphertext cannot make the client send a
//! token to a vault of its choosing.

use super::client::{Algorithm, KeyVaultClient};
use super::encoding::{b64url, b64url_decode};
use super::error::{KvError, Operation};
use super::key_id::KeyId;
use super::source::wrap_with;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

/// The format tag.
pub const TAG: &str = "lckv1";

/// An encrypted text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedText {
    /// The `lckv1.…` string.
    pub ciphertext: String,
    /// The pinned key id (`https://{vault}/keys/{name}/{version}`).
    pub kid: String,
    /// The key version.
    pub version: String,
}

/// The fields of an `lckv1` string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The pinned key.
    pub key: KeyId,
    /// RSA-OAEP-256 ciphertext of the AES key.
    pub wrapped_key: Vec<u8>,
    /// GCM nonce.
    pub nonce: [u8; 12],
    /// AES-256-GCM ciphertext with its tag.
    pub sealed: Vec<u8>,
    aad: String,
}

/// Why a ciphertext string is not an `lckv1` envelope.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a leafcrypt Key Vault ciphertext: {0}")]
pub struct EnvelopeError(&'static str);

impl Envelope {
    /// Parses an `lckv1` string.
    pub fn parse(ciphertext: &str) -> Result<Self, EnvelopeError> {
        let fields: Vec<&str> = ciphertext.trim().split('.').collect();
        let [tag, kid, wrapped, nonce, sealed] = fields.as_slice() else {
            return Err(EnvelopeError("expected 5 '.'-separated fields"));
        };
        if *tag != TAG {
            return Err(EnvelopeError("unknown format tag (expected lckv1)"));
        }
        let decode = |field: &str, what| {
            b64url_decode(field)
                .map(|b| b.to_vec())
                .map_err(|_| EnvelopeError(what))
        };
        let kid_text = String::from_utf8(decode(kid, "the key id is not base64url")?)
            .map_err(|_| EnvelopeError("the key id is not text"))?;
        let key = KeyId::parse(&kid_text)
            .ok()
            .filter(|k| k.version.is_some())
            .ok_or(EnvelopeError("the key id is not a pinned Key Vault key"))?;
        let nonce: [u8; 12] = decode(nonce, "the nonce is not base64url")?
            .try_into()
            .map_err(|_| EnvelopeError("the nonce is not 12 bytes"))?;
        let sealed = decode(sealed, "the ciphertext is not base64url")?;
        if sealed.len() < 16 {
            return Err(EnvelopeError("the ciphertext is shorter than its tag"));
        }
        Ok(Self {
            key,
            wrapped_key: decode(wrapped, "the wrapped key is not base64url")?,
            nonce,
            sealed,
            aad: format!("{TAG}.{kid}"),
        })
    }
}

/// Encrypts `plaintext` under `key` (resolved to its latest version when unpinned),
/// wrapping the AES key locally with the cached public key.
pub async fn encrypt_text(
    client: &KeyVaultClient,
    key: &KeyId,
    plaintext: &[u8],
) -> Result<EncryptedText, KvError> {
    encrypt_text_with(client, key, plaintext, false).await
}

/// [`encrypt_text`], wrapping with the vault's `encrypt` when `remote_encrypt`.
pub async fn encrypt_text_with(
    client: &KeyVaultClient,
    key: &KeyId,
    plaintext: &[u8],
    remote_encrypt: bool,
) -> Result<EncryptedText, KvError> {
    let crypto = |key: &KeyId, message: String| KvError::Crypto {
        key: Box::new(key.clone()),
        message,
    };
    let mut data_key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    getrandom::getrandom(&mut *data_key)
        .and_then(|()| getrandom::getrandom(&mut nonce))
        .map_err(|e| crypto(key, format!("no random numbers: {e}")))?;
    let wrapped = wrap_with(client, key, &*data_key, remote_encrypt).await?;
    let pinned = wrapped.key;
    let kid = pinned.to_string();
    let kid_field = b64url(kid.as_bytes());
    let aad = format!("{TAG}.{kid_field}");
    let cipher =
        Aes256Gcm::new_from_slice(&*data_key).map_err(|e| crypto(&pinned, e.to_string()))?;
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| crypto(&pinned, "AES-256-GCM encryption failed".into()))?;
    Ok(EncryptedText {
        ciphertext: format!(
            "{aad}.{}.{}.{}",
            wrapped.enc,
            b64url(&nonce),
            b64url(&sealed)
        ),
        version: pinned.version.clone().unwrap_or_default(),
        kid,
    })
}

/// Decrypts an `lckv1` string produced for `key` (the vault and key name must match; a
/// version in `key`, when given, must match too).
pub async fn decrypt_text(
    client: &KeyVaultClient,
    key: &KeyId,
    ciphertext: &str,
) -> Result<Zeroizing<Vec<u8>>, KvError> {
    let crypto = |message: String| KvError::Crypto {
        key: Box::new(key.clone()),
        message,
    };
    let envelope = Envelope::parse(ciphertext).map_err(|e| crypto(e.to_string()))?;
    let named = &envelope.key;
    let same_key = named.vault_url.eq_ignore_ascii_case(&key.vault_url) && named.name == key.name;
    let same_version = key.version.is_none() || key.version == named.version;
    if !same_key || !same_version {
        return Err(crypto(format!(
            "the ciphertext was made for {named}, not for this key: refusing to use it"
        )));
    }
    let data_key = client
        .decrypt(named, Algorithm::RsaOaep256, &envelope.wrapped_key)
        .await?;
    let cipher = Aes256Gcm::new_from_slice(&data_key.value).map_err(|_| KvError::Crypto {
        key: Box::new(named.clone()),
        message: "the vault returned a data key that is not 32 bytes".into(),
    })?;
    cipher
        .decrypt(
            Nonce::from_slice(&envelope.nonce),
            Payload {
                msg: &envelope.sealed,
                aad: envelope.aad.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| KvError::Crypto {
            key: Box::new(named.clone()),
            message: format!(
                "the ciphertext failed authentication (corrupted or altered) during {}",
                Operation::Decrypt
            ),
        })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::test_support::*;
    use crate::keysource::rest::test_server::{Reply, TestServer};
    use rsa::Oaep;

    fn key() -> KeyId {
        KeyId::new(VAULT, "k", None)
    }

    /// Encrypts `plaintext` through a scripted vault (one challenged GET).
    async fn encrypt(plaintext: &[u8]) -> EncryptedText {
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let encrypted = encrypt_text(&client, &key(), plaintext).await.unwrap();
        assert_eq!(server.requests().len(), 2);
        encrypted
    }

    /// Decrypts through a scripted vault that answers with what the real key gives.
    async fn decrypt(ciphertext: &str) -> (Result<Zeroizing<Vec<u8>>, KvError>, TestServer) {
        let envelope = Envelope::parse(ciphertext).unwrap();
        let data_key = test_key()
            .decrypt(Oaep::new::<sha2::Sha256>(), &envelope.wrapped_key)
            .unwrap();
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &operation_answer("k", KID_VERSION, &data_key)),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        (decrypt_text(&client, &key(), ciphertext).await, server)
    }

    #[tokio::test]
    async fn round_trips_any_length_through_the_vault() {
        for plaintext in [Vec::new(), b"hunter2".to_vec(), vec![0xA5; 100_000]] {
            let encrypted = encrypt(&plaintext).await;
            assert_eq!(encrypted.version, KID_VERSION);
            assert_eq!(encrypted.kid, format!("{VAULT}/keys/k/{KID_VERSION}"));
            assert!(encrypted.ciphertext.starts_with("lckv1."));
            let (plain, server) = decrypt(&encrypted.ciphertext).await;
            assert_eq!(*plain.unwrap(), plaintext);
            let seen = server.requests();
            assert_eq!(
                seen[1].target,
                format!("/keys/k/{KID_VERSION}/decrypt?api-version=7.6")
            );
            let envelope = Envelope::parse(&encrypted.ciphertext).unwrap();
            let body: serde_json::Value = serde_json::from_str(&seen[1].body).unwrap();
            assert_eq!(body["value"], b64url(&envelope.wrapped_key));
        }
    }

    #[tokio::test]
    async fn tampering_is_detected() {
        let encrypted = encrypt(b"attack at dawn").await;
        let mut fields: Vec<String> = encrypted.ciphertext.split('.').map(String::from).collect();
        let mut sealed = b64url_decode(&fields[4]).unwrap().to_vec();
        sealed[0] ^= 1;
        fields[4] = b64url(&sealed);
        let (plain, _) = decrypt(&fields.join(".")).await;
        let err = plain.unwrap_err().to_string();
        assert!(err.contains("failed authentication"), "{err}");
    }

    #[tokio::test]
    async fn a_ciphertext_for_another_key_sends_nothing() {
        let encrypted = encrypt(b"x").await;
        let server = TestServer::start(vec![]).await;
        let (client, _) = test_client(&server.url);
        for other in [
            KeyId::new("https://evil.vault.azure.net", "k", None),
            KeyId::new(VAULT, "other", None),
            KeyId::new(VAULT, "k", Some("ffffffffffffffffffffffffffffffff")),
        ] {
            let err = decrypt_text(&client, &other, &encrypted.ciphertext)
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("was made for"), "{err}");
        }
        assert!(server.requests().is_empty());
        let pinned = KeyId::new(VAULT, "k", Some(KID_VERSION));
        assert!(
            decrypt_text(&client, &pinned, &encrypted.ciphertext)
                .await
                .is_err(),
            "the empty script answers 500"
        );
        assert_eq!(server.requests().len(), 4, "the matching key was tried");
    }

    #[test]
    fn malformed_strings_are_refused() {
        let kid = b64url(format!("{VAULT}/keys/k/{KID_VERSION}").as_bytes());
        let unpinned = b64url(format!("{VAULT}/keys/k").as_bytes());
        let nonce = b64url(&[0u8; 12]);
        let sealed = b64url(&[0u8; 16]);
        assert!(Envelope::parse(&format!("lckv1.{kid}.AA.{nonce}.{sealed}")).is_ok());
        for bad in [
            String::new(),
            format!("lckv2.{kid}.AA.{nonce}.{sealed}"),
            format!("lckv1.{unpinned}.AA.{nonce}.{sealed}"),
            format!("lckv1.{kid}.AA.AAAA.{sealed}"),
            format!("lckv1.{kid}.AA.{nonce}.AAAA"),
            format!("lckv1.{kid}.A*.{nonce}.{sealed}"),
            format!("lckv1.{kid}.AA.{nonce}"),
        ] {
            assert!(Envelope::parse(&bad).is_err(), "{bad}");
        }
    }
}
