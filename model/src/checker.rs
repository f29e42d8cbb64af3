//! The `stateright::Model` over the step function: which actions a bounded configuration
//! enables, the transition invariants checked on every explored transition, the properties of
//! SPEC §7 named as sentences, and the coverage of (role, operation, outcome) triples.

use crate::action::{Action, Op, Outcome};
use crate::config::Config;
use crate::state::*;

// The checker works at the small capacity.
const MAX_HSMS: usize = Small::HSMS;
const MAX_CLIENTS: usize = Small::CLIENTS;
use crate::symmetry::Symmetry;
use crate::table::{allows, Column, Row};
use crate::vocab::{ErrorCode, Family, Operation, Role};
use stateright::{Model, Property};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A (column, operation, outcome) triple: who ran what, and the answer (`None` for Ok).
pub type Triple = (Column, Operation, Option<ErrorCode>);

const OUTCOMES: usize = 1 + ErrorCode::ALL.len();
// The enumerator keeps a set of error codes in a `u64` (`Config::variants`).
const _: () = assert!(ErrorCode::ALL.len() <= 64);
const TRIPLES: usize = Column::ALL.len() * Operation::ALL.len() * OUTCOMES;

fn triple_index(t: &Triple) -> usize {
    // The position of the column in `Column::ALL`.
    let c = match t.0 {
        Column::Role(r) => r as usize,
        Column::Unauthenticated => Column::ALL.len() - 1,
    };
    let o = t.1 as usize;
    let r = t.2.map_or(0, |e| 1 + e as usize);
    (c * Operation::ALL.len() + o) * OUTCOMES + r
}

fn triple_at(i: usize) -> Triple {
    let r = i % OUTCOMES;
    let o = (i / OUTCOMES) % Operation::ALL.len();
    let c = i / OUTCOMES / Operation::ALL.len();
    (
        Column::ALL[c],
        Operation::ALL[o],
        (r > 0).then(|| ErrorCode::ALL[r - 1]),
    )
}

/// The triples seen on explored transitions, filled by `next_state` from every checker thread.
#[derive(Debug)]
pub struct Coverage {
    bits: [AtomicU64; TRIPLES.div_ceil(64)],
}

