//! Scenarios on the command line: `replay` of the committed directory passes, with its summary,
//! JSON and JUnit reports; a directory with failing and unreadable files fails and counts
//! them; a wrong expectation fails with its file, line and both outcomes, a mistake in the
//! file is unreadable input, `convert` writes traces that replay the same, and the scenarios go
//! through `--sut-cmd` like traces.

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

/// The JUnit report's test cases: (name, "ok" or the kind of non-success).
fn junit_cases(path: &Path) -> Vec<(String, String)> {
    let xml = std::fs::read_to_string(path).expect("the JUnit report");
    let mut cases = Vec::new();
    for chunk in xml.split("<testcase ").skip(1) {
        let name = chunk
            .split("name=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string();
        let body = chunk.split("</testcase>").next().unwrap_or(chunk);
        let kind = ["failure", "error", "skipped"]
            .into_iter()
            .find(|k| body.contains(&format!("<{k}")))
            .unwrap_or("ok");
        cases.push((name, kind.to_string()));
    }
    cases
}

#[test]
fn replay_of_the_scenario_directory_passes_and_counts_every_file() {
    let dir = scratch("dir");
    let rep = dir.join("report.json");
    let xml = dir.join("junit.xml");
    let v = run(&[
        root().join("scenarios").display().to_string(),
        "--report".into(),
        rep.display().to_string(),
        "--junit".into(),
        xml.display().to_string(),
    ])
    .expect("readable");
    assert_eq!(v.status, Status::Pass, "{}", v.line());
    let r = report(&rep);
    assert_eq!(r["schema"], "hsmspec-replay/3");
    let files = r["files"].as_array().expect("files");
    assert!(files.len() >= 30, "{} files", files.len());
    assert!(files.iter().all(|f| f["verdict"] == "conforms"));
    assert_eq!(r["summary"]["conform"], files.len());
    let cases = junit_cases(&xml);
    assert_eq!(cases.len(), files.len());
    assert!(
        cases
            .iter()
            .all(|(n, k)| n.ends_with(".scenario") && k == "ok"),
        "{cases:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A directory with a conforming scenario, one whose expectation the spec contradicts, one
/// the implementation diverges on... and an unreadable file: every file is replayed, the
/// summary counts each kind, the verdict is FAIL (exit 1) with the failing files named, and the
/// JUnit report has one case per file: ok, failure, error. Unreadable files alone are exit 2,
/// and the report then says INCOMPLETE, never PASS.
#[test]
fn replay_of_a_directory_with_failing_and_unreadable_files() {
    let dir = scratch("mixed");
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    let good = std::fs::read_to_string(root().join("scenarios/share-limit.scenario")).unwrap();
    std::fs::write(files.join("a-good.scenario"), &good).unwrap();
    std::fs::write(
        files.join("b-wrong.scenario"),
        good.replacen("-> ShareLimit", "-> ok", 1),
    )
    .unwrap();
    std::fs::write(files.join("c-garbled.json"), "{ not a trace").unwrap();
    std::fs::write(
        files.join("notes.txt"),
        "not replayed: neither .json nor .scenario",
    )
    .unwrap();
    let rep = dir.join("report.json");
    let xml = dir.join("junit.xml");
    let args = |d: &Path| {
        vec![
            d.display().to_string(),
            "--report".into(),
            rep.display().to_string(),
            "--junit".into(),
            xml.display().to_string(),
        ]
    };
    let v = run(&args(&files)).expect("a failure outranks unreadable input");
    assert_eq!((v.status, v.code()), (Status::Fail, 1), "{}", v.line());
    assert!(v.line().contains("b-wrong.scenario"), "{}", v.line());
    assert!(
        v.line().contains("c-garbled.json: unreadable"),
        "{}",
        v.line()
    );
    let r = report(&rep);
    assert_eq!(r["verdict"]["status"], "FAIL");
    assert_eq!(
        (
            &r["summary"]["conform"],
            &r["summary"]["disagree_with_spec"],
            &r["summary"]["unreadable"]
        ),
        (&1.into(), &1.into(), &1.into())
    );
    let kinds: Vec<String> = junit_cases(&xml).into_iter().map(|(_, k)| k).collect();
    assert_eq!(kinds, ["ok", "failure", "error"]);

    // Unreadable files and nothing wrong: a usage error (exit 2); the report is INCOMPLETE.
    std::fs::remove_file(files.join("b-wrong.scenario")).unwrap();
    assert!(run(&args(&files)).is_err(), "unreadable input");
    let r = report(&rep);
    assert_eq!(r["verdict"]["status"], "INCOMPLETE");
    assert_eq!(r["summary"]["conform"], 1);
    let kinds: Vec<String> = junit_cases(&xml).into_iter().map(|(_, k)| k).collect();
    assert_eq!(kinds, ["ok", "error"]);

    // A report written inside the directory replayed is not replayed itself, on any run.
    std::fs::remove_file(files.join("c-garbled.json")).unwrap();
    let inside = files.join("report.json");
    for _ in 0..2 {
        let v = run(&[
            files.display().to_string(),
            "--report".into(),
            inside.display().to_string(),
        ])
        .expect("readable");
        assert_eq!(v.status, Status::Pass, "{}", v.line());
    }
    assert_eq!(report(&inside)["files"].as_array().map(Vec::len), Some(1));
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
        v.line().contains("wrong.scenario")
            && v.line().contains(&format!("line {line}"))
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
    // The whole directory of scenarios through the process protocol.
    let cmd = format!("{} serve-impl", env!("CARGO_BIN_EXE_hsmspec"));
    let rep = dir.join("sut-report.json");
    let v = run(&[
        root().join("scenarios").display().to_string(),
        "--sut-cmd".into(),
        cmd,
        "--report".into(),
        rep.display().to_string(),
    ])
    .expect("readable");
    assert_eq!(v.status, Status::Pass, "{}", v.line());
    let r = report(&rep);
    assert!(
        r["implementation"]
            .as_str()
            .is_some_and(|i| i.contains("serve-impl")),
        "{}",
        r["implementation"]
    );
    assert!(r["summary"]["conform"].as_u64().is_some_and(|n| n >= 30));
    std::fs::remove_dir_all(&dir).ok();
}

/// In every committed scenario, replacing one expected outcome by a wrong one (its last step's
/// that binds nothing: an error code by `ok`, an `ok` by an error code) fails that file, and
/// only it, with the file, the line and both outcomes, in the verdict and in the report.
#[test]
fn a_wrong_expectation_in_any_scenario_names_its_file_line_and_both_outcomes() {
    let dir = scratch("every-wrong");
    let files_dir = dir.join("files");
    let _ = std::fs::remove_dir_all(&files_dir);
    std::fs::create_dir_all(&files_dir).unwrap();
    let mut planted = Vec::new();
    for entry in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "scenario") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (n, line) = lines
            .iter()
            .enumerate()
            .rev()
            .find(|(_, l)| {
                l.contains(" -> ") && !l.contains(" = ") && !l.trim_start().starts_with('#')
            })
            .unwrap_or_else(|| panic!("{}: no step to change", path.display()));
        let (step, expected) = line.rsplit_once(" -> ").unwrap();
        let expected = expected.trim();
        let wrong = if expected.starts_with("ok") {
            "NoSuchKey"
        } else {
            "ok"
        };
        let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        changed[n] = format!("{step} -> {wrong}");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::write(files_dir.join(&name), changed.join("\n") + "\n").unwrap();
        let model = expected.split_whitespace().next().unwrap().to_string();
        planted.push((name, n + 1, wrong, model));
    }
    assert!(planted.len() >= 30, "{} scenarios", planted.len());
    let rep = dir.join("report.json");
    let v = run(&[
        files_dir.display().to_string(),
        "--report".into(),
        rep.display().to_string(),
    ])
    .expect("readable: the files are well-formed, only wrong");
    assert_eq!((v.status, v.code()), (Status::Fail, 1));
    let r = report(&rep);
    let files = r["files"].as_array().expect("files");
    assert_eq!(files.len(), planted.len());
    assert_eq!(r["summary"]["disagree_with_spec"], planted.len());
    for (name, line, wrong, model) in &planted {
        let f = files
            .iter()
            .find(|f| {
                f["file"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(name.as_str()))
            })
            .unwrap_or_else(|| panic!("{name} not in the report"));
        assert_eq!(f["verdict"], "disagrees_with_spec", "{name}: {f}");
        assert_eq!(f["line"], *line, "{name}: {f}");
        let message = f["message"].as_str().unwrap_or("");
        assert!(
            message.contains(&format!("line {line}, "))
                && message.contains(&format!("expects `{wrong}`"))
                && message.contains(&format!("answers `{model}")),
            "{name}: {message}"
        );
        // The verdict line names the file with the same words.
        assert!(
            v.line().contains(&format!(
                "{name}: the scenario disagrees with the spec: line {line}, "
            )),
            "{name}: {}",
            v.line()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
