//! For every invariant, a fault planted in `step` that the checker must report as a violation
//! of that invariant, with a path that replays from the initial state. A property that no
//! planted fault can break is not a property.

use crate::checker::properties::*;
use crate::checker::HsmModel;
use crate::planted::Planted;
use crate::run::{check, CheckOptions, Verdict};
use crate::Config;
use stateright::Model;

fn assert_caught(mut cfg: Config, fault: Planted, invariant: &str) {
    cfg.planted = Some(fault);
    let report = check(&cfg, &CheckOptions::default()).expect("valid configuration");
    let result = report.property(invariant).expect("known invariant");
    assert_eq!(
        result.verdict,
        Verdict::Violated,
        "{fault:?} should violate `{invariant}`"
    );
    // The path replays: from the setup state, step by step, to a state violating it.
    let model = HsmModel::new(cfg.clone()).unwrap();
    let mut s = model.setup_state().unwrap();
    for a in result.path.as_ref().expect("a counterexample path") {
        s = model.transition(&s, a).expect("within bounds").1;
    }
    let property = model
        .properties()
        .into_iter()
        .find(|p| p.name == invariant)
        .unwrap();
    assert!(
        !(property.condition)(&model, &s),
        "{fault:?}: the replayed path must end in a state violating `{invariant}`"
    );
    // And the correct step function holds the same invariant on the same configuration.
    cfg.planted = None;
    let clean = check(&cfg, &CheckOptions::default()).unwrap();
    assert_eq!(clean.property(invariant).unwrap().verdict, Verdict::Holds);
}

#[test]
fn a_cu_creating_users_breaks_the_table() {
    let mut cfg = Config::accounts();
    cfg.policy.max_users = 4; // room for a CU and the user it creates
    assert_caught(cfg, Planted::CuMayCreateUsers, OK_ALLOWED_BY_TABLE);
}

#[test]
fn a_preco_surviving_activation_is_caught() {
    assert_caught(
        Config::accounts(),
        Planted::PrecoSurvivesActivation,
        PRECO_ONLY_ON_HSM0_UNACTIVATED,
    );
}

#[test]
fn a_share_limit_not_enforced_is_caught() {
    assert_caught(
        Config::keys(),
        Planted::NoShareLimit,
        OWNERS_AND_SHARES_ARE_CUS,
    );
}

#[test]
fn encrypting_without_access_is_caught() {
    assert_caught(
        Config::keys(),
        Planted::EncryptWithoutAccess,
        KEY_USE_NEEDS_ACCESS,
    );
}

#[test]
fn insert_changing_the_owner_is_caught() {
    assert_caught(
        Config::masking(),
        Planted::InsertChangesOwner,
        OWNER_NEVER_CHANGES,
    );
}

#[test]
fn zeroize_keeping_keys_is_caught() {
    assert_caught(
        Config::masking(),
        Planted::ZeroizeKeepsKeys,
        BLANK_HSM_HOLDS_ONLY_AU,
    );
}

#[test]
fn deleting_a_logged_in_user_is_caught() {
    assert_caught(
        Config::accounts(),
        Planted::DeleteLoggedInUser,
        NO_SESSION_OF_GONE_USER,
    );
}

#[test]
fn a_co_deleting_itself_is_caught() {
    assert_caught(
        Config::accounts(),
        Planted::CallerMayDeleteItself,
        ACTIVE_HSM_HAS_CO,
    );
}

#[test]
fn deleting_a_user_that_owns_keys_is_caught() {
    assert_caught(
        Config::masking(),
        Planted::DeleteUserWithKeys,
        OWNERS_AND_SHARES_ARE_CUS,
    );
}
