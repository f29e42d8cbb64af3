//! `hsmspec conform` and `hsmspec replay`.
//!
//! Exit codes: 0 pass, 1 divergence found, 2 usage or input error.

use crate::adapter::ImplFactory;
use crate::coverage::{committed, missed, triple_text};
use crate::exhaustive::{exhaustive, exhaustive_configs, ExhaustiveResult};
use crate::generate::{campaign, runner_config, CampaignOptions, CampaignResult, Failure};
use crate::process::{ProcessFactory, ProtocolLog};
use crate::runner::{format_run, run_trace};
use crate::sut::SutFactory;
use clap::Args;
use hsm_model::trace::Trace;
use hsm_model::{Config, Families};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `hsmspec conform`.
#[derive(Args, Clone, Debug)]
pub struct ConformArgs {
    /// Random traces to run.
    #[arg(long, default_value_t = 3000)]
    pub cases: u64,
    /// Steps per random trace.
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// Seed of the random campaign (printed; default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also replay every transition of the exhaustive configurations.
    #[arg(long)]
    pub exhaustive: bool,
    /// Write a JSON report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write each failing (shrunk) trace as a JSON file into this directory.
    #[arg(long, default_value = ".")]
    pub failures_dir: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub sut: SutArgs,
    /// Operation families to test (comma-separated: sessions, cluster, lifecycle, passwords,
    /// users, keys, crypto, masking; default all): the others are never generated, and the
    /// coverage report says what was left out.
    #[arg(long)]
    pub ops: Option<String>,
}

/// Which system to test: `hsm-impl` linked in (default), or a process behind the protocol.
#[derive(Args, Clone, Debug)]
pub struct SutArgs {
    /// Test the implementation that this shell command starts, driven through the process
    /// protocol (docs/protocol.md) on its standard input and output.
    #[arg(long, value_name = "COMMAND")]
    pub sut_cmd: Option<String>,
    /// With --sut-cmd: milliseconds a request may take before the process counts as hung.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// With --sut-cmd: record every line sent to and received from every process in this file
    /// (docs/protocol.md).
    #[arg(long, value_name = "FILE", requires = "sut_cmd")]
    pub log_protocol: Option<PathBuf>,
}

impl SutArgs {
    /// The factory: a process factory with --sut-cmd, else `hsm-impl` linked in.
    pub fn factory(&self) -> Result<Box<dyn SutFactory>, String> {
        Ok(match &self.sut_cmd {
            Some(cmd) => Box::new(
                ProcessFactory::command(cmd, Duration::from_millis(self.timeout_ms))
                    .with_log(self.protocol_log()?),
            ),
            None => Box::new(ImplFactory::correct()),
        })
    }

    /// The --log-protocol file, created.
    pub fn protocol_log(&self) -> Result<Option<ProtocolLog>, String> {
        self.log_protocol
            .as_ref()
            .map(|p| {
                ProtocolLog::create(p).map_err(|e| format!("--log-protocol {}: {e}", p.display()))
            })
            .transpose()
    }
}

/// `hsmspec serve-impl`: `hsm-impl` behind the process protocol on stdin and stdout.
pub fn serve_impl() -> ExitCode {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match crate::protocol::serve(
        stdin.lock(),
        std::io::BufWriter::new(stdout.lock()),
        &ImplFactory::correct(),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsmspec serve-impl: {e}");
            ExitCode::from(2)
        }
    }
}

/// Narrows a configuration to the families of `ops`: `None` when nothing is left or its setup
/// needs an operation of a family that is off.
pub fn restrict(cfg: &Config, ops: Families) -> Option<Config> {
    let mut c = cfg.clone();
    c.families = c.families.iter().filter(|f| ops.contains(*f)).collect();
    if c.families == Families::none()
        || c.setup
            .iter()
            .any(|a| !ops.contains(a.op.operation().family()))
    {
        return None;
    }
    Some(c)
}

/// `hsmspec replay`.
#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// Trace files (hsmspec-trace JSON).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub sut: SutArgs,
}

fn bar(len: u64, quiet: bool, what: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    pb
}

fn write_failure(dir: &std::path::Path, name: &str, f: &Failure) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("hsmspec-failure-{name}.json"));
    std::fs::write(&path, f.trace.to_json()).ok()?;
    Some(path)
}

