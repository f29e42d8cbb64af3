//! What the compact checker relies on, held on every reachable state of the per-concern
//! configurations: errors leave the state untouched before `step` restores it (so one scratch
//! state serves a run of errors), and the packed encoding of a level's states gives back the
//! very state, ghost history included.

use crate::checker::HsmModel;
use crate::config::Config;
use crate::packed::{Shape, ENCODED_MAX};
use crate::state::{flags, State};
use std::collections::HashSet;

/// Every reachable representative state of `cfg`, by a plain breadth-first search over
/// `Model::actions` and `next_state` (independent of the compact engine).
fn reachable(cfg: Config) -> (HsmModel, Vec<State>) {
    use stateright::Model;
    let model = HsmModel::new(cfg).unwrap();
    let mut seen: HashSet<State> = HashSet::new();
    let mut order = Vec::new();
    let mut queue = std::collections::VecDeque::from(model.init_states());
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        if !seen.insert(s) {
            continue;
        }
        order.push(s);
        actions.clear();
        model.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(n) = model.next_state(&s, a) {
                if !seen.contains(&n) {
                    queue.push_back(n);
                }
            }
        }
    }
    (model, order)
}

/// Equal in every byte that matters, ghost history and events included.
fn identical(a: &State, b: &State) -> bool {
    a == b
        && a.events == b.events
        && a.hsms.iter().zip(&b.hsms).all(|(x, y)| {
            x.ghost.deleted_keys == y.ghost.deleted_keys
                && x.ghost.name_deleted_at == y.ghost.name_deleted_at
        })
}

/// Every reachable state of each per-concern configuration, explored once for all the tests.
fn explored() -> &'static [(HsmModel, Vec<State>)] {
    static EXPLORED: std::sync::OnceLock<Vec<(HsmModel, Vec<State>)>> = std::sync::OnceLock::new();
    EXPLORED.get_or_init(|| {
        [
            Config::accounts(),
            Config::lifecycle(),
            Config::keys(),
            Config::masking(),
        ]
        .into_iter()
        .map(reachable)
        .collect()
    })
}

#[test]
fn errors_leave_the_state_untouched_before_the_restore() {
    for (model, states) in explored() {
        let name = &model.cfg.name;
        let mut errors = 0usize;
        let mut candidates = Vec::new();
        for s in states {
            candidates.clear();
            model.enabled_actions(s, &mut candidates);
            let mut base = *s;
            base.events = 0;
            for a in &candidates {
                let mut scratch = base;
                let outcome = model.cfg.apply(&mut scratch, a);
                let login = matches!(a.op, crate::action::Op::Login { .. });
                if outcome.is_err() && !login {
                    scratch.flags &= !flags::CAPACITY_EXCEEDED;
                    scratch.flags |= base.flags & flags::CAPACITY_EXCEEDED;
                    assert!(
                        identical(&scratch, &base),
                        "{name}: {a:?} answered {outcome:?} but changed the state it was applied to"
                    );
                    errors += 1;
                }
            }
        }
        assert!(errors > states.len(), "{name}: too few errors stepped");
    }
}

/// The checker's enumeration leaves out only variants that answer an error another variant
/// from the same session answers too: on every reachable state, the prefiltered and the full
/// enumeration step to the same successors in the same order, with the same (role,
/// operation, outcome) triples. And no step changes an HSM beyond the configuration or a
/// session bound to one, so comparing the rest tells whether a step changed the state.
#[test]
fn the_prefilter_drops_only_errors_another_variant_answers() {
    use crate::table::Column;
    let (mut dropped, mut seen) = (0usize, 0usize);
    for (model, states) in explored() {
        let name = &model.cfg.name;
        let (mut full, mut filtered) = (Vec::new(), Vec::new());
        seen += states.len();
        for s in states {
            full.clear();
            filtered.clear();
            model.cfg.enabled(s, &mut full, false);
            model.cfg.enabled(s, &mut filtered, true);
            assert!(filtered.iter().all(|a| full.contains(a)));
            let step = |actions: &[crate::action::Action]| {
                let mut triples = std::collections::BTreeSet::new();
                let mut successors = Vec::new();
                for a in actions {
                    let (outcome, next) = model.cfg.step(s, a);
                    // What the checker's change test relies on.
                    let shape = model.cfg.shape();
                    assert!(
                        crate::packed::equal_beyond(s, &next, shape),
                        "{name}: {a:?}"
                    );
                    assert_eq!(crate::packed::equal_within(s, &next, shape), next == *s);
                    let column = Column::of(s.session_role(a.client, a.hsm));
                    triples.insert((column, a.op.operation(), outcome.err()));
                    if next != *s {
                        successors.push((*a, next));
                    }
                }
                (triples, successors)
            };
            assert_eq!(step(&full), step(&filtered), "{name}: {s:?}");
            dropped += full.len() - filtered.len();
        }
    }
    assert!(
        dropped > seen,
        "the prefilter dropped too little to be tested"
    );
}

#[test]
fn the_packed_encoding_gives_back_the_whole_state() {
    let mut longest = 0;
    for (model, states) in explored() {
        let shape = model.cfg.shape();
        assert!(states.len() > 1000);
        for s in states {
            for shape in [shape, Shape::FULL] {
                let mut buf = [0u8; ENCODED_MAX];
                let n = s.encode(&mut buf, shape);
                longest = longest.max(n);
                let (back, read) = State::decode(&buf[..n]).expect("decodes");
                assert_eq!(read, n);
                assert!(identical(&back, s), "{s:?} came back as {back:?}");
                // A truncated encoding is refused, never misread.
                assert_eq!(State::decode(&buf[..n - 1]), None);
            }
        }
    }
    assert!(longest <= ENCODED_MAX);
}

/// A state using more than the shape it is encoded for is encoded whole, not cut.
#[test]
fn a_state_beyond_its_shape_is_encoded_whole() {
    let (_, states) = explored()
        .iter()
        .find(|(m, _)| m.cfg.name == "masking")
        .expect("masking is explored");
    let narrow = Shape {
        hsms: 1,
        clients: 1,
    };
    let mut beyond = 0;
    for s in states {
        let mut buf = [0u8; ENCODED_MAX];
        let n = s.encode(&mut buf, narrow);
        let (back, _) = State::decode(&buf[..n]).expect("decodes");
        assert!(identical(&back, s));
        beyond += (s.hsms[1] != crate::state::Hsm::blank()) as usize;
    }
    assert!(beyond > 0, "some masking state uses its second HSM");
}

proptest::proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let _ = State::decode(&bytes);
    }
}
