//! A small line diff for failure messages: which lines differ between the reference output
//! and ours, with a little context.

/// A unified-style diff of `expected` (`-`) against `actual` (`+`), with `context` lines
/// around each change; empty when the texts are equal. Meant for files of at most a few
/// thousand lines (it is quadratic).
pub fn diff(expected: &str, actual: &str, context: usize) -> String {
    if expected == actual {
        return String::new();
    }
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = actual.split_inclusive('\n').collect();
    let ops = edit_script(&a, &b);
    let changed: Vec<bool> = ops.iter().map(|op| !matches!(op, Op::Same(_))).collect();
    let mut out = String::new();
    let mut last_shown: Option<usize> = None;
    for (i, op) in ops.iter().enumerate() {
        let lo = i.saturating_sub(context);
        let hi = (i + context + 1).min(ops.len());
        if !changed[lo..hi].iter().any(|&c| c) {
            continue;
        }
        if last_shown.is_some_and(|l| l + 1 != i) || (last_shown.is_none() && i > 0) {
            out.push_str("  …\n");
        }
        last_shown = Some(i);
        let (mark, line) = match op {
            Op::Same(l) => (' ', *l),
            Op::Del(l) => ('-', *l),
            Op::Add(l) => ('+', *l),
        };
        out.push(mark);
        out.push(' ');
        out.push_str(&visible(line));
        out.push('\n');
    }
    if last_shown.is_some_and(|l| l + 1 < ops.len()) {
        out.push_str("  …\n");
    }
    out
}

/// A line with its end made visible (a missing final newline or a trailing space matters).
fn visible(line: &str) -> String {
    let body = line.strip_suffix('\n').unwrap_or(line);
    let mut s = format!("{body:?}");
    if !line.ends_with('\n') {
        s.push_str(" (no newline)");
    }
    s
}

enum Op<'a> {
    Same(&'a str),
    Del(&'a str),
    Add(&'a str),
}

/// Longest-common-subsequence edit script.
fn edit_script<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Op<'a>> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if a[i] == b[j] {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Same(a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
            ops.push(Op::Del(a[i]));
            i += 1;
        } else {
            ops.push(Op::Add(b[j]));
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(diff("a\nb\n", "a\nb\n", 2), "");
    }

    #[test]
    fn shows_changed_line_with_context() {
        let d = diff("a\nb\nc\nd\ne\nf\n", "a\nb\nX\nd\ne\nf\n", 1);
        assert_eq!(d, "  …\n  \"b\"\n- \"c\"\n+ \"X\"\n  \"d\"\n  …\n");
    }

    #[test]
    fn shows_missing_final_newline() {
        let d = diff("a\n", "a", 0);
        assert_eq!(d, "- \"a\"\n+ \"a\" (no newline)\n");
    }
}
