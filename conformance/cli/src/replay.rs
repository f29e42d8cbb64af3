//! `hsmspec replay`: saved traces and scenarios (files, or directories of them) replayed on the
//! model and a system under test, every file to its first divergence, with a summary that
//! counts them and, for CI, a JSON document (`--json`, `--report`) and a JUnit report
//! (`--junit`). The verdict is decided here (exit 0 all conform; 1 a divergence, a trace that
//! disagrees with the spec, or a file left undecided or untested; 2 unreadable input when
//! nothing failed).

use crate::options::{shell_quote, writable, SutArgs};
use crate::{output, say};
use clap::Args;
use hsm_conformance::failure::{FailureFile, RERUNS};
use hsm_conformance::runner::{format_run, run_trace, TraceRun};
use hsm_conformance::sut::SutFactory;
use hsm_conformance::verdict::Verdict;
use hsm_conformance::Error;
use std::path::PathBuf;

/// `hsmspec replay`.
#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// Trace files (hsmspec-trace JSON), scenarios (`.scenario`) or directories of them, each
    /// replayed.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write a JSON report here: each file's verdict, the summary, the verdict (the document
    /// `--json` prints).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print one JSON document on stdout (schema `hsmspec-replay/3`,
    /// docs/schema/hsmspec-output.schema.json); the text goes to stderr.
    #[arg(long)]
    pub json: bool,
    /// Write a JUnit XML report here: one test case per file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// For a concurrent history (hsmspec-history JSON): also run its plans this many times on
    /// fresh systems (hsm-impl, or with --sut-cmd a process that declares the `concurrent`
    /// capability) and say how often no order explains the new history. The verdict stays
    /// the record's: a race need not come back.
    #[arg(long, default_value_t = 0)]
    pub rerun: usize,
    #[command(flatten)]
    pub sut: SutArgs,
}

/// `hsmspec replay`'s judgement of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileVerdict {
    /// Every run of the trace agreed with the model.
    Conforms,
    /// The system under test diverged.
    Diverges,
    /// A recorded outcome differs from what the model answers: the trace disagrees with the
    /// spec.
    DisagreesWithSpec,
    /// The file could not be read as a trace (or goes beyond the model's capacity).
    Unreadable,
    /// A concurrent history the linearizability search could not decide.
    Undecided,
    /// The system answered `unsupported` at a step: the rest was not run.
    Unsupported,
    /// With `--profile`: the trace needs what the profile's class lacks (an operation, a role,
    /// the AU, its number of HSMs, limits the system does not run): not run, and said why
    /// (D58).
    OutsideProfile,
}

/// With `--profile`: one thing a file needs that the profile's class lacks.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OutsideFile {
    /// What (`Clone`, `the AU`, `2 HSMs`, `the spec's limits`).
    pub what: String,
    /// Why, in a sentence.
    pub why: String,
    /// The steps that need it, from 1 (none for the cluster's shape).
    pub steps: Vec<usize>,
    /// For a scenario: their lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<usize>,
}

/// With `--profile`: a written expectation the profile's layer changes (D58).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ChangedStep {
    /// The step, from 1.
    pub step: usize,
    /// For a scenario: its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The outcome written.
    pub written: String,
    /// The outcome the system is held to under the profile.
    pub expected: String,
    /// The declared deviation that changes it; null: the class's shape (no AU to list).
    pub deviation: Option<&'static str>,
}

/// One replayed file, for the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ReplayedFile {
    /// The file.
    pub file: String,
    /// The judgement.
    pub verdict: FileVerdict,
    /// Steps in the trace (0 when unreadable).
    pub steps: usize,
    /// Runs made (a file recorded as flaky is run up to [`RERUNS`] times).
    pub runs: usize,
    /// Runs that diverged.
    pub diverged_runs: usize,
    /// The divergent step of the first divergent run, from 1.
    pub step: Option<usize>,
    /// For a scenario: the line of that step, or of the expectation the model contradicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What went wrong, in one line.
    pub message: Option<String>,
    /// Wall-clock seconds spent on the file (every run of it).
    pub seconds: f64,
    /// With `--profile`, a file outside it: what it needs that the class lacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<OutsideFile>,
    /// With `--profile`, a file that fits: the written expectations the profile changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_by_profile: Vec<ChangedStep>,
    /// What the text output said of the file (the story of a divergent run), for the JUnit
    /// report.
    #[serde(skip)]
    pub text: String,
}

