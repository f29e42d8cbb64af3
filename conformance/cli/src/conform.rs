//! `hsmspec conform`: the random campaign (and with `--exhaustive`, the exhaustive one) against
//! a system under test, with reports (JSON, JUnit). It decides a [`Verdict`] (exit 0 PASS; 1
//! FAIL or INCOMPLETE; 2 usage errors, [`hsm_conformance::Error`]); `--report` and `--junit` only print it
//! another way.

use crate::options::{bar, shell_quote, writable, SutArgs};
use crate::output;
use crate::say;
use clap::Args;
use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::coverage::{committed, missed, triple_text};
use hsm_conformance::exhaustive::{
    exhaustive, exhaustive_configs, profile_configs, setup_fits, ExhaustiveResult,
};
use hsm_conformance::failure::Failure;
use hsm_conformance::generate::{
    campaign, runner_config, spec_policy_config, CampaignOptions, CampaignResult,
};
use hsm_conformance::process::ProcessFactory;
use hsm_conformance::profile::Deviation;
use hsm_conformance::sut::SutFactory;
use hsm_conformance::verdict::Verdict;
use hsm_conformance::Error;
use hsm_model::{Config, Families};
use std::path::PathBuf;
use std::time::Duration;

/// `hsmspec conform`.
#[derive(Args, Clone, Debug)]
pub struct ConformArgs {
    /// Random traces to run at the runner's small limits; a sixth as many (rounded up) run
    /// after them at the spec's default policy.
    #[arg(long, default_value_t = 3000)]
    pub cases: u64,
    /// Steps per random trace.
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// Seed of the random campaign (always printed; default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also replay every transition of the exhaustive configurations.
    #[arg(long)]
    pub exhaustive: bool,
    /// Write a JSON report here (the document `--json` prints).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print one JSON document on stdout (schema `hsmspec-conform/2`,
    /// docs/schema/hsmspec-output.schema.json); the text goes to stderr.
    #[arg(long)]
    pub json: bool,
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
    /// Run this many client threads against one cluster at once instead of the random
    /// campaign: a concurrent campaign, each history judged by linearizability against the
    /// model (hsm-impl in process).
    #[arg(long, value_name = "THREADS")]
    pub concurrent: Option<usize>,
    /// With --concurrent: histories to run.
    #[arg(long, default_value_t = 200)]
    pub histories: u64,
    /// Operation families to test (comma-separated: sessions, cluster, lifecycle, passwords,
    /// users, keys, crypto, masking; default all): the others are never generated, and the
    /// coverage report says what was left out.
    #[arg(long)]
    pub ops: Option<String>,
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

/// Saves a failure: the failure file (the trace with the runner's record) and, beside it, the
/// same trace as a scenario for people to read and edit (when the trace can be written so).
fn write_failure(
    dir: &std::path::Path,
    name: &str,
    f: &Failure,
) -> std::io::Result<(PathBuf, Option<PathBuf>)> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("hsmspec-failure-{name}.json"));
    std::fs::write(&path, f.file_json())?;
    let scenario = match hsm_model::scenario::to_scenario(&f.trace) {
        Ok(text) => {
            let p = dir.join(format!(
                "hsmspec-failure-{name}.{}",
                hsm_model::scenario::EXTENSION
            ));
            std::fs::write(&p, text)?;
            Some(p)
        }
        Err(_) => None,
    };
    Ok((path, scenario))
}

/// The random campaign's seed: `--seed`, or from the clock.
fn campaign_seed(args: &ConformArgs) -> u64 {
    args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    })
}

/// The operation families `--ops` names (all when it is not given).
fn families_of(args: &ConformArgs) -> Result<Families, Error> {
    match &args.ops {
        Some(t) => match Families::parse(t) {
            Ok(f) if f != Families::none() => Ok(f),
            Ok(_) => Err("--ops names no family".into()),
            Err(e) => Err(format!("--ops: {e}").into()),
        },
        None => Ok(Families::all()),
    }
}

