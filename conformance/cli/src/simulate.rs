//! `hsmspec simulate`: random walks over a configuration too large to exhaust (TLC's
//! simulation mode), every invariant checked at every step. The verdict is decided here: FAIL
//! on a violated invariant (its path told as a story and saved as a trace `hsmspec replay`
//! reads); INCOMPLETE when `--timeout` cut the walks short; PASS when every walk asked for ran
//! without a violation (a sample, not a proof: the report says what it covered).

use crate::check::ConfigArgs;
use crate::options::shell_quote;
use crate::output;
use clap::Args;
use hsm_conformance::verdict::Verdict;
use hsm_conformance::Error;
use hsm_model::checker::properties;
use hsm_model::simulate::{simulate as run_walks, SimulateOptions, Simulation};
use hsm_model::story::{story, Detail};
use hsm_model::trace::Trace;
use hsm_model::Config;
use std::path::PathBuf;

/// `hsmspec simulate`.
#[derive(Args, Clone, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Random walks to run.
    #[arg(long, default_value_t = 10_000)]
    pub walks: u64,
    /// Steps per walk at most (a walk ends earlier where no action changes the state).
    #[arg(long, default_value_t = 60)]
    pub depth: usize,
    /// The seed of the walks (by default one from the clock, printed so the run can be
    /// repeated).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Threads running walks (the result does not depend on it).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Stop after this many seconds; walks not run make the verdict INCOMPLETE.
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Where a violation's trace is written (a trace file `hsmspec replay` reads).
    #[arg(long, default_value = "hsmspec-simulate-violation.json")]
    pub save_trace: PathBuf,
    /// Uniform walks: every step chosen among all state-changing actions, not among the
    /// walk's own random half of the operations (swarm walks, the default).
    #[arg(long)]
    pub no_swarm: bool,
    /// Print one JSON document on stdout instead of text (schema `hsmspec-simulate/1`,
    /// docs/schema/hsmspec-output.schema.json).
    #[arg(long)]
    pub json: bool,
}

/// The `schema` of `hsmspec simulate --json`'s document.
pub const SIMULATE_SCHEMA: &str = "hsmspec-simulate/1";

/// Runs `hsmspec simulate`.
pub fn simulate(args: &SimulateArgs) -> Result<Verdict, Error> {
    let cfg = args.config.config()?;
    simulate_config(cfg, args)
}

/// [`simulate`] of `cfg` (the tests plant faults in it), with the rest of `args`.
pub fn simulate_config(cfg: Config, args: &SimulateArgs) -> Result<Verdict, Error> {
    if args.depth == 0 || args.walks == 0 {
        return Err(Error::Usage(
            "--walks and --depth must be at least 1".into(),
        ));
    }
    let seed = args.seed.unwrap_or_else(clock_seed);
    let options = SimulateOptions {
        walks: args.walks,
        depth: args.depth,
        seed,
        threads: args.threads.max(1),
        swarm: !args.no_swarm,
        deadline: args
            .timeout
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map(|t| std::time::Instant::now() + std::time::Duration::from_secs_f64(t)),
    };
    eprintln!("simulating `{}` (seed {seed}) …", cfg.name);
    let sim = run_walks(&cfg, &options)?;
    let reproduce = format!(
        "hsmspec simulate{} --seed {seed} --walks {} --depth {}{}",
        config_options(&args.config),
        args.walks,
        args.depth,
        if args.no_swarm { " --no-swarm" } else { "" }
    );
    let mut trace_file = None;
    if let Some(v) = &sim.violation {
        let trace = Trace::from_actions(&format!("simulate: {}", v.invariant), &cfg, &v.path);
        std::fs::write(&args.save_trace, trace.to_json()).map_err(|e| {
            Error::Usage(format!(
                "cannot write the violation's trace to {}: {e}",
                args.save_trace.display()
            ))
        })?;
        trace_file = Some(args.save_trace.clone());
    }
    let verdict = verdict_of(&cfg, &sim, &reproduce);
    if args.json {
        output::print_document(&document(
            &cfg,
            &options,
            &sim,
            trace_file.as_ref(),
            &verdict,
        ));
    } else {
        print_text(&cfg, &options, &sim, trace_file.as_ref(), &reproduce);
        println!("{}", verdict.line());
    }
    Ok(verdict)
}

/// A seed from the clock, for a run that names none.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        % 1_000_000_000
}

/// The options of `hsmspec simulate` that choose the configuration, as typed.
fn config_options(c: &ConfigArgs) -> String {
    let mut out = String::new();
    if c.config != "suite" {
        out += &format!(" --config {}", shell_quote(&c.config));
    }
    let mut num = |flag: &str, v: Option<String>| {
        if let Some(v) = v {
            out += &format!(" --{flag} {v}");
        }
    };
    num("hsms", c.hsms.map(|v| v.to_string()));
    num("clients", c.clients.map(|v| v.to_string()));
    num("names", c.names.map(|v| v.to_string()));
    num("keys", c.keys.map(|v| v.to_string()));
    num("pool", c.pool.map(|v| v.to_string()));
    num("ops", c.ops.as_deref().map(shell_quote));
    if c.no_symmetry {
        out += " --no-symmetry";
    }
    out
}

