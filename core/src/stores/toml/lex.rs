//! Where the comments of a (valid) TOML text are: every `#` outside a string, up to the
//! end of its line.

use std::ops::Range;

/// One comment: the offset of its `#` and the range of its text (after the `#`, up to the
/// line break, a CR before the LF excluded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Comment {
    /// Offset of the `#`.
    pub hash: usize,
    /// The text after the `#`.
    pub text: Range<usize>,
}

/// The comments of `src`, in order. `src` must be valid TOML (strings are closed).
pub(super) fn comments(src: &str) -> Vec<Comment> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end] != b'\n' {
                    end += 1;
                }
                let text_end = if end > start && b[end - 1] == b'\r' && end < b.len() {
                    end - 1
                } else {
                    end
                };
                out.push(Comment {
                    hash: i,
                    text: start..text_end,
                });
                i = end;
            }
            q @ (b'"' | b'\'') => i = skip_string(b, i, q),
            _ => i += 1,
        }
    }
    out
}

/// The offset after the string starting at `i` with quote `q`.
fn skip_string(b: &[u8], i: usize, q: u8) -> usize {
    let escapes = q == b'"';
    if b[i..].starts_with(&[q, q, q]) {
        let mut j = i + 3;
        while j < b.len() {
            if escapes && b[j] == b'\\' {
                j += 2;
            } else if b[j..].starts_with(&[q, q, q]) {
                j += 3;
                // Up to two more quotes belong to the content.
                let mut extra = 0;
                while extra < 2 && j < b.len() && b[j] == q {
                    j += 1;
                    extra += 1;
                }
                return j;
            } else {
                j += 1;
            }
        }
        return b.len();
    }
    let mut j = i + 1;
    while j < b.len() {
        if escapes && b[j] == b'\\' {
            j += 2;
        } else if b[j] == q || b[j] == b'\n' {
            return j + 1;
        } else {
            j += 1;
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        comments(src).into_iter().map(|c| &src[c.text]).collect()
    }

    #[test]
    fn comments_outside_strings_only() {
        let src = "# a\nk = \"#no\\\"#\" # b\r\nl = '#' #c\nm = \"\"\"\n# no\n\"\"\"\"\" # d\nn = '''#'''\n[t] #e";
        assert_eq!(texts(src), [" a", " b", "c", " d", "e"]);
        assert_eq!(texts("x = \"\" # e\n"), [" e"]);
    }
}
