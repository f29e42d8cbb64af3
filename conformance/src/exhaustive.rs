//! Model-guided exhaustive conformance: for a small configuration, every transition of the
//! model's reachable state graph (concrete states, no symmetry), each reached by a shortest
//! path from the initial state, is replayed on a fresh system under test.

use crate::error::Error;
use crate::failure::{investigate, Failure};
use crate::runner::{run_trace, Triple};
use crate::sut::SutFactory;
use hsm_model::trace::{Trace, TraceStep};
use hsm_model::{Action, Config, HsmModel, KeyKind, PoolBounds, Role, State};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

/// What an exhaustive campaign did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExhaustiveResult {
    /// The configuration's name.
    pub config: String,
    /// Reachable concrete states.
    pub states: u64,
    /// Transitions of the reachable graph (one trace each).
    pub asked: u64,
    /// Transitions replayed (fewer than `asked` when the campaign stopped at a failure).
    pub transitions: u64,
    /// Steps run on the system under test (setup and paths included).
    pub steps: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Traces stopped by an operation the system answered `unsupported`, by the operation's
    /// name, with how many: the run is INCOMPLETE.
    pub unsupported: std::collections::BTreeMap<&'static str, u64>,
    /// The profile's deviations that steps needed and the system agreed with.
    pub deviations_seen: BTreeSet<crate::profile::Deviation>,
    /// Failing transitions, shrunk (at most one when stopping at the first).
    pub failures: Vec<Failure>,
    /// Triples reached.
    #[serde(skip)]
    pub triples: BTreeSet<Triple>,
}

/// The configurations of the exhaustive campaign, each small enough for a debug test build
/// (families narrowed, setup steps to start where the interesting behaviour is):
/// - `fresh`: a new cluster of 2 HSMs, 1 client: activation, the PRECO, clone (also before
///   activation), lockout, unknown names, masking with no keys (the foreign object);
/// - `users`: an activated HSM, 2 clients: users and passwords, limits, logged-in targets;
/// - `keys`: an activated HSM with CUs alice and bob logged in, carol a CU too: keys, shares,
///   wrapping and masking;
/// - `zeroize`: 2 HSMs (HSM 1 cloned), alice logged in on both and the CO on HSM 0, bob
///   owning a key: keys, crypto (the CO's refusal), zeroize;
/// - `owners`: the same start, users only: deleting a user who owns keys.
///
/// Every configuration with names spells bob `Bob`: the checker sends each user in the one
/// spelling of its table, so this is how an implementation that does not lower-case names
/// (SPEC §3) meets the exhaustive campaign.
pub fn exhaustive_configs() -> Vec<Config> {
    use crate::generate::{
        AU_PASSWORD_8, NAME_31_MIXED, NAME_32, PASSWORD_32, PASSWORD_33, PASSWORD_7, PASSWORD_8,
    };
    use hsm_model::state::{
        ClientId, HsmId, NameId, PasswordId, ADMIN, APP_USER, AU_PASSWORD, PRECO_PASSWORD,
    };
    use hsm_model::{Families, Op};
    let act = |c: u8, h: u8, op: Op| Action {
        client: ClientId(c),
        hsm: HsmId(h),
        op,
    };
    let pw = PasswordId(2);
    let activate = |_c: &Config| -> Vec<Action> {
        vec![
            act(
                0,
                0,
                Op::Login {
                    name: ADMIN,
                    password: PRECO_PASSWORD,
                },
            ),
            act(0, 0, Op::ChangeOwnPassword { password: pw }),
        ]
    };
    let create = |n: u8, role: Role| {
        act(
            0,
            0,
            Op::CreateUser {
                name: NameId(n),
                role,
                password: pw,
            },
        )
    };
    let mut out = Vec::new();

    let mut c = base("fresh");
    c.hsms = 2;
    c.clients = 1;
    c.names = vec![];
    c.families = Families::parse("sessions,passwords,lifecycle,masking").expect("families");
    c.key_ids = 0;
    // The AU's password and new passwords at SPEC §4's limits: 8 characters, 32, 33.
    c.au_password = AU_PASSWORD_8.into();
    c.passwords = vec![PASSWORD_32.into(), PASSWORD_33.into()];
    out.push(c);

    let mut c = base("users");
    c.hsms = 1;
    c.clients = 2;
    // Names and passwords at SPEC §4's limits: 31 characters, 32; 8 characters, 7. The
    // 31-character name is spelled in mixed case (D27: an implementation must lower-case it).
    c.names = vec!["alice".into(), NAME_31_MIXED.into()];
    c.policy.max_users = 3;
    c.policy.lockout_threshold = 1;
    c.invalid_names = vec![NAME_32.into()];
    c.passwords = vec![PASSWORD_8.into(), PASSWORD_7.into()];
    c.families = Families::parse("sessions,users,passwords").expect("families");
    c.key_ids = 0;
    let mut setup = activate(&c);
    setup.push(act(0, 0, Op::Logout));
    c.setup = setup;
    out.push(c);

    for (name, families, ids, max_keys, non_extractable) in [
        ("keys", "keys", 2, 2, true),
        ("masking", "keys,masking", 1, 1, false),
    ] {
        let mut c = base(name);
        c.hsms = 1;
        c.clients = 2;
        c.names = vec!["alice".into(), "Bob".into(), "carol".into()];
        c.families = Families::parse(families).expect("families");
        c.key_ids = ids;
        c.non_extractable = non_extractable;
        c.policy.max_users = 5;
        c.policy.max_keys = max_keys;
        // Empty data: the shortest ciphertext there is (a nonce and a tag).
        c.data = vec![String::new()];
        let mut setup = activate(&c);
        for n in [2, 3, 4] {
            setup.push(create(n, Role::CryptoUser));
        }
        setup.push(act(0, 0, Op::Logout));
        setup.push(act(
            0,
            0,
            Op::Login {
                name: NameId(2),
                password: pw,
            },
        ));
        setup.push(act(
            1,
            0,
            Op::Login {
                name: NameId(3),
                password: pw,
            },
        ));
        c.setup = setup;
        out.push(c);
    }

    let mut c = base("zeroize");
    c.hsms = 2;
    c.clients = 2;
    c.names = vec!["alice".into(), "Bob".into()];
    c.families = Families::parse("keys,crypto,lifecycle").expect("families");
    c.key_ids = 3;
    c.policy.max_keys = 3;
    c.passwords = vec![PASSWORD_32.into()];
    let mut setup = activate(&c);
    setup.push(create(2, Role::CryptoUser));
    setup.push(create(3, Role::CryptoUser));
    setup.push(act(
        1,
        0,
        Op::Login {
            name: NameId(3),
            password: pw,
        },
    ));
    setup.push(act(
        1,
        0,
        Op::GenerateKey {
            kind: KeyKind::Aes256,
            extractable: true,
        },
    ));
    setup.push(act(1, 0, Op::Logout));
    setup.push(act(
        1,
        0,
        Op::Login {
            name: NameId(2),
            password: pw,
        },
    ));
    setup.push(act(
        1,
        0,
        Op::GenerateKey {
            kind: KeyKind::Aes256,
            extractable: true,
        },
    ));
    // HSM 1 cloned from HSM 0, alice logged in there too: zeroizing HSM 0 then changes the
    // model's state and alice can still make keys (a reset key-id counter shows).
    setup.push(act(
        0,
        1,
        Op::Login {
            name: APP_USER,
            password: AU_PASSWORD,
        },
    ));
    setup.push(act(0, 1, Op::Clone { from: HsmId(0) }));
    setup.push(act(0, 1, Op::Logout));
    setup.push(act(
        0,
        1,
        Op::Login {
            name: NameId(2),
            password: pw,
        },
    ));
    c.setup = setup;
    // The same start, users only: deleting a user who owns keys (the CO on HSM 0 with bob
    // owning a key and alice, its other session, logged in).
    let mut owners = c.clone();
    owners.name = "exhaustive-owners".into();
    owners.families = Families::parse("users").expect("families");
    out.push(c);
    out.push(owners);
    out
}

