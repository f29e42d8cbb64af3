//! The cluster, its HSMs and sessions.
//!
//! # Locking design
//!
//! * Each HSM's whole state (users, keys, the login state of the sessions bound to it, its
//!   audit log) sits behind **one `Mutex` per HSM**. Every operation of a session locks only
//!   its own HSM, so sessions on different HSMs never wait for each other.
//! * Cluster-wide state is **lock-free**: the activated flag is an `AtomicBool` (set once, while
//!   HSM 0's lock is held, so a snapshot of HSM 0 sees it together with the PRECO's role
//!   change) and the key-id and session-id counters are `AtomicU64`s, advanced only at the
//!   commit point of an operation that can no longer fail.
//! * Only **Clone** holds two HSM locks, and it takes them **in index order** (lower index
//!   first). No other code path holds more than one, and none takes a lock while holding an
//!   atomic "lock", so there is no lock-order cycle and no deadlock.
//! * GetClusterInfo reads every HSM's blank flag by locking them **one at a time** (never while
//!   holding another), then locks its own HSM to write the audit record.
//! * A poisoned mutex (a panic while it was held, which no input can cause) is recovered with
//!   `into_inner`: every mutation checks first and commits last, so the state stays
//!   consistent.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use crate::crypto::{self, PasswordHash, Secret};
use crate::error::HsmError;
#[cfg(feature = "faults")]
use crate::fault::Fault;
use crate::record::{self, KeyRecord};
use crate::types::*;

/// `true` when the cluster runs with that fault (always `false` without the `faults` feature).
///
/// Two more forms keep code that exists only for a fault inside the macro, where it is compiled
/// only with the feature (and where mutation testing, which reads the implementation's own
/// expressions, does not count it as the implementation's): `fault!(inner, F if cond)` is
/// `fault!(inner, F) && cond`, and `fault!(inner, F ? faulty ; correct)` is `faulty` with the
/// fault and `correct` without.
#[cfg(feature = "faults")]
macro_rules! fault {
    ($inner:expr, $f:ident if $cond:expr) => {
        ($inner.fault == Some(Fault::$f) && $cond)
    };
    ($inner:expr, $f:ident ? $faulty:expr ; $correct:expr) => {
        if $inner.fault == Some(Fault::$f) {
            $faulty
        } else {
            $correct
        }
    };
    ($inner:expr, $f:ident) => {
        $inner.fault == Some(Fault::$f)
    };
}
#[cfg(not(feature = "faults"))]
macro_rules! fault {
    ($inner:expr, $f:ident if $cond:expr) => {{
        let _ = &$inner;
        false
    }};
    ($inner:expr, $f:ident ? $faulty:expr ; $correct:expr) => {{
        let _ = &$inner;
        $correct
    }};
    ($inner:expr, $f:ident) => {{
        let _ = &$inner;
        false
    }};
}

/// Name of the pre-crypto officer.
pub const PRECO_NAME: &str = "admin";
/// Initial password of the pre-crypto officer.
pub const PRECO_PASSWORD: &str = "password";
/// Name of the appliance user.
pub const AU_NAME: &str = "app_user";
/// Audit records kept per HSM; older ones are dropped first.
pub const AUDIT_CAPACITY: usize = 65_536;
/// Longest Login name copied into an audit record (names are not secrets, but a caller could
/// type anything there).
const AUDIT_NAME_MAX: usize = 64;

#[derive(Clone, Debug)]
struct User {
    role: Role,
    password: PasswordHash,
    failed: u32,
    locked: bool,
}

#[derive(Debug)]
struct Hsm {
    index: usize,
    users: BTreeMap<String, User>,
    keys: BTreeMap<u64, KeyRecord>,
    /// Open sessions bound to this HSM: session id → logged-in user name.
    sessions: BTreeMap<u64, Option<String>>,
    audit: VecDeque<AuditRecord>,
    audit_seq: u64,
}

impl Hsm {
    fn blank(&self) -> bool {
        self.keys.is_empty() && self.users.values().all(|u| u.role == Role::ApplianceUser)
    }

    fn logged_in(&self, name: &str) -> bool {
        self.sessions.values().any(|s| s.as_deref() == Some(name))
    }

    fn is_cu(&self, name: &str) -> bool {
        self.users
            .get(name)
            .is_some_and(|u| u.role == Role::CryptoUser)
    }

    fn record(
        &mut self,
        session: u64,
        user: Option<String>,
        operation: Operation,
        outcome: Result<(), HsmError>,
    ) {
        self.audit_seq += 1;
        if self.audit.len() >= AUDIT_CAPACITY {
            self.audit.pop_front();
        }
        let time_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        self.audit.push_back(AuditRecord {
            seq: self.audit_seq,
            time_unix_ms,
            session,
            user,
            operation,
            outcome,
        });
    }
}

struct Inner {
    id: ClusterId,
    masking_key: Secret,
    fingerprint_secret: Secret,
    policy: Policy,
    activated: AtomicBool,
    next_key_id: AtomicU64,
    next_session_id: AtomicU64,
    hsms: Vec<Mutex<Hsm>>,
    /// Hash checked for a Login with an unknown name, so that it costs the same.
    dummy: PasswordHash,
    #[cfg(feature = "faults")]
    fault: Option<Fault>,
}

/// An HSM's lock as an operation holds it. Only a race fault (feature `faults`,
/// [`Fault::RACES`]) ever lets go of it in the middle of an operation ([`Held::let_go`]).
struct Held<'a> {
    #[cfg(feature = "faults")]
    inner: &'a Inner,
    #[cfg(feature = "faults")]
    index: usize,
    // Invariant: `Some` except inside `let_go`.
    guard: Option<MutexGuard<'a, Hsm>>,
}

