//! [`AzureKvSource`]: Key Vault as a [`KeySource`] for `azure_kv` entries, as sops 3.11
//! writes and reads them.
//!
//! Wrapping pins the key version (an unpinned key is resolved to the vault's latest, as
//! sops does) and encrypts the data key with RSA-OAEP-256: locally with the cached public
//! key by default (no vault call once the key is known, no `encrypt` permission needed),
//! or with the vault's `encrypt` when asked. `enc` is unpadded base64url, as sops writes.
//! Unwrapping is the vault's `decrypt` on the pinned version (latest when the file has
//! none, as sops does).
//!
//! The source is a cheap handle: clones share one [`KeyVaultClient`], so every file of a
//! batch shares its challenges, tokens and public keys.

use super::client::{Algorithm, KeyVaultClient};
use super::encoding::{b64url, b64url_decode};
use super::error::{KvError, Operation};
use super::key_id::{KeyId, KIND};
use crate::keysource::{KeyEntry, KeyError, KeySource, Probe};
use crate::secret::Secret;
use async_trait::async_trait;
use std::rc::Rc;

/// The Azure Key Vault key source.
#[derive(Clone, Debug)]
pub struct AzureKvSource {
    client: Rc<KeyVaultClient>,
    remote_encrypt: bool,
}

/// A wrapped data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wrapped {
    /// The key, pinned to the version that wrapped.
    pub key: KeyId,
    /// Unpadded base64url RSA ciphertext (sops's `enc`).
    pub enc: String,
}

impl AzureKvSource {
    /// A source on `client` that encrypts locally.
    pub fn new(client: Rc<KeyVaultClient>) -> Self {
        Self {
            client,
            remote_encrypt: false,
        }
    }

    /// Encrypt with the vault's `encrypt` instead of locally (needs `keys/encrypt`).
    pub fn with_remote_encrypt(mut self, remote: bool) -> Self {
        self.remote_encrypt = remote;
        self
    }

    /// The shared client.
    pub fn client(&self) -> &Rc<KeyVaultClient> {
        &self.client
    }

    /// The vault's current version of key `name` in `vault_url`, always asked of the
    /// vault (for reports of entries pinned to an older version).
    pub async fn current_version(&self, vault_url: &str, name: &str) -> Result<String, KvError> {
        let key = KeyId::new(vault_url, name, None);
        if !key.vault_url.starts_with("https://") || key.name.is_empty() {
            return Err(KvError::InvalidKey(super::key_id::KeyIdError {
                input: key.to_string(),
                reason: "expected an https:// vault URL and a key name",
            }));
        }
        self.client.latest_version(&key).await
    }

    /// Encrypts `secret` (a data key) for `key`, pinning its version.
    pub async fn wrap_secret(&self, key: &KeyId, secret: &[u8]) -> Result<Wrapped, KvError> {
        wrap_with(&self.client, key, secret, self.remote_encrypt).await
    }

    /// Decrypts `enc` with `key` (its pinned version, else the latest).
    pub async fn unwrap_secret(&self, key: &KeyId, enc: &str) -> Result<Secret, KvError> {
        let ciphertext = b64url_decode(enc).map_err(|_| KvError::Crypto {
            key: Box::new(key.clone()),
            message: "enc is not base64url".into(),
        })?;
        let mut result = self
            .client
            .decrypt(key, Algorithm::RsaOaep256, &ciphertext)
            .await?;
        Ok(Secret::new(std::mem::take(&mut *result.value)))
    }
}

