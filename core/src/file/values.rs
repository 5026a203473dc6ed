//! Editing the values of an open file (sops's `set` and `unset`): the file keeps its data
//! key and key groups; unchanged values keep their ciphertext when it is written back.

use super::{Layout, OpenFile};
use crate::tree::Value;
use crate::treepath::{self, Step};
use crate::{Error, Result};

impl OpenFile {
    /// Sets the value at `steps` in document `document`, creating the path as `sops set`
    /// does; returns whether the file changed.
    pub fn set_value(&mut self, document: usize, steps: &[Step], value: Value) -> Result<bool> {
        let root = self.document(document)?;
        treepath::set(root, steps, value)
    }

    /// Removes the key or list item at `steps` in document `document` (an error when it
    /// does not exist).
    pub fn unset_value(&mut self, document: usize, steps: &[Step]) -> Result<()> {
        let root = self.document(document)?;
        treepath::unset(root, steps)
    }

    /// Re-encrypts the edited values with the file's data key and writes the file in
    /// `layout.output` (see [`OpenFile::reencrypt`], [`OpenFile::emit`]).
    pub fn seal(mut self, layout: &Layout, now: &str) -> Result<Vec<u8>> {
        self.reencrypt(now)?;
        self.emit(layout)
    }

    fn document(&mut self, index: usize) -> Result<&mut crate::tree::Map> {
        let count = self.tree.branches.len();
        self.document_mut(index).ok_or_else(|| {
            Error::TreePath(format!(
                "document {index} does not exist (the file has {count})"
            ))
        })
    }
}
