//! Injected faults: the next N requests for an operation get an error status (with an
//! optional `Retry-After`), extra latency, or a dropped connection.

use serde::{Deserialize, Serialize};

/// One fault rule, as posted to `/admin/fault`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The operation (`get`, `decrypt`, …, `token` for the token endpoints) or `*`.
    pub op: String,
    /// Status to answer with instead of serving the request (429, 500, 502, 503, 504, or 401
    /// for a forced "token refused"); none = serve it normally after `delay_ms`.
    #[serde(default)]
    pub status: Option<u16>,
    /// How many requests it applies to.
    #[serde(default = "one")]
    pub count: u32,
    /// `Retry-After` in seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Latency added before answering.
    #[serde(default)]
    pub delay_ms: u64,
    /// Close the connection without any response.
    #[serde(default)]
    pub drop_connection: bool,
}

fn one() -> u32 {
    1
}

/// The pending fault rules, first added first used.
#[derive(Default)]
pub struct Faults(Vec<Fault>);

impl Faults {
    /// Adds a rule (ignored when its count is zero).
    pub fn add(&mut self, fault: Fault) {
        if fault.count > 0 {
            self.0.push(fault);
        }
    }

    /// Consumes one use of the first rule matching `op` and returns it.
    pub fn take(&mut self, op: &str) -> Option<Fault> {
        let i = self
            .0
            .iter()
            .position(|f| f.op == "*" || f.op.eq_ignore_ascii_case(op))?;
        let rule = &mut self.0[i];
        rule.count -= 1;
        let used = rule.clone();
        if rule.count == 0 {
            self.0.remove(i);
        }
        Some(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(op: &str, count: u32) -> Fault {
        Fault {
            op: op.into(),
            status: Some(429),
            count,
            retry_after: Some(1),
            delay_ms: 0,
            drop_connection: false,
        }
    }

    #[test]
    fn counts_down_per_matching_op() {
        let mut faults = Faults::default();
        faults.add(fault("decrypt", 2));
        faults.add(fault("*", 1));
        faults.add(fault("get", 0));
        assert_eq!(faults.take("Decrypt").map(|f| f.op), Some("decrypt".into()));
        assert_eq!(faults.take("get").map(|f| f.op), Some("*".into()));
        assert_eq!(faults.take("get"), None);
        assert_eq!(faults.take("decrypt").map(|f| f.count), Some(0));
        assert_eq!(faults.take("decrypt"), None);
    }

    #[test]
    fn admin_json_defaults() {
        let f: Fault = serde_json::from_str(r#"{"op":"get","status":503}"#).expect("json");
        assert_eq!(
            (f.count, f.retry_after, f.delay_ms, f.drop_connection),
            (1, None, 0, false)
        );
    }
}
