//! `hsmspec table`: the permission table of SPEC §8 *derived by exploring the model*: a cell is
//! Yes when some reachable state lets a session of that column succeed at an operation of that
//! row, No when every attempt was refused; only "Not applicable" comes from SPEC. The
//! exploration it is derived from serves the generated pages of `hsmspec docs` too.

use crate::check::{ConfigArgs, SUITE};
use clap::{Args, ValueEnum};
use hsm_conformance::Error;
use hsm_model::run::{self, CheckOptions, CheckReport, Verdict};
use hsm_model::table::{self, Cell, Column, Row};
use hsm_model::{Config, ErrorCode, Operation, Triple};
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
    pub fn of(configs: Vec<Config>) -> Result<Exploration, Error> {
        let results: Vec<Result<CheckReport, hsm_model::Error>> = std::thread::scope(|scope| {
            let handles: Vec<_> = configs
                .iter()
                .map(|cfg| scope.spawn(move || run::check(cfg, &CheckOptions::default())))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let reports = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(Exploration { reports })
    }

    /// The suite of `hsmspec check` ([`SUITE`]): accounts, lifecycle, keys, masking.
    pub fn suite() -> Result<Exploration, Error> {
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

pub(crate) fn is_refusal(code: Option<ErrorCode>) -> bool {
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

/// The table as one JSON document (schema `hsmspec-table/1`): `table` keyed by row id, then
/// column id (`preco`, `co`, `cu`, `au`, `unauthenticated`), each cell `true` (allowed), `false`
/// (refused) or `null` (not applicable, or not reached within these bounds: listed in
/// `not_applicable` and `not_reached`); the rows and columns with their labels and operations;
/// the configurations it was derived from; and a verdict (FAIL when the exploration is
/// untrustworthy: a violated invariant, a check cut short).
pub fn table_document(table: &[(Row, [Derived; 5])], ex: &Exploration) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let mut cells = Map::new();
    let mut not_applicable = Vec::new();
    let mut not_reached = Vec::new();
    for (row, derived) in table {
        let mut cols = Map::new();
        for (c, d) in Column::ALL.iter().zip(derived) {
            let v = match d {
                Derived::Yes => json!(true),
                Derived::No => json!(false),
                Derived::NotApplicable => {
                    not_applicable.push(json!({ "row": row.id(), "column": c.id() }));
                    Value::Null
                }
                Derived::NotReached => {
                    not_reached.push(json!({ "row": row.id(), "column": c.id() }));
                    Value::Null
                }
            };
            cols.insert(c.id().into(), v);
        }
        cells.insert(row.id().into(), Value::Object(cols));
    }
    let mut verdict = hsm_conformance::verdict::Verdict::pass();
    for p in ex.problems() {
        verdict.fail(p);
    }
    let mut doc = crate::output::header(crate::output::TABLE_SCHEMA, "hsmspec table");
    doc.insert("verdict".into(), json!(verdict));
    doc.insert("table".into(), Value::Object(cells));
    doc.insert("not_applicable".into(), json!(not_applicable));
    doc.insert("not_reached".into(), json!(not_reached));
    doc.insert(
        "rows".into(),
        Row::ALL
            .iter()
            .map(|r| {
                json!({
                    "id": r.id(),
                    "label": r.label(),
                    "operations": r.operations().map(|o| o.name()).collect::<Vec<_>>(),
                })
            })
            .collect(),
    );
    doc.insert(
        "columns".into(),
        Column::ALL
            .iter()
            .map(|c| json!({ "id": c.id(), "label": c.label() }))
            .collect(),
    );
    doc.insert(
        "derived_from".into(),
        ex.reports
            .iter()
            .map(|r| crate::output::config_json(&r.config))
            .collect(),
    );
    Value::Object(doc)
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
    let n = |count: u64, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let p = cfg.policy;
    format!(
        "`{}`: {}, {}, names {names}; {}; policy: lockout after {}, {} per HSM, {} per key; \
         families {}; {}",
        cfg.name,
        n(cfg.hsms.into(), "HSM", "HSMs"),
        n(cfg.clients.into(), "client", "clients"),
        n(cfg.key_ids.into(), "key id", "key ids"),
        p.lockout_threshold,
        [
            n(p.max_users.into(), "user", "users"),
            n(p.max_keys.into(), "key", "keys")
        ]
        .join(", "),
        n(p.max_shares.into(), "share", "shares"),
        cfg.families,
        if cfg.setup.is_empty() {
            "from a new cluster".to_string()
        } else {
            format!("after {} setup steps", cfg.setup.len())
        }
    )
}

pub(crate) fn derived_from(ex: &Exploration) -> String {
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
    /// One JSON document (schema `hsmspec-table/1`): row id → column id → true, false or
    /// null (not applicable).
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
            // stdout is exactly the document, what it was derived from included.
            crate::output::print_document(&table_document(&derived, &ex));
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
