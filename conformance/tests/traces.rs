//! Committed traces (`conformance/traces/*.json`) and the paths the model checker finds
//! (what `hsmspec check --save-paths` writes) replay on the implementation without divergence.

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::exhaustive::exhaustive_configs;
use hsm_conformance::runner::{format_run, run_trace};
use hsm_model::run::{check, CheckOptions};
use hsm_model::trace::Trace;

fn property_paths() -> Vec<(String, Trace)> {
    let mut out = Vec::new();
    for cfg in exhaustive_configs() {
        let report = check(&cfg, &CheckOptions::default()).expect("check runs");
        for p in &report.properties {
            let Some(path) = &p.path else { continue };
            let trace = Trace::from_actions(p.name, &report.config, path);
            let file: String = format!("{}-{}", cfg.name, p.name)
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            out.push((file, trace));
        }
    }
    out
}

#[test]
fn checker_paths_replay_without_divergence() {
    let factory = ImplFactory::correct();
    let paths = property_paths();
    assert!(!paths.is_empty());
    for (name, trace) in &paths {
        let run = run_trace(trace, &factory);
        assert!(
            run.divergence.is_none() && run.input_error.is_none(),
            "{name}:\n{}",
            format_run(&trace.config, &run)
        );
    }
    println!("{} checker paths replayed", paths.len());
}

#[test]
fn committed_traces_replay_without_divergence() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
    if std::env::var("HSMSPEC_BLESS").is_ok() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, trace) in property_paths() {
            std::fs::write(
                dir.join(format!("{}.json", name.trim_matches('-'))),
                trace.to_json(),
            )
            .unwrap();
        }
    }
    let factory = ImplFactory::correct();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("conformance/traces exists") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let trace = Trace::from_json(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let run = run_trace(&trace, &factory);
        assert!(
            run.divergence.is_none() && run.input_error.is_none(),
            "{}:\n{}",
            path.display(),
            format_run(&trace.config, &run)
        );
        n += 1;
    }
    assert!(n > 0, "no committed traces");
    println!("{n} committed traces replayed");
}
