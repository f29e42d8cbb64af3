//! `hsmspec table` and `hsmspec docs`: the parts of `docs/` that are generated from the model.
//!
//! - [`derive_table`]: the permission table of SPEC §8 *derived by exploring the model*: a cell
//!   is Yes when some reachable state lets a session of that column succeed at an operation of
//!   that row, No when every attempt was refused; only "Not applicable" comes from SPEC.
//! - [`generate`]: `docs/permissions.md`, `docs/properties.md` (every invariant and example,
//!   each example with the shortest path found, step by step) and `docs/traceability.md`
//!   (every SPEC rule and D-number → model function, property, tests, zoo faults).
//!
//! Nothing generated depends on timing, thread count or state counts, so the text changes
//! only when the spec (the model) does; `conformance/cli/tests/docs.rs` pins it with insta.

use crate::check::{ConfigArgs, SUITE};
use clap::{Args, ValueEnum};
use hsm_model::checker::properties as p;
use hsm_model::run::{self, CheckOptions, CheckReport, Verdict};
use hsm_model::table::{self, Cell, Column, Row};
use hsm_model::trace::{describe, Trace};
use hsm_model::{
    Action, Config, ErrorCode, HsmModel, Observation, Operation, Outcome, State, Triple,
};
use stateright::{Expectation, Model};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// ---- exploration --------------------------------------------------------------------------

/// The exhaustive checks a generated page is derived from.
#[derive(Clone, Debug)]
pub struct Exploration {
    /// One report per configuration, in the order given.
    pub reports: Vec<CheckReport>,
}

impl Exploration {
    /// Checks each configuration exhaustively (one checker thread each, the configurations
    /// in parallel; the results do not depend on the order they finish in).
    pub fn of(configs: Vec<Config>) -> Result<Exploration, String> {
        let results: Vec<Result<CheckReport, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = configs
                .iter()
                .map(|cfg| scope.spawn(move || run::check(cfg, &CheckOptions::default())))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("the checker panicked".into()))
                })
                .collect()
        });
        let reports = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(Exploration { reports })
    }

    /// The suite of `hsmspec check` ([`SUITE`]): accounts, lifecycle, keys, masking.
    pub fn suite() -> Result<Exploration, String> {
        Exploration::of(SUITE.iter().filter_map(|n| Config::preset(n)).collect())
    }

    /// The union of the (column, operation, outcome) triples seen, sorted and deduplicated.
    pub fn triples(&self) -> Vec<Triple> {
        let mut t: Vec<Triple> = self
            .reports
            .iter()
            .flat_map(|r| r.coverage.iter().copied())
            .collect();
        t.sort();
        t.dedup();
        t
    }

    /// The names of the configurations.
    pub fn names(&self) -> Vec<&str> {
        self.reports
            .iter()
            .map(|r| r.config.name.as_str())
            .collect()
    }

    /// Problems that make the exploration untrustworthy: a violated invariant, a check cut short.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.reports {
            if !r.complete {
                out.push(format!("`{}`: the check did not finish", r.config.name));
            }
            for prop in &r.properties {
                if prop.verdict == Verdict::Violated {
                    out.push(format!("`{}`: `{}` is violated", r.config.name, prop.name));
                }
            }
        }
        out
    }
}

// ---- the derived table --------------------------------------------------------------------

/// A cell of the table as exploration shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Derived {
    /// Some reachable state let a session of the column succeed at an operation of the row.
    Yes,
    /// No attempt succeeded, and some was refused for the role (NotLoggedIn or Forbidden).
    No,
    /// SPEC §8 says so (change own password, unauthenticated).
    NotApplicable,
    /// Within these bounds no attempt showed either (never in the suite: a test says so).
    NotReached,
}

impl Derived {
    /// The cell's text, as SPEC §8 writes cells.
    pub fn text(self) -> &'static str {
        match self {
            Derived::Yes => "Yes",
            Derived::No => "No",
            Derived::NotApplicable => "Not applicable",
            Derived::NotReached => "Not reached",
        }
    }

    /// Whether this is the cell SPEC §8 has.
    pub fn agrees_with(self, spec: Cell) -> bool {
        matches!(
            (self, spec),
            (Derived::Yes, Cell::Yes)
                | (Derived::No, Cell::No)
                | (Derived::NotApplicable, Cell::NotApplicable)
        )
    }
}

fn is_refusal(code: Option<ErrorCode>) -> bool {
    matches!(code, Some(ErrorCode::NotLoggedIn | ErrorCode::Forbidden))
}

/// The cell of `row` and `column` as the triples show it. Only Not applicable is read from
/// SPEC's table (`hsm_model::table::cell`); Yes and No come from the triples alone.
pub fn derive_cell(triples: &[Triple], row: Row, column: Column) -> Derived {
    if table::cell(row, column) == Cell::NotApplicable {
        return Derived::NotApplicable;
    }
    let ops: Vec<Operation> = row.operations().collect();
    let seen = |pred: &dyn Fn(Option<ErrorCode>) -> bool| {
        triples
            .iter()
            .any(|(c, o, r)| *c == column && ops.contains(o) && pred(*r))
    };
    if seen(&|r| r.is_none()) {
        Derived::Yes
    } else if seen(&is_refusal) {
        Derived::No
    } else {
        Derived::NotReached
    }
}

