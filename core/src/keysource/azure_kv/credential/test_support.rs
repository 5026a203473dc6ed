//! Test helpers: a map-backed environment and decoders for what test servers receive.

use std::collections::HashMap;

/// An environment lookup over fixed pairs.
pub(crate) fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

/// Decodes `%XX` escapes and `+` (as space) in one form or query component.
fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes `a=1&b=2` into ordered pairs.
pub(crate) fn pairs(encoded: &str) -> Vec<(String, String)> {
    encoded
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

/// Owned pairs from string literals, for comparisons.
pub(crate) fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A request target's path and its decoded query pairs.
pub(crate) fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    match target.split_once('?') {
        Some((path, query)) => (path.to_string(), pairs(query)),
        None => (target.to_string(), Vec::new()),
    }
}

/// Writes an executable script at `path`. The file is written by a `cp` child so this
/// process never holds it open for writing: a concurrent test forking meanwhile would
/// inherit such a descriptor and make executing the script fail with ETXTBSY.
#[cfg(unix)]
pub(crate) fn write_script(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    let staging = path.with_extension("staging");
    std::fs::write(&staging, text).unwrap();
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-p")
        .arg(&staging)
        .arg(path)
        .status()
        .unwrap();
    assert!(copied.success(), "cp {staging:?} {path:?}");
}