impl Default for Coverage {
    fn default() -> Self {
        Coverage {
            bits: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Coverage {
    fn record(&self, t: Triple) {
        let i = triple_index(&t);
        let bit = 1u64 << (i % 64);
        // A plain load first: after the first states almost every triple is known, and a
        // read-modify-write on every step would contend between checker threads.
        if self.bits[i / 64].load(Ordering::Relaxed) & bit == 0 {
            self.bits[i / 64].fetch_or(bit, Ordering::Relaxed);
        }
    }

    /// Every triple seen, in a stable order.
    pub fn triples(&self) -> Vec<Triple> {
        (0..TRIPLES)
            .filter(|&i| self.bits[i / 64].load(Ordering::Relaxed) & (1 << (i % 64)) != 0)
            .map(triple_at)
            .collect()
    }
}

/// The model checked by stateright: a configuration, its symmetry group, and the coverage seen.
#[derive(Clone)]
pub struct HsmModel {
    /// The bounded configuration.
    pub cfg: Config,
    symmetry: Symmetry,
    /// Triples seen on explored transitions.
    pub coverage: Arc<Coverage>,
}

impl HsmModel {
    /// The model of `cfg`; an error if the configuration is not valid or its setup fails.
    pub fn new(cfg: Config) -> Result<HsmModel, crate::Error> {
        cfg.validate()?;
        let model = HsmModel {
            symmetry: Symmetry::new(&cfg),
            cfg,
            coverage: Arc::default(),
        };
        model.setup_state::<Small>()?;
        Ok(model)
    }

    /// How many renamings the symmetry reduction tries per state.
    pub fn symmetry_size(&self) -> usize {
        self.symmetry.size()
    }

    /// The symmetry group.
    pub fn symmetry(&self) -> &Symmetry {
        &self.symmetry
    }

    /// The concrete state after the configuration's setup steps.
    pub fn setup_state<C: Capacity>(&self) -> Result<StateOf<C>, crate::Error> {
        Self::setup_state_of(&self.cfg)
    }

    /// The state `cfg`'s setup leaves a new cluster in, at capacity `C` (which `cfg` must fit:
    /// [`Config::validate_for`]).
    pub fn setup_state_of<C: Capacity>(cfg: &Config) -> Result<StateOf<C>, crate::Error> {
        let mut s = StateOf::<C>::new_cluster();
        for (i, a) in cfg.setup.iter().enumerate() {
            let (out, next) = cfg.step(&s, a);
            if let Err(e) = out {
                return Err(crate::Error::SetupFailed {
                    step: i + 1,
                    action: crate::trace::describe(cfg, a),
                    code: e,
                });
            }
            s = next;
        }
        Ok(s)
    }

    /// Whether `s` keeps within the configuration's pool bounds.
    fn within_pools(&self, s: &State) -> bool {
        let p = self.cfg.pools;
        s.masked.len() <= p.masked as usize
            && s.wrapped.len() <= p.wrapped as usize
            && s.ciphertexts.len() <= p.ciphertexts as usize
            && s.signatures.len() <= p.signatures as usize
    }

    /// One concrete transition with its transition invariants and coverage: the outcome and
    /// the next state, flags set where a transition invariant failed. `None` when the action is
    /// beyond the configuration's bounds.
    pub fn transition(&self, s: &State, a: &Action) -> Option<(Outcome, State)> {
        let (outcome, mut next) = self.cfg.step(s, a);
        self.finish(s, a, &outcome, &mut next, &mut None)?;
        Some((outcome, next))
    }

    /// The checks of [`HsmModel::transition`] after the step of `a` from `s` answered
    /// `outcome` and left `next`: sets `next`'s flags, and tells whether `next` differs from
    /// `s` (`None` when it is beyond the configuration's bounds). `owners` caches
    /// [`owners_before`] of `s` for the next call from the same state.
    fn finish(
        &self,
        s: &State,
        a: &Action,
        outcome: &Outcome,
        next: &mut State,
        owners: &mut Option<Owners>,
    ) -> Option<bool> {
        let role = s.session_role(a.client, a.hsm);
        let op = a.op.operation();
        self.coverage
            .record((Column::of(role), op, outcome.as_ref().err().copied()));
        // Transition invariants first: an Ok that changes nothing must still be allowed.
        if outcome.is_ok() {
            if let Some(row) = Row::of(op) {
                if !allows(row, Column::of(role)) {
                    next.flags |= flags::OK_NOT_IN_TABLE;
                }
            }
            if role == Some(Role::CryptoUser) {
                let me = s.session(a.client, a.hsm);
                let hsm = &s.hsms[a.hsm.index()];
                let access = |id: KeyId| {
                    hsm.key(id).is_some_and(|k| {
                        Some(k.owner) == me || me.is_some_and(|m| k.shares.contains(m))
                    })
                };
                if !a.op.named_keys().all(access) {
                    next.flags |= flags::KEY_USED_WITHOUT_ACCESS;
                }
            }
        }
        // An error changes nothing (the step function restores the state) but a failed
        // Login's counter and the capacity flag: skip comparing whole states for it.
        let unchanged = if outcome.is_err() && !matches!(a.op, Op::Login { .. }) {
            next.flags == s.flags
        } else {
            // Only the configuration's HSMs and the sessions bound to them can differ: the
            // step function refuses any other HSM.
            let shape = self.cfg.shape();
            debug_assert!(crate::packed::equal_beyond(s, next, shape));
            crate::packed::equal_within(s, next, shape)
        };
        if unchanged {
            return Some(false);
        }
        if next.flags & flags::CAPACITY_EXCEEDED != 0
            || !self.within_pools(next)
            || next.next_key_id > self.cfg.key_ids + 1
        {
            return None;
        }
        if owner_changed(owners.get_or_insert_with(|| owners_before(s)), next) {
            next.flags |= flags::OWNER_CHANGED;
        }
        Some(true)
    }

    /// Steps every enabled action of `state` once, recording its (role, operation, outcome)
    /// triple and its transition invariants, and calls `f` with each action that changes the
    /// state and the state it leads to (before canonicalization), in the order of
    /// [`Model::actions`]. `candidates` is scratch space.
    ///
    /// Relied on: guards run before effects, so an error other than a failed Login leaves the
    /// state it was applied to untouched (but for the capacity flag). Errors are by far the
    /// most common outcome, so one scratch copy of `state` serves every error in a row; it is
    /// refreshed only after a step that may have changed it. The test
    /// `errors_leave_the_state_untouched_before_the_restore` holds the model to this.
    pub fn for_each_successor(
        &self,
        state: &State,
        candidates: &mut Vec<Action>,
        mut f: impl FnMut(&Action, &State),
    ) {
        candidates.clear();
        self.cfg.enabled(state, candidates, true);
        // What `Config::step` starts from; the scratch state is this until a step changes it.
        let mut base = *state;
        base.events = 0;
        let mut scratch = base;
        // The keys' owners in `state`, for the owner invariant of every changing successor.
        let mut owners = None;
        // Each session's column, looked up once per state rather than once per candidate.
        let mut columns = [[Column::Unauthenticated; MAX_HSMS]; MAX_CLIENTS];
        for (c, row) in columns.iter_mut().enumerate() {
            for (h, column) in row.iter_mut().enumerate() {
                *column = Column::of(state.session_role(ClientId(c as u8), HsmId(h as u8)));
            }
        }
        for a in candidates.iter() {
            let outcome = self.cfg.apply(&mut scratch, a);
            let plain_error = outcome.is_err() && !crate::step::is_login_failure(a, &outcome);
            if plain_error && scratch.flags == state.flags {
                let column = columns[a.client.index()][a.hsm.index()];
                self.coverage
                    .record((column, a.op.operation(), outcome.err()));
                continue;
            }
            // What `Config::step` would answer.
            crate::step::settle(state, a, &outcome, &mut scratch);
            if self.finish(state, a, &outcome, &mut scratch, &mut owners) == Some(true) {
                f(a, &scratch);
            }
            scratch = base;
        }
    }

    /// Turns a path of the checker (actions on representative states, after the setup) into
    /// the concrete actions that reach the same states up to renaming, from the setup state.
    pub fn concretize(&self, canonical_actions: &[Action]) -> Vec<Action> {
        let Ok(mut concrete) = self.setup_state() else {
            return vec![];
        };
        let (_, mut perm) = self.symmetry.canonicalize(&concrete);
        let mut out = Vec::new();
        for a in canonical_actions {
            let b = perm.inverse().action(a);
            let (_, next) = self.cfg.step(&concrete, &b);
            out.push(b);
            if next != concrete {
                perm = self.symmetry.canonicalize(&next).1;
            }
            concrete = next;
        }
        out
    }

    /// Every action the configuration enables in `s`, self-loops included (errors, reads):
    /// what the conformance runner replays. The checker explores only the actions that change
    /// the state (see [`Model::actions`]).
    pub fn enabled_actions<C: Capacity>(&self, s: &StateOf<C>, out: &mut Vec<Action>) {
        self.cfg.enabled(s, out, false);
    }
}

/// The action enumeration: what a configuration puts in play in a state, at any capacity (the
/// checker explores it at [`Small`]; the conformance runner's generator at its own).
impl Config {
    /// The actions enabled in `s`. Errors never change the state (but for a failed Login), so
    /// where every variant of an operation must answer the same error — NotLoggedIn for an
    /// unauthenticated session, Forbidden by the step function's own role guard, AlreadyLoggedIn
    /// — one representative variant is enough; this keeps transitions few without losing a
    /// state or a (role, operation, outcome) triple.
    ///
    /// With `prefilter` (the checker's enumeration, not the runner's), the same holds one
    /// level down, by the step function's own checks: where [`crate::step::first_key_check`]
    /// refutes the key a group of variants names first, one variant of the group is kept,
    /// and of the CreateUser variants that [`crate::step::new_user_check`] refutes with the
    /// same error, the first. Both checks are what the operations themselves run first after
    /// the role guard, and read nothing the other arguments change.
    pub(crate) fn enabled<C: Capacity>(
        &self,
        s: &StateOf<C>,
        out: &mut Vec<Action>,
        prefilter: bool,
    ) {
        let cfg = self;
        let prefilter = prefilter && crate::planted::spec_intact(cfg);
        for c in 0..cfg.clients {
            for h in 0..cfg.hsms {
                let (client, hsm) = (ClientId(c), HsmId(h));
                let role = s.session_role(client, hsm);
                let logged_in = s.session(client, hsm).is_some();
                for op in Operation::ALL {
                    if !cfg.has(op.family()) {
                        continue;
                    }
                    let collapse = match (op, crate::step::callers(op)) {
                        (Operation::Login, _) => logged_in,
                        (_, None) => false,
                        (_, Some(roles)) => role.is_none_or(|r| !roles.contains(&r)),
                    };
                    let collapse = collapse && crate::planted::role_guard_intact(cfg);
                    // The caller the step function's later checks see: the role guard lets it
                    // pass (the operation is not collapsed).
                    let me = if prefilter && !collapse {
                        s.session(client, hsm)
                    } else {
                        None
                    };
                    let mut sink = Sink {
                        out: &mut *out,
                        client,
                        hsm,
                        first_only: collapse,
                        taken: false,
                    };
                    self.variants(s, hsm, op, me, &mut sink);
                }
            }
        }
    }

    /// Every argument variant of `op` the configuration puts in play in `s`, into `out`. With
    /// `me` (the caller's name, given only when the role guard lets it pass and the
    /// enumeration may prefilter), the groups of variants the step function's first checks
    /// refute alike are cut to one variant (see [`Config::enabled`]).
    fn variants<C: Capacity>(
        &self,
        s: &StateOf<C>,
        hsm: HsmId,
        op: Operation,
        me: Option<NameId>,
        out: &mut Sink,
    ) {
        let cfg = self;
        let valid_names = (0..cfg.valid_name_count() as u8).map(NameId);
        let names = cfg.name_ids();
        let new_passwords = (2..2 + cfg.passwords.len() as u8).map(PasswordId);
        let keys = (1..=cfg.key_ids).map(KeyId);
        let data = (0..cfg.data.len() as u8).map(DataId);
        let the_hsm = &s.hsms.as_ref()[hsm.index()];
        // Whether the operation's first key check refutes `key` (then one variant naming it
        // first is enough).
        let refuted = |key: KeyId| {
            me.is_some_and(|me| {
                crate::step::first_key_check(op, the_hsm, key, me).is_some_and(|r| r.is_err())
            })
        };
        match op {
            Operation::Login => {
                for name in names {
                    if cfg.wrong_logins {
                        for password in cfg.password_ids() {
                            out.push(Op::Login { name, password });
                        }
                    } else {
                        // Only the right password (any one, for a name that is no user).
                        let password = s
                            .hsm(hsm)
                            .and_then(|h| h.user(name))
                            .map_or(PasswordId(2), |u| u.password);
                        out.push(Op::Login { name, password });
                    }
                }
            }
            Operation::Logout => out.push(Op::Logout),
            Operation::GetClusterInfo => out.push(Op::GetClusterInfo),
            Operation::ListUsers => out.push(Op::ListUsers),
            Operation::Zeroize => out.push(Op::Zeroize),
            Operation::Clone => {
                for h in 0..cfg.hsms {
                    out.push(Op::Clone { from: HsmId(h) });
                }
            }
            Operation::ChangeOwnPassword => {
                for password in new_passwords {
                    out.push(Op::ChangeOwnPassword { password });
                }
            }
            Operation::ChangePassword => {
                for name in names {
                    for password in new_passwords.clone() {
                        out.push(Op::ChangePassword { name, password });
                    }
                }
            }
            Operation::CreateUser => {
                // The errors of CreateUser's checks already stepped once from this session.
                let mut refused = 0u64;
                let mut push = |out: &mut Sink, name: NameId, role: Role, password: PasswordId| {
                    if me.is_some() {
                        let check = crate::step::new_user_check(
                            cfg,
                            the_hsm,
                            cfg.user_named(name),
                            role,
                            password,
                        );
                        if let Err(e) = check {
                            let bit = 1u64 << e as u32;
                            if refused & bit != 0 {
                                return;
                            }
                            refused |= bit;
                        }
                    }
                    out.push(Op::CreateUser {
                        name,
                        role,
                        password,
                    });
                };
                for name in valid_names.clone() {
                    for role in [Role::CryptoUser, Role::CryptoOfficer] {
                        for password in new_passwords.clone() {
                            push(out, name, role, password);
                        }
                    }
                }
                let first_pw = PasswordId(2);
                for name in names.skip(cfg.valid_name_count()) {
                    push(out, name, Role::CryptoUser, first_pw);
                }
                if !cfg.names.is_empty() {
                    push(out, NameId(2), Role::ApplianceUser, first_pw);
                }
            }
            Operation::DeleteUser => {
                for name in names {
                    out.push(Op::DeleteUser { name });
                }
            }
            Operation::GetSyncStatus => out.push(Op::GetSyncStatus),
            Operation::ExtractMasked => {
                for key in keys {
                    out.push(Op::ExtractMasked { key });
                }
            }
            Operation::InsertMasked => {
                for object in s.masked.iter() {
                    out.push(Op::InsertMasked { object });
                }
            }
            // Always enabled, even past the key-id bound: that bound is enforced on the
            // resulting state (see `transition`), so GenerateKey and UnwrapKey can still answer
            // KeyLimit when the HSM is full.
            Operation::GenerateKey => {
                for &kind in &cfg.kinds {
                    out.push(Op::GenerateKey {
                        kind,
                        extractable: true,
                    });
                    if cfg.non_extractable {
                        out.push(Op::GenerateKey {
                            kind,
                            extractable: false,
                        });
                    }
                }
            }
            Operation::DeleteKey => {
                for key in keys {
                    out.push(Op::DeleteKey { key });
                }
            }
            Operation::ShareKey | Operation::UnshareKey => {
                for key in keys {
                    let one = refuted(key);
                    for name in cfg.name_ids() {
                        out.push(if op == Operation::ShareKey {
                            Op::ShareKey { key, name }
                        } else {
                            Op::UnshareKey { key, name }
                        });
                        if one {
                            break;
                        }
                    }
                }
            }
            Operation::SetAttribute => {
                for key in keys {
                    let one = refuted(key);
                    for l in 0..=cfg.labels.len() as u8 {
                        out.push(Op::SetAttribute {
                            key,
                            label: LabelId(l),
                        });
                        if one {
                            break;
                        }
                    }
                }
            }
            Operation::WrapKey => {
                for key in keys.clone() {
                    let one = refuted(key);
                    for wrapping in keys.clone() {
                        out.push(Op::WrapKey { key, wrapping });
                        if one {
                            break;
                        }
                    }
                }
            }
            Operation::UnwrapKey => {
                for wrapping in keys {
                    let one = refuted(wrapping);
                    for wrapped in s.wrapped.iter().chain([WrappedKey::Garbage]) {
                        out.push(Op::UnwrapKey { wrapped, wrapping });
                        if one {
                            break;
                        }
                    }
                }
            }
            Operation::Encrypt | Operation::Sign | Operation::Hmac => {
                for key in keys {
                    let one = refuted(key);
                    for data in data.clone() {
                        out.push(match op {
                            Operation::Encrypt => Op::Encrypt { key, data },
                            Operation::Sign => Op::Sign { key, data },
                            _ => Op::Hmac { key, data },
                        });
                        if one {
                            break;
                        }
                    }
                }
            }
            Operation::Decrypt => {
                for key in keys {
                    let one = refuted(key);
                    for ciphertext in s.ciphertexts.iter().chain([Ciphertext::Garbage]) {
                        out.push(Op::Decrypt { key, ciphertext });
                        if one {
                            break;
                        }
                    }
                }
            }
            Operation::Verify => {
                for key in keys {
                    let one = refuted(key);
                    'key: for data in data.clone() {
                        for signature in s.signatures.iter().chain([Signature::Garbage]) {
                            out.push(Op::Verify {
                                key,
                                data,
                                signature,
                            });
                            if one {
                                break 'key;
                            }
                        }
                    }
                }
            }
            Operation::Digest => {
                for data in data {
                    out.push(Op::Digest { data });
                }
            }
        }
    }

    /// Every action the configuration enables in `s`, self-loops included (errors, reads),
    /// at any capacity: what the conformance runner's generator picks from.
    pub fn enabled_actions<C: Capacity>(&self, s: &StateOf<C>, out: &mut Vec<Action>) {
        self.enabled(s, out, false);
    }
}

/// Where the enumerator writes the variants of one operation from one session.
struct Sink<'a> {
    out: &'a mut Vec<Action>,
    client: ClientId,
    hsm: HsmId,
    /// Keep only the first variant: every variant answers the same error.
    first_only: bool,
    taken: bool,
}

impl Sink<'_> {
    fn push(&mut self, op: Op) {
        if self.first_only && self.taken {
            return;
        }
        self.taken = true;
        self.out.push(Action {
            client: self.client,
            hsm: self.hsm,
            op,
        });
    }
}

