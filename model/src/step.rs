//! The transition function: every operation of SPEC §3 as a guard (its checks in SPEC order,
//! the first that applies is the answer) followed by its effect.
//!
//! `step` is pure and deterministic and does not read the permission table of [`crate::table`]:
//! who may call an operation is encoded here a second time, as each operation's `caller`
//! guard, and the checker holds the two encodings against each other.

use crate::action::{Action, Observation, Op, Outcome, UserEntry};
use crate::config::Config;
use crate::state::*;
use crate::vocab::{ErrorCode, ErrorCode::*, KeyKind, Operation, Role};

pub(crate) type Step = Result<Observation, ErrorCode>;

/// The roles that may run `op` at all, as the step function sees it; `None` for operations
/// that need no login (Login, Logout, GetClusterInfo, ListUsers, Zeroize).
///
/// This is the step function's own encoding of who may call what; it must agree with the
/// permission table of [`crate::table`] without reading it (the checker compares the two).
pub fn callers(op: Operation) -> Option<&'static [Role]> {
    use Operation::*;
    use Role::*;
    match op {
        Login | Logout | GetClusterInfo | ListUsers | Zeroize => None,
        ChangeOwnPassword | GetSyncStatus => Some(&Role::ALL),
        ChangePassword | CreateUser | DeleteUser => Some(&[CryptoOfficer]),
        ExtractMasked | InsertMasked => Some(&[CryptoOfficer, CryptoUser, ApplianceUser]),
        Clone => Some(&[ApplianceUser]),
        GenerateKey | DeleteKey | ShareKey | UnshareKey | SetAttribute | WrapKey | UnwrapKey
        | Encrypt | Decrypt | Sign | Verify | Hmac | Digest => Some(&[CryptoUser]),
    }
}

/// The role-checking step shared by every operation that belongs to a row of the table:
/// NotLoggedIn, then Forbidden unless the role is one of [`callers`].
pub(crate) fn caller<C: Capacity>(s: &StateOf<C>, a: &Action) -> Result<(NameId, Role), ErrorCode> {
    let name = s.session(a.client, a.hsm).ok_or(NotLoggedIn)?;
    let role = s.session_role(a.client, a.hsm).ok_or(NotLoggedIn)?;
    if callers(a.op.operation()).is_some_and(|allowed| allowed.contains(&role)) {
        Ok((name, role))
    } else {
        Err(Forbidden)
    }
}

pub(crate) fn hsm_mut<C: Capacity>(s: &mut StateOf<C>, h: HsmId) -> &mut Hsm<C> {
    &mut s.hsms[h.index()]
}

pub(crate) fn key_slot<C: Capacity>(id: KeyId) -> Option<usize> {
    (id.0 as usize).checked_sub(1).filter(|&i| i < C::KEY_IDS)
}

/// The user a resolved name argument names on `hsm`, with its id: `None` for a name that is not
/// valid (see [`Config::user_named`]) or no user of this HSM.
pub(crate) fn existing<C: Capacity>(hsm: &Hsm<C>, name: Option<NameId>) -> Option<(NameId, User)> {
    let name = name?;
    hsm.user(name).map(|u| (name, *u))
}

/// D7: a key the caller can use (owns, or is shared with it). Anything else is NoSuchKey.
pub(crate) fn usable<C: Capacity>(hsm: &Hsm<C>, id: KeyId, name: NameId) -> Result<Key, ErrorCode> {
    match hsm.key(id) {
        Some(k) if k.owner == name || k.shares.contains(name) => Ok(*k),
        _ => Err(NoSuchKey),
    }
}

/// D7: a key the caller owns: NoSuchKey if it cannot use it, NotOwner if it is only shared.
pub(crate) fn owned<C: Capacity>(hsm: &Hsm<C>, id: KeyId, name: NameId) -> Result<Key, ErrorCode> {
    let k = usable(hsm, id, name)?;
    if k.owner == name {
        Ok(k)
    } else {
        Err(NotOwner)
    }
}