impl<'a> Held<'a> {
    fn new(inner: &'a Inner, index: usize) -> Result<Held<'a>, HsmError> {
        Ok(Held {
            #[cfg(feature = "faults")]
            inner,
            #[cfg(feature = "faults")]
            index,
            guard: Some(inner.lock(index)?),
        })
    }

    /// The race window of a race fault: the lock is let go, another operation on this HSM
    /// may run, and the lock is taken again.
    #[cfg(feature = "faults")]
    fn let_go(&mut self) {
        self.guard = None;
        std::thread::sleep(crate::fault::RACE_WINDOW);
        self.guard = self.inner.lock(self.index).ok();
    }

    /// [`Held::let_go`] for two locks held at once (Clone's): both are let go, and taken
    /// again in index order, so that the window cannot deadlock.
    #[cfg(feature = "faults")]
    fn let_go_both<'h>(a: &mut Held<'h>, b: &mut Held<'h>) {
        a.guard = None;
        b.guard = None;
        std::thread::sleep(crate::fault::RACE_WINDOW);
        let (first, second) = if a.index < b.index { (a, b) } else { (b, a) };
        first.guard = first.inner.lock(first.index).ok();
        second.guard = second.inner.lock(second.index).ok();
    }
}

impl std::ops::Deref for Held<'_> {
    type Target = Hsm;
    fn deref(&self) -> &Hsm {
        self.guard
            .as_ref()
            .expect("an operation holds its HSM's lock")
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Hsm {
        self.guard
            .as_mut()
            .expect("an operation holds its HSM's lock")
    }
}

impl Inner {
    fn lock(&self, index: usize) -> Result<MutexGuard<'_, Hsm>, HsmError> {
        let m = self.hsms.get(index).ok_or(HsmError::NoSuchHsm)?;
        Ok(m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The cluster id bound into masked objects.
    fn mask_id(&self) -> ClusterId {
        if fault!(self, ForeignMaskedAccepted) {
            return ClusterId([0; 16]);
        }
        self.id
    }

    fn new_key_id(&self) -> u64 {
        // Read, the race window, write back: two HSMs may hand out the same id.
        fault!(self, KeyIdHandedOutTwice ? {
            let seen = self.next_key_id.load(Ordering::SeqCst);
            std::thread::sleep(crate::fault::RACE_WINDOW);
            self.next_key_id.store(seen + 1, Ordering::SeqCst);
            return seen;
        } ; ());
        self.next_key_id.fetch_add(1, Ordering::SeqCst)
    }

    fn check_password(&self, password: &str) -> Result<(), HsmError> {
        let n = password.chars().count();
        if n < self.policy.password_min_chars || n > self.policy.password_max_chars {
            return Err(HsmError::InvalidPassword);
        }
        Ok(())
    }

    /// SPEC §3, §4: the name a name argument stands for, as users are stored, looked up and
    /// compared: lower-cased. Every name argument enters through here, once, before anything
    /// else looks at it; validation ([`Inner::check_name`], CreateUser only) comes after.
    fn user_name(&self, sent: &str) -> String {
        if fault!(self, NamesNotLowerCased) {
            return sent.to_owned();
        }
        sent.to_lowercase()
    }

    /// Whether a name, already lower-cased by [`Inner::user_name`], is valid: 1–31 characters
    /// (the policy's) of `a-z 0-9 _`.
    fn check_name(&self, name: &str) -> Result<(), HsmError> {
        let n = name.chars().count();
        if n == 0
            || n > self.policy.name_max_chars
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(HsmError::InvalidName);
        }
        Ok(())
    }

    /// NotLoggedIn → Forbidden, per SPEC §8 (and AuditLog: CO only).
    fn permission(&self, op: Operation, role: Option<Role>) -> Result<(), HsmError> {
        if fault!(self, UnauthenticatedSyncStatus if op == Operation::GetSyncStatus) {
            return Ok(());
        }
        if fault!(self, CuMayCreateUsers if op == Operation::CreateUser && role == Some(Role::CryptoUser))
        {
            return Ok(());
        }
        if fault!(self, CoMayUseKeys if matches!(op, Operation::Encrypt | Operation::Decrypt)
            && role == Some(Role::CryptoOfficer))
        {
            return Ok(());
        }
        permission(op, role)
    }
}

/// The permission table of SPEC §8 as this crate implements it (the PRECO column included;
/// Clone is the AU's alone; AuditLog, not in SPEC, the CO's alone): `Ok(())`, `NotLoggedIn`
/// for an unauthenticated session (`role == None`) asking for an operation that needs a login,
/// or `Forbidden`. Login and Logout are in no row and always pass.
pub fn permission(op: Operation, role: Option<Role>) -> Result<(), HsmError> {
    use Operation as O;
    use Role::*;
    let allowed: &[Role] = match op {
        O::Login | O::Logout | O::GetClusterInfo | O::ListUsers | O::Zeroize => return Ok(()),
        O::ChangeOwnPassword | O::GetSyncStatus => {
            &[PreCryptoOfficer, CryptoOfficer, CryptoUser, ApplianceUser]
        }
        O::ChangePassword | O::CreateUser | O::DeleteUser | O::AuditLog => &[CryptoOfficer],
        O::ExtractMasked | O::InsertMasked => &[CryptoOfficer, CryptoUser, ApplianceUser],
        O::Clone => &[ApplianceUser],
        O::GenerateKey
        | O::DeleteKey
        | O::ShareKey
        | O::UnshareKey
        | O::SetAttribute
        | O::WrapKey
        | O::UnwrapKey
        | O::Encrypt
        | O::Decrypt
        | O::Sign
        | O::Verify
        | O::Hmac
        | O::Digest => &[CryptoUser],
    };
    match role {
        None => Err(HsmError::NotLoggedIn),
        Some(r) if allowed.contains(&r) => Ok(()),
        Some(_) => Err(HsmError::Forbidden),
    }
}

