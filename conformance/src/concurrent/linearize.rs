//! Whether a concurrent history is linearizable against the model: some order of its
//! operations, consistent with real time (an operation that answered before another was
//! invoked comes first), in which the model's step function gives every outcome that was
//! observed, and ends in the state the system shows at the end.
//!
//! A Wing–Gong search (depth first over the operations that may come next) with the usual
//! pruning: a node is the set of operations placed, the model's state and the abstraction's
//! bindings, and a node once found to lead nowhere is never explored again (Lowe's cache).
//! The search is bounded by a number of nodes; a history it cannot decide within them is said
//! so (never called linearizable). See `docs/conformance.md`, "Linearizability".

use crate::abstraction::Abstraction;
use crate::protocol::{Observation, Reply, Step};
use crate::runner::beyond_capacity;
use hsm_model::state::{ClientId, HsmId};
use hsm_model::story::outcome_text;
use hsm_model::{Config, LargeState};
use std::collections::HashSet;

/// One operation of a concurrent history, as it was sent and answered.
#[derive(Clone, Debug)]
pub struct Op {
    /// The thread that ran it.
    pub thread: usize,
    /// The request (client, HSM, operation and arguments).
    pub request: Step,
    /// The system's reply.
    pub reply: Reply,
    /// When it was invoked (microseconds since the history began).
    pub invoked: u64,
    /// When its answer arrived.
    pub answered: u64,
}

/// An operation that could come next at the deepest point the search reached, and why it
/// cannot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// The operation's index in the history.
    pub op: usize,
    /// Why the model does not explain it there, in a sentence.
    pub reason: String,
}

/// What the search found.
#[derive(Clone, Debug)]
pub enum Judgement {
    /// An order that explains every outcome and the final state (operation indices).
    Linearizable(Vec<usize>),
    /// No order explains the history: the longest order the search could extend, and what
    /// stops every candidate after it.
    NotLinearizable {
        /// The longest explained order found (operation indices).
        placed: Vec<usize>,
        /// Each candidate next operation there, with the reason it does not fit.
        blocked: Vec<Blocked>,
    },
    /// Not decided: the node budget ran out, or every order left needs more than the model
    /// holds.
    Undecided(String),
}

struct Search<'a> {
    cfg: &'a Config,
    ops: &'a [Op],
    finals: &'a [Observation],
    dead: HashSet<(u128, LargeState, u64)>,
    nodes: usize,
    budget: usize,
    capacity: bool,
    best: (Vec<usize>, Vec<Blocked>),
}

impl Search<'_> {
    /// Whether operation `i` may come next when `done` are placed: no other operation left
    /// answered before it was invoked.
    fn may_come_next(&self, done: u128, i: usize) -> bool {
        done & (1 << i) == 0
            && (0..self.ops.len()).all(|j| {
                j == i || done & (1 << j) != 0 || self.ops[j].answered >= self.ops[i].invoked
            })
    }

    fn extend(
        &mut self,
        done: u128,
        state: &LargeState,
        abs: &Abstraction,
        order: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        if done.count_ones() as usize == self.ops.len() {
            for (h, obs) in self.finals.iter().enumerate() {
                if let Err(e) = abs.check_view(state, h, obs) {
                    self.note(
                        order,
                        vec![Blocked {
                            op: usize::MAX,
                            reason: format!("after every operation in this order: {e}"),
                        }],
                    );
                    return None;
                }
            }
            return Some(order.clone());
        }
        let key = (done, *state, abs.bindings_digest());
        if self.dead.contains(&key) {
            return None;
        }
        self.nodes += 1;
        if self.nodes > self.budget {
            return None;
        }
        let mut candidates: Vec<usize> = (0..self.ops.len())
            .filter(|&i| self.may_come_next(done, i))
            .collect();
        candidates.sort_by_key(|&i| self.ops[i].invoked);
        let mut blocked = Vec::new();
        for i in candidates {
            let op = &self.ops[i];
            let client = ClientId(op.request.client as u8);
            let hsm = HsmId(op.request.hsm as u8);
            let Some(a) = abs.action_of(client, hsm, &op.request.call) else {
                blocked.push(Blocked {
                    op: i,
                    reason: "it names a key or an object that no operation before it produced"
                        .into(),
                });
                continue;
            };
            if beyond_capacity(self.cfg, state, &a) {
                self.capacity = true;
                blocked.push(Blocked {
                    op: i,
                    reason: "it goes beyond the model's capacity here".into(),
                });
                continue;
            }
            let (expected, next) = self.cfg.step(state, &a);
            let mut after = abs.clone();
            match after.outcome_of(&a, op.reply.clone(), &expected) {
                Ok(got) if got == expected => {
                    order.push(i);
                    if let Some(found) = self.extend(done | (1 << i), &next, &after, order) {
                        return Some(found);
                    }
                    order.pop();
                    if self.nodes > self.budget {
                        return None;
                    }
                }
                Ok(got) => blocked.push(Blocked {
                    op: i,
                    reason: format!(
                        "the model answers {} there, the system answered {}",
                        outcome_text(self.cfg, &expected),
                        outcome_text(self.cfg, &got)
                    ),
                }),
                Err(e) => blocked.push(Blocked {
                    op: i,
                    reason: format!(
                        "the model answers {} there, and {e}",
                        outcome_text(self.cfg, &expected)
                    ),
                }),
            }
        }
        self.note(order, blocked);
        self.dead.insert(key);
        None
    }

    fn note(&mut self, order: &[usize], blocked: Vec<Blocked>) {
        if order.len() >= self.best.0.len() && !blocked.is_empty() {
            self.best = (order.to_vec(), blocked);
        }
    }
}

/// Judges `ops` (at most 128) from the model's `start` state and the abstraction's bindings
/// there, against the final observation of every HSM, exploring at most `budget` nodes.
pub fn judge(
    cfg: &Config,
    start: &LargeState,
    abs: &Abstraction,
    ops: &[Op],
    finals: &[Observation],
    budget: usize,
) -> Judgement {
    if ops.len() > 128 {
        return Judgement::Undecided(format!(
            "{} operations: the search takes histories of at most 128",
            ops.len()
        ));
    }
    let mut search = Search {
        cfg,
        ops,
        finals,
        dead: HashSet::new(),
        nodes: 0,
        budget,
        capacity: false,
        best: (Vec::new(), Vec::new()),
    };
    let mut order = Vec::new();
    match search.extend(0, start, abs, &mut order) {
        Some(order) => Judgement::Linearizable(order),
        None if search.nodes > search.budget => Judgement::Undecided(format!(
            "the search stopped after {budget} nodes without an answer"
        )),
        None if search.capacity => {
            Judgement::Undecided("every order left goes beyond the model's capacity".into())
        }
        None => Judgement::NotLinearizable {
            placed: search.best.0,
            blocked: search.best.1,
        },
    }
}
