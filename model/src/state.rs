//! The model's state: the cluster, its HSMs, the sessions, and the pools of objects that have
//! left an HSM (SPEC §2–§6), laid out in fixed-size arrays so that a state is one flat,
//! cheaply cloned and hashed value.

use crate::vocab::{KeyKind, Role};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most HSMs a configuration may have.
pub const MAX_HSMS: usize = 3;
/// Most clients a configuration may have.
pub const MAX_CLIENTS: usize = 3;
/// Most user names (valid ones: `admin`, `app_user` and the configuration's names).
pub const MAX_NAMES: usize = 6;
/// Most key ids the model can hold (ids `1..=MAX_KEY_IDS`).
pub const MAX_KEY_IDS: usize = 6;
/// Capacity of each pool of objects that left an HSM.
pub const POOL_CAPACITY: usize = 4;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(pub u8);
        impl $name {
            /// The index as a `usize`.
            pub fn index(self) -> usize { self.0 as usize }
        }
    };
}

id_type!(
    /// An index into the configuration's name table: 0 is `admin`, 1 is `app_user`, then the
    /// configuration's names, then its invalid names.
    NameId
);
id_type!(
    /// An HSM of the cluster, 0-based.
    HsmId
);
id_type!(
    /// A client; each client holds one session per HSM.
    ClientId
);
id_type!(
    /// A key id from the cluster-wide counter, starting at 1.
    KeyId
);
id_type!(
    /// An index into the password table: 0 is `password` (the PRECO's), 1 the AU's, then the
    /// configuration's passwords.
    PasswordId
);
id_type!(
    /// An index into the label table; 0 is the empty label every key starts with.
    LabelId
);
id_type!(
    /// An index into the configuration's data table (plaintexts, messages).
    DataId
);
id_type!(
    /// The identity of key material: the id of the key that generated it. Copies (clone,
    /// insert, unwrap) keep it, so crypto outcomes can depend on material, not on ids.
    Material
);

/// The name of `admin`, the PRECO.
pub const ADMIN: NameId = NameId(0);
/// The name of `app_user`, the AU.
pub const APP_USER: NameId = NameId(1);
/// The PRECO's initial password, `password`.
pub const PRECO_PASSWORD: PasswordId = PasswordId(0);
/// The AU's password, set when the cluster is created.
pub const AU_PASSWORD: PasswordId = PasswordId(1);

/// A set of names (share lists), as a bit set over [`NameId`]s.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(into = "Vec<NameId>", from = "Vec<NameId>")]
pub struct NameSet(pub u8);

impl NameSet {
    /// Whether `name` is in the set.
    pub fn contains(self, name: NameId) -> bool {
        name.index() < 8 && self.0 & (1 << name.0) != 0
    }
    /// Adds `name`.
    pub fn insert(&mut self, name: NameId) {
        if name.index() < 8 {
            self.0 |= 1 << name.0;
        }
    }
    /// Removes `name`.
    pub fn remove(&mut self, name: NameId) {
        if name.index() < 8 {
            self.0 &= !(1 << name.0);
        }
    }
    /// How many names.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The names, in id order.
    pub fn iter(self) -> impl Iterator<Item = NameId> {
        (0..8u8).filter(move |i| self.0 & (1 << i) != 0).map(NameId)
    }
    /// The set with every name renamed by `f`.
    pub fn map(self, f: impl Fn(NameId) -> NameId) -> NameSet {
        let mut out = NameSet::default();
        for n in self.iter() {
            out.insert(f(n));
        }
        out
    }
}

impl From<NameSet> for Vec<NameId> {
    fn from(s: NameSet) -> Self {
        s.iter().collect()
    }
}
impl From<Vec<NameId>> for NameSet {
    fn from(v: Vec<NameId>) -> Self {
        let mut s = NameSet::default();
        for n in v {
            s.insert(n);
        }
        s
    }
}

/// A user of one HSM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct User {
    /// Its current role.
    pub role: Role,
    /// Its password.
    pub password: PasswordId,
    /// Consecutive failed logins on this HSM; locked when it reaches the lockout threshold.
    pub failures: u8,
}

/// A key on one HSM (its id is its index in [`Hsm::keys`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// What the key does.
    pub kind: KeyKind,
    /// Which material it holds.
    pub material: Material,
    /// The CU that owns it.
    pub owner: NameId,
    /// The CUs it is shared with.
    pub shares: NameSet,
    /// Whether it may be wrapped (fixed at creation).
    pub extractable: bool,
    /// Its label.
    pub label: LabelId,
}

/// A whole key record: what a masked object carries and what a sync digest covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key's id.
    pub id: KeyId,
    /// The rest of the record.
    #[serde(flatten)]
    pub key: Key,
}

/// One HSM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hsm {
    /// No users but the AU and no keys: waiting for a clone.
    pub blank: bool,
    /// Users by name id.
    pub users: [Option<User>; MAX_NAMES],
    /// Keys by id (index `id - 1`).
    pub keys: [Option<Key>; MAX_KEY_IDS],
    /// History kept for the hazard examples only; not part of the state's identity.
    pub ghost: HsmGhost,
}

