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
    let mut run = Runs {
        prev_line,
        prev_is_value,
        next_indent,
        out: Vec::new(),
        related: true,
        first_empty: comments.first().is_some_and(|c| !c.blank_before),
        cur: Vec::new(),
    };
    for c in comments {
        if c.blank_before {
            run.end_at_blank();
            run.first_empty = false;
        }
        if let Some(start) = run.cur.first() {
            if c.col != start.col && c.col < next_indent {
                run.end_at_column();
            }
        }
        run.cur.push(c);
    }
    if blank_before_next || eof {
        run.end_at_blank();
    }
    if let Some(start) = run.cur.first() {
        if !eof && next_col != start.col && next_col < next_indent {
            run.end_at_column();
        }
    }
    run.finish()
}

/// The state of [`classify`]: the segments so far and the current comment run.
struct Runs<'c> {
    prev_line: usize,
    prev_is_value: bool,
    next_indent: usize,
    out: Vec<Segment>,
    /// Whether the current run still belongs to the previous token (no foot ended yet).
    related: bool,
    /// Whether no blank line has been seen yet, the first comment not being after one.
    first_empty: bool,
    cur: Vec<&'c GapComment>,
}

impl Runs<'_> {
    /// Ends the current run as a foot at `place`.
    fn foot(&mut self, place: FootPlace) {
        self.out.push(Segment::Foot {
            place,
            texts: self.cur.drain(..).map(|c| c.text.clone()).collect(),
        });
        self.related = false;
    }

    /// The blank-line rule: the first blank line after a comment run that starts right
    /// below the previous token (or is dedented) ends a foot; `Some(dedented)` if it does.
    fn blank_rule(&self) -> Option<bool> {
        let start = self.cur.first()?;
        let dedented = start.col < self.next_indent;
        let right_below = start.line == self.prev_line + 1 && !self.prev_is_value;
        (self.first_empty && (right_below || dedented)).then_some(dedented)
    }

    /// At a blank line: ends the run as a foot if the blank-line rule says so.
    fn end_at_blank(&mut self) {
        if self.cur.is_empty() {
            return;
        }
        if let Some(dedented) = self.blank_rule() {
            let place = match (dedented, self.related) {
                (true, _) => FootPlace::Column(self.cur.first().map_or(0, |c| c.col)),
                (false, true) => FootPlace::Previous,
                (false, false) => FootPlace::Next,
            };
            self.foot(place);
        }
    }

    /// At a dedent below the open block: ends the run as a foot.
    fn end_at_column(&mut self) {
        let place = match self.cur.first() {
            _ if self.related => FootPlace::Previous,
            Some(start) if start.col < self.next_indent => FootPlace::Column(start.col),
            _ => FootPlace::Next,
        };
        self.foot(place);
    }

    /// The segments, the rest of the run being the next entry's head.
    fn finish(self) -> Vec<Segment> {
        let mut out = self.out;
        if !self.cur.is_empty() {
            out.push(Segment::Head(
                self.cur.into_iter().map(|c| c.text.clone()).collect(),
            ));
        }
        out
    }
}