/// How many files ended with each judgement, for the summary.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Files that conform.
    pub conform: usize,
    /// Files on which the system under test diverged.
    pub diverge: usize,
    /// Files with an expectation the model contradicts.
    pub disagree_with_spec: usize,
    /// Files that could not be read.
    pub unreadable: usize,
    /// Concurrent histories the linearizability search did not decide.
    pub undecided: usize,
    /// Files stopped untested where the system answered `unsupported`.
    pub unsupported: usize,
    /// With `--profile`: files not run, outside what the profile's class has.
    pub outside_profile: usize,
    /// With `--profile`: files that ran with a written expectation the profile changes.
    pub changed_by_profile: usize,
}

impl Summary {
    /// The counts of `files`.
    pub fn of(files: &[ReplayedFile]) -> Summary {
        let mut s = Summary::default();
        for f in files {
            *match f.verdict {
                FileVerdict::Conforms => &mut s.conform,
                FileVerdict::Diverges => &mut s.diverge,
                FileVerdict::DisagreesWithSpec => &mut s.disagree_with_spec,
                FileVerdict::Unreadable => &mut s.unreadable,
                FileVerdict::Undecided => &mut s.undecided,
                FileVerdict::Unsupported => &mut s.unsupported,
                FileVerdict::OutsideProfile => &mut s.outside_profile,
            } += 1;
            s.changed_by_profile += !f.changed_by_profile.is_empty() as usize;
        }
        s
    }

    /// The summary line: `replay: 3 files: 2 conform, 1 diverges, …` (the counts that are not
    /// zero after the first three, which are always said).
    pub fn line(&self, files: usize) -> String {
        let mut parts = vec![
            format!("{} conform", self.conform),
            format!("{} diverge", self.diverge),
            format!("{} disagree with the spec", self.disagree_with_spec),
            format!("{} unreadable", self.unreadable),
        ];
        if self.undecided > 0 {
            parts.push(format!("{} undecided", self.undecided));
        }
        if self.unsupported > 0 {
            parts.push(format!(
                "{} stopped untested (unsupported)",
                self.unsupported
            ));
        }
        if self.outside_profile > 0 {
            parts.push(format!(
                "{} outside the profile (not run)",
                self.outside_profile
            ));
        }
        if self.changed_by_profile > 0 {
            parts.push(format!(
                "{} with a written expectation the profile changes",
                self.changed_by_profile
            ));
        }
        format!(
            "replay: {files} file{}: {}",
            if files == 1 { "" } else { "s" },
            parts.join(", ")
        )
    }
}

