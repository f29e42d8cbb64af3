//! The model's step function on reachable states of the `masking` and `keys` configurations,
//! and the expansion of a state as the checkers do it.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hsm_model::explore::fingerprint;
use hsm_model::{Action, Config, HsmModel, State};
use stateright::Model;

/// Reachable (state, action) pairs: a deterministic walk over enabled actions.
fn samples(cfg: Config, n: usize) -> (Config, Vec<(State, Action)>) {
    let model = HsmModel::new(cfg.clone()).expect("valid configuration");
    let mut s = model.setup_state().expect("setup");
    let mut out = Vec::with_capacity(n);
    let mut all = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while out.len() < n {
        all.clear();
        model.enabled_actions(&s, &mut all);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let a = all[(x % all.len() as u64) as usize];
        out.push((s, a));
        s = cfg.step(&s, &a).1;
        if out.len() % 200 == 0 {
            s = model.setup_state().expect("setup");
        }
    }
    (cfg, out)
}

fn step_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("model/step");
    for cfg in [Config::masking(), Config::keys()] {
        let name = cfg.name.clone();
        let (cfg, pairs) = samples(cfg, 4096);
        g.throughput(Throughput::Elements(pairs.len() as u64));
        g.bench_function(&name, |b| {
            b.iter(|| {
                let mut errors = 0usize;
                for (s, a) in &pairs {
                    errors += cfg.step(s, a).0.is_err() as usize;
                }
                errors
            })
        });
    }
    g.finish();
}

fn next_states(c: &mut Criterion) {
    // What a checker does per state: every enabled action stepped, the successors
    // canonicalized and fingerprinted. `compact` is the compact engine's way (one step per
    // candidate); `stateright` is the `Model` interface stateright drives (actions, then
    // next_state for each state-changing one), for comparison.
    let mut g = c.benchmark_group("model/expand");
    for cfg in [Config::masking(), Config::default_config()] {
        let name = cfg.name.clone();
        let model = HsmModel::new(cfg.clone()).unwrap();
        let (_, pairs) = samples(cfg, 256);
        g.throughput(Throughput::Elements(pairs.len() as u64));
        g.bench_function(format!("{name}/compact"), |b| {
            let mut candidates = Vec::new();
            b.iter(|| {
                let mut n = 0u64;
                for (s, _) in &pairs {
                    model.for_each_successor(s, &mut candidates, |_, next| {
                        let next = model.symmetry().canonicalize(next).0;
                        n = n.wrapping_add(fingerprint(&next));
                    });
                }
                n
            })
        });
        g.bench_function(format!("{name}/stateright"), |b| {
            b.iter(|| {
                let mut n = 0;
                let mut actions = Vec::new();
                for (s, _) in &pairs {
                    actions.clear();
                    model.actions(s, &mut actions);
                    for a in actions.drain(..) {
                        n += model.next_state(s, a).is_some() as usize;
                    }
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, step_throughput, next_states);
criterion_main!(benches);
