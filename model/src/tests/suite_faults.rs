//! Every planted fault is caught by the default suite of `hsmspec check` as it is (the presets
//! unchanged): some member reports a violated invariant.

use crate::run::{check, CheckOptions, Verdict};
use crate::tests::simulate::FAULTS;
use crate::Config;

#[test]
fn every_planted_fault_is_caught_by_the_per_concern_members_of_the_suite() {
    for (fault, _) in FAULTS {
        let caught = ["accounts", "lifecycle", "keys", "masking"]
            .into_iter()
            .find(|name| {
                let mut cfg = Config::preset(name).expect("a preset");
                cfg.planted = Some(fault);
                let r = check(&cfg, &CheckOptions::default()).expect("valid");
                r.properties.iter().any(|p| p.verdict == Verdict::Violated)
            });
        assert!(
            caught.is_some(),
            "{fault:?} is caught by no member of the suite"
        );
    }
}
