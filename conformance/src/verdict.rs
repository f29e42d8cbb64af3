//! The verdict of `check`, `conform` and `replay`, and their exit codes, decided in one place.
//!
//! A command decides a [`Verdict`] from what it ran; `--json` and `--report` only change how it
//! is printed. Exit codes: 0 PASS; 1 FAIL or INCOMPLETE (the reason on the verdict line);
//! 2 for usage errors and unreadable input only ([`Error`], [`USAGE_EXIT`]).

use crate::error::Error;
use serde::Serialize;
use std::process::ExitCode;

/// What a run showed, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Something was checked and found wrong (a divergence, a violated invariant, a flaky SUT).
    Fail,
    /// Nothing was found wrong, but not everything asked was checked (cut by a timeout, fewer
    /// traces than asked, a missing example).
    Incomplete,
    /// Everything asked ran and agreed.
    Pass,
}

impl Status {
    /// `PASS`, `FAIL` or `INCOMPLETE`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Incomplete => "INCOMPLETE",
        }
    }
}

/// A verdict and its reasons. Starts as PASS; a failure or a gap can only make it worse.
/// In JSON: `{"status": "FAIL", "reasons": ["…"], "failures": ["…"], "not_checked": ["…"]}`
/// (`reasons` is both lists, failures first, as the verdict line gives them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The worst status seen.
    pub status: Status,
    /// Why the verdict is not PASS: failures first, then what was not checked.
    pub reasons: Vec<String>,
}

impl Default for Verdict {
    fn default() -> Verdict {
        Verdict::pass()
    }
}

impl Verdict {
    /// Everything asked ran and agreed (so far).
    pub fn pass() -> Verdict {
        Verdict {
            status: Status::Pass,
            reasons: Vec::new(),
        }
    }

    /// Records a failure: the verdict becomes FAIL.
    pub fn fail(&mut self, reason: impl Into<String>) {
        self.status = Status::Fail;
        let at = self
            .reasons
            .iter()
            .position(|r| r.starts_with(INCOMPLETE_MARK) || r.starts_with(NOTE_MARK))
            .unwrap_or(self.reasons.len());
        self.reasons.insert(at, reason.into());
    }

    /// Records something that was asked but not checked: the verdict becomes INCOMPLETE unless
    /// it is FAIL already.
    pub fn incomplete(&mut self, reason: impl Into<String>) {
        self.status = self.status.min(Status::Incomplete);
        let at = self
            .reasons
            .iter()
            .position(|r| r.starts_with(NOTE_MARK))
            .unwrap_or(self.reasons.len());
        self.reasons
            .insert(at, format!("{INCOMPLETE_MARK}{}", reason.into()));
    }

    /// Records what a person must know of a verdict that it does not change (a PASS that
    /// left out what the profile does not have, D58): said last on the verdict line, in
    /// `reasons` of the JSON, in neither `failures` nor `not_checked`.
    pub fn note(&mut self, reason: impl Into<String>) {
        self.reasons.push(format!("{NOTE_MARK}{}", reason.into()));
    }

    /// Merges another verdict into this one.
    pub fn absorb(&mut self, other: Verdict) {
        for r in other.reasons {
            if let Some(gap) = r.strip_prefix(INCOMPLETE_MARK) {
                self.incomplete(gap);
            } else if let Some(note) = r.strip_prefix(NOTE_MARK) {
                self.note(note);
            } else {
                self.fail(r);
            }
        }
        self.status = self.status.min(other.status);
    }

    /// Whether everything asked ran and agreed.
    pub fn is_pass(&self) -> bool {
        self.status == Status::Pass
    }

    /// The reasons as a person reads them (without the internal mark).
    pub fn reason_text(&self) -> String {
        self.reasons
            .iter()
            .map(|r| unmarked(r))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The last line of a command's text output: `verdict: FAIL (2 traces diverged)`.
    pub fn line(&self) -> String {
        if self.reasons.is_empty() {
            format!("verdict: {}", self.status.name())
        } else {
            format!("verdict: {} ({})", self.status.name(), self.reason_text())
        }
    }

    /// The process exit code: 0 PASS, 1 FAIL or INCOMPLETE.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// The exit code as a number.
    pub fn code(&self) -> u8 {
        match self.status {
            Status::Pass => 0,
            Status::Fail | Status::Incomplete => 1,
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (gaps, failures): (Vec<&String>, Vec<&String>) = self
            .reasons
            .iter()
            .filter(|r| !r.starts_with(NOTE_MARK))
            .partition(|r| r.starts_with(INCOMPLETE_MARK));
        let strip = |r: &&String| unmarked(r).to_string();
        let mut st = s.serialize_struct("Verdict", 4)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field(
            "reasons",
            &self.reasons.iter().map(|r| strip(&r)).collect::<Vec<_>>(),
        )?;
        st.serialize_field("failures", &failures.iter().map(strip).collect::<Vec<_>>())?;
        st.serialize_field("not_checked", &gaps.iter().map(strip).collect::<Vec<_>>())?;
        st.end()
    }
}

/// Reasons that are gaps rather than failures carry this mark inside a [`Verdict`].
const INCOMPLETE_MARK: &str = "not checked: ";
/// Reasons that are notes ([`Verdict::note`]) carry this mark inside a [`Verdict`].
const NOTE_MARK: &str = "note: ";

/// A reason without its mark.
fn unmarked(r: &str) -> &str {
    r.strip_prefix(INCOMPLETE_MARK)
        .or_else(|| r.strip_prefix(NOTE_MARK))
        .unwrap_or(r)
}

pub use crate::error::USAGE_EXIT;

/// The exit code of a command's result, printing an error as `hsmspec CMD: message`: the
/// verdict's code, or [`USAGE_EXIT`] for a usage error or unreadable input. An error of the
/// system under test that reached here instead of a verdict (it should not) is a FAIL.
pub fn exit(command: &str, result: Result<Verdict, Error>) -> ExitCode {
    match result {
        Ok(v) => v.exit_code(),
        Err(e) => {
            eprintln!("hsmspec {command}: {e}");
            if e.is_sut_failure() {
                ExitCode::from(1)
            } else {
                ExitCode::from(USAGE_EXIT)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_outrank_gaps_and_gaps_outrank_a_pass() {
        let mut v = Verdict::pass();
        assert_eq!(v.code(), 0);
        v.incomplete("cut by --timeout");
        assert_eq!(v.status, Status::Incomplete);
        assert_eq!(v.code(), 1);
        v.fail("a divergence");
        assert_eq!(v.status, Status::Fail);
        v.incomplete("another gap");
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            v.line(),
            "verdict: FAIL (a divergence; cut by --timeout; another gap)"
        );
        let mut n = Verdict::pass();
        n.note("3 files outside the profile");
        assert!(n.is_pass(), "a note changes no verdict");
        assert_eq!(n.line(), "verdict: PASS (3 files outside the profile)");
        n.incomplete("a gap");
        n.fail("a failure");
        assert_eq!(
            n.line(),
            "verdict: FAIL (a failure; a gap; 3 files outside the profile)"
        );
        let json = serde_json::to_value(&n).expect("JSON");
        assert_eq!(json["failures"], serde_json::json!(["a failure"]));
        assert_eq!(json["not_checked"], serde_json::json!(["a gap"]));
        let mut w = Verdict::pass();
        w.absorb(v);
        assert_eq!(w.status, Status::Fail);
        assert_eq!(w.reasons.len(), 3);
    }
}
