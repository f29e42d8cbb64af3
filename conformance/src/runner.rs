//! Running a trace in lockstep on the model and a system under test, shrinking a failing trace
//! to a 1-minimal one, and printing it.

use crate::error::Error;
use crate::sut::SutFactory;
use hsm_model::story::{changes, cluster_view, outcome_text};
use hsm_model::trace::{describe, Trace, TraceStep};
use hsm_model::{Action, Column, Config, ErrorCode, LargeState, Op, Operation, Outcome};
use serde::Serialize;
use std::collections::BTreeSet;

/// A (column, operation, outcome) triple, as the model's coverage counts them.
pub type Triple = (Column, Operation, Option<ErrorCode>);

/// One step as both sides answered it.
#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    /// The action.
    pub action: Action,
    /// The model's outcome.
    pub model: Outcome,
    /// The system's outcome after abstraction, or what the abstraction found wrong.
    pub sut: Result<Outcome, String>,
}

/// Where and how the system under test left the model.
#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    /// The step, from 1 (setup steps of the configuration included).
    pub step: usize,
    /// The action.
    pub action: String,
    /// What went wrong, in one line.
    pub message: String,
}

/// The result of one trace.
#[derive(Clone, Debug, Default)]
pub struct TraceRun {
    /// Every step run, in order (up to and including the divergent one).
    pub steps: Vec<StepResult>,
    /// The first divergence, if any.
    pub divergence: Option<Divergence>,
    /// A recorded outcome the model contradicts (the trace is stale), or a system that could
    /// not be made: the trace is not a valid input.
    pub input_error: Option<String>,
    /// The triples the trace's steps reached (from the model's side).
    pub triples: BTreeSet<Triple>,
    /// The divergence is the system under test breaking down (a panic, or
    /// [`SystemUnderTest::failed`]: a crash, a hang, garbage): each shrinking attempt of such a
    /// trace may cost a whole timeout.
    ///
    /// [`SystemUnderTest::failed`]: crate::sut::SystemUnderTest::failed
    pub sut_failed: bool,
    /// The input error is a recorded outcome the model contradicts (not an unreadable trace).
    pub contradicts_spec: bool,
    /// The system answered `unsupported` (protocol version 2) at this step: the trace stopped
    /// there, neither passed nor failed (the run is INCOMPLETE).
    pub unsupported: Option<Divergence>,
    /// The operation of that step.
    pub unsupported_op: Option<Operation>,
    /// The profile's deviations that steps of the trace needed, and the system agreed with
    /// ([`crate::profile`]).
    pub deviations_seen: BTreeSet<crate::profile::Deviation>,
}

/// Whether `a` in state `s` takes the model beyond its capacity (a full pool, or a key id past
/// [`hsm_model::state::Large`]'s last): such a step is outside what the model can judge.
/// The step function keeps its capacity flag even when it answers an error.
pub fn beyond_capacity(cfg: &Config, s: &LargeState, a: &Action) -> bool {
    use hsm_model::state::flags;
    let (_, next) = cfg.step(s, a);
    next.flags & flags::CAPACITY_EXCEEDED != 0 && s.flags & flags::CAPACITY_EXCEEDED == 0
}

/// Whether an action the model answers with `expected` in state `s` may change the system's
/// state although it is an error: only the exception of SPEC §3, a Login answering
/// BadCredentials for a name that exists on that HSM (its failure counter, and maybe its lock),
/// in whatever spelling it was sent.
pub fn error_may_change_state(
    cfg: &Config,
    s: &LargeState,
    a: &Action,
    expected: &Outcome,
) -> bool {
    match (a.op, expected) {
        (Op::Login { name, .. }, Err(ErrorCode::BadCredentials)) => cfg
            .user_named(name)
            .is_some_and(|user| s.hsms[a.hsm.index()].user(user).is_some()),
        (_, Err(_)) => false,
        (_, Ok(_)) => true,
    }
}

/// The first HSM whose inspection line differs between `before` and `after`, described.
fn view_difference(before: &[String], after: &[String]) -> String {
    if before.len() != after.len() {
        return format!(
            "the inspection view had {} HSMs, now {}",
            before.len(),
            after.len()
        );
    }
    before
        .iter()
        .zip(after)
        .enumerate()
        .find(|(_, (b, a))| b != a)
        .map_or_else(String::new, |(h, (b, a))| {
            format!("HSM {h} was {b}, is now {a}")
        })
}

