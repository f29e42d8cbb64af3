//! The runner has teeth: the default random campaign and the exhaustive campaign each catch
//! every fault of `hsm-impl`'s zoo (feature `faults`, enabled for this crate's tests only),
//! with a 1-minimal trace.

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::exhaustive::{exhaustive, exhaustive_configs};
use hsm_conformance::generate::{campaign, runner_config, CampaignOptions};
use hsm_conformance::runner::is_one_minimal;
use hsm_conformance::sut::{SutFactory, SystemUnderTest};
use hsm_conformance::Error;
use hsm_impl::{Cluster, Fault};
use hsm_model::{Action, Config, LargeState, Outcome};
use std::sync::Arc;

fn faulty(fault: Fault) -> ImplFactory {
    ImplFactory::with_constructor(
        &format!("hsm-impl with {fault:?}"),
        Arc::new(move |n, pw, p| Cluster::new_with_fault(n, pw, p, Some(fault))),
    )
}

/// The random campaign of `random_campaign.rs` (same cases, steps and seed).
#[test]
fn default_random_campaign_catches_every_fault() {
    let seed = 20_261_101;
    let cfg = runner_config();
    let mut missed = Vec::new();
    for &fault in Fault::ALL {
        let f = faulty(fault);
        let opts = CampaignOptions {
            cases: 3000,
            steps: 100,
            seed,
            stop_on_failure: true,
        };
        let r = campaign(&cfg, &opts, &f, &|_| {}).expect("campaign runs");
        match r.failures.first() {
            Some(fail) => {
                assert!(
                    is_one_minimal(&fail.trace, &f),
                    "{fault:?}: not 1-minimal:\n{}",
                    fail.replay
                );
                println!(
                    "random   {fault:?}: case {}, {} steps shrunk to {}: {}",
                    fail.case,
                    fail.original_steps,
                    fail.trace.steps.len(),
                    fail.divergence.message
                );
            }
            None => missed.push(fault),
        }
    }
    assert!(missed.is_empty(), "the random campaign missed {missed:?}");
}

/// Which exhaustive configuration catches each fault first (tried first; the others follow).
fn hint(fault: Fault) -> &'static str {
    use Fault::*;
    match fault {
        CuMayCreateUsers
        | SharedUserMayDeleteKey
        | ShareLimitOneHigh
        | UnwrapKeepsShares
        | WrapIgnoresExtractable => "exhaustive-keys",
        ForeignMaskedAccepted | InsertChangesOwner | ExtractIgnoresOwnership => {
            "exhaustive-masking"
        }
        ZeroizeKeepsKeys | CoMayUseKeys | KeyIdReusedAfterZeroize => "exhaustive-zeroize",
        DeleteUserWithKeys => "exhaustive-owners",
        ChecksOutOfOrder
        | ChangePasswordOfLoggedInUser
        | DeletedUserStaysLoggedIn
        | ChangeOwnPasswordUnlocks
        | UserLimitIgnoresAu
        | ErrorLeavesPartialEffect
        | NamesNotLowerCased => "exhaustive-users",
        _ => "exhaustive-fresh",
    }
}

#[test]
fn exhaustive_campaign_catches_every_fault() {
    let mut missed = Vec::new();
    for &fault in Fault::ALL {
        let f = faulty(fault);
        let mut configs = exhaustive_configs();
        configs.sort_by_key(|c| c.name != hint(fault));
        let mut caught = false;
        for cfg in &configs {
            let r = exhaustive(cfg, &f, true, &|_, _| {}).expect("runs");
            if let Some(fail) = r.failures.first() {
                assert!(
                    is_one_minimal(&fail.trace, &f),
                    "{fault:?}: not 1-minimal:\n{}",
                    fail.replay
                );
                println!(
                    "exhaustive {fault:?}: {} after {} transitions, {} steps shrunk to {}: {}",
                    cfg.name,
                    r.transitions,
                    fail.original_steps,
                    fail.trace.steps.len(),
                    fail.divergence.message
                );
                caught = true;
                break;
            }
            println!("exhaustive {fault:?}: not caught by {}", cfg.name);
        }
        if !caught {
            missed.push(fault);
        }
    }
    assert!(
        missed.is_empty(),
        "the exhaustive campaign missed {missed:?}"
    );
}

