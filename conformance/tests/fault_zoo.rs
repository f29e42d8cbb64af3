//! The runner has teeth: the default random campaign and the exhaustive campaign each catch
//! every fault of `hsm-impl`'s zoo (feature `faults`, enabled for this crate's tests only),
//! with a 1-minimal trace.

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::exhaustive::{exhaustive, exhaustive_configs};
use hsm_conformance::generate::{campaign, runner_config, CampaignOptions};
use hsm_conformance::runner::is_one_minimal;
use hsm_impl::{Cluster, Fault};
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
        | UserLimitIgnoresAu => "exhaustive-users",
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
