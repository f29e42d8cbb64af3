//! Model-guided exhaustive conformance: for a small configuration, every transition of the
//! model's reachable state graph (concrete states, no symmetry), each reached by a shortest
//! path from the initial state, is replayed on a fresh system under test.

use crate::generate::Failure;
use crate::runner::{format_run, run_trace, shrink, Triple};
use crate::sut::SutFactory;
use hsm_model::trace::{Trace, TraceStep};
use hsm_model::{Action, Config, HsmModel, KeyKind, PoolBounds, Role, State};
use serde::Serialize;
use stateright::Model;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

/// What an exhaustive campaign did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExhaustiveResult {
    /// The configuration's name.
    pub config: String,
    /// Reachable concrete states.
    pub states: u64,
    /// Transitions replayed (one trace each).
    pub transitions: u64,
    /// Steps run on the system under test (setup and paths included).
    pub steps: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Failing transitions, shrunk (at most one when stopping at the first).
    pub failures: Vec<Failure>,
    /// Triples reached.
    #[serde(skip)]
    pub triples: BTreeSet<Triple>,
}

/// The configurations of the exhaustive campaign, each small enough for a debug test build:
/// a new cluster (activation, PRECO, clone before activation, lockout, unknown names), and
/// activated clusters with users and keys made by setup steps.
pub fn exhaustive_configs() -> Vec<Config> {
    let mut out = Vec::new();
    // 1. A new cluster of 2 HSMs, 1 client: sessions, passwords, lifecycle, users.
    let mut c = base("fresh");
    c.hsms = 2;
    c.clients = 1;
    c.names = vec!["alice".into()];
    c.passwords = vec!["secret-one".into(), "short".into()];
    c.families = hsm_model::Families::parse("sessions,passwords,lifecycle,users,masking")
        .unwrap_or(c.families);
    c.key_ids = 0;
    out.push(c);
    out
}

fn base(name: &str) -> Config {
    let mut c = Config::default_config();
    c.name = format!("exhaustive-{name}");
    c.symmetry = false;
    c.kinds = vec![KeyKind::Aes256];
    c.pools = PoolBounds {
        masked: 2,
        wrapped: 1,
        ciphertexts: 1,
        signatures: 1,
    };
    c.policy.lockout_threshold = 2;
    c.policy.max_shares = 1;
    let _ = Role::CryptoUser;
    c
}

/// The reachable concrete states of `cfg` in BFS order, with for each its parent and the
/// action from it (none for the initial state), and the enabled transitions per state.
pub fn reachable(
    model: &HsmModel,
    limit: usize,
) -> Result<Vec<(State, Option<(usize, Action)>)>, String> {
    let init = model.setup_state()?;
    let mut index: HashMap<State, usize> = HashMap::new();
    let mut states = vec![(init, None)];
    index.insert(init, 0);
    let mut i = 0;
    let mut actions = Vec::new();
    while i < states.len() {
        let s = states[i].0;
        actions.clear();
        model.actions(&s, &mut actions);
        for a in &actions {
            let Some((_, next)) = model.transition(&s, a) else {
                continue;
            };
            if !index.contains_key(&next) {
                if states.len() >= limit {
                    return Err(format!("more than {limit} states"));
                }
                index.insert(next, states.len());
                states.push((next, Some((i, *a))));
            }
        }
        i += 1;
    }
    Ok(states)
}

fn path_to(states: &[(State, Option<(usize, Action)>)], mut i: usize) -> Vec<Action> {
    let mut path = Vec::new();
    while let Some((p, a)) = states[i].1 {
        path.push(a);
        i = p;
    }
    path.reverse();
    path
}

/// Replays every transition of `cfg`'s reachable graph on `factory`'s systems; stops at the
/// first divergence (shrunk) when `stop_on_failure`. `tick(done, total)` reports progress.
pub fn exhaustive(
    cfg: &Config,
    factory: &dyn SutFactory,
    stop_on_failure: bool,
    tick: &dyn Fn(u64, u64),
) -> Result<ExhaustiveResult, String> {
    let start = Instant::now();
    let mut cfg = cfg.clone();
    cfg.symmetry = false;
    let model = HsmModel::new(cfg.clone())?;
    let states = reachable(&model, 2_000_000)?;
    let mut res = ExhaustiveResult {
        config: cfg.name.clone(),
        states: states.len() as u64,
        ..Default::default()
    };
    let mut actions = Vec::new();
    let mut todo: Vec<(usize, Action)> = Vec::new();
    for (i, (s, _)) in states.iter().enumerate() {
        actions.clear();
        model.actions(s, &mut actions);
        for a in &actions {
            if model.transition(s, a).is_some() {
                todo.push((i, *a));
            }
        }
    }
    let total = todo.len() as u64;
    for (n, (i, a)) in todo.into_iter().enumerate() {
        let mut path = path_to(&states, i);
        path.push(a);
        let steps = path
            .into_iter()
            .map(|action| TraceStep {
                action,
                outcome: None,
            })
            .collect();
        let trace =
            Trace::new(&format!("{}: transition {n}", cfg.name), &cfg, steps).with_model_outcomes();
        let run = run_trace(&trace, factory);
        res.transitions += 1;
        res.steps += run.steps.len() as u64;
        res.triples.extend(run.triples.iter().copied());
        if let Some(e) = run.input_error {
            return Err(e);
        }
        if run.divergence.is_some() {
            let small = shrink(&trace, factory);
            let r = run_trace(&small, factory);
            if let Some(d) = r.divergence.clone() {
                res.failures.push(Failure {
                    case: n as u64,
                    case_seed: 0,
                    original_steps: trace.steps.len(),
                    replay: format_run(&small.config, &r),
                    trace: small,
                    divergence: d,
                });
            }
            if stop_on_failure {
                break;
            }
        }
        if n % 256 == 0 {
            tick(n as u64, total);
        }
    }
    tick(total, total);
    res.seconds = start.elapsed().as_secs_f64();
    Ok(res)
}
