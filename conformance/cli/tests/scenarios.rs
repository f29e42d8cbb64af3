//! Scenarios on the command line: `replay` of the committed directory passes, a wrong
//! expectation fails with its line, a mistake in the file is unreadable input, `convert`
//! writes traces that replay the same, and a scenario goes through `--sut-cmd` like a trace.

use clap::Parser;
use hsm_conformance::verdict::Status;
use hsmspec::replay::{replay, ReplayArgs};
use hsmspec::scenario::{convert, ConvertArgs};
use std::path::{Path, PathBuf};

#[derive(Parser)]
struct Replay {
    #[command(flatten)]
    args: ReplayArgs,
}

#[derive(Parser)]
struct Convert {
    #[command(flatten)]
    args: ConvertArgs,
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hsmspec-scenarios-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(argv: &[String]) -> Result<hsm_conformance::verdict::Verdict, hsm_conformance::Error> {
    let mut all = vec!["t".to_string()];
    all.extend(argv.iter().cloned());
    replay(&Replay::parse_from(all).args)
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

#[test]
fn replay_of_the_scenario_directory_passes_and_counts_every_file() {
    let dir = scratch("dir");
    let rep = dir.join("report.json");
    let v = run(&[
        root().join("scenarios").display().to_string(),
        "--report".into(),
        rep.display().to_string(),
    ])
    .expect("readable");
    assert_eq!(v.status, Status::Pass, "{}", v.line());
    let r = report(&rep);
    let files = r["files"].as_array().expect("files");
    assert!(files.len() >= 30, "{} files", files.len());
    assert!(files.iter().all(|f| f["verdict"] == "conforms"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_wrong_expectation_fails_with_its_line_and_a_mistake_is_unreadable() {
    let dir = scratch("wrong");
    let text = std::fs::read_to_string(root().join("scenarios/share-limit.scenario")).unwrap();
    let line = text
        .lines()
        .position(|l| l.ends_with("-> ShareLimit"))
        .expect("a ShareLimit step")
        + 1;
    let wrong = dir.join("wrong.scenario");
    std::fs::write(&wrong, text.replacen("-> ShareLimit", "-> ok", 1)).unwrap();
    let rep = dir.join("report.json");
    let v = run(&[
        wrong.display().to_string(),
        "--report".into(),
        rep.display().to_string(),
    ])
    .expect("readable");
    assert_eq!((v.status, v.code()), (Status::Fail, 1));
    assert!(
        v.line().contains(&format!("line {line}"))
            && v.line().contains("expects `ok`")
            && v.line().contains("answers `ShareLimit`"),
        "{}",
        v.line()
    );
    let r = report(&rep);
    assert_eq!(r["files"][0]["verdict"], "disagrees_with_spec");
    assert_eq!(r["files"][0]["line"], line);
    // A typo in an operation: input error, whatever else is replayed with it.
    let typo = dir.join("typo.scenario");
    std::fs::write(&typo, text.replacen("ShareKey", "SharKey", 1)).unwrap();
    let good = root().join("scenarios/share-limit.scenario");
    assert!(run(&[typo.display().to_string(), good.display().to_string()]).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn converted_traces_replay_and_a_scenario_runs_through_sut_cmd() {
    let dir = scratch("convert");
    let traces: Vec<PathBuf> = std::fs::read_dir(root().join("traces"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    let mut argv = vec!["t".to_string(), "--out".into(), dir.display().to_string()];
    argv.extend(traces.iter().map(|p| p.display().to_string()));
    convert(&Convert::parse_from(argv).args).expect("every committed trace converts");
    let written = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(written, traces.len());
    let v = run(&[dir.display().to_string()]).expect("readable");
    assert_eq!(v.status, Status::Pass, "{}", v.line());
    // A file that is no trace converts to nothing and says so.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{}").unwrap();
    let argv = vec!["t".to_string(), bad.display().to_string()];
    assert!(convert(&Convert::parse_from(argv).args).is_err());
    // The same scenario through the process protocol.
    let cmd = format!("{} serve-impl", env!("CARGO_BIN_EXE_hsmspec"));
    let v = run(&[
        root()
            .join("scenarios/wrap-unwrap-d10.scenario")
            .display()
            .to_string(),
        "--sut-cmd".into(),
        cmd,
    ])
    .expect("readable");
    assert_eq!(v.status, Status::Pass, "{}", v.line());
    std::fs::remove_dir_all(&dir).ok();
}
