//! The JSON documents of `check`, `conform`, `replay` and `table`, printed by the real binary,
//! validate against `docs/schema/hsmspec-output.schema.json` (with the `jsonschema` crate), on
//! success and on failure; each is one document with its schema version and its verdict; a
//! document missing its verdict, or carrying a field the schema does not know, is rejected.
//!
//! python3 is required (a deterministically wrong implementation, `tests/misbehave.py`).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const HSMSPEC: &str = env!("CARGO_BIN_EXE_hsmspec");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema() -> Value {
    let path = root().join("docs/schema/hsmspec-output.schema.json");
    let text = std::fs::read_to_string(&path).expect("the committed schema");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// The schema narrowed to one of its documents (`check`, `conform`, …).
fn validator(document: &str) -> jsonschema::Validator {
    let mut s = schema();
    s.as_object_mut().expect("an object").remove("oneOf");
    s["$ref"] = json!(format!("#/$defs/{document}"));
    jsonschema::validator_for(&s).expect("a valid schema")
}

fn assert_valid(document: &str, doc: &Value) {
    let v = validator(document);
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{document}: {}", errors.join("\n"));
    // The whole schema (one of the four documents) takes it too.
    let whole = jsonschema::validator_for(&schema()).expect("a valid schema");
    assert!(whole.is_valid(doc), "{document}: not one of the documents");
}

/// Runs the binary; (exit code, the one JSON document on stdout, stderr).
fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(HSMSPEC)
        .args(args)
        .current_dir(root())
        .output()
        .expect("hsmspec runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON document ({e}):\n{stdout}"));
    (out.status.code().unwrap_or(-1), doc, stderr)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hsmspec-schema-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn check_on_the_suite_is_one_document_with_the_suite_verdict() {
    let (code, doc, _) = run(&["check", "--json", "--progress", "none"]);
    assert_valid("check", &doc);
    assert_eq!(code, 0);
    assert_eq!(doc["schema"], "hsmspec-check/1");
    assert_eq!(doc["verdict"]["status"], "PASS");
    assert_eq!(doc["configurations"].as_array().map(Vec::len), Some(5));
    assert_eq!(doc["suite"]["error_codes_missing"], json!([]));
    let ids: Vec<&str> = doc["configurations"][0]["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(ids.contains(&"ok-allowed-by-table"), "{ids:?}");
    assert!(ids.contains(&"activation"), "{ids:?}");
}

#[test]
fn check_cut_by_its_timeout_is_incomplete_in_json() {
    let (code, doc, _) = run(&[
        "check",
        "--config",
        "masking",
        "--timeout",
        "0",
        "--json",
        "--progress",
        "none",
    ]);
    assert_valid("check", &doc);
    assert_eq!(code, 1);
    assert_eq!(doc["verdict"]["status"], "INCOMPLETE");
    assert_eq!(doc["configurations"][0]["complete"], false);
}

#[test]
fn a_planted_violation_validates_and_fails() {
    use hsmspec::check::{check_document, report_verdict};
    let mut cfg = hsm_model::Config::preset("accounts").expect("a preset");
    cfg.planted = Some(hsm_model::planted::Planted::PrecoSurvivesActivation);
    let report =
        hsm_model::run::check(&cfg, &hsm_model::run::CheckOptions::default()).expect("runs");
    let verdict = report_verdict(&report);
    let doc = check_document(&[report], None, &verdict);
    assert_valid("check", &doc);
    assert_eq!(doc["verdict"]["status"], "FAIL");
    let violated: Vec<&Value> = doc["configurations"][0]["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .filter(|p| p["verdict"] == "violated")
        .collect();
    assert!(!violated.is_empty());
    let path = violated[0]["path"].as_array().expect("a path");
    assert!(path.iter().any(|s| s["operation"] == "Login"));
}

#[test]
fn conform_and_replay_documents_validate_on_pass_and_on_failure() {
    let dir = scratch("conform");
    let dir_s = dir.display().to_string();
    let common = [
        "--cases",
        "20",
        "--steps",
        "30",
        "--seed",
        "7",
        "--quiet",
        "--json",
        "--failures-dir",
    ];
    let junit = dir.join("junit.xml").display().to_string();
    let mut pass: Vec<&str> = vec!["conform"];
    pass.extend(common);
    pass.extend([dir_s.as_str(), "--junit", &junit]);
    let (code, doc, stderr) = run(&pass);
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report");
    assert!(
        xml.contains("tests=\"2\"")
            && xml.contains("name=\"random campaign at the spec&apos;s default policy\""),
        "{xml}"
    );
    assert_valid("conform", &doc);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["verdict"]["status"], "PASS");
    assert_eq!(doc["schema"], "hsmspec-conform/2");
    // After the run at the runner's small limits, a sixth as many traces at SPEC's default
    // policy (lockout after 5 failures, 7 shares per key): in the document and in the text.
    let spec = &doc["default_policy"];
    assert_eq!(spec["ran"], true, "{spec}");
    assert_eq!(spec["asked"], 4);
    assert_eq!(spec["traces"], 4);
    assert_eq!(spec["failures"], 0);
    assert_eq!(spec["policy"]["lockout_threshold"], 5);
    assert_eq!(spec["policy"]["max_shares"], 7);
    assert_eq!(
        doc["config"]["policy"]["max_shares"], 1,
        "the first run's small limits"
    );
    assert!(
        stderr.contains("random at the spec's default policy (")
            && stderr.contains("4 of 4 traces ran"),
        "{stderr}"
    );

    let sut = format!(
        "python3 {} {HSMSPEC} deny-logout",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/misbehave.py")
            .display()
    );
    let mut fail = pass.clone();
    fail.extend(["--sut-cmd", &sut]);
    let (code, doc, stderr) = run(&fail);
    assert_valid("conform", &doc);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(doc["verdict"]["status"], "FAIL");
    assert_eq!(doc["default_policy"]["ran"], false);
    assert!(doc["default_policy"]["not_run"]
        .as_str()
        .is_some_and(|w| w.contains("stopped at its first failure")));
    let failure = &doc["failures"][0];
    let saved = failure["saved"].as_str().expect("the trace was saved");
    assert!(failure["steps"]
        .as_array()
        .is_some_and(|s| s.iter().any(|s| s["operation"] == "Logout")));

    let good =
        root().join("conformance/traces/exhaustive-fresh-the-PRECO-can-activate-the-cluster.json");
    let good = good.display().to_string();
    let (code, doc, _) = run(&["replay", "--json", &good]);
    assert_valid("replay", &doc);
    assert_eq!(code, 0);
    assert_eq!(doc["summary"]["conform"], 1);
    let (code, doc, _) = run(&["replay", "--json", saved, "--sut-cmd", &sut]);
    assert_valid("replay", &doc);
    assert_eq!(code, 1);
    assert_eq!(doc["files"][0]["verdict"], "diverges");

    // A directory of scenarios, and one whose expectation the spec contradicts (its line is in
    // the document), and one a process diverges on (the line of the divergent step).
    let (code, doc, _) = run(&["replay", "--json", "conformance/scenarios"]);
    assert_valid("replay", &doc);
    assert_eq!(code, 0);
    assert!(doc["summary"]["conform"].as_u64().is_some_and(|n| n >= 30));
    let text = std::fs::read_to_string(root().join("conformance/scenarios/share-limit.scenario"))
        .expect("a committed scenario");
    let wrong = dir.join("wrong.scenario");
    std::fs::write(&wrong, text.replacen("-> ShareLimit", "-> ok", 1)).expect("write");
    let wrong = wrong.display().to_string();
    let (code, doc, _) = run(&["replay", "--json", &wrong]);
    assert_valid("replay", &doc);
    assert_eq!(code, 1);
    assert_eq!(doc["files"][0]["verdict"], "disagrees_with_spec");
    assert!(doc["files"][0]["line"].is_u64(), "{doc}");
    let logout = root().join("conformance/scenarios/sessions.scenario");
    let (code, doc, _) = run(&[
        "replay",
        "--json",
        &logout.display().to_string(),
        "--sut-cmd",
        &sut,
    ]);
    assert_valid("replay", &doc);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["files"][0]["verdict"], "diverges");
    assert!(doc["files"][0]["line"].is_u64(), "{doc}");
}