/// Runs `trace` on the model and on a fresh system of `factory`, comparing after every step the
/// outcome, then (after an error but SPEC §3's failed-Login exception) that the system's
/// inspection view is what it was before the step, then every HSM's state against the model;
/// stops at the first divergence.
pub fn run_trace(trace: &Trace, factory: &dyn SutFactory) -> TraceRun {
    let mut run = TraceRun::default();
    let cfg = &trace.config;
    let profile = factory.profile();
    let made = guarded(|| factory.fresh(cfg)).and_then(|r| r.map_err(|e| e.to_string()));
    let mut sut = match made {
        Ok(s) => s,
        Err(e) => {
            run.sut_failed = true;
            run.divergence = Some(Divergence {
                step: 0,
                action: "starting the system under test".into(),
                message: format!("the system under test could not be started: {e}"),
            });
            return run;
        }
    };
    let mut state = LargeState::new_cluster();
    let steps = cfg
        .setup
        .iter()
        .map(|a| TraceStep {
            action: *a,
            outcome: None,
        })
        .chain(trace.steps.iter().cloned());
    for (i, step) in steps.enumerate() {
        let a = step.action;
        let (spec, next) = cfg.step(&state, &a);
        if let Some(recorded) = &step.outcome {
            if *recorded != spec {
                run.input_error = Some(format!(
                    "the trace disagrees with the spec at step {}: it records {}, the model answers {}",
                    i + 1,
                    outcome_text(cfg, recorded),
                    outcome_text(cfg, &spec)
                ));
                run.contradicts_spec = true;
                return run;
            }
        }
        if beyond_capacity(cfg, &state, &a) {
            run.input_error = Some(format!(
                "step {}: {} goes beyond the model's capacity",
                i + 1,
                describe(cfg, &a)
            ));
            return run;
        }
        let role = state.session_role(a.client, a.hsm);
        let triple = (
            Column::of(role),
            a.op.operation(),
            spec.as_ref().err().copied(),
        );
        let new_triple = run.triples.insert(triple);
        // The profile's layer over the spec: the outcome the system must answer, and the
        // state it is compared with (the lockstep state stays the spec's).
        let (expected, answered) = match profile {
            Some(p) => p.expected(&state, &a, &spec),
            None => (spec.clone(), None),
        };
        let (next, kept) = match profile {
            Some(p) => p.next_state(&state, &a, &spec, next),
            None => (next, None),
        };
        let (compared, shown) = match profile {
            Some(p) => p.compared(cfg, &next),
            None => (next, None),
        };
        let (got, diverged) =
            match guarded(|| check_step(&mut *sut, cfg, &state, &a, &expected, &compared)) {
                Ok(r) => r,
                Err(panic) => (Err(Error::Broken(panic.clone())), Some(panic)),
            };
        if let Err(Error::Unsupported(m)) = &got {
            run.unsupported = Some(Divergence {
                step: i + 1,
                action: describe(cfg, &a),
                message: m.clone(),
            });
            run.unsupported_op = Some(a.op.operation());
            // Not tested: not reached either.
            if new_triple {
                run.triples.remove(&triple);
            }
            return run;
        }
        run.steps.push(StepResult {
            action: a,
            model: expected,
            sut: got.map_err(|e| e.to_string()),
        });
        if let Some(message) = diverged {
            run.sut_failed =
                message.starts_with(PANIC_PREFIX) || guarded(|| sut.failed()).unwrap_or(true);
            run.divergence = Some(Divergence {
                step: i + 1,
                action: describe(cfg, &a),
                message,
            });
            return run;
        }
        run.deviations_seen
            .extend(answered.into_iter().chain(shown).chain(kept));
        state = next;
    }
    run
}

