//! Model-guided exhaustive conformance against the correct implementation.

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::exhaustive::{exhaustive, exhaustive_configs};

#[test]
fn every_transition_of_the_exhaustive_configurations_conforms() {
    for cfg in exhaustive_configs() {
        let r = exhaustive(&cfg, &ImplFactory::correct(), true, &|_, _| {}).expect("runs");
        println!(
            "{}: {} states, {} transitions, {} steps, {:.2} s",
            r.config, r.states, r.transitions, r.steps, r.seconds
        );
        if let Some(f) = r.failures.first() {
            panic!("divergence in {}:\n{}", r.config, f.replay);
        }
    }
}
