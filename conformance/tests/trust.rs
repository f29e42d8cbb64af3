//! A verdict you can trust: a system that is wrong now and then is FAIL (flaky), never PASS; a
//! panic inside the system is a failure like any other; `check` decides the same verdict and
//! exit code whatever the output format; `replay` replays every file and counts them.

use clap::Parser;
use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::cli::{check_configs, CheckArgs, ConfigArgs};
use hsm_conformance::conform_cli::{replay, ReplayArgs};
use hsm_conformance::failure::{FailureFile, RERUNS};
use hsm_conformance::generate::{campaign, runner_config, CampaignOptions};
use hsm_conformance::runner::{is_one_minimal, PANIC_PREFIX};
use hsm_conformance::sut::{SutFactory, SystemUnderTest};
use hsm_conformance::verdict::Status;
use hsm_model::{Action, Config, Op, Outcome, State};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How a wrapped `hsm-impl` misbehaves.
#[derive(Clone, Copy)]
enum Misbehaviour {
    /// A wrong answer about once per 150 steps, at random (the randomness is the process's,
    /// not the trace's).
    WrongNowAndThen,
    /// One wrong answer in the factory's lifetime, at its 250th step.
    WrongOnce,
    /// A panic at every successful Logout.
    PanicAtLogout,
}

struct Misbehaving {
    inner: ImplFactory,
    how: Misbehaviour,
    /// Steps run by every system of this factory, and a random state.
    steps: Arc<AtomicU64>,
    random: Arc<AtomicU64>,
}

impl Misbehaving {
    fn new(how: Misbehaviour) -> Misbehaving {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7)
            | 1;
        Misbehaving {
            inner: ImplFactory::correct(),
            how,
            steps: Arc::new(AtomicU64::new(0)),
            random: Arc::new(AtomicU64::new(seed)),
        }
    }
}

struct MisbehavingSut {
    inner: Box<dyn SystemUnderTest>,
    how: Misbehaviour,
    steps: Arc<AtomicU64>,
    random: Arc<AtomicU64>,
}

impl SutFactory for Misbehaving {
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, String> {
        Ok(Box::new(MisbehavingSut {
            inner: self.inner.fresh(cfg)?,
            how: self.how,
            steps: self.steps.clone(),
            random: self.random.clone(),
        }))
    }
    fn describe(&self) -> String {
        "hsm-impl, misbehaving".into()
    }
}

impl SystemUnderTest for MisbehavingSut {
    fn step(&mut self, a: &Action, before: &State, expected: &Outcome) -> Result<Outcome, String> {
        let n = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        let wrong = match self.how {
            Misbehaviour::WrongNowAndThen => {
                // xorshift64 on the process-wide state.
                let mut x = self.random.load(Ordering::SeqCst);
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                self.random.store(x, Ordering::SeqCst);
                x.is_multiple_of(150)
            }
            Misbehaviour::WrongOnce => n == 250,
            Misbehaviour::PanicAtLogout => {
                if matches!(a.op, Op::Logout) && expected.is_ok() {
                    panic!("planted panic at Logout");
                }
                false
            }
        };
        let got = self.inner.step(a, before, expected)?;
        if wrong {
            return Err("a planted wrong answer".into());
        }
        Ok(got)
    }
    fn check_state(&mut self, model: &State) -> Result<(), String> {
        self.inner.check_state(model)
    }
    fn observe(&mut self) -> Result<Vec<String>, String> {
        self.inner.observe()
    }
}

fn default_campaign(seed: u64) -> CampaignOptions {
    CampaignOptions {
        cases: 3000,
        steps: 100,
        seed,
        stop_on_failure: true,
    }
}

/// The acceptance: on 10 seeds, a system wrong once per ~150 steps is FAIL (flaky),
/// and the failure file holds the original trace and at least 3 re-run outcomes.
#[test]
fn a_system_wrong_now_and_then_is_flaky_on_every_seed() {
    let cfg = runner_config();
    for seed in 1..=10u64 {
        let f = Misbehaving::new(Misbehaviour::WrongNowAndThen);
        let r = campaign(&cfg, &default_campaign(seed), &f, &|_| {}).expect("runs");
        assert!(r.traces < r.asked, "seed {seed}: stopped at the failure");
        let fail = r
            .failures
            .first()
            .unwrap_or_else(|| panic!("seed {seed}: no failure"));
        assert!(fail.flaky(), "seed {seed}: {}", fail.headline());
        assert!(fail.headline().starts_with("FAIL (flaky)"));
        let file: FailureFile = serde_json::from_str(&fail.file_json()).expect("reads back");
        let record = file.failure.expect("the record is saved");
        assert!(record.reruns.len() >= 3);
        assert_eq!(record.reruns.len(), RERUNS);
        assert_eq!(
            file.trace.steps.len(),
            record.original_steps,
            "the original trace"
        );
        assert!(record.runs_differ_at.is_some());
    }
}

#[test]
fn a_system_wrong_once_in_its_lifetime_is_flaky() {
    let cfg = runner_config();
    for seed in 1..=3u64 {
        let f = Misbehaving::new(Misbehaviour::WrongOnce);
        let r = campaign(&cfg, &default_campaign(seed), &f, &|_| {}).expect("runs");
        let fail = r.failures.first().expect("a failure, not a pass");
        assert!(fail.flaky(), "{}", fail.headline());
        assert!(fail.record.reruns.iter().all(|r| r.diverged_at.is_none()));
    }
}