/// A software HSM cluster. `Send + Sync`: share it (or its sessions' `Arc`s) across threads.
pub struct Cluster {
    inner: Arc<Inner>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("id", &self.inner.id)
            .field("hsm_count", &self.inner.hsms.len())
            .field("activated", &self.inner.activated.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A new, unactivated cluster of `hsm_count` HSMs: HSM 0 holds the PRECO (`admin` /
    /// `password`) and the AU (`app_user` / `app_user_password`); the others hold the AU only.
    /// The cluster id, masking key and fingerprint secret are drawn from the OS random source.
    ///
    /// Errors: `InvalidPolicy` (no HSM, or password-cost parameters the hash refuses),
    /// `InvalidPassword` (the AU password breaks the policy), `RandomFailure`.
    pub fn new(
        hsm_count: usize,
        app_user_password: &str,
        policy: Policy,
    ) -> Result<Cluster, HsmError> {
        Self::build(hsm_count, app_user_password, policy, None)
    }

    /// Like [`Cluster::new`], with one deliberate deviation from SPEC (feature `faults`).
    #[cfg(feature = "faults")]
    pub fn new_with_fault(
        hsm_count: usize,
        app_user_password: &str,
        policy: Policy,
        fault: Option<Fault>,
    ) -> Result<Cluster, HsmError> {
        Self::build(hsm_count, app_user_password, policy, fault)
    }

    fn build(
        hsm_count: usize,
        app_user_password: &str,
        policy: Policy,
        fault: Option<FaultArg>,
    ) -> Result<Cluster, HsmError> {
        #[cfg(not(feature = "faults"))]
        let _ = fault;
        if hsm_count == 0 {
            return Err(HsmError::InvalidPolicy);
        }
        crypto::check_cost(policy.password_cost)?;
        let n = app_user_password.chars().count();
        if n < policy.password_min_chars || n > policy.password_max_chars {
            return Err(HsmError::InvalidPassword);
        }
        let cost = policy.password_cost;
        #[allow(unused_mut)]
        let mut masking_key = Secret::random(32)?;
        // A macro, like every other fault condition (`fault!`): fault-zoo code exists only in
        // test builds, and mutation testing leaves macro arguments alone.
        #[cfg(feature = "faults")]
        if matches!(fault, Some(Fault::ForeignMaskedAccepted)) {
            masking_key = Secret::from_slice(&[0x42; 32]);
        }
        let mut hsms = Vec::with_capacity(hsm_count);
        for index in 0..hsm_count {
            let mut users = BTreeMap::new();
            users.insert(
                AU_NAME.to_owned(),
                User {
                    role: Role::ApplianceUser,
                    password: PasswordHash::new(app_user_password, cost)?,
                    failed: 0,
                    locked: false,
                },
            );
            if index == 0 {
                users.insert(
                    PRECO_NAME.to_owned(),
                    User {
                        role: Role::PreCryptoOfficer,
                        password: PasswordHash::new(PRECO_PASSWORD, cost)?,
                        failed: 0,
                        locked: false,
                    },
                );
            }
            hsms.push(Mutex::new(Hsm {
                index,
                users,
                keys: BTreeMap::new(),
                sessions: BTreeMap::new(),
                audit: VecDeque::new(),
                audit_seq: 0,
            }));
        }
        let dummy_password = Zeroizing::new(crypto::random_array::<16>()?);
        let dummy_password: Zeroizing<String> =
            Zeroizing::new(dummy_password.iter().map(|b| format!("{b:02x}")).collect());
        let inner = Inner {
            id: ClusterId(crypto::random_array::<16>()?),
            masking_key,
            fingerprint_secret: Secret::random(32)?,
            policy,
            activated: AtomicBool::new(false),
            next_key_id: AtomicU64::new(1),
            next_session_id: AtomicU64::new(1),
            hsms,
            dummy: PasswordHash::new(&dummy_password, cost)?,
            #[cfg(feature = "faults")]
            fault,
        };
        Ok(Cluster {
            inner: Arc::new(inner),
        })
    }

    /// Number of HSMs.
    pub fn hsm_count(&self) -> usize {
        self.inner.hsms.len()
    }

    /// The cluster's identity.
    pub fn cluster_id(&self) -> ClusterId {
        self.inner.id
    }

    /// The policy the cluster was made with.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// Opens an unauthenticated session bound to HSM `hsm` (`NoSuchHsm` for a bad index).
    pub fn open_session(&self, hsm: usize) -> Result<Session, HsmError> {
        let mut guard = self.inner.lock(hsm)?;
        let id = self.inner.next_session_id.fetch_add(1, Ordering::SeqCst);
        guard.sessions.insert(id, None);
        drop(guard);
        Ok(Session {
            inner: Arc::clone(&self.inner),
            hsm,
            id,
        })
    }

    /// A read-only snapshot of HSM `hsm` (no login needed, nothing changes, nothing is
    /// audited; no material and no password hash is shown). `NoSuchHsm` for a bad index.
    pub fn inspect(&self, hsm: usize) -> Result<HsmSnapshot, HsmError> {
        let g = self.inner.lock(hsm)?;
        Ok(HsmSnapshot {
            index: g.index,
            activated: self.inner.activated.load(Ordering::SeqCst),
            blank: g.blank(),
            users: g
                .users
                .iter()
                .map(|(name, u)| UserView {
                    name: name.clone(),
                    role: u.role,
                    failed_logins: u.failed,
                    locked: u.locked,
                })
                .collect(),
            keys: g
                .keys
                .iter()
                .map(|(&id, k)| KeyView {
                    id: KeyId(id),
                    kind: k.kind,
                    owner: k.owner.clone(),
                    shares: k.shares.iter().cloned().collect(),
                    extractable: k.extractable,
                    label: k.label.clone(),
                })
                .collect(),
            sessions: g
                .sessions
                .iter()
                .map(|(&session, user)| SessionView {
                    session,
                    user: user.clone(),
                })
                .collect(),
        })
    }

    /// The audit records of HSM `hsm` whose sequence number is above `after`, oldest first: like
    /// [`Cluster::inspect`], an auditor's view (no login needed, nothing changes, nothing is
    /// audited). `NoSuchHsm` for a bad index.
    pub fn audit_after(&self, hsm: usize, after: u64) -> Result<Vec<AuditRecord>, HsmError> {
        let g = self.inner.lock(hsm)?;
        let newer = g.audit.iter().rev().take_while(|r| r.seq > after).count();
        Ok(g.audit
            .iter()
            .skip(g.audit.len() - newer)
            .cloned()
            .collect())
    }

    /// `Debug` of every internal state (users with hashes, keys with material, sessions):
    /// unit tests check that no secret shows.
    #[cfg(test)]
    pub(crate) fn debug_internal_for_test(&self) -> String {
        let mut out = format!(
            "{:?} {:?} {:?} {:?}",
            self.inner.masking_key, self.inner.fingerprint_secret, self.inner.dummy, self.inner.id
        );
        for i in 0..self.hsm_count() {
            if let Ok(g) = self.inner.lock(i) {
                out.push_str(&format!("{:?}", *g));
            }
        }
        out
    }

    /// Installs a key with known material on one HSM, bypassing every check (unit tests only).
    #[cfg(test)]
    pub(crate) fn install_key_for_test(
        &self,
        hsm: usize,
        owner: &str,
        kind: KeyKind,
        material: &[u8],
        extractable: bool,
    ) -> KeyId {
        let id = self.inner.new_key_id();
        let mut g = self.inner.lock(hsm).expect("test hsm index");
        g.keys.insert(
            id,
            KeyRecord {
                kind,
                material: Secret::from_slice(material),
                owner: owner.to_owned(),
                shares: BTreeSet::new(),
                extractable,
                label: String::new(),
            },
        );
        KeyId(id)
    }
}

#[cfg(feature = "faults")]
type FaultArg = Fault;
#[cfg(not(feature = "faults"))]
type FaultArg = std::convert::Infallible;

/// A session: bound to one HSM, unauthenticated until Login. `Send + Sync`. Dropping it closes
/// it (it disappears from its HSM's session table).
pub struct Session {
    inner: Arc<Inner>,
    hsm: usize,
    id: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("hsm", &self.hsm)
            .finish()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(mut g) = self.inner.lock(self.hsm) {
            g.sessions.remove(&self.id);
        }
    }
}

/// Who is calling: the session's user and that user's *current* role.
struct Caller {
    name: Option<String>,
    role: Option<Role>,
}

impl Caller {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

fn resolve(hsm: &Hsm, session: u64) -> Caller {
    let name = hsm.sessions.get(&session).cloned().flatten();
    let role = name.as_ref().and_then(|n| hsm.users.get(n)).map(|u| u.role);
    Caller { name, role }
}

/// D7: a key the caller can use (owned or shared), else NoSuchKey.
fn usable<'a>(
    inner: &Inner,
    hsm: &'a Hsm,
    caller: &Caller,
    id: KeyId,
) -> Result<&'a KeyRecord, HsmError> {
    let k = hsm.keys.get(&id.0).ok_or(HsmError::NoSuchKey)?;
    let name = caller.name();
    if k.owner == name
        || k.shares.contains(name)
        || fault!(inner, CoMayUseKeys if caller.role == Some(Role::CryptoOfficer))
    {
        Ok(k)
    } else {
        Err(HsmError::NoSuchKey)
    }
}

