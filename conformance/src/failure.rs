//! What the runner does with a failing trace: re-run it on fresh systems to learn whether it
//! reproduces, shrink it only if it does, and package it (with its re-runs) for the report and
//! for the file that `hsmspec replay` reads.
//!
//! A failure that does not come back on every re-run is *flaky*: still a failure (the verdict
//! is FAIL), saved unshrunk with each run's outcome and the step where the runs part.

use crate::runner::{format_run, run_trace, shrink_within, Divergence, TraceRun};
use crate::sut::SutFactory;
use hsm_model::trace::Trace;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Re-runs of a failing trace on fresh systems before it is believed (at least 3).
pub const RERUNS: usize = 5;

/// How long shrinking one failure may take: a hanging system costs a whole timeout per
/// attempt, so shrinking such a failure may stop before it is 1-minimal (and says so).
pub const SHRINK_BUDGET: Duration = Duration::from_secs(60);

/// One run of a failing trace: where it diverged, or that it conformed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// The divergent step (from 1; 0: the system could not be started), if the run diverged.
    pub diverged_at: Option<usize>,
    /// What went wrong there, or `conforms`.
    pub message: String,
}

impl RunOutcome {
    /// The outcome of one run.
    pub fn of(run: &TraceRun) -> RunOutcome {
        match &run.divergence {
            Some(d) => RunOutcome {
                diverged_at: Some(d.step),
                message: d.message.clone(),
            },
            None => RunOutcome {
                diverged_at: None,
                message: "conforms".into(),
            },
        }
    }

    /// In one line: `diverged at step 12: …` or `conformed`.
    pub fn text(&self) -> String {
        match self.diverged_at {
            Some(s) => format!("diverged at step {s}: {}", self.message),
            None => "conformed".into(),
        }
    }
}

/// How the saved trace relates to the failing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shrinking {
    /// Shrunk to a 1-minimal trace: removing any single step loses the failure.
    OneMinimal,
    /// Shrinking stopped at its time budget: smaller than the original, not 1-minimal.
    CutByBudget,
    /// Not shrunk: the failure did not reproduce on every re-run (flaky).
    NotShrunkFlaky,
    /// Not shrunk: the shrunk trace did not fail again when run once more.
    NotShrunkUnstable,
}

impl Shrinking {
    /// How the report says it.
    pub fn text(self) -> &'static str {
        match self {
            Shrinking::OneMinimal => "shrunk, 1-minimal",
            Shrinking::CutByBudget => "shrinking stopped at its time budget: not 1-minimal",
            Shrinking::NotShrunkFlaky => "not shrunk: the failure is flaky",
            Shrinking::NotShrunkUnstable => {
                "not shrunk: the shrunk trace did not fail again, so the original is kept"
            }
        }
    }
}

/// What the runner learnt about a failing trace; saved beside the trace in the failure file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// Whether some re-run did not fail at the first run's step.
    pub flaky: bool,
    /// The first run, which found the failure.
    pub first_run: RunOutcome,
    /// Each re-run on a fresh system, in order.
    pub reruns: Vec<RunOutcome>,
    /// The first step where the runs stop agreeing (for a flaky failure).
    pub runs_differ_at: Option<usize>,
    /// Steps of the failing trace as generated.
    pub original_steps: usize,
    /// How the saved trace was obtained.
    pub shrinking: Shrinking,
    /// Traces run while shrinking.
    pub shrink_attempts: usize,
}

/// A failing trace as the runner reports and saves it.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// The case number (the random campaign's case, or the exhaustive campaign's transition).
    pub case: u64,
    /// The case's seed (0 for the exhaustive campaign).
    pub case_seed: u64,
    /// Steps of the trace before shrinking.
    pub original_steps: usize,
    /// The saved trace: shrunk when the failure reproduces, else the original.
    pub trace: Trace,
    /// The saved trace's divergence (the first run's, for a flaky failure).
    pub divergence: Divergence,
    /// The saved trace replayed, one step per line.
    pub replay: String,
    /// Re-runs, flakiness and shrinking.
    pub record: FailureRecord,
}

