//! The committed coverage file equals the model's reachable triples, regenerated.

use hsm_conformance::coverage::{committed, model_coverage, COVERAGE_FILE};
use hsm_conformance::exhaustive::exhaustive_configs;

#[test]
fn committed_coverage_matches_the_model_check() {
    let fresh = model_coverage(&exhaustive_configs()).expect("model check runs");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(COVERAGE_FILE);
    if std::env::var("HSMSPEC_BLESS").is_ok() {
        std::fs::write(&path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
        return;
    }
    assert_eq!(
        committed(),
        fresh,
        "{} is stale: regenerate with HSMSPEC_BLESS=1 cargo test -p hsm-conformance --test coverage",
        path.display()
    );
}