/// Runs `hsmspec conform`.
pub fn conform(args: &ConformArgs) -> Result<Verdict, Error> {
    crate::output::text_to_stderr(args.json);
    let seed = campaign_seed(args);
    say!("seed: {seed}");
    let families = families_of(args)?;
    if let Some(threads) = args.concurrent {
        return crate::concurrent::conform_concurrent(args, threads, seed, families);
    }
    writable(&args.report, "cannot write the report")?;
    writable(&args.junit, "cannot write the JUnit report")?;
    std::fs::create_dir_all(&args.failures_dir).map_err(|e| {
        Error::Usage(format!(
            "cannot create the failures directory {}: {e}",
            args.failures_dir.display()
        ))
    })?;
    let reachable = committed()?;
    let mut cfg = runner_config();
    cfg.families = families;
    let profile = args.sut.read_profile()?;
    if let Some(p) = &profile {
        cfg = p.model_config(&cfg);
    }
    let mut adopted = None;
    let factory: Box<dyn SutFactory> = match &args.sut.sut_cmd {
        None => Box::new(ImplFactory::correct()),
        Some(cmd) => {
            let log = args.sut.protocol_log()?;
            let pf = ProcessFactory::command(cmd, Duration::from_millis(args.sut.timeout_ms))
                .with_max_version(args.sut.protocol_version)?
                .with_profile(profile.clone())
                .with_log(log.clone());
            let hello = pf.hello(&cfg).map_err(|e| format!("`{cmd}`: {e}"))?;
            say!(
                "implementation: {} (process `{cmd}`, protocol version {})",
                hello.implementation,
                hello.version
            );
            if hello.policy != cfg.policy {
                say!(
                    "the implementation runs its own limits ({}): the model takes them",
                    hsm_model::story::policy_text(&hello.policy)
                );
                cfg.policy = hello.policy;
                if let Some(p) = &profile {
                    cfg = p.model_config(&cfg);
                }
                cfg.validate()
                    .map_err(|e| format!("the implementation's policy: {e}"))?;
                adopted = Some(hello.policy);
            }
            Box::new(
                ProcessFactory::new(
                    &format!("{} (process `{cmd}`)", hello.implementation),
                    hsm_conformance::process::command_connector(cmd),
                    Duration::from_millis(args.sut.timeout_ms),
                )
                .with_max_version(args.sut.protocol_version)?
                .with_profile(profile.clone())
                .with_log(log),
            )
        }
    };
    let factory = &*factory;
    if let Some(p) = &profile {
        say!(
            "profile: {} ({} operations left out; deviations declared: {})",
            p.name,
            p.without.len(),
            list(&p.deviations.iter().map(|d| d.name()).collect::<Vec<_>>())
        );
    }
    if families != Families::all() {
        say!("operation families tested: {families}");
    }
    let opts = CampaignOptions {
        cases: args.cases,
        steps: args.steps,
        seed,
        stop_on_failure: true,
    };
    let pb = bar(args.cases, args.quiet, "random");
    let random = campaign(&cfg, &opts, factory, &|n| pb.set_position(n));
    pb.finish();
    let random = random?;
    let default_policy = default_policy_run(
        args,
        &cfg,
        &random,
        adopted,
        profile.as_ref(),
        &opts,
        factory,
    )?;
    let mut exhaustive_results = Vec::new();
    // The configurations asked for, and those left out with why.
    let (configs, mut skipped) = match &profile {
        Some(p) => profile_configs(p),
        None => (exhaustive_configs(), Vec::new()),
    };
    if !args.exhaustive {
        skipped.clear();
    }
    let asked: Vec<String> = configs.iter().map(|c| c.name.clone()).collect();
    let clean = random.failures.is_empty() && default_policy.failures().is_empty();
    if args.exhaustive && clean {
        for c in configs {
            let Some(mut c) = restrict(&c, families) else {
                skipped.push((
                    c.name.clone(),
                    "needs a family that --ops switched off".into(),
                ));
                continue;
            };
            if let Some(p) = adopted {
                let threshold = c.policy.lockout_threshold;
                c.policy = p;
                // Under `no_lockout` the model's threshold is unreachable whatever it is; the
                // configuration's own bounds the walk (exhaustive::Within).
                if profile
                    .as_ref()
                    .is_some_and(|p| p.has(Deviation::NoLockout))
                {
                    c.policy.lockout_threshold = threshold;
                }
            }
            if let Some(p) = &profile {
                if let Err(why) = setup_fits(p, &c) {
                    skipped.push((c.name.clone(), why));
                    continue;
                }
            }
            let pb = bar(0, args.quiet, &c.name.replace("exhaustive-", "exh. "));
            let r = exhaustive(&c, factory, true, &|n, total| {
                pb.set_length(total);
                pb.set_position(n);
            });
            pb.finish();
            let r = r.map_err(|e| format!("{}: {e}", c.name))?;
            let failed = !r.failures.is_empty();
            exhaustive_results.push(r);
            if failed {
                break;
            }
        }
    }
    let run = ConformRun {
        seed,
        cfg: &cfg,
        implementation: factory.describe(),
        random: &random,
        default_policy: &default_policy,
        exhaustive: &exhaustive_results,
        asked: &asked,
        skipped: &skipped,
        reachable: &reachable,
        profile: profile.as_ref(),
    };
    let verdict = run.verdict(args);
    run.print(args, &verdict)?;
    Ok(verdict)
}