/// The owner each key id has in a state: on the first HSM that holds it, else in the first
/// masked object that left one (`None`: the id is nowhere).
type Owners = [Option<NameId>; Small::KEY_IDS];

/// [`Owners`] of `before`.
fn owners_before(before: &State) -> Owners {
    std::array::from_fn(|i| {
        let id = KeyId(i as u8 + 1);
        before
            .hsms
            .iter()
            .find_map(|h| h.key(id).map(|k| k.owner))
            .or_else(|| {
                before.masked.iter().find_map(|o| match o {
                    MaskedObject::Sealed(r) if r.id == id => Some(r.key.owner),
                    _ => None,
                })
            })
    })
}

/// Whether some key in `after` has an owner other than the one its id had anywhere in the
/// state before (`owners`: on an HSM, or in a masked object that left one).
fn owner_changed(owners: &Owners, after: &State) -> bool {
    after.hsms.iter().any(|h| {
        h.keys
            .iter()
            .zip(owners)
            .any(|(k, o)| matches!((k, o), (Some(k), Some(o)) if k.owner != *o))
    })
}

impl Model for HsmModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        match self.setup_state() {
            Ok(s) => vec![self.symmetry.canonicalize(&s).0],
            Err(_) => vec![],
        }
    }

    /// The actions that change the state. Every enabled action is still stepped here, so its
    /// (role, operation, outcome) triple is recorded and its transition invariants are
    /// checked (a violation changes the state: its sticky flag is set); but an action that
    /// leaves the state as it is — an error, a read — is a self-loop that can reach nothing
    /// new, and handing it to stateright would only cost a path copy, a fingerprint and a
    /// lookup. Unique states and verdicts are the same either way; "total states" counts only
    /// state-changing transitions.
    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        let mut candidates = Vec::new();
        self.for_each_successor(state, &mut candidates, |a, _| actions.push(*a));
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let (_, next) = self.transition(last, &action)?;
        if next == *last {
            return Some(next);
        }
        Some(self.symmetry.canonicalize(&next).0)
    }

    fn format_action(&self, action: &Action) -> String {
        crate::trace::describe(&self.cfg, action)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::all()
    }
}

