//! The PKCS#11 paths SoftHSM2 lacks, on a second software token: Kryoptic (built by
//! `scripts/build-kryoptic`, called from `scripts/setup`), which implements
//! CKM_RSA_PKCS_OAEP with SHA-256 on the token. Proves the default `RSA-OAEP-SHA256`
//! mechanism (wrap with the public key, unwrap on the token) and AES-GCM end to end through
//! the CLI. Fails, not skips, when the module is missing.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PIN: &str = "246810";
const SO_PIN: &str = "13579113";
const LABEL: &str = "lc-kryoptic";

fn module() -> PathBuf {
    let m = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/kryoptic/libkryoptic_pkcs11.so");
    assert!(
        m.exists(),
        "Kryoptic is needed for this test: run scripts/build-kryoptic (scripts/setup does)"
    );
    m
}

/// A private Kryoptic token: its own sqlite store, initialised with a user PIN.
fn token(dir: &Path) -> PathBuf {
    let conf = dir.join("kryoptic.conf");
    std::fs::write(
        &conf,
        format!(
            "[[slots]]\nslot = 42\ndbtype = \"sqlite\"\ndbargs = \"{}\"\n",
            dir.join("token.sql").display()
        ),
    )
    .unwrap();
    // Kryoptic reads its configuration from the environment of the process that loads it.
    std::env::set_var("KRYOPTIC_CONF", &conf);
    let p11 = Pkcs11::new(module()).expect("load the Kryoptic module");
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = p11.get_all_slots().unwrap()[0];
    p11.init_token(slot, &AuthPin::from(SO_PIN), LABEL)
        .expect("C_InitToken");
    let session = p11.open_rw_session(slot).unwrap();
    session
        .login(UserType::So, Some(&AuthPin::from(SO_PIN)))
        .unwrap();
    session.init_pin(&AuthPin::from(PIN)).expect("C_InitPIN");
    session.logout().unwrap();
    drop(session);
    p11.finalize().unwrap();
    conf
}

fn leafcrypt(dir: &Path, conf: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leafcrypt"))
        .current_dir(dir)
        .args(args)
        .env("KRYOPTIC_CONF", conf)
        .env("LEAFCRYPT_PKCS11_MODULE", module())
        .env("LEAFCRYPT_PKCS11_PIN", PIN)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_RECIPIENTS")
        .output()
        .expect("run leafcrypt")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rsa_oaep_sha256_on_the_token_and_aes_gcm_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let conf = token(dir.path());
    let plain = "db:\n    password: s3cr3t\n    port: 5432\n";
    std::fs::write(dir.path().join("s.yaml"), plain).unwrap();
    for (object, kind, mechanism) in [
        ("kek-rsa", "rsa", "RSA-OAEP-SHA256"),
        ("kek-aes", "aes", "AES-GCM"),
    ] {
        let uri = format!("pkcs11:token={LABEL};object={object}");
        let mut keygen = vec!["pkcs11", "keygen", uri.as_str(), "--type", kind];
        if kind == "rsa" {
            keygen.extend(["--bits", "2048"]);
        }
        ok(leafcrypt(dir.path(), &conf, &keygen));
        let enc = ok(leafcrypt(
            dir.path(),
            &conf,
            &["encrypt", "--pkcs11", &uri, "s.yaml"],
        ));
        assert!(enc.contains(&format!("mechanism: {mechanism}")), "{enc}");
        assert!(!enc.contains("s3cr3t"));
        let name = format!("s.{object}.yaml");
        std::fs::write(dir.path().join(&name), &enc).unwrap();
        let dec = ok(leafcrypt(dir.path(), &conf, &["decrypt", &name]));
        assert_eq!(dec, plain, "{mechanism}");
    }
}
