//! The suite's answer: one result per case and a summary, printed one line per case as
//! `PASS|FAIL|SKIP name — why`.

use std::fmt;

use crate::types::Capabilities;

/// Ends the reason of a skipped case that a seeded run would run.
pub(super) const SEEDABLE: &str = "; --seeded reads its input from the fixture tree instead";

/// How one case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The driver behaved as specified.
    Pass,
    /// It did not; the result says what was expected and what came back.
    Fail,
    /// The driver lacks a capability the case needs.
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name (`read.ranges`).
    pub name: &'static str,
    /// How it ended.
    pub status: Status,
    /// Why it failed or was skipped; empty for a pass.
    pub why: String,
}

/// What a run of the suite found.
#[derive(Debug, Clone)]
pub struct Report {
    /// What the driver declared.
    pub capabilities: Capabilities,
    /// The scratch folder the cases worked in.
    pub scratch: String,
    /// One result per case, in the order they ran.
    pub results: Vec<CaseResult>,
    /// Whether the scratch folder was removed; `None` when it was never created.
    pub cleanup: Option<Result<(), String>>,
}

impl Report {
    pub(super) fn new(capabilities: Capabilities, scratch: String) -> Self {
        Report {
            capabilities,
            scratch,
            results: Vec::new(),
            cleanup: None,
        }
    }

    pub(super) fn push(&mut self, name: &'static str, status: Status, why: String) {
        self.results.push(CaseResult { name, status, why });
    }

    /// True when no case failed.
    pub fn passed(&self) -> bool {
        self.count(Status::Fail) == 0
    }

    /// The names of the cases that ended with `status`.
    pub fn names(&self, status: Status) -> Vec<&'static str> {
        let matching = self.results.iter().filter(|r| r.status == status);
        matching.map(|r| r.name).collect()
    }

    /// The result of the case called `name`, if it was selected.
    pub fn result(&self, name: &str) -> Option<&CaseResult> {
        self.results.iter().find(|r| r.name == name)
    }

    /// How many cases ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// Panics with the whole report when a case failed.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed() {
            panic!(
                "the driver does not conform: {} failed\n{self}",
                self.names(Status::Fail).join(", ")
            );
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            match r.why.as_str() {
                "" => writeln!(f, "{} {}", r.status.label(), r.name)?,
                why => writeln!(f, "{} {} — {why}", r.status.label(), r.name)?,
            }
        }
        let caps = self.capabilities.names();
        let caps = if caps.is_empty() {
            "none".to_owned()
        } else {
            caps.join(", ")
        };
        write!(
            f,
            "{} passed, {} failed, {} skipped (driver capabilities: {caps})",
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Skip),
        )?;
        self.fmt_skips(f)?;
        match &self.cleanup {
            Some(Err(why)) => write!(f, "\nwarning: {why}"),
            _ => Ok(()),
        }
    }
}

impl Report {
    /// The skipped cases grouped by reason, and how many of them a seeded run would run.
    fn fmt_skips(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let skipped: Vec<&str> = (self.results.iter())
            .filter(|r| r.status == Status::Skip)
            .map(|r| r.why.as_str())
            .collect();
        if skipped.is_empty() {
            return Ok(());
        }
        let mut reasons: Vec<(&str, usize)> = Vec::new();
        for why in &skipped {
            let why = why.strip_suffix(SEEDABLE).unwrap_or(why);
            match reasons.iter_mut().find(|(r, _)| *r == why) {
                Some((_, n)) => *n += 1,
                None => reasons.push((why, 1)),
            }
        }
        let reasons: Vec<String> = (reasons.iter())
            .map(|(why, n)| format!("{n} × {why}"))
            .collect();
        write!(f, "\nskipped: {}", reasons.join("; "))?;
        let seedable = skipped.iter().filter(|w| w.ends_with(SEEDABLE)).count();
        if seedable > 0 {
            write!(
                f,
                "\nhint: {seedable} of the skipped cases only create their input first; with \
                 the fixture tree in the workspace (`wshost plugins fixture DIR` writes it), \
                 `wshost plugins test … --seeded` runs them on it (in-process: \
                 `Options::seeded`)"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_case_then_a_summary() {
        let mut report = Report::new(Capabilities::STAT | Capabilities::LIST, "s".into());
        report.push("stat.base", Status::Pass, String::new());
        report.push(
            "read.ranges",
            Status::Fail,
            "read of range 10..20 returned 11 bytes, expected 10".into(),
        );
        report.push("copy.file", Status::Skip, "needs capability copy".into());
        report.cleanup = Some(Err("the scratch folder 's' could not be deleted".into()));
        assert_eq!(
            report.to_string(),
            "PASS stat.base\n\
             FAIL read.ranges — read of range 10..20 returned 11 bytes, expected 10\n\
             SKIP copy.file — needs capability copy\n\
             1 passed, 1 failed, 1 skipped (driver capabilities: stat, list)\n\
             skipped: 1 × needs capability copy\n\
             warning: the scratch folder 's' could not be deleted"
        );
        assert!(!report.passed());
        assert_eq!(report.names(Status::Fail), ["read.ranges"]);
    }
}
