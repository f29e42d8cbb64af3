//! Running the exhaustive check of a configuration and reporting on it: states, depth, time,
//! every property's verdict with a concrete path, and the permission-table cells seen.

use crate::action::Action;
use crate::checker::{properties, HsmModel, Triple};
use crate::config::Config;
use crate::table::{cell, Cell, Column, Row};
use crate::vocab::{ErrorCode, Families};
use serde::Serialize;
use stateright::{Checker, Model};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What a property is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// Must hold in every reachable state.
    Invariant,
    /// Must hold in some reachable state.
    Example,
}

/// A property's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// An invariant with no counterexample.
    Holds,
    /// An invariant with a counterexample.
    Violated,
    /// An example found.
    Found,
    /// An example not found, though its families are on: a failure.
    Missing,
    /// An example not found, with families it needs switched off.
    NotApplicable,
}

impl Verdict {
    /// Whether the verdict fails the check.
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Violated | Verdict::Missing)
    }
}

/// One property's result.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyResult {
    /// The property's stable id ([`properties::id`]).
    pub id: &'static str,
    /// The property, as a sentence.
    pub name: &'static str,
    /// Invariant or example.
    pub kind: Kind,
    /// Its verdict.
    pub verdict: Verdict,
    /// For a violation or an example: the concrete path from the setup state.
    pub path: Option<Vec<Action>>,
}

/// One cell of the permission table as the exploration saw it.
#[derive(Clone, Debug, Serialize)]
pub struct CellResult {
    /// The row.
    pub row: Row,
    /// The column.
    pub column: Column,
    /// The cell of SPEC §8.
    pub expected: Cell,
    /// Whether some explored transition succeeded for this column at an operation of the row.
    pub succeeded: bool,
    /// Whether some explored transition was refused (NotLoggedIn or Forbidden) for it.
    pub denied: bool,
}

impl CellResult {
    /// A Yes cell that succeeded somewhere, a No cell denied somewhere, or Not applicable.
    pub fn example_found(&self) -> bool {
        match self.expected {
            Cell::Yes => self.succeeded,
            Cell::No => self.denied,
            Cell::NotApplicable => true,
        }
    }
}

/// The report of one exhaustive check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The configuration checked.
    pub config: Config,
    /// Renamings tried per state by the symmetry reduction (1 without it).
    pub symmetry_group: usize,
    /// Checker threads.
    pub threads: usize,
    /// The checker used.
    pub engine: Engine,
    /// Unique states (representatives).
    pub unique_states: usize,
    /// States generated, repeats included.
    pub total_states: usize,
    /// The greatest depth explored.
    pub max_depth: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Whether the checker finished (false after a timeout).
    pub complete: bool,
    /// Every property.
    pub properties: Vec<PropertyResult>,
    /// Every cell of the table.
    pub cells: Vec<CellResult>,
    /// Whether the cell examples are required (a new cluster with every family).
    pub cells_required: bool,
    /// The (column, operation, outcome) triples seen.
    pub coverage: Vec<Triple>,
    /// This process's peak resident memory when the check ended (Linux `VmHWM`). It is the
    /// whole process's peak: run one check per process to measure one configuration.
    pub peak_memory_bytes: Option<u64>,
    /// The compact engine's own store of states at its peak: the fingerprint set, the parent
    /// table, and the packed states of the two adjacent levels it held at once.
    pub store_bytes: Option<u64>,
}

impl CheckReport {
    /// Whether the check failed: an invariant violated, an example of an enabled family
    /// missing, a required cell example missing, or the check cut short.
    pub fn failed(&self) -> bool {
        !self.complete
            || self.properties.iter().any(|p| p.verdict.is_failure())
            || (self.cells_required && self.cells.iter().any(|c| !c.example_found()))
    }

    /// The result of the property called `name`.
    pub fn property(&self, name: &str) -> Option<&PropertyResult> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// The checker that explores the states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Engine {
    /// stateright's breadth-first checker (threads, timeout).
    Stateright,
    /// The compact level-by-level checker of [`crate::explore`]: same states, same verdicts,
    /// a 24-byte table entry per state instead of a pending state with its path.
    Compact,
}

/// Options of a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Which checker explores the states.
    pub engine: Engine,
    /// Checker threads.
    pub threads: usize,
    /// Give up after this long (the report then says incomplete). With the stateright
    /// engine, `check` returns at the deadline but stateright's threads cannot be stopped:
    /// they run on until their search ends or the process exits.
    pub timeout: Option<Duration>,
    /// Called about every second with (unique states, total states, depth).
    pub progress: Option<fn(usize, usize, usize)>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            engine: Engine::Compact,
            threads: 1,
            timeout: None,
            progress: None,
        }
    }
}