/// D7: a key the caller owns: NoSuchKey, then NotOwner.
fn owned<'a>(
    inner: &Inner,
    hsm: &'a Hsm,
    caller: &Caller,
    id: KeyId,
) -> Result<&'a KeyRecord, HsmError> {
    let k = usable(inner, hsm, caller, id)?;
    if k.owner != caller.name() {
        return Err(HsmError::NotOwner);
    }
    Ok(k)
}

fn key_mut(hsm: &mut Hsm, id: KeyId) -> Result<&mut KeyRecord, HsmError> {
    hsm.keys.get_mut(&id.0).ok_or(HsmError::NoSuchKey)
}

impl Session {
    /// This session's id (unique in the cluster).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The index of the HSM this session is bound to.
    pub fn hsm(&self) -> usize {
        self.hsm
    }

    /// Runs one operation: lock this HSM, resolve the caller's current role, check
    /// NotLoggedIn → Forbidden, run `body` (its own preconditions, then its effect), audit.
    fn run<T>(
        &self,
        op: Operation,
        body: impl FnOnce(&Inner, &mut Held, &Caller) -> Result<T, HsmError>,
    ) -> Result<T, HsmError> {
        let inner = &*self.inner;
        let mut g = Held::new(inner, self.hsm)?;
        let caller = resolve(&g, self.id);
        let result = inner
            .permission(op, caller.role)
            .and_then(|()| body(inner, &mut g, &caller));
        let outcome = result.as_ref().map(|_| ()).map_err(|e| *e);
        g.record(self.id, caller.name, op, outcome);
        result
    }

    /// Login (any session). Errors, in order: AlreadyLoggedIn; BadCredentials (no such name);
    /// LockedOut; BadCredentials (wrong password, which adds one to the user's counter and
    /// locks at the threshold). The name is lower-cased; no syntax is checked. An unknown name
    /// costs the same password hash as a known one.
    pub fn login(&self, name: &str, password: &str) -> Result<Role, HsmError> {
        let inner = &*self.inner;
        let mut g = Held::new(inner, self.hsm)?;
        let name = inner.user_name(name);
        let result = (|| {
            if g.sessions.get(&self.id).is_some_and(Option::is_some) {
                return Err(HsmError::AlreadyLoggedIn);
            }
            let threshold = if fault!(inner, LockoutOneLate) {
                inner.policy.lockout_threshold.saturating_add(1)
            } else {
                inner.policy.lockout_threshold
            };
            let Some(user) = g.users.get_mut(&name) else {
                let _ = inner.dummy.verify(password);
                if fault!(inner, LoginRevealsUnknownName) {
                    return Err(HsmError::NoSuchUser);
                }
                return Err(HsmError::BadCredentials);
            };
            if user.locked {
                return Err(HsmError::LockedOut);
            }
            if !user.password.verify(password) {
                // Read, let go, write back: a concurrent failure's count is lost.
                fault!(inner, LostFailedLogin ? {
                    let seen = user.failed;
                    g.let_go();
                    if let Some(user) = g.users.get_mut(&name) {
                        user.failed = seen.saturating_add(1);
                        user.locked |= user.failed >= threshold;
                    }
                    return Err(HsmError::BadCredentials);
                } ; ());
                user.failed = user.failed.saturating_add(1);
                if user.failed >= threshold {
                    user.locked = true;
                }
                return Err(HsmError::BadCredentials);
            }
            if !fault!(inner, SuccessDoesNotResetCounter) {
                user.failed = 0;
            }
            let role = user.role;
            g.sessions.insert(self.id, Some(name.clone()));
            Ok(role)
        })();
        let outcome = result.map(|_| ());
        let audit_name: String = name.chars().take(AUDIT_NAME_MAX).collect();
        g.record(self.id, Some(audit_name), Operation::Login, outcome);
        result
    }