/// One step on the system under test, and what diverged: the outcome, then (after an error
/// but SPEC §3's failed-Login exception) that the inspection view is what it was before the
/// step, then every HSM's state against the model. A step the system answered `unsupported`
/// is `Err(Error::Unsupported)` and nothing diverged.
fn check_step(
    sut: &mut dyn crate::sut::SystemUnderTest,
    cfg: &Config,
    state: &LargeState,
    a: &Action,
    expected: &Outcome,
    next: &LargeState,
) -> (Result<Outcome, Error>, Option<String>) {
    // SPEC §3: nothing changes on an error. The view before the step, to compare with
    // the view after it, independently of the model's state.
    let before = (!error_may_change_state(cfg, state, a, expected)).then(|| sut.observe());
    let got = sut.step(a, state, expected);
    let diverged = match &got {
        Err(Error::Unsupported(_)) => None,
        Err(m) => Some(m.to_string()),
        Ok(o) if o != expected => Some(format!(
            "outcome: model {}, implementation {}",
            outcome_text(cfg, expected),
            outcome_text(cfg, o)
        )),
        Ok(_) => {
            let unchanged = match before {
                None => None,
                Some(Err(m)) => Some(format!("inspection before the step: {m}")),
                Some(Ok(before)) => match sut.observe() {
                    Err(m) => Some(format!("inspection after the step: {m}")),
                    Ok(after) if after != before => Some(format!(
                        "the step answered {} but changed the system's state: {}",
                        show(expected),
                        view_difference(&before, &after)
                    )),
                    Ok(_) => None,
                },
            };
            unchanged.or_else(|| match sut.check_state(next) {
                Err(m) => Some(format!("state after the step: {m}")),
                Ok(()) => None,
            })
        }
    };
    (got, diverged)
}

/// How a panic inside the system under test (or its adapter) is reported.
pub const PANIC_PREFIX: &str = "the system under test panicked: ";

thread_local! {
    /// Set while [`guarded`] runs code of the system under test: its panics are reported as
    /// divergences, not printed by the default hook.
    static INSIDE_SUT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (code of the system under test), turning a panic into `Err` with its message. The
/// first call installs a panic hook that stays quiet for such panics (shrinking may provoke
/// hundreds) and forwards every other panic to the hook that was there before.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !INSIDE_SUT.with(|c| c.get()) {
                previous(info);
            }
        }));
    });
    let was = INSIDE_SUT.with(|c| c.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    INSIDE_SUT.with(|c| c.set(was));
    r.map_err(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        format!("{PANIC_PREFIX}{text}")
    })
}

/// An outcome in one short line, in words, where no configuration is at hand to name users and
/// data ([`hsm_model::story::outcome_text`] names them).
pub fn show(o: &Outcome) -> String {
    hsm_model::story::outcome_summary(o)
}

/// Whether the trace, replayed, diverges (a trace with an input error does not count).
fn fails(trace: &Trace, factory: &dyn SutFactory) -> bool {
    let r = run_trace(trace, factory);
    r.input_error.is_none() && r.divergence.is_some()
}

/// The trace with only the steps at `keep`, its outcomes recorded afresh from the model.
fn sub_trace(trace: &Trace, keep: &[TraceStep]) -> Trace {
    let mut t = trace.clone();
    t.steps = keep
        .iter()
        .map(|s| TraceStep {
            action: s.action,
            outcome: None,
        })
        .collect();
    t.with_model_outcomes()
}

/// A shrunk trace, and whether shrinking finished.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The smallest failing trace found.
    pub trace: Trace,
    /// Whether shrinking ran to its end: removing any single step loses the failure. False
    /// when its deadline cut it short.
    pub one_minimal: bool,
    /// Traces run while shrinking.
    pub attempts: usize,
}

/// Shrinks a failing trace until it is 1-minimal: removing any single step loses the failure.
/// Steps after the divergence are cut first; then chunks, then single steps, are removed while
/// the trace still diverges (a step that no longer makes sense just runs: the model answers
/// it). The configuration's setup steps must already be part of the steps (`Trace::new`).
pub fn shrink(trace: &Trace, factory: &dyn SutFactory) -> Trace {
    shrink_within(trace, factory, None).trace
}

