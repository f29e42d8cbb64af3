//! # hsm-impl: a software HSM cluster that implements the hsmspec SPEC for real
//!
//! This crate is an embeddable library: a [`Cluster`] of HSMs, [`Session`]s opened on one HSM,
//! and calls that return `Result<_, HsmError>`. Every operation of SPEC §3 is implemented with
//! real cryptography:
//!
//! * passwords are stored only as salted argon2id (or PBKDF2-HMAC-SHA-256) hashes, compared in
//!   constant time; an unknown login name costs the same hash as a known one;
//! * keys come from the OS random source; AES-256-GCM, HMAC-SHA-256, Ed25519, SHA-256;
//! * masked objects are AES-256-GCM-sealed canonical key records under the cluster's masking
//!   key, with the cluster id and a format version as associated data;
//! * sync digests are SHA-256 over the key record with an HMAC fingerprint of the material;
//! * every secret lives in a zeroizing buffer with a redacted `Debug`;
//! * every call, refused ones included, is audited per HSM.
//!
//! It deliberately does **not** depend on `hsm-model`: like any implementation a user brings to
//! the conformance runner, it has its own types ([`Policy`], [`HsmError`], …) and the
//! conformance adapter maps them onto the model's.
//!
//! Concurrency: see the locking design in the `cluster` module (one mutex per HSM, atomics for
//! cluster-wide state, Clone takes its two locks in index order).
//!
//! With the cargo feature `faults` (never on by default) the crate also offers `Fault` and
//! `Cluster::new_with_fault`, deliberate deviations for testing the conformance runner.
//!
//! The behaviour it implements is documented in the repository's `docs/` (start at
//! `docs/index.md`; who may call each operation and its errors in order: `docs/operations.md`;
//! the permission table derived from the model: `docs/permissions.md`; how this crate is held
//! to the model: `docs/conformance.md`).
#![cfg_attr(not(test), forbid(unsafe_code))]
#![cfg_attr(test, deny(unsafe_code))]
#![warn(missing_docs)]

mod cluster;
mod crypto;
mod error;
#[cfg(feature = "faults")]
mod fault;
mod record;
mod types;

pub use cluster::{
    permission, Cluster, Session, AUDIT_CAPACITY, AU_NAME, PRECO_NAME, PRECO_PASSWORD,
};
pub use error::HsmError;
#[cfg(feature = "faults")]
pub use fault::Fault;
pub use types::*;

#[cfg(test)]
mod tests;

/// The decoders behind authentication, for the fuzz targets in `fuzz/` (feature `fuzzing`
/// only; never in the default build).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a masked object's plaintext key record; whether it is well formed.
    pub fn decode_record(bytes: &[u8]) -> bool {
        crate::record::decode(bytes).is_some()
    }
    /// Parses a wrapped key's plaintext; whether it is well formed.
    pub fn decode_wrapped(bytes: &[u8]) -> bool {
        crate::record::decode_wrapped(bytes).is_some()
    }
}