/// A reachable state, with its parent's index and the action from it (none for the initial
/// state).
pub type Reached = (State, Option<(usize, Action)>);

/// A transition to replay: the index of the state it starts from, and the action.
pub type Transition = (usize, Action);

/// The reachable concrete states of `cfg` in BFS order, each with its parent and the action
/// from it (none for the initial state), and every transition to replay: (state index,
/// action) for each action enabled there that the model takes, the boundary probes of
/// [`crate::generate::add_boundary_actions`] included. One walk gives both.
pub fn reachable(model: &HsmModel, limit: usize) -> Result<(Vec<Reached>, Vec<Transition>), Error> {
    let init = model.setup_state()?;
    let mut index: HashMap<State, usize> = HashMap::new();
    let mut states = vec![(init, None)];
    let mut transitions = Vec::new();
    index.insert(init, 0);
    let mut i = 0;
    let mut actions = Vec::new();
    while i < states.len() {
        let s = states[i].0;
        actions.clear();
        model.enabled_actions(&s, &mut actions);
        crate::generate::add_boundary_actions(&model.cfg, &mut actions);
        for a in &actions {
            let Some((_, next)) = model.transition(&s, a) else {
                continue;
            };
            transitions.push((i, *a));
            if let std::collections::hash_map::Entry::Vacant(e) = index.entry(next) {
                if states.len() >= limit {
                    return Err(Error::Usage(format!("more than {limit} states")));
                }
                e.insert(states.len());
                states.push((next, Some((i, *a))));
            }
        }
        i += 1;
    }
    Ok((states, transitions))
}

fn path_to(states: &[Reached], mut i: usize) -> Vec<Action> {
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
) -> Result<ExhaustiveResult, Error> {
    let start = Instant::now();
    let mut cfg = cfg.clone();
    cfg.symmetry = false;
    let model = HsmModel::new(cfg.clone())?;
    let (states, todo) = reachable(&model, 2_000_000)?;
    let mut res = ExhaustiveResult {
        config: cfg.name.clone(),
        states: states.len() as u64,
        ..Default::default()
    };
    let total = todo.len() as u64;
    res.asked = total;
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
            return Err(Error::Usage(e));
        }
        res.deviations_seen
            .extend(run.deviations_seen.iter().copied());
        if let Some(op) = run.unsupported_op {
            *res.unsupported.entry(op.name()).or_default() += 1;
        }
        if run.divergence.is_some() {
            res.failures
                .push(investigate(n as u64, 0, &trace, &run, factory));
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
    c
}
