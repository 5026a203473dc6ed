//! `age-plugin-leafcrypttest`: a small age plugin for the tests, speaking the real age
//! plugin protocol (through the `age-plugin` crate) with real cryptography: a recipient
//! `age1leafcrypttest1…` holds an X25519 public key, an identity
//! `AGE-PLUGIN-LEAFCRYPTTEST-1…` its secret key; the file key is wrapped exactly as age's
//! X25519 recipient does, in a stanza tagged `leafcrypttest`.
//!
//! Run directly: `age-plugin-leafcrypttest --keygen N` prints the identity and recipient of
//! the deterministic test key N (one per line).
//!
//! For the tests, through the environment:
//! - `LEAFCRYPTTEST_LOG=FILE`: appends `wrap` or `unwrap` per call, to count calls;
//! - `LEAFCRYPTTEST_MESSAGE=TEXT`: shows TEXT through the client before unwrapping;
//! - `LEAFCRYPTTEST_ASK_SECRET=PROMPT`: asks the client for a secret before unwrapping
//!   and fails the unwrap if the client cannot ask.

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use age_core::primitives::bech32_encode;
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{run_state_machine, Callbacks, PluginHandler};
use bech32::Hrp;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::str::FromStr;

const NAME: &str = "leafcrypttest";
const TAG: &str = "leafcrypttest";
const X25519_TAG: &str = "X25519";

/// The secret key bytes of test key `n`.
fn secret_bytes(n: &str) -> [u8; 32] {
    Sha256::digest(format!("leafcrypttest age plugin test key {n}")).into()
}

/// An age X25519 identity from its secret bytes.
fn x25519_identity(secret: &[u8]) -> Option<age::x25519::Identity> {
    let text = bech32_encode(Hrp::parse_unchecked("age-secret-key-"), secret).to_uppercase();
    age::x25519::Identity::from_str(&text).ok()
}

/// An age X25519 recipient from its public bytes.
fn x25519_recipient(public: &[u8]) -> Option<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(&bech32_encode(Hrp::parse_unchecked("age"), public)).ok()
}

fn log(what: &str) {
    if let Some(path) = std::env::var_os("LEAFCRYPTTEST_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{what}");
        }
    }
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Wrapper;
    type IdentityV1 = Unwrapper;

    fn recipient_v1(self) -> io::Result<Wrapper> {
        Ok(Wrapper(Vec::new()))
    }

    fn identity_v1(self) -> io::Result<Unwrapper> {
        Ok(Unwrapper(Vec::new()))
    }
}

struct Wrapper(Vec<age::x25519::Recipient>);

impl RecipientPluginV1 for Wrapper {
    fn add_recipient(
        &mut self,
        index: usize,
        _: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        let r = x25519_recipient(bytes).ok_or_else(|| recipient::Error::Recipient {
            index,
            message: "not a leafcrypttest recipient".into(),
        })?;
        self.0.push(r);
        Ok(())
    }

    fn add_identity(
        &mut self,
        index: usize,
        _: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        let i = x25519_identity(bytes).ok_or_else(|| recipient::Error::Identity {
            index,
            message: "not a leafcrypttest identity".into(),
        })?;
        self.0.push(i.to_public());
        Ok(())
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        log("wrap");
        let mut out = Vec::new();
        for key in &file_keys {
            let mut stanzas = Vec::new();
            for r in &self.0 {
                let (wrapped, _) = age::Recipient::wrap_file_key(r, key)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                stanzas.extend(wrapped.into_iter().map(|mut s| {
                    s.tag = TAG.into();
                    s
                }));
            }
            out.push(stanzas);
        }
        Ok(Ok(out))
    }
}

struct Unwrapper(Vec<age::x25519::Identity>);

impl IdentityPluginV1 for Unwrapper {
    fn add_identity(&mut self, index: usize, _: &str, bytes: &[u8]) -> Result<(), identity::Error> {
        let i = x25519_identity(bytes).ok_or_else(|| identity::Error::Identity {
            index,
            message: "not a leafcrypttest identity".into(),
        })?;
        self.0.push(i);
        Ok(())
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        mut callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        log("unwrap");
        if let Ok(text) = std::env::var("LEAFCRYPTTEST_MESSAGE") {
            let _ = callbacks.message(&text)?;
        }
        let mut out = HashMap::new();
        if let Ok(prompt) = std::env::var("LEAFCRYPTTEST_ASK_SECRET") {
            match callbacks.request_secret(&prompt)? {
                Ok(s) if !s.expose_secret().is_empty() => {}
                _ => {
                    for i in 0..files.len() {
                        out.insert(
                            i,
                            Err(vec![identity::Error::Identity {
                                index: 0,
                                message: "leafcrypttest: the client could not ask for the secret"
                                    .into(),
                            }]),
                        );
                    }
                    return Ok(out);
                }
            }
        }
        for (i, stanzas) in files.iter().enumerate() {
            'file: for stanza in stanzas.iter().filter(|s| s.tag == TAG) {
                let native = Stanza {
                    tag: X25519_TAG.into(),
                    args: stanza.args.clone(),
                    body: stanza.body.clone(),
                };
                for identity in &self.0 {
                    match age::Identity::unwrap_stanza(identity, &native) {
                        Some(Ok(key)) => {
                            out.insert(i, Ok(key));
                            break 'file;
                        }
                        Some(Err(e)) => {
                            out.insert(
                                i,
                                Err(vec![identity::Error::Stanza {
                                    file_index: i,
                                    stanza_index: 0,
                                    message: e.to_string(),
                                }]),
                            );
                        }
                        None => {}
                    }
                }
            }
        }
        Ok(out)
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(machine) = args.iter().find_map(|a| a.strip_prefix("--age-plugin=")) {
        return run_state_machine(machine, Handler);
    }
    match args.as_slice() {
        [flag, n] if flag == "--keygen" => {
            let secret = secret_bytes(n);
            let identity = bech32_encode(
                Hrp::parse_unchecked(&format!("age-plugin-{NAME}-")),
                &secret,
            )
            .to_uppercase();
            let public = x25519_identity(&secret)
                .ok_or_else(|| io::Error::other("bad key"))?
                .to_public()
                .to_string();
            // The same X25519 public key under the plugin's HRP.
            let (_, data) = bech32::decode(&public).map_err(io::Error::other)?;
            let recipient = bech32_encode(Hrp::parse_unchecked(&format!("age1{NAME}")), &data);
            println!("{identity}\n{recipient}");
            Ok(())
        }
        _ => Err(io::Error::other(
            "usage: age-plugin-leafcrypttest --keygen N (or run by an age client)",
        )),
    }
}
