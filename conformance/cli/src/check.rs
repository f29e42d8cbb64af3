//! The subcommands of `hsmspec`, as functions the binary calls.

use crate::output;
use clap::Args;
use hsm_conformance::verdict::Verdict;
use hsm_conformance::Error;
use hsm_model::run::{self, CheckOptions, Kind, Verdict as RunVerdict};
use hsm_model::story::{story, Detail};
use hsm_model::trace::Trace;
use hsm_model::{Config, Families};
use std::path::PathBuf;

/// Options that choose and adjust a bounded configuration.
#[derive(Args, Clone, Debug)]
pub struct ConfigArgs {
    /// A preset configuration: small, default, all, families, large, accounts, lifecycle,
    /// keys, masking; or `suite` (for `check`, the default): accounts, lifecycle, keys,
    /// masking and families in turn.
    #[arg(long, default_value = "suite")]
    pub config: String,
    /// HSMs in the cluster.
    #[arg(long)]
    pub hsms: Option<u8>,
    /// Clients (each holds one session per HSM).
    #[arg(long)]
    pub clients: Option<u8>,
    /// User names in play beside admin and app_user.
    #[arg(long)]
    pub names: Option<usize>,
    /// Key ids that may be generated.
    #[arg(long)]
    pub keys: Option<u8>,
    /// Size of each pool of objects that left an HSM (masked, wrapped, ciphertexts, signatures).
    #[arg(long)]
    pub pool: Option<u8>,
    /// Operation families switched on, comma-separated (sessions, cluster, lifecycle,
    /// passwords, users, keys, crypto, masking; or all).
    #[arg(long)]
    pub ops: Option<String>,
    /// Switch the symmetry reduction off.
    #[arg(long)]
    pub no_symmetry: bool,
}

impl ConfigArgs {
    /// The configurations these options describe: the suite's four, or one preset adjusted.
    pub fn configs(&self) -> Result<Vec<Config>, Error> {
        if self.config == "suite" {
            let adjusted = self.hsms.is_some()
                || self.clients.is_some()
                || self.names.is_some()
                || self.keys.is_some()
                || self.pool.is_some()
                || self.ops.is_some()
                || self.no_symmetry;
            if adjusted {
                return Err("the suite cannot be adjusted: name one preset with --config".into());
            }
            return Ok(SUITE
                .iter()
                .chain([&ALL_FAMILIES])
                .filter_map(|n| Config::preset(n))
                .collect());
        }
        Ok(vec![self.config()?])
    }

    /// The one configuration these options describe (`suite` means `default` here).
    pub fn config(&self) -> Result<Config, Error> {
        let name = if self.config == "suite" {
            "default"
        } else {
            &self.config
        };
        let mut cfg = Config::preset(name).ok_or_else(|| {
            format!(
                "unknown configuration `{}` (known: suite, {})",
                self.config,
                Config::PRESETS.join(", ")
            )
        })?;
        let mut custom = false;
        if let Some(h) = self.hsms {
            cfg.hsms = h;
            custom = true;
        }
        if let Some(c) = self.clients {
            cfg.clients = c;
            custom = true;
        }
        if let Some(n) = self.names {
            let pool = ["alice", "bob", "carol", "dave", "erin", "frank"];
            if n > pool.len() {
                return Err(format!("at most {} names", pool.len()).into());
            }
            cfg.names = pool[..n].iter().map(|s| s.to_string()).collect();
            custom = true;
        }
        if let Some(k) = self.keys {
            cfg.key_ids = k;
            custom = true;
        }
        if let Some(p) = self.pool {
            cfg.pools.masked = p.max(1);
            cfg.pools.wrapped = p;
            cfg.pools.ciphertexts = p;
            cfg.pools.signatures = p;
            custom = true;
        }
        if let Some(ops) = &self.ops {
            cfg.families = Families::parse(ops)?;
            custom = true;
        }
        if self.no_symmetry {
            cfg.symmetry = false;
        }
        if custom {
            cfg.name = format!("{} (adjusted)", cfg.name);
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

/// `hsmspec check`.
#[derive(Args, Clone, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Checker threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// The checker: `compact` (hsm-model's level-by-level parallel BFS: 8 bytes per state in
    /// its table plus the packed states of two levels; shortest example paths) or
    /// `stateright` (stateright's BFS, the reference the tests hold `compact` to; far more
    /// memory per state).
    #[arg(long, default_value = "compact", value_parser = ["compact", "stateright"])]
    pub engine: String,
    /// Stop after this many seconds; a check cut short fails (exit 1) and says so.
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Write every counterexample and example path as a trace file into this directory.
    #[arg(long)]
    pub save_paths: Option<PathBuf>,
    /// Show the cluster after every step of every path (by default: what each step of a
    /// counterexample changed and the cluster at its violating step; examples step by step).
    #[arg(long)]
    pub verbose: bool,
    /// Print one JSON document on stdout instead of text (schema `hsmspec-check/1`,
    /// docs/schema/hsmspec-output.schema.json): the verdict, every configuration, every
    /// property by its stable id.
    #[arg(long)]
    pub json: bool,
    /// No progress on stderr (as `--progress none`).
    #[arg(long)]
    pub quiet: bool,
    /// How progress is shown on stderr: `text` (a live line on a terminal, elsewhere a plain
    /// line every 10 s), `json` (one line per update,
    /// `{"progress":{"unique_states":…,"total_states":…,"depth":…}}`, for other programs:
    /// `hsmspec scale` reads it when it has to kill a run), or `none`.
    #[arg(long, value_enum, default_value_t = ProgressFormat::Text)]
    pub progress: ProgressFormat,
}

/// How `hsmspec check` shows its progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressFormat {
    /// A live line on a terminal; elsewhere a plain line every 10 s.
    Text,
    /// One JSON line per update ([`ProgressLine`]).
    Json,
    /// Nothing.
    None,
}

/// A machine-readable progress line of `hsmspec check --progress json` (one JSON object per
/// line on stderr). The figures are those of the check so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProgressLine {
    /// Unique states so far.
    pub unique_states: usize,
    /// States generated so far, repeats included.
    pub total_states: usize,
    /// The depth being explored.
    pub depth: usize,
}