/// FAIL on a violation, INCOMPLETE when walks were not run, else PASS.
fn verdict_of(cfg: &Config, sim: &Simulation, reproduce: &str) -> Verdict {
    let mut v = Verdict::pass();
    if let Some(violation) = &sim.violation {
        v.fail(format!(
            "`{}`: violated: {} (walk {}; reproduce: {reproduce})",
            cfg.name, violation.invariant, violation.walk
        ));
    } else if !sim.complete {
        v.incomplete(format!(
            "`{}`: cut by --timeout after {} walks",
            cfg.name, sim.walks
        ));
    }
    v
}

fn per_second(n: u64, seconds: f64) -> f64 {
    n as f64 / seconds.max(1e-9)
}

fn print_text(
    cfg: &Config,
    options: &SimulateOptions,
    sim: &Simulation,
    trace_file: Option<&PathBuf>,
    reproduce: &str,
) {
    println!("configuration: {}", cfg.name);
    for line in output::config_text(cfg) {
        println!("  {line}");
    }
    println!(
        "  families {}; {}",
        cfg.families,
        match cfg.setup.len() {
            0 => "from a new cluster".to_string(),
            n => format!("after {n} setup steps"),
        }
    );
    println!(
        "walks: {} of {}, at most {} steps each, seed {}, {}, {} thread(s){}",
        sim.walks,
        options.walks,
        options.depth,
        options.seed,
        if options.swarm {
            "swarm (each walk prefers a random half of the operations)"
        } else {
            "uniform"
        },
        options.threads,
        if sim.complete {
            ""
        } else {
            " (INCOMPLETE: cut by --timeout)"
        }
    );
    println!(
        "steps: {} taken, {} successor states checked, {:.2} s, {:.0} walks/s, {:.0} states/s; {} walks ended where no action changes the state",
        sim.steps,
        sim.states_checked,
        sim.seconds,
        per_second(sim.walks, sim.seconds),
        per_second(sim.states_checked, sim.seconds),
        sim.dead_ends
    );
    println!("examples reached by these walks (a sample: one not reached is not missing):");
    for (name, _) in properties::EXAMPLES {
        let reached = sim
            .examples
            .get(name)
            .map_or("not reached".to_string(), |p| {
                format!("reached in {} steps", p.len())
            });
        println!("  {reached:>20}  {name}");
    }
    println!(
        "coverage: {} (role, operation, outcome) triples",
        sim.coverage.len()
    );
    if let Some(v) = &sim.violation {
        println!(
            "VIOLATED: {} [{}], in walk {} after {} steps",
            v.invariant,
            properties::id(v.invariant),
            v.walk,
            v.path.len()
        );
        println!("  counterexample: the last step breaks it");
        print!("{}", story(cfg, &v.path, Detail::Last, "    "));
        if let Some(f) = trace_file {
            let f = shell_quote(&f.display().to_string());
            println!("  trace written to {f}; replay it with: hsmspec replay {f}");
        }
        println!("  reproduce: {reproduce}");
    } else {
        println!("no invariant violated in these walks");
    }
}

/// The one JSON document of `hsmspec simulate --json` (schema [`SIMULATE_SCHEMA`]).
pub fn document(
    cfg: &Config,
    options: &SimulateOptions,
    sim: &Simulation,
    trace_file: Option<&PathBuf>,
    verdict: &Verdict,
) -> serde_json::Value {
    use serde_json::json;
    let mut doc = output::header(SIMULATE_SCHEMA, "hsmspec simulate");
    doc.insert("verdict".into(), json!(verdict));
    doc.insert("config".into(), output::config_json(cfg));
    let examples: Vec<_> = properties::EXAMPLES
        .iter()
        .map(|(name, _)| {
            json!({
                "id": properties::id(name),
                "statement": name,
                "path": sim.examples.get(name).map(|p| output::path_json(cfg, p)),
            })
        })
        .collect();
    let coverage: Vec<_> = sim
        .coverage
        .iter()
        .map(|(column, op, error)| {
            json!({
                "column": column.id(),
                "operation": op.name(),
                "error": error.map(|e| e.name()),
            })
        })
        .collect();
    let body = json!({
        "seed": options.seed,
        "walks_requested": options.walks,
        "depth": options.depth,
        "threads": options.threads,
        "swarm": options.swarm,
        "walks": sim.walks,
        "steps": sim.steps,
        "states_checked": sim.states_checked,
        "dead_ends": sim.dead_ends,
        "seconds": sim.seconds,
        "walks_per_second": per_second(sim.walks, sim.seconds),
        "states_per_second": per_second(sim.states_checked, sim.seconds),
        "complete": sim.complete,
        "violation": sim.violation.as_ref().map(|v| json!({
            "id": properties::id(v.invariant),
            "statement": v.invariant,
            "walk": v.walk,
            "path": output::path_json(cfg, &v.path),
            "trace_file": trace_file.map(|f| f.display().to_string()),
        })),
        "examples": examples,
        "coverage_triples": sim.coverage.len(),
        "coverage": coverage,
    });
    if let serde_json::Value::Object(m) = body {
        doc.extend(m);
    }
    serde_json::Value::Object(doc)
}
