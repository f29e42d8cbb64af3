//! A verdict you can trust: a system that is wrong now and then is FAIL (flaky), never PASS,
//! with the original trace and every re-run saved; a panic inside the system is a failure like
//! any other, shrunk and saved.

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::failure::{FailureFile, RERUNS};
use hsm_conformance::generate::{campaign, runner_config, CampaignOptions};
use hsm_conformance::runner::{is_one_minimal, PANIC_PREFIX};
use hsm_conformance::sut::{SutFactory, SystemUnderTest};
use hsm_conformance::Error;
use hsm_model::{Action, Config, LargeState, Op, Outcome};
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
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, Error> {
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
    fn step(
        &mut self,
        a: &Action,
        before: &LargeState,
        expected: &Outcome,
    ) -> Result<Outcome, Error> {
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
            return Err(Error::Divergence("a planted wrong answer".into()));
        }
        Ok(got)
    }
    fn check_state(&mut self, model: &LargeState) -> Result<(), Error> {
        self.inner.check_state(model)
    }
    fn observe(&mut self) -> Result<Vec<String>, Error> {
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