impl ProgressLine {
    /// The line as printed: `{"progress":{…}}`.
    pub fn json(&self) -> String {
        serde_json::json!({ "progress": self }).to_string()
    }

    /// The figures of a line printed by [`ProgressLine::json`], if it is one.
    pub fn parse(line: &str) -> Option<ProgressLine> {
        let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
        serde_json::from_value(v.get("progress")?.clone()).ok()
    }
}

/// The live progress of the configuration being checked, where stderr is a terminal.
static LIVE: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);
/// When the last plain progress line was written, where stderr is no terminal.
static LAST_PLAIN: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);

/// `--progress text`: a live line on a terminal; elsewhere a plain line at most every
/// [`PLAIN_EVERY`](crate::options::PLAIN_EVERY).
fn progress_text(unique: usize, total: usize, depth: usize) {
    let text = format!("{unique} unique states, {total} total, depth {depth}");
    if let Some(bar) = LIVE.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        bar.set_message(text);
        return;
    }
    let mut last = LAST_PLAIN.lock().unwrap_or_else(|e| e.into_inner());
    if last.is_none_or(|t| t.elapsed() >= crate::options::PLAIN_EVERY) {
        if last.is_some() {
            eprintln!("  … {text}");
        }
        *last = Some(std::time::Instant::now());
    }
}

fn progress_json(unique_states: usize, total_states: usize, depth: usize) {
    let line = ProgressLine {
        unique_states,
        total_states,
        depth,
    };
    eprintln!("{}", line.json());
}

/// The configurations `hsmspec check` runs by default: one per concern, together every
/// family, every example, every error code and every cell of the table.
/// The generated docs and `hsmspec table` explore these four.
pub const SUITE: [&str; 4] = ["accounts", "lifecycle", "keys", "masking"];

/// The suite member of `hsmspec check` with every operation family in one configuration
/// (#17): what the four concerns never combine in one trace. It follows them in the suite.
pub const ALL_FAMILIES: &str = "families";

/// Runs `hsmspec check`: every configuration, then (for the suite) what they show together.
/// The verdict is decided here whatever the output format: FAIL on a violated invariant, a
/// missing example or cell, or (suite) an unreached error code; INCOMPLETE when a check was
/// cut by `--timeout`.
pub fn check(args: &CheckArgs) -> Result<Verdict, Error> {
    check_configs(args.config.configs()?, args)
}

/// [`check`] of `configs` (the tests plant faults in them), with the rest of `args`. With
/// `--json`, stdout holds one document ([`check_document`]) and nothing else.
pub fn check_configs(configs: Vec<Config>, args: &CheckArgs) -> Result<Verdict, Error> {
    let mut reports = Vec::new();
    let mut verdict = Verdict::pass();
    for cfg in configs {
        let report = check_one(args, cfg)?;
        verdict.absorb(report_verdict(&report));
        reports.push(report);
    }
    let suite = (reports.len() > 1).then(|| SuiteFindings::of(&reports));
    if let Some(suite) = &suite {
        if !args.json {
            suite.print();
        }
        verdict.absorb(suite.verdict());
    }
    if args.json {
        output::print_document(&check_document(&reports, suite.as_ref(), &verdict));
    } else {
        println!("{}", verdict.line());
    }
    Ok(verdict)
}

