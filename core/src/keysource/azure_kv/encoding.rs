//! Base64url as Key Vault and sops use it (JWK members, `enc`, operation values), shared
//! by the client, the local public-key cache, the key source and `text`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroizing;

/// Unpadded base64url, as Key Vault and sops write.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Lenient base64url: padding, the standard alphabet and whitespace are accepted.
pub fn b64url_decode(s: &str) -> Result<Zeroizing<Vec<u8>>, base64::DecodeError> {
    let cleaned: Zeroizing<String> = Zeroizing::new(
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect(),
    );
    URL_SAFE_NO_PAD
        .decode(cleaned.as_bytes())
        .map(Zeroizing::new)
}
