//! # hsmspec: the command line
//!
//! The `hsmspec` binary fronts every crate of the workspace: the model checker of `hsm-model`
//! (`check`, `explore`, `scale`), the conformance runner of `hsm-conformance` (`conform`,
//! `replay`, `serve-impl`) and the generated documentation (`table`, `docs`). One module per
//! command; the work itself is in the library crates, and each command decides its verdict with
//! `hsm_conformance::verdict`. See the repository's `README.md` and `docs/index.md`.

pub mod check;
pub mod concurrent;
pub mod conform;
pub mod docs;
pub mod explore;
pub mod links;
pub mod options;
pub mod output;
pub mod replay;
pub mod scale;
pub mod scenario;
pub mod serve;
pub mod serve_pkcs11;
pub mod simulate;
pub mod table;