/// The random campaign's run at the spec's default policy (SPEC's limits: lockout after 5
/// failures, 7 shares per key), after the run at the runner's small limits: what it ran, or
/// why it was not run.
pub enum DefaultPolicyRun {
    /// It ran, with this configuration.
    Ran(Box<Config>, CampaignResult),
    /// It was not run, for this reason (a sentence).
    NotRun(String),
}

impl DefaultPolicyRun {
    /// Its failures (none when it did not run).
    fn failures(&self) -> &[Failure] {
        match self {
            DefaultPolicyRun::Ran(_, r) => &r.failures,
            DefaultPolicyRun::NotRun(_) => &[],
        }
    }

    /// Its result, when it ran.
    fn result(&self) -> Option<&CampaignResult> {
        match self {
            DefaultPolicyRun::Ran(_, r) => Some(r),
            DefaultPolicyRun::NotRun(_) => None,
        }
    }
}

/// Traces of the run at the default policy: a sixth of `--cases`, rounded up.
pub fn default_policy_cases(cases: u64) -> u64 {
    cases.div_ceil(6)
}

/// Runs the campaign again at the spec's default policy, a sixth as many traces, unless the
/// first run failed (the campaign stops at its first failure) or the implementation runs
/// limits of its own (it cannot be reset to the spec's).
fn default_policy_run(
    args: &ConformArgs,
    cfg: &Config,
    random: &CampaignResult,
    adopted: Option<hsm_model::Policy>,
    profile: Option<&hsm_conformance::profile::Profile>,
    opts: &CampaignOptions,
    factory: &dyn SutFactory,
) -> Result<DefaultPolicyRun, Error> {
    if !random.failures.is_empty() {
        return Ok(DefaultPolicyRun::NotRun(
            "not run: the campaign stopped at its first failure".into(),
        ));
    }
    let mut spec = spec_policy_config();
    spec.families = cfg.families;
    if let Some(p) = profile {
        spec = p.model_config(&spec);
    }
    if let Some(own) = adopted {
        return Ok(DefaultPolicyRun::NotRun(if own == spec.policy {
            "not run again: the implementation runs the spec's default policy, so the run above was at it".into()
        } else {
            format!(
                "not run: the implementation runs limits of its own ({})",
                hsm_model::story::policy_text(&own)
            )
        }));
    }
    let opts = CampaignOptions {
        cases: default_policy_cases(args.cases),
        // Other traces than the first run's.
        seed: opts.seed.rotate_left(32),
        ..opts.clone()
    };
    let pb = bar(opts.cases, args.quiet, "default policy");
    let r = campaign(&spec, &opts, factory, &|n| pb.set_position(n));
    pb.finish();
    Ok(DefaultPolicyRun::Ran(Box::new(spec), r?))
}