/// Every row of SPEC §8 with its cells in the order of [`Column::ALL`].
pub fn derive_table(triples: &[Triple]) -> Vec<(Row, [Derived; 5])> {
    Row::ALL
        .into_iter()
        .map(|row| (row, Column::ALL.map(|c| derive_cell(triples, row, c))))
        .collect()
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// The table as one JSON object: row label → (column → cell text), in SPEC order.
pub fn table_json(table: &[(Row, [Derived; 5])]) -> String {
    let rows: Vec<String> = table
        .iter()
        .map(|(row, cells)| {
            let cols: Vec<String> = Column::ALL
                .iter()
                .zip(cells)
                .map(|(c, d)| format!("{}: {}", json_string(c.label()), json_string(d.text())))
                .collect();
            format!("  {}: {{ {} }}", json_string(row.label()), cols.join(", "))
        })
        .collect();
    format!("{{\n{}\n}}\n", rows.join(",\n"))
}

/// The table in Markdown, SPEC §8's layout with the PRECO column first.
pub fn table_markdown(table: &[(Row, [Derived; 5])]) -> String {
    let mut out = String::from("| operation |");
    for c in Column::ALL {
        out.push_str(&format!(" {} |", c.label()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(Column::ALL.len()));
    out.push('\n');
    for (row, cells) in table {
        out.push_str(&format!("| {} |", row.label()));
        for d in cells {
            out.push_str(&format!(" {} |", d.text()));
        }
        out.push('\n');
    }
    out
}

/// One line per configuration: its shape, as the generated pages name it.
pub fn config_line(cfg: &Config) -> String {
    let names: Vec<&str> = ["admin", "app_user"]
        .into_iter()
        .chain(cfg.names.iter().map(String::as_str))
        .collect();
    let names = names.join(", ");
    format!(
        "`{}`: {} HSM(s), {} client(s), names {names}; {} key id(s); \
         policy: lockout after {}, {} user(s), {} key(s) per HSM, {} share(s) per key; \
         families {}; {}",
        cfg.name,
        cfg.hsms,
        cfg.clients,
        cfg.key_ids,
        cfg.policy.lockout_threshold,
        cfg.policy.max_users,
        cfg.policy.max_keys,
        cfg.policy.max_shares,
        cfg.families,
        if cfg.setup.is_empty() {
            "from a new cluster".to_string()
        } else {
            format!("after {} setup steps", cfg.setup.len())
        }
    )
}

fn derived_from(ex: &Exploration) -> String {
    let mut out = String::new();
    for r in &ex.reports {
        out.push_str(&format!("- {}\n", config_line(&r.config)));
    }
    out
}

// ---- `hsmspec table` ----------------------------------------------------------------------

/// The output format of `hsmspec table`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A Markdown table, with the configurations it was derived from.
    Markdown,
    /// One JSON object: row label → (column → cell text).
    Json,
}

/// `hsmspec table`.
#[derive(Args, Clone, Debug)]
pub struct TableArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    pub format: Format,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Runs `hsmspec table`: exit 0, 1 if the exploration violated an invariant or did not
/// finish (the table is printed all the same), 2 on bad options.
pub fn table(args: &TableArgs) -> ExitCode {
    let configs = match args.config.configs() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hsmspec table: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "exploring {} …",
        configs
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let ex = match Exploration::of(configs) {
        Ok(ex) => ex,
        Err(e) => {
            eprintln!("hsmspec table: {e}");
            return ExitCode::from(2);
        }
    };
    let derived = derive_table(&ex.triples());
    match args.format {
        Format::Json => {
            // stdout is exactly the object; what it was derived from goes to stderr.
            eprintln!("derived by exploring the model over (No means: not within these bounds):");
            eprint!("{}", derived_from(&ex));
            print!("{}", table_json(&derived));
        }
        Format::Markdown => {
            println!("{}", table_markdown(&derived));
            println!(
                "Derived by exploring every reachable state of the model over these \
                 configurations; `No` means: not within these bounds."
            );
            println!();
            print!("{}", derived_from(&ex));
        }
    }
    let problems = ex.problems();
    for m in &problems {
        eprintln!("hsmspec table: {m}");
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

// ---- generated pages ----------------------------------------------------------------------

const GENERATED: &str = "<!-- Generated by `hsmspec docs` from the model: do not edit. \
`hsmspec docs` rewrites it; `hsmspec docs --check` and `cargo test -p hsm-conformance --test docs` \
fail when it is stale. -->\n\n";

/// `docs/permissions.md`.
pub fn permissions_page(ex: &Exploration) -> String {
    let triples = ex.triples();
    let derived = derive_table(&triples);
    let mut out = String::from(GENERATED);
    out.push_str("# The permission table, derived from the model\n\n");
    out.push_str(
        "This table is not typed in. `hsmspec table` (and `hsmspec docs`, which writes this \
         page) checks the model exhaustively over the configurations listed below and reads \
         the answers sessions actually got:\n\n\
         - **Yes**: some reachable state lets a session of that column succeed (Ok) at some \
         operation of the row;\n\
         - **No**: no attempt succeeded, and some attempt was refused for the role \
         (`NotLoggedIn` for an unauthenticated session, `Forbidden` for a role). \
         **No means: not within these bounds**;\n\
         - **Not applicable**: SPEC §8 says so (an unauthenticated session has no own \
         password); this is the only cell taken from SPEC's text.\n\n\
         A test (`conformance/cli/tests/docs.rs`) holds every cell against SPEC §8 \
         (`hsm_model::table::cell`); the checker separately holds every Ok outcome against \
         that table on every explored transition (see [properties.md](properties.md)).\n\n",
    );
    out.push_str(&table_markdown(&derived));
    out.push_str(
        "\nDerived from these configurations (see [model.md](model.md#bounds-and-limits)):\n\n",
    );
    out.push_str(&derived_from(ex));

    out.push_str("\n## Per operation\n\n");
    out.push_str(
        "The same exploration, one operation at a time: `Ok` where some session of the column \
         succeeded, otherwise the refusal it got (`NotLoggedIn`, `Forbidden`), `only` an error \
         where every attempt answered that other error (a logged-in session's Login), `—` \
         where no attempt was made. A row of the table is an upper bound: Clone, in the masked-objects \
         row, is the AU's alone.\n\n",
    );
    out.push_str("| row | operation |");
    for c in Column::ALL {
        out.push_str(&format!(" {} |", c.label()));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(Column::ALL.len()));
    out.push('\n');
    for op in Operation::ALL {
        let row = Row::of(op).map_or("(sessions)", |r| r.label());
        out.push_str(&format!("| {row} | {op} |"));
        for c in Column::ALL {
            let mine = |pred: &dyn Fn(Option<ErrorCode>) -> bool| {
                triples
                    .iter()
                    .filter(|(tc, to, tr)| *tc == c && *to == op && pred(*tr))
                    .map(|t| t.2)
                    .next()
            };
            let text = if mine(&|r| r.is_none()).is_some() {
                "Ok".to_string()
            } else if let Some(Some(code)) = mine(&is_refusal) {
                code.name().to_string()
            } else if let Some(Some(code)) = mine(&|r| r.is_some()) {
                format!("only {code}")
            } else {
                "—".to_string()
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }

    out.push_str("\n## Errors each operation answered\n\n");
    out.push_str(
        "Every error code some session got from the operation in the exploration, in SPEC \
         order (see [operations.md](operations.md) for the order in which they are checked).\n\n",
    );
    out.push_str("| operation | errors reached |\n|---|---|\n");
    for op in Operation::ALL {
        let codes: Vec<&str> = ErrorCode::ALL
            .iter()
            .filter(|code| triples.iter().any(|t| t.1 == op && t.2 == Some(**code)))
            .map(|code| code.name())
            .collect();
        let codes = if codes.is_empty() {
            "none".to_string()
        } else {
            codes.join(", ")
        };
        out.push_str(&format!("| {op} | {codes} |\n"));
    }
    let unreached: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|code| !triples.iter().any(|t| t.2 == Some(**code)))
        .map(|code| code.name())
        .collect();
    out.push_str(&format!(
        "\nError codes reached: {} of {}{}.\n",
        ErrorCode::ALL.len() - unreached.len(),
        ErrorCode::ALL.len(),
        if unreached.is_empty() {
            String::new()
        } else {
            format!(" (not reached: {})", unreached.join(", "))
        }
    ));
    out
}

/// A short text for an outcome, for the step-by-step paths.
pub fn outcome_text(cfg: &Config, outcome: &Outcome) -> String {
    let obs = match outcome {
        Err(code) => return code.name().to_string(),
        Ok(o) => o,
    };
    match obs {
        Observation::Done => "Ok".into(),
        Observation::LoggedIn(role) => format!("Ok, logged in as {role}"),
        Observation::ClusterInfo { activated, blank } => format!(
            "Ok, {}; blank HSMs: {:?}",
            if *activated { "active" } else { "unactivated" },
            blank
                .iter()
                .enumerate()
                .filter(|(_, b)| **b)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        ),
        Observation::Users(users) => {
            let list: Vec<String> = users
                .iter()
                .map(|u| {
                    format!(
                        "{} ({}{})",
                        cfg.stored_name(u.name),
                        u.role,
                        if u.locked { ", locked" } else { "" }
                    )
                })
                .collect();
            format!("Ok: {}", list.join(", "))
        }
        Observation::SyncStatus(records) => format!("Ok, {} digest(s)", records.len()),
        Observation::Masked(_) => "Ok, a masked object".into(),
        Observation::Key(id) => format!("Ok, key {}", id.0),
        Observation::Wrapped(_) => "Ok, wrapped bytes".into(),
        Observation::Ciphertext(_) => "Ok, a ciphertext".into(),
        Observation::Plaintext(d) => format!("Ok, plaintext {:?}", cfg.data_text(*d)),
        Observation::Signature(_) => "Ok, a signature".into(),
        Observation::Verified(v) => format!("Ok, {}", if *v { "valid" } else { "not valid" }),
        Observation::Mac { .. } => "Ok, a tag".into(),
        Observation::Digest(_) => "Ok, a digest".into(),
    }
}

/// An example's name and, if reached, a path to it (concrete actions from the setup state).
pub type ExamplePath = (&'static str, Option<Vec<Action>>);

/// An example's name and, if reached, its shortest trace from a new cluster with the model's
/// outcomes, and how many of its first steps are setup.
pub type ExampleTrace = (&'static str, Option<(Trace, usize)>);

/// For each example (sometimes property) of `cfg`, a shortest path from the setup state to a
/// state where it holds, as concrete actions; `None` for an example not reached.
///
/// stateright's BFS keeps, for a sometimes property, the path of the *last* state it saw the
/// property hold in (it overwrites its discovery at every such state), so the paths of
/// `CheckReport::properties` are real but not short. This is a plain BFS over the same model
/// (`HsmModel`'s actions and representative states) that stops at the first state of each.
pub fn shortest_example_paths(cfg: &Config) -> Result<Vec<ExamplePath>, String> {
    let model = HsmModel::new(cfg.clone())?;
    let properties = model.properties();
    let wanted: Vec<usize> = (0..properties.len())
        .filter(|&i| properties[i].expectation == Expectation::Sometimes)
        .collect();
    let mut found: Vec<Option<usize>> = vec![None; properties.len()];
    // Node i: its state, and the (parent node, action) that first reached it.
    let mut nodes: Vec<(State, Option<(usize, Action)>)> = Vec::new();
    let mut seen: HashSet<State> = HashSet::new();
    for s in model.init_states() {
        if seen.insert(s) {
            nodes.push((s, None));
        }
    }
    let mut actions = Vec::new();
    let mut next = 0;
    while next < nodes.len() && wanted.iter().any(|&i| found[i].is_none()) {
        let state = nodes[next].0;
        for &i in &wanted {
            if found[i].is_none() && (properties[i].condition)(&model, &state) {
                found[i] = Some(next);
            }
        }
        actions.clear();
        model.actions(&state, &mut actions);
        for a in actions.drain(..) {
            if let Some(n) = model.next_state(&state, a) {
                if seen.insert(n) {
                    nodes.push((n, Some((next, a))));
                }
            }
        }
        next += 1;
    }
    Ok(wanted
        .iter()
        .map(|&i| {
            let path = found[i].map(|mut node| {
                let mut canonical = Vec::new();
                while let Some((parent, a)) = nodes[node].1 {
                    canonical.push(a);
                    node = parent;
                }
                canonical.reverse();
                model.concretize(&canonical)
            });
            (properties[i].name, path)
        })
        .collect())
}

/// The example paths: for each example, the shortest trace from a new cluster (setup steps
/// included) over the configurations, with the model's outcomes; ties go to the earlier
/// configuration. Also: the configurations the checker found it in.
pub fn shortest_examples(ex: &Exploration) -> Result<Vec<ExampleTrace>, String> {
    let mut paths = Vec::new();
    for r in &ex.reports {
        paths.push((&r.config, shortest_example_paths(&r.config)?));
    }
    Ok(p::EXAMPLES
        .iter()
        .map(|(name, _)| {
            let best = paths
                .iter()
                .filter_map(|(cfg, found)| {
                    let path = found.iter().find(|(n, _)| n == name)?.1.as_ref()?;
                    let trace = Trace::from_actions(name, cfg, path);
                    Some((trace, cfg.setup.len()))
                })
                .min_by_key(|(t, _)| t.steps.len());
            (*name, best)
        })
        .collect())
}

/// The examples that are hazards: behaviour the model exhibits on purpose (SPEC §7).
pub const HAZARDS: [(&str, &str); 5] = [
    (
        p::DELETED_KEY_REVIVED,
        "D9: there are no tombstones; whoever keeps a masked object can undo a deletion.",
    ),
    (
        p::ALL_COS_LOCKED,
        "lockout is per user per HSM and nobody can unlock the last CO: only zeroize (and a \
         clone from another HSM) gives the HSM back.",
    ),
    (
        p::ALL_ZEROIZED,
        "D3: anyone may zeroize, even unauthenticated; with every HSM zeroized every key is gone.",
    ),
    (
        p::MATERIAL_COPIED_BY_UNWRAP,
        "D10: the classic wrap/unwrap extraction; sharing an AES key shares the power to import \
         what is wrapped under it.",
    ),
    (
        p::KEY_PASSES_TO_NEW_NAMESAKE,
        "D12: owners are names; a replayed masked object goes to whoever holds the name now.",
    ),
];

fn render_trace(out: &mut String, trace: &Trace, setup: usize) {
    for (i, step) in trace.steps.iter().enumerate() {
        let outcome = step
            .outcome
            .as_ref()
            .map(|o| outcome_text(&trace.config, o))
            .unwrap_or_default();
        out.push_str(&format!(
            "{}. {}{} → {outcome}\n",
            i + 1,
            if i < setup { "(setup) " } else { "" },
            describe(&trace.config, &step.action)
        ));
    }
}

/// `docs/properties.md`.
pub fn properties_page(ex: &Exploration) -> Result<String, String> {
    let mut out = String::from(GENERATED);
    out.push_str("# Properties\n\n");
    out.push_str(&format!(
        "SPEC §7 as the checker states it. `hsmspec check` explores every reachable state of \
         each configuration of its suite ({}) and checks every property there. An \
         **invariant** must hold in every reachable state; an **example** must be reached in \
         some state, which also shows that the model is not vacuous. Each example below is \
         shown with the shortest path the checker found over the suite (setup steps \
         included and marked), as `client @ HSM: operation → outcome`. Paths are shortest over \
         the checker's representative states; the history a hazard needs (a deleted key, a \
         deleted name) is ghost state outside a state's identity (D21), so a hazard's path may \
         take a detour to reach a state not seen before.\n\n",
        ex.names().join(", ")
    ));
    out.push_str("## Invariants (always)\n\n| invariant | verdict |\n|---|---|\n");
    for name in p::INVARIANTS {
        let verdicts: Vec<String> = ex
            .reports
            .iter()
            .map(|r| {
                let v = r.property(name).map(|x| x.verdict);
                format!(
                    "{} in `{}`",
                    match v {
                        Some(Verdict::Holds) => "holds",
                        Some(Verdict::Violated) => "VIOLATED",
                        _ => "?",
                    },
                    r.config.name
                )
            })
            .collect();
        out.push_str(&format!("| {name} | {} |\n", verdicts.join(", ")));
    }
    out.push_str(
        "\nThe first, fourth and fifth are checked on every explored transition (an Ok the \
         table does not allow, a CU succeeding on a key it cannot use, or a key changing \
         owner sets a sticky flag in the state); the others on every reachable state. Each \
         invariant is broken on purpose by a fault planted in `step` \
         (`model/src/tests/planted.rs`), so none of them holds vacuously.\n",
    );
    out.push_str("\n## Examples (sometimes)\n\n");
    for (name, best) in shortest_examples(ex)? {
        out.push_str(&format!("### {name}\n\n"));
        if let Some((_, why)) = HAZARDS.iter().find(|(h, _)| *h == name) {
            out.push_str(&format!("A **hazard**, exhibited on purpose: {why}\n\n"));
        }
        let found_in: Vec<&str> = ex
            .reports
            .iter()
            .filter(|r| {
                r.property(name)
                    .is_some_and(|x| x.verdict == Verdict::Found)
            })
            .map(|r| r.config.name.as_str())
            .collect();
        match best {
            Some((trace, setup)) => {
                out.push_str(&format!(
                    "Found in {}. Shortest: {} steps in `{}` ({setup} of them setup):\n\n",
                    found_in
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    trace.steps.len(),
                    trace.config.name,
                ));
                render_trace(&mut out, &trace, setup);
                out.push('\n');
            }
            None => out.push_str("**Not found in the suite.**\n\n"),
        }
    }
    let cells = run::cells_from(&ex.triples());
    let shown = cells.iter().filter(|c| c.example_found()).count();
    out.push_str(&format!(
        "### every Yes cell of the table succeeds somewhere, and every No cell is denied somewhere\n\n\
         {shown} of {} cells shown (the suite together); the cells are in \
         [permissions.md](permissions.md).\n",
        cells.len()
    ));
    Ok(out)
}

// ---- traceability -------------------------------------------------------------------------

/// One line of the traceability table: a rule of SPEC or a decision, and what covers it.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// The SPEC section or D-number, and the rule in a few words.
    pub rule: &'static str,
    /// Model items implementing it: (file under `model/src/`, function or type name).
    pub model: &'static [(&'static str, &'static str)],
    /// Properties checking it (sentences of `hsm_model::checker::properties`).
    pub properties: &'static [&'static str],
    /// Tests covering it: (file, test function name).
    pub tests: &'static [(&'static str, &'static str)],
    /// Faults of `hsm-impl`'s fault zoo whose detection shows it (`Fault` variant names).
    pub faults: &'static [&'static str],
}

const EXH: &str = "model/tests/exhaustive.rs";
const PLANTED: &str = "model/src/tests/planted.rs";
const ENGINE: &str = "model/src/tests/engine.rs";
const SCALE: &str = "conformance/cli/tests/scale.rs";
const ZOO: &str = "conformance/cli/tests/zoo.rs";
const CEXH: &str = "conformance/tests/exhaustive.rs";
const CDOCS: &str = "conformance/cli/tests/docs.rs";
const TRACES: &str = "conformance/tests/traces.rs";
const CZOO: &str = "conformance/tests/fault_zoo.rs";
const NAMES: &str = "model/tests/names.rs";
const FLAKY: &str = "conformance/tests/flaky.rs";
const VERDICTS: &str = "conformance/cli/tests/verdicts.rs";

/// The traceability table, by hand: every test checks that each name cited exists.
pub const LINKS: &[Link] = &[
    Link {
        rule: "§1 PRECO `admin`/`password` only on HSM 0 of a new cluster",
        model: &[("state.rs", "new_cluster")],
        properties: &[p::PRECO_ONLY_ON_HSM0_UNACTIVATED],
        tests: &[(EXH, "accounts"), (PLANTED, "a_preco_surviving_activation_is_caught")],
        faults: &["PrecoSurvivesActivation"],
    },
    Link {
        rule: "§1 AU on every HSM from the start; nobody creates, deletes it or changes its password",
        model: &[
            ("state.rs", "new_cluster"),
            ("step.rs", "create_user"),
            ("step.rs", "delete_user"),
            ("step.rs", "change_password"),
        ],
        properties: &[p::BLANK_HSM_HOLDS_ONLY_AU],
        tests: &[(EXH, "accounts"), (CEXH, "exhaustive_users")],
        faults: &["CloneCopiesAu"],
    },
    Link {
        rule: "§1 a session is bound to one HSM; its role is its user's current role, read at every step",
        model: &[("state.rs", "session_role"), ("step.rs", "caller")],
        properties: &[p::OK_ALLOWED_BY_TABLE, p::NO_SESSION_OF_GONE_USER],
        tests: &[(PLANTED, "deleting_a_logged_in_user_is_caught"), (EXH, "accounts")],
        faults: &["DeletedUserStaysLoggedIn", "ZeroizeKeepsSessions"],
    },
    Link {
        rule: "D1 activation: the PRECO changing its password becomes a CO; active for good",
        model: &[("step.rs", "change_own_password")],
        properties: &[p::ACTIVATION, p::PRECO_ONLY_ON_HSM0_UNACTIVATED],
        tests: &[(EXH, "accounts"), (PLANTED, "a_preco_surviving_activation_is_caught")],
        faults: &["PrecoSurvivesActivation"],
    },
    Link {
        rule: "D2 clone: the AU copies users and keys onto a blank HSM, only when active",
        model: &[("step.rs", "clone_hsm")],
        properties: &[p::SHARED_KEY_USED_ON_CLONE, p::BLANK_HSM_HOLDS_ONLY_AU],
        tests: &[(EXH, "lifecycle"), (EXH, "masking"), (CEXH, "exhaustive_fresh")],
        faults: &["CloneWhileUnactivated", "CloneCopiesAu"],
    },
    Link {
        rule: "D3 zeroize: anyone; keys and users but the AU gone, counters cleared, sessions out",
        model: &[("step.rs", "zeroize")],
        properties: &[p::ALL_ZEROIZED, p::BLANK_HSM_HOLDS_ONLY_AU, p::NO_SESSION_OF_GONE_USER],
        tests: &[(PLANTED, "zeroize_keeping_keys_is_caught"), (CEXH, "exhaustive_zeroize")],
        faults: &["ZeroizeKeepsKeys", "ZeroizeKeepsSessions"],
    },
    Link {
        rule: "§3 check order: NotLoggedIn → Forbidden → the operation's own checks in order",
        model: &[("step.rs", "caller"), ("step.rs", "callers")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[
            (EXH, "the_concerns_together_reach_every_code_and_every_cell"),
            (CEXH, "exhaustive_users"),
        ],
        faults: &["ChecksOutOfOrder", "UnauthenticatedSyncStatus"],
    },
    Link {
        rule: "§3 nothing changes on an error, but a failed Login's counter",
        model: &[("step.rs", "step")],
        properties: &[],
        tests: &[
            (CEXH, "exhaustive_users"),
            (CEXH, "exhaustive_keys"),
            (CZOO, "errors_change_nothing_on_their_own"),
        ],
        faults: &["LockoutOneLate", "ErrorLeavesPartialEffect"],
    },
    Link {
        rule: "§3–§4 Login: checks in order, counter per user per HSM, lockout at the threshold, success resets",
        model: &[("step.rs", "login")],
        properties: &[p::ALL_COS_LOCKED],
        tests: &[(EXH, "accounts"), (CEXH, "exhaustive_users")],
        faults: &["LockoutOneLate", "SuccessDoesNotResetCounter"],
    },
    Link {
        rule: "§3 ChangePassword (CO): unlocks; not the AU; not a logged-in target",
        model: &[("step.rs", "change_password")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[(CEXH, "exhaustive_users")],
        faults: &["ChangePasswordOfLoggedInUser"],
    },
    Link {
        rule: "§3 CreateUser (CO): name, role, password, exists, user limit (AU counts)",
        model: &[("step.rs", "create_user")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[(PLANTED, "a_cu_creating_users_breaks_the_table"), (CEXH, "exhaustive_users")],
        faults: &["CuMayCreateUsers", "ChecksOutOfOrder", "UserLimitIgnoresAu"],
    },
    Link {
        rule: "§3 DeleteUser (CO): not protected, not logged in (the caller included), owns no keys",
        model: &[("step.rs", "delete_user")],
        properties: &[
            p::OWNERS_AND_SHARES_ARE_CUS,
            p::NO_SESSION_OF_GONE_USER,
            p::ACTIVE_HSM_HAS_CO,
        ],
        tests: &[
            (PLANTED, "deleting_a_user_that_owns_keys_is_caught"),
            (PLANTED, "deleting_a_logged_in_user_is_caught"),
            (PLANTED, "a_co_deleting_itself_is_caught"),
        ],
        faults: &["DeleteUserWithKeys", "DeletedUserStaysLoggedIn"],
    },
    Link {
        rule: "D4 ListUsers: read-only, everyone",
        model: &[("step.rs", "list_users")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[(CDOCS, "the_derived_table_is_spec_section_8")],
        faults: &[],
    },
    Link {
        rule: "D5 GetSyncStatus: the PRECO may, read-only",
        model: &[("step.rs", "callers"), ("step.rs", "get_sync_status")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[(CDOCS, "the_derived_table_is_spec_section_8")],
        faults: &["UnauthenticatedSyncStatus"],
    },
    Link {
        rule: "D6 ExtractMasked: CO and AU any key, a CU only keys it owns",
        model: &[("step.rs", "extract_masked")],
        properties: &[p::KEY_USE_NEEDS_ACCESS],
        tests: &[(EXH, "masking"), (CEXH, "exhaustive_masking")],
        faults: &["ExtractIgnoresOwnership"],
    },
    Link {
        rule: "D7 key access: NoSuchKey unless owned or shared; NotOwner for owner-only; a CO never uses keys",
        model: &[("step.rs", "usable"), ("step.rs", "owned")],
        properties: &[p::KEY_USE_NEEDS_ACCESS, p::OK_ALLOWED_BY_TABLE],
        tests: &[(PLANTED, "encrypting_without_access_is_caught"), (CEXH, "exhaustive_keys")],
        faults: &["SharedUserMayDeleteKey", "CoMayUseKeys"],
    },
    Link {
        rule: "D8 one signing key object holds both halves",
        model: &[("step.rs", "sign"), ("step.rs", "verify")],
        properties: &[],
        tests: &[(EXH, "keys"), (CEXH, "exhaustive_keys")],
        faults: &[],
    },
    Link {
        rule: "§3 key ids: one cluster-wide counter from 1, never reused (zeroize does not reset it)",
        model: &[("step.rs", "new_key_id")],
        properties: &[p::OWNER_NEVER_CHANGES],
        tests: &[(CEXH, "exhaustive_zeroize")],
        faults: &["KeyIdReusedAfterZeroize"],
    },
    Link {
        rule: "§3 ShareKey / UnshareKey: owner only, CUs only, not the owner, share limit",
        model: &[("step.rs", "share_key"), ("step.rs", "unshare_key")],
        properties: &[p::OWNERS_AND_SHARES_ARE_CUS],
        tests: &[(PLANTED, "a_share_limit_not_enforced_is_caught"), (CEXH, "exhaustive_keys")],
        faults: &["ShareLimitOneHigh"],
    },
    Link {
        rule: "§3 WrapKey / UnwrapKey: owner and extractable to wrap; AES wrapping key; new key, no shares",
        model: &[("step.rs", "wrap_key"), ("step.rs", "unwrap_key")],
        properties: &[p::KEY_USE_NEEDS_ACCESS],
        tests: &[(EXH, "keys"), (CEXH, "exhaustive_keys")],
        faults: &["WrapIgnoresExtractable", "UnwrapKeepsShares"],
    },
    Link {
        rule: "§3 crypto outcomes depend on material, not ids (Encrypt, Decrypt, Sign, Verify, Hmac)",
        model: &[("step.rs", "encrypt"), ("step.rs", "decrypt"), ("step.rs", "hmac")],
        properties: &[p::KEY_USE_NEEDS_ACCESS],
        tests: &[(CEXH, "exhaustive_keys"), (CEXH, "exhaustive_zeroize")],
        faults: &["CoMayUseKeys"],
    },
    Link {
        rule: "§5 masked objects: only this cluster's, untampered; owner and shares unchanged",
        model: &[("step.rs", "insert_masked")],
        properties: &[p::OWNER_NEVER_CHANGES, p::OWNERS_AND_SHARES_ARE_CUS],
        tests: &[(PLANTED, "insert_changing_the_owner_is_caught"), (CEXH, "exhaustive_masking")],
        faults: &["ForeignMaskedAccepted", "InsertChangesOwner"],
    },
    Link {
        rule: "D9 no tombstones: a replayed masked object brings a deleted key back (hazard)",
        model: &[("step.rs", "insert_masked"), ("step.rs", "delete_key")],
        properties: &[p::DELETED_KEY_REVIVED],
        tests: &[(EXH, "masking"), (TRACES, "committed_traces_replay_without_divergence")],
        faults: &[],
    },
    Link {
        rule: "D10 unwrap copies material to the caller (hazard: wrap/unwrap extraction)",
        model: &[("step.rs", "unwrap_key")],
        properties: &[p::MATERIAL_COPIED_BY_UNWRAP],
        tests: &[(EXH, "keys"), (TRACES, "checker_paths_replay_without_divergence")],
        faults: &["UnwrapKeepsShares"],
    },
    Link {
        rule: "D11 §6 sync status: one digest per key; reveals the count",
        model: &[("step.rs", "get_sync_status")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_masking"), (CEXH, "exhaustive_fresh")],
        faults: &[],
    },
    Link {
        rule: "D12 a replayed masked object passes to a new user of a deleted owner's name (hazard)",
        model: &[("step.rs", "insert_masked")],
        properties: &[p::KEY_PASSES_TO_NEW_NAMESAKE],
        tests: &[(EXH, "masking")],
        faults: &[],
    },
    Link {
        rule: "§7 a non-blank HSM of an active cluster always holds a CO",
        model: &[("step.rs", "delete_user")],
        properties: &[p::ACTIVE_HSM_HAS_CO],
        tests: &[(PLANTED, "a_co_deleting_itself_is_caught")],
        faults: &[],
    },
    Link {
        rule: "§8 the permission table (and the PRECO's column)",
        model: &[("table.rs", "cell"), ("step.rs", "callers")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[
            (CDOCS, "the_derived_table_is_spec_section_8"),
            (EXH, "the_concerns_together_reach_every_code_and_every_cell"),
            (PLANTED, "a_cu_creating_users_breaks_the_table"),
        ],
        faults: &["CuMayCreateUsers", "UnauthenticatedSyncStatus", "CoMayUseKeys"],
    },
    Link {
        rule: "D13 Login checks no syntax; an unknown name counts against nobody",
        model: &[("step.rs", "login")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_users")],
        faults: &["LoginRevealsUnknownName"],
    },
    Link {
        rule: "D14 the AU can be locked out; only zeroize clears its counter",
        model: &[("step.rs", "login"), ("step.rs", "zeroize")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_fresh")],
        faults: &[],
    },
    Link {
        rule: "D15 objects no HSM produced are rejected like tampered ones",
        model: &[
            ("step.rs", "insert_masked"),
            ("step.rs", "unwrap_key"),
            ("step.rs", "decrypt"),
        ],
        properties: &[],
        tests: &[(CEXH, "exhaustive_keys"), (CEXH, "exhaustive_masking")],
        faults: &["ForeignMaskedAccepted"],
    },
    Link {
        rule: "D16 Verify answers Ok(not valid) for any wrong or malformed signature",
        model: &[("step.rs", "verify")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_keys")],
        faults: &[],
    },
    Link {
        rule: "D17 clone keeps the target's own AU; other users copied with their counters",
        model: &[("step.rs", "clone_hsm")],
        properties: &[p::BLANK_HSM_HOLDS_ONLY_AU],
        tests: &[(CEXH, "exhaustive_fresh")],
        faults: &["CloneCopiesAu"],
    },
    Link {
        rule: "D18 zeroize of a blank HSM succeeds",
        model: &[("step.rs", "zeroize")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_fresh")],
        faults: &[],
    },
    Link {
        rule: "D19 ChangePassword of the CO's own name clears its counter; ChangeOwnPassword never does",
        model: &[("step.rs", "change_password"), ("step.rs", "change_own_password")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_users")],
        faults: &["ChangeOwnPasswordUnlocks"],
    },
    Link {
        rule: "D20 CreateUser with the AU's or the PRECO's role is InvalidRole",
        model: &[("step.rs", "create_user")],
        properties: &[],
        tests: &[(EXH, "the_concerns_together_reach_every_code_and_every_cell")],
        faults: &[],
    },
    Link {
        rule: "D21 hazard history is ghost state outside the state's identity",
        model: &[("state.rs", "HsmGhost")],
        properties: &[p::DELETED_KEY_REVIVED, p::KEY_PASSES_TO_NEW_NAMESAKE],
        tests: &[(EXH, "symmetry_reduction_agrees_with_the_full_state_space")],
        faults: &[],
    },
    Link {
        rule: "D22 model bounds: the default configuration locks on the first failure",
        model: &[("config.rs", "default_config")],
        properties: &[p::ALL_COS_LOCKED],
        tests: &[],
        faults: &[],
    },
    Link {
        rule: "D23 hsm-impl's audit log: CO only; zeroize keeps only its own record (not in the model)",
        model: &[],
        properties: &[],
        tests: &[],
        faults: &[],
    },
    Link {
        rule: "D24 symmetry: least renaming among those that sort names by signature",
        model: &[("symmetry.rs", "Symmetry")],
        properties: &[],
        tests: &[
            (EXH, "symmetry_reduction_agrees_with_the_full_state_space"),
            (EXH, "the_compact_engine_agrees_with_stateright"),
        ],
        faults: &[],
    },
    Link {
        rule: "D25 the compact engine by default, held to stateright's; guards before effects",
        model: &[("explore.rs", "explore"), ("checker.rs", "for_each_successor")],
        properties: &[],
        tests: &[
            (EXH, "the_compact_engine_agrees_with_stateright"),
            (ENGINE, "errors_leave_the_state_untouched_before_the_restore"),
            (ENGINE, "the_packed_encoding_gives_back_the_whole_state"),
        ],
        faults: &[],
    },
    Link {
        rule: "D26 the scaling study: each bound of masking on its own, one run per process (not in the model)",
        model: &[],
        properties: &[],
        tests: &[(SCALE, "unique_states_grow_with_names_and_are_plotted")],
        faults: &[],
    },
    Link {
        rule: "§3–§4 D27 names: lower-cased, then validated, in one place; stored, compared and sorted lower-case; traces record the spelling sent",
        model: &[
            ("config.rs", "user_named"),
            ("config.rs", "stored_name"),
            ("step.rs", "list_users"),
        ],
        properties: &[],
        tests: &[
            (NAMES, "two_spellings_are_one_user"),
            (NAMES, "list_users_sorts_by_the_lower_cased_name"),
            (NAMES, "spellings_add_no_state"),
            (CEXH, "exhaustive_users"),
            (TRACES, "committed_traces_replay_without_divergence"),
        ],
        faults: &["NamesNotLowerCased"],
    },
    Link {
        rule: "D28 a failing trace is re-run on fresh systems; one that does not fail at the same step every time is FAIL (flaky), saved unshrunk with every run; only what reproduces is shrunk (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (FLAKY, "a_system_wrong_now_and_then_is_flaky_on_every_seed"),
            (FLAKY, "a_system_wrong_once_in_its_lifetime_is_flaky"),
            (FLAKY, "a_panic_in_the_system_is_a_shrunk_failure"),
            (ZOO, "a_flaky_implementation_fails"),
        ],
        faults: &[],
    },
    Link {
        rule: "D29 one verdict per command (PASS, FAIL, INCOMPLETE), whatever the output format; exit 0, 1, or 2 for usage and unreadable input only (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (VERDICTS, "check_gives_the_same_verdict_in_text_and_json"),
            (VERDICTS, "replay_replays_every_file"),
        ],
        faults: &[],
    },
    Link {
        rule: "D30 a process under test runs in its own process group, killed and reaped whatever happens (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (ZOO, "a_slow_but_right_implementation_passes"),
            (ZOO, "replay_against_a_hanging_implementation"),
            (ZOO, "an_interrupted_run_leaves_nothing_behind"),
        ],
        faults: &[],
    },
];

fn code_list(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    if v.is_empty() {
        "—".into()
    } else {
        v.join(", ")
    }
}

/// `docs/traceability.md`.
pub fn traceability_page() -> String {
    let mut out = String::from(GENERATED);
    out.push_str("# Traceability\n\n");
    out.push_str(
        "Every rule of SPEC and every decision (D1–D12 of SPEC, D13 on the project's, see \
         [decisions.md](decisions.md)) → the model function that implements it, the property \
         of the checker that checks it ([properties.md](properties.md)), the tests that cover \
         it, and the faults of `hsm-impl`'s fault zoo (`impl/src/fault.rs`) whose detection \
         shows it (the conformance runner catches every zoo fault, random and exhaustive \
         campaigns alike: `conformance/tests/fault_zoo.rs`). The mapping is written by hand in \
         `conformance/cli/src/docs.rs`; `conformance/cli/tests/docs.rs` checks that every function, \
         test and fault it cites exists.\n\n",
    );
    out.push_str("| rule | model | properties | tests | zoo faults |\n|---|---|---|---|---|\n");
    for l in LINKS {
        let model = code_list(
            l.model
                .iter()
                .map(|(f, n)| format!("[`{n}`](../model/src/{f})")),
        );
        let props = code_list(l.properties.iter().map(|s| s.to_string()));
        let tests = code_list(l.tests.iter().map(|(f, n)| format!("[`{n}`](../{f})")));
        let faults = code_list(l.faults.iter().map(|f| format!("`{f}`")));
        out.push_str(&format!(
            "| {} | {model} | {props} | {tests} | {faults} |\n",
            l.rule
        ));
    }
    out.push_str(
        "\n## What a bounded check does not prove\n\n\
         `hsmspec check` explores *every* reachable state — but of small configurations: a few \
         HSMs, clients, names and key ids, small pools, small policy limits. Within those \
         bounds an invariant that holds holds for every sequence of operations; beyond them \
         nothing is proved. In particular:\n\n\
         - **Larger clusters and more users.** A bug that needs four HSMs, four clients, seven \
         names or a key shared eight ways is out of reach. Symmetry makes names, clients and \
         HSMs 1..N-1 interchangeable, which is why small bounds catch a lot, not a proof that \
         they catch everything.\n\
         - **The policy's real values.** The model checks lockout after 1 or 2 failures, 1 \
         share per key and a handful of users and keys; SPEC's 5, 7, 1024 and 16666 are the \
         same code with other numbers, trusted, not checked.\n\
         - **A `No` cell** of [permissions.md](permissions.md) means no reachable state within \
         the bounds lets the role succeed; the invariant that every Ok is allowed by the table \
         is what generalises it, and it too is bounded.\n\
         - **Examples are existence, not absence.** A found example is real; the hazard history \
         is ghost state outside the state's identity (D21), so an example could in principle be \
         missed.\n\
         - **The implementation.** `hsm-impl` is held to the model by conformance campaigns \
         (random and exhaustive traces); that is testing, not proof, and cryptography, \
         constant-time comparisons, zeroizing memory and concurrency are outside the model \
         altogether.\n\
         - **The spec itself.** The model proves that the spec is consistent with its own \
         invariants, not that the invariants are the right ones.\n",
    );
    out
}

/// Every generated page: (file name under `docs/`, text).
pub fn generate(ex: &Exploration) -> Result<Vec<(&'static str, String)>, String> {
    Ok(vec![
        ("permissions.md", permissions_page(ex)),
        ("properties.md", properties_page(ex)?),
        ("traceability.md", traceability_page()),
    ])
}

/// The generated pages that differ from the files under `dir` (missing ones included).
pub fn stale(dir: &Path, pages: &[(&'static str, String)]) -> Vec<&'static str> {
    pages
        .iter()
        .filter(|(name, text)| std::fs::read_to_string(dir.join(name)).ok().as_ref() != Some(text))
        .map(|(name, _)| *name)
        .collect()
}

// ---- `hsmspec docs` -----------------------------------------------------------------------

/// `hsmspec docs`.
#[derive(Args, Clone, Debug)]
pub struct DocsArgs {
    /// The documentation folder.
    #[arg(long, default_value = "docs")]
    pub dir: PathBuf,
    /// Write nothing: exit 1 if a generated page is stale.
    #[arg(long)]
    pub check: bool,
}

/// Runs `hsmspec docs`: regenerates the generated pages of `docs/` from the suite (exit 0),
/// or with `--check` exits 1 when one is stale; 2 on an error.
pub fn docs(args: &DocsArgs) -> ExitCode {
    eprintln!("exploring the suite ({}) …", SUITE.join(", "));
    let ex = match Exploration::suite() {
        Ok(ex) => ex,
        Err(e) => {
            eprintln!("hsmspec docs: {e}");
            return ExitCode::from(2);
        }
    };
    let problems = ex.problems();
    if !problems.is_empty() {
        for m in &problems {
            eprintln!("hsmspec docs: {m}");
        }
        return ExitCode::from(1);
    }
    let pages = match generate(&ex) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hsmspec docs: {e}");
            return ExitCode::from(2);
        }
    };
    let stale = stale(&args.dir, &pages);
    if args.check {
        if stale.is_empty() {
            eprintln!("docs are up to date");
            return ExitCode::SUCCESS;
        }
        for name in &stale {
            eprintln!("stale: {}", args.dir.join(name).display());
        }
        eprintln!("run `hsmspec docs` to regenerate");
        return ExitCode::from(1);
    }
    for (name, text) in &pages {
        if !stale.contains(name) {
            continue;
        }
        let path = args.dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("hsmspec docs: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!("wrote {}", path.display());
    }
    if stale.is_empty() {
        eprintln!("docs are up to date");
    }
    ExitCode::SUCCESS
}
