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
    run_with_input(args, "")
}

/// Runs the binary with `input` on its standard input.
fn run_with_input(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(HSMSPEC)
        .args(args)
        .current_dir(root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("hsmspec runs");
    let mut stdin = child.stdin.take().expect("its input");
    // A command that reads nothing may have exited already: a broken pipe is fine.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().expect("hsmspec ends");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// GET `path` from 127.0.0.1:`port`: the body.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the Explorer listens");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("a timeout");
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    text.split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string())
}

/// `hsmspec explore` as a person starts it: what it prints, and the status, states, actions
/// and outcomes its Explorer serves (the strings of the JSON it answers), until it is stopped.
fn explore_session() -> Output {
    use std::io::BufRead;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut child = Command::new(HSMSPEC)
        .args(["explore", "--port", &port.to_string()])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("hsmspec explore runs");
    let mut stderr = String::new();
    let mut lines = std::io::BufReader::new(child.stderr.take().expect("its stderr")).lines();
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        stderr.push_str(&line);
        stderr.push('\n');
        if line.starts_with("Explorer on ") {
            break;
        }
    }
    let mut served = String::new();
    let mut strings = |v: &serde_json::Value| {
        fn walk(v: &serde_json::Value, out: &mut String) {
            match v {
                serde_json::Value::String(s) => {
                    out.push_str(s);
                    out.push('\n');
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                serde_json::Value::Object(o) => o
                    .iter()
                    .filter(|(k, _)| *k != "fingerprint" && *k != "svg")
                    .for_each(|(_, v)| walk(v, out)),
                _ => {}
            }
        }
        walk(v, &mut served);
    };
    for path in ["/.status", "/.states/", "/.states/0", "/.states/0/0"] {
        let body = http_get(port, path);
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"));
        strings(&v);
    }
    let _ = child.kill();
    let _ = child.wait();
    Output {
        code: 0,
        stdout: served,
        stderr,
    }
}

/// A short session of `serve-impl`: hello, requests it must refuse (not JSON, an unknown type,
/// a step before reset, a client with no session, a missing argument, bytes that are not
/// base64, an unknown cluster), a reset and steps with errors and successes.
const SERVE_IMPL_SESSION: &str = r#"{"id":1,"type":"hello","version":2,"versions":[1,2],"policy":{"name_max_chars":31,"password_min_chars":8,"password_max_chars":32,"lockout_threshold":2,"max_shares":1,"max_users":5,"max_keys":3},"hsms":2,"clients":2,"au_password":"appliance-pw"}
not json
{"id":2,"type":"frobnicate"}
{"id":3,"type":"step","cluster":0,"client":0,"hsm":0,"op":"Login","args":{"name":"admin","password":"password"}}
{"id":4,"type":"reset","cluster":0,"hsms":2,"clients":2,"au_password":"appliance-pw","policy":{"name_max_chars":31,"password_min_chars":8,"password_max_chars":32,"lockout_threshold":2,"max_shares":1,"max_users":5,"max_keys":3}}
{"id":5,"type":"step","cluster":0,"client":7,"hsm":0,"op":"Login","args":{"name":"admin","password":"password"}}
{"id":6,"type":"step","cluster":0,"client":0,"hsm":9,"op":"Login","args":{"name":"admin"}}
{"id":7,"type":"step","cluster":0,"client":0,"hsm":0,"op":"Login","args":{"name":"admin","password":"wrong-password"},"observe":true}
{"id":8,"type":"step","cluster":0,"client":0,"hsm":0,"op":"Login","args":{"name":"admin","password":"password"},"observe":true}
{"id":9,"type":"step","cluster":0,"client":0,"hsm":0,"op":"Encrypt","args":{"key":"zz","data":"!!"}}
{"id":10,"type":"observe","cluster":3,"hsm":0}
{"id":11,"type":"observe","cluster":0,"hsm":1}
"#;

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

    // The failure is saved as a scenario too, for people: it diverges the same way, on the line
    // of the step the saved trace diverged at.
    let scenario = saved.replace(".json", ".scenario");
    assert!(Path::new(&scenario).exists(), "no scenario beside {saved}");
    let again = run(&["replay", &scenario, "--sut-cmd", &sut]);
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    let step_of = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("verdict: FAIL ("))
            .and_then(|l| l.split("diverged at step ").nth(1))
            .and_then(|l| l.split(|c: char| !c.is_ascii_digit()).next())
            .map(str::to_string)
    };
    assert_eq!(
        step_of(&again.stdout),
        step_of(&out.stdout),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("(line "), "{}", again.stdout);
}

