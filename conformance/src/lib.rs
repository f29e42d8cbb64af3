//! # hsm-conformance: the runner and the `hsmspec` command line
//!
//! Will hold an implementation to the specification of `hsm-model`: traces run in lockstep on
//! the model (the oracle) and on a system under test (issue 4; work in progress on the
//! `wip/conformance` branch). Today it hosts the `hsmspec` binary, which fronts every crate of
//! the workspace: `check` and `explore` (see the repository's `README.md` and `docs/`).

pub mod cli;
