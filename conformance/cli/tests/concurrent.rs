//! `hsmspec replay` of concurrent histories: a history no order explains exits 1 and says why,
//! per thread; a linearizable one exits 0; `--rerun` runs its plans again and says how often
//! they fail. `hsmspec conform --concurrent` on hsm-impl passes.

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::concurrent::{concurrent_campaign, concurrent_config, ConcurrentOptions};
use hsm_impl::{Cluster, Fault};
use std::process::Command;
use std::sync::Arc;

fn hsmspec(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hsmspec"))
        .args(args)
        .output()
        .expect("hsmspec runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn saved_failure(fault: Fault, dir: &std::path::Path) -> std::path::PathBuf {
    let f = ImplFactory::with_constructor(
        "racy",
        Arc::new(move |n, pw, p| Cluster::new_with_fault(n, pw, p, Some(fault))),
    );
    let opts = ConcurrentOptions {
        histories: 1000,
        seed: 7,
        ..ConcurrentOptions::default()
    };
    let r = concurrent_campaign(&concurrent_config(3), &opts, &f, &|_| {}).expect("runs");
    let fail = r.failures.first().expect("the race is caught");
    std::fs::create_dir_all(dir).expect("a directory");
    let path = dir.join("history.json");
    std::fs::write(&path, serde_json::to_string_pretty(&fail.history).unwrap()).unwrap();
    path
}

#[test]
fn a_history_no_order_explains_fails_replay_and_says_why() {
    let dir = std::env::temp_dir().join(format!("hsmspec-history-{}", std::process::id()));
    let path = saved_failure(Fault::LostFailedLogin, &dir);
    let p = path.to_str().unwrap();
    let (code, text) = hsmspec(&["replay", p]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("thread 0 (client 0):"), "{text}");
    assert!(text.contains("no order explains it"), "{text}");
    assert!(text.contains("verdict: FAIL"), "{text}");
    let (code, text) = hsmspec(&["replay", p, "--rerun", "3"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("re-run: ") && text.contains(" of 3 new runs"),
        "{text}"
    );
    // A history is judged on its record: a recorded answer changed makes it another history.
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn conform_concurrent_passes_on_hsm_impl_and_refuses_what_it_cannot_do() {
    let (code, text) = hsmspec(&[
        "conform",
        "--concurrent",
        "3",
        "--histories",
        "50",
        "--seed",
        "3",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("50 of 50 histories ran") && text.contains("verdict: PASS"),
        "{text}"
    );
    // A process that ends before it says hello fails the campaign (as a first step would).
    let (code, text) = hsmspec(&["conform", "--concurrent", "3", "--sut-cmd", "true"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("verdict: FAIL"), "{text}");
}

const PYTHON_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/python_hsm.py");

fn serve_impl() -> String {
    format!("{} serve-impl", env!("CARGO_BIN_EXE_hsmspec"))
}

/// `conform --concurrent 4` through the process protocol: `hsmspec serve-impl` declares the
/// `concurrent` capability and answers each client's steps on its own thread; the runner
/// shares one connection among the four threads. It passes, and operations really overlap.
#[test]
fn conform_concurrent_4_passes_through_serve_impl() {
    let sut = serve_impl();
    let (code, text) = hsmspec(&[
        "conform",
        "--concurrent",
        "4",
        "--histories",
        "40",
        "--seed",
        "5",
        "--quiet",
        "--sut-cmd",
        &sut,
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("40 of 40 histories ran"), "{text}");
    assert!(text.contains("verdict: PASS"), "{text}");
    let overlapped: u64 = text
        .split("; ")
        .find_map(|p| p.strip_suffix(" overlapped another thread's), ").or(None))
        .or_else(|| {
            text.split(" overlapped another thread's")
                .next()
                .and_then(|t| t.rsplit(' ').next())
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(overlapped > 0, "no operation overlapped another: {text}");
}

/// An implementation that does not declare `concurrent` (the Python example speaks version 2
/// without it) is a usage error before any history, saying why.
#[test]
fn conform_concurrent_refuses_a_process_without_the_capability() {
    let sut = format!("python3 {PYTHON_EXAMPLE}");
    let (code, text) = hsmspec(&["conform", "--concurrent", "2", "--sut-cmd", &sut]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("`concurrent` capability"), "{text}");
}

/// A process that dies in the middle of a campaign (its input cut after 150 lines) fails it,
/// and the failure prints the command that runs the campaign again through the same process.
#[test]
fn a_process_that_dies_mid_campaign_fails_it_with_a_command_to_reproduce() {
    let sut = format!("stdbuf -oL head -n 150 | {}", serve_impl());
    let (code, text) = hsmspec(&[
        "conform",
        "--concurrent",
        "3",
        "--histories",
        "50",
        "--seed",
        "9",
        "--quiet",
        "--sut-cmd",
        &sut,
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("verdict: FAIL"), "{text}");
    assert!(
        text.contains("reproduce: hsmspec conform --concurrent 3 --seed 9")
            && text.contains("--sut-cmd"),
        "{text}"
    );
}

/// `replay --rerun` runs a saved history's plans again through a process that can take them.
#[test]
fn replay_reruns_a_history_through_a_process() {
    let dir = std::env::temp_dir().join(format!("hsmspec-history-rerun-{}", std::process::id()));
    let path = saved_failure(Fault::KeyIdHandedOutTwice, &dir);
    let sut = serve_impl();
    let (code, text) = hsmspec(&[
        "replay",
        path.to_str().unwrap(),
        "--rerun",
        "3",
        "--sut-cmd",
        &sut,
    ]);
    assert_eq!(code, 1, "the record is still not linearizable: {text}");
    assert!(
        text.contains("0 of 3 new runs of its plans on process"),
        "the correct build behind the process is linearizable on re-runs: {text}"
    );
    let sut = format!("python3 {PYTHON_EXAMPLE}");
    let (code, text) = hsmspec(&[
        "replay",
        path.to_str().unwrap(),
        "--rerun",
        "1",
        "--sut-cmd",
        &sut,
    ]);
    assert_eq!(code, 2, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `conform --concurrent 4`'s own code, against hsm-impl with each race fault (the normal
/// build has none, so the test hands the command its system): each fails, saves its shrunk
/// history, and `hsmspec replay` of the file fails it again, on its record.
#[test]
fn conform_concurrent_4_fails_on_each_race_fault_with_a_replayable_history() {
    use clap::Parser;
    use hsm_model::Families;
    use hsmspec::conform::ConformArgs;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        conform: ConformArgs,
    }
    let base = std::env::temp_dir().join(format!("hsmspec-races-{}", std::process::id()));
    for &fault in Fault::RACES {
        let dir = base.join(format!("{fault:?}"));
        let seed = 20_261_204;
        let cli = Cli::parse_from([
            "conform",
            "--concurrent",
            "4",
            "--histories",
            "1000",
            "--quiet",
            "--failures-dir",
            dir.to_str().unwrap(),
        ]);
        let f = ImplFactory::with_constructor(
            &format!("hsm-impl with {fault:?}"),
            Arc::new(move |n, pw, p| Cluster::new_with_fault(n, pw, p, Some(fault))),
        );
        let v = hsmspec::concurrent::conform_concurrent_with(
            &cli.conform,
            4,
            seed,
            Families::all(),
            Some(&f),
        )
        .expect("the campaign runs");
        assert_eq!(
            v.code(),
            1,
            "{fault:?} was not caught in 1000 histories of 4 threads"
        );
        let saved: Vec<_> = std::fs::read_dir(&dir)
            .expect("the failures directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("hsmspec-history-{seed}-")))
            })
            .collect();
        assert_eq!(
            saved.len(),
            1,
            "{fault:?}: one saved history, found {saved:?}"
        );
        let (code, text) = hsmspec(&["replay", saved[0].to_str().unwrap()]);
        assert_eq!(code, 1, "{fault:?}: {text}");
        assert!(text.contains("no order explains it"), "{fault:?}: {text}");
    }
    let _ = std::fs::remove_dir_all(&base);
}