/// History of one HSM that the hazard examples need (D9, D12) but that no HSM keeps.
///
/// It is deliberately left out of equality, ordering and hashing, so it never multiplies the
/// state space: a state reached by several paths keeps the history of the first (shortest) one.
/// Examples found with it are real (their path is replayed), but one could be missed.
#[derive(Clone, Copy, Debug, Default)]
pub struct HsmGhost {
    /// Key ids destroyed by DeleteKey on this HSM since it was last zeroized (D9).
    pub deleted_keys: u8,
    /// For each name, the key-id counter when a user of that name was last deleted here
    /// (0: never since the last zeroize) (D12).
    pub name_deleted_at: [u8; MAX_NAMES],
}

impl PartialEq for HsmGhost {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for HsmGhost {}
impl PartialOrd for HsmGhost {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HsmGhost {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}
impl std::hash::Hash for HsmGhost {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl Hsm {
    /// A blank HSM: the AU only.
    pub fn blank() -> Hsm {
        let mut users = [None; MAX_NAMES];
        users[APP_USER.index()] = Some(User {
            role: Role::ApplianceUser,
            password: AU_PASSWORD,
            failures: 0,
        });
        Hsm {
            blank: true,
            users,
            keys: [None; MAX_KEY_IDS],
            ghost: HsmGhost::default(),
        }
    }

    /// The user named `name`, if any.
    pub fn user(&self, name: NameId) -> Option<&User> {
        self.users.get(name.index()).and_then(Option::as_ref)
    }

    /// The key `id`, if any.
    pub fn key(&self, id: KeyId) -> Option<&Key> {
        (id.0 as usize)
            .checked_sub(1)
            .and_then(|i| self.keys.get(i))
            .and_then(Option::as_ref)
    }

    /// Users present, with their names, in id order.
    pub fn users(&self) -> impl Iterator<Item = (NameId, &User)> {
        self.users
            .iter()
            .enumerate()
            .filter_map(|(i, u)| u.as_ref().map(|u| (NameId(i as u8), u)))
    }

    /// Keys present, as records, in id order.
    pub fn records(&self) -> impl Iterator<Item = KeyRecord> + '_ {
        self.keys.iter().enumerate().filter_map(|(i, k)| {
            k.map(|key| KeyRecord {
                id: KeyId(i as u8 + 1),
                key,
            })
        })
    }

    /// Whether `name` is a CU of this HSM.
    pub fn is_crypto_user(&self, name: NameId) -> bool {
        matches!(self.user(name), Some(u) if u.role == Role::CryptoUser)
    }
}

/// A masked object as the model sees it (SPEC §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MaskedObject {
    /// A record sealed under this cluster's masking key.
    Sealed(KeyRecord),
    /// An object of another cluster (one is in the pool from the start).
    Foreign,
    /// Bytes that are no masked object at all (tampered, truncated, garbage).
    Garbage,
}

/// Wrapped key bytes (export, D10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WrappedKey {
    /// Key material of `kind` wrapped under the AES material `under`.
    Wrapped {
        kind: KeyKind,
        material: Material,
        under: Material,
    },
    /// Bytes that are no wrapped key.
    Garbage,
}

/// A ciphertext (SPEC §3 "Crypto outcomes": it remembers the material that made it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ciphertext {
    /// `data` encrypted under `material`.
    Made { material: Material, data: DataId },
    /// Bytes that are no ciphertext of any key.
    Garbage,
}

/// A signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Signature {
    /// A signature over `data` by `material`.
    Made { material: Material, data: DataId },
    /// A malformed signature: simply not valid.
    Garbage,
}

/// A bounded set of objects that have left an HSM, kept sorted so that equal sets are equal
/// values.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pool<T: Copy + Ord> {
    items: [Option<T>; POOL_CAPACITY],
}

impl<T: Copy + Ord> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            items: [None; POOL_CAPACITY],
        }
    }
}

impl<T: Copy + Ord + fmt::Debug> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<T: Copy + Ord> Pool<T> {
    /// The objects, in order.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.items.iter().map_while(|x| *x)
    }
    /// How many objects.
    pub fn len(&self) -> usize {
        self.iter().count()
    }
    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.items[0].is_none()
    }
    /// Whether `item` is in the pool.
    pub fn contains(&self, item: &T) -> bool {
        self.iter().any(|x| x == *item)
    }
    /// Adds `item`; false when the pool is full and `item` is new (then nothing changes).
    pub fn insert(&mut self, item: T) -> bool {
        if self.contains(&item) {
            return true;
        }
        let len = self.len();
        if len == POOL_CAPACITY {
            return false;
        }
        self.items[len] = Some(item);
        self.items[..=len].sort_unstable();
        true
    }
    /// The `i`-th slot, for [`crate::packed`]'s decoding only: it fills the slots in the order
    /// `encode` wrote them, which is the pool's own (sorted, no duplicates, no gap), so the
    /// pool's invariant holds again once it is done.
    pub(crate) fn slot_mut(&mut self, i: usize) -> Option<&mut Option<T>> {
        self.items.get_mut(i)
    }
    /// Rewrites every object with `f`, then sorts again.
    pub fn map(&self, f: impl Fn(T) -> T) -> Pool<T> {
        let mut out = *self;
        let len = self.len();
        for x in out.items[..len].iter_mut() {
            *x = x.map(&f);
        }
        out.items[..len].sort_unstable();
        out
    }
}

