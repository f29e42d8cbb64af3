//! # hsm-benches: criterion benchmarks for hsmspec
//!
//! `cargo bench -p hsm-benches` measures the model's step function on reachable states and
//! `hsm-impl`'s operations against the RustCrypto building blocks they are made of. Whole-check
//! figures (states per second, bytes per state) come from `hsmspec check` itself; see
//! `docs/performance.md` in the repository.