    /// Logout (any session). Errors: NotLoggedIn.
    pub fn logout(&self) -> Result<(), HsmError> {
        let mut g = self.inner.lock(self.hsm)?;
        let caller = g.sessions.get(&self.id).cloned().flatten();
        let result = match caller {
            None => Err(HsmError::NotLoggedIn),
            Some(_) => {
                g.sessions.insert(self.id, None);
                Ok(())
            }
        };
        g.record(self.id, caller, Operation::Logout, result);
        result
    }

    /// GetClusterInfo (everyone). Never fails for an open session. The answer is one moment's
    /// picture: every HSM's lock is held, taken in index order like [`Session::clone_from`]'s
    /// two, while the blank flags and the activation are read. (Read one HSM at a time, a
    /// clone onto HSM 0 and a zeroize of HSM 1 during the call could be answered as both
    /// blank, a cluster no moment had: `conformance/histories/cluster-info-reads-every-hsm-at-once.json`.)
    pub fn cluster_info(&self) -> Result<ClusterInfo, HsmError> {
        let inner = &*self.inner;
        let info = {
            let guards = (0..inner.hsms.len())
                .map(|index| inner.lock(index))
                .collect::<Result<Vec<_>, _>>()?;
            ClusterInfo {
                cluster_id: inner.id,
                activated: inner.activated.load(Ordering::SeqCst),
                hsms: guards
                    .iter()
                    .enumerate()
                    .map(|(index, g)| HsmInfo {
                        index,
                        blank: g.blank(),
                    })
                    .collect(),
            }
        };
        self.run(Operation::GetClusterInfo, |_, _, _| Ok(info))
    }

    /// ListUsers (everyone): (name, role, locked) of every user of this HSM, sorted by name.
    pub fn list_users(&self) -> Result<Vec<UserEntry>, HsmError> {
        self.run(Operation::ListUsers, |_, g, _| {
            Ok(g.users
                .iter()
                .map(|(n, u)| UserEntry {
                    name: n.clone(),
                    role: u.role,
                    locked: u.locked,
                })
                .collect())
        })
    }

    /// Zeroize (everyone, even unauthenticated): destroys every key and every user but the AU
    /// of this HSM (their buffers are wiped), clears every counter and lock (the AU's too),
    /// logs out every session bound to this HSM and clears the audit log but for the record of
    /// this zeroize. The HSM is blank afterwards. Never fails.
    pub fn zeroize(&self) -> Result<(), HsmError> {
        self.run(Operation::Zeroize, |inner, g, _| {
            if !fault!(inner, ZeroizeKeepsKeys) {
                g.keys.clear();
            }
            g.users.retain(|_, u| u.role == Role::ApplianceUser);
            for u in g.users.values_mut() {
                u.failed = 0;
                u.locked = false;
            }
            if !fault!(inner, ZeroizeKeepsSessions) {
                for s in g.sessions.values_mut() {
                    *s = None;
                }
            }
            g.audit.clear();
            if fault!(inner, KeyIdReusedAfterZeroize) {
                inner.next_key_id.store(1, Ordering::SeqCst);
            }
            Ok(())
        })
    }

    /// ChangeOwnPassword (PRECO, CO, CU, AU). Errors: NotLoggedIn; InvalidPassword. Counter
    /// and lock are untouched. The PRECO's change activates the cluster: it becomes a CO of
    /// the same name and the cluster is active for good (D1).
    pub fn change_own_password(&self, new: &str) -> Result<(), HsmError> {
        self.run(Operation::ChangeOwnPassword, |inner, g, caller| {
            inner.check_password(new)?;
            let hash = PasswordHash::new(new, inner.policy.password_cost)?;
            let user = g
                .users
                .get_mut(caller.name())
                .ok_or(HsmError::NotLoggedIn)?;
            user.password = hash;
            if fault!(inner, ChangeOwnPasswordUnlocks) {
                user.failed = 0;
                user.locked = false;
            }
            if user.role == Role::PreCryptoOfficer {
                if !fault!(inner, PrecoSurvivesActivation) {
                    user.role = Role::CryptoOfficer;
                }
                inner.activated.store(true, Ordering::SeqCst);
            }
            Ok(())
        })
    }

    /// ChangePassword (CO). Errors: NotLoggedIn; Forbidden; InvalidPassword; NoSuchUser;
    /// ProtectedUser (AU, PRECO); TargetLoggedIn (not when `name` is the caller's own). The
    /// password is replaced and the user's counter and lock are cleared.
    pub fn change_password(&self, name: &str, new: &str) -> Result<(), HsmError> {
        self.run(Operation::ChangePassword, |inner, g, caller| {
            inner.check_password(new)?;
            let target = inner.user_name(name);
            let user = g.users.get(&target).ok_or(HsmError::NoSuchUser)?;
            if matches!(user.role, Role::ApplianceUser | Role::PreCryptoOfficer) {
                return Err(HsmError::ProtectedUser);
            }
            if target != caller.name()
                && !fault!(inner, ChangePasswordOfLoggedInUser)
                && g.logged_in(&target)
            {
                return Err(HsmError::TargetLoggedIn);
            }
            let hash = PasswordHash::new(new, inner.policy.password_cost)?;
            let user = g.users.get_mut(&target).ok_or(HsmError::NoSuchUser)?;
            user.password = hash;
            user.failed = 0;
            user.locked = false;
            Ok(())
        })
    }

