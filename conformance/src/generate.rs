//! Random traces that know the model's state, and the random campaign.
//!
//! Each step picks a session (logged-in ones preferred), then an operation among those the
//! model enables for that session (operations that can succeed preferred, Zeroize rarely),
//! then one of its argument variants (one that succeeds most of the time: existing names, the
//! right password, keys the caller can use, objects in the pools; otherwise any variant, so
//! wrong roles, wrong passwords, unknown ids and limits reach every error code). Actions that
//! would take the model beyond its fixed capacity are never generated. A name argument is sent
//! in another of its spellings one time in four ([`respell`]).

use crate::error::Error;
use crate::failure::{investigate, Failure};
use crate::runner::{run_trace, Triple};
use crate::sut::SutFactory;
use hsm_model::state::{Capacity, Large, Small};
use hsm_model::trace::{Trace, TraceStep};
use hsm_model::{Action, Config, ErrorCode, HsmModel, KeyKind, LargeState, Operation, PoolBounds};
use proptest::prelude::Rng as _;
use proptest::test_runner::{RngAlgorithm, TestRng};
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Instant;

/// The configuration of the random campaign: 2 HSMs, 2 clients, four names, every kind, the
/// model's full key-id space and pools, and small limits so that limit errors come early
/// (lockout after 2 failures, 1 share per key, 5 users with the AU, 3 keys per HSM).
///
/// Its tables probe SPEC §4's limits at, just under and just over them: a name of 31
/// characters (the longest) beside three short ones, and invalid names of 0 and 32 characters
/// and one with bad characters; new passwords of 8 and 32 characters (the shortest and the
/// longest) and of 7 and 33; the AU's password of 32 characters (the adapter also makes
/// clusters with AU passwords at both ends, see `adapter::creation_probe`); and empty data.
pub fn runner_config() -> Config {
    let mut c = Config::default_config();
    c.name = "runner".into();
    c.hsms = 2;
    c.clients = 2;
    c.names = vec!["alice".into(), "bob".into(), "carol".into(), NAME_31.into()];
    c.invalid_names = vec!["Bad Name!".into(), String::new(), NAME_32.into()];
    c.spellings = [
        "ADMIN",
        "App_User",
        "Alice",
        "BOB",
        "Carol",
        "DAVE_HAS_A_31_CHARACTER_NAME_XX",
    ]
    .map(Into::into)
    .to_vec();
    c.au_password = AU_PASSWORD_32.into();
    c.passwords = vec![
        PASSWORD_8.into(),
        PASSWORD_32.into(),
        PASSWORD_7.into(),
        PASSWORD_33.into(),
    ];
    c.key_ids = Small::KEY_IDS as u8;
    c.kinds = KeyKind::ALL.to_vec();
    c.non_extractable = true;
    c.labels = vec!["label-a".into()];
    c.data = vec!["hello".into(), "world".into(), String::new()];
    let p = Small::POOL as u8;
    c.pools = PoolBounds {
        masked: p,
        wrapped: p,
        ciphertexts: p,
        signatures: p,
    };
    c.policy.lockout_threshold = 2;
    c.policy.max_shares = 1;
    c.policy.max_users = 5;
    c.policy.max_keys = 3;
    c.symmetry = false;
    c
}

/// The runner's configuration at SPEC's default policy (lockout after 5 failures, 7 shares
/// per key, 1,024 users, 16,666 keys): the same tables, so that the limits the runner's small
/// policy reaches at once give way to objects with several shares and counters past 2 (the
/// model's capacity still bounds the users and keys).
pub fn spec_policy_config() -> Config {
    let mut c = runner_config();
    c.name = "runner at the spec's default policy".into();
    c.policy = hsm_model::Policy::spec_default();
    c
}

/// A valid name of 31 characters, SPEC §4's longest.
pub const NAME_31: &str = "dave_has_a_31_character_name_xx";
/// [`NAME_31`] spelled in mixed case, as a configuration's table may spell a name (D27).
pub const NAME_31_MIXED: &str = "Dave_Has_A_31_Character_Name_xx";
/// A name of 32 characters of valid ones: one too long.
pub const NAME_32: &str = "erin_has_a_32_character_name_xyz";
/// A password of 8 characters, SPEC §4's shortest.
pub const PASSWORD_8: &str = "secret-8";
/// A password of 32 characters, SPEC §4's longest.
pub const PASSWORD_32: &str = "secret-of-32-characters-exactly!";
/// A password of 7 characters: one too short.
pub const PASSWORD_7: &str = "secret7";
/// A password of 33 characters: one too long.
pub const PASSWORD_33: &str = "secret-of-32-characters-exactly!!";
/// An AU password of 32 characters, the longest.
pub const AU_PASSWORD_32: &str = "app-user-password-of-32-chars-ok";
/// An AU password of 8 characters, the shortest.
pub const AU_PASSWORD_8: &str = "au-pw-08";

