//! # hsm-model: the executable specification
//!
//! The users-and-roles behaviour of an HSM cluster (pre-crypto officer, crypto officer, crypto
//! user, appliance user, unauthenticated sessions; zeroize; cloning and sync through masked
//! objects), written as one pure, deterministic transition function over a small state —
//! [`Config::step`] — and checked exhaustively with [stateright](https://docs.rs/stateright)
//! through [`HsmModel`].
//!
//! It is the oracle of the conformance runner (`hsm-conformance`) and the source of the
//! generated documentation in the repository's `docs/` (start at `docs/index.md`): the
//! permission table is derived by exploring this model (`docs/permissions.md`, `hsmspec
//! table`), every property with the shortest example path is in `docs/properties.md`, and
//! `docs/traceability.md` maps each SPEC rule and D-number to the function here that
//! implements it. How the spec is written as a model: `docs/model.md`; its speed:
//! `docs/performance.md`.
//!
//! - [`vocab`]: roles, key kinds, the error codes of the spec, operations and their families.
//! - [`policy`]: the credentials and limits policy.
//! - [`config`]: bounded configurations (bounds disable actions; policy limits are errors).
//! - [`state`], [`action`]: the state and the actions with their outcomes.
//! - [`packed`]: the state in bytes, for hashing and for the compact checker's levels.
//! - [`step`]: every operation as a guard followed by an effect.
//! - [`planted`]: faults planted on purpose, for tests only (feature `planted`).
//! - [`table`]: the permission table as data, held against `step` by the checker.
//! - [`checker`]: the stateright model, its properties and coverage.
//! - [`symmetry`]: canonical representatives under renaming of clients, names and HSMs.
//! - [`story`]: paths and states told as a person reads them (no Rust `Debug` text).
//! - [`trace`]: the JSON trace format shared by the checker and the runner.
//! - [`scenario`]: scenarios written by hand (text, bindings, expected outcomes), run on the
//!   model into traces.
//! - [`simulate`]: random walks of a bounded depth (TLC's simulation mode), every invariant
//!   checked at every step.
//! - [`error`]: the crate's one error type, [`Error`].

pub mod action;
pub mod checker;
pub mod config;
pub mod error;
pub mod explore;
pub mod packed;
pub mod planted;
pub mod policy;
pub mod run;
pub mod scenario;
pub mod simulate;
pub mod state;
pub mod step;
pub mod story;
pub mod symmetry;
pub mod table;
pub mod trace;
pub mod vocab;

#[cfg(test)]
mod tests;

pub use action::{Action, Observation, Op, Outcome, UserEntry};
pub use checker::{Coverage, HsmModel, Triple};
pub use config::{Config, PoolBounds};
pub use error::Error;
pub use policy::Policy;
pub use state::{LargeState, State};
pub use table::{Cell, Column, Row};
pub use trace::{Trace, TraceError, TraceStep};
pub use vocab::{ErrorCode, Families, Family, KeyKind, Operation, Role};
