//! The one error type of `hsm-conformance`, and the exit code each kind of error stands for.
//!
//! A system under test that answers wrongly is not an error of the runner: the lockstep runner
//! turns [`Error::Divergence`] and [`Error::Broken`] into a divergence of the trace, and the
//! verdict of the command says FAIL. The other variants stop a command before (or instead of)
//! a verdict: they are usage errors or unreadable input, exit code [`USAGE_EXIT`] (D29).
//!
//! Variants are stable (callers decide exit codes and reports from them); new ones may be
//! added (`#[non_exhaustive]`).

use std::fmt;

/// The exit code for a usage error or unreadable input (D29).
pub const USAGE_EXIT: u8 = 2;

/// Why the runner could not do what was asked, or what it found wrong in an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The system under test answered something the spec does not allow, found by the
    /// abstraction function itself (an error code the spec does not have, a wrong digest, an
    /// inconsistent tag, a broken crypto law, a state that differs from the model's).
    Divergence(String),
    /// The system under test broke down: its process crashed, hung, answered garbage or the
    /// wrong id, or closed its output; or it could not be made for a trace.
    Broken(String),
    /// The system under test cannot run what was asked (it refused `hello` or `reset`, or
    /// runs another policy than the trace needs): the run cannot judge it.
    Refused(String),
    /// The system under test answered `unsupported` (protocol version 2): it does not have an
    /// operation the run asked of it. Not a divergence and not a usage error: the trace stops
    /// there untested, and the verdict is INCOMPLETE.
    Unsupported(String),
    /// The model cannot take the input (a configuration, a trace, a family list).
    Model(hsm_model::Error),
    /// Bad options, or input that cannot be read (a file, a committed coverage file).
    Usage(String),
}

impl Error {
    /// Whether the error is the system under test's: a divergence or a breakdown, which a
    /// verdict reports as FAIL. The others are the run's own (exit code [`USAGE_EXIT`]).
    pub fn is_sut_failure(&self) -> bool {
        matches!(self, Error::Divergence(_) | Error::Broken(_))
    }

    /// The error with `context: ` before its message (same variant).
    pub fn context(self, context: &str) -> Error {
        let with = |m: String| format!("{context}: {m}");
        match self {
            Error::Divergence(m) => Error::Divergence(with(m)),
            Error::Broken(m) => Error::Broken(with(m)),
            Error::Refused(m) => Error::Refused(with(m)),
            Error::Unsupported(m) => Error::Unsupported(with(m)),
            Error::Usage(m) => Error::Usage(with(m)),
            Error::Model(e) => Error::Usage(with(e.to_string())),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Divergence(m)
            | Error::Broken(m)
            | Error::Refused(m)
            | Error::Unsupported(m)
            | Error::Usage(m) => f.write_str(m),
            Error::Model(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<hsm_model::Error> for Error {
    fn from(e: hsm_model::Error) -> Error {
        Error::Model(e)
    }
}

/// A divergence found by the abstraction function.
pub(crate) fn diverged<T>(message: impl Into<String>) -> Result<T, Error> {
    Err(Error::Divergence(message.into()))
}

/// A message of a command's own (bad options, a file it cannot write) is a usage error.
impl From<String> for Error {
    fn from(m: String) -> Error {
        Error::Usage(m)
    }
}

/// See `From<String>`.
impl From<&str> for Error {
    fn from(m: &str) -> Error {
        Error::Usage(m.to_string())
    }
}
