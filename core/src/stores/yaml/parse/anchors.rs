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
        let (value, nodes) = self
            .anchors
            .get(name)
            .ok_or_else(|| perr(line, format!("unknown anchor '{name}' referenced")))?;
        self.alias_nodes = self.alias_nodes.saturating_add(*nodes);
        // The bytes read so far bound the nodes written out directly.
        if excessive_aliasing(self.alias_nodes, self.pos as u64) {
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
        self.anchors
            .insert(name, (value.clone(), node_count(value)));
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

/// Nodes in `value` (itself included), for the aliasing budget.
fn node_count(value: &Value) -> u64 {
    1 + match value {
        Value::Map(m) => m
            .entries
            .iter()
            .map(|e| match e {
                Entry::Pair(_, v) => node_count(v),
                Entry::Comment(_) => 0,
            })
            .sum(),
        Value::List(items) => items.iter().map(node_count).sum(),
        _ => 0,
    }
}