/// Encrypts `secret` for `key` with `client`: locally with the public key unless
/// `remote_encrypt` is set, the key type cannot encrypt locally, or (for a pinned key)
/// the caller may not `get` the key. An unpinned key is
/// resolved to its latest version (one `get` per client); a pinned key with
/// `remote_encrypt` needs no `get` at all.
pub(crate) async fn wrap_with(
    client: &KeyVaultClient,
    key: &KeyId,
    secret: &[u8],
    remote_encrypt: bool,
) -> Result<Wrapped, KvError> {
    let remote = |key: KeyId| async move {
        let result = client.encrypt(&key, Algorithm::RsaOaep256, secret).await?;
        Ok(Wrapped {
            enc: b64url(&result.value),
            key,
        })
    };
    if remote_encrypt && key.version.is_some() {
        return remote(key.clone()).await;
    }
    let public = match client.public_key(key).await {
        Ok(public) => public,
        // sops needs only `encrypt` for a pinned key: a caller without `get` can still
        // wrap, remotely (as the Python SDK falls back).
        Err(KvError::Forbidden { .. }) if key.version.is_some() => {
            return remote(key.clone()).await
        }
        Err(e) => return Err(e),
    };
    if remote_encrypt || !public.can_encrypt_locally() {
        return remote(public.id.clone()).await;
    }
    if !public.enabled {
        return Err(KvError::KeyDisabled {
            key: Box::new(public.id.clone()),
            operation: Operation::Encrypt,
            detail: Some("refusing to encrypt to a disabled version: it could not decrypt".into()),
        });
    }
    let ciphertext = public
        .encrypt_oaep256(secret)
        .map_err(|message| KvError::Crypto {
            key: Box::new(public.id.clone()),
            message,
        })?;
    Ok(Wrapped {
        key: public.id.clone(),
        enc: b64url(&ciphertext),
    })
}

#[async_trait(?Send)]
impl KeySource for AzureKvSource {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        let id = KeyId::from_entry(key).map_err(KvError::from)?;
        let wrapped = self.wrap_secret(&id, secret).await?;
        let mut entry = key.description();
        entry.set("vault_url", wrapped.key.vault_url.clone());
        entry.set("name", wrapped.key.name.clone());
        entry.set("version", wrapped.key.version.clone().unwrap_or_default());
        entry.set("created_at", now);
        entry.set("enc", wrapped.enc);
        Ok(entry)
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        let id = KeyId::from_entry(entry).map_err(KvError::from)?;
        let enc = entry
            .get("enc")
            .filter(|e| !e.is_empty())
            .ok_or_else(|| KeyError::Failed {
                kind: KIND.into(),
                message: format!("the azure_kv entry for {id} has no enc"),
            })?;
        Ok(self.unwrap_secret(&id, enc).await?)
    }

    /// `GET` of the entry's key version (no side effect): the credential, the
    /// permission to read the key, the version's existence and state; then the key's
    /// current version, to tell whether the entry is stale.
    async fn probe(&self, entry: &KeyEntry) -> Probe {
        let id = match KeyId::from_entry(entry) {
            Ok(id) => id,
            Err(e) => {
                return Probe::unusable(e.to_string(), "fix the entry's vault_url/name/version")
            }
        };
        let key = match self.client.get_key(&id).await {
            Ok(key) => key,
            Err(e) => return probe_failure(e),
        };
        if !key.enabled {
            return Probe::unusable(
                format!("key version {} is disabled", key.id),
                format!(
                    "enable version {} of key '{}' in the vault",
                    key.id.version.as_deref().unwrap_or("?"),
                    id.name
                ),
            );
        }
        let mut probe = Probe::usable(format!(
            "key {} readable with the {} credential (Key Vault has no check of the decrypt \
             permission short of decrypting)",
            key.id,
            self.client.credential_name()
        ));
        if let Some(pinned) = &id.version {
            match self.client.latest_version(&id).await {
                Ok(current) if current != *pinned => {
                    probe = probe.with_stale(format!(
                        "version {pinned} is not the current one ({current}): run \
                         `leafcrypt rotate -i FILE` (or `updatekeys`) to re-wrap with it"
                    ))
                }
                Ok(_) => {}
                Err(e) => probe
                    .detail
                    .push_str(&format!("; current version unknown: {e}")),
            }
        }
        probe
    }
}