/// The check an operation naming keys runs first after [`caller`], on the key it names first
/// (the wrapping key for UnwrapKey): [`owned`] for the operations only the owner may run,
/// [`usable`] for the others; `None` for an operation without such a check.
///
/// It reads only the caller's name and the HSM's key: nothing else of the state or the
/// action. Every operation below calls it (through [`key_check`]) before any other check on
/// its arguments, so when it refutes a key every variant naming that key first answers the
/// same error; the checker's enumerator relies on this to step one variant of them
/// (`Config::enabled`).
pub(crate) fn first_key_check<C: Capacity>(
    op: Operation,
    hsm: &Hsm<C>,
    key: KeyId,
    me: NameId,
) -> Option<Result<Key, ErrorCode>> {
    use Operation::*;
    match op {
        DeleteKey | ShareKey | UnshareKey | SetAttribute => Some(owned(hsm, key, me)),
        WrapKey | UnwrapKey | Encrypt | Decrypt | Sign | Verify | Hmac => {
            Some(usable(hsm, key, me))
        }
        _ => None,
    }
}

/// [`first_key_check`] of `a`'s operation on `key`, as the operations run it.
fn key_check<C: Capacity>(
    a: &Action,
    hsm: &Hsm<C>,
    key: KeyId,
    me: NameId,
) -> Result<Key, ErrorCode> {
    first_key_check(a.op.operation(), hsm, key, me).unwrap_or(Err(NoSuchKey))
}

/// CreateUser's checks on its arguments alone, in its order (InvalidName, InvalidRole,
/// InvalidPassword): the user's id. It reads the configuration and the arguments, not the
/// state; the checker's enumerator relies on this to step one of the variants it refutes
/// with the same error.
pub(crate) fn new_user_arguments(
    cfg: &Config,
    name: Option<NameId>,
    role: Role,
    pw: PasswordId,
) -> Result<NameId, ErrorCode> {
    let Some(name) = name else {
        return Err(InvalidName);
    };
    if !matches!(role, Role::CryptoOfficer | Role::CryptoUser) {
        return Err(InvalidRole);
    }
    if !cfg.password_is_valid(pw) {
        return Err(InvalidPassword);
    }
    Ok(name)
}

/// Every check of CreateUser after [`caller`], in its order: on the arguments
/// ([`new_user_arguments`]), then UserExists and UserLimit on the HSM. It reads only the
/// configuration, the arguments and the HSM; the checker's enumerator relies on this to step
/// one of the variants that answer the same error.
pub(crate) fn new_user_check<C: Capacity>(
    cfg: &Config,
    hsm: &Hsm<C>,
    name: Option<NameId>,
    role: Role,
    pw: PasswordId,
) -> Result<NameId, ErrorCode> {
    let name = new_user_arguments(cfg, name, role, pw)?;
    if hsm.user(name).is_some() {
        return Err(UserExists);
    }
    if hsm.users().count() >= cfg.policy.max_users as usize {
        return Err(UserLimit);
    }
    Ok(name)
}

/// Whether `outcome` is a Login's BadCredentials: the one error that changes the state (the
/// failure counter of an existing name grows).
pub(crate) fn is_login_failure(action: &Action, outcome: &Step) -> bool {
    matches!(action.op, Op::Login { .. }) && *outcome == Err(BadCredentials)
}

/// What a step leaves once [`Config::apply`] answered `outcome` and left `next` (from `state`
/// with its events cleared): an error restores `state`, a failed Login keeps its counter, a
/// success keeps its effect.
pub(crate) fn settle<C: Capacity>(
    state: &StateOf<C>,
    action: &Action,
    outcome: &Step,
    next: &mut StateOf<C>,
) {
    if outcome.is_err() && !is_login_failure(action, outcome) {
        // SPEC §3: nothing changes on an error. The capacity flag is the model's own
        // bookkeeping, not the spec's state: it survives, so callers can tell an answer
        // beyond the model's capacity from a real KeyLimit.
        let capacity = next.flags & flags::CAPACITY_EXCEEDED;
        *next = *state;
        next.flags |= capacity;
    }
}

