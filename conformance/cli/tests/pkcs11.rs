//! SoftHSM2 on trial through the PKCS#11 bridge (`hsmspec serve-pkcs11`, docs/real-hsms.md):
//! the random and the exhaustive campaign under `conformance/profiles/softhsm2.json` pass with
//! the declared deviations (and the exhaustive one fails under the class without them); the
//! scenarios that fit the profile pass and those outside it are listed with why; each
//! deviation's committed trace (`conformance/profiles/softhsm2/`) shows
//! it: replayed under the profile it passes and the deviation is seen; replayed under the
//! profile without that deviation it fails at its documented step.
//!
//! SoftHSM2 is required (`apt-get install -y softhsm2`; `.ci/run` installs it): without it
//! these tests fail, they do not skip.

use hsm_conformance::process::ProcessFactory;
use hsm_conformance::profile::{Deviation, Profile};
use hsm_conformance::runner::run_trace;
use hsm_model::trace::Trace;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const HSMSPEC: &str = env!("CARGO_BIN_EXE_hsmspec");
const SOFTHSM2: &str = "/usr/lib/softhsm/libsofthsm2.so";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn require_softhsm2() {
    assert!(
        Path::new(SOFTHSM2).exists(),
        "SoftHSM2 is required by the PKCS#11 bridge's tests: {SOFTHSM2} is missing \
         (apt-get install -y softhsm2; .ci/run installs it)"
    );
}

fn bridge() -> String {
    format!("{HSMSPEC} serve-pkcs11 --module {SOFTHSM2}")
}

fn softhsm2_profile() -> Profile {
    Profile::read(&repo().join("conformance/profiles/softhsm2.json")).expect("the profile reads")
}

#[test]
fn softhsm2_passes_the_random_campaign_with_its_declared_deviations() {
    require_softhsm2();
    let failures = std::env::temp_dir().join(format!("hsmspec-test-random-{}", std::process::id()));
    let out = Command::new(HSMSPEC)
        .current_dir(repo())
        .args(["conform", "--sut-cmd", &bridge()])
        .args(["--profile", "conformance/profiles/softhsm2.json"])
        .args(["--cases", "60", "--steps", "50", "--seed", "7", "--quiet"])
        .arg("--failures-dir")
        .arg(&failures)
        .output()
        .expect("hsmspec runs");
    let _ = std::fs::remove_dir_all(&failures);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("verdict: PASS"),
        "SoftHSM2 through the bridge did not pass (exit {:?}):\n{text}",
        out.status.code()
    );
    // Every deviation the campaign needed is declared, and the report names those it saw.
    assert!(text.contains("seen: "), "{text}");
    assert!(text.contains("hidden_keys"), "{text}");
}

/// `hsmspec conform` through the bridge under softhsm2.json, from the repository: exit code and
/// the text (stdout and stderr).
fn conform(args: &[&str]) -> (Option<i32>, String) {
    let failures = std::env::temp_dir().join(format!(
        "hsmspec-test-conform-{}-{}",
        std::process::id(),
        args.len()
    ));
    let out = Command::new(HSMSPEC)
        .current_dir(repo())
        .args(["conform", "--sut-cmd", &bridge()])
        .args(["--profile", "conformance/profiles/softhsm2.json", "--quiet"])
        .args(args)
        .arg("--failures-dir")
        .arg(&failures)
        .output()
        .expect("hsmspec runs");
    let _ = std::fs::remove_dir_all(&failures);
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The token's exhaustive configurations (D57), as softhsm2.json names them.
const TOKEN_CONFIGS: [&str; 3] = [
    "exhaustive-token-officer",
    "exhaustive-token-users",
    "exhaustive-token-keys",
];

#[test]
fn softhsm2_passes_the_exhaustive_campaign_of_its_profile() {
    require_softhsm2();
    let (code, text) = conform(&[
        "--cases",
        "1",
        "--steps",
        "10",
        "--seed",
        "7",
        "--exhaustive",
    ]);
    assert!(
        code == Some(0) && text.contains("verdict: PASS"),
        "the exhaustive campaign under softhsm2.json did not pass (exit {code:?}):\n{text}"
    );
    for name in TOKEN_CONFIGS {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("exhaustive {name}: ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{text}"));
        // Every transition replayed, none failed.
        let (done, asked) = line
            .split(" transitions replayed")
            .next()
            .and_then(|l| l.rsplit(", ").next())
            .and_then(|l| l.split_once(" of "))
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(done, asked, "{line}");
        assert!(line.ends_with(" 0 failure(s)"), "{line}");
    }
    // The spec's configurations need what a token lacks, or are not the profile's: each is
    // said, with why.
    for name in ["exhaustive-fresh", "exhaustive-zeroize"] {
        assert!(
            text.contains(&format!("exhaustive {name}: left out (")),
            "{name}:\n{text}"
        );
    }
    // The tie of check order is reached by the token's keys configuration; the report says
    // which declared deviations it saw.
    let seen = text
        .lines()
        .find(|l| l.starts_with("deviations declared by the profile"))
        .and_then(|l| l.split("; seen: ").nth(1))
        .unwrap_or_else(|| panic!("no deviations line:\n{text}"));
    for d in [
        "wrap_checks_kind_first",
        "logout_always_ok",
        "failures_since_last_success",
        "set_pin_clears_failures",
    ] {
        assert!(seen.contains(d), "{d} not seen: {seen}");
    }
}