/// The properties of SPEC §7, each named as a sentence.
pub mod properties {
    use super::*;

    /// Names of the invariants (always).
    pub const INVARIANTS: [&str; 8] = [
        OK_ALLOWED_BY_TABLE,
        PRECO_ONLY_ON_HSM0_UNACTIVATED,
        OWNERS_AND_SHARES_ARE_CUS,
        KEY_USE_NEEDS_ACCESS,
        OWNER_NEVER_CHANGES,
        BLANK_HSM_HOLDS_ONLY_AU,
        NO_SESSION_OF_GONE_USER,
        ACTIVE_HSM_HAS_CO,
    ];

    pub const OK_ALLOWED_BY_TABLE: &str =
        "every Ok outcome is allowed by the permission table for the session's role";
    pub const PRECO_ONLY_ON_HSM0_UNACTIVATED: &str =
        "a PRECO exists only on HSM 0 and only while the cluster is unactivated";
    pub const OWNERS_AND_SHARES_ARE_CUS: &str = "every key's owner is a CU on its HSM, and its shares are CUs other than the owner, within the share limit";
    pub const KEY_USE_NEEDS_ACCESS: &str = "a CU succeeds at an operation naming a key only if it owns the key or the key is shared with it";
    pub const OWNER_NEVER_CHANGES: &str = "no operation changes a key's owner";
    pub const BLANK_HSM_HOLDS_ONLY_AU: &str =
        "every HSM holds the AU, and a blank HSM holds no key and no other user";
    pub const NO_SESSION_OF_GONE_USER: &str = "no session is logged in as a user that is gone";
    pub const ACTIVE_HSM_HAS_CO: &str =
        "a non-blank HSM of an active cluster always holds at least one CO";

