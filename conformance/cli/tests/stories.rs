//! Paths told as stories: a counterexample printed by `check` (a planted fault), by `conform`
//! and by `replay` (a process that answers every Logout with Forbidden) is pinned by insta
//! snapshots; and every command, on success and on failure, prints no Rust `Debug` text
//! outside its JSON documents.
//!
//! python3 is required (`tests/misbehave.py`).

use std::path::{Path, PathBuf};
use std::process::Command;

const HSMSPEC: &str = env!("CARGO_BIN_EXE_hsmspec");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hsmspec-stories-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The process that answers every successful Logout with Forbidden: wrong the same way every
/// time, so its failure shrinks to the same two steps.
fn deny_logout() -> String {
    format!(
        "python3 {} {HSMSPEC} deny-logout",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/misbehave.py")
            .display()
    )
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Output {
    let out = Command::new(HSMSPEC)
        .args(args)
        .current_dir(root())
        .output()
        .expect("hsmspec runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The text between the line starting with `from` and the first line starting with `to`.
fn section(text: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut on = false;
    for line in text.lines() {
        if line.starts_with(from) {
            on = true;
        } else if on && line.starts_with(to) {
            break;
        }
        if on {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Rust `Debug` text: a capitalised word followed at once by `(` or by ` {`, `Some(`, or the
/// word `None`. What the acceptance of the issue asks the output to be free of.
fn debug_text(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        let word = |c: char| c.is_alphanumeric() || c == '_';
        let mut i = 0;
        while i < chars.len() {
            let starts = chars[i].is_ascii_uppercase() && (i == 0 || !word(chars[i - 1]));
            if !starts {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < chars.len() && word(chars[j]) {
                j += 1;
            }
            let w: String = chars[i..j].iter().collect();
            let paren = chars.get(j) == Some(&'(');
            let brace = chars.get(j) == Some(&' ') && chars.get(j + 1) == Some(&'{');
            if paren || brace || w == "None" {
                found.push(format!("`{w}` in: {line}"));
            }
            i = j;
        }
    }
    found
}

#[test]
fn the_debug_text_detector_finds_what_it_should() {
    assert!(!debug_text("PoolBounds { masked: 2 }").is_empty());
    assert!(!debug_text("Ok(Done)").is_empty());
    assert!(!debug_text("the session is None").is_empty());
    assert!(debug_text("verdict: FAIL (a reason); HSM 0: in service, key 1 (AES-256)").is_empty());
}

/// The lines of `text` outside JSON documents (a document is from a line `{` to a line `}`).
fn outside_json(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for line in text.lines() {
        if line == "{" {
            depth += 1;
        }
        if depth == 0 {
            out.push_str(line);
            out.push('\n');
        }
        if line == "}" {
            depth = depth.saturating_sub(1);
        }
    }
    out
}

#[test]
fn a_counterexample_of_check_is_a_story_with_the_cluster_at_the_violating_step() {
    let mut cfg = hsm_model::Config::preset("accounts").expect("a preset");
    cfg.planted = Some(hsm_model::planted::Planted::PrecoSurvivesActivation);
    let report =
        hsm_model::run::check(&cfg, &hsm_model::run::CheckOptions::default()).expect("runs");
    let text = hsmspec::check::properties_text(&report, false);
    let violated: String = text
        .lines()
        .skip_while(|l| !l.contains("VIOLATED"))
        .enumerate()
        .take_while(|(i, l)| {
            *i == 0 || !(l.starts_with("  always ") || l.starts_with("  sometimes "))
        })
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    assert!(violated.contains("the cluster after step"), "{text}");
    assert!(violated.contains("user admin: PRECO"), "{text}");
    assert!(debug_text(&text).is_empty(), "{:?}", debug_text(&text));
    insta::assert_snapshot!("check_counterexample", violated);
}

#[test]
fn conform_and_replay_tell_a_failure_step_by_step() {
    let dir = scratch("failure");
    let dir_s = dir.display().to_string();
    let sut = deny_logout();
    let out = run(&[
        "conform",
        "--cases",
        "20",
        "--steps",
        "30",
        "--seed",
        "7",
        "--quiet",
        "--failures-dir",
        &dir_s,
        "--sut-cmd",
        &sut,
    ]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out
        .stdout
        .lines()
        .last()
        .is_some_and(|l| l.starts_with("verdict: FAIL")));
    let story = section(&out.stdout, "   1. ", "DIVERGENCE");
    assert!(
        story.contains("implementation: Forbidden"),
        "{}",
        out.stdout
    );
    insta::assert_snapshot!("conform_failure", story);

    let saved = std::fs::read_dir(&dir)
        .expect("the failures directory")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a saved failure");
    let saved = saved.display().to_string();
    let out = run(&["replay", &saved, "--sut-cmd", &sut]);
    assert_eq!(out.code, 1);
    assert!(out
        .stdout
        .lines()
        .last()
        .is_some_and(|l| l.starts_with("verdict: FAIL")));
    let story = section(&out.stdout, "   1. ", "reproduce:");
    insta::assert_snapshot!("replay_failure", story);
}

/// Every command on its success and failure paths: nothing in stdout or stderr outside JSON
/// documents looks like Rust `Debug` output.
#[test]
fn no_command_prints_rust_debug_text() {
    let dir = scratch("debug");
    let dir_s = dir.display().to_string();
    let sut = deny_logout();
    let good = root()
        .join("conformance/traces/exhaustive-fresh-the-PRECO-can-activate-the-cluster.json")
        .display()
        .to_string();
    let conform = |extra: &[&str]| {
        let mut a = vec![
            "conform",
            "--cases",
            "10",
            "--steps",
            "20",
            "--seed",
            "3",
            "--quiet",
            "--failures-dir",
            &dir_s,
        ];
        a.extend_from_slice(extra);
        run(&a)
    };
    let mut outputs = vec![
        ("check suite", run(&["check", "--progress", "none"])),
        (
            "check verbose",
            run(&[
                "check",
                "--config",
                "accounts",
                "--verbose",
                "--progress",
                "none",
            ]),
        ),
        (
            "check timeout",
            run(&["check", "--config", "masking", "--timeout", "0"]),
        ),
        (
            "check json",
            run(&["check", "--json", "--progress", "none"]),
        ),
        ("check bad option", run(&["check", "--config", "nonesuch"])),
        ("conform pass", conform(&[])),
        ("conform fail", conform(&["--sut-cmd", &sut])),
        ("conform json fail", conform(&["--json", "--sut-cmd", &sut])),
        ("replay pass", run(&["replay", &good])),
        ("replay missing file", run(&["replay", "no-such-file.json"])),
        ("table", run(&["table"])),
        ("table json", run(&["table", "--format", "json"])),
    ];
    let saved = std::fs::read_dir(&dir)
        .expect("the failures directory")
        .flatten()
        .map(|e| e.path().display().to_string())
        .find(|p| p.ends_with(".json"))
        .expect("a saved failure");
    outputs.push(("replay fail", run(&["replay", &saved, "--sut-cmd", &sut])));
    outputs.push((
        "replay json fail",
        run(&["replay", "--json", &saved, "--sut-cmd", &sut]),
    ));
    let mut found = Vec::new();
    for (what, out) in &outputs {
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            for d in debug_text(&outside_json(text)) {
                found.push(format!("{what} ({stream}): {d}"));
            }
        }
    }
    assert!(found.is_empty(), "Rust Debug text:\n{}", found.join("\n"));
    // The text commands end with their verdict.
    for (what, out) in &outputs {
        if what.starts_with("check") && !what.contains("json") && !what.contains("bad") {
            let last = out.stdout.lines().last().unwrap_or("");
            assert!(last.starts_with("verdict: "), "{what}: {last}");
        }
    }
    let timeout = &outputs[2].1;
    assert_eq!(timeout.code, 1);
    assert!(
        timeout
            .stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("verdict: INCOMPLETE")),
        "{}",
        timeout.stdout
    );
    // No invariant's verdict is "holds" in a check that did not finish.
    let holds = timeout
        .stdout
        .lines()
        .filter(|l| l.split_whitespace().take(2).collect::<Vec<_>>() == ["always", "holds"])
        .count();
    assert_eq!(holds, 0, "{}", timeout.stdout);
    assert!(
        timeout.stdout.contains("always    unchecked"),
        "{}",
        timeout.stdout
    );
}

/// Off a terminal (a CI log, `2>file`), `check`'s progress is a plain line now and then, never
/// a counter rewritten with `\r`; `--quiet` writes none.
#[test]
fn progress_off_a_terminal_is_a_plain_line_now_and_then() {
    let out = run(&["check", "--config", "default", "--timeout", "11"]);
    assert_eq!(out.code, 1);
    assert!(!out.stderr.contains('\r'), "{:?}", out.stderr);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("  … "))
        .collect();
    assert_eq!(lines.len(), 1, "one line in 11 s: {}", out.stderr);
    assert!(lines[0].contains("unique states"), "{}", lines[0]);
    let quiet = run(&["check", "--config", "accounts", "--quiet"]);
    assert_eq!(quiet.stderr.trim(), "checking `accounts` …");
}