#[test]
fn the_exhaustive_campaign_under_the_class_without_its_deviations_fails() {
    require_softhsm2();
    // The same configurations under pkcs11.json (the class, no deviations): SoftHSM2 diverges,
    // so the campaign checks the token and does not pass by leaving things out.
    let failures = std::env::temp_dir().join(format!("hsmspec-test-class-{}", std::process::id()));
    let out = Command::new(HSMSPEC)
        .current_dir(repo())
        .args(["conform", "--sut-cmd", &bridge()])
        .args(["--profile", "conformance/profiles/pkcs11.json", "--quiet"])
        .args(["--cases", "0", "--exhaustive"])
        .arg("--failures-dir")
        .arg(&failures)
        .output()
        .expect("hsmspec runs");
    let _ = std::fs::remove_dir_all(&failures);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.code() == Some(1) && text.contains("verdict: FAIL (exhaustive-token-officer-"),
        "{text}"
    );
}

/// The scenarios of conformance/scenarios that fit softhsm2.json (D58): they run through the
/// bridge and pass.
const FITTING_SCENARIOS: [&str; 6] = [
    "activation",
    "change-own-password-keeps-the-counter",
    "crypto-depends-on-material",
    "key-kinds",
    "lockout-at-five",
    "login-check-order",
];

#[test]
fn the_scenarios_that_fit_softhsm2_pass_and_the_others_say_why_not() {
    require_softhsm2();
    let dir = std::env::temp_dir().join(format!("hsmspec-test-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let xml = dir.join("junit.xml");
    let out = Command::new(HSMSPEC)
        .current_dir(repo())
        .args(["replay", "conformance/scenarios", "--sut-cmd", &bridge()])
        .args(["--profile", "conformance/profiles/softhsm2.json", "--json"])
        .arg("--junit")
        .arg(&xml)
        .output()
        .expect("hsmspec runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{stderr}"));
    let junit = std::fs::read_to_string(&xml).expect("the JUnit report");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(doc["verdict"]["status"], "PASS", "{stderr}");
    // The document is the committed schema's.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/schema/hsmspec-output.schema.json"))
            .expect("the schema"),
    )
    .expect("JSON");
    let v = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let files = doc["files"].as_array().expect("files");
    let name = |f: &serde_json::Value| {
        Path::new(f["file"].as_str().unwrap_or_default())
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    let ran: Vec<String> = files
        .iter()
        .filter(|f| f["verdict"] != "outside_profile")
        .map(name)
        .collect();
    assert_eq!(ran, FITTING_SCENARIOS, "the scenarios that fit the profile");
    assert!(
        files
            .iter()
            .filter(|f| f["verdict"] != "outside_profile")
            .all(|f| f["verdict"] == "conforms"),
        "{stderr}"
    );
    // Every other scenario is listed with what it needs that a token lacks, never dropped.
    let outside: Vec<&serde_json::Value> = files
        .iter()
        .filter(|f| f["verdict"] == "outside_profile")
        .collect();
    assert_eq!(outside.len() + ran.len(), files.len());
    assert!(outside.len() >= 30, "{} outside", outside.len());
    assert_eq!(doc["summary"]["outside_profile"], outside.len());
    for f in &outside {
        let why = f["outside"].as_array().expect("why it is outside");
        assert!(
            !why.is_empty()
                && f["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("outside the profile `pkcs11`: ")),
            "{f}"
        );
    }
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(
        reasons.contains(&format!(
            "{} files outside the profile, not run: ",
            outside.len()
        )),
        "{reasons}"
    );
    assert!(stderr.contains(&format!("{} outside the profile (not run)", outside.len())));
    // A written expectation a declared deviation changes is said: lockout-at-five's lock is
    // no_lockout's.
    let lockout = files
        .iter()
        .find(|f| name(f) == "lockout-at-five")
        .expect("lockout-at-five");
    assert!(
        lockout["changed_by_profile"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["deviation"] == "no_lockout")),
        "{lockout}"
    );
    // JUnit: the scenarios outside the profile are skipped, with why.
    assert_eq!(junit.matches("<skipped").count(), outside.len(), "{junit}");
    assert!(junit.contains("outside the profile `pkcs11`: "), "{junit}");
}

#[test]
fn a_fitting_scenario_fails_under_the_class_without_the_deviation_that_changes_it() {
    require_softhsm2();
    let out = Command::new(HSMSPEC)
        .current_dir(repo())
        .args(["replay", "conformance/scenarios/lockout-at-five.scenario"])
        .args(["--sut-cmd", &bridge()])
        .args(["--profile", "conformance/profiles/pkcs11.json"])
        .output()
        .expect("hsmspec runs");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "verdict: FAIL (conformance/scenarios/lockout-at-five.scenario: diverged at step"
        ),
        "{text}"
    );
}

