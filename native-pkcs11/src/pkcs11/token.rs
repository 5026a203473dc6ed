//! Reaching a token: the module loaded and initialised once per process, the slot whose
//! token matches the URI, one login per token per process (a failed login is remembered
//! and never retried: tokens lock), a fresh session per operation (sessions are `Send`
//! but not `Sync`, so threads never share one), and key lookup by label, id and class.

use super::error::{map, rv_of, Pkcs11Error};
use super::pin;
use super::uri::Pkcs11Uri;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The module used when neither the URI nor the environment names one.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// Environment variable naming the default module.
pub const MODULE_ENV: &str = "LEAFCRYPT_PKCS11_MODULE";

/// The module for `uri`: its `module-path`, else `LEAFCRYPT_PKCS11_MODULE`, else SoftHSM2's.
pub fn module_path(uri: &Pkcs11Uri) -> String {
    uri.module_path
        .clone()
        .or_else(|| std::env::var(MODULE_ENV).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| DEFAULT_MODULE.to_string())
}

/// Loads and initialises the module at `path` once per process.
pub fn module(path: &str) -> Result<Pkcs11, Pkcs11Error> {
    static MODULES: OnceLock<Mutex<HashMap<String, Pkcs11>>> = OnceLock::new();
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(m) = modules.get(path) {
        return Ok(m.clone());
    }
    let fail = |reason: String| Pkcs11Error::Module {
        path: path.to_string(),
        reason,
    };
    if !std::path::Path::new(path).exists() {
        return Err(fail(
            "no such file (on Debian: apt-get install softhsm2, or your HSM vendor's library)"
                .into(),
        ));
    }
    let ctx = Pkcs11::new(path).map_err(|e| fail(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(e) if rv_of(&e) == Some(RvError::CryptokiAlreadyInitialized) => {}
        Err(e) => {
            let hint = if rv_of(&e) == Some(RvError::GeneralError) {
                " (for SoftHSM2: check SOFTHSM2_CONF and its tokendir)"
            } else {
                ""
            };
            return Err(fail(format!(
                "C_Initialize: {}{hint}",
                map(e, "C_Initialize", path)
            )));
        }
    }
    modules.insert(path.to_string(), ctx.clone());
    Ok(ctx)
}

/// The outcome of the process's one login attempt on a token.
enum Login {
    /// Logged in; the session keeps the login alive for the whole process.
    Done(#[allow(dead_code)] Option<Session>),
    /// Failed; the error is returned again without touching the token.
    Failed(Pkcs11Error),
}

/// A token in a slot of a loaded module.
pub struct Token {
    ctx: Pkcs11,
    module: String,
    slot: Slot,
    /// The token's label (trimmed).
    pub label: String,
    /// Whether the token asks for a user login (`CKF_LOGIN_REQUIRED`).
    pub login_required: bool,
}

impl Token {
    /// The one token matching `uri`'s token and slot attributes.
    pub fn find(uri: &Pkcs11Uri) -> Result<Token, Pkcs11Error> {
        let module = module_path(uri);
        let ctx = self::module(&module)?;
        let slots = ctx
            .get_slots_with_token()
            .map_err(|e| map(e, "C_GetSlotList", &module))?;
        let want_slot = uri.slot_id()?;
        let mut found = Vec::new();
        for slot in slots {
            if want_slot.is_some_and(|id| id != slot.id()) {
                continue;
            }
            if let Some(d) = uri.get("slot-description") {
                match ctx.get_slot_info(slot) {
                    Ok(info) if info.slot_description().trim() == d => {}
                    _ => continue,
                }
            }
            let info = match ctx.get_token_info(slot) {
                Ok(i) => i,
                Err(e) if rv_of(&e) == Some(RvError::TokenNotPresent) => continue,
                Err(e) => return Err(map(e, "C_GetTokenInfo", &module)),
            };
            let fields = [
                ("token", info.label()),
                ("manufacturer", info.manufacturer_id()),
                ("model", info.model()),
                ("serial", info.serial_number()),
            ];
            if fields
                .iter()
                .all(|(name, have)| uri.get(name).is_none_or(|want| want == have.trim()))
            {
                found.push((slot, info.label().trim().to_string(), info.login_required()));
            }
        }
        match found.len() {
            0 if want_slot.is_some() => Err(Pkcs11Error::TokenNotPresent(uri.stored().into())),
            0 => Err(Pkcs11Error::NoToken(uri.stored().into())),
            1 => {
                let (slot, label, login_required) = found.remove(0);
                Ok(Token {
                    ctx,
                    module,
                    slot,
                    label,
                    login_required,
                })
            }
            _ => Err(Pkcs11Error::Ambiguous(format!(
                "{} (tokens: {})",
                uri.stored(),
                found
                    .iter()
                    .map(|(_, l, _)| l.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Whether the token lists `mechanism` (a token may still refuse some parameters).
    pub fn supports(&self, mechanism: cryptoki::mechanism::MechanismType) -> bool {
        self.ctx
            .get_mechanism_list(self.slot)
            .is_ok_and(|list| list.contains(&mechanism))
    }

    /// A new read-only session for one operation on this thread.
    pub fn session(&self) -> Result<Session, Pkcs11Error> {
        self.ctx
            .open_ro_session(self.slot)
            .map_err(|e| map(e, "C_OpenSession", &self.label))
    }

    /// A new read-write session (for creating objects).
    pub fn rw_session(&self) -> Result<Session, Pkcs11Error> {
        self.ctx
            .open_rw_session(self.slot)
            .map_err(|e| map(e, "C_OpenSession", &self.label))
    }

    /// Logs the user in once per process, with the PIN `uri` or the environment gives.
    /// A failed login is remembered: the PIN is never tried twice.
    pub fn login(&self, uri: &Pkcs11Uri) -> Result<(), Pkcs11Error> {
        static LOGINS: OnceLock<Mutex<HashMap<(String, u64), Login>>> = OnceLock::new();
        let mut logins = LOGINS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let key = (self.module.clone(), self.slot.id());
        match logins.get(&key) {
            Some(Login::Done(_)) => return Ok(()),
            Some(Login::Failed(e)) => return Err(e.clone()),
            None => {}
        }
        if !self.login_required {
            logins.insert(key, Login::Done(None));
            return Ok(());
        }
        let pin = pin::resolve(uri, &self.label)?;
        let session = self.session()?;
        let outcome = match session.login(UserType::User, Some(&pin)) {
            Ok(()) => Login::Done(Some(session)),
            Err(e) if rv_of(&e) == Some(RvError::UserAlreadyLoggedIn) => Login::Done(Some(session)),
            Err(e) => Login::Failed(map(e, "C_Login", &self.label)),
        };
        let result = match &outcome {
            Login::Done(_) => Ok(()),
            Login::Failed(e) => Err(e.clone()),
        };
        logins.insert(key, outcome);
        result
    }

    /// The one key object of `class` matching `uri`'s `object`/`type` and `id` (the entry's
    /// CKA_ID wins over the URI's).
    pub fn find_key(
        &self,
        session: &Session,
        uri: &Pkcs11Uri,
        id: Option<&[u8]>,
        class: ObjectClass,
    ) -> Result<Option<ObjectHandle>, Pkcs11Error> {
        let mut template = vec![Attribute::Class(class)];
        if let Some(label) = uri.get("object") {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = id.or(uri.id.as_deref()) {
            template.push(Attribute::Id(id.to_vec()));
        }
        let mut found = session
            .find_objects(&template)
            .map_err(|e| map(e, "C_FindObjects", &self.label))?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(Pkcs11Error::Ambiguous(uri.stored().into())),
        }
    }

    /// The CKA_ID of `key` (empty when unset).
    pub fn key_id(&self, session: &Session, key: ObjectHandle) -> Result<Vec<u8>, Pkcs11Error> {
        let attrs = session
            .get_attributes(key, &[AttributeType::Id])
            .map_err(|e| map(e, "C_GetAttributeValue", &self.label))?;
        Ok(attrs
            .into_iter()
            .find_map(|a| match a {
                Attribute::Id(id) => Some(id),
                _ => None,
            })
            .unwrap_or_default())
    }

    /// The modulus length in bytes of the RSA key `key`.
    pub fn modulus_len(&self, session: &Session, key: ObjectHandle) -> Result<usize, Pkcs11Error> {
        let attrs = session
            .get_attributes(key, &[AttributeType::Modulus])
            .map_err(|e| map(e, "C_GetAttributeValue", &self.label))?;
        attrs
            .into_iter()
            .find_map(|a| match a {
                Attribute::Modulus(m) => Some(m.iter().skip_while(|b| **b == 0).count()),
                _ => None,
            })
            .filter(|n| *n > 0)
            .ok_or_else(|| Pkcs11Error::Other {
                what: format!("reading the RSA modulus on '{}'", self.label),
                rv: "no CKA_MODULUS".into(),
            })
    }
}