impl Config {
    /// Runs `action` on `state`: the outcome, and the next state. On an error the next state
    /// equals `state`, but for a Login that answers BadCredentials for an existing name (its
    /// failure counter grows).
    pub fn step<C: Capacity>(&self, state: &StateOf<C>, action: &Action) -> (Outcome, StateOf<C>) {
        let mut next = *state;
        if action.hsm.index() >= self.hsms as usize
            || action.client.index() >= self.clients as usize
        {
            // No such session: the runner and the checker never ask; the answer is the one an
            // unknown session would get.
            return (Err(NotLoggedIn), next);
        }
        next.events = 0;
        let outcome = self.apply(&mut next, action);
        settle(state, action, &outcome, &mut next);
        (outcome, next)
    }

    /// Runs `a` on `s`. Every name argument enters through [`Config::user_named`] (lower-cased,
    /// then validated) here, so the operations see only the users' ids.
    pub(crate) fn apply<C: Capacity>(&self, s: &mut StateOf<C>, a: &Action) -> Step {
        if let Some(outcome) = crate::planted::instead(self, s, a) {
            // Tests only: a planted fault answers in place of the spec (a no-op otherwise).
            return outcome;
        }
        let user = |name| self.user_named(name);
        match a.op {
            Op::Login { name, password } => self.login(s, a, user(name), password),
            Op::Logout => logout(s, a),
            Op::GetClusterInfo => Ok(self.cluster_info(s)),
            Op::ListUsers => Ok(self.list_users(s, a.hsm)),
            Op::Zeroize => self.zeroize(s, a.hsm),
            Op::ChangeOwnPassword { password } => self.change_own_password(s, a, password),
            Op::ChangePassword { name, password } => {
                self.change_password(s, a, user(name), password)
            }
            Op::CreateUser {
                name,
                role,
                password,
            } => self.create_user(s, a, user(name), role, password),
            Op::DeleteUser { name } => self.delete_user(s, a, user(name)),
            Op::GetSyncStatus => get_sync_status(s, a),
            Op::ExtractMasked { key } => extract_masked(s, a, key),
            Op::InsertMasked { object } => self.insert_masked(s, a, object),
            Op::Clone { from } => self.clone_hsm(s, a, from),
            Op::GenerateKey { kind, extractable } => self.generate_key(s, a, kind, extractable),
            Op::DeleteKey { key } => delete_key(s, a, key),
            Op::ShareKey { key, name } => self.share_key(s, a, key, user(name)),
            Op::UnshareKey { key, name } => unshare_key(s, a, key, user(name)),
            Op::SetAttribute { key, label } => set_attribute(s, a, key, label),
            Op::WrapKey { key, wrapping } => wrap_key(s, a, key, wrapping),
            Op::UnwrapKey { wrapped, wrapping } => self.unwrap_key(s, a, wrapped, wrapping),
            Op::Encrypt { key, data } => self.encrypt(s, a, key, data),
            Op::Decrypt { key, ciphertext } => decrypt(s, a, key, ciphertext),
            Op::Sign { key, data } => sign(s, a, key, data),
            Op::Verify {
                key,
                data,
                signature,
            } => verify(s, a, key, data, signature),
            Op::Hmac { key, data } => hmac(s, a, key, data),
            Op::Digest { data } => {
                caller(s, a)?;
                Ok(Observation::Digest(data))
            }
        }
    }

    // ---- sessions -------------------------------------------------------------------------

