//! The conformance runner's throughput in steps per second, four ways on one fixed workload, in
//! one run (group `runner`; read the ratios):
//!
//! - `model_alone`: `hsm_model::Config::step` replaying every trace from a new cluster;
//! - `impl_alone`: `hsm-impl` executing the same actions through the adapter's translation;
//! - `lockstep`: `runner::run_trace` with `hsm-impl` linked in, what `hsmspec conform` runs per
//!   case;
//! - `process`: `run_trace` against a `hsmspec serve-impl` child through the process protocol,
//!   version 2 (a step answered with its observation: one round trip per step);
//! - `process_v1`: the same through protocol version 1 (an `observe` per HSM before and after).
//!
//! The workload: the random campaign's generator (`generate::runner_config`, the test password
//! cost) with a fixed seed, [`CASES`] traces of [`STEPS`] steps, generated once before anything
//! is timed. Every benchmark counts the same steps (`Throughput::Elements`).
//!
//! `process` needs the `hsmspec` binary next to this benchmark's directory
//! (`target/release/hsmspec`): run `cargo build --release` first, or set `HSMSPEC_BIN` to a
//! binary; without one it is skipped with a message.
//!
//! `cargo bench -p hsm-benches --bench runner` takes about a minute and a quarter once built,
//! most of it the two process benchmarks (their round trips are latency-bound, so their
//! figures move with the machine's scheduling more than the others do: compare ratios within
//! one run; docs/performance.md gives three).

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use hsm_conformance::adapter::{ImplFactory, ImplSut};
use hsm_conformance::generate::{case_seed, runner_config, Generator, Rng};
use hsm_conformance::process::ProcessFactory;
use hsm_conformance::runner::run_trace;
use hsm_conformance::sut::SutFactory;
use hsm_model::trace::Trace;
use hsm_model::LargeState;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Traces in the workload.
const CASES: u64 = 200;
/// Steps per trace (the runner configuration has no setup steps).
const STEPS: usize = 50;
/// The seed (the default campaign's).
const SEED: u64 = 20_261_101;

/// The fixed workload: the traces and their total number of steps.
struct Workload {
    traces: Vec<Trace>,
    steps: u64,
}

/// The traces the random campaign would run for seed [`SEED`] (same case seeds, same
/// generator), with the model's outcomes recorded, as `hsmspec conform` makes them.
fn workload() -> Workload {
    let cfg = runner_config();
    let gen = Generator::new(&cfg).expect("the runner configuration is valid");
    let traces: Vec<Trace> = (0..CASES)
        .map(|i| {
            let cs = case_seed(SEED, i);
            gen.trace(
                &format!("random case {i} (seed {cs})"),
                STEPS,
                &mut Rng::new(cs),
            )
        })
        .collect();
    // `Trace::new` moves the configuration's setup into the steps: `steps` is all of them.
    let steps = traces.iter().map(|t| t.steps.len() as u64).sum();
    Workload { traces, steps }
}

/// Lockstep over the whole workload; the steps run. Panics on a divergence or input error
/// (the workload must pass, or the figures mean nothing).
fn lockstep_all(w: &Workload, factory: &dyn SutFactory) -> u64 {
    let mut n = 0;
    for t in &w.traces {
        let r = run_trace(t, factory);
        if let Some(e) = &r.input_error {
            panic!("{}: input error: {e}", t.name);
        }
        if let Some(d) = &r.divergence {
            panic!(
                "{}: divergence at step {} ({}): {}",
                t.name, d.step, d.action, d.message
            );
        }
        n += r.steps.len() as u64;
    }
    n
}

/// The model's step function over every trace, from a new cluster: the model's part of the
/// runner's work (the runner steps the model twice per step: once for the outcome and the next
/// state, once more in `beyond_capacity`).
fn model_all(w: &Workload) -> usize {
    let mut errors = 0;
    for t in &w.traces {
        let mut s = LargeState::new_cluster();
        for step in &t.steps {
            let (out, next) = t.config.step(&s, &step.action);
            errors += out.is_err() as usize;
            s = next;
        }
    }
    errors
}

