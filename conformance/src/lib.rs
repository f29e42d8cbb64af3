//! # hsm-conformance: the conformance runner
//!
//! Holds an implementation to the specification of `hsm-model`: traces run in lockstep on the
//! model (the oracle) and on a system under test, failing traces are re-run and shrunk, and
//! every command's verdict is decided here. The command line that fronts it is the `hsmspec`
//! package (`conformance/cli/`); this crate carries none of its dependencies. The runner is
//! described in `docs/conformance.md`, the trace format in `docs/formats.md`, the process
//! protocol in `docs/protocol.md`.
//!
//! - [`sut`]: the `SystemUnderTest` interface, and `ProtocolSut`, the system of every
//!   transport; [`abstraction`]: the one abstraction function (requests from actions, the
//!   model's outcome from answers, the expected state of each HSM, the crypto laws).
//! - [`protocol`]: the process protocol's typed requests and answers, and `hsm-impl` behind it
//!   ([`protocol::Server`], what `hsmspec serve-impl` runs).
//! - [`adapter`]: `hsm-impl` in process (the server called directly), with the checks only
//!   direct access allows (the cluster as made, the audit log); [`process`]: an implementation
//!   behind the protocol in a child process (framing, timeouts, process groups, the protocol
//!   log).
//! - [`runner`]: lockstep replay of one trace, shrinking to a 1-minimal trace.
//! - [`failure`]: a failing trace re-run on fresh systems (flaky or reproducible), shrunk,
//!   packaged and saved.
//! - [`generate`]: random traces that know the model's state, and the random campaign.
//! - [`concurrent`]: many sessions at once against one cluster, judged by linearizability
//!   against the model.
//! - [`exhaustive`]: every transition of a small configuration's reachable graph, replayed.
//! - [`coverage`]: the (role, operation, outcome) triples the model can reach, and which a
//!   campaign reached.
//! - [`verdict`]: PASS, FAIL, INCOMPLETE and the exit codes, decided in one place.
//! - [`error`]: the crate's one error type, [`Error`].

pub mod abstraction;
pub mod adapter;
pub mod concurrent;
pub mod coverage;
pub mod error;
pub mod exhaustive;
pub mod failure;
pub mod generate;
pub mod process;
pub mod profile;
pub mod protocol;
pub mod runner;
pub mod sut;
pub mod verdict;

pub use error::Error;