/// Checks `cfg` exhaustively with stateright's BFS.
pub fn check(cfg: &Config, options: &CheckOptions) -> Result<CheckReport, crate::Error> {
    let model = HsmModel::new(cfg.clone())?;
    let start = Instant::now();
    let mut store_bytes = None;
    let (unique_states, total_states, max_depth, complete, discoveries) = match options.engine {
        Engine::Stateright => run_stateright(&model, options, start),
        Engine::Compact => {
            let progress = options.progress;
            let report = move |u: usize, t: usize, d: usize| {
                if let Some(p) = progress {
                    p(u, t, d)
                }
            };
            let e = crate::explore::explore(
                &model,
                &crate::explore::ExploreOptions {
                    threads: options.threads,
                    deadline: options.timeout.map(|t| start + t),
                    progress: Some(&report),
                },
            );
            store_bytes = Some((e.table_bytes + e.frontier_bytes) as u64);
            (
                e.unique_states,
                e.transitions,
                e.max_depth,
                e.complete,
                e.discoveries,
            )
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let mut results = Vec::new();
    for name in properties::INVARIANTS {
        let path = discoveries.get(name);
        results.push(PropertyResult {
            id: properties::id(name),
            name,
            kind: Kind::Invariant,
            verdict: if path.is_some() {
                Verdict::Violated
            } else {
                Verdict::Holds
            },
            path: path.map(|p| model.concretize(p)),
        });
    }
    for (name, families) in properties::EXAMPLES {
        let path = discoveries.get(name);
        let enabled =
            families.iter().all(|f| cfg.has(*f)) && properties::example_within_bounds(name, cfg);
        results.push(PropertyResult {
            id: properties::id(name),
            name,
            kind: Kind::Example,
            verdict: match (path.is_some(), enabled) {
                (true, _) => Verdict::Found,
                (false, true) => Verdict::Missing,
                (false, false) => Verdict::NotApplicable,
            },
            path: path.map(|p| model.concretize(p)),
        });
    }
    let coverage = model.coverage.triples();
    let cells = cells_from(&coverage);
    Ok(CheckReport {
        cells_required: cfg.setup.is_empty() && cfg.families == Families::all(),
        config: cfg.clone(),
        symmetry_group: model.symmetry_size(),
        threads: options.threads.max(1),
        engine: options.engine,
        unique_states,
        total_states,
        max_depth,
        seconds,
        complete,
        properties: results,
        cells,
        coverage,
        peak_memory_bytes: peak_memory_bytes(),
        store_bytes,
    })
}

/// The cells of the table as the triples show them.
pub fn cells_from(coverage: &[Triple]) -> Vec<CellResult> {
    let mut out = Vec::new();
    for row in Row::ALL {
        for column in Column::ALL {
            let ops: Vec<_> = row.operations().collect();
            let seen = |pred: &dyn Fn(Option<ErrorCode>) -> bool| {
                coverage
                    .iter()
                    .any(|(c, o, r)| *c == column && ops.contains(o) && pred(*r))
            };
            out.push(CellResult {
                row,
                column,
                expected: cell(row, column),
                succeeded: seen(&|r| r.is_none()),
                denied: seen(&|r| matches!(r, Some(ErrorCode::NotLoggedIn | ErrorCode::Forbidden))),
            });
        }
    }
    out
}

/// The peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

type Found = HashMap<&'static str, Vec<Action>>;

fn run_stateright(
    model: &HsmModel,
    options: &CheckOptions,
    start: Instant,
) -> (usize, usize, usize, bool, Found) {
    let mut builder = model.clone().checker().threads(options.threads.max(1));
    if let Some(t) = options.timeout {
        builder = builder.timeout(t);
    }
    let checker = builder.spawn_bfs();
    // Poll often so that the time measured is the checker's, report about twice a second.
    // stateright's BFS looks at its deadline only when a thread runs out of queued work, which
    // one thread never does before the end: past the deadline, stop waiting and report what it
    // has seen. Its threads then run on until the search ends or the process exits.
    let mut polls = 0u32;
    let mut timed_out = false;
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(10));
        polls += 1;
        if let Some(progress) = options.progress.filter(|_| polls.is_multiple_of(50)) {
            progress(
                checker.unique_state_count(),
                checker.state_count(),
                checker.max_depth(),
            );
        }
        if options.timeout.is_some_and(|t| start.elapsed() >= t) {
            timed_out = true;
            break;
        }
    }
    let checker = if timed_out { checker } else { checker.join() };
    let complete = !timed_out && options.timeout.is_none_or(|t| start.elapsed() < t);
    let discoveries = checker
        .discoveries()
        .into_iter()
        .map(|(k, p)| (k, p.into_actions()))
        .collect();
    (
        checker.unique_state_count(),
        checker.state_count(),
        checker.max_depth(),
        complete,
        discoveries,
    )
}
