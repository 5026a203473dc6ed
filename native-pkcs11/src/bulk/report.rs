//! What `--recursive` prints at the end: the summary table and one failure report.

use crate::failure::{CliResult, Failure};
use std::collections::BTreeMap;

/// What happened to one file.
#[derive(Debug)]
pub enum Outcome {
    /// Changed (or would change, with `--dry-run`); for `filestatus`: encrypted.
    Changed,
    /// Already as wanted; for `filestatus`: not encrypted.
    Unchanged,
    /// Not operated on, and why (`no creation rule matches`, `not encrypted`, …).
    Skipped(&'static str),
    /// The operation failed.
    Failed(Failure),
}

/// The results of a run, in path order.
pub struct Report {
    /// Labels of the first two rows (`changed`/`unchanged`, or filestatus's).
    pub labels: (&'static str, &'static str),
    /// Each file's name and outcome.
    pub results: Vec<(String, Outcome)>,
}

impl Report {
    /// The files that changed (or would change).
    pub fn changed(&self) -> impl Iterator<Item = &str> {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Changed))
            .map(|(n, _)| n.as_str())
    }

    /// The summary table: one row per outcome, skipped files by reason.
    pub fn table(&self) -> String {
        let mut changed = 0;
        let mut unchanged = 0;
        let mut failed = 0;
        let mut skipped: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, o) in &self.results {
            match o {
                Outcome::Changed => changed += 1,
                Outcome::Unchanged => unchanged += 1,
                Outcome::Skipped(why) => *skipped.entry(why).or_default() += 1,
                Outcome::Failed(_) => failed += 1,
            }
        }
        let mut out = String::new();
        let mut row = |label: &str, n: usize| out.push_str(&format!("  {label:<34} {n:>7}\n"));
        row(self.labels.0, changed);
        row(self.labels.1, unchanged);
        row("skipped", skipped.values().sum());
        for (why, n) in &skipped {
            row(&format!("  {why}"), *n);
        }
        row("failed", failed);
        row("total", self.results.len());
        out
    }

    /// `Ok` when no file failed; else one failure listing every failed file with its error
    /// (first line), with the first failure's exit code.
    pub fn into_result(self, verb: &str) -> CliResult<()> {
        let failed: Vec<(String, Failure)> = self
            .results
            .into_iter()
            .filter_map(|(n, o)| match o {
                Outcome::Failed(f) => Some((n, f)),
                _ => None,
            })
            .collect();
        let Some((_, first)) = failed.first() else {
            return Ok(());
        };
        let code = first.code;
        let mut text = format!("{} file(s) failed to {verb}:", failed.len());
        for (name, f) in &failed {
            let line = f.message.lines().next().unwrap_or_default();
            text.push_str(&format!("\n  {name}: {line} (exit {})", f.code));
        }
        Err(Failure::new(code, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leafcrypt_core::ExitCode;

    #[test]
    fn table_counts_and_failures_are_listed_together() {
        let r = Report {
            labels: ("changed", "unchanged"),
            results: vec![
                ("a".into(), Outcome::Changed),
                ("b".into(), Outcome::Skipped("no creation rule matches")),
                (
                    "c".into(),
                    Outcome::Failed(Failure::new(ExitCode::ErrorGeneric, "x\ny")),
                ),
                (
                    "d".into(),
                    Outcome::Failed(Failure::new(ExitCode::ErrorGeneric, "z")),
                ),
            ],
        };
        assert_eq!(r.changed().collect::<Vec<_>>(), ["a"]);
        assert!(r
            .table()
            .contains("  failed                                   2\n"));
        let f = r.into_result("update").unwrap_err();
        assert_eq!(
            f.message,
            "2 file(s) failed to update:\n  c: x (exit 1)\n  d: z (exit 1)"
        );
    }
}
