//! What `--version` prints and the program name leafcrypt answers to.
//!
//! Tools that shell out to sops parse the first line of `sops --version` with
//! `^sops (\d+\.\d+\.\d+)`; leafcrypt's first line parses as the sops version it is
//! compatible with and still says what it is. Installed as `sops` (a symlink or copy with
//! that name), usage, errors, help and completion scripts use that name.

/// The first (and only) line of `--version`.
pub fn line() -> String {
    format!(
        "sops {} (leafcrypt {})",
        leafcrypt_core::metadata::SOPS_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}

/// The name the program was invoked as (`argv[0]`'s file name), or `leafcrypt`.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .map_or_else(|| "leafcrypt".to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_line_parses_as_sops_3_11() {
        let line = super::line();
        assert!(line.starts_with("sops 3.11.0 (leafcrypt "), "{line}");
    }
}