    fn login<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        name: Option<NameId>,
        pw: PasswordId,
    ) -> Step {
        if s.session(a.client, a.hsm).is_some() {
            return Err(AlreadyLoggedIn);
        }
        let threshold = self.policy.lockout_threshold;
        let Some((name, user)) = s.hsm(a.hsm).and_then(|h| existing(h, name)) else {
            return Err(BadCredentials);
        };
        if user.failures >= threshold {
            return Err(LockedOut);
        }
        let slot = hsm_mut(s, a.hsm).users[name.index()].as_mut();
        let Some(u) = slot else {
            return Err(BadCredentials);
        };
        if user.password != pw {
            u.failures = u.failures.saturating_add(1);
            return Err(BadCredentials);
        }
        u.failures = 0;
        s.sessions[a.client.index()][a.hsm.index()] = Some(name);
        Ok(Observation::LoggedIn(user.role))
    }

    // ---- cluster --------------------------------------------------------------------------

    fn cluster_info<C: Capacity>(&self, s: &StateOf<C>) -> Observation {
        Observation::ClusterInfo {
            activated: s.activated,
            blank: s.hsms.as_ref()[..self.hsms as usize]
                .iter()
                .map(|h| h.blank)
                .collect(),
        }
    }

    fn list_users<C: Capacity>(&self, s: &StateOf<C>, h: HsmId) -> Observation {
        let threshold = self.policy.lockout_threshold;
        let mut users: Vec<_> = s.hsms[h.index()]
            .users()
            .map(|(name, u)| UserEntry {
                name,
                role: u.role,
                locked: u.failures >= threshold,
            })
            .collect();
        // SPEC §3: sorted by name, the name as stored (lower-cased).
        users.sort_by_cached_key(|u| self.stored_name(u.name));
        Observation::Users(users)
    }

    // ---- passwords ------------------------------------------------------------------------

    fn change_own_password<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        password: PasswordId,
    ) -> Step {
        let (me, role) = caller(s, a)?;
        if !self.password_is_valid(password) {
            return Err(InvalidPassword);
        }
        let user = hsm_mut(s, a.hsm).users[me.index()]
            .as_mut()
            .ok_or(NotLoggedIn)?;
        user.password = password;
        if role == Role::PreCryptoOfficer {
            // D1: the PRECO becomes a CO with the same name; the cluster is active for good.
            user.role = Role::CryptoOfficer;
            s.activated = true;
        }
        Ok(Observation::Done)
    }

    fn change_password<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        name: Option<NameId>,
        pw: PasswordId,
    ) -> Step {
        let (me, _) = caller(s, a)?;
        if !self.password_is_valid(pw) {
            return Err(InvalidPassword);
        }
        let (name, target) = existing(&s.hsms[a.hsm.index()], name).ok_or(NoSuchUser)?;
        if matches!(target.role, Role::ApplianceUser | Role::PreCryptoOfficer) {
            return Err(ProtectedUser);
        }
        if name != me && s.logged_in(a.hsm, name) {
            return Err(TargetLoggedIn);
        }
        let user = hsm_mut(s, a.hsm).users[name.index()]
            .as_mut()
            .ok_or(NoSuchUser)?;
        user.password = pw;
        user.failures = 0;
        Ok(Observation::Done)
    }

    // ---- users ----------------------------------------------------------------------------

    fn create_user<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        name: Option<NameId>,
        role: Role,
        pw: PasswordId,
    ) -> Step {
        caller(s, a)?;
        let name = new_user_check(self, &s.hsms[a.hsm.index()], name, role, pw)?;
        hsm_mut(s, a.hsm).users[name.index()] = Some(User {
            role,
            password: pw,
            failures: 0,
        });
        Ok(Observation::Done)
    }

    fn delete_user<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        name: Option<NameId>,
    ) -> Step {
        caller(s, a)?;
        let hsm = &s.hsms[a.hsm.index()];
        let (name, target) = existing(hsm, name).ok_or(NoSuchUser)?;
        if matches!(target.role, Role::ApplianceUser | Role::PreCryptoOfficer) {
            return Err(ProtectedUser);
        }
        // The caller included (it is logged in): a CO never deletes itself, so an HSM keeps
        // a CO (SPEC §7).
        if s.logged_in(a.hsm, name) {
            return Err(TargetLoggedIn);
        }
        if hsm.keys.iter().flatten().any(|k| k.owner == name) {
            return Err(OwnsKeys);
        }
        let counter = s.next_key_id;
        let hsm = hsm_mut(s, a.hsm);
        hsm.users[name.index()] = None;
        for k in hsm.keys.iter_mut().flatten() {
            k.shares.remove(name);
        }
        hsm.ghost.name_deleted_at[name.index()] = counter;
        Ok(Observation::Done)
    }

    // ---- lifecycle ------------------------------------------------------------------------

    fn clone_hsm<C: Capacity>(&self, s: &mut StateOf<C>, a: &Action, from: HsmId) -> Step {
        caller(s, a)?;
        if !s.activated {
            return Err(NotActivated);
        }
        if !s.hsms[a.hsm.index()].blank {
            return Err(NotBlank);
        }
        if from.index() >= self.hsms as usize || from == a.hsm || s.hsms[from.index()].blank {
            return Err(SourceBlank);
        }
        // D2: every user but the AU (passwords and locks as they are) and every key.
        let source = s.hsms[from.index()];
        let target = hsm_mut(s, a.hsm);
        for (i, u) in source.users.iter().enumerate() {
            if i != APP_USER.index() {
                target.users[i] = *u;
            }
        }
        target.keys = source.keys;
        target.blank = false;
        Ok(Observation::Done)
    }

    // ---- masking --------------------------------------------------------------------------

    fn insert_masked<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        object: MaskedObject,
    ) -> Step {
        caller(s, a)?;
        let record = match object {
            MaskedObject::Sealed(r) if s.masked.contains(&object) => r,
            _ => return Err(BadMaskedObject),
        };
        let hsm = &s.hsms[a.hsm.index()];
        let slot = key_slot::<C>(record.id).ok_or(BadMaskedObject)?;
        if hsm.keys[slot].is_some() {
            return Err(KeyExists);
        }
        let k = record.key;
        if !hsm.is_crypto_user(k.owner) || k.shares.iter().any(|n| !hsm.is_crypto_user(n)) {
            return Err(NoSuchUser);
        }
        if hsm.keys.iter().flatten().count() >= self.policy.max_keys as usize {
            return Err(KeyLimit);
        }
        let ghost = s.hsms[a.hsm.index()].ghost;
        if ghost.deleted_keys[slot] {
            s.events |= events::KEY_REVIVED;
        }
        if record.id.0 < ghost.name_deleted_at[k.owner.index()] {
            s.events |= events::KEY_TO_NAMESAKE;
        }
        hsm_mut(s, a.hsm).keys[slot] = Some(k);
        Ok(Observation::Key(record.id))
    }

    // ---- keys -----------------------------------------------------------------------------

    fn new_key_id<C: Capacity>(&self, s: &mut StateOf<C>) -> Result<KeyId, ErrorCode> {
        let id = KeyId(s.next_key_id);
        if key_slot::<C>(id).is_none() {
            // Beyond the model's capacity: the checker's bounds and the runner never get here.
            s.flags |= flags::CAPACITY_EXCEEDED;
            return Err(KeyLimit);
        }
        s.next_key_id += 1;
        Ok(id)
    }

    fn generate_key<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        kind: KeyKind,
        extractable: bool,
    ) -> Step {
        let (me, _) = caller(s, a)?;
        if s.hsms[a.hsm.index()].keys.iter().flatten().count() >= self.policy.max_keys as usize {
            return Err(KeyLimit);
        }
        let id = self.new_key_id(s)?;
        hsm_mut(s, a.hsm).keys[id.index() - 1] = Some(Key {
            kind,
            material: Material(id.0),
            owner: me,
            shares: NameSet::default(),
            extractable,
            label: LabelId(0),
        });
        Ok(Observation::Key(id))
    }

    fn share_key<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        key: KeyId,
        name: Option<NameId>,
    ) -> Step {
        let (me, _) = caller(s, a)?;
        let hsm = &s.hsms[a.hsm.index()];
        let k = key_check(a, hsm, key, me)?;
        let (name, target) = existing(hsm, name).ok_or(NoSuchUser)?;
        if target.role != Role::CryptoUser || name == k.owner {
            return Err(InvalidTarget);
        }
        if k.shares.contains(name) {
            return Err(AlreadyShared);
        }
        if k.shares.len() >= self.policy.max_shares as usize {
            return Err(ShareLimit);
        }
        if let Some(k) = hsm_mut(s, a.hsm).keys[key.index() - 1].as_mut() {
            k.shares.insert(name);
        }
        Ok(Observation::Done)
    }

    fn unwrap_key<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        wrapped: WrappedKey,
        wrapping: KeyId,
    ) -> Step {
        let (me, _) = caller(s, a)?;
        let hsm = &s.hsms[a.hsm.index()];
        let w = key_check(a, hsm, wrapping, me)?;
        if w.kind != KeyKind::Aes256 {
            return Err(WrongKeyKind);
        }
        let (kind, material) = match wrapped {
            WrappedKey::Wrapped {
                kind,
                material,
                under,
            } if under == w.material && s.wrapped.contains(&wrapped) => (kind, material),
            _ => return Err(BadWrappedKey),
        };
        if hsm.keys.iter().flatten().count() >= self.policy.max_keys as usize {
            return Err(KeyLimit);
        }
        let id = self.new_key_id(s)?;
        // D10: a new key with the same kind and material, owned by the caller, extractable.
        hsm_mut(s, a.hsm).keys[id.index() - 1] = Some(Key {
            kind,
            material,
            owner: me,
            shares: NameSet::default(),
            extractable: true,
            label: LabelId(0),
        });
        Ok(Observation::Key(id))
    }

    // ---- crypto ---------------------------------------------------------------------------

    fn encrypt<C: Capacity>(
        &self,
        s: &mut StateOf<C>,
        a: &Action,
        key: KeyId,
        data: DataId,
    ) -> Step {
        let (me, _) = caller(s, a)?;
        let hsm = &s.hsms[a.hsm.index()];
        let k = key_check(a, hsm, key, me)?;
        if k.kind != KeyKind::Aes256 {
            return Err(WrongKeyKind);
        }
        note_shared_use(s, a, &k, me);
        let ct = Ciphertext::Made {
            material: k.material,
            data,
        };
        add_to_pool(s, |s| s.ciphertexts.insert(ct));
        Ok(Observation::Ciphertext(ct))
    }
}

