//! CORS for the origins the proxy was given: exact matches only, never `*`.

use hyper::header::{HeaderMap, HeaderValue};

/// The allowed browser origins.
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// Origins like `http://127.0.0.1:8080` or `https://viewer.example.com` (no path).
    pub fn new(origins: &[String]) -> Result<Self, String> {
        if origins.is_empty() {
            return Err("give at least one --allow-origin (the viewer page's origin)".into());
        }
        let mut out = Vec::new();
        for o in origins {
            let o = o.trim().trim_end_matches('/');
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"))
                .ok_or_else(|| format!("--allow-origin {o}: expected http(s)://HOST[:PORT]"))?;
            if o == "*" || rest.is_empty() || rest.contains('/') {
                return Err(format!(
                    "--allow-origin {o}: expected http(s)://HOST[:PORT]"
                ));
            }
            out.push(o.to_string());
        }
        Ok(Self { origins: out })
    }

    /// True when `origin` may call the proxy.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    /// Adds the CORS response headers for an allowed `origin`.
    pub fn decorate(&self, origin: &str, headers: &mut HeaderMap) {
        let set = |h: &mut HeaderMap, k: &'static str, v: &str| {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(k, v);
            }
        };
        set(headers, "access-control-allow-origin", origin);
        set(headers, "vary", "Origin");
        set(
            headers,
            "access-control-allow-methods",
            "GET, POST, OPTIONS",
        );
        set(
            headers,
            "access-control-allow-headers",
            "authorization, content-type, accept, x-ms-client-request-id",
        );
        set(
            headers,
            "access-control-expose-headers",
            "www-authenticate, retry-after, retry-after-ms, x-ms-retry-after-ms, x-ms-request-id",
        );
        set(headers, "access-control-max-age", "600");
    }

    /// For the start-up line.
    pub fn describe(&self) -> String {
        self.origins.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_origins_are_allowed() {
        let c = Cors::new(&["http://127.0.0.1:8080/".into()]).unwrap();
        assert!(c.allows("http://127.0.0.1:8080"));
        assert!(!c.allows("http://127.0.0.1:8081"));
        assert!(!c.allows("http://evil.example"));
        assert!(Cors::new(&["*".into()]).is_err());
        assert!(Cors::new(&["http://a/b".into()]).is_err());
        assert!(Cors::new(&[]).is_err());
    }

    #[test]
    fn decorate_echoes_the_origin_and_exposes_the_challenge() {
        let c = Cors::new(&["https://v.example".into()]).unwrap();
        let mut h = HeaderMap::new();
        c.decorate("https://v.example", &mut h);
        assert_eq!(h["access-control-allow-origin"], "https://v.example");
        assert!(h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("www-authenticate"));
    }
}