    /// CreateUser (CO). Errors: NotLoggedIn; Forbidden; InvalidName (after lower-casing: 1–31
    /// of `a-z 0-9 _`); InvalidRole (only CO, CU); InvalidPassword; UserExists; UserLimit
    /// (every user counts, the AU included).
    pub fn create_user(&self, name: &str, role: Role, password: &str) -> Result<(), HsmError> {
        self.run(Operation::CreateUser, |inner, g, _| {
            let name = inner.user_name(name);
            inner.check_name(&name)?;
            if !matches!(role, Role::CryptoOfficer | Role::CryptoUser) {
                return Err(HsmError::InvalidRole);
            }
            if fault!(inner, ChecksOutOfOrder if g.users.contains_key(&name)) {
                return Err(HsmError::UserExists);
            }
            inner.check_password(password)?;
            if g.users.contains_key(&name) {
                return Err(HsmError::UserExists);
            }
            let counted = if fault!(inner, UserLimitIgnoresAu) {
                g.users.len().saturating_sub(1)
            } else {
                g.users.len()
            };
            let full = counted >= inner.policy.max_users;
            if full && !fault!(inner, ErrorLeavesPartialEffect) {
                return Err(HsmError::UserLimit);
            }
            let password = PasswordHash::new(password, inner.policy.password_cost)?;
            g.users.insert(
                name,
                User {
                    role,
                    password,
                    failed: 0,
                    locked: false,
                },
            );
            if full {
                // Only with the fault ErrorLeavesPartialEffect: the user is added all the same.
                return Err(HsmError::UserLimit);
            }
            Ok(())
        })
    }

    /// DeleteUser (CO). Errors: NotLoggedIn; Forbidden; NoSuchUser; ProtectedUser (AU, PRECO);
    /// TargetLoggedIn (the caller included); OwnsKeys. The name is also removed from every
    /// share list on this HSM.
    pub fn delete_user(&self, name: &str) -> Result<(), HsmError> {
        self.run(Operation::DeleteUser, |inner, g, _| {
            let target = inner.user_name(name);
            let user = g.users.get(&target).ok_or(HsmError::NoSuchUser)?;
            if matches!(user.role, Role::ApplianceUser | Role::PreCryptoOfficer) {
                return Err(HsmError::ProtectedUser);
            }
            if !fault!(inner, DeletedUserStaysLoggedIn) && g.logged_in(&target) {
                return Err(HsmError::TargetLoggedIn);
            }
            if !fault!(inner, DeleteUserWithKeys) && g.keys.values().any(|k| k.owner == target) {
                return Err(HsmError::OwnsKeys);
            }
            fault!(inner, DeleteUserDuringLogin ? g.let_go() ; ());
            g.users.remove(&target);
            for k in g.keys.values_mut() {
                k.shares.remove(&target);
            }
            Ok(())
        })
    }

    /// GetSyncStatus (PRECO, CO, CU, AU): one SHA-256 digest per key on this HSM (SPEC §6;
    /// layout in the `record` module docs). The material enters only through an HMAC under a
    /// cluster secret, so a digest cannot confirm a guessed key.
    pub fn sync_status(&self) -> Result<BTreeSet<[u8; 32]>, HsmError> {
        self.run(Operation::GetSyncStatus, |inner, g, _| {
            Ok(g.keys
                .iter()
                .map(|(&id, k)| record::sync_digest(&inner.fingerprint_secret, id, k))
                .collect())
        })
    }

    /// ExtractMasked (CO, AU: any key; CU: keys it owns, D6). Errors: NotLoggedIn; Forbidden;
    /// NoSuchKey (also a key a CU cannot use); NotOwner (a CU's merely shared key).
    /// `extractable` plays no part.
    pub fn extract_masked(&self, key: KeyId) -> Result<Vec<u8>, HsmError> {
        self.run(Operation::ExtractMasked, |inner, g, caller| {
            let k = if caller.role == Some(Role::CryptoUser) {
                let k = usable(inner, g, caller, key)?;
                if k.owner != caller.name() && !fault!(inner, ExtractIgnoresOwnership) {
                    return Err(HsmError::NotOwner);
                }
                k
            } else {
                g.keys.get(&key.0).ok_or(HsmError::NoSuchKey)?
            };
            record::mask(&inner.masking_key, &inner.mask_id(), key.0, k)
        })
    }

    /// InsertMasked (CO, CU, AU; no ownership check). Errors: NotLoggedIn; Forbidden;
    /// BadMaskedObject; KeyExists; NoSuchUser (the owner or a shared name is not a CU here);
    /// KeyLimit. The key keeps its id, owner, shares and attributes.
    pub fn insert_masked(&self, object: &[u8]) -> Result<KeyId, HsmError> {
        self.run(Operation::InsertMasked, |inner, g, caller| {
            let (id, mut rec) = record::unmask(&inner.masking_key, &inner.mask_id(), object)?;
            if g.keys.contains_key(&id) {
                return Err(HsmError::KeyExists);
            }
            if !g.is_cu(&rec.owner) || !rec.shares.iter().all(|s| g.is_cu(s)) {
                return Err(HsmError::NoSuchUser);
            }
            if g.keys.len() >= inner.policy.max_keys {
                return Err(HsmError::KeyLimit);
            }
            if fault!(inner, InsertChangesOwner) {
                rec.owner = caller.name().to_owned();
            }
            g.keys.insert(id, rec);
            Ok(KeyId(id))
        })
    }

