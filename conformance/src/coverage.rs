//! Coverage: the (role, operation, outcome) triples the model can reach, from the exhaustive
//! model check of a stated configuration (committed under `conformance/coverage/`), and which
//! of them a campaign reached.

use crate::error::Error;
use crate::runner::Triple;
use hsm_model::run::{check, CheckOptions};
use hsm_model::{Column, Config, ErrorCode, Operation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The configurations whose exhaustive checks define the reachable triples: those of the
/// exhaustive campaign ([`crate::exhaustive::exhaustive_configs`]); the presets take minutes.
pub const COVERAGE_CONFIG: &str = "exhaustive";

/// The committed file of reachable triples, relative to the crate's directory.
pub const COVERAGE_FILE: &str = "coverage/exhaustive.json";

/// A triple as text: `CU Encrypt NoSuchKey`, `unauthenticated Login Ok`.
pub fn triple_text(t: &Triple) -> String {
    format!(
        "{} {} {}",
        t.0.label(),
        t.1.name(),
        t.2.map_or("Ok", ErrorCode::name)
    )
}

/// The triple of a text made by [`triple_text`].
pub fn parse_triple(text: &str) -> Option<Triple> {
    let mut parts = text.split(' ');
    let (c, o, r) = (parts.next()?, parts.next()?, parts.next()?);
    let column = Column::ALL.into_iter().find(|x| x.label() == c)?;
    let op = Operation::ALL.into_iter().find(|x| x.name() == o)?;
    let outcome = if r == "Ok" {
        None
    } else {
        Some(ErrorCode::from_name(r)?)
    };
    Some((column, op, outcome))
}

/// The committed coverage file's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageFile {
    /// The configuration checked.
    pub config: String,
    /// The triples, as text, sorted.
    pub triples: Vec<String>,
}

impl CoverageFile {
    /// The triples; an error names the first line that is no triple.
    pub fn set(&self) -> Result<BTreeSet<Triple>, Error> {
        self.triples
            .iter()
            .map(|t| {
                parse_triple(t).ok_or_else(|| {
                    Error::Usage(format!("`{t}` is no (role, operation, outcome) triple"))
                })
            })
            .collect()
    }
}

/// The reachable triples of the configurations, from their exhaustive model checks.
pub fn model_coverage(configs: &[Config]) -> Result<CoverageFile, Error> {
    let mut set = BTreeSet::new();
    for cfg in configs {
        let report = check(cfg, &CheckOptions::default())?;
        set.extend(report.coverage.iter().copied());
    }
    let mut triples: Vec<String> = set.iter().map(triple_text).collect();
    triples.sort();
    Ok(CoverageFile {
        config: COVERAGE_CONFIG.to_string(),
        triples,
    })
}

/// The committed reachable triples (compiled in). An unreadable file is an error, never an
/// empty set (which would make every campaign look complete).
pub fn committed() -> Result<CoverageFile, Error> {
    parse_coverage(include_str!("../coverage/exhaustive.json"))
        .map_err(|e| e.context(&format!("the committed coverage file {COVERAGE_FILE}")))
}

/// A coverage file's text, read and checked: every line a triple, at least one.
pub fn parse_coverage(text: &str) -> Result<CoverageFile, Error> {
    let file: CoverageFile = serde_json::from_str(text).map_err(|e| Error::Usage(e.to_string()))?;
    let set = file.set()?;
    if set.is_empty() {
        return Err("it lists no triple".into());
    }
    Ok(file)
}

/// Reachable triples of `file` a campaign did not reach.
pub fn missed(file: &CoverageFile, reached: &BTreeSet<Triple>) -> Vec<Triple> {
    file.set()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !reached.contains(t))
        .collect()
}