/// [`shrink`], stopping at `deadline` (a hanging system costs a whole timeout per attempt):
/// then the smallest failing trace found so far, not 1-minimal.
pub fn shrink_within(
    trace: &Trace,
    factory: &dyn SutFactory,
    deadline: Option<std::time::Instant>,
) -> Shrunk {
    let mut attempts = 1;
    let first = run_trace(trace, factory);
    let Some(d) = first.divergence else {
        return Shrunk {
            trace: trace.clone(),
            one_minimal: false,
            attempts,
        };
    };
    let setup = trace.config.setup.len();
    let mut steps: Vec<TraceStep> =
        trace.steps[..d.step.saturating_sub(setup).min(trace.steps.len())].to_vec();
    let late = || deadline.is_some_and(|d| std::time::Instant::now() >= d);
    let mut cut = false;
    // Chunks, halving, from the end (later steps are the likelier to be removable).
    let mut chunk = steps.len() / 2;
    while chunk >= 2 && !cut {
        let mut start = steps.len().saturating_sub(chunk);
        loop {
            if late() {
                cut = true;
                break;
            }
            if start + chunk <= steps.len() && steps.len() > chunk {
                let mut cand = steps.clone();
                cand.drain(start..start + chunk);
                let t = sub_trace(trace, &cand);
                attempts += 1;
                if fails(&t, factory) {
                    steps = cand;
                }
            }
            if start == 0 {
                break;
            }
            start = start.saturating_sub(chunk);
        }
        chunk /= 2;
    }
    // Single steps until no removal keeps the failure.
    while !cut {
        let mut changed = false;
        let mut i = steps.len();
        while i > 0 {
            if late() {
                cut = true;
                break;
            }
            i -= 1;
            let mut cand = steps.clone();
            cand.remove(i);
            let t = sub_trace(trace, &cand);
            attempts += 1;
            if fails(&t, factory) {
                // Cut what follows the (possibly earlier) divergence too.
                attempts += 1;
                let r = run_trace(&t, factory);
                let end = r
                    .divergence
                    .map_or(cand.len(), |d| d.step.saturating_sub(setup).min(cand.len()));
                cand.truncate(end);
                steps = cand;
                changed = true;
                i = i.min(steps.len());
            }
        }
        if !changed {
            break;
        }
    }
    let mut t = sub_trace(trace, &steps);
    t.name = format!("shrunk: {}", trace.name);
    Shrunk {
        trace: t,
        one_minimal: !cut,
        attempts,
    }
}

/// Whether the trace is 1-minimal for `factory`: it diverges, and removing any single step
/// loses the divergence.
pub fn is_one_minimal(trace: &Trace, factory: &dyn SutFactory) -> bool {
    fails(trace, factory)
        && (0..trace.steps.len()).all(|i| {
            let mut cand = trace.steps.clone();
            cand.remove(i);
            !fails(&sub_trace(trace, &cand), factory)
        })
}

/// The trace replayed, one step per line, with the model's and the system's outcome; the
/// divergence last.
pub fn format_run(cfg: &Config, run: &TraceRun) -> String {
    let mut out = String::new();
    // The run's steps start from a new cluster, the configuration's setup steps included.
    let mut state = LargeState::new_cluster();
    let divergent = run.divergence.as_ref().map(|d| d.step);
    for (i, s) in run.steps.iter().enumerate() {
        let sut = match &s.sut {
            Ok(o) if *o == s.model => "the same".to_string(),
            Ok(o) => outcome_text(cfg, o),
            Err(m) => format!("broken: {m}"),
        };
        out.push_str(&format!(
            "{:>4}. {}\n        model: {}   implementation: {}\n",
            i + 1,
            describe(cfg, &s.action),
            outcome_text(cfg, &s.model),
            sut
        ));
        let next = cfg.step(&state, &s.action).1;
        if divergent == Some(i + 1) {
            let changed = changes(cfg, &state, &next);
            if !changed.is_empty() {
                out.push_str("        what the model says this step changes:\n");
                for c in changed {
                    out.push_str(&format!("          {c}\n"));
                }
            }
            out.push_str(&format!(
                "        the cluster after step {} as the model has it:\n",
                i + 1
            ));
            out.push_str(&cluster_view(cfg, &next, "          "));
        }
        state = next;
    }
    if let Some(d) = &run.divergence {
        out.push_str(&format!("DIVERGENCE at step {}: {}\n", d.step, d.message));
    }
    if let Some(e) = &run.input_error {
        out.push_str(&format!("INPUT ERROR: {e}\n"));
    }
    if let Some(u) = &run.unsupported {
        out.push_str(&format!(
            "UNSUPPORTED at step {} ({}): {}; the rest of the trace was not run\n",
            u.step, u.action, u.message
        ));
    }
    out
}
