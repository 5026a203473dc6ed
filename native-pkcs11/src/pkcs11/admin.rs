//! `leafcrypt pkcs11 keygen` (a new non-extractable KEK on a token) and `leafcrypt pkcs11
//! list` (tokens and the keys leafcrypt can use).

use super::error::{map, Pkcs11Error};
use super::token::{self, Token};
use super::uri::{percent_encode_id, Pkcs11Uri};
use cryptoki::mechanism::Mechanism as CkMechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::Session;
use std::fmt::Write as _;

/// The kind of KEK `keygen` creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KekType {
    /// AES-256 secret key (CKM_AES_GCM).
    Aes,
    /// RSA key pair of this many bits (CKM_RSA_PKCS_OAEP or raw RSA).
    Rsa(u32),
}

/// Creates a KEK named by `uri` (its `object=` label; `id=` or a random 16-byte CKA_ID)
/// and returns the URI that names it. Refuses when an object with that label exists.
pub fn keygen(uri: &Pkcs11Uri, kind: KekType) -> Result<String, Pkcs11Error> {
    let label = uri
        .get("object")
        .ok_or_else(|| Pkcs11Error::Uri("keygen needs object=<label> in the URI".into()))?;
    let token = Token::find(uri)?;
    token.login(uri)?;
    let session = token.rw_session()?;
    let existing = session
        .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
        .map_err(|e| map(e, "C_FindObjects", &token.label))?;
    if !existing.is_empty() {
        return Err(Pkcs11Error::Exists {
            label: label.to_string(),
            token: token.label.clone(),
        });
    }
    let id = match &uri.id {
        Some(id) => id.clone(),
        None => {
            let mut id = vec![0u8; 16];
            getrandom::getrandom(&mut id).map_err(|e| Pkcs11Error::Other {
                what: "generating a CKA_ID".into(),
                rv: e.to_string(),
            })?;
            id
        }
    };
    let common = |class_private: bool| {
        vec![
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
            Attribute::Private(class_private),
        ]
    };
    let secret_attrs = [
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Decrypt(true),
        Attribute::Sign(false),
        Attribute::Unwrap(false),
    ];
    match kind {
        KekType::Aes => {
            let mut t = common(true);
            t.extend([
                Attribute::ValueLen(32.into()),
                Attribute::Encrypt(true),
                Attribute::Wrap(false),
            ]);
            t.extend(secret_attrs.iter().cloned());
            session
                .generate_key(&CkMechanism::AesKeyGen, &t)
                .map_err(|e| map(e, "C_GenerateKey (AES-256)", &token.label))?;
        }
        KekType::Rsa(bits) => {
            let mut public = common(false);
            public.extend([
                Attribute::ModulusBits(u64::from(bits).into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
                Attribute::Encrypt(true),
                Attribute::Verify(false),
                Attribute::Wrap(false),
            ]);
            let mut private = common(true);
            private.extend(secret_attrs.iter().cloned());
            session
                .generate_key_pair(&CkMechanism::RsaPkcsKeyPairGen, &public, &private)
                .map_err(|e| map(e, &format!("C_GenerateKeyPair (RSA-{bits})"), &token.label))?;
        }
    }
    Ok(format!(
        "pkcs11:token={};object={label};id={}",
        token.label,
        percent_encode_id(&id)
    ))
}

/// A human-readable listing of the tokens of `module` and the keys on them that leafcrypt
/// can use. Logs in (to see private keys) only when a PIN is configured in the
/// environment; otherwise only public objects are shown.
pub fn list(module: Option<&str>) -> Result<String, Pkcs11Error> {
    let path = module
        .map(String::from)
        .unwrap_or_else(|| token::module_path(&Pkcs11Uri::default()));
    let ctx = token::module(&path)?;
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| map(e, "C_GetSlotList", &path))?;
    let mut out = format!("module {path}\n");
    if slots.is_empty() {
        out.push_str("  no tokens\n");
    }
    let pin_known = std::env::var(super::pin::PIN_ENV).is_ok();
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| map(e, "C_GetTokenInfo", &path))?;
        let label = info.label().trim().to_string();
        let _ = writeln!(
            out,
            "slot {} token '{label}' (manufacturer {}, model {}, serial {})",
            slot.id(),
            info.manufacturer_id().trim(),
            info.model().trim(),
            info.serial_number().trim()
        );
        if !info.token_initialized() {
            out.push_str("  not initialised\n");
            continue;
        }
        let uri = Pkcs11Uri::parse(&format!("pkcs11:slot-id={}?module-path={path}", slot.id()))?;
        let token = Token::find(&uri)?;
        let logged_in = pin_known && info.login_required() && token.login(&uri).is_ok();
        if info.login_required() && !logged_in {
            out.push_str("  (public objects only; set LEAFCRYPT_PKCS11_PIN to see secret and private keys)\n");
        }
        let session = token.session()?;
        let keys = usable_keys(&session, &label)?;
        write_keys(&mut out, &label, keys);
    }
    Ok(out)
}

