//! Tests that need the crate's internals: the planted faults of `step`, and what the
//! compact checker relies on.

mod engine;
mod planted;
mod simulate;
mod suite_faults;
