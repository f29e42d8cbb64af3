//! # hsm-conformance: the runner and the `hsmspec` command line
//!
//! Holds an implementation to the specification of `hsm-model`: traces run in lockstep on the
//! model (the oracle) and on a system under test. This crate also hosts the `hsmspec` binary,
//! which fronts every crate of the workspace (see the repository's `README.md` and `docs/`).

pub mod cli;
