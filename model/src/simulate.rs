//! Random walks over a configuration, as TLC's simulation mode does: for configurations too
//! large to exhaust, walks of a bounded depth from the setup state, each step chosen at random
//! among the actions that change the state, every invariant checked on every successor of
//! every state a walk visits.
//!
//! Uniform walks rarely go deep here: Zeroize is open to every session at every step and
//! wipes an HSM, and a wrong Login locks a user out at once in `default`. So by default each
//! walk is a *swarm* walk (Groce et al., "Swarm testing", ISSTA 2012): it draws a random half
//! of the operations (a failed Login counted apart from one that logs in) and steps only
//! those while one of them changes the state, so some walks never zeroize and others never
//! log in wrongly, and every operation still appears in half
//! of the walks.
//!
//! A walk's choices depend only on the seed and the walk's number (its own generator is seeded
//! from both), so a run is reproduced by its seed, walk count and depth, at any thread count:
//! the violation reported is that of the lowest-numbered walk that found one, and a walk stops
//! at its first violation. The walks are concrete (no symmetry reduction): a violation's path
//! is the walk's own actions, replayable as they are.

use crate::action::Action;
use crate::checker::{HsmModel, Triple};
use crate::config::Config;
use crate::state::State;
use stateright::{Expectation, Model};
use std::collections::HashMap;
use std::time::Instant;

/// Options of a simulation.
#[derive(Clone, Copy, Debug)]
pub struct SimulateOptions {
    /// Walks to run.
    pub walks: u64,
    /// Steps per walk at most (a walk ends earlier in a state where no action changes
    /// anything).
    pub depth: usize,
    /// The seed every walk's generator derives from.
    pub seed: u64,
    /// Threads that run walks.
    pub threads: usize,
    /// Stop (incomplete) once this instant has passed.
    pub deadline: Option<Instant>,
    /// Swarm walks: each walk draws its own random half of the operations and takes only
    /// their steps while it can (any step when none of them changes the state). Without it,
    /// every step is uniform over all state-changing actions.
    pub swarm: bool,
}

/// A violated invariant found by a walk.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The invariant, as a sentence.
    pub invariant: &'static str,
    /// The walk's number (0-based) under the run's seed.
    pub walk: u64,
    /// The concrete actions from the setup state to the violating state.
    pub path: Vec<Action>,
}

/// What a simulation found.
#[derive(Clone, Debug, Default)]
pub struct Simulation {
    /// Walks run to their end (or to their violation).
    pub walks: u64,
    /// Steps taken by all walks.
    pub steps: u64,
    /// Successor states whose invariants were checked (every state-changing successor of
    /// every visited state).
    pub states_checked: u64,
    /// Walks that ended before their depth, in a state where no action changes anything.
    pub dead_ends: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Whether every walk asked for ran (false after the deadline).
    pub complete: bool,
    /// The first violation, by walk number.
    pub violation: Option<Violation>,
    /// Examples reached, each with the shortest path a walk took to it.
    pub examples: HashMap<&'static str, Vec<Action>>,
    /// The (role, operation, outcome) triples seen.
    pub coverage: Vec<Triple>,
}

/// splitmix64: a small generator whose sequence is fixed by its seed on every platform and
/// version (a crate's generator may change between releases, and the seeds printed by this
/// command must keep reproducing their walks).
struct Walker(u64);

impl Walker {
    fn new(seed: u64, walk: u64) -> Walker {
        let mut w = Walker(seed ^ walk.wrapping_mul(0xd134_2543_de82_ef95));
        w.next();
        w
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }
}

/// What one thread's walks found.
#[derive(Default)]
struct Part {
    walks: u64,
    steps: u64,
    states_checked: u64,
    dead_ends: u64,
    violation: Option<Violation>,
    examples: HashMap<&'static str, Vec<Action>>,
}

