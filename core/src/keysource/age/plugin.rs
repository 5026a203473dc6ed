//! age plugins: `age1NAME1…` recipients and `AGE-PLUGIN-NAME-1…` identities, handled by
//! the program `age-plugin-NAME` found on `PATH` (the age plugin protocol, as sops 3.11
//! and `age` run it). Native only: in WebAssembly both are refused with a clear error.

use super::ui::Callbacks;
use age::DecryptError;
use age_core::format::{FileKey, Stanza};

/// The plugin name of an `age1NAME1…` recipient (`NAME`).
fn recipient_plugin_name(text: &str) -> &str {
    let rest = text.strip_prefix("age1").unwrap_or(text);
    rest.split('1').next().unwrap_or(rest)
}

/// The plugin program a missing-plugin error names.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
fn missing(name: &str) -> String {
    format!(
        "the age plugin program age-plugin-{name} was not found in PATH: install it or add its directory to PATH"
    )
}

/// An `age1NAME1…` recipient.
#[derive(Clone)]
pub struct PluginRecipient {
    #[cfg(not(target_arch = "wasm32"))]
    inner: age::plugin::Recipient,
    #[cfg(target_arch = "wasm32")]
    name: String,
}

/// An `AGE-PLUGIN-NAME-1…` identity.
#[derive(Clone)]
pub struct PluginIdentity {
    #[cfg(not(target_arch = "wasm32"))]
    inner: age::plugin::Identity,
    #[cfg(target_arch = "wasm32")]
    name: String,
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::*;
    use std::str::FromStr;

    impl PluginRecipient {
        /// Parses an `age1NAME1…` recipient.
        pub fn parse(text: &str) -> Result<Self, String> {
            age::plugin::Recipient::from_str(text)
                .map(|inner| Self { inner })
                .map_err(str::to_string)
        }

        /// The plugin name (`NAME` of `age-plugin-NAME`).
        pub fn name(&self) -> &str {
            self.inner.plugin()
        }

        /// The recipient, wrapping through its plugin.
        pub(crate) fn recipient(&self, ui: &Callbacks) -> Result<Box<dyn age::Recipient>, String> {
            age::plugin::RecipientPluginV1::new(
                self.name(),
                std::slice::from_ref(&self.inner),
                &[],
                ui.clone(),
            )
            .map(|p| Box::new(p) as Box<dyn age::Recipient>)
            .map_err(|_| missing(self.name()))
        }
    }

    impl PluginIdentity {
        /// Parses an `AGE-PLUGIN-NAME-1…` identity line. The error never contains it.
        pub fn parse(text: &str) -> Result<Self, String> {
            age::plugin::Identity::from_str(text)
                .map(|inner| Self { inner })
                .map_err(str::to_string)
        }

        /// The plugin name (lower case).
        pub fn name(&self) -> &str {
            self.inner.plugin()
        }

        /// Offers every stanza to the plugin; `None` when it has no key for them.
        pub(crate) fn unwrap_stanzas(
            &self,
            stanzas: &[Stanza],
            ui: &Callbacks,
        ) -> Option<Result<FileKey, DecryptError>> {
            match age::plugin::IdentityPluginV1::new(
                self.name(),
                std::slice::from_ref(&self.inner),
                ui.clone(),
            ) {
                Ok(plugin) => age::Identity::unwrap_stanzas(&plugin, stanzas),
                Err(_) => Some(Err(DecryptError::Io(std::io::Error::other(missing(
                    self.name(),
                ))))),
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::*;

    fn unavailable(what: &str, name: &str) -> String {
        format!(
            "{what} need the program age-plugin-{name}, which cannot run in WebAssembly: use the leafcrypt CLI"
        )
    }

    impl PluginRecipient {
        /// Always an error in WebAssembly: plugins are programs.
        pub fn parse(text: &str) -> Result<Self, String> {
            Err(unavailable(
                "age plugin recipients",
                recipient_plugin_name(text),
            ))
        }

        /// The plugin name.
        pub fn name(&self) -> &str {
            &self.name
        }

        pub(crate) fn recipient(&self, _: &Callbacks) -> Result<Box<dyn age::Recipient>, String> {
            Err(unavailable("age plugin recipients", &self.name))
        }
    }

    impl PluginIdentity {
        /// Always an error in WebAssembly: plugins are programs.
        pub fn parse(text: &str) -> Result<Self, String> {
            let name = text
                .strip_prefix("AGE-PLUGIN-")
                .and_then(|r| r.rsplit_once("-1"))
                .map(|(n, _)| n.to_lowercase())
                .unwrap_or_default();
            Err(unavailable("age plugin identities", &name))
        }

        /// The plugin name.
        pub fn name(&self) -> &str {
            &self.name
        }

        pub(crate) fn unwrap_stanzas(
            &self,
            _: &[Stanza],
            _: &Callbacks,
        ) -> Option<Result<FileKey, DecryptError>> {
            None
        }
    }
}

/// Whether an entry's recipient belongs to the plugin `name` (for `--strict`).
pub(crate) fn recipient_is_for(recipient: &str, name: &str) -> bool {
    recipient.starts_with("age1")
        && recipient.matches('1').count() > 1
        && recipient_plugin_name(recipient) == name
}