/// The files outside the profile, grouped by what they need: `Clone ×5, 2 HSMs ×4` (a file
/// counts under each thing it needs), or `None` when there are none.
pub fn outside_groups(results: &[ReplayedFile]) -> Option<String> {
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for r in results {
        for o in &r.outside {
            match groups.iter_mut().find(|(w, _)| *w == o.what) {
                Some(g) => g.1 += 1,
                None => groups.push((&o.what, 1)),
            }
        }
    }
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    (!groups.is_empty()).then(|| {
        groups
            .iter()
            .map(|(w, n)| format!("{w} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The verdict of a replay: FAIL for a divergence or an expectation the spec contradicts;
/// INCOMPLETE for what was not checked (an unreadable file, an undecided history, a trace
/// stopped at an unsupported operation). Files outside the profile leave a PASS a PASS, and
/// the verdict line says how many and why (D58).
pub fn replay_verdict(results: &[ReplayedFile]) -> Verdict {
    let mut verdict = Verdict::pass();
    for r in results {
        match r.verdict {
            FileVerdict::Conforms => {}
            FileVerdict::Diverges => verdict.fail(match r.step {
                Some(step) => format!(
                    "{}: diverged at step {step}{}",
                    r.file,
                    r.line.map_or(String::new(), |l| format!(" (line {l})"))
                ),
                None => format!("{}: {}", r.file, r.message.as_deref().unwrap_or("diverged")),
            }),
            FileVerdict::DisagreesWithSpec if r.line.is_some() => verdict.fail(format!(
                "{}: {}",
                r.file,
                r.message.as_deref().unwrap_or("disagrees with the spec")
            )),
            FileVerdict::DisagreesWithSpec => verdict.fail(format!(
                "{}: the trace disagrees with the spec at step {}",
                r.file,
                r.step.unwrap_or(0)
            )),
            FileVerdict::Unreadable => verdict.incomplete(format!("{}: unreadable", r.file)),
            FileVerdict::Undecided => verdict.incomplete(format!(
                "{}: the linearizability search did not decide it",
                r.file
            )),
            FileVerdict::Unsupported => verdict.incomplete(format!(
                "{}: stopped untested at step {}: {}",
                r.file,
                r.step.unwrap_or(0),
                r.message.as_deref().unwrap_or("unsupported")
            )),
            FileVerdict::OutsideProfile => {}
        }
    }
    let outside = results
        .iter()
        .filter(|r| r.verdict == FileVerdict::OutsideProfile)
        .count();
    if let Some(groups) = outside_groups(results) {
        verdict.note(format!(
            "{outside} file{} outside the profile, not run: {groups}",
            if outside == 1 { "" } else { "s" }
        ));
    }
    verdict
}

/// Runs `hsmspec replay`: every file against the model and the system under test; a summary
/// counts conforming, diverging and unreadable files.
pub fn replay(args: &ReplayArgs) -> Result<Verdict, Error> {
    crate::output::text_to_stderr(args.json);
    writable(&args.report, "cannot write the report")?;
    writable(&args.junit, "cannot write the JUnit report")?;
    let factory = args.sut.factory()?;
    let factory = &*factory;
    let profile = args.sut.read_profile()?;
    let limits = Limits::new(args)?;
    let mut results = Vec::new();
    if args.rerun > 0 && args.sut.sut_cmd.is_some() {
        // Re-runs of histories go through the process only if it can take them: said before
        // any file is read.
        args.sut
            .concurrent_target(&hsm_conformance::concurrent::concurrent_config(2))?;
    }
    // The reports this run writes are not files to replay, even inside a directory replayed.
    let same = |a: &std::path::Path, b: &std::path::Path| match (a.canonicalize(), b.canonicalize())
    {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    let outputs: Vec<&PathBuf> = args.report.iter().chain(&args.junit).collect();
    let files: Vec<PathBuf> = crate::scenario::expand(&args.files)
        .into_iter()
        .filter(|f| !outputs.iter().any(|o| same(f, o)))
        .collect();
    for file in &files {
        let started = std::time::Instant::now();
        let mut r = replay_file(file, factory, args, profile.as_ref(), &limits);
        r.seconds = started.elapsed().as_secs_f64();
        results.push(r);
    }
    let summary = Summary::of(&results);
    say!("{}", summary.line(results.len()));
    if let (Some(p), Some(groups)) = (&profile, outside_groups(&results)) {
        say!(
            "outside the profile `{}`, not run: {} file{} ({groups})",
            p.name,
            summary.outside_profile,
            if summary.outside_profile == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    let verdict = replay_verdict(&results);
    let mut doc = output::header(output::REPLAY_SCHEMA, "hsmspec replay");
    doc.insert("verdict".into(), serde_json::json!(verdict));
    doc.insert(
        "implementation".into(),
        serde_json::json!(factory.describe()),
    );
    doc.insert("files".into(), serde_json::json!(results));
    doc.insert("summary".into(), serde_json::json!(summary));
    let doc = serde_json::Value::Object(doc);
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap_or_default())
            .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&results, &factory.describe())?)
            .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    if args.json {
        output::print_document(&doc);
    }
    say!("{}", verdict.line());
    // Unreadable input with nothing found wrong is a usage error (exit 2): what was asked
    // could not be checked, and the fault is the input's.
    if summary.unreadable > 0 && verdict.status != hsm_conformance::verdict::Status::Fail {
        return Err(Error::Usage(format!(
            "{} of {} file{} could not be read",
            summary.unreadable,
            results.len(),
            if results.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(verdict)
}

/// The JUnit XML report: one test case per file (quick-junit writes it): a divergence or an
/// expectation the spec contradicts is a failure, an unreadable file an error, an undecided or
/// untested one skipped, each with its message and what the text output said of it.
pub fn junit(results: &[ReplayedFile], implementation: &str) -> Result<String, Error> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("hsmspec replay ({implementation})"));
    for r in results {
        let kind = match r.verdict {
            FileVerdict::Conforms => None,
            FileVerdict::Diverges | FileVerdict::DisagreesWithSpec => {
                Some(Some(NonSuccessKind::Failure))
            }
            FileVerdict::Unreadable => Some(Some(NonSuccessKind::Error)),
            FileVerdict::Undecided | FileVerdict::Unsupported | FileVerdict::OutsideProfile => {
                Some(None)
            }
        };
        let status = match kind {
            None => TestCaseStatus::success(),
            Some(kind) => {
                let mut status = match kind {
                    Some(kind) => TestCaseStatus::non_success(kind),
                    None => TestCaseStatus::skipped(),
                };
                status
                    .set_message(r.message.clone().unwrap_or_default())
                    .set_description(r.text.clone());
                status
            }
        };
        let mut case = TestCase::new(r.file.clone(), status);
        case.set_classname("hsmspec.replay")
            .set_time(std::time::Duration::from_secs_f64(r.seconds.max(0.0)));
        suite.add_test_case(case);
    }
    let mut report = Report::new("hsmspec replay");
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| Error::Usage(format!("cannot write the JUnit report: {e}")))
}

/// Numbers, comma-separated: `3, 7, 9`.
fn numbers(ns: &[usize]) -> String {
    ns.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints a line of a file's text output and keeps it in the file's record (`out.text`).
macro_rules! tell {
    ($out:ident, $($arg:tt)*) => {{
        let line = format!($($arg)*);
        say!("{line}");
        $out.text.push_str(&line);
        $out.text.push('\n');
    }};
}

/// The limits the system under test runs for a configuration's policy (its `hello`), asked
/// once per policy; only with `--profile` (D58).
struct Limits {
    hello: Option<hsm_conformance::process::ProcessFactory>,
    known: std::cell::RefCell<Vec<(hsm_model::Policy, hsm_model::Policy)>>,
}

impl Limits {
    fn new(args: &ReplayArgs) -> Result<Limits, Error> {
        let hello = match (&args.sut.sut_cmd, &args.sut.profile) {
            (Some(cmd), Some(_)) => Some(
                hsm_conformance::process::ProcessFactory::command(
                    cmd,
                    std::time::Duration::from_millis(args.sut.timeout_ms),
                )
                .with_max_version(args.sut.protocol_version)?
                .with_profile(args.sut.read_profile()?),
            ),
            _ => None,
        };
        Ok(Limits {
            hello,
            known: Default::default(),
        })
    }

    /// The policy the system runs when asked for `cfg`'s (`cfg`'s own when it cannot say:
    /// the replay then reports what the system does).
    fn of(&self, cfg: &hsm_model::Config) -> hsm_model::Policy {
        let Some(f) = &self.hello else {
            return cfg.policy;
        };
        if let Some((_, p)) = self.known.borrow().iter().find(|(a, _)| *a == cfg.policy) {
            return *p;
        }
        let p = f.hello(cfg).map(|h| h.policy).unwrap_or(cfg.policy);
        self.known.borrow_mut().push((cfg.policy, p));
        p
    }
}

/// Replays one file; prints what it finds.
fn replay_file(
    file: &std::path::Path,
    factory: &dyn SutFactory,
    args: &ReplayArgs,
    profile: Option<&hsm_conformance::profile::Profile>,
    limits: &Limits,
) -> ReplayedFile {
    let sut = &args.sut;
    let mut out = ReplayedFile {
        file: file.display().to_string(),
        verdict: FileVerdict::Unreadable,
        steps: 0,
        runs: 0,
        diverged_runs: 0,
        step: None,
        line: None,
        message: None,
        seconds: 0.0,
        text: String::new(),
        outside: Vec::new(),
        changed_by_profile: Vec::new(),
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            tell!(out, "{}: cannot read: {e}", out.file);
            out.message = Some(e.to_string());
            return out;
        }
    };
    let is_history = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_owned))
        .is_some_and(|f| f == hsm_conformance::concurrent::FORMAT);
    if is_history {
        use crate::concurrent::{replay_history, HistoryVerdict};
        out.runs = 1;
        match replay_history(&out.file, &text, args.rerun, &args.sut) {
            Ok(HistoryVerdict::Linearizable) => out.verdict = FileVerdict::Conforms,
            Ok(HistoryVerdict::NotLinearizable) => {
                out.verdict = FileVerdict::Diverges;
                out.diverged_runs = 1;
                out.message = Some("no order of its operations explains it".into());
            }
            Ok(HistoryVerdict::Undecided(why)) => {
                out.verdict = FileVerdict::Undecided;
                out.message = Some(why);
            }
            Err(e) => {
                tell!(out, "{}: not a history: {e}", out.file);
                out.message = Some(e.to_string());
            }
        }
        return out;
    }
    let (trace, lines) = match crate::scenario::read_trace(file, &text) {
        Ok(t) => t,
        Err(e) => {
            tell!(out, "{}: {}", out.file, e.message);
            if e.disagrees_at.is_some() {
                out.verdict = FileVerdict::DisagreesWithSpec;
                out.line = e.disagrees_at;
            }
            out.message = Some(e.message);
            return out;
        }
    };
    out.steps = trace.steps.len();
    let setup = trace.config.setup.len();
    let line_of = |step: usize| {
        lines
            .as_ref()
            .and_then(|l| l.get(step.wrapping_sub(1 + setup)).copied())
    };
    let trace = match profile {
        None => trace,
        Some(p) => {
            use hsm_conformance::profile::Fit;
            match p.fit(&trace, &limits.of(&trace.config)) {
                Fit::Disagrees(step, message) => {
                    tell!(out, "{}: {message}", out.file);
                    out.verdict = FileVerdict::DisagreesWithSpec;
                    out.step = Some(step);
                    out.line = line_of(step);
                    out.message = Some(message);
                    return out;
                }
                Fit::Outside(reasons) => {
                    out.outside = reasons
                        .into_iter()
                        .map(|o| OutsideFile {
                            lines: o.steps.iter().filter_map(|s| line_of(*s)).collect(),
                            what: o.what,
                            why: o.why,
                            steps: o.steps,
                        })
                        .collect();
                    let message = format!(
                        "outside the profile `{}`: {}",
                        p.name,
                        out.outside
                            .iter()
                            .map(|o| match (o.lines.as_slice(), o.steps.as_slice()) {
                                ([], []) => o.why.clone(),
                                ([], steps) => format!("{} (step {})", o.why, numbers(steps)),
                                (lines, _) => format!("{} (line {})", o.why, numbers(lines)),
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    );
                    tell!(out, "{}: not run, {message}", out.file);
                    out.verdict = FileVerdict::OutsideProfile;
                    out.message = Some(message);
                    return out;
                }
                Fit::Fits(t, changed) => {
                    out.changed_by_profile = changed
                        .into_iter()
                        .map(|c| ChangedStep {
                            step: c.step,
                            line: line_of(c.step),
                            written: c.written,
                            expected: c.expected,
                            deviation: c.deviation.map(|d| d.name()),
                        })
                        .collect();
                    *t
                }
            }
        }
    };
    let record = FailureFile::record_of(&text);
    let flaky = record.as_ref().is_some_and(|r| r.flaky);
    tell!(
        out,
        "{} ({}, {} steps{}):",
        out.file,
        trace.name,
        trace.steps.len(),
        if flaky {
            format!(", recorded as flaky: run up to {RERUNS} times")
        } else {
            String::new()
        }
    );
    for c in &out.changed_by_profile {
        let at = match c.line {
            Some(l) => format!("line {l}"),
            None => format!("step {}", c.step),
        };
        tell!(
            out,
            "{at} is written {}; under the profile the system must answer {} ({})",
            c.written,
            c.expected,
            match c.deviation {
                Some(d) => format!("deviation {d}"),
                None => "the class's shape".into(),
            }
        );
    }
    // A file recorded as flaky is run until it diverges, at most RERUNS times; others once.
    let mut last: Option<TraceRun> = None;
    for _ in 0..if flaky { RERUNS } else { 1 } {
        let run = run_trace(&trace, factory);
        out.runs += 1;
        if let Some(e) = &run.input_error {
            tell!(out, "{}", format_run(&trace.config, &run).trim_end());
            out.message = Some(e.clone());
            out.verdict = if run.contradicts_spec {
                out.step = Some(run.steps.len() + 1);
                FileVerdict::DisagreesWithSpec
            } else {
                FileVerdict::Unreadable
            };
            return out;
        }
        let diverged = run.divergence.is_some();
        last = Some(run);
        if diverged {
            out.diverged_runs = 1;
            break;
        }
    }
    match last {
        Some(run) => {
            tell!(out, "{}", format_run(&trace.config, &run).trim_end());
            match &run.divergence {
                Some(d) => {
                    out.verdict = FileVerdict::Diverges;
                    out.step = Some(d.step);
                    out.message = Some(d.message.clone());
                    out.line = lines
                        .as_ref()
                        .and_then(|l| l.get(d.step.wrapping_sub(1)).copied());
                    if let Some(line) = out.line {
                        tell!(out, "step {} is line {line} of {}", d.step, out.file);
                    }
                    tell!(
                        out,
                        "reproduce: hsmspec replay {}{}",
                        shell_quote(&out.file),
                        sut.replay_options()
                    );
                }
                None if run.unsupported.is_some() => {
                    let u = run.unsupported.as_ref();
                    out.verdict = FileVerdict::Unsupported;
                    out.step = u.map(|u| u.step);
                    out.message = u.map(|u| u.message.clone());
                }
                None => {
                    out.verdict = FileVerdict::Conforms;
                    tell!(
                        out,
                        "conforms: no divergence{}",
                        if out.runs > 1 {
                            format!(" in {} runs", out.runs)
                        } else {
                            String::new()
                        }
                    );
                }
            }
        }
        None => out.verdict = FileVerdict::Conforms,
    }
    out
}