/// `hsm-impl` alone over every trace: a fresh cluster per trace (with every client's sessions,
/// as the runner makes it) and `ImplSut::run` per step, which is the adapter's translation of
/// the model's action into `hsm-impl` calls and of the answer back into an outcome (names and
/// passwords as text, the token→bytes maps, the HMAC and sync-status ledgers, Digest checked
/// against SHA-256). The model's outcome it needs to name new tokens is the one recorded in the
/// trace beforehand. Not included: stepping the model, comparing outcomes, the crypto laws
/// (the extra decrypt/verify/tamper calls after an agreed Ok step), the inspection views
/// before and after error steps, and the state comparison. Returns the number of steps whose
/// answer is the recorded outcome.
fn impl_all(w: &Workload, factory: &ImplFactory) -> u64 {
    let mut agreed = 0;
    for t in &w.traces {
        let mut sut = ImplSut::new(&t.config, factory.constructor()).expect("a fresh cluster");
        for step in &t.steps {
            let expected = step.outcome.as_ref().expect("outcomes are recorded");
            agreed += matches!(sut.run(&step.action, expected), Ok(o) if o == *expected) as u64;
        }
    }
    agreed
}

/// The `hsmspec` binary for the `process` benchmark: `HSMSPEC_BIN`, else `hsmspec` in the
/// directory above this executable's (`target/release/deps/runner-…` → `target/release/`).
fn hsmspec_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("HSMSPEC_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("HSMSPEC_BIN={} is not a file", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or_else(|| format!("{} has no grandparent directory", exe.display()))?;
    let bin = dir.join(format!("hsmspec{}", std::env::consts::EXE_SUFFIX));
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: run `cargo build --release` first (or set HSMSPEC_BIN)",
            bin.display()
        ))
    }
}

/// The process factory for `hsmspec serve-impl`, its child started and greeted (outside the
/// timing; the factory keeps that one child for every trace), or why not. A binary older than
/// the library is not detected here (its mtime says nothing: `cargo bench` relinks this
/// benchmark after any change); a stale protocol fails `hello` or the untimed pass instead.
fn serve_impl_factory(version: u64) -> Result<ProcessFactory, String> {
    let bin = hsmspec_binary()?;
    let cmd = format!("'{}' serve-impl", bin.display());
    let f = ProcessFactory::command(&cmd, Duration::from_secs(20))
        .with_max_version(version)
        .map_err(|e| e.to_string())?;
    f.hello(&runner_config())
        .map_err(|e| format!("`{cmd}` did not say hello: {e}"))?;
    Ok(f)
}

fn runner(c: &mut Criterion) {
    let w = workload();
    let imp = ImplFactory::correct();
    // Sanity, untimed: the workload passes in lockstep, and `hsm-impl` alone answers every step
    // as recorded (so `impl_alone` does the same work as in lockstep).
    assert_eq!(lockstep_all(&w, &imp), w.steps, "lockstep runs every step");
    assert_eq!(
        impl_all(&w, &imp),
        w.steps,
        "hsm-impl alone agrees on every step"
    );
    println!(
        "runner: workload of {} traces, {} steps (seed {SEED})",
        w.traces.len(),
        w.steps
    );

    let mut g = c.benchmark_group("runner");
    g.sample_size(10);
    // One pass over the workload takes from under a millisecond (the model) to seconds (the
    // process): the same number of passes per sample, not criterion's linear ramp (which needs
    // at least 55 passes).
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_secs(2));
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(w.steps));

    g.bench_function("model_alone", |b| b.iter(|| model_all(&w)));
    g.bench_function("impl_alone", |b| b.iter(|| impl_all(&w, &imp)));
    g.bench_function("lockstep", |b| b.iter(|| lockstep_all(&w, &imp)));

    for (name, version) in [("process", 2), ("process_v1", 1)] {
        match serve_impl_factory(version) {
            Ok(f) => {
                // Untimed: the workload passes through the protocol too, and one pass's time sets
                // the measurement time so that each sample is one pass (10 passes in all; criterion
                // then prints "Unable to complete 10 samples", which it does whenever a sample is
                // a single iteration; two per sample would double the time for nothing).
                let start = Instant::now();
                assert_eq!(lockstep_all(&w, &f), w.steps, "the process runs every step");
                let pass = start.elapsed();
                g.measurement_time(Duration::from_secs(8).max(pass.mul_f64(9.0)));
                g.bench_function(name, |b| b.iter(|| lockstep_all(&w, &f)));
            }
            Err(why) => println!("runner/{name}: SKIPPED: {why}"),
        }
    }
    g.finish();
}

criterion_group!(benches, runner);
criterion_main!(benches);
