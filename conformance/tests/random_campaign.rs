//! The default random campaign against the correct implementation: no divergence.

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::generate::{campaign, runner_config, spec_policy_config, CampaignOptions};

/// Cases and steps of the default campaign (`cargo test`); the seed is printed.
pub const CASES: u64 = 3000;
pub const STEPS: usize = 100;

#[test]
fn default_campaign_passes_on_the_correct_implementation() {
    let seed = std::env::var("HSMSPEC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_101);
    println!("seed {seed}");
    let cfg = runner_config();
    let opts = CampaignOptions {
        cases: CASES,
        steps: STEPS,
        seed,
        stop_on_failure: true,
    };
    let r = campaign(&cfg, &opts, &ImplFactory::correct(), &|_| {}).expect("campaign runs");
    println!(
        "{} traces, {} steps, {:.2} s, {:.0} steps/s, {} triples",
        r.traces,
        r.steps,
        r.seconds,
        r.steps as f64 / r.seconds,
        r.triples.len()
    );
    if let Some(f) = r.failures.first() {
        panic!("divergence (seed {seed}, case {}):\n{}", f.case, f.replay);
    }
    // And a run at SPEC's default policy: objects with several shares, counters past 2.
    let spec = spec_policy_config();
    let opts = CampaignOptions {
        cases: CASES / 6,
        ..opts
    };
    let r = campaign(&spec, &opts, &ImplFactory::correct(), &|_| {}).expect("campaign runs");
    println!(
        "at the default policy: {} traces, {} steps, {:.2} s",
        r.traces, r.steps, r.seconds
    );
    if let Some(f) = r.failures.first() {
        panic!(
            "divergence at the default policy (seed {seed}, case {}):\n{}",
            f.case, f.replay
        );
    }
}

#[test]
fn default_campaign_coverage() {
    let cfg = runner_config();
    let opts = CampaignOptions {
        cases: CASES,
        steps: STEPS,
        seed: 20_261_101,
        stop_on_failure: true,
    };
    let r = campaign(&cfg, &opts, &ImplFactory::correct(), &|_| {}).expect("campaign runs");
    let committed = hsm_conformance::coverage::committed().expect("the committed coverage reads");
    let missed = hsm_conformance::coverage::missed(&committed, &r.triples);
    println!(
        "reached {} triples; of the committed reachable ones, missed {}:",
        r.triples.len(),
        missed.len()
    );
    for t in &missed {
        println!("  {}", hsm_conformance::coverage::triple_text(t));
    }
    assert!(
        missed.is_empty(),
        "the default campaign must reach every committed triple"
    );
}
