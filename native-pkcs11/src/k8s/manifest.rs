//! The Secret manifest `kubectl create secret … --dry-run=client -o yaml` prints, built in
//! memory (zeroized when dropped): keys validated and sorted as kubectl does.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// A Secret being assembled: its data (key → raw bytes) and its readable fields.
#[derive(Default)]
pub struct Secret {
    /// The Secret's name.
    pub name: String,
    /// Its namespace, if any.
    pub namespace: Option<String>,
    /// Its type, if any (kubectl prints none for `generic` without `--type`).
    pub kind: Option<String>,
    data: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

/// kubectl's rule for a Secret key: `[-._a-zA-Z0-9]+`.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// kubectl's rule for a key from an env file: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
fn valid_env_key(key: &str) -> bool {
    valid_key(key) && !key.as_bytes()[0].is_ascii_digit()
}

impl Secret {
    /// An empty Secret with these readable fields.
    pub fn new(name: String, namespace: Option<String>, kind: Option<String>) -> Self {
        Self {
            name,
            namespace,
            kind,
            data: BTreeMap::new(),
        }
    }

    /// Adds `key` (kubectl's errors for a bad or repeated key).
    pub fn add(&mut self, key: &str, value: Zeroizing<Vec<u8>>) -> Result<(), String> {
        if !valid_key(key) {
            return Err(format!(
                "{key:?} is not valid key name for a Secret: a valid key consists of alphanumeric characters, '-', '_' or '.'"
            ));
        }
        if self.data.contains_key(key) {
            return Err(format!(
                "cannot add key {key}, another key by that name already exists"
            ));
        }
        self.data.insert(key.to_string(), value);
        Ok(())
    }

    /// Adds the keys of an env file (`KEY=VALUE` lines; `#` comments and blank lines
    /// skipped; a bare `KEY` takes the environment's value, else empty), as kubectl does.
    pub fn add_env_file(&mut self, name: &str, text: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(text)
            .map_err(|_| format!("{name}: env file is not valid UTF-8"))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = match line.split_once('=') {
                Some((k, v)) => (k, Zeroizing::new(v.as_bytes().to_vec())),
                None => (
                    line,
                    Zeroizing::new(std::env::var(line).unwrap_or_default().into_bytes()),
                ),
            };
            if !valid_env_key(key) {
                return Err(format!(
                    "{name}, line {}: {key:?} is not a valid key name: it must consist of alphabetic characters, digits, '_', '-' or '.', and must not start with a digit",
                    n + 1
                ));
            }
            self.add(key, value)?;
        }
        Ok(())
    }

    /// The manifest as YAML, the fields in kubectl's (sorted) order.
    pub fn to_yaml(&self) -> Zeroizing<String> {
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let mut out = Zeroizing::new(String::from("apiVersion: v1\n"));
        if !self.data.is_empty() {
            out.push_str("data:\n");
            for (k, v) in &self.data {
                // Quoted: an empty value must stay the empty string, not null.
                let b64 = Zeroizing::new(B64.encode(v.as_slice()));
                out.push_str(&format!("  {}: \"{}\"\n", q(k), b64.as_str()));
            }
        }
        out.push_str("kind: Secret\nmetadata:\n  creationTimestamp: null\n");
        out.push_str(&format!("  name: {}\n", q(&self.name)));
        if let Some(ns) = &self.namespace {
            out.push_str(&format!("  namespace: {}\n", q(ns)));
        }
        if let Some(t) = &self.kind {
            out.push_str(&format!("type: {}\n", q(t)));
        }
        out
    }
}

/// The `.dockerconfigjson` kubectl writes for a registry login (Go's JSON: `<>&` escaped,
/// an empty e-mail left out).
pub fn docker_config_json(
    server: &str,
    user: &str,
    password: &str,
    email: Option<&str>,
) -> Zeroizing<Vec<u8>> {
    let go = |s: &str| {
        serde_json::Value::from(s)
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    };
    let auth = Zeroizing::new(B64.encode(format!("{user}:{password}")));
    let email = match email.filter(|e| !e.is_empty()) {
        Some(e) => format!(",\"email\":{}", go(e)),
        None => String::new(),
    };
    let json = format!(
        "{{\"auths\":{{{}:{{\"username\":{},\"password\":{}{email},\"auth\":{}}}}}}}",
        go(server),
        go(user),
        go(password),
        go(&auth)
    );
    Zeroizing::new(json.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(s: &str) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(s.as_bytes().to_vec())
    }

    #[test]
    fn keys_are_sorted_validated_and_unique() {
        let mut s = Secret {
            name: "s".into(),
            ..Default::default()
        };
        s.add("b", z("2")).unwrap();
        s.add("a", z("1")).unwrap();
        assert!(s.add("a", z("3")).unwrap_err().contains("already exists"));
        assert!(s.add("a b", z("3")).is_err());
        assert_eq!(
            s.to_yaml().as_str(),
            "apiVersion: v1\ndata:\n  \"a\": \"MQ==\"\n  \"b\": \"Mg==\"\nkind: Secret\nmetadata:\n  creationTimestamp: null\n  name: \"s\"\n"
        );
    }

    #[test]
    fn env_files_follow_kubectl() {
        let mut s = Secret::default();
        s.add_env_file("e", b"\xef\xbb\xbfA=1\n# c\n  B= 2 \n\n")
            .unwrap();
        assert_eq!(s.data["A"].as_slice(), b"1");
        assert_eq!(s.data["B"].as_slice(), b" 2 ");
        assert!(Secret::default().add_env_file("e", b"1A=x\n").is_err());
    }

    #[test]
    fn docker_config_is_kubectls() {
        // kubectl 1.32: create secret docker-registry reg --docker-server=r.example
        // --docker-username=u --docker-password=p --docker-email=e@x
        assert_eq!(
            B64.encode(docker_config_json("r.example", "u", "p", Some("e@x")).as_slice()),
            "eyJhdXRocyI6eyJyLmV4YW1wbGUiOnsidXNlcm5hbWUiOiJ1IiwicGFzc3dvcmQiOiJwIiwiZW1haWwiOiJlQHgiLCJhdXRoIjoiZFRwdyJ9fX0="
        );
    }
}
