//! A key source built on first use, as a keyring member: files without its keys never
//! read its environment, and a bad configuration only fails the files that have its keys.

use async_trait::async_trait;
use leafcrypt_core::keysource::{KeyEntry, KeyError, KeySource, Probe};
use leafcrypt_core::secret::Secret;
use std::cell::OnceCell;

/// How to build a source: its error is the message every use of it fails with.
type Build<S> = Box<dyn Fn() -> Result<S, String>>;

/// The source of `kind`, built by `build` when an entry is first wrapped, unwrapped or
/// probed; `advice` is what a failed build's probe tells the user to check.
pub struct LazySource<S> {
    kind: &'static str,
    advice: &'static str,
    build: Build<S>,
    source: OnceCell<Result<S, String>>,
}

impl<S: KeySource> LazySource<S> {
    /// A member for `kind` that builds its source with `build` on first use.
    pub fn new(
        kind: &'static str,
        advice: &'static str,
        build: impl Fn() -> Result<S, String> + 'static,
    ) -> Self {
        Self {
            kind,
            advice,
            build: Box::new(build),
            source: OnceCell::new(),
        }
    }

    fn get(&self) -> Result<&S, KeyError> {
        self.source
            .get_or_init(|| (self.build)())
            .as_ref()
            .map_err(|message| KeyError::Failed {
                kind: self.kind.into(),
                message: message.clone(),
            })
    }
}

#[async_trait(?Send)]
impl<S: KeySource> KeySource for LazySource<S> {
    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn wrap(&self, key: &KeyEntry, secret: &[u8], now: &str) -> Result<KeyEntry, KeyError> {
        self.get()?.wrap(key, secret, now).await
    }

    async fn unwrap(&self, entry: &KeyEntry) -> Result<Secret, KeyError> {
        self.get()?.unwrap(entry).await
    }

    async fn probe(&self, entry: &KeyEntry) -> Probe {
        match self.get() {
            Ok(source) => source.probe(entry).await,
            Err(e) => Probe::unusable(e.to_string(), self.advice),
        }
    }
}
