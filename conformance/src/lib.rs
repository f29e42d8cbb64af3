//! # hsm-conformance: the runner and the `hsmspec` command line
//!
//! Holds an implementation to the specification of `hsm-model`: traces run in lockstep on the
//! model (the oracle) and on a system under test. This crate also hosts the `hsmspec` binary,
//! which fronts every crate of the workspace (see the repository's `README.md` and `docs/`,
//! starting at `docs/index.md`; the runner itself is described in `docs/conformance.md`, the
//! trace format in `docs/formats.md`).
//!
//! - [`sut`]: the `SystemUnderTest` interface; [`adapter`]: the `hsm-impl` adapter and its
//!   abstraction function.
//! - [`runner`]: lockstep replay of one trace, shrinking to a 1-minimal trace.
//! - [`generate`]: random traces that know the model's state, and the random campaign.
//! - [`exhaustive`]: every transition of a small configuration's reachable graph, replayed.
//! - [`coverage`]: the (role, operation, outcome) triples the model can reach, and which a
//!   campaign reached.
//! - [`protocol`]: the process protocol's wire vocabulary and its server for `hsm-impl`
//!   (`hsmspec serve-impl`); [`process`]: the system under test behind the protocol.
//! - [`conform_cli`]: `hsmspec conform` and `hsmspec replay`, reports (JSON, JUnit).
//! - [`docs_cli`]: `hsmspec table` (the permission table derived by exploring the model) and
//!   `hsmspec docs` (the generated pages of `docs/`: permissions, properties, traceability).
//! - [`scale_cli`]: `hsmspec scale`, how the exhaustive check's cost grows with each bound
//!   (a Markdown table and an SVG plot).

pub mod abstraction;
pub mod adapter;
pub mod cli;
pub mod conform_cli;
pub mod coverage;
pub mod docs_cli;
pub mod exhaustive;
pub mod failure;
pub mod generate;
pub mod process;
pub mod protocol;
pub mod runner;
pub mod scale_cli;
pub mod sut;
pub mod verdict;