    /// Clone (AU only, D2): copies every user but the AU (password hashes, counters and locks
    /// as they are) and every key from HSM `source_hsm` onto this blank HSM. Errors:
    /// NotLoggedIn; Forbidden; NotActivated; NotBlank (this HSM); SourceBlank (also an index
    /// that is no HSM of the cluster, or this HSM). Takes the two HSM locks in index order.
    pub fn clone_from(&self, source_hsm: usize) -> Result<(), HsmError> {
        let inner = &*self.inner;
        let target = self.hsm;
        let distinct = source_hsm < inner.hsms.len() && source_hsm != target;
        let (mut tg, mut sg) = if !distinct {
            (Held::new(inner, target)?, None)
        } else if source_hsm < target {
            let s = Held::new(inner, source_hsm)?;
            (Held::new(inner, target)?, Some(s))
        } else {
            let t = Held::new(inner, target)?;
            let s = Held::new(inner, source_hsm)?;
            (t, Some(s))
        };
        let caller = resolve(&tg, self.id);
        let result = inner
            .permission(Operation::Clone, caller.role)
            .and_then(|()| {
                if !inner.activated.load(Ordering::SeqCst) && !fault!(inner, CloneWhileUnactivated)
                {
                    return Err(HsmError::NotActivated);
                }
                if !tg.blank() {
                    return Err(HsmError::NotBlank);
                }
                let sg = sg.as_mut().ok_or(HsmError::SourceBlank)?;
                if sg.blank() {
                    return Err(HsmError::SourceBlank);
                }
                for (name, user) in &sg.users {
                    if user.role != Role::ApplianceUser {
                        tg.users.insert(name.clone(), user.clone());
                    }
                }
                fault!(inner, CloneOfSourceUnderChange ? Held::let_go_both(&mut tg, sg) ; ());
                for (&id, k) in &sg.keys {
                    tg.keys.insert(id, k.clone());
                }
                if fault!(inner, CloneCopiesAu) {
                    if let (Some(src), Some(dst)) =
                        (sg.users.get(AU_NAME), tg.users.get_mut(AU_NAME))
                    {
                        dst.password = src.password.clone();
                    }
                }
                Ok(())
            });
        tg.record(self.id, caller.name, Operation::Clone, result);
        result
    }

    /// GenerateKey (CU). Errors: NotLoggedIn; Forbidden; KeyLimit. A new key from the OS
    /// random source, owned by the caller, no shares, empty label, id from the cluster-wide
    /// counter.
    pub fn generate_key(&self, kind: KeyKind, extractable: bool) -> Result<KeyId, HsmError> {
        self.run(Operation::GenerateKey, |inner, g, caller| {
            if g.keys.len() >= inner.policy.max_keys {
                return Err(HsmError::KeyLimit);
            }
            let material = crypto::generate_material(kind)?;
            let id = inner.new_key_id();
            g.keys.insert(
                id,
                KeyRecord {
                    kind,
                    material,
                    owner: caller.name().to_owned(),
                    shares: BTreeSet::new(),
                    extractable,
                    label: String::new(),
                },
            );
            Ok(KeyId(id))
        })
    }

    /// DeleteKey (CU). Errors: NotLoggedIn; Forbidden; NoSuchKey; NotOwner. The material is
    /// wiped.
    pub fn delete_key(&self, key: KeyId) -> Result<(), HsmError> {
        self.run(Operation::DeleteKey, |inner, g, caller| {
            if fault!(inner, SharedUserMayDeleteKey) {
                usable(inner, g, caller, key)?;
            } else {
                owned(inner, g, caller, key)?;
            }
            g.keys.remove(&key.0);
            Ok(())
        })
    }

    fn share_checks(
        inner: &Inner,
        g: &Hsm,
        caller: &Caller,
        key: KeyId,
        name: &str,
    ) -> Result<String, HsmError> {
        let k = owned(inner, g, caller, key)?;
        let target = inner.user_name(name);
        let user = g.users.get(&target).ok_or(HsmError::NoSuchUser)?;
        if user.role != Role::CryptoUser || target == k.owner {
            return Err(HsmError::InvalidTarget);
        }
        Ok(target)
    }

    /// ShareKey (CU). Errors: NotLoggedIn; Forbidden; NoSuchKey; NotOwner; NoSuchUser;
    /// InvalidTarget (not a CU, or the owner); AlreadyShared; ShareLimit.
    pub fn share_key(&self, key: KeyId, name: &str) -> Result<(), HsmError> {
        self.run(Operation::ShareKey, |inner, g, caller| {
            let target = Self::share_checks(inner, g, caller, key, name)?;
            fault!(inner, ShareKeyDuringDeleteUser ? g.let_go() ; ());
            let limit = fault!(inner, ShareLimitOneHigh ? inner.policy.max_shares + 1 ; inner.policy.max_shares);
            let k = key_mut(g, key)?;
            if k.shares.contains(&target) {
                return Err(HsmError::AlreadyShared);
            }
            if k.shares.len() >= limit {
                return Err(HsmError::ShareLimit);
            }
            k.shares.insert(target);
            Ok(())
        })
    }

    /// UnshareKey (CU). Errors: NotLoggedIn; Forbidden; NoSuchKey; NotOwner; NoSuchUser;
    /// InvalidTarget; NotShared.
    pub fn unshare_key(&self, key: KeyId, name: &str) -> Result<(), HsmError> {
        self.run(Operation::UnshareKey, |inner, g, caller| {
            let target = Self::share_checks(inner, g, caller, key, name)?;
            let k = key_mut(g, key)?;
            if !k.shares.remove(&target) {
                return Err(HsmError::NotShared);
            }
            Ok(())
        })
    }

    /// SetAttribute (CU): sets the label. Errors: NotLoggedIn; Forbidden; NoSuchKey; NotOwner.
    pub fn set_label(&self, key: KeyId, label: &str) -> Result<(), HsmError> {
        self.run(Operation::SetAttribute, |inner, g, caller| {
            owned(inner, g, caller, key)?;
            key_mut(g, key)?.label = label.to_owned();
            Ok(())
        })
    }