/// Adds to the model's enabled actions those that probe a limit the model's enumeration stops
/// short of: Clone from the index just past the last HSM (SPEC §3: SourceBlank, like a blank
/// source), for every session that may ask for a Clone.
pub fn add_boundary_actions(cfg: &Config, actions: &mut Vec<Action>) {
    let past = hsm_model::state::HsmId(cfg.hsms);
    let beyond: Vec<Action> = actions
        .iter()
        .filter(|a| matches!(a.op, hsm_model::Op::Clone { from } if from.0 == 0))
        .map(|a| Action {
            op: hsm_model::Op::Clone { from: past },
            ..*a
        })
        .collect();
    actions.extend(beyond);
}

/// A small deterministic random source (proptest's ChaCha `TestRng`).
pub struct Rng(TestRng);

impl Rng {
    /// The source for `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        bytes[8..16].copy_from_slice(&seed.rotate_left(17).to_le_bytes());
        Rng(TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
    }
    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.0.next_u64() % n as u64) as usize
        }
    }
    /// True with probability `num / den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }
}

/// An operation, its variants with the error each answers (`None`: Ok), and its Ok variants.
type OpChoice<'a> = (
    Operation,
    Vec<(&'a Action, Option<ErrorCode>)>,
    Vec<&'a Action>,
);

/// Generates actions from the model's state.
pub struct Generator {
    cfg: Config,
    profile: Option<crate::profile::Profile>,
}

impl Generator {
    /// A generator for `cfg` (its setup runs first), at the capacity campaigns run at
    /// ([`Large`]): an error if the configuration does not fit it or its setup fails.
    pub fn new(cfg: &Config) -> Result<Generator, Error> {
        cfg.validate_for::<Large>()?;
        HsmModel::setup_state_of::<Large>(cfg)?;
        Ok(Generator {
            cfg: cfg.clone(),
            profile: None,
        })
    }

