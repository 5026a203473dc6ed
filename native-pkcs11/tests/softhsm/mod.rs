//! A private SoftHSM2 token per test: its own token directory and `softhsm2.conf` in a
//! temporary directory, so tests never share (or race on) a token. SoftHSM2 missing is a
//! failure, not a skip.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// SoftHSM2's PKCS#11 module on Debian.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every test token.
pub const PIN: &str = "246810";

/// One initialised token in its own directory.
pub struct SoftHsm {
    /// Holds the token directory, the config and the test's files.
    pub dir: tempfile::TempDir,
    /// The `softhsm2.conf` to point `SOFTHSM2_CONF` at.
    pub conf: PathBuf,
    /// The token's label.
    pub label: String,
}

impl SoftHsm {
    /// Creates a token labelled `label` with user PIN [`PIN`].
    pub fn new(label: &str) -> Self {
        assert!(
            Path::new(MODULE).exists(),
            "SoftHSM2 is not installed ({MODULE} missing): run scripts/setup or apt-get install softhsm2"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).expect("token dir");
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .expect("conf");
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                PIN,
                "--so-pin",
                "13579",
            ])
            .output()
            .expect("softhsm2-util must be installed (apt-get install softhsm2)");
        assert!(
            out.status.success(),
            "softhsm2-util: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            dir,
            conf,
            label: label.to_string(),
        }
    }

    /// A path inside the test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `leafcrypt` with this token's config and PIN, and no age identities from the user.
    pub fn leafcrypt(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_leafcrypt"));
        c.env("SOFTHSM2_CONF", &self.conf)
            .env("LEAFCRYPT_PKCS11_PIN", PIN)
            .env("XDG_CONFIG_HOME", self.dir.path())
            .env("HOME", self.dir.path())
            .env_remove("LEAFCRYPT_PKCS11_MODULE")
            .env_remove("SOPS_AGE_KEY")
            .env_remove("SOPS_AGE_KEY_FILE")
            .env_remove("SOPS_AGE_KEY_CMD")
            .env_remove("SOPS_AGE_RECIPIENTS")
            .current_dir(self.dir.path())
            .stdin(std::process::Stdio::null());
        c
    }

    /// Runs `leafcrypt args…`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.leafcrypt().args(args).output().expect("run leafcrypt")
    }

    /// Runs `leafcrypt args…` and returns stdout, failing the test on a non-zero exit.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "leafcrypt {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Creates a KEK (`aes` or `rsa`) labelled `object`; returns its URI.
    pub fn keygen(&self, object: &str, kind: &str) -> String {
        let uri = format!("pkcs11:token={};object={object}", self.label);
        let mut args = vec!["pkcs11", "keygen", uri.as_str(), "--type", kind];
        if kind == "rsa" {
            args.extend(["--bits", "2048"]);
        }
        self.ok(&args).trim().to_string()
    }
}
