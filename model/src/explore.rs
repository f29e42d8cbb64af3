//! A compact, parallel breadth-first checker for [`HsmModel`], beside stateright's.
//!
//! stateright's BFS keeps, for every pending state, the whole state and a `Vec` of the action
//! indices that reached it, cloned for every successor; on this model that is ~900 bytes per
//! unique state at 10 M states, and memory, not time, ends the larger checks. This checker
//! explores level by level and keeps, per unique state, a 64-bit fingerprint in a set and the
//! index of its parent with the index of the action that reached it (8 bytes, in discovery
//! order), plus the states of the current and the next level, packed
//! ([`crate::packed`]). Paths are rebuilt from the parents and replayed, as
//! stateright does. It checks the same properties, on the same actions and the same
//! representatives, so its unique-state counts equal stateright's (a test holds them equal).
//!
//! Each level is expanded in batches; a batch is split between the threads, which step every
//! candidate action, canonicalize the successors and drop those already seen (the set is only
//! read while they run); the batch's results are then merged in order by one thread. Merging
//! in order makes the result independent of the thread count: the same parents, the same
//! shortest discovery paths, the same counts.
//!
//! Like stateright, it trusts 64-bit fingerprints: two distinct states with the same
//! fingerprint would be merged (with ~10^8 states the chance is about 3 in 10^4).

use crate::action::Action;
use crate::checker::HsmModel;
use crate::packed::{Shape, ENCODED_MAX, PACKED_LEN};
use crate::state::State;
use stateright::{Expectation, Model};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

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

/// The fingerprint of a state: 64 bits of a stable hash of its packed bytes (ghost history
/// excluded, as in `Eq`), the same on every run and platform, never 0.
///
/// Written here on purpose rather than taken from a hashing crate: the pinned state counts,
/// the thread-independent order of discoveries and the committed traces rely on fingerprints
/// that never change between runs, versions or platforms (`ahash` and `std`'s `RandomState` are
/// seeded per process, and a crate's algorithm may change in a minor release), and the
/// word-at-a-time steps below are chosen so that states differing in one word cannot collide.
pub fn fingerprint(s: &State) -> u64 {
    fingerprint_in(s, Shape::FULL)
}

