//! One verdict whatever the output format: `check` gives the same verdict and exit code in text
//! and `--json`, `conform` with and without `--report`; `replay` replays every file, counts
//! them, and exits 2 only for unreadable input.

use clap::Parser;
use hsm_conformance::verdict::Status;
use hsm_model::Config;
use hsmspec::check::{check_configs, CheckArgs, ConfigArgs};
use hsmspec::replay::{replay, ReplayArgs};

#[derive(Parser)]
struct Check {
    #[command(flatten)]
    args: CheckArgs,
}

fn check_args(json: bool) -> CheckArgs {
    let argv: &[&str] = if json { &["t", "--json"] } else { &["t"] };
    Check::parse_from(argv).args
}

fn suite() -> Vec<Config> {
    ConfigArgs {
        config: "suite".into(),
        hsms: None,
        clients: None,
        names: None,
        keys: None,
        pool: None,
        ops: None,
        no_symmetry: false,
    }
    .configs()
    .expect("the suite")
}

/// `check` decides its verdict once: text and `--json` give the same exit code on a pass, on a
/// planted loss of coverage (a configuration of the suite left out: error codes and examples
/// unreached) and on a planted invariant violation.
#[test]
fn check_gives_the_same_verdict_in_text_and_json() {
    let pass = suite();
    let mut lost = suite();
    // `families` alone reaches what `lifecycle` adds: leave both out.
    lost.retain(|c| c.name != "lifecycle" && c.name != "families");
    let mut violated = suite();
    violated.truncate(1);
    violated[0].planted = Some(hsm_model::planted::Planted::PrecoSurvivesActivation);
    for (case, configs, want) in [
        ("pass", pass, Status::Pass),
        ("coverage lost", lost, Status::Fail),
        ("violation", violated, Status::Fail),
    ] {
        let text = check_configs(configs.clone(), &check_args(false)).expect("runs");
        let json = check_configs(configs, &check_args(true)).expect("runs");
        assert_eq!(text.status, want, "{case}: {}", text.line());
        assert_eq!(text, json, "{case}");
        assert_eq!(text.code(), json.code(), "{case}");
    }
}

#[derive(Parser)]
struct Replay {
    #[command(flatten)]
    args: ReplayArgs,
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hsmspec-trust-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// `replay` replays every file whatever the others hold, counts them, and exits 2 only for
/// unreadable input; a recorded outcome the model contradicts is a FAIL ("disagrees with the
/// spec at step N"); the report carries the same verdict.
#[test]
fn replay_replays_every_file() {
    let dir = scratch("replay");
    let traces = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces");
    let good = traces.join("exhaustive-fresh-the-PRECO-can-activate-the-cluster.json");
    let text = std::fs::read_to_string(&good).expect("a committed trace");
    let mut trace = hsm_model::Trace::from_json(&text).expect("reads");
    let last = trace.steps.len() - 1;
    trace.steps[last].outcome = Some(Err(hsm_model::ErrorCode::Forbidden));
    let disagree = dir.join("disagree.json");
    std::fs::write(&disagree, trace.to_json()).expect("write");
    let malformed = dir.join("malformed.json");
    std::fs::write(&malformed, "{ not json").expect("write");
    let missing = dir.join("missing.json");
    let report = dir.join("report.json");
    let run = |files: &[&std::path::Path], with_report: bool| {
        let mut argv: Vec<String> = vec!["t".into()];
        argv.extend(files.iter().map(|f| f.display().to_string()));
        if with_report {
            argv.push("--report".into());
            argv.push(report.display().to_string());
        }
        replay(&Replay::parse_from(argv).args)
    };
    // Unreadable files among conforming ones: every file is replayed, exit 2.
    let r = run(&[&good, &malformed, &missing, &good], true);
    assert!(r.is_err(), "unreadable input is a usage error");
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let verdicts: Vec<&str> = rep["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["verdict"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        verdicts,
        ["conforms", "unreadable", "unreadable", "conforms"]
    );
    // A trace that disagrees with the spec fails, in both modes, and the rest still runs.
    for with_report in [false, true] {
        let v = run(&[&disagree, &good], with_report).expect("readable");
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.code(), 1);
        assert!(
            v.line().contains("disagrees with the spec at step"),
            "{}",
            v.line()
        );
    }
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(rep["verdict"]["status"], "FAIL");
    assert_eq!(rep["summary"]["conform"], 1);
    assert_eq!(rep["summary"]["disagree_with_spec"], 1);
    // All conforming: PASS.
    let v = run(&[&good, &good], false).expect("readable");
    assert_eq!(v.code(), 0);
    // A file recorded as flaky is run up to five times; one that conforms every time passes.
    let mut recorded: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    recorded["failure"] = serde_json::json!({
        "flaky": true,
        "first_run": { "diverged_at": 3, "message": "a wrong answer" },
        "reruns": [{ "diverged_at": null, "message": "conforms" }],
        "runs_differ_at": 3,
        "original_steps": 3,
        "shrinking": "not_shrunk_flaky",
        "shrink_attempts": 0
    });
    let flaky = dir.join("flaky.json");
    std::fs::write(&flaky, recorded.to_string()).expect("write");
    let v = run(&[&flaky], true).expect("readable");
    assert_eq!(v.code(), 0, "{}", v.line());
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(rep["files"][0]["runs"], 5);
    assert_eq!(rep["files"][0]["diverged_runs"], 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[derive(Parser)]
struct Conform {
    #[command(flatten)]
    args: hsmspec::conform::ConformArgs,
}

/// `conform` decides its verdict once: text alone and text with `--report` give the same exit
/// code on a pass, on a campaign narrowed by `--ops` (reachable triples left out: said, not a
/// failure), and on a planted divergence (an implementation that refuses every Logout); the
/// report carries the same verdict.
#[test]
fn conform_gives_the_same_verdict_with_and_without_a_report() {
    let dir = scratch("conform");
    let report = dir.join("report.json");
    let deny = format!(
        "python3 '{}/tests/misbehave.py' '{}' deny-logout",
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_BIN_EXE_hsmspec")
    );
    let failures = dir.display().to_string();
    let base = [
        "t", "--cases", "20", "--steps", "20", "--seed", "3", "--quiet",
    ];
    for (case, extra, want) in [
        ("pass", vec![], Status::Pass),
        (
            "narrowed",
            vec!["--ops", "sessions,passwords"],
            Status::Pass,
        ),
        (
            "divergence",
            vec!["--sut-cmd", deny.as_str(), "--failures-dir", &failures],
            Status::Fail,
        ),
    ] {
        let mut verdicts = Vec::new();
        for with_report in [false, true] {
            let mut argv: Vec<&str> = base.to_vec();
            argv.extend(&extra);
            let path = report.display().to_string();
            if with_report {
                argv.extend(["--report", &path]);
            }
            let v = hsmspec::conform::conform(&Conform::parse_from(argv).args).expect("runs");
            verdicts.push(v);
        }
        assert_eq!(verdicts[0].status, want, "{case}: {}", verdicts[0].line());
        assert_eq!(verdicts[0].code(), verdicts[1].code(), "{case}");
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
        assert_eq!(rep["verdict"]["status"], want.name(), "{case}");
        assert!(rep["seed"].is_u64(), "{case}: the seed is in the report");
    }
    std::fs::remove_dir_all(&dir).ok();
}