/// The one JSON document of `hsmspec check --json` (schema [`output::CHECK_SCHEMA`]): the
/// verdict, every configuration with every property by its stable id, and for the suite what
/// its configurations show together.
pub fn check_document(
    reports: &[run::CheckReport],
    suite: Option<&SuiteFindings>,
    verdict: &Verdict,
) -> serde_json::Value {
    let mut doc = output::header(output::CHECK_SCHEMA, "hsmspec check");
    doc.insert("verdict".into(), serde_json::json!(verdict));
    doc.insert(
        "configurations".into(),
        reports.iter().map(report_json).collect(),
    );
    doc.insert(
        "suite".into(),
        suite.map_or(serde_json::Value::Null, SuiteFindings::json),
    );
    serde_json::Value::Object(doc)
}

/// One configuration's check for machines.
pub fn report_json(r: &run::CheckReport) -> serde_json::Value {
    use serde_json::json;
    let properties: Vec<_> = r
        .properties
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "kind": match p.kind { Kind::Invariant => "invariant", Kind::Example => "example" },
                "statement": p.name,
                "verdict": match p.verdict {
                    RunVerdict::Holds => "holds",
                    RunVerdict::Violated => "violated",
                    RunVerdict::Found => "found",
                    RunVerdict::Missing => "missing",
                    RunVerdict::NotApplicable => "not_applicable",
                },
                "path": p.path.as_ref().map(|path| output::path_json(&r.config, path)),
            })
        })
        .collect();
    let cells: Vec<_> = r
        .cells
        .iter()
        .map(|c| {
            json!({
                "row": c.row.id(),
                "column": c.column.id(),
                "expected": match c.expected {
                    hsm_model::Cell::Yes => "allowed",
                    hsm_model::Cell::No => "refused",
                    hsm_model::Cell::NotApplicable => "not_applicable",
                },
                "succeeded": c.succeeded,
                "denied": c.denied,
                "shown": c.example_found(),
            })
        })
        .collect();
    let mut codes: Vec<&str> = r
        .coverage
        .iter()
        .filter_map(|t| t.2.map(|c| c.name()))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    json!({
        "config": output::config_json(&r.config),
        "verdict": report_verdict(r),
        "engine": match r.engine { run::Engine::Compact => "compact", run::Engine::Stateright => "stateright" },
        "threads": r.threads,
        "symmetry_renamings": r.symmetry_group,
        "complete": r.complete,
        "unique_states": r.unique_states,
        "total_states": r.total_states,
        "max_depth": r.max_depth,
        "seconds": r.seconds,
        "peak_memory_bytes": r.peak_memory_bytes,
        "store_bytes": r.store_bytes,
        "properties": properties,
        "cells_required": r.cells_required,
        "cells": cells,
        "coverage_triples": r.coverage.len(),
        "error_codes_reached": codes,
    })
}

/// The verdict of one configuration's check.
pub fn report_verdict(r: &run::CheckReport) -> Verdict {
    let mut v = Verdict::pass();
    let name = &r.config.name;
    for p in &r.properties {
        match p.verdict {
            RunVerdict::Violated => v.fail(format!("`{name}`: violated: {}", p.name)),
            // A check cut short may not have reached an example yet.
            RunVerdict::Missing if r.complete => {
                v.fail(format!("`{name}`: example not found: {}", p.name))
            }
            _ => {}
        }
    }
    let unshown = r.cells.iter().filter(|c| !c.example_found()).count();
    if r.cells_required && unshown > 0 && r.complete {
        v.fail(format!(
            "`{name}`: {unshown} permission-table cells not shown"
        ));
    }
    if !r.complete {
        v.incomplete(format!(
            "`{name}` cut by --timeout after {} unique states",
            r.unique_states
        ));
    }
    v
}