/// A system under test with one of the runner's two state checks switched off: the comparison
/// with the model's state (`check_state`) or the "errors change nothing" comparison of the
/// inspection view before and after an error (`observe`).
struct OneCheck {
    inner: ImplFactory,
    model_state: bool,
}

struct OneCheckSut {
    inner: Box<dyn SystemUnderTest>,
    model_state: bool,
}

impl SutFactory for OneCheck {
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, Error> {
        Ok(Box::new(OneCheckSut {
            inner: self.inner.fresh(cfg)?,
            model_state: self.model_state,
        }))
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

impl SystemUnderTest for OneCheckSut {
    fn step(
        &mut self,
        a: &Action,
        before: &LargeState,
        expected: &Outcome,
    ) -> Result<Outcome, Error> {
        self.inner.step(a, before, expected)
    }
    fn check_state(&mut self, model: &LargeState) -> Result<(), Error> {
        if self.model_state {
            self.inner.check_state(model)
        } else {
            Ok(())
        }
    }
    fn observe(&mut self) -> Result<Vec<String>, Error> {
        if self.model_state {
            Ok(Vec::new())
        } else {
            self.inner.observe()
        }
    }
}

/// SPEC §3 "nothing changes on an error" is checked by the runner on its own, independently of
/// the model: with the comparison against the model's state switched off, the before/after
/// comparison of the inspection view alone still catches `ErrorLeavesPartialEffect` (a
/// CreateUser answering UserLimit that adds the user anyway), with a 1-minimal trace; with
/// both on, it is the check that reports it. (The comparison against the model's state alone
/// catches it too, one check later: the extra user is in the inspection view.)
#[test]
fn errors_change_nothing_on_their_own() {
    let cfg = runner_config();
    let opts = CampaignOptions {
        cases: 200,
        steps: 100,
        seed: 20_261_101,
        stop_on_failure: true,
    };
    let full = faulty(Fault::ErrorLeavesPartialEffect);
    let unchanged_only = OneCheck {
        inner: full.clone(),
        model_state: false,
    };
    let model_only = OneCheck {
        inner: full.clone(),
        model_state: true,
    };
    for (what, f) in [
        ("full runner", &full as &dyn SutFactory),
        ("errors-change-nothing check alone", &unchanged_only),
    ] {
        let r = campaign(&cfg, &opts, f, &|_| {}).expect("campaign runs");
        let fail = r
            .failures
            .first()
            .unwrap_or_else(|| panic!("{what}: ErrorLeavesPartialEffect not caught"));
        assert!(
            fail.divergence
                .message
                .contains("but changed the system's state"),
            "{what}: {}",
            fail.replay
        );
        assert!(is_one_minimal(&fail.trace, f), "{what}: {}", fail.replay);
        println!(
            "{what}: case {}, {} steps shrunk to {}: {}",
            fail.case,
            fail.original_steps,
            fail.trace.steps.len(),
            fail.divergence.message
        );
    }
    let r = campaign(&cfg, &opts, &model_only, &|_| {}).expect("campaign runs");
    let fail = r
        .failures
        .first()
        .expect("the model comparison catches it too");
    assert!(fail.divergence.message.starts_with("state after the step"));
    println!("model comparison alone: {}", fail.divergence.message);
    // The real implementation passes the same campaign with every check on.
    let r = campaign(&cfg, &opts, &ImplFactory::correct(), &|_| {}).expect("campaign runs");
    assert!(r.failures.is_empty(), "{}", r.failures[0].replay);
}