    /// WrapKey (CU): exports `key` under the AES key `wrapping_key` (layout in the `record`
    /// module docs; the kind is authenticated). Errors: NotLoggedIn; Forbidden; NoSuchKey
    /// (key, then wrapping key); NotOwner (key); NotExtractable; WrongKeyKind (wrapping key not
    /// AES).
    pub fn wrap_key(&self, key: KeyId, wrapping_key: KeyId) -> Result<Vec<u8>, HsmError> {
        self.run(Operation::WrapKey, |inner, g, caller| {
            let k = usable(inner, g, caller, key)?;
            let w = usable(inner, g, caller, wrapping_key)?;
            if k.owner != caller.name() {
                return Err(HsmError::NotOwner);
            }
            if !k.extractable && !fault!(inner, WrapIgnoresExtractable) {
                return Err(HsmError::NotExtractable);
            }
            if w.kind != KeyKind::Aes256 {
                return Err(HsmError::WrongKeyKind);
            }
            record::wrap(&w.material, k.kind, &k.material)
        })
    }

    /// UnwrapKey (CU): imports a wrapped key as a new key (new id, same kind and material,
    /// owned by the caller, extractable, no shares, empty label). Errors: NotLoggedIn;
    /// Forbidden; NoSuchKey (wrapping key); WrongKeyKind; BadWrappedKey; KeyLimit.
    pub fn unwrap_key(&self, wrapped: &[u8], wrapping_key: KeyId) -> Result<KeyId, HsmError> {
        self.run(Operation::UnwrapKey, |inner, g, caller| {
            let w = usable(inner, g, caller, wrapping_key)?;
            if w.kind != KeyKind::Aes256 {
                return Err(HsmError::WrongKeyKind);
            }
            let (kind, material) = record::unwrap(&w.material, wrapped)?;
            let shares: BTreeSet<_> = fault!(inner, UnwrapKeepsShares ?
                w.shares.iter().filter(|s| *s != caller.name()).cloned().collect() ;
                BTreeSet::new());
            if g.keys.len() >= inner.policy.max_keys {
                return Err(HsmError::KeyLimit);
            }
            let id = inner.new_key_id();
            g.keys.insert(
                id,
                KeyRecord {
                    kind,
                    material,
                    owner: caller.name().to_owned(),
                    shares,
                    extractable: true,
                    label: String::new(),
                },
            );
            Ok(KeyId(id))
        })
    }

    fn with_kind<T>(
        &self,
        op: Operation,
        key: KeyId,
        kind: KeyKind,
        f: impl FnOnce(&Secret) -> Result<T, HsmError>,
    ) -> Result<T, HsmError> {
        self.run(op, |inner, g, caller| {
            let k = usable(inner, g, caller, key)?;
            if k.kind != kind {
                return Err(HsmError::WrongKeyKind);
            }
            f(&k.material)
        })
    }

    /// Encrypt (CU) with AES-256-GCM under a fresh random 96-bit nonce. Ciphertext layout:
    /// `nonce(12) | ciphertext | tag(16)`, no associated data (plain AES-GCM, so a holder of
    /// the key material outside the HSM can decrypt it). Errors: NotLoggedIn; Forbidden;
    /// NoSuchKey; WrongKeyKind.
    pub fn encrypt(&self, key: KeyId, plaintext: &[u8]) -> Result<Vec<u8>, HsmError> {
        self.with_kind(Operation::Encrypt, key, KeyKind::Aes256, |m| {
            crypto::seal(m.bytes(), &[], &[], plaintext)
        })
    }

    /// Decrypt (CU). Errors: NotLoggedIn; Forbidden; NoSuchKey; WrongKeyKind; BadCiphertext
    /// (other material, tampered, truncated).
    pub fn decrypt(&self, key: KeyId, ciphertext: &[u8]) -> Result<Vec<u8>, HsmError> {
        self.with_kind(Operation::Decrypt, key, KeyKind::Aes256, |m| {
            let mut plain =
                crypto::open(m.bytes(), 0, &[], ciphertext).ok_or(HsmError::BadCiphertext)?;
            Ok(std::mem::take(&mut *plain))
        })
    }

    /// Sign (CU) with Ed25519 (64-byte signature). Errors: NotLoggedIn; Forbidden; NoSuchKey;
    /// WrongKeyKind.
    pub fn sign(&self, key: KeyId, data: &[u8]) -> Result<Vec<u8>, HsmError> {
        self.with_kind(Operation::Sign, key, KeyKind::Signing, |m| {
            crypto::sign(m, data).ok_or(HsmError::WrongKeyKind)
        })
    }

    /// Verify (CU): `Ok(false)` for a wrong or malformed signature. Errors: NotLoggedIn;
    /// Forbidden; NoSuchKey; WrongKeyKind.
    pub fn verify(&self, key: KeyId, data: &[u8], signature: &[u8]) -> Result<bool, HsmError> {
        self.with_kind(Operation::Verify, key, KeyKind::Signing, |m| {
            Ok(crypto::verify(m, data, signature))
        })
    }

    /// Hmac (CU): HMAC-SHA-256. Errors: NotLoggedIn; Forbidden; NoSuchKey; WrongKeyKind.
    pub fn hmac(&self, key: KeyId, data: &[u8]) -> Result<[u8; 32], HsmError> {
        self.with_kind(Operation::Hmac, key, KeyKind::HmacSha256, |m| {
            Ok(crypto::hmac_sha256(m.bytes(), &[data]))
        })
    }

    /// Digest (CU): SHA-256. Errors: NotLoggedIn; Forbidden.
    pub fn digest(&self, data: &[u8]) -> Result<[u8; 32], HsmError> {
        self.run(Operation::Digest, |_, _, _| Ok(crypto::sha256(&[data])))
    }

    /// The audit log of this HSM, oldest first (CO only; not in SPEC). Errors: NotLoggedIn;
    /// Forbidden. The record of this call itself is appended after the copy is taken.
    pub fn audit_log(&self) -> Result<Vec<AuditRecord>, HsmError> {
        self.run(Operation::AuditLog, |_, g, _| {
            Ok(g.audit.iter().cloned().collect())
        })
    }
}

#[cfg(test)]
#[test]
fn cluster_and_session_are_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Cluster>();
    is::<Session>();
}
