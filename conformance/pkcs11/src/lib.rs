//! The PKCS#11 bridge: it puts any PKCS#11 module (SoftHSM2, opencryptoki's software token, a
//! vendor's client library) behind the process protocol (`docs/protocol.md`), so that
//! `hsmspec conform --sut-cmd "hsmspec serve-pkcs11 --module PATH" --profile …` holds a real
//! token to the model. Its one job is that mapping; the mapping itself is documented in
//! `docs/real-hsms.md` (operations to PKCS#11 calls, the error table, what the bridge checks
//! itself because a token has no such rule).
//!
//! - One HSM is one **token**, created fresh for every trace (for SoftHSM2: a new
//!   `SOFTHSM2_CONF` and token directory per `reset`, removed afterwards).
//! - One client is one **worker process** ([`worker`]): PKCS#11 login state belongs to an
//!   application, so two clients must be two applications. The bridge ([`bridge`]) talks to
//!   its workers over their standard input and output ([`wire`]) and reaps them whatever
//!   happens.
//! - Keys are found by `CKA_ID`, which is the protocol's key handle; the bridge never keeps
//!   an object handle across steps (private handles die at logout).
//! - Every PKCS#11 return value maps to an error code of the spec, to `unsupported`, or is a
//!   refusal naming it ([`errors`]).
//!
//! The bridge speaks the protocol's own types (`hsm_conformance::protocol`); it defines none
//! of the spec's vocabulary.

pub mod bridge;
pub mod errors;
pub mod wire;
pub mod worker;