/// Sticky flags: a transition invariant that failed, or an action beyond the model's capacity.
pub mod flags {
    /// An Ok outcome the permission table does not allow for the session's role.
    pub const OK_NOT_IN_TABLE: u8 = 1;
    /// An operation changed the owner of a key.
    pub const OWNER_CHANGED: u8 = 2;
    /// A CU succeeded at an operation naming a key it can neither own nor share.
    pub const KEY_USED_WITHOUT_ACCESS: u8 = 4;
    /// An action went beyond the model's fixed capacity (a pool, or the key-id space).
    pub const CAPACITY_EXCEEDED: u8 = 8;
}

/// Events of a step that the hazard examples look for.
pub mod events {
    /// A CU used a key shared with it on an HSM other than HSM 0 (one that was cloned).
    pub const SHARED_USE_ON_CLONE: u8 = 1;
    /// InsertMasked brought back a key deleted on this HSM since it was last zeroized (D9).
    pub const KEY_REVIVED: u8 = 2;
    /// InsertMasked gave a key to a user created under the name of its deleted owner (D12).
    pub const KEY_TO_NAMESAKE: u8 = 4;
}

/// The whole state of a cluster and its clients.
///
/// `Hash` is written by hand (in [`crate::packed`]): the state is packed into bytes and hashed
/// in one write, which is several times faster than the derived field-by-field hash that
/// stateright's fingerprints would otherwise spend most of their time in (ghost history is
/// left out, as in `Eq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct State {
    /// Whether the PRECO has activated the cluster (D1).
    pub activated: bool,
    /// The next key id the cluster will give (SPEC §3: starts at 1, never reused).
    pub next_key_id: u8,
    /// The HSMs (those beyond the configuration's count stay blank and unused).
    pub hsms: [Hsm; MAX_HSMS],
    /// Per client, per HSM: the name the session is logged in as, if any.
    pub sessions: [[Option<NameId>; MAX_HSMS]; MAX_CLIENTS],
    /// Masked objects that have left an HSM, plus the foreign one.
    pub masked: Pool<MaskedObject>,
    /// Wrapped keys that have left an HSM.
    pub wrapped: Pool<WrappedKey>,
    /// Ciphertexts that have left an HSM.
    pub ciphertexts: Pool<Ciphertext>,
    /// Signatures that have left an HSM.
    pub signatures: Pool<Signature>,
    /// The hazard [`events`] the last step showed (cleared by the next step); part of the state
    /// so that the examples can see them, at the cost of one extra state per such step.
    pub events: u8,
    /// Sticky [`flags`]; zero in every state of a correct model within its capacity.
    pub flags: u8,
}

impl State {
    /// A new cluster (SPEC §2): unactivated; HSM 0 holds the PRECO and the AU, the others are
    /// blank; no session logged in; one foreign masked object in the pool.
    pub fn new_cluster() -> State {
        let mut hsms = [Hsm::blank(); MAX_HSMS];
        hsms[0].blank = false;
        hsms[0].users[ADMIN.index()] = Some(User {
            role: Role::PreCryptoOfficer,
            password: PRECO_PASSWORD,
            failures: 0,
        });
        let mut masked = Pool::default();
        masked.insert(MaskedObject::Foreign);
        State {
            activated: false,
            next_key_id: 1,
            hsms,
            sessions: [[None; MAX_HSMS]; MAX_CLIENTS],
            masked,
            wrapped: Pool::default(),
            ciphertexts: Pool::default(),
            signatures: Pool::default(),
            events: 0,
            flags: 0,
        }
    }

    /// The HSM `h`, if the state has it.
    pub fn hsm(&self, h: HsmId) -> Option<&Hsm> {
        self.hsms.get(h.index())
    }

    /// The name client `c`'s session on HSM `h` is logged in as.
    pub fn session(&self, c: ClientId, h: HsmId) -> Option<NameId> {
        self.sessions
            .get(c.index())
            .and_then(|row| row.get(h.index()))
            .copied()
            .flatten()
    }

    /// The role of client `c`'s session on HSM `h`: its user's *current* role (SPEC §1).
    pub fn session_role(&self, c: ClientId, h: HsmId) -> Option<Role> {
        let name = self.session(c, h)?;
        self.hsm(h)?.user(name).map(|u| u.role)
    }

    /// Whether some session bound to HSM `h` is logged in as `name`.
    pub fn logged_in(&self, h: HsmId, name: NameId) -> bool {
        self.sessions
            .iter()
            .any(|row| row.get(h.index()).copied().flatten() == Some(name))
    }
}