/// Records the ghost fact that a CU used a key shared with it on an HSM other than HSM 0.
pub(crate) fn note_shared_use<C: Capacity>(s: &mut StateOf<C>, a: &Action, k: &Key, me: NameId) {
    if k.owner != me && a.hsm.index() != 0 {
        s.events |= events::SHARED_USE_ON_CLONE;
    }
}

pub(crate) fn add_to_pool<C: Capacity>(
    s: &mut StateOf<C>,
    insert: impl FnOnce(&mut StateOf<C>) -> bool,
) {
    if !insert(s) {
        s.flags |= flags::CAPACITY_EXCEEDED;
    }
}

fn logout<C: Capacity>(s: &mut StateOf<C>, a: &Action) -> Step {
    if s.session(a.client, a.hsm).is_none() {
        return Err(NotLoggedIn);
    }
    s.sessions[a.client.index()][a.hsm.index()] = None;
    Ok(Observation::Done)
}

impl Config {
    /// D3: anyone may zeroize the HSM its session is bound to.
    fn zeroize<C: Capacity>(&self, s: &mut StateOf<C>, h: HsmId) -> Step {
        let mut fresh = Hsm::<C>::blank();
        let hsm = hsm_mut(s, h);
        // The AU stays, with its password; its counter and lock are cleared.
        fresh.users[APP_USER.index()] =
            hsm.users[APP_USER.index()].map(|u| User { failures: 0, ..u });
        *hsm = fresh;
        for row in s.sessions.iter_mut() {
            row[h.index()] = None;
        }
        Ok(Observation::Done)
    }
}

