//! The committed coverage file equals the model's reachable triples, regenerated.

use hsm_conformance::coverage::{committed, model_coverage, parse_coverage, COVERAGE_FILE};
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
        committed().expect("the committed file reads"),
        fresh,
        "{} is stale: regenerate with HSMSPEC_BLESS=1 cargo test -p hsm-conformance --test coverage",
        path.display()
    );
}

/// An unreadable coverage file is an error, never an empty set (with which nothing would ever
/// be "not reached").
#[test]
fn an_unreadable_coverage_file_is_an_error() {
    assert!(parse_coverage("").is_err());
    assert!(parse_coverage("{\"config\": \"x\"}").is_err());
    assert!(parse_coverage("{\"config\": \"x\", \"triples\": []}").is_err());
    let bad =
        parse_coverage("{\"config\": \"x\", \"triples\": [\"CU Encrypt Ok\", \"CU Fly Ok\"]}")
            .expect_err("an unknown operation")
            .to_string();
    assert!(bad.contains("CU Fly Ok"), "{bad}");
    let good = parse_coverage("{\"config\": \"x\", \"triples\": [\"CU Encrypt Ok\"]}")
        .expect("one triple");
    assert_eq!(good.set().expect("reads").len(), 1);
}