/// What the suite's configurations show together: every example, every error code, every
/// cell of the permission table.
pub struct SuiteFindings {
    /// Every example with whether some configuration found it.
    pub examples: Vec<(&'static str, bool)>,
    /// Error codes no configuration reached.
    pub missing_codes: Vec<hsm_model::ErrorCode>,
    /// Cells of the permission table.
    pub cells: usize,
    /// Cells no configuration showed.
    pub unshown_cells: usize,
    /// Unique states of all configurations.
    pub states: usize,
    /// Seconds of all configurations.
    pub seconds: f64,
}

impl SuiteFindings {
    /// The findings of `reports`.
    pub fn of(reports: &[run::CheckReport]) -> SuiteFindings {
        use hsm_model::checker::properties::EXAMPLES;
        use hsm_model::ErrorCode;
        let examples = EXAMPLES
            .iter()
            .map(|(name, _)| {
                let found = reports.iter().any(|r| {
                    r.property(name)
                        .is_some_and(|p| p.verdict == RunVerdict::Found)
                });
                (*name, found)
            })
            .collect();
        let triples: Vec<_> = reports.iter().flat_map(|r| r.coverage.clone()).collect();
        let missing_codes = ErrorCode::ALL
            .iter()
            .filter(|c| !triples.iter().any(|t| t.2 == Some(**c)))
            .copied()
            .collect();
        let cells = run::cells_from(&triples);
        SuiteFindings {
            examples,
            missing_codes,
            cells: cells.len(),
            unshown_cells: cells.iter().filter(|c| !c.example_found()).count(),
            states: reports.iter().map(|r| r.unique_states).sum(),
            seconds: reports.iter().map(|r| r.seconds).sum(),
        }
    }

    /// Prints the findings.
    pub fn print(&self) {
        println!("== suite: configurations together");
        for (name, found) in &self.examples {
            println!("  {:>7}  {name}", if *found { "found" } else { "MISSING" });
        }
        let missing: Vec<&str> = self.missing_codes.iter().map(|c| c.name()).collect();
        println!(
            "  error codes reached: {} of {}{}",
            hsm_model::ErrorCode::ALL.len() - missing.len(),
            hsm_model::ErrorCode::ALL.len(),
            if missing.is_empty() {
                String::new()
            } else {
                format!(" (missing: {})", missing.join(", "))
            }
        );
        println!(
            "  permission-table cells shown: {} of {}",
            self.cells - self.unshown_cells,
            self.cells
        );
        println!("  {} unique states in {:.1} s", self.states, self.seconds);
    }

    /// The findings for machines.
    pub fn json(&self) -> serde_json::Value {
        use hsm_model::checker::properties;
        serde_json::json!({
            "examples": self.examples.iter().map(|(name, found)| serde_json::json!({
                "id": properties::id(name),
                "statement": name,
                "found": found,
            })).collect::<Vec<_>>(),
            "error_codes_missing": self.missing_codes.iter().map(|c| c.name()).collect::<Vec<_>>(),
            "cells": self.cells,
            "cells_unshown": self.unshown_cells,
            "unique_states": self.states,
            "seconds": self.seconds,
        })
    }

