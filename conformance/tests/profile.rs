//! Profiles over the in-process implementation: the committed profiles parse; a campaign under
//! a profile generates only what the profile has and passes on `hsm-impl` when no deviation is
//! declared; a declared deviation is the rule the system is held to, so `hsm-impl`, which does
//! not have it, fails.

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::error::Error;
use hsm_conformance::generate::{campaign, runner_config, CampaignOptions};
use hsm_conformance::profile::{Deviation, Profile};
use hsm_conformance::sut::{SutFactory, SystemUnderTest};
use hsm_model::{Config, Operation};

/// `hsm-impl` in process, held to a profile.
struct Profiled(ImplFactory, Profile);

impl SutFactory for Profiled {
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, Error> {
        self.0.fresh(cfg)
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn profile(&self) -> Option<&Profile> {
        Some(&self.1)
    }
}

/// A committed profile, for `hsm-impl`: a token's shape (one HSM, no AU) is the bridge's
/// (docs/real-hsms.md); `hsm-impl` has the AU and the campaign's HSMs, so it is held to the
/// profile's operations and deviations on the spec's cluster.
fn committed(name: &str) -> Profile {
    let path = format!("{}/profiles/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut p = Profile::read(std::path::Path::new(&path)).expect("the committed profile parses");
    assert_eq!(
        (p.hsms, p.appliance_user),
        (Some(1), false),
        "a token's shape"
    );
    p.hsms = None;
    p.appliance_user = true;
    p
}

fn opts(cases: u64) -> CampaignOptions {
    CampaignOptions {
        cases,
        steps: 60,
        seed: 20_261_203,
        stop_on_failure: true,
    }
}

#[test]
fn a_campaign_generates_only_what_the_profile_has() {
    let pkcs11 = committed("pkcs11");
    assert!(pkcs11.deviations.is_empty());
    let softhsm = committed("softhsm2");
    assert_eq!(softhsm.name, "pkcs11");
    assert_eq!(softhsm.deviations.len(), Deviation::ALL.len());
    let cfg = runner_config();
    let f = Profiled(ImplFactory::correct(), pkcs11.clone());
    let r = campaign(&cfg, &opts(300), &f, &|_| {}).expect("campaign runs");
    if let Some(fail) = r.failures.first() {
        panic!("{}", fail.replay);
    }
    let reached: Vec<Operation> = r.triples.iter().map(|t| t.1).collect();
    for op in Operation::ALL {
        assert_eq!(
            reached.contains(&op),
            pkcs11.has_operation(op),
            "{op:?}: reached {}",
            reached.contains(&op)
        );
    }
    assert!(r.deviations_seen.is_empty());
}

#[test]
fn a_declared_deviation_the_system_does_not_have_fails() {
    let mut p = committed("pkcs11");
    p.deviations = vec![Deviation::LogoutAlwaysOk];
    let f = Profiled(ImplFactory::correct(), p);
    let r = campaign(&runner_config(), &opts(100), &f, &|_| {}).expect("campaign runs");
    let fail = r.failures.first().expect("hsm-impl answers NotLoggedIn");
    assert!(
        fail.divergence
            .message
            .contains("model Ok, implementation NotLoggedIn"),
        "{}",
        fail.replay
    );
}
