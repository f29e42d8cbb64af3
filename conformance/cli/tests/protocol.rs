//! The process protocol end to end: `hsmspec serve-impl` as a child process passes the default
//! campaign; the Python example passes on its subset; broken processes (crash, hang, garbage,
//! wrong id, closed output) get a verdict naming the step, never a hang or a panic; the fault
//! zoo is caught through the protocol (in-memory pipes to `serve` on a thread).

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::generate::{campaign, runner_config, CampaignOptions};
use hsm_conformance::process::{in_memory_connector, ProcessFactory};
use hsm_conformance::runner::{is_one_minimal, run_trace};
use hsm_conformance::sut::SutFactory;
use hsm_impl::{Cluster, Fault};
use hsm_model::Families;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEED: u64 = 20_261_101;

fn opts(cases: u64, steps: usize) -> CampaignOptions {
    CampaignOptions {
        cases,
        steps,
        seed: SEED,
        stop_on_failure: true,
    }
}

/// The default campaign (3000 traces of 100 steps) against `hsmspec serve-impl` as a child
/// process, and the throughput ratio against the in-process adapter on a slice of it.
#[test]
fn serve_impl_process_passes_the_default_campaign() {
    let cmd = format!("'{}' serve-impl", env!("CARGO_BIN_EXE_hsmspec"));
    let f = ProcessFactory::command(&cmd, Duration::from_secs(20));
    let cfg = runner_config();
    let hello = f.hello(&cfg).expect("hello");
    assert_eq!(hello.policy, cfg.policy);
    let r = campaign(&cfg, &opts(3000, 100), &f, &|_| {}).expect("campaign runs");
    if let Some(fail) = r.failures.first() {
        panic!("divergence through the protocol:\n{}", fail.replay);
    }
    let process = r.steps as f64 / r.seconds;
    let inproc = campaign(&cfg, &opts(300, 100), &ImplFactory::correct(), &|_| {}).unwrap();
    let inproc = inproc.steps as f64 / inproc.seconds;
    let mem = ProcessFactory::new(
        "in-memory",
        in_memory_connector(ImplFactory::correct()),
        Duration::from_secs(20),
    );
    let m = campaign(&cfg, &opts(300, 100), &mem, &|_| {}).unwrap();
    let mem = m.steps as f64 / m.seconds;
    println!(
        "process: {} steps in {:.1} s, {process:.0} steps/s; in-memory protocol {mem:.0} steps/s; in-process {inproc:.0} steps/s; in-process/process = {:.2}, in-process/in-memory = {:.2}",
        r.steps,
        r.seconds,
        inproc / process,
        inproc / mem
    );
}

fn python_required() {
    assert!(
        std::process::Command::new("python3")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "python3 is required by this test (conformance/examples/python_hsm.py): install it"
    );
}

const PYTHON_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/python_hsm.py");

/// The Python example, on its subset of families, in both protocol versions.
#[test]
fn python_example_passes_on_its_subset() {
    python_required();
    for version in [1, 2] {
        let f = ProcessFactory::command(
            &format!("python3 '{PYTHON_EXAMPLE}'"),
            Duration::from_secs(20),
        )
        .with_max_version(version)
        .unwrap();
        let mut cfg = runner_config();
        cfg.families = Families::parse("sessions,cluster,users,passwords").unwrap();
        assert_eq!(f.hello(&cfg).expect("hello").version, version);
        let r = campaign(&cfg, &opts(150, 60), &f, &|_| {}).expect("campaign runs");
        if let Some(fail) = r.failures.first() {
            panic!(
                "the Python example diverged (version {version}):\n{}",
                fail.replay
            );
        }
        assert!(r.unsupported.is_empty(), "{:?}", r.unsupported);
        assert!(r
            .triples
            .iter()
            .all(|t| cfg.families.contains(t.1.family())));
        println!(
            "version {version}: {} steps, {:.1} s, {:.0} steps/s",
            r.steps,
            r.seconds,
            r.steps as f64 / r.seconds
        );
    }
}

