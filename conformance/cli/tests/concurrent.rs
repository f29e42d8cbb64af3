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
    let (code, text) = hsmspec(&["conform", "--concurrent", "3", "--sut-cmd", "true"]);
    assert_eq!(code, 2, "{text}");
}
