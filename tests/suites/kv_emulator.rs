//! The Key Vault emulator against independent clients (suite being written).
