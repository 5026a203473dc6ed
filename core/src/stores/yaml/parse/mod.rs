//! A YAML parser for the block/flow subset configuration files use, producing sops's tree:
//! typed scalars, expanded aliases, the merge key kept literal, and comments placed where
//! go-yaml v3 attaches them (head and line comments before their entry, foot comments
//! after it, blank lines dropped).
//!
//! One [`Parser`] walks the text once; its methods live in rooms, one job each:
//! [`cursor`] (position, lines, columns), [`stream`] (directives, documents, root errors),
//! [`placement`] (gaps and where their comments go), [`block`] (block mappings and
//! sequences, the node after an indicator), [`plain`], [`quoted`] and [`block_scalar`]
//! (the scalar styles), [`typing`] (resolution, tags, walk errors), [`flow`] (`[…]`, `{…}`)
//! and [`anchors`] (properties, aliases, the aliasing and depth limits).

mod anchors;
mod block;
mod block_scalar;
mod cursor;
mod flow;
mod placement;
mod plain;
mod quoted;
mod stream;
mod typing;

use crate::error::Error;
use crate::tree::{Entry, Map, Value};
use std::collections::HashMap;

type PResult<T> = Result<T, Error>;

/// The documents of a stream plus the first walk error sops would report when encrypting
/// (a non-string key or an integer in `[2^63, 2^64)`).
pub(crate) struct Parsed {
    /// One map per document.
    pub docs: Vec<Map>,
    /// The first value sops cannot walk, in document order.
    pub walk_error: Option<Error>,
}

/// Parses a whole YAML stream.
pub(crate) fn parse_stream(src: &str) -> PResult<Parsed> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut p = Parser::new(src);
    let docs = p.stream()?;
    Ok(Parsed {
        docs,
        walk_error: p.walk_error,
    })
}

/// One open block collection.
struct Frame {
    /// Column of its keys or dashes.
    indent: usize,
    /// Entries so far (a list's items are kept as `Entry::Pair("", item)` / comments).
    entries: Vec<Entry>,
    /// Comments to place after the entry in progress (or at the end).
    pending: Vec<String>,
    /// Line where the entry in progress started (0: none in progress).
    entry_line: usize,
    /// A sequence (its entries are items).
    is_seq: bool,
}

/// The next token after a gap.
#[derive(Clone, Copy)]
struct Next {
    line: usize,
    col: usize,
    eof: bool,
}

/// Where a comment on the line of the previous token goes (see [`Parser::gap_from`]).
#[derive(Clone, Copy)]
enum SameLine {
    /// Before the innermost entry begun on that line.
    Entry,
    /// Before the next token, as a head comment.
    Head,
    /// Back to the caller, into the flow collection just read.
    Flow,
}

/// A scalar token and how it was written.
struct ScalarTok {
    text: String,
    plain: bool,
    line: usize,
}

/// Node properties (`&anchor`, `!tag`).
#[derive(Default)]
struct Props {
    anchor: Option<String>,
    tag: Option<String>,
}

/// The parser's state: the cursor, the open block collections (frames) and comments
/// waiting for a place, anchors, and the limits' counters.
struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    /// Line on which the last token ended.
    tok_line: usize,
    frames: Vec<Frame>,
    /// Head comments for whichever entry starts next.
    heads: Vec<String>,
    /// Anchored values (aliases are expanded) with their node counts and text sizes.
    anchors: HashMap<String, (Value, anchors::Cost)>,
    /// Nodes produced by alias expansion so far (go-yaml's aliasing budget).
    alias_nodes: u64,
    /// Bytes of text (scalars, keys, comments) copied by alias expansion so far.
    alias_bytes: u64,
    /// Open block and flow collections (bounded by [`MAX_DEPTH`](crate::tree::MAX_DEPTH)).
    depth: usize,
    walk_error: Option<Error>,
    next: Next,
    doc_index: usize,
}

/// A parse error at `line`, worded as go-yaml words it.
fn perr(line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        format: "yaml",
        line: Some(line),
        message: message.into(),
    }
}

impl<'a> Parser<'a> {
    /// A parser at the start of `src`.
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            b: src.as_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
            tok_line: 0,
            frames: Vec::new(),
            heads: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            alias_bytes: 0,
            depth: 0,
            walk_error: None,
            next: Next {
                line: 1,
                col: 0,
                eof: false,
            },
            doc_index: 0,
        }
    }
}