/// Version 2: the operations the Python example lacks answer `unsupported`; with every family
/// on, those traces stop untested, none is a failure, and `hsmspec conform` says INCOMPLETE
/// (exit 1), never PASS.
#[test]
fn unsupported_operations_make_the_run_incomplete() {
    python_required();
    let f = ProcessFactory::command(
        &format!("python3 '{PYTHON_EXAMPLE}'"),
        Duration::from_secs(20),
    );
    let cfg = runner_config();
    let r = campaign(&cfg, &opts(40, 60), &f, &|_| {}).expect("campaign runs");
    assert!(r.failures.is_empty(), "{}", r.failures[0].replay);
    assert!(
        r.unsupported.contains_key("GenerateKey"),
        "{:?}",
        r.unsupported
    );
    let dir = std::env::temp_dir().join(format!("hsmspec-unsupported-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hsmspec"))
        .args([
            "conform", "--quiet", "--cases", "40", "--steps", "60", "--seed", "3",
        ])
        .arg("--sut-cmd")
        .arg(format!("python3 '{PYTHON_EXAMPLE}'"))
        .arg("--failures-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("verdict: INCOMPLETE (") && text.contains("answered unsupported: "),
        "{text}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no failure saved"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `hsmspec serve-impl` still speaks version 1 to a runner that asks for it, and passes.
#[test]
fn version_1_is_still_spoken() {
    let cmd = format!("'{}' serve-impl", env!("CARGO_BIN_EXE_hsmspec"));
    let f = ProcessFactory::command(&cmd, Duration::from_secs(20))
        .with_max_version(1)
        .unwrap();
    let cfg = runner_config();
    assert_eq!(f.hello(&cfg).unwrap().version, 1);
    let r = campaign(&cfg, &opts(100, 100), &f, &|_| {}).expect("campaign runs");
    assert!(r.failures.is_empty(), "{}", r.failures[0].replay);
    assert!(ProcessFactory::command(&cmd, Duration::from_secs(1))
        .with_max_version(3)
        .is_err());
}

/// Version 2: a step's answer without `observed` is a divergence of that step.
#[test]
fn a_version_2_step_without_its_observation_diverges() {
    // Observes answer an (empty) observation; the step answers Ok without `observed`.
    let script = r#"read l; echo '{"id":1,"ok":{"version":2,"implementation":"fake"}}'; read l; echo '{"id":2,"ok":{}}'; while read l; do id=$(echo "$l" | sed 's/.*"id":\([0-9]*\).*/\1/'); case "$l" in *'"type":"observe"'*) echo "{\"id\":$id,\"ok\":{\"activated\":false,\"blank\":false,\"users\":[],\"keys\":[],\"sessions\":[]}}";; *) echo "{\"id\":$id,\"ok\":{}}";; esac; done"#;
    let f = ProcessFactory::command(script, Duration::from_millis(400));
    // Sessions only: no masked object of another cluster to make first (its steps on
    // cluster 1 are not observed).
    let mut cfg = runner_config();
    cfg.families = Families::parse("sessions").unwrap();
    let r = campaign(&cfg, &opts(1, 20), &f, &|_| {}).expect("campaign runs");
    let fail = r.failures.first().expect("a failure");
    assert!(
        fail.divergence.message.contains("carries no `observed`"),
        "{}",
        fail.replay
    );
}

/// A fake implementation in `sh`: answers hello (id 1) and reset (id 2), then does `then`
/// to the first step (id 3).
fn fake(then: &str) -> ProcessFactory {
    let script = format!(
        r#"read l; echo '{{"id":1,"ok":{{"version":1,"implementation":"fake"}}}}'; read l; echo '{{"id":2,"ok":{{}}}}'; read l; {then}"#
    );
    ProcessFactory::command(&script, Duration::from_millis(400))
}

fn broken_verdict(f: &ProcessFactory, want: &str) {
    let start = Instant::now();
    let cfg = runner_config();
    let r = campaign(&cfg, &opts(3, 20), f, &|_| {}).expect("the campaign itself runs");
    let fail = r.failures.first().expect("a failure");
    assert_eq!(fail.divergence.step, 1, "{}", fail.replay);
    assert!(
        fail.divergence.message.contains(want),
        "`{}` does not say `{want}`",
        fail.divergence.message
    );
    assert_eq!(
        fail.trace.steps.len(),
        1,
        "the trace is kept up to the step"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    // A later trace starts a new process and fails the same way.
    let run = run_trace(&fail.trace, f);
    assert!(run.sut_failed && run.divergence.is_some());
    println!("{}", fail.replay);
}

#[test]
fn a_crashing_process_is_a_failure_of_its_step() {
    broken_verdict(
        &fake("exit 3"),
        "closed its output before answering request 3 (",
    );
}

#[test]
fn a_hanging_process_times_out() {
    broken_verdict(&fake("exec sleep 30"), "no answer to request 3 (");
}

#[test]
fn a_garbage_answer_is_a_failure() {
    broken_verdict(
        &fake("echo this is not json; exec cat >/dev/null"),
        "garbage answer",
    );
}

#[test]
fn a_wrong_id_is_a_failure() {
    broken_verdict(
        &fake(r#"echo '{"id":99,"ok":{}}'; exec cat >/dev/null"#),
        "carries id 99",
    );
}

#[test]
fn a_process_that_closes_early_fails_at_the_first_step() {
    let f = ProcessFactory::command(
        r#"read l; echo '{"id":1,"ok":{}}'; exec >&-; exec cat >/dev/null"#,
        Duration::from_millis(400),
    );
    broken_verdict(&f, "closed its output before answering request 2 (reset)");
}

#[test]
fn a_refused_hello_is_reported() {
    let f = ProcessFactory::command(
        r#"read l; echo '{"id":1,"refused":"I speak version 7"}'"#,
        Duration::from_millis(400),
    );
    let e = f.hello(&runner_config()).unwrap_err().to_string();
    assert!(e.contains("I speak version 7"), "{e}");
    assert!(f.fresh(&runner_config()).is_err());
}

/// The random campaign through the protocol (in-memory pipes to `serve` on a thread) catches
/// every fault of the zoo.
#[test]
fn the_fault_zoo_is_caught_through_the_protocol() {
    let cfg = runner_config();
    let mut missed = Vec::new();
    for &fault in Fault::ALL {
        let imp = ImplFactory::with_constructor(
            &format!("hsm-impl with {fault:?}"),
            Arc::new(move |n, pw, p| Cluster::new_with_fault(n, pw, p, Some(fault))),
        );
        let f = ProcessFactory::new(
            &imp.describe(),
            in_memory_connector(imp),
            Duration::from_secs(20),
        );
        // Through version 2: each step answered with its observation.
        assert_eq!(f.hello(&cfg).expect("hello").version, 2, "{fault:?}");
        let r = campaign(&cfg, &opts(3000, 100), &f, &|_| {}).expect("campaign runs");
        match r.failures.first() {
            Some(fail) => {
                assert!(
                    is_one_minimal(&fail.trace, &f),
                    "{fault:?}:\n{}",
                    fail.replay
                );
                println!(
                    "{fault:?}: case {}, shrunk to {} steps: {}",
                    fail.case,
                    fail.trace.steps.len(),
                    fail.divergence.message
                );
            }
            None => missed.push(fault),
        }
    }
    assert!(missed.is_empty(), "missed through the protocol: {missed:?}");
}
