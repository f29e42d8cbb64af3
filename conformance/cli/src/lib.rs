//! # hsmspec: the command line
//!
//! The `hsmspec` binary fronts every crate of the workspace: the model checker of `hsm-model`
//! (`check`, `explore`, `scale`), the conformance runner of `hsm-conformance` (`conform`,
//! `replay`, `serve-impl`) and the generated documentation (`table`, `docs`). Each module is
//! one command (or two close ones); the work itself is in the library crates, and each command
//! decides its verdict with `hsm_conformance::verdict`. See the repository's `README.md` and
//! `docs/index.md`.
//!
//! - [`check`]: `hsmspec check` and `hsmspec explore`.
//! - [`conform`]: `hsmspec conform`, `hsmspec replay`, `hsmspec serve-impl`; reports (JSON,
//!   JUnit).
//! - [`docs`]: `hsmspec table` (the permission table derived by exploring the model) and
//!   `hsmspec docs` (the generated pages of `docs/`: permissions, properties, traceability).
//! - [`scale`]: `hsmspec scale`, how the exhaustive check's cost grows with each bound (a
//!   Markdown table and an SVG plot).

pub mod check;
pub mod conform;
pub mod docs;
pub mod scale;