fn get_sync_status<C: Capacity>(s: &StateOf<C>, a: &Action) -> Step {
    caller(s, a)?;
    Ok(Observation::SyncStatus(
        s.hsms[a.hsm.index()].records().collect(),
    ))
}

/// D6: CO and AU may extract any key; a CU only keys it owns.
fn extract_masked<C: Capacity>(s: &mut StateOf<C>, a: &Action, key: KeyId) -> Step {
    let (me, role) = caller(s, a)?;
    let hsm = &s.hsms[a.hsm.index()];
    let k = if role == Role::CryptoUser {
        owned(hsm, key, me)?
    } else {
        *hsm.key(key).ok_or(NoSuchKey)?
    };
    let object = MaskedObject::Sealed(KeyRecord { id: key, key: k });
    add_to_pool(s, |s| s.masked.insert(object));
    Ok(Observation::Masked(object))
}

fn delete_key<C: Capacity>(s: &mut StateOf<C>, a: &Action, key: KeyId) -> Step {
    let (me, _) = caller(s, a)?;
    key_check(a, &s.hsms[a.hsm.index()], key, me)?;
    let hsm = hsm_mut(s, a.hsm);
    hsm.keys[key.index() - 1] = None;
    hsm.ghost.deleted_keys[key.index() - 1] = true;
    Ok(Observation::Done)
}