/// Runs `hsmspec conform`.
pub fn conform(args: &ConformArgs) -> ExitCode {
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let families = match &args.ops {
        Some(t) => match Families::parse(t) {
            Ok(f) if f != Families::none() => f,
            Ok(_) => {
                eprintln!("hsmspec conform: --ops names no family");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("hsmspec conform: --ops: {e}");
                return ExitCode::from(2);
            }
        },
        None => Families::all(),
    };
    let mut cfg = runner_config();
    cfg.families = families;
    let mut adopted = None;
    let factory: Box<dyn SutFactory> = match &args.sut.sut_cmd {
        None => Box::new(ImplFactory::correct()),
        Some(cmd) => {
            let log = match args.sut.protocol_log() {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("hsmspec conform: {e}");
                    return ExitCode::from(2);
                }
            };
            let pf = ProcessFactory::command(cmd, Duration::from_millis(args.sut.timeout_ms))
                .with_log(log.clone());
            let hello = match pf.hello(&cfg) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("hsmspec conform: `{cmd}`: {e}");
                    return ExitCode::from(2);
                }
            };
            println!("implementation: {} (process `{cmd}`)", hello.implementation);
            if hello.policy != cfg.policy {
                println!(
                    "the implementation runs its own limits {:?}: the model takes them",
                    hello.policy
                );
                cfg.policy = hello.policy;
                if let Err(e) = cfg.validate() {
                    eprintln!("hsmspec conform: the implementation's policy: {e}");
                    return ExitCode::from(2);
                }
                adopted = Some(hello.policy);
            }
            Box::new(
                ProcessFactory::new(
                    &format!("{} (process `{cmd}`)", hello.implementation),
                    crate::process::command_connector(cmd),
                    Duration::from_millis(args.sut.timeout_ms),
                )
                .with_log(log),
            )
        }
    };
    let factory = &*factory;
    if families != Families::all() {
        println!("operation families tested: {families}");
    }
    let opts = CampaignOptions {
        cases: args.cases,
        steps: args.steps,
        seed,
        stop_on_failure: true,
    };
    let pb = bar(args.cases, args.quiet, "random");
    let random = match campaign(&cfg, &opts, factory, &|n| pb.set_position(n)) {
        Ok(r) => r,
        Err(e) => {
            pb.abandon();
            eprintln!("hsmspec conform: {e}");
            return ExitCode::from(2);
        }
    };
    pb.finish();
    let mut exhaustive_results = Vec::new();
    if args.exhaustive {
        for c in exhaustive_configs() {
            let Some(mut c) = restrict(&c, families) else {
                println!(
                    "exhaustive {}: skipped (needs a family that is off)",
                    c.name
                );
                continue;
            };
            if let Some(p) = adopted {
                c.policy = p;
            }
            let pb = bar(0, args.quiet, &c.name.replace("exhaustive-", "exh. "));
            let r = exhaustive(&c, factory, true, &|n, total| {
                pb.set_length(total);
                pb.set_position(n);
            });
            pb.finish();
            match r {
                Ok(r) => exhaustive_results.push(r),
                Err(e) => {
                    eprintln!("hsmspec conform: {}: {e}", c.name);
                    return ExitCode::from(2);
                }
            }
        }
    }
    summary(
        args,
        seed,
        &cfg,
        &factory.describe(),
        &random,
        &exhaustive_results,
    )
}