/// Runs `options.walks` random walks over `cfg`.
pub fn simulate(cfg: &Config, options: &SimulateOptions) -> Result<Simulation, crate::Error> {
    let model = HsmModel::new(cfg.clone())?;
    let start_state = model.setup_state()?;
    let properties = model.properties();
    let start = Instant::now();
    let threads = options.threads.max(1) as u64;
    let run = |thread: u64| {
        let mut part = Part::default();
        let mut candidates = Vec::new();
        let mut successors: Vec<(Action, State)> = Vec::new();
        let mut path = Vec::new();
        let mut walk = thread;
        'walks: while walk < options.walks {
            if options.deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let mut rng = Walker::new(options.seed, walk);
            // Bit `op as usize` set: the walk prefers that operation.
            let preferred = if options.swarm { rng.next() } else { u64::MAX };
            let mut s = start_state;
            path.clear();
            note_examples(&model, &properties, &s, &path, &mut part.examples);
            for _ in 0..options.depth {
                successors.clear();
                model.for_each_successor(&s, &mut candidates, |a, next| {
                    successors.push((*a, *next))
                });
                // Every successor's invariants, not only the one the walk takes.
                for (a, next) in &successors {
                    part.states_checked += 1;
                    let broken = properties.iter().find(|p| {
                        p.expectation == Expectation::Always && !(p.condition)(&model, next)
                    });
                    if let Some(p) = broken {
                        let mut path = path.clone();
                        path.push(*a);
                        part.violation = Some(Violation {
                            invariant: p.name,
                            walk,
                            path,
                        });
                        part.walks += 1;
                        break 'walks;
                    }
                }
                if successors.is_empty() {
                    part.dead_ends += 1;
                    break;
                }
                let prefers = |(a, next): &(Action, State)| {
                    // A failed Login (a counter grows, a user may lock) is a feature of its
                    // own, bit 63, apart from the Logins that log in.
                    let failed_login = matches!(a.op, crate::action::Op::Login { .. })
                        && next.session(a.client, a.hsm).is_none();
                    let bit = if failed_login {
                        63
                    } else {
                        a.op.operation() as u64
                    };
                    preferred & (1 << bit) != 0
                };
                let chosen = successors.iter().filter(|x| prefers(x)).count();
                let (a, next) = if chosen == 0 {
                    successors[rng.below(successors.len())]
                } else {
                    let i = rng.below(chosen);
                    *successors
                        .iter()
                        .filter(|x| prefers(x))
                        .nth(i)
                        .expect("i < chosen")
                };
                path.push(a);
                s = next;
                part.steps += 1;
                note_examples(&model, &properties, &s, &path, &mut part.examples);
            }
            part.walks += 1;
            walk += threads;
        }
        part
    };
    let parts: Vec<Part> = if threads == 1 {
        vec![run(0)]
    } else {
        std::thread::scope(|scope| {
            let run = &run;
            let handles: Vec<_> = (0..threads).map(|t| scope.spawn(move || run(t))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut out = Simulation {
        complete: true,
        ..Simulation::default()
    };
    for part in parts {
        out.walks += part.walks;
        out.steps += part.steps;
        out.states_checked += part.states_checked;
        out.dead_ends += part.dead_ends;
        if let Some(v) = part.violation {
            if out.violation.as_ref().is_none_or(|w| v.walk < w.walk) {
                out.violation = Some(v);
            }
        }
        for (name, path) in part.examples {
            let shorter = out.examples.get(name).is_none_or(|p| path.len() < p.len());
            if shorter {
                out.examples.insert(name, path);
            }
        }
    }
    // Cut by the deadline: fewer walks than asked (a violation ends the run on purpose).
    out.complete = out.violation.is_some() || out.walks >= options.walks;
    out.seconds = start.elapsed().as_secs_f64();
    out.coverage = model.coverage.triples();
    Ok(out)
}

/// Records the examples `s` shows that have no path yet, or only a longer one.
fn note_examples(
    model: &HsmModel,
    properties: &[stateright::Property<HsmModel>],
    s: &State,
    path: &[Action],
    examples: &mut HashMap<&'static str, Vec<Action>>,
) {
    for p in properties {
        if p.expectation != Expectation::Sometimes {
            continue;
        }
        if examples.get(p.name).is_some_and(|q| q.len() <= path.len()) {
            continue;
        }
        if (p.condition)(model, s) {
            examples.insert(p.name, path.to_vec());
        }
    }
}
