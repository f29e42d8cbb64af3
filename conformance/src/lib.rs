//! # hsm-conformance: the conformance runner
//!
//! Holds an implementation to the specification of `hsm-model`: traces run in lockstep on the
//! model (the oracle) and on a system under test, failing traces are re-run and shrunk, and
//! every command's verdict is decided here. The command line that fronts it is the `hsmspec`
//! package (`conformance/cli/`); this crate carries none of its dependencies. The runner is
//! described in `docs/conformance.md`, the trace format in `docs/formats.md`, the process
//! protocol in `docs/protocol.md`.
//!
//! - [`sut`]: the `SystemUnderTest` interface; [`adapter`]: the `hsm-impl` adapter and its
//!   abstraction function; [`abstraction`]: the parts of it both transports share.
//! - [`runner`]: lockstep replay of one trace, shrinking to a 1-minimal trace.
//! - [`failure`]: a failing trace re-run on fresh systems (flaky or reproducible), shrunk,
//!   packaged and saved.
//! - [`generate`]: random traces that know the model's state, and the random campaign.
//! - [`exhaustive`]: every transition of a small configuration's reachable graph, replayed.
//! - [`coverage`]: the (role, operation, outcome) triples the model can reach, and which a
//!   campaign reached.
//! - [`protocol`]: the process protocol's wire vocabulary and its server for `hsm-impl`
//!   (`hsmspec serve-impl`); [`process`]: the system under test behind the protocol.
//! - [`verdict`]: PASS, FAIL, INCOMPLETE and the exit codes, decided in one place.

pub mod abstraction;
pub mod adapter;
pub mod coverage;
pub mod exhaustive;
pub mod failure;
pub mod generate;
pub mod process;
pub mod protocol;
pub mod runner;
pub mod sut;
pub mod verdict;