    /// Generates only what `profile` has (its operations, the roles it can create).
    pub fn restricted(mut self, profile: Option<crate::profile::Profile>) -> Generator {
        self.profile = profile;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// One action for state `s`, within the model's capacity.
    pub fn next_action(&self, s: &LargeState, rng: &mut Rng) -> Action {
        self.next_action_by(s, None, rng)
    }

    /// One action of client `client`'s sessions for state `s` (the concurrent campaign's
    /// threads are clients), within the model's capacity.
    pub fn next_action_of(&self, s: &LargeState, client: u8, rng: &mut Rng) -> Action {
        self.next_action_by(s, Some(client), rng)
    }

    fn next_action_by(&self, s: &LargeState, client: Option<u8>, rng: &mut Rng) -> Action {
        let mut all = Vec::new();
        self.cfg.enabled_actions(s, &mut all);
        add_boundary_actions(&self.cfg, &mut all);
        if let Some(p) = &self.profile {
            all.retain(|a| p.allows(&self.cfg, a));
        }
        if all.is_empty() {
            // Nothing the profile has is enabled: the one operation every system has.
            return Action {
                client: hsm_model::state::ClientId(client.unwrap_or(0)),
                hsm: hsm_model::state::HsmId(0),
                op: hsm_model::Op::GetClusterInfo,
            };
        }
        for _ in 0..32 {
            let a = respell(&self.cfg, self.pick(s, &all, client, rng), rng);
            if !crate::runner::beyond_capacity(&self.cfg, s, &a) {
                return a;
            }
        }
        Action {
            client: hsm_model::state::ClientId(client.unwrap_or(0)),
            hsm: hsm_model::state::HsmId(0),
            op: hsm_model::Op::GetClusterInfo,
        }
    }

    fn pick(&self, s: &LargeState, all: &[Action], client: Option<u8>, rng: &mut Rng) -> Action {
        let cfg = &self.cfg;
        // A session (of `client`, if given): a logged-in one most of the time.
        let sessions: Vec<_> = (0..cfg.clients)
            .filter(|c| client.is_none_or(|only| only == *c))
            .flat_map(|c| (0..cfg.hsms).map(move |h| (c, h)))
            .collect();
        let logged: Vec<_> = sessions
            .iter()
            .copied()
            .filter(|&(c, h)| s.sessions[c as usize][h as usize].is_some())
            .collect();
        let (c, h) = if !logged.is_empty() && rng.chance(1, 2) {
            logged[rng.below(logged.len())]
        } else {
            sessions[rng.below(sessions.len())]
        };
        let mine: Vec<&Action> = all
            .iter()
            .filter(|a| a.client.0 == c && a.hsm.0 == h)
            .collect();
        let logged_in = s.sessions[c as usize][h as usize].is_some();
        let preco = s.session_role(hsm_model::state::ClientId(c), hsm_model::state::HsmId(h))
            == Some(hsm_model::Role::PreCryptoOfficer);
        // An operation, weighted.
        let mut ops: Vec<OpChoice> = Vec::new();
        for a in &mine {
            let op = a.op.operation();
            let outcome = self.cfg.step(s, a).0;
            let ok = outcome.is_ok();
            let entry = match ops.iter_mut().position(|e| e.0 == op) {
                Some(i) => &mut ops[i],
                None => {
                    ops.push((op, vec![], vec![]));
                    ops.last_mut().expect("just pushed")
                }
            };
            entry.1.push((a, outcome.err()));
            if ok {
                entry.2.push(a);
            }
        }
        // Lockout needs consecutive failures of one user: now and then try a wrong password
        // for a user that exists, or a user that is locked already.
        if !logged_in && rng.chance(1, 8) {
            let lockish: Vec<_> = ops
                .iter()
                .filter(|e| e.0 == Operation::Login)
                .flat_map(|e| e.1.iter())
                .filter(|v| {
                    matches!(v.1, Some(ErrorCode::LockedOut))
                        || (v.1 == Some(ErrorCode::BadCredentials)
                            && matches!(v.0.op, hsm_model::Op::Login { name, .. }
                                if s.hsms[h as usize].user(name).is_some()))
                })
                .collect();
            if !lockish.is_empty() {
                return *lockish[rng.below(lockish.len())].0;
            }
        }
        // Whether an operation that cannot succeed here fails on its own preconditions (not on
        // NotLoggedIn or Forbidden): those errors, the limits among them, are the rarer ones.
        let own_error = |variants: &[(&Action, Option<ErrorCode>)]| {
            variants.iter().any(|v| {
                !matches!(
                    v.1,
                    None | Some(ErrorCode::NotLoggedIn) | Some(ErrorCode::Forbidden)
                )
            })
        };
        let weight = |op: Operation, can_succeed: bool, own_error: bool| -> usize {
            match op {
                Operation::Zeroize => 1,
                Operation::Login if !logged_in => 60,
                Operation::Logout => 6,
                Operation::ChangeOwnPassword if preco && can_succeed => 40,
                Operation::GetClusterInfo
                | Operation::ListUsers
                | Operation::GetSyncStatus
                | Operation::ChangeOwnPassword => 3,
                Operation::CreateUser
                | Operation::GenerateKey
                | Operation::ShareKey
                | Operation::Clone
                | Operation::ExtractMasked
                | Operation::WrapKey
                    if can_succeed =>
                {
                    30
                }
                _ if can_succeed => 12,
                _ if own_error => 4,
                _ => 2,
            }
        };
        let total: usize = ops
            .iter()
            .map(|e| weight(e.0, !e.2.is_empty(), own_error(&e.1)))
            .sum();
        let mut r = rng.below(total);
        for (op, variants, ok) in &ops {
            let w = weight(*op, !ok.is_empty(), own_error(variants));
            if r < w {
                // New users are CUs four times in five (sharing needs two of them).
                if *op == Operation::CreateUser && rng.chance(4, 5) {
                    let cu: Vec<_> = ok
                        .iter()
                        .filter(|a| {
                            matches!(
                                a.op,
                                hsm_model::Op::CreateUser {
                                    role: hsm_model::Role::CryptoUser,
                                    ..
                                }
                            )
                        })
                        .collect();
                    if !cu.is_empty() {
                        return **cu[rng.below(cu.len())];
                    }
                }
                return if !ok.is_empty() && rng.chance(3, 4) {
                    *ok[rng.below(ok.len())]
                } else {
                    // An error: its code chosen uniformly first, so rare codes come too.
                    let mut codes: Vec<Option<ErrorCode>> = variants.iter().map(|v| v.1).collect();
                    codes.sort();
                    codes.dedup();
                    let code = codes[rng.below(codes.len())];
                    let same: Vec<_> = variants.iter().filter(|v| v.1 == code).collect();
                    *same[rng.below(same.len())].0
                };
            }
            r -= w;
        }
        *mine.first().copied().unwrap_or(&all[0])
    }

    /// A trace of `steps` random steps from a new cluster (the configuration's setup first),
    /// with the model's outcomes recorded.
    pub fn trace(&self, name: &str, steps: usize, rng: &mut Rng) -> Trace {
        let mut s = HsmModel::setup_state_of::<Large>(&self.cfg)
            .unwrap_or_else(|_| LargeState::new_cluster());
        let mut out = Vec::with_capacity(steps);
        for _ in 0..steps {
            let a = self.next_action(&s, rng);
            s = self.cfg.step(&s, &a).1;
            out.push(TraceStep {
                action: a,
                outcome: None,
            });
        }
        Trace::new(name, &self.cfg, out).with_model_outcomes()
    }
}

/// `a` with its name argument, one time in four, in another spelling of the same user among
/// the configuration's [`Config::spellings`] (`Alice` for `alice`), so that an implementation
/// that forgets to lower-case, or lower-cases in the wrong place, is caught. The trace records
/// the spelling sent. Draws from `rng` only when there is a spelling to choose.
pub fn respell(cfg: &Config, mut a: Action, rng: &mut Rng) -> Action {
    let Some(name) = a.op.name_arg_mut() else {
        return a;
    };
    let Some(user) = cfg.user_named(*name) else {
        return a;
    };
    let others: Vec<_> = cfg
        .spelled_name_ids()
        .filter(|&n| n != *name && cfg.user_named(n) == Some(user))
        .collect();
    if !others.is_empty() && rng.chance(1, 4) {
        *name = others[rng.below(others.len())];
    }
    a
}

/// Options of a random campaign.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignOptions {
    /// Traces to run.
    pub cases: u64,
    /// Steps per trace (after the configuration's setup).
    pub steps: usize,
    /// The seed; case `i` uses a seed derived from it and `i`.
    pub seed: u64,
    /// Stop at the first failing trace (and shrink it).
    pub stop_on_failure: bool,
}