/// Every command on its success and failure paths: nothing in stdout or stderr outside JSON
/// documents looks like Rust `Debug` output. That covers `check`, `conform`, `replay` (files,
/// directories, scenarios), `convert`, `table`, `scale` (finished and cut runs), `explore`
/// (what it prints and what its Explorer serves), `serve-impl` (the messages of its answers)
/// and the error messages of bad options and bad input.
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
    // simulate and the concurrent campaign, on success and failure paths (a committed history
    // no order explains; a process that ends before hello).
    let race = root()
        .join("conformance/histories/cluster-info-reads-every-hsm-at-once.json")
        .display()
        .to_string();
    let serve = format!("{} serve-impl", env!("CARGO_BIN_EXE_hsmspec"));
    for (what, args) in [
        (
            "simulate pass",
            vec![
                "simulate", "--config", "masking", "--walks", "200", "--depth", "20", "--seed", "3",
            ],
        ),
        ("simulate bad option", vec!["simulate", "--walks", "x"]),
        (
            "concurrent pass",
            vec![
                "conform",
                "--concurrent",
                "4",
                "--histories",
                "20",
                "--seed",
                "3",
                "--quiet",
            ],
        ),
        (
            "concurrent through a process",
            vec![
                "conform",
                "--concurrent",
                "2",
                "--histories",
                "10",
                "--quiet",
                "--sut-cmd",
                &serve,
            ],
        ),
        (
            "concurrent process fails",
            vec!["conform", "--concurrent", "2", "--sut-cmd", "true"],
        ),
        (
            "concurrent bad threads",
            vec!["conform", "--concurrent", "9"],
        ),
        ("replay history fail", vec!["replay", &race, "--rerun", "2"]),
    ] {
        outputs.push((what, run(&args)));
    }
    outputs.push((
        "replay json fail",
        run(&["replay", "--json", &saved, "--sut-cmd", &sut]),
    ));
    // Replay's other paths: a directory of scenarios, a scenario the spec contradicts, one
    // with a typo, a trace of another version, a report it cannot write.
    let scenario =
        std::fs::read_to_string(root().join("conformance/scenarios/share-limit.scenario"))
            .expect("a committed scenario");
    let wrong = dir.join("wrong.scenario");
    std::fs::write(&wrong, scenario.replacen("-> ShareLimit", "-> ok", 1)).expect("write");
    let typo = dir.join("typo.scenario");
    std::fs::write(&typo, scenario.replacen("ShareKey", "SharKey", 1)).expect("write");
    let version = dir.join("version.json");
    std::fs::write(&version, r#"{"format":"hsmspec-trace","version":9}"#).expect("write");
    let no_format = dir.join("no-format.json");
    std::fs::write(&no_format, "{}").expect("write");
    let (wrong, typo, version, no_format) = (
        wrong.display().to_string(),
        typo.display().to_string(),
        version.display().to_string(),
        no_format.display().to_string(),
    );
    for (what, args) in [
        ("replay scenarios", vec!["replay", "conformance/scenarios"]),
        ("replay wrong expectation", vec!["replay", &wrong]),
        ("replay typo", vec!["replay", &typo]),
        ("replay other version", vec!["replay", &version, &no_format]),
        (
            "replay unwritable junit",
            vec!["replay", &good, "--junit", "/nonexistent/dir/junit.xml"],
        ),
        ("convert not a trace", vec!["convert", &no_format]),
        ("conform bad ops", vec!["conform", "--ops", "nonesuch"]),
        (
            "conform process exits",
            vec!["conform", "--cases", "2", "--quiet", "--sut-cmd", "true"],
        ),
        (
            "conform unwritable report",
            vec!["conform", "--report", "/nonexistent/dir/r.json"],
        ),
        (
            "check bad bound",
            vec!["check", "--config", "accounts", "--hsms", "99"],
        ),
        (
            "conform bad protocol version",
            vec!["conform", "--sut-cmd", "true", "--protocol-version", "9"],
        ),
        (
            "conform missing profile",
            vec![
                "conform",
                "--sut-cmd",
                "true",
                "--profile",
                "/nonexistent/profile.json",
            ],
        ),
        (
            "conform profile that is none",
            vec!["conform", "--sut-cmd", "true", "--profile", &no_format],
        ),
        (
            "replay rerun with sut-cmd",
            vec!["replay", "--rerun", "1", "--sut-cmd", "true", &good],
        ),
        ("check bad ops", vec!["check", "--ops", "nonesuch"]),
        (
            "explore bad config",
            vec!["explore", "--config", "nonesuch"],
        ),
        ("scale bad base", vec!["scale", "--base", "nope"]),
        ("scale bad max", vec!["scale", "--max", "names=9"]),
    ] {
        outputs.push((what, run(&args)));
    }
    let version = &outputs
        .iter()
        .find(|(w, _)| *w == "conform bad protocol version")
        .expect("ran")
        .1;
    assert!(
        version
            .stderr
            .contains("this build speaks versions 1 and 2"),
        "{}",
        version.stderr
    );
    // `scale` on small runs (one finished, one cut at its limit), `explore` serving, with its
    // port taken, and `serve-impl` answering a session: what a person reads of each.
    let scale_out = dir.join("scale").display().to_string();
    outputs.push((
        "scale",
        run(&[
            "scale",
            "--base",
            "accounts",
            "--bounds",
            "names",
            "--max",
            "names=1",
            "--limit-secs",
            "60",
            "--out",
            &scale_out,
        ]),
    ));
    outputs.push((
        "scale cut",
        run(&[
            "scale",
            "--base",
            "lifecycle",
            "--bounds",
            "clients",
            "--limit-secs",
            "0.001",
            "--out",
            &scale_out,
        ]),
    ));
    let explored = explore_session();
    for shown in [
        "configuration `accounts`: 1 HSM",
        "user admin: PRECO",
        "→ Ok, logged in as PRECO",
    ] {
        assert!(
            explored.stdout.contains(shown),
            "`{shown}` not served:\n{}",
            explored.stdout
        );
    }
    outputs.push(("explore", explored));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let taken_port = taken.local_addr().expect("its address").port().to_string();
    outputs.push((
        "explore port taken",
        run(&["explore", "--port", &taken_port]),
    ));
    drop(taken);
    let served = run_with_input(&["serve-impl"], SERVE_IMPL_SESSION);
    assert_eq!(served.stdout.lines().count(), 12, "{}", served.stdout);
    // Its output is the protocol (one JSON object a line): what people read are its strings.
    let messages: String = served
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("serve-impl printed a line that is no JSON ({e}): {l}"));
            ["refused", "err"]
                .iter()
                .filter_map(|k| v[k].as_str())
                .map(|m| format!("{m}\n"))
                .collect::<String>()
        })
        .collect();
    assert!(messages.contains("send reset first"), "{messages}");
    outputs.push((
        "serve-impl",
        Output {
            code: served.code,
            stdout: messages,
            stderr: served.stderr,
        },
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
