//! Which leaves get encrypted (§5): the six selectors, compiled once per file.
//!
//! The tree walk evaluates each map key and each comment once and keeps running
//! summaries (did any component of the current path match; how many comments on the
//! stack match), so deciding for a leaf is O(1) however deep it is.

use crate::metadata::{Selector, DEFAULT_UNENCRYPTED_SUFFIX};
use crate::{Error, Result};
use regex::Regex;

/// A compiled selector.
#[derive(Clone, Debug)]
pub struct Rules {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
    UnencryptedCommentRegex(Regex),
    EncryptedCommentRegex(Regex),
}

impl Rules {
    /// Compiles `selector`; `None` (or an empty pattern) means sops's default
    /// `unencrypted_suffix: _unencrypted`. Regexes use Rust's `regex` syntax, which
    /// covers the RE2 syntax sops accepts, with search (unanchored) semantics.
    pub fn compile(selector: Option<&Selector>) -> Result<Self> {
        let regex = |s: &Selector| {
            Regex::new(s.pattern())
                .map_err(|e| Error::Config(format!("invalid {} '{}': {e}", s.field(), s.pattern())))
        };
        let kind = match selector.filter(|s| !s.pattern().is_empty()) {
            None => Kind::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_string()),
            Some(Selector::UnencryptedSuffix(p)) => Kind::UnencryptedSuffix(p.clone()),
            Some(Selector::EncryptedSuffix(p)) => Kind::EncryptedSuffix(p.clone()),
            Some(s @ Selector::UnencryptedRegex(_)) => Kind::UnencryptedRegex(regex(s)?),
            Some(s @ Selector::EncryptedRegex(_)) => Kind::EncryptedRegex(regex(s)?),
            Some(s @ Selector::UnencryptedCommentRegex(_)) => {
                Kind::UnencryptedCommentRegex(regex(s)?)
            }
            Some(s @ Selector::EncryptedCommentRegex(_)) => Kind::EncryptedCommentRegex(regex(s)?),
        };
        Ok(Self { kind })
    }

    /// Whether the map key `key` matches a key-based selector (suffix or key regex).
    pub fn key_matches(&self, key: &str) -> bool {
        match &self.kind {
            Kind::UnencryptedSuffix(s) | Kind::EncryptedSuffix(s) => key.ends_with(s.as_str()),
            Kind::UnencryptedRegex(re) | Kind::EncryptedRegex(re) => re.is_match(key),
            Kind::UnencryptedCommentRegex(_) | Kind::EncryptedCommentRegex(_) => false,
        }
    }

    /// Whether the comment text matches a comment-regex selector.
    pub fn comment_matches(&self, text: &str) -> bool {
        match &self.kind {
            Kind::UnencryptedCommentRegex(re) | Kind::EncryptedCommentRegex(re) => {
                re.is_match(text)
            }
            _ => false,
        }
    }

    /// Whether this is `unencrypted_comment_regex` and `text` matches it: an encrypted
    /// comment that matches must not be written (sops refuses it).
    pub fn unencrypted_comment_matches(&self, text: &str) -> bool {
        matches!(&self.kind, Kind::UnencryptedCommentRegex(re) if re.is_match(text))
    }

    /// The decision for one leaf.
    ///
    /// * `path_matched`: some component of the leaf's path satisfied [`Rules::key_matches`];
    /// * `stack_matches`: how many comments on the comments stack (all levels, the leaf
    ///   itself included when it is a comment) satisfied [`Rules::comment_matches`];
    /// * `self_matched`: the leaf is a comment that itself matched.
    pub fn should_encrypt(
        &self,
        path_matched: bool,
        stack_matches: usize,
        self_matched: bool,
    ) -> bool {
        match self.kind {
            Kind::UnencryptedSuffix(_) | Kind::UnencryptedRegex(_) => !path_matched,
            Kind::EncryptedSuffix(_) | Kind::EncryptedRegex(_) => path_matched,
            Kind::UnencryptedCommentRegex(_) => stack_matches == 0,
            Kind::EncryptedCommentRegex(_) => stack_matches > usize::from(self_matched),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(s: Selector) -> Rules {
        Rules::compile(Some(&s)).unwrap()
    }

    #[test]
    fn default_is_unencrypted_suffix() {
        let r = Rules::compile(None).unwrap();
        assert!(r.key_matches("key_unencrypted"));
        assert!(!r.key_matches("key"));
        assert!(r.should_encrypt(false, 0, false));
        assert!(!r.should_encrypt(true, 0, false));
        let empty = Rules::compile(Some(&Selector::EncryptedRegex(String::new()))).unwrap();
        assert!(empty.key_matches("x_unencrypted"));
    }

    #[test]
    fn key_selectors() {
        let r = rules(Selector::EncryptedRegex("^(password|data)$".into()));
        assert!(r.key_matches("data") && !r.key_matches("database"));
        assert!(r.should_encrypt(true, 0, false) && !r.should_encrypt(false, 3, false));
        let r = rules(Selector::EncryptedSuffix("_secret".into()));
        assert!(r.key_matches("token_secret") && !r.comment_matches("_secret"));
        let r = rules(Selector::UnencryptedRegex("name".into()));
        assert!(r.key_matches("username"), "search semantics, not anchored");
        assert!(!r.should_encrypt(true, 0, false));
    }

    #[test]
    fn comment_selectors() {
        let r = rules(Selector::EncryptedCommentRegex("sops:enc".into()));
        assert!(r.comment_matches(" sops:enc") && !r.key_matches("sops:enc"));
        // The marker comment itself is not encrypted; what follows it is.
        assert!(!r.should_encrypt(false, 1, true));
        assert!(r.should_encrypt(false, 1, false));
        assert!(r.should_encrypt(false, 2, true));
        let r = rules(Selector::UnencryptedCommentRegex("sops:plain".into()));
        assert!(!r.should_encrypt(false, 1, true) && !r.should_encrypt(false, 1, false));
        assert!(r.should_encrypt(false, 0, false));
        assert!(r.unencrypted_comment_matches("a sops:plain"));
    }

    #[test]
    fn invalid_regex_is_a_config_error() {
        let err = Rules::compile(Some(&Selector::EncryptedRegex("(".into()))).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid encrypted_regex '(':"),
            "{err}"
        );
    }
}