/// The probe verdict for a failed `GET`.
fn probe_failure(e: KvError) -> Probe {
    let text = e.to_string();
    match e {
        KvError::Forbidden { .. } => Probe::unusable(
            text,
            "grant the caller the 'Key Vault Crypto User' role (or keys/get and keys/decrypt) on this key",
        ),
        KvError::KeyDisabled { .. } => {
            Probe::unusable(text, "enable this key version in the vault")
        }
        KvError::NotFound { .. } => Probe::unusable(
            text,
            "restore the key (or version) in the vault, or decrypt with another key of the file",
        ),
        KvError::Credential { .. } | KvError::Unauthorized { .. } => Probe::unusable(
            text,
            "sign in: `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
        ),
        KvError::InvalidKey(_) | KvError::Config(_) | KvError::Challenge { .. } => {
            Probe::unusable(text, "fix the entry's vault URL or the client settings")
        }
        _ => Probe::unknown(text, "check the network and retry `leafcrypt doctor`"),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::keysource::azure_kv::test_support::*;
    use crate::keysource::rest::test_server::{Reply, TestServer};
    use crate::keysource::Keyring;
    use rsa::Oaep;

    const NOW: &str = "2026-11-29T06:00:00Z";

    fn entry(version: &str) -> KeyEntry {
        KeyId::new(VAULT, "k", Some(version)).to_entry()
    }

    fn private_decrypt(enc: &str) -> Vec<u8> {
        let ciphertext = b64url_decode(enc).unwrap();
        test_key()
            .decrypt(Oaep::new::<sha2::Sha256>(), &ciphertext)
            .unwrap()
    }

    #[tokio::test]
    async fn local_wrap_pins_the_version_and_calls_the_vault_once_for_1000_keys() {
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
        ])
        .await;
        let (client, credential) = test_client(&server.url);
        let source = AzureKvSource::new(client.clone());
        let secrets: Vec<[u8; 32]> = (0..1000u32)
            .map(|i| {
                let mut s = [0u8; 32];
                s[..4].copy_from_slice(&i.to_be_bytes());
                s
            })
            .collect();
        let mut entries = Vec::new();
        for secret in &secrets {
            entries.push(source.wrap(&entry(""), secret, NOW).await.unwrap());
        }
        // One challenged GET for the whole batch: 401 + 200, one token.
        assert_eq!(server.requests().len(), 2);
        assert_eq!(client.request_count(), 2);
        assert_eq!(credential.requests.borrow().len(), 1);

        let first = &entries[0];
        let names: Vec<&str> = first.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["vault_url", "name", "version", "created_at", "enc"]);
        assert_eq!(first.get("vault_url"), Some(VAULT));
        assert_eq!(first.get("version"), Some(KID_VERSION));
        assert_eq!(first.get("created_at"), Some(NOW));
        for e in &entries {
            let enc = e.get("enc").unwrap();
            assert_eq!(enc.len(), 342, "RSA-2048 ciphertext, unpadded base64url");
            assert!(enc
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        // OAEP is randomised: the same key never gives the same enc.
        let again = source.wrap(&entry(""), &secrets[0], NOW).await.unwrap();
        assert_ne!(again.get("enc"), first.get("enc"));
        for i in [0, 499, 999] {
            assert_eq!(private_decrypt(entries[i].get("enc").unwrap()), secrets[i]);
        }
    }

    #[tokio::test]
    async fn unwrap_decrypts_with_the_pinned_version() {
        let data_key = [42u8; 32];
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &operation_answer("k", KID_VERSION, &data_key)),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let source = AzureKvSource::new(client);
        let enc = b64url(&[5u8; 256]);
        let wrapped = entry(KID_VERSION)
            .with("created_at", NOW)
            .with("enc", format!("{enc}=="));
        let secret = source.unwrap(&wrapped).await.unwrap();
        assert_eq!(secret.expose(), data_key);
        let seen = server.requests();
        assert_eq!(
            seen[1].target,
            format!("/keys/k/{KID_VERSION}/decrypt?api-version=7.6")
        );
        let body: serde_json::Value = serde_json::from_str(&seen[1].body).unwrap();
        assert_eq!(body["alg"], "RSA-OAEP-256");
        assert_eq!(body["value"], enc, "padding accepted in, never sent out");
    }

    #[tokio::test]
    async fn unwrap_without_a_version_uses_the_latest_as_sops_does() {
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &operation_answer("k", KID_VERSION, &[1u8; 32])),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let source = AzureKvSource::new(client);
        let wrapped = entry("").with("enc", b64url(&[5u8; 256]));
        source.unwrap(&wrapped).await.unwrap();
        assert_eq!(
            server.requests()[1].target,
            "/keys/k/decrypt?api-version=7.6"
        );
    }

    #[tokio::test]
    async fn remote_encrypt_uses_the_vault_and_needs_no_get_for_a_pinned_key() {
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &operation_answer("k", KID_VERSION, &[3u8; 256])),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
            Reply::json(200, &operation_answer("k", KID_VERSION, &[4u8; 256])),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let source = AzureKvSource::new(client).with_remote_encrypt(true);
        let pinned = source
            .wrap(&entry(KID_VERSION), &[0u8; 32], NOW)
            .await
            .unwrap();
        assert_eq!(pinned.get("enc"), Some(b64url(&[3u8; 256]).as_str()));
        let latest = source.wrap(&entry(""), &[0u8; 32], NOW).await.unwrap();
        assert_eq!(latest.get("version"), Some(KID_VERSION));
        assert_eq!(latest.get("enc"), Some(b64url(&[4u8; 256]).as_str()));
        let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
        let encrypt = format!("/keys/k/{KID_VERSION}/encrypt?api-version=7.6");
        assert_eq!(
            targets,
            [
                encrypt.clone(),
                encrypt.clone(),
                "/keys/k/?api-version=7.6".into(),
                encrypt
            ]
        );
    }

    #[tokio::test]
    async fn without_get_permission_a_pinned_key_is_wrapped_remotely() {
        let denied = r#"{"error":{"code":"Forbidden","message":"The user, group or application 'appid=a' does not have keys get permission on key vault 'myvault'.","innererror":{"code":"ForbiddenByPolicy"}}}"#;
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(403, denied),
            Reply::json(200, &operation_answer("k", KID_VERSION, &[6u8; 256])),
            Reply::json(403, denied),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let source = AzureKvSource::new(client);
        let wrapped = source
            .wrap(&entry(KID_VERSION), &[0u8; 32], NOW)
            .await
            .unwrap();
        assert_eq!(wrapped.get("enc"), Some(b64url(&[6u8; 256]).as_str()));
        assert_eq!(
            server.requests()[2].target,
            format!("/keys/k/{KID_VERSION}/encrypt?api-version=7.6")
        );
        // Unpinned, the version cannot be resolved without `get`: the error says so.
        let err = source.wrap(&entry(""), &[0u8; 32], NOW).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("denied get") && text.contains("'keys/get'"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_disabled_version_is_not_wrapped_to() {
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &key_bundle("k", KID_VERSION, false)),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let err = AzureKvSource::new(client)
            .wrap(&entry(""), &[0u8; 32], NOW)
            .await
            .unwrap_err();
        let KeyError::Failed { kind, message } = err else {
            panic!("{err}");
        };
        assert_eq!(kind, "azure_kv");
        assert!(message.contains("is disabled"), "{message}");
        assert!(
            message.contains(&format!("{VAULT}/keys/k/{KID_VERSION}")),
            "{message}"
        );
    }

    #[tokio::test]
    async fn current_version_always_asks_the_vault() {
        let newer = "ffffffffffffffffffffffffffffffff";
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
            Reply::json(200, &key_bundle("k", newer, true)),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let source = AzureKvSource::new(client);
        assert_eq!(
            source.current_version(VAULT, "k").await.unwrap(),
            KID_VERSION
        );
        assert_eq!(source.current_version(VAULT, "k").await.unwrap(), newer);
        // After a rotation, new wraps pin the newer version without another request.
        let wrapped = source.wrap(&entry(""), &[0u8; 32], NOW).await.unwrap();
        assert_eq!(wrapped.get("version"), Some(newer));
        assert_eq!(server.requests().len(), 3);
        assert!(source.current_version("http://x", "k").await.is_err());
    }

    #[tokio::test]
    async fn clones_share_one_client_across_keyrings() {
        let server = TestServer::start(vec![
            unauthorized(),
            Reply::json(200, &key_bundle("k", KID_VERSION, true)),
        ])
        .await;
        let (client, _) = test_client(&server.url);
        let source = AzureKvSource::new(client);
        for _file in 0..3 {
            let keyring = Keyring::new().with(Box::new(source.clone()));
            let e = keyring.wrap(&entry(""), &[8u8; 32], NOW).await.unwrap();
            assert_eq!(private_decrypt(e.get("enc").unwrap()), [8u8; 32]);
        }
        assert_eq!(source.client().request_count(), 2);
    }

    #[tokio::test]
    async fn bad_entries_are_refused_before_any_request() {
        let server = TestServer::start(vec![]).await;
        let (client, _) = test_client(&server.url);
        let source = AzureKvSource::new(client);
        let http = KeyEntry::new(KIND)
            .with("vault_url", "http://v")
            .with("name", "k");
        assert!(matches!(
            source.wrap(&http, &[0u8; 32], NOW).await,
            Err(KeyError::InvalidKey { .. })
        ));
        let no_enc = entry(KID_VERSION);
        let err = source.unwrap(&no_enc).await.unwrap_err().to_string();
        assert!(err.contains("has no enc"), "{err}");
        assert!(server.requests().is_empty());
    }
}
