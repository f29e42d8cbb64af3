//! Model-guided exhaustive conformance: for a small configuration, every transition of the
//! model's reachable state graph (concrete states, no symmetry), each reached by a shortest
//! path from the initial state, is replayed on a fresh system under test.

use crate::error::Error;
use crate::failure::{investigate, Failure};
use crate::profile::Profile;
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

/// The configurations of the exhaustive campaign under `profile` (D57): those its
/// `exhaustive` names (of [`exhaustive_configs`] and [`token_configs`]), or without it those
/// of [`exhaustive_configs`] whose setup the profile has; the others are left out, each with
/// why (a sentence). Whether a setup still succeeds at the limits the system
/// runs is [`setup_fits`]'s to say, once the system has said them.
pub fn profile_configs(profile: &Profile) -> (Vec<Config>, Vec<(String, String)>) {
    let mut run = Vec::new();
    let mut left_out = Vec::new();
    let named = |c: &Config| {
        profile
            .exhaustive
            .as_ref()
            .map(|names| names.iter().any(|n| c.name == format!("exhaustive-{n}")))
    };
    for c in exhaustive_configs().into_iter().chain(token_configs()) {
        match named(&c) {
            Some(false) => {
                let also = outside(profile, &c).map_or(String::new(), |why| format!("; {why}"));
                left_out.push((
                    c.name.clone(),
                    format!("the profile's `exhaustive` does not name it{also}"),
                ));
                continue;
            }
            // The token's configurations run only where a profile names them.
            None if c.name.starts_with("exhaustive-token-") => continue,
            _ => {}
        }
        match outside(profile, &c) {
            Some(why) => left_out.push((c.name.clone(), why)),
            None => run.push(c),
        }
    }
    (run, left_out)
}

/// Why `cfg` is outside what `profile` has, if it is: a setup step the profile lacks, an HSM
/// beyond the profile's, or no family left with an operation the profile has.
fn outside(profile: &Profile, cfg: &Config) -> Option<String> {
    let hsms = profile.hsms.unwrap_or(cfg.hsms);
    for (i, a) in cfg.setup.iter().enumerate() {
        if a.hsm.0 >= hsms {
            return Some(format!(
                "its setup step {} is on HSM {}; the profile's class has {hsms}",
                i + 1,
                a.hsm.0
            ));
        }
        if !profile.allows(cfg, a) {
            return Some(format!(
                "its setup step {} is {}, which the profile does not have",
                i + 1,
                hsm_model::trace::describe(cfg, a)
            ));
        }
    }
    let left = cfg.families.iter().any(|f| {
        hsm_model::Operation::ALL
            .iter()
            .any(|o| o.family() == f && profile.has_operation(*o))
    });
    (!left).then(|| "the profile has none of its operations".to_string())
}

/// Whether `cfg`'s setup, run on the model as `profile` rewrites it (at the limits the system
/// runs), succeeds at every step: `Err` says the first that does not, in a sentence.
pub fn setup_fits(profile: &Profile, cfg: &Config) -> Result<(), String> {
    let c = profile.model_config(cfg);
    let mut s = hsm_model::LargeState::new_cluster();
    for (i, a) in c.setup.iter().enumerate() {
        let (o, next) = c.step(&s, a);
        if let Err(e) = o {
            return Err(format!(
                "its setup step {} ({}) answers {} at the system's limits",
                i + 1,
                hsm_model::trace::describe(&c, a),
                e.name()
            ));
        }
        s = next;
    }
    Ok(())
}