    pub const ACTIVATION: &str = "the PRECO can activate the cluster";
    pub const SHARED_KEY_USED_ON_CLONE: &str =
        "a key shared with a second CU can be used by it on a cloned HSM";
    pub const DELETED_KEY_REVIVED: &str =
        "a deleted key comes back when its masked object is replayed (D9)";
    pub const ALL_COS_LOCKED: &str = "every CO of an HSM can be locked out";
    pub const ALL_ZEROIZED: &str = "every HSM can be zeroized, with all keys lost";
    pub const MATERIAL_COPIED_BY_UNWRAP: &str =
        "a CU can own a copy of another CU's key material by unwrapping what the owner wrapped (D10)";
    pub const KEY_PASSES_TO_NEW_NAMESAKE: &str =
        "a key can pass to a new user who got a deleted owner's name, by replaying its masked object (D12)";

    /// Every property's stable id (kebab-case, never renamed when a sentence is reworded): what
    /// the JSON documents of `hsmspec check` and the Explorer's configuration key properties by.
    pub const IDS: [(&str, &str); 15] = [
        (OK_ALLOWED_BY_TABLE, "ok-allowed-by-table"),
        (
            PRECO_ONLY_ON_HSM0_UNACTIVATED,
            "preco-only-on-hsm0-unactivated",
        ),
        (OWNERS_AND_SHARES_ARE_CUS, "owners-and-shares-are-cus"),
        (KEY_USE_NEEDS_ACCESS, "key-use-needs-access"),
        (OWNER_NEVER_CHANGES, "owner-never-changes"),
        (BLANK_HSM_HOLDS_ONLY_AU, "blank-hsm-holds-only-au"),
        (NO_SESSION_OF_GONE_USER, "no-session-of-gone-user"),
        (ACTIVE_HSM_HAS_CO, "active-hsm-has-co"),
        (ACTIVATION, "activation"),
        (SHARED_KEY_USED_ON_CLONE, "shared-key-used-on-clone"),
        (DELETED_KEY_REVIVED, "deleted-key-revived"),
        (ALL_COS_LOCKED, "all-cos-locked"),
        (ALL_ZEROIZED, "all-zeroized"),
        (MATERIAL_COPIED_BY_UNWRAP, "material-copied-by-unwrap"),
        (KEY_PASSES_TO_NEW_NAMESAKE, "key-passes-to-new-namesake"),
    ];