/// One key object: (label, id, description, usable).
type KeyLine = (String, Vec<u8>, String, bool);

/// The secret, public and private keys on the token of `session`, sorted, without
/// duplicates.
fn usable_keys(session: &Session, label: &str) -> Result<Vec<KeyLine>, Pkcs11Error> {
    let mut keys = Vec::new();
    for class in [
        ObjectClass::SECRET_KEY,
        ObjectClass::PUBLIC_KEY,
        ObjectClass::PRIVATE_KEY,
    ] {
        let handles = session
            .find_objects(&[Attribute::Class(class)])
            .map_err(|e| map(e, "C_FindObjects", label))?;
        for h in handles {
            let attrs = session
                .get_attributes(
                    h,
                    &[
                        AttributeType::Label,
                        AttributeType::Id,
                        AttributeType::KeyType,
                        AttributeType::Decrypt,
                        AttributeType::Encrypt,
                        AttributeType::ValueLen,
                        AttributeType::Modulus,
                    ],
                )
                .map_err(|e| map(e, "C_GetAttributeValue", label))?;
            keys.push(describe(class, &attrs));
        }
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// The listing lines of a token's keys, as `pkcs11:` URIs.
fn write_keys(out: &mut String, label: &str, keys: Vec<KeyLine>) {
    if keys.is_empty() {
        out.push_str("  no keys\n");
    }
    for (object, id, what, usable) in keys {
        let _ = writeln!(
            out,
            "  pkcs11:token={label};object={object};id={}  {what}{}",
            percent_encode_id(&id),
            if usable {
                ""
            } else {
                "  (not usable by leafcrypt)"
            }
        );
    }
}

/// (label, id, description, usable) of one key object.
fn describe(class: ObjectClass, attrs: &[Attribute]) -> KeyLine {
    let mut label = String::new();
    let mut id = Vec::new();
    let mut key_type = None;
    let (mut decrypt, mut encrypt) = (false, false);
    let mut bits = 0u64;
    for a in attrs {
        match a {
            Attribute::Label(l) => label = String::from_utf8_lossy(l).into_owned(),
            Attribute::Id(i) => id = i.clone(),
            Attribute::KeyType(k) => key_type = Some(*k),
            Attribute::Decrypt(d) => decrypt = *d,
            Attribute::Encrypt(e) => encrypt = *e,
            Attribute::ValueLen(v) => bits = u64::from(*v) * 8,
            Attribute::Modulus(m) => bits = m.iter().skip_while(|b| **b == 0).count() as u64 * 8,
            _ => {}
        }
    }
    let (what, usable) = match (class, key_type) {
        (c, Some(KeyType::AES)) if c == ObjectClass::SECRET_KEY => (
            format!("AES-{bits} secret key (AES-GCM)"),
            encrypt && decrypt && bits == 256,
        ),
        (c, Some(KeyType::RSA)) if c == ObjectClass::PUBLIC_KEY => {
            (format!("RSA-{bits} public key (wraps)"), encrypt)
        }
        (c, Some(KeyType::RSA)) if c == ObjectClass::PRIVATE_KEY => {
            (format!("RSA-{bits} private key (unwraps)"), decrypt)
        }
        (_, k) => (
            format!(
                "{} key",
                k.map(|k| k.to_string()).unwrap_or_else(|| "unknown".into())
            ),
            false,
        ),
    };
    (label, id, what, usable)
}
