//! sops's exit statuses, one named table (sops 3.11 `cmd/sops/codes`): the core's errors
//! map to it ([`Error::exit_code`](crate::Error::exit_code)) and the front ends exit with
//! it, so a script that checks `$?` sees what sops would return.

use std::fmt;

/// An exit status of the sops binary, by sops's own name. `as i32`/[`ExitCode::code`] is
/// the number; `Display` writes the number too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitCode {
    /// Any other failure.
    ErrorGeneric = 1,
    /// The input file cannot be read or parsed.
    CouldNotReadInputFile = 2,
    /// The output file cannot be written.
    CouldNotWriteOutputFile = 3,
    /// The tree cannot be written in the output format.
    ErrorDumpingTree = 4,
    /// `.sops.yaml` cannot be read.
    ErrorReadingConfig = 5,
    /// A malformed `--encryption-context`.
    ErrorInvalidKMSEncryptionContextFormat = 6,
    /// A malformed `set`/`unset` path or value.
    ErrorInvalidSetFormat = 7,
    /// Invalid or conflicting arguments.
    ErrorConflictingParameters = 8,
    /// The MAC cannot be encrypted.
    ErrorEncryptingMac = 21,
    /// A value cannot be encrypted.
    ErrorEncryptingTree = 23,
    /// The stored MAC cannot be decrypted.
    ErrorDecryptingMac = 24,
    /// A value cannot be decrypted.
    ErrorDecryptingTree = 25,
    /// Key changes (`rotate --add-…`) asked for a file that does not exist.
    CannotChangeKeysFromNonExistentFile = 49,
    /// The MAC does not match the values (tampering, or a wrong data key).
    MacMismatch = 51,
    /// The file has no MAC.
    MacNotFound = 52,
    /// No `.sops.yaml` was found.
    ConfigFileNotFound = 61,
    /// Interrupted from the keyboard.
    KeyboardInterrupt = 85,
    /// A malformed or missing tree path (`["a"][0]`).
    InvalidTreePathFormat = 91,
    /// A YAML input with no document at all.
    NeedAtLeastOneDocument = 92,
    /// A command without its file, or a file that does not exist.
    NoFileSpecified = 100,
    /// No key to encrypt with.
    NoEncryptionKeyFound = 111,
    /// A `--decryption-order` that names a key kind twice.
    DuplicateDecryptionKeyType = 112,
    /// No key group could provide the data key.
    CouldNotRetrieveKey = 128,
    /// `edit` left the file unchanged.
    FileHasNotBeenModified = 200,
    /// The editor cannot be run or failed.
    NoEditorFound = 201,
    /// Versions cannot be compared.
    FailedToCompareVersions = 202,
    /// The plaintext already holds a `sops` entry.
    FileAlreadyEncrypted = 203,
}

impl ExitCode {
    /// The process exit status.
    pub const fn code(self) -> i32 {
        self as i32
    }
}

impl From<ExitCode> for i32 {
    fn from(code: ExitCode) -> i32 {
        code.code()
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// Compares with a raw status (a child's, or one a test expects).
impl PartialEq<i32> for ExitCode {
    fn eq(&self, other: &i32) -> bool {
        self.code() == *other
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode::*;

    #[test]
    fn numbers_are_sops_s() {
        let table = [
            (ErrorGeneric, 1),
            (CouldNotReadInputFile, 2),
            (CouldNotWriteOutputFile, 3),
            (ErrorDumpingTree, 4),
            (ErrorReadingConfig, 5),
            (ErrorInvalidKMSEncryptionContextFormat, 6),
            (ErrorInvalidSetFormat, 7),
            (ErrorConflictingParameters, 8),
            (ErrorEncryptingMac, 21),
            (ErrorEncryptingTree, 23),
            (ErrorDecryptingMac, 24),
            (ErrorDecryptingTree, 25),
            (CannotChangeKeysFromNonExistentFile, 49),
            (MacMismatch, 51),
            (MacNotFound, 52),
            (ConfigFileNotFound, 61),
            (KeyboardInterrupt, 85),
            (InvalidTreePathFormat, 91),
            (NeedAtLeastOneDocument, 92),
            (NoFileSpecified, 100),
            (NoEncryptionKeyFound, 111),
            (DuplicateDecryptionKeyType, 112),
            (CouldNotRetrieveKey, 128),
            (FileHasNotBeenModified, 200),
            (NoEditorFound, 201),
            (FailedToCompareVersions, 202),
            (FileAlreadyEncrypted, 203),
        ];
        for (code, number) in table {
            assert_eq!(code.code(), number, "{code:?}");
            assert_eq!(code, number);
            assert_eq!(code.to_string(), number.to_string());
        }
    }
}