/// The configurations made for a token's shape (one HSM, one officer and one user, D57), run
/// only under a profile:
/// - `token-officer`: a fresh token, the SO only, 2 clients (two applications): activation,
///   wrong logins and their flags, a PIN changed by one application and used by the other;
/// - `token-users`: a fresh token, 1 client: the one CU created, its logins right and wrong,
///   its password changed by itself and by the SO;
/// - `token-keys`: the SO and the CU alice made, alice logged in, 1 client: one AES or HMAC
///   key, extractable or not, wrapped under itself (a non-extractable key under a key that
///   is not AES: the tie of check order), deleted, used with the empty message, and every
///   operation again logged out.
///
/// They are sized for a real token: about 2,200 steps together through the PKCS#11 bridge.
pub fn token_configs() -> Vec<Config> {
    use hsm_model::state::{ClientId, HsmId, NameId, PasswordId, ADMIN, PRECO_PASSWORD};
    use hsm_model::{Families, Op};
    let act = |c: u8, op: Op| Action {
        client: ClientId(c),
        hsm: HsmId(0),
        op,
    };
    let pw = PasswordId(2);
    let mut out = Vec::new();

    let mut c = base("token-officer");
    c.hsms = 1;
    c.clients = 2;
    c.names = vec![];
    c.invalid_names = vec![];
    c.passwords = vec![crate::generate::PASSWORD_8.into()];
    c.families = Families::parse("sessions,users,passwords").expect("families");
    c.key_ids = 0;
    c.policy.lockout_threshold = 1;
    let mut users = c.clone();
    out.push(c);
    users.name = "exhaustive-token-users".into();
    users.clients = 1;
    users.names = vec!["alice".into()];
    out.push(users);

    let mut c = base("token-keys");
    c.hsms = 1;
    c.clients = 1;
    c.names = vec!["alice".into()];
    c.invalid_names = vec![];
    c.families = Families::parse("keys,crypto").expect("families");
    c.kinds = vec![KeyKind::Aes256, KeyKind::HmacSha256];
    c.key_ids = 1;
    c.non_extractable = true;
    c.data = vec![String::new()];
    c.labels = vec![];
    c.setup = vec![
        act(
            0,
            Op::Login {
                name: ADMIN,
                password: PRECO_PASSWORD,
            },
        ),
        act(0, Op::ChangeOwnPassword { password: pw }),
        act(
            0,
            Op::CreateUser {
                name: NameId(2),
                role: Role::CryptoUser,
                password: pw,
            },
        ),
        act(0, Op::Logout),
        act(
            0,
            Op::Login {
                name: NameId(2),
                password: pw,
            },
        ),
    ];
    out.push(c);
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
    reachable_within(model, limit, None)
}

/// What a profile's exhaustive walk keeps to ([`reachable_within`]).
pub struct Within<'a> {
    /// The profile: only the actions it allows are taken.
    pub profile: &'a crate::profile::Profile,
    /// Failed logins of one user beyond which a state is not walked on (the transition into
    /// it is still replayed): the configuration's lockout threshold before the profile
    /// rewrote it. Under `no_lockout` the model's threshold is unreachable, and counters of
    /// 2..255 failures would make the graph 255 times larger without a new outcome.
    pub failures: u8,
}

/// [`reachable`], walking only what `within` allows when given.
pub fn reachable_within(
    model: &HsmModel,
    limit: usize,
    within: Option<&Within>,
) -> Result<(Vec<Reached>, Vec<Transition>), Error> {
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
        if let Some(w) = within {
            actions.retain(|a| w.profile.allows(&model.cfg, a));
        }
        for a in &actions {
            let Some((_, next)) = model.transition(&s, a) else {
                continue;
            };
            transitions.push((i, *a));
            let beyond = within.is_some_and(|w| {
                next.hsms
                    .iter()
                    .flat_map(|h| h.users.iter().flatten())
                    .any(|u| u.failures > w.failures)
            });
            if beyond {
                continue;
            }
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
/// Under the factory's profile (D57) the graph is the model's as the profile rewrites `cfg`
/// ([`Profile::model_config`]), walked with only the actions the profile allows and not past
/// `cfg`'s own lockout threshold of failures ([`Within`]); the runner applies the profile's
/// layer to every step, as in the random campaign.
pub fn exhaustive(
    cfg: &Config,
    factory: &dyn SutFactory,
    stop_on_failure: bool,
    tick: &dyn Fn(u64, u64),
) -> Result<ExhaustiveResult, Error> {
    let original_threshold = cfg.policy.lockout_threshold;
    let start = Instant::now();
    let profile = factory.profile();
    let mut cfg = match profile {
        Some(p) => p.model_config(cfg),
        None => cfg.clone(),
    };
    cfg.symmetry = false;
    let model = HsmModel::new(cfg.clone())?;
    let within = profile.map(|p| Within {
        profile: p,
        failures: original_threshold,
    });
    let (states, todo) = reachable_within(&model, 2_000_000, within.as_ref())?;
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
