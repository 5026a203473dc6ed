//! The wrapping mechanisms a `pkcs11` entry can record, by name.

use super::error::Pkcs11Error;
use cryptoki::object::ObjectClass;

/// How the data key is wrapped with the KEK; recorded per entry as `mechanism`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// AES-256 secret key, `CKM_AES_GCM`, fresh 96-bit IV, 128-bit tag.
    /// `enc` = base64(IV ‖ ciphertext ‖ tag).
    AesGcm,
    /// RSA key pair, `CKM_RSA_PKCS_OAEP` with SHA-256 / MGF1-SHA-256 on the token.
    RsaOaepSha256,
    /// RSA key pair, `CKM_RSA_PKCS_OAEP` with SHA-1 / MGF1-SHA-1 on the token
    /// (what SoftHSM 2.6 offers).
    RsaOaepSha1,
    /// RSA key pair, raw `CKM_RSA_X_509` on the token with OAEP-SHA-256 padding done in
    /// software: the same ciphertext as [`Mechanism::RsaOaepSha256`], for tokens that lack
    /// OAEP with SHA-256. The private key never leaves the token.
    RsaX509OaepSha256,
}

/// Every mechanism, in the order `--help` and errors list them.
pub const ALL: [Mechanism; 4] = [
    Mechanism::AesGcm,
    Mechanism::RsaOaepSha256,
    Mechanism::RsaOaepSha1,
    Mechanism::RsaX509OaepSha256,
];

impl Mechanism {
    /// The name stored in metadata.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::AesGcm => "AES-GCM",
            Mechanism::RsaOaepSha256 => "RSA-OAEP-SHA256",
            Mechanism::RsaOaepSha1 => "RSA-OAEP-SHA1",
            Mechanism::RsaX509OaepSha256 => "RSA-X509+OAEP-SHA256",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, Pkcs11Error> {
        ALL.into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let names: Vec<&str> = ALL.iter().map(|m| m.name()).collect();
                Pkcs11Error::Uri(format!(
                    "unknown mechanism '{name}' (one of: {})",
                    names.join(", ")
                ))
            })
    }

    /// Whether the KEK is an RSA key pair (else an AES secret key).
    pub fn is_rsa(self) -> bool {
        self != Mechanism::AesGcm
    }

    /// The class of the key object the KEK is found as, and its name in messages.
    pub fn key_class(self) -> (ObjectClass, &'static str) {
        if self.is_rsa() {
            (ObjectClass::PRIVATE_KEY, "RSA private key")
        } else {
            (ObjectClass::SECRET_KEY, "AES secret key")
        }
    }

    /// What to use instead when the token rejects this mechanism.
    pub fn alternative(self) -> &'static str {
        match self {
            Mechanism::AesGcm => "use an RSA key pair on this token, or a token with CKM_AES_GCM",
            Mechanism::RsaOaepSha256 => "add x-mechanism=RSA-X509+OAEP-SHA256 to the URI (raw RSA on the token, OAEP-SHA256 in software, same ciphertext) or x-mechanism=RSA-OAEP-SHA1",
            Mechanism::RsaOaepSha1 => "add x-mechanism=RSA-X509+OAEP-SHA256 to the URI",
            Mechanism::RsaX509OaepSha256 => "add x-mechanism=RSA-OAEP-SHA256 (or RSA-OAEP-SHA1) to the URI",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for m in ALL {
            assert_eq!(Mechanism::parse(m.name()).unwrap(), m);
        }
        assert_eq!(Mechanism::parse("aes-gcm").unwrap(), Mechanism::AesGcm);
        let e = Mechanism::parse("RSA-PKCS1").unwrap_err().to_string();
        assert!(e.contains("RSA-X509+OAEP-SHA256"), "{e}");
        assert!(!Mechanism::AesGcm.is_rsa() && Mechanism::RsaOaepSha1.is_rsa());
    }
}