/// What `hsmspec conform` ran, for its verdict and its reports.
struct ConformRun<'a> {
    seed: u64,
    cfg: &'a Config,
    implementation: String,
    random: &'a CampaignResult,
    default_policy: &'a DefaultPolicyRun,
    exhaustive: &'a [ExhaustiveResult],
    /// The exhaustive configurations asked for (those of the profile, D57).
    asked: &'a [String],
    /// Exhaustive configurations left out, with why: a family that is off, or (under a
    /// profile) what the profile does not have.
    skipped: &'a [(String, String)],
    reachable: &'a hsm_conformance::coverage::CoverageFile,
    profile: Option<&'a hsm_conformance::profile::Profile>,
}

/// Names, comma-separated, or `none`.
fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

impl ConformRun<'_> {
    /// Every failure with the name of its file.
    fn failures(&self) -> Vec<(String, &Failure)> {
        self.random
            .failures
            .iter()
            .map(|f| (format!("random-{}", f.case_seed), f))
            .chain(
                self.default_policy
                    .failures()
                    .iter()
                    .map(|f| (format!("default-policy-{}", f.case_seed), f)),
            )
            .chain(self.exhaustive.iter().flat_map(|e| {
                e.failures
                    .iter()
                    .map(move |f| (format!("{}-{}", e.config, f.case), f))
            }))
            .collect()
    }

    /// The verdict: FAIL on any failure (flaky included); INCOMPLETE when fewer traces ran
    /// than were asked for, or an exhaustive configuration asked for was not run.
    fn verdict(&self, args: &ConformArgs) -> Verdict {
        let mut v = Verdict::pass();
        for (name, f) in self.failures() {
            if f.flaky() {
                v.fail(format!(
                    "flaky: {name} diverged at step {}, and at that step in {} of {} re-runs",
                    f.divergence.step,
                    f.record
                        .reruns
                        .iter()
                        .filter(|r| r.diverged_at == f.record.first_run.diverged_at)
                        .count(),
                    f.record.reruns.len()
                ));
            } else {
                v.fail(format!(
                    "{name}: diverged at step {} of the saved trace",
                    f.divergence.step
                ));
            }
        }
        let r = self.random;
        let mut unsupported = std::collections::BTreeMap::new();
        for (op, n) in r
            .unsupported
            .iter()
            .chain(
                self.default_policy
                    .result()
                    .into_iter()
                    .flat_map(|d| &d.unsupported),
            )
            .chain(self.exhaustive.iter().flat_map(|e| &e.unsupported))
        {
            *unsupported.entry(*op).or_insert(0) += n;
        }
        if !unsupported.is_empty() {
            let ops: Vec<String> = unsupported
                .iter()
                .map(|(op, n)| format!("{op} ×{n}"))
                .collect();
            v.incomplete(format!(
                "{} trace(s) stopped untested where the implementation answered unsupported: {}",
                unsupported.values().sum::<u64>(),
                ops.join(", ")
            ));
        }
        if r.traces < r.asked {
            v.incomplete(format!("{} of {} random traces ran", r.traces, r.asked));
        }
        if let Some(d) = self.default_policy.result() {
            if d.traces < d.asked {
                v.incomplete(format!(
                    "{} of {} random traces at the spec's default policy ran",
                    d.traces, d.asked
                ));
            }
        }
        if args.exhaustive {
            let ran: Vec<&str> = self.exhaustive.iter().map(|e| e.config.as_str()).collect();
            let not_run = self
                .asked
                .iter()
                .filter(|c| {
                    !ran.contains(&c.as_str()) && !self.skipped.iter().any(|(n, _)| n == *c)
                })
                .count();
            if not_run > 0 {
                v.incomplete(format!("{not_run} exhaustive configurations not run"));
            }
            for e in self.exhaustive {
                if e.transitions < e.asked {
                    v.incomplete(format!(
                        "{}: {} of {} transitions replayed",
                        e.config, e.transitions, e.asked
                    ));
                }
            }
        }
        v
    }

    fn print(&self, args: &ConformArgs, verdict: &Verdict) -> Result<(), Error> {
        let (random, exh, cfg) = (self.random, self.exhaustive, self.cfg);
        let reached = self.reached();
        let families = cfg.families;
        let (missed, left_out) = self.missed();
        let off: Vec<&str> = hsm_model::Family::ALL
            .into_iter()
            .filter(|f| !families.contains(*f))
            .map(|f| f.name())
            .collect();
        let steps_per_s = random.steps as f64 / random.seconds.max(1e-9);
        say!(
            "random: {} of {} traces ran, {} steps, {:.2} s, {:.0} steps/s, {} failure(s)",
            random.traces,
            random.asked,
            random.steps,
            random.seconds,
            steps_per_s,
            random.failures.len()
        );
        match self.default_policy {
            DefaultPolicyRun::Ran(c, d) => say!(
                "random at the spec's default policy ({}): {} of {} traces ran, {} steps, {:.2} s, {} failure(s)",
                hsm_model::story::policy_text(&c.policy),
                d.traces,
                d.asked,
                d.steps,
                d.seconds,
                d.failures.len()
            ),
            DefaultPolicyRun::NotRun(why) => say!("random at the spec's default policy: {why}"),
        }
        for e in exh {
            say!(
                "exhaustive {}: {} states, {} of {} transitions replayed, {} steps, {:.2} s, {} failure(s)",
                e.config,
                e.states,
                e.transitions,
                e.asked,
                e.steps,
                e.seconds,
                e.failures.len()
            );
        }
        if args.exhaustive {
            for (name, why) in self.skipped {
                say!("exhaustive {name}: left out ({why})");
            }
        }
        let reachable = self.reachable;
        say!(
            "coverage: {} of the {} triples reachable in the model's `{}` check reached ({} triples reached in all)",
            reachable.triples.len() - missed.len() - left_out.len(),
            reachable.triples.len(),
            reachable.config,
            reached.len()
        );
        if !off.is_empty() || self.profile.is_some() {
            say!(
                "left out: {} reachable triples not tested (operation families switched off by --ops: {}; operations the profile does not have: {}{})",
                left_out.len(),
                list(&off),
                list(&self.profile.map(|p| p.without.iter().map(String::as_str).collect::<Vec<_>>()).unwrap_or_default()),
                if self.profile.is_some_and(|p| !p.appliance_user) {
                    "; every AU session: the profile has no AU"
                } else {
                    ""
                }
            );
        }
        if let Some(p) = self.profile {
            let mut seen = random.deviations_seen.clone();
            if let Some(d) = self.default_policy.result() {
                seen.extend(d.deviations_seen.iter().copied());
            }
            for e in exh {
                seen.extend(e.deviations_seen.iter().copied());
            }
            let declared: Vec<&str> = p.deviations.iter().map(|d| d.name()).collect();
            say!(
                "deviations declared by the profile `{}`: {}; seen: {}",
                p.name,
                list(&declared),
                list(&hsm_conformance::profile::names(&seen))
            );
        }
        let failures = self.failures();
        if !failures.is_empty() {
            if !missed.is_empty() {
                say!(
                    "  {} triples not reached (not listed: the campaign stopped at its first failure)",
                    missed.len()
                );
            }
        } else {
            for t in &missed {
                say!("  not reached: {}", triple_text(t));
            }
        }
        let mut campaign_cmd = format!(
            "hsmspec conform --seed {} --cases {} --steps {}",
            self.seed, args.cases, args.steps
        );
        if let Some(ops) = &args.ops {
            campaign_cmd.push_str(&format!(" --ops {}", shell_quote(ops)));
        }
        if args.exhaustive {
            campaign_cmd.push_str(" --exhaustive");
        }
        campaign_cmd.push_str(&args.sut.replay_options());
        let mut saved = Vec::new();
        for (name, f) in &failures {
            say!("\nFAILURE {name}: {}\n{}", f.headline(), f.replay);
            if f.flaky() {
                say!("  first run: {}", f.record.first_run.text());
                for (i, r) in f.record.reruns.iter().enumerate() {
                    say!("  re-run {}: {}", i + 1, r.text());
                }
            }
            match write_failure(&args.failures_dir, name, f) {
                Ok((p, scenario)) => {
                    say!(
                        "saved: {}\nreproduce: hsmspec replay {}{}",
                        p.display(),
                        shell_quote(&p.display().to_string()),
                        args.sut.replay_options()
                    );
                    if let Some(s) = scenario {
                        say!("as a scenario: {}", s.display());
                    }
                    saved.push(Some(p));
                }
                Err(e) => {
                    say!(
                        "could not save the trace in {}: {e}",
                        args.failures_dir.display()
                    );
                    saved.push(None);
                }
            }
            say!("the campaign again: {campaign_cmd}");
        }
        let doc = self.document(args, verdict, &saved, &campaign_cmd);
        if let Some(path) = &args.report {
            std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap_or_default())
                .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
        }
        if let Some(path) = &args.junit {
            let xml = junit(random, self.default_policy, exh, &failures)
                .map_err(|e| Error::Usage(format!("cannot write the JUnit report: {e}")))?;
            std::fs::write(path, xml)
                .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
        }
        if args.json {
            output::print_document(&doc);
        }
        say!("{}", verdict.line());
        Ok(())
    }

    /// The one JSON document of `--json` and `--report` (schema [`output::CONFORM_SCHEMA`]).
    fn document(
        &self,
        args: &ConformArgs,
        verdict: &Verdict,
        saved: &[Option<PathBuf>],
        campaign_cmd: &str,
    ) -> serde_json::Value {
        use serde_json::json;
        let (random, exh, cfg, reachable) =
            (self.random, self.exhaustive, self.cfg, self.reachable);
        let (missed, left_out) = self.missed();
        let failures: Vec<_> = self
            .failures()
            .iter()
            .zip(saved)
            .map(|((name, f), path)| {
                let actions: Vec<_> = f.trace.steps.iter().map(|s| s.action).collect();
                json!({
                    "name": name,
                    "flaky": f.flaky(),
                    "step": f.divergence.step,
                    "message": f.divergence.message,
                    "headline": f.headline(),
                    "original_steps": f.original_steps,
                    "steps": output::path_json(&f.trace.config, &actions),
                    "saved": path.as_ref().map(|p| p.display().to_string()),
                    "reproduce": path.as_ref().map(|p| format!(
                        "hsmspec replay {}{}",
                        shell_quote(&p.display().to_string()),
                        args.sut.replay_options()
                    )),
                    "campaign_again": campaign_cmd,
                })
            })
            .collect();
        let mut doc = output::header(output::CONFORM_SCHEMA, "hsmspec conform");
        doc.insert("verdict".into(), json!(verdict));
        for (k, v) in [
            ("implementation", json!(self.implementation)),
            (
                "model",
                json!(format!("hsm-model {}", env!("CARGO_PKG_VERSION"))),
            ),
            ("seed", json!(self.seed)),
            ("config", output::config_json(cfg)),
            (
                "options",
                json!({
                    "cases": args.cases,
                    "steps": args.steps,
                    "exhaustive": args.exhaustive,
                    "families": cfg.families.iter().map(|f| f.name()).collect::<Vec<_>>(),
                }),
            ),
            (
                "random",
                json!({
                    "asked": random.asked,
                    "traces": random.traces,
                    "steps": random.steps,
                    "seconds": random.seconds,
                    "failures": random.failures.len(),
                }),
            ),
            ("default_policy", self.default_policy_json()),
            (
                "exhaustive",
                exh.iter()
                    .map(|e| {
                        json!({
                            "config": e.config,
                            "states": e.states,
                            "asked": e.asked,
                            "transitions": e.transitions,
                            "steps": e.steps,
                            "seconds": e.seconds,
                            "failures": e.failures.len(),
                        })
                    })
                    .collect(),
            ),
            (
                "exhaustive_left_out",
                json!(self.skipped.iter().map(|(n, _)| n).collect::<Vec<_>>()),
            ),
            (
                "coverage",
                json!({
                    "config": reachable.config,
                    "reachable": reachable.triples.len(),
                    "reached": reachable.triples.len() - missed.len() - left_out.len(),
                    "missed": missed.iter().map(triple_text).collect::<Vec<_>>(),
                    "left_out": left_out.iter().map(triple_text).collect::<Vec<_>>(),
                }),
            ),
            ("failures", json!(failures)),
        ] {
            doc.insert(k.into(), v);
        }
        serde_json::Value::Object(doc)
    }

    /// The run at the default policy for machines: its policy and counts, or why it did not run.
    fn default_policy_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self.default_policy {
            DefaultPolicyRun::Ran(c, d) => json!({
                "ran": true,
                "policy": output::config_json(c)["policy"],
                "asked": d.asked,
                "traces": d.traces,
                "steps": d.steps,
                "seconds": d.seconds,
                "failures": d.failures.len(),
            }),
            DefaultPolicyRun::NotRun(why) => json!({ "ran": false, "not_run": why }),
        }
    }

    /// Every triple reached, by every run.
    fn reached(&self) -> std::collections::BTreeSet<hsm_model::Triple> {
        let mut reached = self.random.triples.clone();
        if let Some(d) = self.default_policy.result() {
            reached.extend(d.triples.iter().copied());
        }
        for e in self.exhaustive {
            reached.extend(e.triples.iter().copied());
        }
        reached
    }

    /// The reachable triples not reached: those of the families tested, and those left out
    /// with the families `--ops` switched off.
    fn missed(&self) -> (Vec<hsm_model::Triple>, Vec<hsm_model::Triple>) {
        let reached = self.reached();
        let families = self.cfg.families;
        let has = |t: &hsm_model::Triple| self.profile.is_none_or(|p| p.reaches(t));
        missed(self.reachable, &reached)
            .into_iter()
            .partition(|t| families.contains(t.1.family()) && has(t))
    }
}