/// Each deviation of softhsm2.json: its trace, and the step at which the trace fails without it.
const DEVIATION_TRACES: &[(Deviation, &str, usize)] = &[
    (Deviation::NoLockout, "no_lockout.json", 2),
    (
        Deviation::FailuresSinceLastSuccess,
        "failures_since_last_success.json",
        2,
    ),
    (Deviation::LogoutAlwaysOk, "logout_always_ok.json", 1),
    (Deviation::HiddenKeys, "hidden_keys.json", 1),
    (
        Deviation::WrapChecksKindFirst,
        "wrap_checks_kind_first.json",
        11,
    ),
    (
        Deviation::SetPinClearsFailures,
        "set_pin_clears_failures.json",
        3,
    ),
];

/// `trace` run through the bridge under `profile`: the trace's configuration as the profile
/// rewrites it, outcomes left to the model.
fn replay(trace: &Trace, profile: &Profile) -> hsm_conformance::runner::TraceRun {
    let mut t = trace.clone();
    t.config = profile.model_config(&trace.config);
    for s in t.steps.iter_mut() {
        s.outcome = None;
    }
    let factory = ProcessFactory::command(&bridge(), Duration::from_secs(20))
        .with_profile(Some(profile.clone()));
    run_trace(&t, &factory)
}

#[test]
fn each_softhsm2_deviation_has_a_trace_that_fails_without_it() {
    require_softhsm2();
    let full = softhsm2_profile();
    assert_eq!(
        full.deviations.len(),
        DEVIATION_TRACES.len(),
        "every deviation of softhsm2.json has a trace here"
    );
    for &(d, file, step) in DEVIATION_TRACES {
        assert!(full.has(d), "softhsm2.json declares {}", d.name());
        let path = repo().join("conformance/profiles/softhsm2").join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let trace = Trace::from_json(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let with = replay(&trace, &full);
        assert!(
            with.divergence.is_none() && with.input_error.is_none(),
            "{file} under softhsm2.json: {:?} {:?}",
            with.divergence.map(|d| d.message),
            with.input_error
        );
        // A policy rewriting (no_lockout) changes the model's configuration, not a step's
        // outcome or comparison: the runner does not see it at a step, the run without it
        // shows it.
        assert!(
            d == Deviation::NoLockout || with.deviations_seen.contains(&d),
            "{file}: the run under softhsm2.json did not need {}",
            d.name()
        );
        let mut without = full.clone();
        without.deviations.retain(|x| *x != d);
        let run = replay(&trace, &without);
        let at = run.divergence.as_ref().map(|v| v.step);
        assert_eq!(
            at,
            Some(step),
            "{file} without {}: expected a divergence at step {step}, got {:?} ({:?})",
            d.name(),
            at,
            run.divergence.map(|v| v.message)
        );
    }
}

#[test]
fn the_error_table_is_documented() {
    let page = std::fs::read_to_string(repo().join("docs/real-hsms.md")).expect("the page");
    for (ckr, at, meaning) in hsm_pkcs11::errors::TABLE {
        let at = match at {
            None => "any",
            Some(hsm_pkcs11::errors::Context::Decrypt) => "Decrypt",
            Some(hsm_pkcs11::errors::Context::Unwrap) => "UnwrapKey",
            Some(hsm_pkcs11::errors::Context::Other) => "any other",
        };
        let answer = match meaning {
            hsm_pkcs11::errors::Meaning::Code(c) => c.name().to_string(),
            hsm_pkcs11::errors::Meaning::NotLoggedInOrForbidden => {
                "NotLoggedIn if the session is not logged in, Forbidden if it is".into()
            }
            hsm_pkcs11::errors::Meaning::Unsupported => "`unsupported`".into(),
        };
        let row = format!("| {ckr} | {at} | {answer} |");
        assert!(page.contains(&row), "docs/real-hsms.md lacks the row {row}");
    }
}

/// The processes whose environment carries `marker`.
fn marked(marker: &str) -> Vec<u32> {
    let needle = format!("HSMSPEC_PKCS11_MARKER={marker}");
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(env) = std::fs::read(e.path().join("environ")) {
            if env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
                found.push(pid);
            }
        }
    }
    found
}

