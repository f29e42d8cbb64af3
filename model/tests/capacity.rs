//! One step function at two capacities (D67): the checker's small state and the large state
//! of replay and campaigns answer every action alike, and the large one holds what the small
//! one cannot.

use hsm_model::state::{Capacity, Large, LargeState, Small, StateOf};
use hsm_model::{Config, HsmModel, State};

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Walk(u64);

impl Walk {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn small_and_large_states_answer_every_action_alike() {
    for name in Config::PRESETS {
        let cfg = Config::preset(name).expect("a preset");
        let mut small: State = HsmModel::setup_state_of::<Small>(&cfg).expect("its setup runs");
        let mut large: LargeState =
            HsmModel::setup_state_of::<Large>(&cfg).expect("its setup runs");
        let mut actions = Vec::new();
        for seed in 1..=20u64 {
            let mut walk = Walk(seed * 0x9e37_79b9_7f4a_7c15);
            for step in 0..200 {
                actions.clear();
                cfg.enabled_actions(&small, &mut actions);
                let mut large_actions = Vec::new();
                cfg.enabled_actions(&large, &mut large_actions);
                assert_eq!(
                    actions, large_actions,
                    "{name}, seed {seed}, step {step}: both capacities put the same actions in play"
                );
                let a = actions[walk.below(actions.len())];
                let (out_small, next_small) = cfg.step(&small, &a);
                let (out_large, next_large) = cfg.step(&large, &a);
                assert_eq!(
                    out_small, out_large,
                    "{name}, seed {seed}, step {step}: {a:?} answers alike"
                );
                if next_small.flags != 0 {
                    // Beyond the small capacity: the large state goes on, the small one stops.
                    break;
                }
                assert_eq!(
                    next_small.resized::<Large>(),
                    Some(next_large),
                    "{name}, seed {seed}, step {step}: the states stay the same state"
                );
                small = next_small;
                large = next_large;
            }
            small = HsmModel::setup_state_of::<Small>(&cfg).expect("its setup runs");
            large = HsmModel::setup_state_of::<Large>(&cfg).expect("its setup runs");
        }
    }
}

#[test]
fn a_state_resizes_only_where_it_fits() {
    let mut cfg = Config::default_config();
    cfg.clients = 3;
    let s = HsmModel::setup_state_of::<Large>(&cfg).expect("its setup runs");
    let small: State = s
        .resized::<Small>()
        .expect("a new cluster fits the small capacity");
    assert_eq!(small.resized::<Large>(), Some(s));
    // A session of the 8th client does not fit three clients.
    let mut busy = s;
    busy.sessions[7][0] = Some(hsm_model::state::ADMIN);
    assert_eq!(busy.resized::<Small>(), None);
}

#[test]
fn the_spec_defaults_fit_the_large_capacity_and_not_the_small_one() {
    let mut cfg = Config::default_config();
    cfg.clients = 8;
    cfg.names = (0..16).map(|i| format!("user{i:02}")).collect();
    cfg.key_ids = 200;
    cfg.validate_for::<Large>()
        .expect("16 names, 8 clients and 200 key ids fit the large capacity");
    let small = cfg.validate_for::<Small>().expect_err("not the small one");
    assert!(small.to_string().contains("clients"), "{small}");
    cfg.clients = 9;
    let large = cfg
        .validate_for::<Large>()
        .expect_err("nor 9 clients the large one");
    assert!(large.to_string().contains("1..=8"), "{large}");
}

#[test]
fn the_small_state_stays_as_small_as_the_checker_needs() {
    // The checker copies a state per candidate: its size is its cost. A share list is three
    // bytes so that a key stays byte-aligned (8 bytes) at both capacities.
    assert_eq!(std::mem::size_of::<hsm_model::state::Key>(), 8);
    assert_eq!(std::mem::align_of::<State>(), 1);
    assert!(
        std::mem::size_of::<State>() < std::mem::size_of::<LargeState>() / 10,
        "small {} bytes, large {} bytes",
        std::mem::size_of::<State>(),
        std::mem::size_of::<LargeState>()
    );
    fn capacity_of<C: Capacity>(_: &StateOf<C>) -> &'static str {
        C::NAME
    }
    assert_eq!(capacity_of(&State::new_cluster()), "small");
    assert_eq!(capacity_of(&LargeState::new_cluster()), "large");
}