/// [`fingerprint`] of the HSMs and sessions of `shape` only, when `s` leaves the rest as a new
/// cluster has it (every state of a configuration of that shape does: its actions name no
/// other HSM or client); of the whole state otherwise. What the compact engine keys its set
/// by: 20–30% fewer bytes to pack than the whole state on the presets.
pub fn fingerprint_in(s: &State, shape: Shape) -> u64 {
    let mut buf = [0u8; PACKED_LEN.next_multiple_of(8)];
    let packed: &mut [u8; PACKED_LEN] = (&mut buf[..PACKED_LEN])
        .try_into()
        .expect("PACKED_LEN bytes");
    let n = s.pack_in(packed, shape);
    // Word at a time: each step is a bijection of the running value for a fixed word and of
    // the word for a fixed running value, so states differing in one word never collide.
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ n as u64;
    for w in buf[..n.next_multiple_of(8)].chunks_exact(8) {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        h = (h.rotate_left(23) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    // murmur3's finalizer.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
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
    /// Number of BFS levels, the initial state's counted (as stateright counts depth).
    pub max_depth: usize,
    /// For each property with a discovery: the (representative) actions from the initial state.
    pub discoveries: HashMap<&'static str, Vec<Action>>,
    /// Whether every reachable state was explored (false after the deadline).
    pub complete: bool,
    /// Bytes of the fingerprint set (its buckets) and the parent table (its entries) at the end.
    pub table_bytes: usize,
    /// The most bytes the packed states of two adjacent levels took at once.
    pub frontier_bytes: usize,
    /// The widest level, in states.
    pub widest_level: usize,
}

/// Options of an exploration.
#[derive(Default)]
pub struct ExploreOptions<'a> {
    /// Threads that expand states (at least 1).
    pub threads: usize,
    /// Stop (incomplete) once this instant has passed.
    pub deadline: Option<Instant>,
    /// Called about twice a second with (unique states, transitions, depth).
    pub progress: Option<&'a (dyn Fn(usize, usize, usize) + Sync)>,
}

type Seen = HashSet<u64, BuildHasherDefault<Identity>>;

/// One unique state's place in the search tree: its parent's index and the index of the
/// action (in [`Model::actions`] order) that reached it. The initial states have no parent.
#[derive(Clone, Copy)]
struct Parent {
    parent: u32,
    action: u32,
}

const NO_PARENT: u32 = u32::MAX;

/// The packed states of one level, one after the other. Their indices in the parent table
/// are consecutive from `first`; where every [`BLOCK`]-th state starts is kept, so that a
/// thread can start decoding anywhere a block starts.
struct Level {
    shape: Shape,
    first: u32,
    len: usize,
    bytes: Vec<u8>,
    /// Where states 0, BLOCK, 2 BLOCK, … start in `bytes`.
    blocks: Vec<u64>,
}

/// States per entry of [`Level::blocks`].
const BLOCK: usize = 64;

impl Level {
    fn new(shape: Shape, first: u32) -> Level {
        Level {
            shape,
            first,
            len: 0,
            bytes: Vec::new(),
            blocks: Vec::new(),
        }
    }

    fn push(&mut self, s: &State) {
        let mut buf = [0u8; ENCODED_MAX];
        let n = s.encode(&mut buf, self.shape);
        self.push_encoded(&buf[..n]);
    }

    fn push_encoded(&mut self, encoded: &[u8]) {
        if self.len.is_multiple_of(BLOCK) {
            self.blocks.push(self.bytes.len() as u64);
        }
        self.len += 1;
        self.bytes.extend_from_slice(encoded);
    }

    /// Calls `f` with the index and the state of states `from..to` (`from` starts a block).
    fn each(&self, from: usize, to: usize, mut f: impl FnMut(u32, &State)) {
        debug_assert!(from.is_multiple_of(BLOCK));
        let Some(&start) = self.blocks.get(from / BLOCK) else {
            return;
        };
        let mut at = start as usize;
        for i in from..to {
            let (state, n) =
                State::decode(&self.bytes[at..]).expect("a level holds only states it encoded");
            at += n;
            f(self.first + i as u32, &state);
        }
    }

    /// The bytes the level's states take (not counting spare capacity).
    fn bytes(&self) -> usize {
        self.bytes.len() + self.blocks.len() * 8
    }
}

/// What one thread made of its part of a batch.
#[derive(Default)]
struct Part {
    /// New-looking successors: (parent index, action index, fingerprint, end of its
    /// encoding in `bytes`).
    successors: Vec<(u32, u32, u64, u32)>,
    /// The successors' encodings, one after the other.
    bytes: Vec<u8>,
    /// (property index, state index) for every property first seen to be discovered.
    found: Vec<(usize, u32)>,
    transitions: usize,
}

/// States expanded between two merges (split between the threads).
const BATCH: usize = 8192;

/// Explores every reachable representative state of `model` breadth first.
pub fn explore(model: &HsmModel, options: &ExploreOptions) -> Exploration {
    let threads = options.threads.max(1);
    let properties = model.properties();
    let mut out = Exploration::default();
    let mut seen = Seen::default();
    let mut parents: Vec<Parent> = Vec::new();
    let shape = model.cfg.shape();
    let mut level = Level::new(shape, 0);
    for s in model.init_states() {
        if seen.insert(fingerprint_in(&s, shape)) {
            level.push(&s);
            parents.push(Parent {
                parent: NO_PARENT,
                action: 0,
            });
        }
    }
    let mut found: Vec<Option<u32>> = vec![None; properties.len()];
    let mut depth = 0;
    let mut last_report = Instant::now();
    out.complete = true;
    'levels: while level.len > 0 {
        out.widest_level = out.widest_level.max(level.len);
        let mut next = Level::new(shape, parents.len() as u32);
        let mut start = 0;
        while start < level.len {
            if options.deadline.is_some_and(|d| Instant::now() >= d) {
                out.complete = false;
                break 'levels;
            }
            let end = (start + BATCH).min(level.len);
            let known: Vec<bool> = found.iter().map(Option::is_some).collect();
            let expand = |from: usize, to: usize| {
                let mut part = Part::default();
                let mut candidates = Vec::new();
                let mut renamed = State::new_cluster();
                level.each(from, to, |index, state| {
                    for (p, property) in properties.iter().enumerate() {
                        if known[p] || part.found.iter().any(|(q, _)| *q == p) {
                            continue;
                        }
                        let holds = (property.condition)(model, state);
                        let discovered = match property.expectation {
                            Expectation::Always => !holds,
                            Expectation::Sometimes => holds,
                            Expectation::Eventually => false,
                        };
                        if discovered {
                            part.found.push((p, index));
                        }
                    }
                    let mut action = 0u32;
                    model.for_each_successor(state, &mut candidates, |_, next| {
                        let next = model.symmetry().representative(next, &mut renamed);
                        let fp = fingerprint_in(next, shape);
                        if !seen.contains(&fp) {
                            let mut buf = [0u8; ENCODED_MAX];
                            let n = next.encode(&mut buf, shape);
                            part.bytes.extend_from_slice(&buf[..n]);
                            let end = part.bytes.len() as u32;
                            part.successors.push((index, action, fp, end));
                        }
                        part.transitions += 1;
                        action += 1;
                    });
                });
                part
            };
            let parts: Vec<Part> = if threads == 1 {
                vec![expand(start, end)]
            } else {
                let chunk = (end - start).div_ceil(threads).next_multiple_of(BLOCK);
                std::thread::scope(|scope| {
                    let expand = &expand;
                    let handles: Vec<_> = (start..end)
                        .step_by(chunk)
                        .map(|from| scope.spawn(move || expand(from, (from + chunk).min(end))))
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                        .collect()
                })
            };
            // Merge in order: the result does not depend on how the batch was split.
            for part in parts {
                out.transitions += part.transitions;
                for (p, index) in part.found {
                    found[p].get_or_insert(index);
                }
                let mut from = 0;
                for (parent, action, fp, end) in part.successors {
                    if seen.insert(fp) {
                        next.push_encoded(&part.bytes[from..end as usize]);
                        parents.push(Parent { parent, action });
                    }
                    from = end as usize;
                }
            }
            out.frontier_bytes = out.frontier_bytes.max(level.bytes() + next.bytes());
            start = end;
            if let Some(p) = options.progress {
                if last_report.elapsed().as_millis() >= 500 {
                    p(seen.len(), out.transitions, depth + 1);
                    last_report = Instant::now();
                }
            }
        }
        if next.len > 0 {
            depth += 1;
        }
        level = next;
    }
    out.unique_states = seen.len();
    // Counted as stateright counts them: the initial state is at depth 1, and is a state.
    out.max_depth = depth + 1;
    out.transitions += 1;
    // The set's buckets are all allocated (a control byte and a fingerprint each).
    out.table_bytes = (seen.capacity() * 8 / 7).next_power_of_two()
        * (std::mem::size_of::<u64>() + 1)
        + parents.len() * std::mem::size_of::<Parent>();
    for (p, index) in found.iter().enumerate() {
        if let Some(index) = index {
            out.discoveries
                .insert(properties[p].name, path_to(model, &parents, *index));
        }
    }
    out
}

/// The actions from the initial state to the state with index `target`.
fn path_to(model: &HsmModel, parents: &[Parent], target: u32) -> Vec<Action> {
    let mut indices = Vec::new();
    let mut at = target;
    while let Some(p) = parents.get(at as usize) {
        if p.parent == NO_PARENT {
            break;
        }
        indices.push(p.action);
        at = p.parent;
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
