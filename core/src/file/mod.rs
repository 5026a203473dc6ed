//! File-level operations, written once for every front end: encrypt a plaintext file,
//! open (decrypt, extract, view) an encrypted one, rotate its data key, edit its values,
//! edit its key groups, merge three versions of it, outline it without its key, re-wrap
//! single entries (a Key Vault key's new version).
//!
//! Each operation takes the file's bytes, the caller's [`Keyring`](crate::keysource::Keyring)
//! and plain options, and returns bytes or a core [`Error`](crate::Error): the decisions a
//! front end used to make (the binary-file rules, the "already encrypted" refusal, the
//! no-keys check, the Key Vault key-version policy) are made here. The CLI and the WASM
//! bindings only translate their arguments in and the result or error out. No I/O happens
//! here beyond the key sources'; the caller passes the time (`now`, RFC 3339 seconds, UTC).
//!
//! The steps are public too (parse, decrypt, change, emit), for front ends that word each
//! step's errors their own way or report progress between them.

mod encrypt;
mod groups;
mod merge;
mod open;
mod outline;
mod rewrap;
mod values;

pub use encrypt::{encrypt, parse_plain, NewFile};
pub use groups::{
    edit_keys, rotation_groups, GroupChange, GroupError, KeyChanges, KeyVersions, NoKeysLeft,
};
pub use merge::{merge, MergeError, MergeInput, MergeOptions, Merged, Side};
pub use open::{decrypt, extract, EncryptedFile, OpenFile, Viewed};
pub use outline::{fingerprint, metadata_summary};
pub use rewrap::{EntryRewrap, Rewrapped};

use crate::metadata::{Metadata, Selector, DEFAULT_UNENCRYPTED_SUFFIX};
use crate::stores::{Format, Store};

/// The formats an operation reads and writes, and the indentation it writes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The format of the input.
    pub input: Format,
    /// The format of the output (usually the input's).
    pub output: Format,
    /// Indentation of the output (YAML, JSON), `None` for the format's default.
    pub indent: Option<usize>,
}

impl Layout {
    /// Reads and writes `format` with its default indentation.
    pub fn new(format: Format) -> Self {
        Self {
            input: format,
            output: format,
            indent: None,
        }
    }

    /// The store that writes the output.
    pub fn output_store(&self) -> Box<dyn Store> {
        self.output.store(self.indent)
    }
}

/// sops writes the default selector whenever it rewrites an encrypted binary file that
/// has none (the binary store's metadata always carries one once loaded).
fn selector_on_rewrite(input: Format, metadata: &mut Metadata) {
    if input == Format::Binary && metadata.selector.is_none() {
        metadata.selector = Some(Selector::UnencryptedSuffix(
            DEFAULT_UNENCRYPTED_SUFFIX.into(),
        ));
    }
}