    /// FAIL when an example, an error code or a cell is missing from the suite.
    pub fn verdict(&self) -> Verdict {
        let mut v = Verdict::pass();
        for (name, found) in &self.examples {
            if !found {
                v.fail(format!("suite: example not found: {name}"));
            }
        }
        if !self.missing_codes.is_empty() {
            let names: Vec<&str> = self.missing_codes.iter().map(|c| c.name()).collect();
            v.fail(format!(
                "suite: error codes never reached: {}",
                names.join(", ")
            ));
        }
        if self.unshown_cells > 0 {
            v.fail(format!(
                "suite: {} permission-table cells not shown",
                self.unshown_cells
            ));
        }
        v
    }
}

fn check_one(args: &CheckArgs, cfg: Config) -> Result<run::CheckReport, Error> {
    let options = CheckOptions {
        engine: if args.engine == "compact" {
            run::Engine::Compact
        } else {
            run::Engine::Stateright
        },
        threads: args.threads,
        timeout: args
            .timeout
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map(std::time::Duration::from_secs_f64),
        progress: match args.progress {
            _ if args.quiet => None,
            ProgressFormat::Text => Some(progress_text),
            ProgressFormat::Json => Some(progress_json),
            ProgressFormat::None => None,
        },
    };
    eprintln!("checking `{}` …", cfg.name);
    let live = args.progress == ProgressFormat::Text && crate::options::stderr_is_terminal();
    if live {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        *LIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    } else {
        *LAST_PLAIN.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
    let report = run::check(&cfg, &options);
    if let Some(bar) = LIVE.lock().unwrap_or_else(|e| e.into_inner()).take() {
        bar.finish_and_clear();
    }
    let report = report?;
    let peak = run::peak_memory_bytes();
    if !args.json {
        print_report(&report, peak, args.verbose);
    }
    if let Some(dir) = &args.save_paths {
        save_paths(&report, dir)
            .map_err(|e| Error::Usage(format!("cannot save paths in {}: {e}", dir.display())))?;
    }
    Ok(report)
}

fn print_report(r: &run::CheckReport, peak: Option<u64>, verbose: bool) {
    let c = &r.config;
    println!("configuration: {}", c.name);
    for line in output::config_text(c) {
        println!("  {line}");
    }
    println!(
        "  families {}; symmetry {}; {}",
        c.families,
        if c.symmetry {
            format!("on ({} renamings per state)", r.symmetry_group)
        } else {
            "off".to_string()
        },
        match c.setup.len() {
            0 => "from a new cluster".to_string(),
            n => format!("after {n} setup steps"),
        }
    );
    println!(
        "states: {} unique, {} total, depth {}, {:.2} s, {:.0} unique states/s, {} thread(s), {} engine{}",
        r.unique_states,
        r.total_states,
        r.max_depth,
        r.seconds,
        r.unique_states as f64 / r.seconds.max(1e-9),
        r.threads,
        match r.engine {
            run::Engine::Compact => "compact",
            run::Engine::Stateright => "stateright",
        },
        if r.complete {
            ""
        } else {
            " (INCOMPLETE: cut by --timeout)"
        }
    );
    if let Some(p) = peak {
        println!(
            "peak memory: {:.1} MB, {:.0} bytes per unique state",
            p as f64 / 1e6,
            p as f64 / r.unique_states.max(1) as f64
        );
    }
    if let Some(b) = r.store_bytes {
        println!(
            "state store: {:.1} MB at its peak, {:.1} bytes per unique state (fingerprint set, parent table, packed states of the two widest adjacent levels)",
            b as f64 / 1e6,
            b as f64 / r.unique_states.max(1) as f64
        );
    }
    print!("{}", properties_text(r, verbose));
    let missing: Vec<_> = r.cells.iter().filter(|c| !c.example_found()).collect();
    println!(
        "permission table: {} of {} cells shown by an example{}",
        r.cells.len() - missing.len(),
        r.cells.len(),
        if r.cells_required {
            ""
        } else {
            " (not required: setup or families off)"
        }
    );
    for m in missing.iter().filter(|_| r.cells_required) {
        println!(
            "  not shown: {} / {} ({})",
            m.row,
            m.column,
            m.expected.text()
        );
    }
    println!(
        "coverage: {} (role, operation, outcome) triples",
        r.coverage.len()
    );
}

/// The properties of a check, each with its verdict and stable id, and its path told step by
/// step (a counterexample with what each step changed and the cluster at its violating step;
/// with `verbose`, the cluster after every step of every path).
pub fn properties_text(r: &run::CheckReport, verbose: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "properties{}:",
        if r.complete {
            ""
        } else {
            " (the check did not finish: an invariant not violated so far is unchecked, an example not found so far is not missing)"
        }
    );
    for p in &r.properties {
        let verdict = match (p.verdict, r.complete) {
            (RunVerdict::Holds, true) => "holds",
            (RunVerdict::Holds, false) => "unchecked",
            (RunVerdict::Violated, _) => "VIOLATED",
            (RunVerdict::Found, _) => "found",
            (RunVerdict::Missing, true) => "MISSING",
            (RunVerdict::Missing, false) => "not found",
            (RunVerdict::NotApplicable, _) => "off",
        };
        let kind = match p.kind {
            Kind::Invariant => "always   ",
            Kind::Example => "sometimes",
        };
        let _ = writeln!(out, "  {kind} {verdict:>9}  {} [{}]", p.name, p.id);
        if p.verdict == RunVerdict::NotApplicable {
            let _ = writeln!(out, "                       (its operation families or bounds are off in this configuration)");
        }
        if let Some(path) = &p.path {
            let detail = if verbose {
                Detail::Every
            } else if p.verdict == RunVerdict::Violated {
                Detail::Last
            } else {
                Detail::Steps
            };
            if p.verdict == RunVerdict::Violated {
                let _ = writeln!(out, "        counterexample: the last step breaks it");
            }
            out.push_str(&story(&r.config, path, detail, "      "));
        }
    }
    out
}

fn save_paths(r: &run::CheckReport, dir: &PathBuf) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for p in &r.properties {
        let Some(path) = &p.path else { continue };
        let trace = Trace::from_actions(p.name, &r.config, path);
        let file: String = p
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let file = dir.join(format!(
            "{}--{}.json",
            r.config.name.replace([' ', '(', ')'], ""),
            file.trim_matches('-')
        ));
        std::fs::write(&file, trace.to_json())?;
        eprintln!("wrote {}", file.display());
    }
    Ok(())
}