impl Failure {
    /// Whether the failure did not come back on every re-run.
    pub fn flaky(&self) -> bool {
        self.record.flaky
    }

    /// The failure file: the trace (so that `hsmspec replay` reads it) with the record beside.
    pub fn file_json(&self) -> String {
        let file = FailureFile {
            trace: self.trace.clone(),
            failure: Some(self.record.clone()),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    /// The headline: `flaky: …` or `reproducible: …, shrunk from 100 to 7 steps (1-minimal)`.
    pub fn headline(&self) -> String {
        let r = &self.record;
        if r.flaky {
            let failed = r
                .reruns
                .iter()
                .filter(|o| o.diverged_at == r.first_run.diverged_at)
                .count();
            format!(
                "FAIL (flaky): {} of {} re-runs on a fresh system failed at the first run's step; the runs part at step {}; the {}-step trace is kept as it ran",
                failed,
                r.reruns.len(),
                r.runs_differ_at.map_or("?".into(), |s| s.to_string()),
                self.trace.steps.len()
            )
        } else {
            format!(
                "FAIL (reproducible: {} of {} re-runs failed at the same step): {} steps, {} kept ({})",
                r.reruns.len(),
                r.reruns.len(),
                r.original_steps,
                self.trace.steps.len(),
                r.shrinking.text()
            )
        }
    }
}

/// A failure file: a trace of the trace format with the runner's record beside it (readers of
/// traces ignore the extra field).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FailureFile {
    /// The trace.
    #[serde(flatten)]
    pub trace: Trace,
    /// What the runner learnt when it found it, when the file is a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureRecord>,
}

impl FailureFile {
    /// The record of a trace file's text, if it carries one.
    pub fn record_of(text: &str) -> Option<FailureRecord> {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()?
            .get("failure")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// Re-runs a trace that failed (`first`) [`RERUNS`] times on fresh systems, shrinks it if
/// every re-run failed at the same step, and packages the failure.
pub fn investigate(
    case: u64,
    case_seed: u64,
    trace: &Trace,
    first: &TraceRun,
    factory: &dyn SutFactory,
) -> Failure {
    let first_run = RunOutcome::of(first);
    let reruns: Vec<RunOutcome> = (0..RERUNS)
        .map(|_| RunOutcome::of(&run_trace(trace, factory)))
        .collect();
    // Messages may name bytes that differ from run to run (nonces); the step may not.
    let flaky = reruns
        .iter()
        .any(|r| r.diverged_at != first_run.diverged_at);
    let runs_differ_at = flaky.then(|| {
        std::iter::once(&first_run)
            .chain(&reruns)
            .map(|r| r.diverged_at.unwrap_or(trace.steps.len()))
            .min()
            .unwrap_or(0)
    });
    let mut record = FailureRecord {
        flaky,
        first_run,
        reruns,
        runs_differ_at,
        original_steps: trace.steps.len(),
        shrinking: Shrinking::NotShrunkFlaky,
        shrink_attempts: 0,
    };
    let mut kept = (trace.clone(), first.clone());
    if !flaky {
        let shrunk = shrink_within(trace, factory, Some(Instant::now() + SHRINK_BUDGET));
        record.shrink_attempts = shrunk.attempts;
        let again = run_trace(&shrunk.trace, factory);
        if again.divergence.is_some() {
            record.shrinking = if shrunk.one_minimal {
                Shrinking::OneMinimal
            } else {
                Shrinking::CutByBudget
            };
            kept = (shrunk.trace, again);
        } else {
            record.shrinking = Shrinking::NotShrunkUnstable;
        }
    }
    let (trace, run) = kept;
    let divergence = run.divergence.clone().unwrap_or_else(|| Divergence {
        step: 0,
        action: String::new(),
        message: record.first_run.message.clone(),
    });
    Failure {
        case,
        case_seed,
        original_steps: record.original_steps,
        replay: format_run(&trace.config, &run),
        trace,
        divergence,
        record,
    }
}