/// A panic inside an in-process system is caught, reported, shrunk and saved.
#[test]
fn a_panic_in_the_system_is_a_shrunk_failure() {
    let cfg = runner_config();
    let f = Misbehaving::new(Misbehaviour::PanicAtLogout);
    let r = campaign(&cfg, &default_campaign(3), &f, &|_| {}).expect("runs");
    let fail = r.failures.first().expect("the panic is a failure");
    assert!(!fail.flaky());
    assert!(
        fail.divergence.message.starts_with(PANIC_PREFIX)
            && fail.divergence.message.contains("planted panic at Logout"),
        "{}",
        fail.divergence.message
    );
    assert!(is_one_minimal(&fail.trace, &f), "{}", fail.replay);
    assert_eq!(fail.trace.steps.len(), 2, "Login, Logout:\n{}", fail.replay);
}

#[derive(Parser)]
struct Check {
    #[command(flatten)]
    args: CheckArgs,
}

fn check_args(json: bool) -> CheckArgs {
    let argv: &[&str] = if json { &["t", "--json"] } else { &["t"] };
    Check::parse_from(argv).args
}

fn suite() -> Vec<Config> {
    ConfigArgs {
        config: "suite".into(),
        hsms: None,
        clients: None,
        names: None,
        keys: None,
        pool: None,
        ops: None,
        no_symmetry: false,
    }
    .configs()
    .expect("the suite")
}

/// `check` decides its verdict once: text and `--json` give the same exit code on a pass, on a
/// planted loss of coverage (a configuration of the suite left out: error codes and examples
/// unreached) and on a planted invariant violation.
#[test]
fn check_gives_the_same_verdict_in_text_and_json() {
    let pass = suite();
    let mut lost = suite();
    lost.retain(|c| c.name != "lifecycle");
    let mut violated = suite();
    violated.truncate(1);
    violated[0].planted = Some(hsm_model::step::Planted::PrecoSurvivesActivation);
    for (case, configs, want) in [
        ("pass", pass, Status::Pass),
        ("coverage lost", lost, Status::Fail),
        ("violation", violated, Status::Fail),
    ] {
        let text = check_configs(configs.clone(), &check_args(false)).expect("runs");
        let json = check_configs(configs, &check_args(true)).expect("runs");
        assert_eq!(text.status, want, "{case}: {}", text.line());
        assert_eq!(text, json, "{case}");
        assert_eq!(text.code(), json.code(), "{case}");
    }
}

#[derive(Parser)]
struct Replay {
    #[command(flatten)]
    args: ReplayArgs,
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hsmspec-trust-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// `replay` replays every file whatever the others hold, counts them, and exits 2 only for
/// unreadable input; a recorded outcome the model contradicts is a FAIL ("disagrees with the
/// spec at step N"); the report carries the same verdict.
#[test]
fn replay_replays_every_file() {
    let dir = scratch("replay");
    let traces = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
    let good = traces.join("exhaustive-fresh-the-PRECO-can-activate-the-cluster.json");
    let text = std::fs::read_to_string(&good).expect("a committed trace");
    let mut trace = hsm_model::Trace::from_json(&text).expect("reads");
    let last = trace.steps.len() - 1;
    trace.steps[last].outcome = Some(Err(hsm_model::ErrorCode::Forbidden));
    let disagree = dir.join("disagree.json");
    std::fs::write(&disagree, trace.to_json()).expect("write");
    let malformed = dir.join("malformed.json");
    std::fs::write(&malformed, "{ not json").expect("write");
    let missing = dir.join("missing.json");
    let report = dir.join("report.json");
    let run = |files: &[&std::path::Path], with_report: bool| {
        let mut argv: Vec<String> = vec!["t".into()];
        argv.extend(files.iter().map(|f| f.display().to_string()));
        if with_report {
            argv.push("--report".into());
            argv.push(report.display().to_string());
        }
        replay(&Replay::parse_from(argv).args)
    };
    // Unreadable files among conforming ones: every file is replayed, exit 2.
    let r = run(&[&good, &malformed, &missing, &good], true);
    assert!(r.is_err(), "unreadable input is a usage error");
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let verdicts: Vec<&str> = rep["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["verdict"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        verdicts,
        ["conforms", "unreadable", "unreadable", "conforms"]
    );
    // A trace that disagrees with the spec fails, in both modes, and the rest still runs.
    for with_report in [false, true] {
        let v = run(&[&disagree, &good], with_report).expect("readable");
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.code(), 1);
        assert!(
            v.line().contains("disagrees with the spec at step"),
            "{}",
            v.line()
        );
    }
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(rep["verdict"]["status"], "FAIL");
    assert_eq!(rep["summary"]["conform"], 1);
    assert_eq!(rep["summary"]["disagree_with_spec"], 1);
    // All conforming: PASS.
    let v = run(&[&good, &good], false).expect("readable");
    assert_eq!(v.code(), 0);
    std::fs::remove_dir_all(&dir).ok();
}