    /// The stable id of the property stated as `name` (`unknown` for a sentence that is no
    /// property: never the case for the names of [`INVARIANTS`] and [`EXAMPLES`]).
    pub fn id(name: &str) -> &'static str {
        IDS.iter()
            .find(|(n, _)| *n == name)
            .map_or("unknown", |(_, id)| id)
    }

    /// The examples (sometimes) and the families each needs to be reachable.
    pub const EXAMPLES: [(&str, &[Family]); 7] = [
        (ACTIVATION, &[Family::Sessions, Family::Passwords]),
        (
            SHARED_KEY_USED_ON_CLONE,
            &[
                Family::Sessions,
                Family::Users,
                Family::Keys,
                Family::Crypto,
                Family::Lifecycle,
            ],
        ),
        (
            DELETED_KEY_REVIVED,
            &[Family::Sessions, Family::Keys, Family::Masking],
        ),
        (ALL_COS_LOCKED, &[Family::Sessions]),
        (
            ALL_ZEROIZED,
            &[Family::Sessions, Family::Keys, Family::Lifecycle],
        ),
        (
            MATERIAL_COPIED_BY_UNWRAP,
            &[Family::Sessions, Family::Users, Family::Keys],
        ),
        (
            KEY_PASSES_TO_NEW_NAMESAKE,
            &[
                Family::Sessions,
                Family::Users,
                Family::Keys,
                Family::Masking,
            ],
        ),
    ];

    /// Whether a configuration's bounds leave room for an example (its families aside).
    pub fn example_within_bounds(name: &str, cfg: &Config) -> bool {
        let p = cfg.pools;
        match name {
            SHARED_KEY_USED_ON_CLONE => cfg.hsms >= 2 && cfg.names.len() >= 2,
            DELETED_KEY_REVIVED | KEY_PASSES_TO_NEW_NAMESAKE => {
                p.masked >= 2 && !cfg.names.is_empty()
            }
            ALL_COS_LOCKED => cfg.wrong_logins,
            MATERIAL_COPIED_BY_UNWRAP => {
                p.wrapped >= 1
                    && cfg.key_ids >= 2
                    && cfg.names.len() >= 2
                    && cfg.policy.max_keys >= 2
                    && cfg.policy.max_shares >= 1
            }
            ALL_ZEROIZED => !cfg.names.is_empty(),
            _ => true,
        }
    }

    fn hsms<'a>(m: &HsmModel, s: &'a State) -> impl Iterator<Item = (HsmId, Hsm)> + 'a {
        let n = m.cfg.hsms as usize;
        s.hsms[..n]
            .iter()
            .copied()
            .enumerate()
            .map(|(i, h)| (HsmId(i as u8), h))
    }

    /// Every property, invariants first.
    pub fn all() -> Vec<Property<HsmModel>> {
        vec![
            Property::always(OK_ALLOWED_BY_TABLE, |_, s: &State| {
                s.flags & flags::OK_NOT_IN_TABLE == 0
            }),
            Property::always(PRECO_ONLY_ON_HSM0_UNACTIVATED, |m, s| {
                hsms(m, s).all(|(h, hsm)| {
                    hsm.users().all(|(_, u)| {
                        u.role != Role::PreCryptoOfficer || (h.0 == 0 && !s.activated)
                    })
                })
            }),
            Property::always(OWNERS_AND_SHARES_ARE_CUS, |m, s| {
                hsms(m, s).all(|(_, hsm)| {
                    hsm.keys.iter().flatten().all(|k| {
                        hsm.is_crypto_user(k.owner)
                            && !k.shares.contains(k.owner)
                            && k.shares.iter().all(|n| hsm.is_crypto_user(n))
                            && k.shares.len() <= m.cfg.policy.max_shares as usize
                    })
                })
            }),
            Property::always(KEY_USE_NEEDS_ACCESS, |_, s: &State| {
                s.flags & flags::KEY_USED_WITHOUT_ACCESS == 0
            }),
            Property::always(OWNER_NEVER_CHANGES, |_, s: &State| {
                s.flags & flags::OWNER_CHANGED == 0
            }),
            Property::always(BLANK_HSM_HOLDS_ONLY_AU, |m, s| {
                hsms(m, s).all(|(_, hsm)| {
                    matches!(hsm.user(APP_USER), Some(u) if u.role == Role::ApplianceUser)
                        && (!hsm.blank
                            || (hsm.keys.iter().all(Option::is_none) && hsm.users().count() == 1))
                })
            }),
            Property::always(NO_SESSION_OF_GONE_USER, |m, s| {
                (0..m.cfg.clients).all(|c| {
                    hsms(m, s).all(|(h, hsm)| {
                        s.session(ClientId(c), h)
                            .is_none_or(|n| hsm.user(n).is_some())
                    })
                })
            }),
            Property::always(ACTIVE_HSM_HAS_CO, |m, s: &State| {
                !s.activated
                    || hsms(m, s).all(|(_, hsm)| {
                        hsm.blank || hsm.users().any(|(_, u)| u.role == Role::CryptoOfficer)
                    })
            }),
            Property::sometimes(ACTIVATION, |_, s: &State| s.activated),
            Property::sometimes(SHARED_KEY_USED_ON_CLONE, |_, s: &State| {
                s.events & events::SHARED_USE_ON_CLONE != 0
            }),
            Property::sometimes(DELETED_KEY_REVIVED, |_, s: &State| {
                s.events & events::KEY_REVIVED != 0
            }),
            Property::sometimes(ALL_COS_LOCKED, |m, s| {
                let t = m.cfg.policy.lockout_threshold;
                hsms(m, s).any(|(_, hsm)| {
                    let mut cos = hsm
                        .users()
                        .filter(|(_, u)| u.role == Role::CryptoOfficer)
                        .peekable();
                    cos.peek().is_some() && cos.all(|(_, u)| u.failures >= t)
                })
            }),
            Property::sometimes(ALL_ZEROIZED, |m, s: &State| {
                s.next_key_id > 1 && hsms(m, s).all(|(_, hsm)| hsm.blank)
            }),
            Property::sometimes(MATERIAL_COPIED_BY_UNWRAP, |m, s| {
                hsms(m, s).any(|(_, hsm)| {
                    hsm.records().any(|a| {
                        hsm.records().any(|b| {
                            a.id != b.id
                                && a.key.material == b.key.material
                                && a.key.owner != b.key.owner
                        })
                    })
                })
            }),
            Property::sometimes(KEY_PASSES_TO_NEW_NAMESAKE, |_, s: &State| {
                s.events & events::KEY_TO_NAMESAKE != 0
            }),
        ]
    }
}