/// The JUnit XML report: one test case per campaign (the random one, its run at the default
/// policy, each exhaustive configuration), failed with the divergence and the replayed trace (quick-junit writes it).
fn junit(
    random: &CampaignResult,
    default_policy: &DefaultPolicyRun,
    exh: &[ExhaustiveResult],
    failures: &[(String, &Failure)],
) -> Result<String, Error> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let failure_of = |prefix: &str| {
        failures
            .iter()
            .find(|(n, _)| n.starts_with(prefix))
            .map(|(_, f)| *f)
    };
    let mut cases = vec![(
        "random campaign".to_string(),
        random.seconds,
        failure_of("random-"),
    )];
    if let Some(d) = default_policy.result() {
        cases.push((
            "random campaign at the spec's default policy".to_string(),
            d.seconds,
            failure_of("default-policy-"),
        ));
    }
    for e in exh {
        cases.push((
            format!("exhaustive {}", e.config),
            e.seconds,
            failure_of(&e.config),
        ));
    }
    let mut suite = TestSuite::new("hsmspec conform");
    for (name, seconds, failure) in cases {
        let status = match failure {
            None => TestCaseStatus::success(),
            Some(f) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(f.divergence.message.clone())
                    .set_description(format!("{}\n{}", f.headline(), f.replay));
                status
            }
        };
        let mut case = TestCase::new(name, status);
        case.set_classname("hsmspec.conform")
            .set_time(Duration::from_secs_f64(seconds.max(0.0)));
        suite.add_test_case(case);
    }
    let mut report = Report::new("hsmspec conform");
    report.add_test_suite(suite);
    report.to_string().map_err(|e| Error::Usage(e.to_string()))
}
