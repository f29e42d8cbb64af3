//! Model-guided exhaustive conformance against the correct implementation: every transition
//! of each exhaustive configuration's reachable graph (one test per configuration, so they run
//! in parallel).

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::exhaustive::{exhaustive, exhaustive_configs};

fn run(name: &str) {
    let cfg = exhaustive_configs()
        .into_iter()
        .find(|c| c.name == name)
        .expect("configuration exists");
    let r = exhaustive(&cfg, &ImplFactory::correct(), true, &|_, _| {}).expect("runs");
    println!(
        "{}: {} states, {} transitions, {} steps, {:.2} s",
        r.config, r.states, r.transitions, r.steps, r.seconds
    );
    if let Some(f) = r.failures.first() {
        panic!("divergence in {}:\n{}", r.config, f.replay);
    }
}

#[test]
fn exhaustive_fresh() {
    run("exhaustive-fresh");
}
#[test]
fn exhaustive_users() {
    run("exhaustive-users");
}
#[test]
fn exhaustive_keys() {
    run("exhaustive-keys");
}
#[test]
fn exhaustive_masking() {
    run("exhaustive-masking");
}
#[test]
fn exhaustive_zeroize() {
    run("exhaustive-zeroize");
}
#[test]
fn exhaustive_owners() {
    run("exhaustive-owners");
}
