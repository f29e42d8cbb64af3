//! A compact breadth-first checker for [`HsmModel`], beside stateright's.
//!
//! stateright's BFS keeps, for every pending state, the whole state and a `Vec` of the action
//! indices that reached it, cloned for every successor; on this model that is ~900 bytes per
//! unique state at 10 M states, and memory, not time, ends the larger checks. This checker
//! explores level by level and keeps only a 64-bit fingerprint per state with its parent's
//! fingerprint and the index of the action that reached it (24 bytes in the table), plus the
//! states of the current and next level. Paths are rebuilt from the parents and replayed, as
//! stateright does. It checks the same properties, on the same actions and the same
//! representatives, so its unique-state counts equal stateright's (a test holds them equal).
//!
//! Like stateright, it trusts 64-bit fingerprints: two distinct states with the same
//! fingerprint would be merged (with ~10^8 states the chance is about 3 in 10^4).

use crate::action::Action;
use crate::checker::HsmModel;
use crate::state::State;
use stateright::{Expectation, Model};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A hasher for keys that are fingerprints already.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | *b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The fingerprint of a state: 64 bits of a keyed-free, stable hash of its packed bytes.
pub fn fingerprint(s: &State) -> u64 {
    // FNV-1a over the packed bytes, then a final mix: stable across runs and platforms.
    let mut buf = [0u8; crate::state::PACKED_LEN];
    let n = s.pack(&mut buf);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in &buf[..n] {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h.max(1)
}

/// What a compact exploration found.
#[derive(Debug, Default)]
pub struct Exploration {
    /// Unique (representative) states.
    pub unique_states: usize,
    /// State-changing transitions explored.
    pub transitions: usize,
    /// Number of BFS levels below the initial state.
    pub max_depth: usize,
    /// For each property with a discovery: the (representative) actions from the initial state.
    pub discoveries: HashMap<&'static str, Vec<Action>>,
    /// Bytes of the fingerprint table at the end (its allocated capacity).
    pub table_bytes: usize,
    /// The widest level, in states.
    pub widest_level: usize,
}

type Parents = HashMap<u64, (u64, u32), BuildHasherDefault<Identity>>;

/// Explores every reachable representative state of `model` breadth first.
pub fn explore(model: &HsmModel, progress: Option<&dyn Fn(usize, usize, usize)>) -> Exploration {
    let properties = model.properties();
    let mut out = Exploration::default();
    let mut parents: Parents = HashMap::default();
    let mut level: Vec<(State, u64)> = model
        .init_states()
        .into_iter()
        .map(|s| {
            let fp = fingerprint(&s);
            (s, fp)
        })
        .collect();
    for (_, fp) in &level {
        parents.insert(*fp, (0, 0));
    }
    let mut found: HashMap<&'static str, u64> = HashMap::new();
    let mut actions = Vec::new();
    let mut depth = 0;
    let mut last_report = std::time::Instant::now();
    while !level.is_empty() {
        out.widest_level = out.widest_level.max(level.len());
        let mut next_level = Vec::new();
        for (state, fp) in &level {
            for p in &properties {
                if found.contains_key(p.name) {
                    continue;
                }
                let holds = (p.condition)(model, state);
                let discovered = match p.expectation {
                    Expectation::Always => !holds,
                    Expectation::Sometimes => holds,
                    Expectation::Eventually => false,
                };
                if discovered {
                    found.insert(p.name, *fp);
                }
            }
            actions.clear();
            model.actions(state, &mut actions);
            for (i, a) in actions.drain(..).enumerate() {
                let Some(next) = model.next_state(state, a) else {
                    continue;
                };
                out.transitions += 1;
                let nfp = fingerprint(&next);
                if let std::collections::hash_map::Entry::Vacant(e) = parents.entry(nfp) {
                    e.insert((*fp, i as u32));
                    next_level.push((next, nfp));
                }
            }
        }
        if !next_level.is_empty() {
            depth += 1;
        }
        level = next_level;
        if let Some(p) = progress {
            if last_report.elapsed().as_millis() >= 500 {
                p(parents.len(), out.transitions, depth);
                last_report = std::time::Instant::now();
            }
        }
    }
    out.unique_states = parents.len();
    // Counted as stateright counts them: the initial state is at depth 1, and is a state.
    out.max_depth = depth + 1;
    out.transitions += 1;
    out.table_bytes = parents.capacity() * (std::mem::size_of::<(u64, (u64, u32))>() + 1);
    for (name, fp) in found {
        out.discoveries.insert(name, path_to(model, &parents, fp));
    }
    out
}

/// The actions from the initial state to the state with fingerprint `target`.
fn path_to(model: &HsmModel, parents: &Parents, target: u64) -> Vec<Action> {
    let mut indices = Vec::new();
    let mut fp = target;
    while let Some(&(parent, index)) = parents.get(&fp) {
        if parent == 0 {
            break;
        }
        indices.push(index);
        fp = parent;
    }
    indices.reverse();
    let Some(mut s) = model.init_states().into_iter().next() else {
        return vec![];
    };
    let mut path = Vec::new();
    let mut actions = Vec::new();
    for i in indices {
        actions.clear();
        model.actions(&s, &mut actions);
        let Some(a) = actions.get(i as usize).copied() else {
            break;
        };
        match model.next_state(&s, a) {
            Some(n) => s = n,
            None => break,
        }
        path.push(a);
    }
    path
}

#[allow(dead_code)]
fn _assert_hash_is_used(s: &State, h: &mut impl Hasher) {
    s.hash(h)
}
