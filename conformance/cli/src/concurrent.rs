//! `hsmspec conform --concurrent N`: a concurrent campaign (N client threads against one
//! cluster at once, judged by linearizability against the model), and `hsmspec replay` of a
//! history file it saved (judged again on its record; `--rerun N` runs its plans again).

use crate::conform::ConformArgs;
use crate::options::{bar, shell_quote};
use crate::say;
use hsm_conformance::concurrent::{
    concurrent_campaign, concurrent_config, describe, history_from_json, history_start,
    judge_history, linearize::Judgement, rerun, ConcurrentOptions, ConcurrentResult,
    ConcurrentTarget, Explanation, History,
};
use hsm_conformance::verdict::Verdict;
use hsm_conformance::Error;
use hsm_model::state::{Capacity, Large};
use serde_json::json;

/// Most threads: one client each, at the capacity campaigns run at.
const MAX_CLIENTS: usize = Large::CLIENTS;
use hsm_model::Families;

/// Runs the concurrent campaign of `hsmspec conform --concurrent THREADS`.
pub fn conform_concurrent(
    args: &ConformArgs,
    threads: usize,
    seed: u64,
    families: Families,
) -> Result<Verdict, Error> {
    conform_concurrent_with(args, threads, seed, families, None)
}

/// As [`conform_concurrent`], against `given` instead of what `args` name (the tests hold the
/// command to each race fault of hsm-impl, which the normal build does not have).
pub fn conform_concurrent_with(
    args: &ConformArgs,
    threads: usize,
    seed: u64,
    families: Families,
    given: Option<&dyn ConcurrentTarget>,
) -> Result<Verdict, Error> {
    // Options of the sequential campaign that mean nothing here are refused, not ignored.
    for (given, flag) in [
        (args.exhaustive, "--exhaustive"),
        (args.junit.is_some(), "--junit"),
    ] {
        if given {
            return Err(Error::Usage(format!(
                "{flag} is an option of the sequential campaign; --concurrent does not take it"
            )));
        }
    }
    crate::options::writable(&args.report, "cannot write the report")?;
    if !(2..=MAX_CLIENTS).contains(&threads) {
        return Err(Error::Usage(format!(
            "--concurrent takes 2 to {MAX_CLIENTS} threads (one client each: the model holds {MAX_CLIENTS} clients)"
        )));
    }
    std::fs::create_dir_all(&args.failures_dir).map_err(|e| {
        Error::Usage(format!(
            "cannot create the failures directory {}: {e}",
            args.failures_dir.display()
        ))
    })?;
    let mut cfg = concurrent_config(threads);
    if families != Families::all() {
        cfg = crate::conform::restrict(&cfg, families).ok_or_else(|| {
            Error::Usage(format!(
                "--ops {families} leaves the concurrent configuration nothing to run"
            ))
        })?;
        say!("operation families tested: {families}");
    }
    let opts = ConcurrentOptions {
        histories: args.histories,
        threads,
        seed,
        ..ConcurrentOptions::default()
    };
    let made;
    let target: Result<&dyn ConcurrentTarget, String> = match given {
        Some(t) => Ok(t),
        None => match args.sut.concurrent_target(&cfg) {
            Ok(t) => {
                made = t;
                Ok(&*made)
            }
            // A process that cannot even say hello fails the campaign, as a trace's first step.
            Err(e) if e.is_sut_failure() => Err(e.to_string()),
            Err(e) => return Err(e),
        },
    };
    let (r, system) = match target {
        Ok(target) => {
            say!(
                "concurrent: {} histories of {threads} threads against {}: a sequential prefix of {} steps, then {} planned operations per thread at once",
                opts.histories,
                target.describe(),
                opts.prefix,
                opts.ops_per_thread
            );
            let pb = bar(opts.histories, args.quiet, "histories");
            let r = concurrent_campaign(&cfg, &opts, target, &|n| pb.set_position(n));
            pb.finish_and_clear();
            (r?, target.describe())
        }
        Err(e) => (
            ConcurrentResult {
                asked: opts.histories,
                run_failure: Some((
                    0,
                    format!("the implementation failed before the first history: {e}"),
                )),
                ..ConcurrentResult::default()
            },
            args.sut
                .sut_cmd
                .as_deref()
                .map_or("hsm-impl".into(), |c| format!("process `{c}`")),
        ),
    };
    say!(
        "concurrent: {} of {} histories ran, {} operations ({:.1} per history; {} overlapped another thread's), {:.1} s ({:.0} histories/s; judging {:.2} s)",
        r.histories,
        r.asked,
        r.ops,
        r.ops as f64 / r.histories.max(1) as f64,
        r.overlapping_ops,
        r.seconds,
        r.histories as f64 / r.seconds.max(1e-9),
        r.judge_seconds
    );
    let mut v = Verdict::pass();
    let mut run_failure = serde_json::Value::Null;
    if let Some((case, m)) = &r.run_failure {
        v.fail(format!("history {case}: {m}"));
        let ops = args
            .ops
            .as_deref()
            .map_or(String::new(), |o| format!(" --ops {}", shell_quote(o)));
        let reproduce = format!(
            "hsmspec conform --concurrent {threads} --seed {seed} --histories {}{ops}{}",
            case + 1,
            sut_flags(args)
        );
        say!(
            "history {case}: {m}\nreproduce: {reproduce}   (a hang, deadlock or crash under load is timing: it need not come back every run)"
        );
        run_failure = json!({"history": case, "message": m, "reproduce": reproduce});
    }
    let mut failures = Vec::new();
    for f in &r.failures {
        let path = args
            .failures_dir
            .join(format!("hsmspec-history-{seed}-{}.json", f.case));
        let text = serde_json::to_string_pretty(&f.history)
            .map_err(|e| Error::Usage(format!("cannot write the history: {e}")))?;
        std::fs::write(&path, text)
            .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
        say!(
            "history {}: not linearizable ({} operations, shrunk from {}):\n{}saved: {}\nreproduce: hsmspec replay {}   (judges the record again; add --rerun 20 to run its plans again)",
            f.case,
            f.history.ops.len(),
            f.original_ops,
            describe(&f.history, &f.why),
            path.display(),
            shell_quote(&path.display().to_string())
        );
        v.fail(format!("history {} is not linearizable", f.case));
        failures.push(json!({
            "history": f.case,
            "operations": f.history.ops.len(),
            "shrunk_from": f.original_ops,
            "file": path.display().to_string(),
            "reproduce": format!("hsmspec replay {}", shell_quote(&path.display().to_string())),
            "placed": f.why.placed,
            "blocked": f.why.blocked.iter().map(|(op, reason)| json!({
                "operation": (*op != usize::MAX).then_some(*op),
                "reason": reason,
            })).collect::<Vec<_>>(),
        }));
    }
    if r.histories < r.asked && r.failures.is_empty() && r.run_failure.is_none() {
        v.incomplete(format!("{} of {} histories ran", r.histories, r.asked));
    }
    if !r.undecided.is_empty() {
        v.incomplete(format!(
            "{} histories undecided (first: history {}: {})",
            r.undecided.len(),
            r.undecided[0].0,
            r.undecided[0].1
        ));
    }
    say!("{}", v.line());
    if args.json || args.report.is_some() {
        let mut doc = crate::output::header(CONCURRENT_SCHEMA, "hsmspec conform");
        let body = json!({
            "verdict": v,
            "config": crate::output::config_json(&cfg),
            "system": system,
            "seed": seed,
            "threads": threads,
            "histories_requested": r.asked,
            "histories": r.histories,
            "operations": r.ops,
            "overlapping_operations": r.overlapping_ops,
            "seconds": r.seconds,
            "judge_seconds": r.judge_seconds,
            "histories_per_second": r.histories as f64 / r.seconds.max(1e-9),
            "undecided": r.undecided.iter().map(|(h, why)| json!({"history": h, "why": why})).collect::<Vec<_>>(),
            "run_failure": run_failure,
            "failures": failures,
        });
        if let serde_json::Value::Object(m) = body {
            doc.extend(m);
        }
        let doc = serde_json::Value::Object(doc);
        if let Some(path) = &args.report {
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| Error::Usage(format!("cannot write the report: {e}")))?;
            std::fs::write(path, text).map_err(|e| {
                Error::Usage(format!("cannot write the report {}: {e}", path.display()))
            })?;
        }
        if args.json {
            crate::output::print_document(&doc);
        }
    }
    Ok(v)
}

