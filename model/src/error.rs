//! The one error type of `hsm-model`: why a configuration, a trace or a family list cannot be
//! used. The model's own answers to operations are not errors of this kind: they are
//! [`crate::ErrorCode`]s inside an [`crate::Outcome`].
//!
//! Variants are stable: callers (the runner, the command line) decide exit codes from them, so
//! a variant keeps its meaning once published; new ones may be added (`#[non_exhaustive]`).

use crate::{ErrorCode, Outcome};

/// Why the model cannot take an input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A configuration does not fit the model's capacity or contradicts itself (a name twice,
    /// a password the policy refuses as the AU's, …): the message says which field and why.
    InvalidConfig(String),
    /// One of a configuration's setup steps answered an error (step number from 1).
    SetupFailed {
        /// The step, from 1.
        step: usize,
        /// The action, described.
        action: String,
        /// What the model answered.
        code: ErrorCode,
    },
    /// A list of operation families names one that does not exist.
    UnknownFamily {
        /// The name given.
        name: String,
        /// Every family's name, for the message.
        known: Vec<&'static str>,
    },
    /// A trace file's configuration is not valid (as [`Error::InvalidConfig`]).
    InvalidTraceConfig(String),
    /// A trace file is not JSON of the trace format.
    MalformedTrace(String),
    /// A trace file is of another format or version.
    UnsupportedTrace(String),
    /// A trace's step names something outside its configuration's tables (step number from
    /// 1; setup steps say so in the message).
    BadStep {
        /// The step, from 1.
        step: usize,
        /// What is outside the tables.
        message: String,
    },
    /// The model answered otherwise than a trace's recorded outcome (step number from 1).
    OutcomeMismatch {
        /// The step, from 1.
        step: usize,
        /// What the trace records.
        recorded: Outcome,
        /// What the model answers.
        model: Outcome,
    },
    /// A mistake in a scenario file (a line that reads as nothing, an unknown operation or
    /// binding, a value beyond the model's capacity): where it is and what is wrong.
    Scenario {
        /// The line, from 1.
        line: usize,
        /// The column, from 1, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A scenario's expected outcome that the model contradicts: the scenario disagrees with
    /// the spec.
    ScenarioDisagrees {
        /// The line of the expectation, from 1.
        line: usize,
        /// Its column, from 1.
        column: usize,
        /// The expectation as written.
        expected: String,
        /// What the model answers, in the scenario's words.
        model: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidConfig(m) => write!(f, "{m}"),
            Error::SetupFailed { step, action, code } => {
                write!(f, "setup step {step} ({action}) answered {code}")
            }
            Error::UnknownFamily { name, known } => write!(
                f,
                "unknown operation family `{name}` (known: {})",
                known.join(", ")
            ),
            Error::InvalidTraceConfig(m) => write!(f, "invalid configuration in trace: {m}"),
            Error::MalformedTrace(m) => write!(f, "malformed trace: {m}"),
            Error::UnsupportedTrace(m) => write!(f, "unsupported trace: {m}"),
            Error::BadStep { step, message } => write!(f, "step {step}: {message}"),
            Error::OutcomeMismatch {
                step,
                recorded,
                model,
            } => write!(
                f,
                "step {step}: the trace records {}, the model answers {}",
                crate::story::outcome_summary(recorded),
                crate::story::outcome_summary(model)
            ),
            Error::Scenario {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: {message}"),
            Error::ScenarioDisagrees {
                line,
                column,
                expected,
                model,
            } => write!(
                f,
                "line {line}, column {column}: the scenario expects `{expected}`, the model answers `{model}`"
            ),
        }
    }
}

impl std::error::Error for Error {}
