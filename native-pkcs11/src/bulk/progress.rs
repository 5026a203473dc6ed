//! The progress line `--recursive` draws on stderr, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Redraws at most this often.
const EVERY: Duration = Duration::from_millis(100);

/// A one-line progress display (`[done/total] verb path`), silent when stderr is not a tty.
pub struct Progress {
    enabled: bool,
    total: usize,
    done: usize,
    verb: &'static str,
    last: Option<Instant>,
}

impl Progress {
    /// A display for `total` files; draws only when stderr is a terminal.
    pub fn new(total: usize, verb: &'static str) -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            total,
            done: 0,
            verb,
            last: None,
        }
    }

    /// Counts one more file done (the last one being `name`) and redraws when due.
    pub fn tick(&mut self, name: &str) {
        self.done += 1;
        if !self.enabled || self.last.is_some_and(|t| t.elapsed() < EVERY) && self.done < self.total
        {
            return;
        }
        self.last = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K[{}/{}] {} {}",
            self.done,
            self.total,
            self.verb,
            clip(name, 60)
        );
        let _ = err.flush();
    }

    /// Clears the line before the summary.
    pub fn finish(&self) {
        if self.enabled && self.last.is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

/// `name`'s last `max` characters, `…` in front when shortened.
fn clip(name: &str, max: usize) -> String {
    let n = name.chars().count();
    if n <= max {
        return name.to_string();
    }
    let tail: String = name.chars().skip(n - (max - 1)).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_names_keep_their_end() {
        assert_eq!(super::clip("abcdef", 4), "…def");
        assert_eq!(super::clip("abc", 4), "abc");
    }
}
