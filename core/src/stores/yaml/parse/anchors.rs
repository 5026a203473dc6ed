//! Node properties, anchors and aliases, and the limits on them: the aliasing budget
//! ("billion laughs") and the nesting depth.

use super::{perr, PResult, Parser, Props};
use crate::error::Error;
use crate::tree::{Entry, Value, MAX_DEPTH};

impl<'a> Parser<'a> {
    /// Reads `&anchor` and `!tag` properties, skipping the gap after them.
    pub(super) fn props(&mut self) -> PResult<Props> {
        let mut props = Props::default();
        loop {
            match self.peek() {
                Some(b'&') => {
                    self.pos += 1;
                    props.anchor = Some(self.word().to_string());
                }
                Some(b'!') => {
                    props.tag = Some(self.word().to_string());
                }
                _ => return Ok(props),
            }
            let line = self.line;
            self.skip_inline_ws();
            if self.at_line_break() || self.peek() == Some(b'#') {
                self.tok_line = line;
                self.gap_before_node();
            }
        }
    }

    pub(super) fn alias(&mut self) -> PResult<Value> {
        let line = self.line;
        self.pos += 1;
        let name = self.word();
        let (value, cost) = self
            .anchors
            .get(name)
            .ok_or_else(|| perr(line, format!("unknown anchor '{name}' referenced")))?;
        self.alias_nodes = self.alias_nodes.saturating_add(cost.nodes);
        self.alias_bytes = self.alias_bytes.saturating_add(cost.bytes);
        // The bytes read so far bound the nodes written out directly.
        if excessive_aliasing(self.alias_nodes, self.pos as u64)
            || excessive_alias_bytes(self.alias_bytes, self.pos as u64)
        {
            // go-yaml names no line for this one.
            return Err(Error::Parse {
                format: "yaml",
                line: None,
                message: "yaml: document contains excessive aliasing".into(),
            });
        }
        Ok(value.clone())
    }

    pub(super) fn define_anchor(&mut self, name: String, value: &Value) {
        self.anchors.insert(name, (value.clone(), cost(value)));
    }

    /// Enters a block or flow collection; errors past [`MAX_DEPTH`] as go-yaml does past
    /// its own limit.
    pub(super) fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(perr(
                self.line,
                format!("exceeded max depth of {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }
}

/// go-yaml's rule for a document that expands aliases beyond reason ("billion laughs"):
/// more than 100 aliased nodes, more than 1000 in all, and a share of aliased nodes above
/// 99% for small documents, falling to 10% at four million nodes.
fn excessive_aliasing(alias_nodes: u64, direct: u64) -> bool {
    let total = alias_nodes + direct;
    if alias_nodes <= 100 || total <= 1000 {
        return false;
    }
    let allowed = match total {
        ..=400_000 => 0.99,
        4_000_000.. => 0.10,
        t => 0.99 - 0.89 * ((t - 400_000) as f64 / 3_600_000.0),
    };
    alias_nodes as f64 / total as f64 > allowed
}

/// What one expansion of an anchored value costs: its nodes (go-yaml's budget) and the
/// bytes of text it copies (leafcrypt's: aliases copy their text, go-yaml's share it).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Cost {
    nodes: u64,
    bytes: u64,
}

/// Text copied by alias expansion beyond which the document must stay within
/// [`ALIAS_BYTES_FACTOR`] times its own size.
const ALIAS_BYTES_FREE: u64 = 1 << 20;
/// How many times its own size a document may grow by copying anchored text past
/// [`ALIAS_BYTES_FREE`].
const ALIAS_BYTES_FACTOR: u64 = 4;

/// leafcrypt's rule for aliases of large text (one 1 MB scalar aliased 100,000 times passes
/// go-yaml's node budget and would need 100 GB): the text copied by aliases may exceed
/// [`ALIAS_BYTES_FREE`] only while within [`ALIAS_BYTES_FACTOR`] times the bytes read.
fn excessive_alias_bytes(alias_bytes: u64, read: u64) -> bool {
    alias_bytes > ALIAS_BYTES_FREE && alias_bytes > ALIAS_BYTES_FACTOR.saturating_mul(read)
}

/// The nodes in `value` (itself included) and the bytes of its text, for the budgets.
fn cost(value: &Value) -> Cost {
    let mut c = Cost { nodes: 1, bytes: 0 };
    match value {
        Value::Map(m) => {
            for e in &m.entries {
                match e {
                    Entry::Pair(k, v) => {
                        let inner = cost(v);
                        c.nodes += inner.nodes;
                        c.bytes += k.len() as u64 + inner.bytes;
                    }
                    Entry::Comment(t) => c.bytes += t.len() as u64,
                }
            }
        }
        Value::List(items) => {
            for v in items {
                let inner = cost(v);
                c.nodes += inner.nodes;
                c.bytes += inner.bytes;
            }
        }
        Value::Str(s) | Value::Time(s) | Value::Comment(s) => c.bytes = s.len() as u64,
        Value::Bytes(b) => c.bytes = b.len() as u64,
        Value::Null | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {}
    }
    c
}
