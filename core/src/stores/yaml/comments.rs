//! Where go-yaml v3 attaches the comments found between two tokens.
//!
//! A run of comment lines after a token is split into *foot* segments (belonging to the
//! content before them) and a final *head* segment (belonging to the next entry). The
//! split follows the go-yaml scanner: a comment run that starts right below the previous
//! token and is followed by a blank line, or that is dedented below the current block
//! and followed by a line at another column, is a foot. A foot that is dedented, or that
//! follows an earlier foot, is not tied to the previous token and lands in a shallower
//! block (see [`FootPlace`]).

/// One comment line between two tokens.
#[derive(Clone, Debug)]
pub(crate) struct GapComment {
    /// 1-based line.
    pub line: usize,
    /// 0-based column of the `#`.
    pub col: usize,
    /// The text after `#`.
    pub text: String,
    /// A blank line separates it from what came before.
    pub blank_before: bool,
}

/// Which block a foot comment lands in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FootPlace {
    /// Tied to the previous token: the innermost open block.
    Previous,
    /// Dedented below the current block: the deepest block its column fits in.
    Column(usize),
    /// Not tied to anything before it: the block of the next token.
    Next,
}

/// A classified run of comments, in source order.
#[derive(Debug, PartialEq)]
pub(crate) enum Segment {
    /// Foot of the content before it.
    Foot {
        /// Where it lands.
        place: FootPlace,
        /// The comment texts.
        texts: Vec<String>,
    },
    /// Head of the next entry.
    Head(Vec<String>),
}

/// Splits `comments` (all on lines after `prev_line`) into foot and head segments.
///
/// `next_indent` is the indent of the innermost open block, `next_col` the column of
/// the token after the comments, `blank_before_next` whether a blank line precedes it.
pub(crate) fn classify(
    comments: &[GapComment],
    prev_line: usize,
    prev_is_value: bool,
    next_indent: usize,
    next_col: usize,
    blank_before_next: bool,
    eof: bool,
) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut related = true;
    let mut first_empty = comments.first().is_some_and(|c| !c.blank_before);
    let mut cur: Vec<&GapComment> = Vec::new();

    let mut emit_foot = |cur: &mut Vec<&GapComment>, place: FootPlace| {
        out.push(Segment::Foot {
            place,
            texts: cur.drain(..).map(|c| c.text.clone()).collect(),
        });
    };
    let blank_place = |cur: &[&GapComment], dedented: bool, related: bool| match (dedented, related)
    {
        (true, _) => FootPlace::Column(cur.first().map_or(0, |c| c.col)),
        (false, true) => FootPlace::Previous,
        (false, false) => FootPlace::Next,
    };
    let column_place = |cur: &[&GapComment], related: bool| match cur.first() {
        _ if related => FootPlace::Previous,
        Some(start) if start.col < next_indent => FootPlace::Column(start.col),
        _ => FootPlace::Next,
    };

    // The blank-line rule: the first blank line after a comment run that starts right
    // below the previous token (or is dedented) ends a foot.
    let blank_rule = |cur: &[&GapComment], first_empty: bool| -> Option<bool> {
        let start = cur.first()?;
        let dedented = start.col < next_indent;
        let right_below = start.line == prev_line + 1 && !prev_is_value;
        (first_empty && (right_below || dedented)).then_some(dedented)
    };

    for c in comments {
        if c.blank_before && !cur.is_empty() {
            if let Some(dedented) = blank_rule(&cur, first_empty) {
                let place = blank_place(&cur, dedented, related);
                emit_foot(&mut cur, place);
                related = false;
            }
        }
        if c.blank_before {
            first_empty = false;
        }
        if let Some(start) = cur.first() {
            if c.col != start.col && c.col < next_indent {
                let place = column_place(&cur, related);
                emit_foot(&mut cur, place);
                related = false;
            }
        }
        cur.push(c);
    }
    if (blank_before_next || eof) && !cur.is_empty() {
        if let Some(dedented) = blank_rule(&cur, first_empty) {
            let place = blank_place(&cur, dedented, related);
            emit_foot(&mut cur, place);
            related = false;
        }
    }
    if let Some(start) = cur.first() {
        if !eof && next_col != start.col && next_col < next_indent {
            let place = column_place(&cur, related);
            emit_foot(&mut cur, place);
        }
    }
    if !cur.is_empty() {
        out.push(Segment::Head(
            cur.into_iter().map(|c| c.text.clone()).collect(),
        ));
    }
    out
}