/// What a campaign did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CampaignResult {
    /// Traces asked for.
    pub asked: u64,
    /// Traces run (fewer than asked when the campaign stopped at a failure).
    pub traces: u64,
    /// Steps run (setup included).
    pub steps: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Traces stopped by an operation the system answered `unsupported`, by the operation's
    /// name, with how many: the run is INCOMPLETE.
    pub unsupported: std::collections::BTreeMap<&'static str, u64>,
    /// The profile's deviations that steps needed and the system agreed with.
    pub deviations_seen: BTreeSet<crate::profile::Deviation>,
    /// Failing traces, re-run and (when they reproduce) shrunk.
    pub failures: Vec<Failure>,
    /// Triples reached.
    #[serde(skip)]
    pub triples: BTreeSet<Triple>,
}

/// The seed of case `i` of a campaign seeded `seed`.
pub fn case_seed(seed: u64, i: u64) -> u64 {
    seed ^ i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Runs a random campaign of `cfg` against `factory`; `tick` is called after each trace.
pub fn campaign(
    cfg: &Config,
    opts: &CampaignOptions,
    factory: &dyn SutFactory,
    tick: &dyn Fn(u64),
) -> Result<CampaignResult, Error> {
    let gen = Generator::new(cfg)?.restricted(factory.profile().cloned());
    let start = Instant::now();
    let mut res = CampaignResult {
        asked: opts.cases,
        ..Default::default()
    };
    for i in 0..opts.cases {
        let cs = case_seed(opts.seed, i);
        let mut rng = Rng::new(cs);
        let trace = gen.trace(
            &format!("random case {i} (seed {cs})"),
            opts.steps,
            &mut rng,
        );
        let run = run_trace(&trace, factory);
        res.traces += 1;
        res.steps += run.steps.len() as u64;
        res.triples.extend(run.triples.iter().copied());
        if let Some(e) = run.input_error {
            return Err(Error::Usage(format!("case {i}: {e}")));
        }
        res.deviations_seen
            .extend(run.deviations_seen.iter().copied());
        if let Some(op) = run.unsupported_op {
            *res.unsupported.entry(op.name()).or_default() += 1;
        }
        if run.divergence.is_some() {
            res.failures.push(investigate(i, cs, &trace, &run, factory));
            if opts.stop_on_failure {
                tick(i + 1);
                break;
            }
        }
        tick(i + 1);
    }
    res.seconds = start.elapsed().as_secs_f64();
    Ok(res)
}