/// The token directories a bridge of process `pid` made.
fn token_dirs(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("hsmspec-pkcs11-{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .expect("the temporary directory")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// A bridge with a token and two workers, its input open.
fn bridge_with_a_token(marker: &str) -> (std::process::Child, std::process::ChildStdin) {
    use std::io::{BufRead, Write};
    let mut child = Command::new(HSMSPEC)
        .args(["serve-pkcs11", "--module", SOFTHSM2])
        .env("HSMSPEC_PKCS11_MARKER", marker)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the bridge starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let policy = r#"{"name_max_chars":31,"password_min_chars":4,"password_max_chars":255,"lockout_threshold":255,"max_shares":1,"max_users":3,"max_keys":65535}"#;
    writeln!(
        stdin,
        r#"{{"id":1,"type":"hello","version":1,"versions":[1,2],"profile":"pkcs11","policy":{policy},"hsms":1,"clients":2,"au_password":"appliance-pw"}}"#
    )
    .and_then(|()| {
        writeln!(
            stdin,
            r#"{{"id":2,"type":"reset","cluster":0,"hsms":1,"clients":2,"au_password":"appliance-pw","policy":{policy}}}"#
        )
    })
    .expect("the bridge reads");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    for id in 1..=2 {
        let mut line = String::new();
        out.read_line(&mut line).expect("an answer");
        assert!(
            line.contains(&format!(r#""id":{id}"#)) && line.contains(r#""ok""#),
            "{line}"
        );
    }
    (child, stdin)
}

fn wait_until_gone(marker: &str) -> Vec<u32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = marked(marker);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn workers_are_reaped_and_tokens_removed_whether_the_bridge_ends_or_is_killed() {
    require_softhsm2();
    // Its input closes: it reaps its workers and removes its token.
    let marker = format!("reap-{}-closed", std::process::id());
    let (mut child, stdin) = bridge_with_a_token(&marker);
    let pid = child.id();
    assert!(
        marked(&marker).len() >= 3,
        "the bridge and its two workers run"
    );
    assert_eq!(token_dirs(pid).len(), 1, "one token directory");
    drop(stdin);
    assert!(child.wait().expect("the bridge ends").success());
    assert_eq!(
        wait_until_gone(&marker),
        Vec::<u32>::new(),
        "workers left running"
    );
    assert!(token_dirs(pid).is_empty(), "the token directory is removed");
    // Killed with SIGKILL: its workers see their input close and exit; the next bridge
    // removes the token directory it left.
    let marker = format!("reap-{}-killed", std::process::id());
    let (mut child, _stdin) = bridge_with_a_token(&marker);
    let pid = child.id();
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert_eq!(
        wait_until_gone(&marker),
        Vec::<u32>::new(),
        "workers left running"
    );
    assert_eq!(
        token_dirs(pid).len(),
        1,
        "a killed bridge cannot remove its token"
    );
    let marker = format!("reap-{}-next", std::process::id());
    let (mut next, stdin) = bridge_with_a_token(&marker);
    assert!(token_dirs(pid).is_empty(), "the next bridge removes it");
    drop(stdin);
    next.wait().expect("the bridge ends");
}