fn unshare_key<C: Capacity>(
    s: &mut StateOf<C>,
    a: &Action,
    key: KeyId,
    name: Option<NameId>,
) -> Step {
    let (me, _) = caller(s, a)?;
    let hsm = &s.hsms[a.hsm.index()];
    let k = key_check(a, hsm, key, me)?;
    let (name, target) = existing(hsm, name).ok_or(NoSuchUser)?;
    if target.role != Role::CryptoUser || name == k.owner {
        return Err(InvalidTarget);
    }
    if !k.shares.contains(name) {
        return Err(NotShared);
    }
    if let Some(k) = hsm_mut(s, a.hsm).keys[key.index() - 1].as_mut() {
        k.shares.remove(name);
    }
    Ok(Observation::Done)
}

fn set_attribute<C: Capacity>(s: &mut StateOf<C>, a: &Action, key: KeyId, label: LabelId) -> Step {
    let (me, _) = caller(s, a)?;
    key_check(a, &s.hsms[a.hsm.index()], key, me)?;
    if let Some(k) = hsm_mut(s, a.hsm).keys[key.index() - 1].as_mut() {
        k.label = label;
    }
    Ok(Observation::Done)
}

fn wrap_key<C: Capacity>(s: &mut StateOf<C>, a: &Action, key: KeyId, wrapping: KeyId) -> Step {
    let (me, _) = caller(s, a)?;
    let hsm = &s.hsms[a.hsm.index()];
    let k = key_check(a, hsm, key, me)?;
    let w = usable(hsm, wrapping, me)?;
    if k.owner != me {
        return Err(NotOwner);
    }
    if !k.extractable {
        return Err(NotExtractable);
    }
    if w.kind != KeyKind::Aes256 {
        return Err(WrongKeyKind);
    }
    note_shared_use(s, a, &w, me);
    let wrapped = WrappedKey::Wrapped {
        kind: k.kind,
        material: k.material,
        under: w.material,
    };
    add_to_pool(s, |s| s.wrapped.insert(wrapped));
    Ok(Observation::Wrapped(wrapped))
}

fn decrypt<C: Capacity>(s: &mut StateOf<C>, a: &Action, key: KeyId, ct: Ciphertext) -> Step {
    let (me, _) = caller(s, a)?;
    let k = key_check(a, &s.hsms[a.hsm.index()], key, me)?;
    if k.kind != KeyKind::Aes256 {
        return Err(WrongKeyKind);
    }
    match ct {
        Ciphertext::Made { material, data }
            if material == k.material && s.ciphertexts.contains(&ct) =>
        {
            note_shared_use(s, a, &k, me);
            Ok(Observation::Plaintext(data))
        }
        _ => Err(BadCiphertext),
    }
}

fn sign<C: Capacity>(s: &mut StateOf<C>, a: &Action, key: KeyId, data: DataId) -> Step {
    let (me, _) = caller(s, a)?;
    let k = key_check(a, &s.hsms[a.hsm.index()], key, me)?;
    if k.kind != KeyKind::Signing {
        return Err(WrongKeyKind);
    }
    note_shared_use(s, a, &k, me);
    let sig = Signature::Made {
        material: k.material,
        data,
    };
    add_to_pool(s, |s| s.signatures.insert(sig));
    Ok(Observation::Signature(sig))
}

fn verify<C: Capacity>(
    s: &mut StateOf<C>,
    a: &Action,
    key: KeyId,
    data: DataId,
    sig: Signature,
) -> Step {
    let (me, _) = caller(s, a)?;
    let k = key_check(a, &s.hsms[a.hsm.index()], key, me)?;
    if k.kind != KeyKind::Signing {
        return Err(WrongKeyKind);
    }
    note_shared_use(s, a, &k, me);
    let valid = sig
        == Signature::Made {
            material: k.material,
            data,
        };
    Ok(Observation::Verified(valid))
}

fn hmac<C: Capacity>(s: &mut StateOf<C>, a: &Action, key: KeyId, data: DataId) -> Step {
    let (me, _) = caller(s, a)?;
    let k = key_check(a, &s.hsms[a.hsm.index()], key, me)?;
    if k.kind != KeyKind::HmacSha256 {
        return Err(WrongKeyKind);
    }
    note_shared_use(s, a, &k, me);
    Ok(Observation::Mac {
        material: k.material,
        data,
    })
}