#[test]
fn table_json_validates() {
    let (code, doc, _) = run(&["table", "--format", "json"]);
    assert_valid("table", &doc);
    assert_eq!(code, 0);
    assert_eq!(doc["table"]["key_management_functions"]["cu"], true);
    assert_eq!(doc["table"]["key_management_functions"]["co"], false);
}

/// The schema rejects what it should: no verdict, an unknown field, an unknown property id.
#[test]
fn the_schema_rejects_a_document_without_its_verdict_or_with_unknown_fields() {
    let v = validator("replay");
    let good = json!({
        "schema": "hsmspec-replay/3",
        "tool": "hsmspec replay",
        "version": "0.1.0",
        "verdict": { "status": "PASS", "reasons": [], "failures": [], "not_checked": [] },
        "implementation": "hsm-impl",
        "files": [],
        "summary": { "conform": 0, "diverge": 0, "disagree_with_spec": 0, "unreadable": 0, "undecided": 0, "unsupported": 0, "outside_profile": 0, "changed_by_profile": 0 },
    });
    assert!(v.is_valid(&good));
    let mut no_verdict = good.clone();
    no_verdict
        .as_object_mut()
        .expect("object")
        .remove("verdict");
    assert!(!v.is_valid(&no_verdict), "a document without its verdict");
    let mut unknown = good.clone();
    unknown["surprise"] = json!(1);
    assert!(!v.is_valid(&unknown), "an unknown field");
    let mut bad_status = good.clone();
    bad_status["verdict"]["status"] = json!("holds");
    assert!(!v.is_valid(&bad_status), "a status that is no verdict");
    let whole = jsonschema::validator_for(&schema()).expect("a valid schema");
    assert!(!whole.is_valid(&no_verdict));
}