fn summary(
    args: &ConformArgs,
    seed: u64,
    cfg: &Config,
    implementation: &str,
    random: &CampaignResult,
    exh: &[ExhaustiveResult],
) -> ExitCode {
    let mut reached = random.triples.clone();
    for e in exh {
        reached.extend(e.triples.iter().copied());
    }
    let reachable = committed();
    let families = cfg.families;
    let (missed, left_out): (Vec<_>, Vec<_>) = missed(&reached)
        .into_iter()
        .partition(|t| families.contains(t.1.family()));
    let off: Vec<&str> = hsm_model::Family::ALL
        .into_iter()
        .filter(|f| !families.contains(*f))
        .map(|f| f.name())
        .collect();
    let steps_per_s = random.steps as f64 / random.seconds.max(1e-9);
    println!(
        "random: {} traces, {} steps, {:.2} s, {:.0} steps/s, {} failure(s)",
        random.traces,
        random.steps,
        random.seconds,
        steps_per_s,
        random.failures.len()
    );
    for e in exh {
        println!(
            "exhaustive {}: {} states, {} transitions, {} steps, {:.2} s, {} failure(s)",
            e.config,
            e.states,
            e.transitions,
            e.steps,
            e.seconds,
            e.failures.len()
        );
    }
    println!(
        "coverage: {} of the {} triples reachable in the model's `{}` check reached ({} triples reached in all)",
        reachable.triples.len() - missed.len() - left_out.len(),
        reachable.triples.len(),
        reachable.config,
        reached.len()
    );
    if !off.is_empty() {
        println!(
            "left out: the operation families {} (switched off by --ops): {} reachable triples not tested",
            off.join(", "),
            left_out.len()
        );
    }
    for t in &missed {
        println!("  not reached: {}", triple_text(t));
    }
    let failures: Vec<(String, &Failure)> = random
        .failures
        .iter()
        .map(|f| (format!("random-{}", f.case_seed), f))
        .chain(exh.iter().flat_map(|e| {
            e.failures
                .iter()
                .map(move |f| (format!("{}-{}", e.config, f.case), f))
        }))
        .collect();
    for (name, f) in &failures {
        println!(
            "\nFAILURE {name}: {} steps, shrunk to {} (1-minimal):\n{}",
            f.original_steps,
            f.trace.steps.len(),
            f.replay
        );
        if let Some(p) = write_failure(&args.failures_dir, name, f) {
            println!(
                "written to {} (replay: hsmspec replay {})",
                p.display(),
                p.display()
            );
        }
    }
    let verdict = if failures.is_empty() { "PASS" } else { "FAIL" };
    println!("verdict: {verdict}");
    if let Some(path) = &args.report {
        let report = serde_json::json!({
            "tool": "hsmspec conform",
            "version": env!("CARGO_PKG_VERSION"),
            "implementation": implementation,
            "model": format!("hsm-model {}", env!("CARGO_PKG_VERSION")),
            "seed": seed,
            "config": cfg,
            "options": { "cases": args.cases, "steps": args.steps, "exhaustive": args.exhaustive },
            "random": random,
            "exhaustive": exh,
            "coverage": {
                "config": reachable.config,
                "reachable": reachable.triples.len(),
                "reached": reachable.triples.len() - missed.len() - left_out.len(),
                "missed": missed.iter().map(triple_text).collect::<Vec<_>>(),
                "families_off": off,
                "left_out": left_out.iter().map(triple_text).collect::<Vec<_>>(),
            },
            "verdict": verdict,
        });
        if let Err(e) = std::fs::write(
            path,
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        ) {
            eprintln!("hsmspec conform: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.junit {
        let xml = junit(random, exh, &failures);
        if let Err(e) = std::fs::write(path, xml) {
            eprintln!("hsmspec conform: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn junit(
    random: &CampaignResult,
    exh: &[ExhaustiveResult],
    failures: &[(String, &Failure)],
) -> String {
    let mut cases = Vec::new();
    let failure_of = |prefix: &str| {
        failures
            .iter()
            .find(|(n, _)| n.starts_with(prefix))
            .map(|(_, f)| f)
    };
    cases.push((
        "random campaign".to_string(),
        random.seconds,
        failure_of("random-"),
    ));
    for e in exh {
        cases.push((
            format!("exhaustive {}", e.config),
            e.seconds,
            failure_of(&e.config),
        ));
    }
    let total: f64 = cases.iter().map(|c| c.1).sum();
    let nfail = cases.iter().filter(|c| c.2.is_some()).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"hsmspec conform\" tests=\"{}\" failures=\"{nfail}\" time=\"{total:.3}\">\n",
        cases.len()
    );
    for (name, secs, f) in cases {
        out.push_str(&format!(
            "  <testcase classname=\"hsmspec.conform\" name=\"{}\" time=\"{secs:.3}\"",
            xml_escape(&name)
        ));
        match f {
            None => out.push_str("/>\n"),
            Some(f) => out.push_str(&format!(
                ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n",
                xml_escape(&f.divergence.message),
                xml_escape(&f.replay)
            )),
        }
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}

/// Runs `hsmspec replay`: each trace against the model and the implementation; the first
/// divergence is shown.
pub fn replay(args: &ReplayArgs) -> ExitCode {
    let factory = match args.sut.factory() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("hsmspec replay: {e}");
            return ExitCode::from(2);
        }
    };
    let factory = &*factory;
    let mut diverged = false;
    for file in &args.files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("hsmspec replay: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        };
        let trace = match Trace::from_json(&text) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("hsmspec replay: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        };
        let run = run_trace(&trace, factory);
        println!(
            "{} ({}, {} steps):",
            file.display(),
            trace.name,
            trace.steps.len()
        );
        print!("{}", format_run(&trace.config, &run));
        if run.input_error.is_some() {
            return ExitCode::from(2);
        }
        if run.divergence.is_some() {
            diverged = true;
        } else {
            println!("conforms: no divergence");
        }
    }
    if diverged {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
