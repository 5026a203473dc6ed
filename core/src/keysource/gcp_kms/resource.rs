//! Cloud KMS crypto-key resource IDs.

/// Whether `id` is `projects/*/locations/*/keyRings/*/cryptoKeys/*` (sops's check: no empty
/// segment, no slash inside one).
pub fn is_valid(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 8
        && ["projects", "locations", "keyRings", "cryptoKeys"]
            .iter()
            .enumerate()
            .all(|(i, lit)| parts[2 * i] == *lit && !parts[2 * i + 1].is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern() {
        assert!(is_valid(
            "projects/p/locations/global/keyRings/r/cryptoKeys/k"
        ));
        assert!(!is_valid(
            "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"
        ));
        assert!(!is_valid(
            "projects//locations/global/keyRings/r/cryptoKeys/k"
        ));
        assert!(!is_valid(
            "projects/p/locations/global/keyRing/r/cryptoKeys/k"
        ));
        assert!(!is_valid(""));
    }
}