/// The `schema` of `hsmspec conform --concurrent N --json`'s document (and of `--report`).
pub const CONCURRENT_SCHEMA: &str = "hsmspec-concurrent/1";

/// ` --sut-cmd '…'` (and its timeout) when the campaign ran against a process, for the
/// command a failure prints.
fn sut_flags(args: &ConformArgs) -> String {
    match &args.sut.sut_cmd {
        Some(cmd) => format!(
            " --sut-cmd {} --timeout-ms {}",
            shell_quote(cmd),
            args.sut.timeout_ms
        ),
        None => String::new(),
    }
}

/// What `hsmspec replay` found in a history file.
pub enum HistoryVerdict {
    /// An order explains it.
    Linearizable,
    /// No order explains it.
    NotLinearizable,
    /// The search did not decide it.
    Undecided(String),
}

/// Judges a history file on its record (and with `rerun`, runs its plans that many times on
/// fresh systems: hsm-impl in process, or the process of `--sut-cmd`); prints what it finds.
pub fn replay_history(
    file: &str,
    text: &str,
    reruns: usize,
    sut: &crate::options::SutArgs,
) -> Result<HistoryVerdict, Error> {
    let h: History = history_from_json(text)?;
    say!(
        "{file} ({}, a concurrent history of {} threads, {} operations):",
        h.name,
        h.plans.len(),
        h.ops.len()
    );
    let start = history_start(&h);
    let verdict = match judge_history(&h, &start) {
        Judgement::Linearizable(order) => {
            say!(
                "linearizable: in the order {}",
                order
                    .iter()
                    .map(|i| format!("#{i}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            HistoryVerdict::Linearizable
        }
        Judgement::NotLinearizable { placed, blocked } => {
            let why = Explanation {
                placed,
                blocked: blocked.into_iter().map(|b| (b.op, b.reason)).collect(),
            };
            say!("{}", describe(&h, &why).trim_end());
            HistoryVerdict::NotLinearizable
        }
        Judgement::Undecided(why) => {
            say!("undecided: {why}");
            HistoryVerdict::Undecided(why)
        }
    };
    if reruns > 0 {
        let target = sut.concurrent_target(&h.config)?;
        let failed = rerun(&h, &*target, reruns)?;
        say!(
            "re-run: {failed} of {reruns} new runs of its plans on {} were not linearizable (a race need not come back: the verdict is the record's)",
            target.describe()
        );
    }
    Ok(verdict)
}