#[test]
fn simulate_json_validates_on_a_pass() {
    let (code, doc, _) = run(&[
        "simulate", "--config", "masking", "--seed", "3", "--walks", "200", "--depth", "20",
        "--json",
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["schema"], "hsmspec-simulate/1");
    assert_eq!(doc["verdict"]["status"], "PASS");
    assert_eq!(doc["walks"], 200);
    assert!(doc["violation"].is_null());
    assert_valid("simulate", &doc);
}

/// A planted fault: FAIL, the violation with its path in the document, and a trace file that
/// `hsmspec replay` reads (it replays it: exit 0 or 1, never 2 for unreadable input).
#[test]
fn simulate_on_a_planted_fault_fails_validates_and_saves_a_trace_replay_reads() {
    use hsm_model::planted::Planted;
    use hsm_model::simulate::{simulate, SimulateOptions};
    let mut cfg = hsm_model::Config::default_config();
    cfg.planted = Some(Planted::DeleteLoggedInUser);
    let options = SimulateOptions {
        walks: 1000,
        depth: 30,
        seed: 5,
        threads: 1,
        deadline: None,
        swarm: true,
    };
    let dir = scratch("simulate");
    let file = dir.join("violation.json");
    let args = hsmspec::simulate::SimulateArgs {
        config: hsmspec::check::ConfigArgs {
            config: "default".into(),
            hsms: None,
            clients: None,
            names: None,
            keys: None,
            pool: None,
            ops: None,
            no_symmetry: false,
        },
        walks: options.walks,
        depth: options.depth,
        seed: Some(options.seed),
        threads: 1,
        timeout: None,
        save_trace: file.clone(),
        no_swarm: false,
        json: true,
    };
    let verdict = hsmspec::simulate::simulate_config(cfg.clone(), &args).expect("runs");
    assert!(!verdict.is_pass(), "{verdict:?}");
    assert!(verdict
        .line()
        .contains("hsmspec simulate --config default --seed 5"));
    let sim = simulate(&cfg, &options).unwrap();
    let v = sim.violation.as_ref().expect("a violation");
    let doc = hsmspec::simulate::document(&cfg, &options, &sim, Some(&file), &verdict);
    assert_eq!(doc["verdict"]["status"], "FAIL");
    assert_eq!(
        doc["violation"]["path"].as_array().map(Vec::len),
        Some(cfg.setup.len() + v.path.len())
    );
    assert_valid("simulate", &doc);
    let trace = hsm_model::Trace::from_json(&std::fs::read_to_string(&file).expect("written"))
        .expect("a trace file");
    assert_eq!(trace.steps.len(), v.path.len());
    let out = Command::new(HSMSPEC)
        .args(["replay", &file.display().to_string()])
        .output()
        .expect("hsmspec runs");
    assert_ne!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn concurrent_json_validates_on_a_pass_and_on_a_process_that_fails() {
    let (code, doc, _) = run(&[
        "conform",
        "--concurrent",
        "4",
        "--histories",
        "20",
        "--seed",
        "3",
        "--json",
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["schema"], "hsmspec-concurrent/1");
    assert_eq!(doc["verdict"]["status"], "PASS");
    assert_eq!(doc["histories"], 20);
    assert_valid("concurrent", &doc);
    let (code, doc, _) = run(&[
        "conform",
        "--concurrent",
        "2",
        "--sut-cmd",
        "true",
        "--json",
    ]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["verdict"]["status"], "FAIL");
    assert!(doc["run_failure"]["reproduce"]
        .as_str()
        .is_some_and(|r| r.contains("--sut-cmd true")));
    assert_valid("concurrent", &doc);
}

/// A history no order explains, in the report of `conform --concurrent`'s own code (against
/// hsm-impl with a race fault, which the normal build has not).
#[test]
fn concurrent_report_of_a_race_validates_with_its_saved_history() {
    use clap::Parser;
    use hsm_conformance::adapter::ImplFactory;
    use hsm_impl::{Cluster, Fault};
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        conform: hsmspec::conform::ConformArgs,
    }
    let dir = scratch("concurrent");
    let report = dir.join("report.json");
    let cli = Cli::parse_from([
        "conform",
        "--concurrent",
        "3",
        "--histories",
        "1000",
        "--quiet",
        "--failures-dir",
        dir.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    let f = ImplFactory::with_constructor(
        "racy",
        std::sync::Arc::new(|n, pw, p| {
            Cluster::new_with_fault(n, pw, p, Some(Fault::LostFailedLogin))
        }),
    );
    let v = hsmspec::concurrent::conform_concurrent_with(
        &cli.conform,
        3,
        7,
        hsm_model::Families::all(),
        Some(&f),
    )
    .expect("runs");
    assert_eq!(v.code(), 1);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the report")).unwrap();
    assert_eq!(doc["verdict"]["status"], "FAIL");
    let file = doc["failures"][0]["file"]
        .as_str()
        .expect("a saved history");
    assert!(Path::new(file).exists(), "{file}");
    assert_valid("concurrent", &doc);
    let _ = std::fs::remove_dir_all(&dir);
}
