//! The model's state: the cluster, its HSMs, the sessions, and the pools of objects that have
//! left an HSM, laid out in fixed-size arrays so that a state is one flat, cheaply cloned and
//! hashed value.
//!
//! The arrays' sizes are the state's **capacity**, a type parameter ([`Capacity`]): one step
//! function serves every capacity. [`Small`] is the checker's (every exhaustive check, the
//! Explorer, the packed encoding), [`Large`] holds the spec's own defaults for replay,
//! scenarios and campaigns (16 user names, 8 clients, 3 HSMs, pools for a 200-step scenario).
//! [`State`] is the small one, [`LargeState`] the large one.

use crate::vocab::{KeyKind, Role};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::Hash;
use std::ops::{Index, IndexMut};

/// What a table of the state may hold: a plain value (copied, compared, hashed).
pub trait Elem: Copy + Eq + Ord + Hash + fmt::Debug + Send + Sync + 'static {}
impl<T: Copy + Eq + Ord + Hash + fmt::Debug + Send + Sync + 'static> Elem for T {}

/// A fixed-size table of `T`s: an array whose length is one of a [`Capacity`]'s.
pub trait Slots<T>:
    Elem + Index<usize, Output = T> + IndexMut<usize> + AsRef<[T]> + AsMut<[T]>
{
    /// The table with every slot `value`.
    fn filled(value: T) -> Self;
    /// The slots, in order.
    fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_ref().iter()
    }
    /// The slots, in order, to change.
    fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.as_mut().iter_mut()
    }
}

impl<T: Elem, const N: usize> Slots<T> for [T; N] {
    fn filled(value: T) -> Self {
        [value; N]
    }
}

/// How much a state can hold: the lengths of its tables.
///
/// Capacity is the model's, not the spec's: the spec's limits are the [`crate::Policy`]'s
/// errors, and a configuration's bounds ([`crate::Config`]) must fit its capacity
/// ([`crate::Config::validate_for`]). An action beyond the capacity (a full pool, the last key
/// id) sets [`flags::CAPACITY_EXCEEDED`] and is outside what the model judges.
pub trait Capacity: Elem + Default {
    /// A short name for messages (`small`, `large`).
    const NAME: &'static str;
    /// Most HSMs.
    const HSMS: usize;
    /// Most clients.
    const CLIENTS: usize;
    /// Most user names, `admin` and `app_user` included.
    const NAMES: usize;
    /// Most key ids (ids `1..=KEY_IDS`).
    const KEY_IDS: usize;
    /// Capacity of each pool of objects that left an HSM.
    const POOL: usize;
    /// Most new passwords in a configuration's table.
    const PASSWORDS: usize;
    /// Most labels (beside the empty one) and most data in a configuration's tables.
    const VALUES: usize;
    /// A table with one slot per HSM.
    type PerHsm<T: Elem>: Slots<T>;
    /// A table with one slot per client.
    type PerClient<T: Elem>: Slots<T>;
    /// A table with one slot per user name.
    type PerName<T: Elem>: Slots<T>;
    /// A table with one slot per key id.
    type PerKeyId<T: Elem>: Slots<T>;
    /// A pool's slots.
    type PerPoolSlot<T: Elem>: Slots<T>;

    /// Feeds `state` to `hasher` (the small capacity hashes its packed bytes in one write,
    /// see [`crate::packed`]; others hash field by field). Ghost history is left out, as in
    /// `Eq`.
    fn hash_state<H: std::hash::Hasher>(state: &StateOf<Self>, hasher: &mut H) {
        state.hash_fields(hasher)
    }
}

/// The checker's capacity: every exhaustive configuration fits it, and a state is ~200 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Small;

impl Capacity for Small {
    const NAME: &'static str = "small";
    const HSMS: usize = 3;
    const CLIENTS: usize = 3;
    const NAMES: usize = 6;
    const KEY_IDS: usize = 6;
    const POOL: usize = 4;
    const PASSWORDS: usize = 8;
    const VALUES: usize = 3;
    type PerHsm<T: Elem> = [T; 3];
    type PerClient<T: Elem> = [T; 3];
    type PerName<T: Elem> = [T; 6];
    type PerKeyId<T: Elem> = [T; 6];
    type PerPoolSlot<T: Elem> = [T; 4];

    fn hash_state<H: std::hash::Hasher>(state: &StateOf<Self>, hasher: &mut H) {
        crate::packed::hash_small(state, hasher)
    }
}

/// The spec's capacity, for replay, scenarios and campaigns: the spec's default policy can be
/// written down (a key shared with 7 CUs and refused to an 8th; 16 user names besides `admin`
/// and `app_user`), 8 clients, 3 HSMs, and room in every pool and the key-id counter for a
/// 200-step scenario. The spec's 1024 users and 16666 keys are not reached: scenarios about
/// UserLimit and KeyLimit lower the limit in their header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Large;

impl Capacity for Large {
    const NAME: &'static str = "large";
    const HSMS: usize = 3;
    const CLIENTS: usize = 8;
    const NAMES: usize = 18;
    const KEY_IDS: usize = 200;
    const POOL: usize = 200;
    const PASSWORDS: usize = 64;
    const VALUES: usize = 32;
    type PerHsm<T: Elem> = [T; 3];
    type PerClient<T: Elem> = [T; 8];
    type PerName<T: Elem> = [T; 18];
    type PerKeyId<T: Elem> = [T; 200];
    type PerPoolSlot<T: Elem> = [T; 200];
}

/// The checker's state (capacity [`Small`]).
pub type State = StateOf<Small>;
/// The state of replay, scenarios and campaigns (capacity [`Large`]).
pub type LargeState = StateOf<Large>;

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

/// A set of names (share lists), as a bit set over [`NameId`]s below [`NameSet::CAPACITY`].
///
/// Three bytes, not a `u32`: a key (and so every state) stays byte-aligned and as small as
/// with one byte, while the large capacity's 18 names fit.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(into = "Vec<NameId>", from = "Vec<NameId>")]
pub struct NameSet([u8; 3]);

// Invariant relied on by `NameSet`: every capacity's names fit its bits.
const _: () = assert!(Small::NAMES <= NameSet::CAPACITY && Large::NAMES <= NameSet::CAPACITY);

impl NameSet {
    /// Names with ids below this can be members.
    pub const CAPACITY: usize = 24;

    /// The set whose members are the bits of `bits` (bits at and above [`NameSet::CAPACITY`]
    /// are dropped).
    pub fn from_bits(bits: u32) -> NameSet {
        let b = bits.to_le_bytes();
        NameSet([b[0], b[1], b[2]])
    }
    /// The members as bits.
    pub fn bits(self) -> u32 {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], 0])
    }
    /// Whether `name` is in the set.
    pub fn contains(self, name: NameId) -> bool {
        name.index() < Self::CAPACITY && self.bits() & (1 << name.0) != 0
    }
    /// Adds `name` (a name at or above [`NameSet::CAPACITY`] is never a member; no capacity
    /// has such user names).
    pub fn insert(&mut self, name: NameId) {
        if name.index() < Self::CAPACITY {
            *self = Self::from_bits(self.bits() | 1 << name.0);
        }
    }
    /// Removes `name`.
    pub fn remove(&mut self, name: NameId) {
        if name.index() < Self::CAPACITY {
            *self = Self::from_bits(self.bits() & !(1 << name.0));
        }
    }
    /// How many names.
    pub fn len(self) -> usize {
        self.bits().count_ones() as usize
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.bits() == 0
    }
    /// The names, in id order.
    pub fn iter(self) -> impl Iterator<Item = NameId> {
        let bits = self.bits();
        (0..Self::CAPACITY as u8)
            .filter(move |i| bits & (1 << i) != 0)
            .map(NameId)
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
pub struct Hsm<C: Capacity = Small> {
    /// No users but the AU and no keys: waiting for a clone.
    pub blank: bool,
    /// Users by name id.
    pub users: C::PerName<Option<User>>,
    /// Keys by id (index `id - 1`).
    pub keys: C::PerKeyId<Option<Key>>,
    /// History kept for the hazard examples only; not part of the state's identity.
    pub ghost: HsmGhost<C>,
}

/// History of one HSM that the hazard examples need (D9, D12) but that no HSM keeps.
///
/// It is deliberately left out of equality, ordering and hashing, so it never multiplies the
/// state space: a state reached by several paths keeps the history of the first (shortest) one.
/// Examples found with it are real (their path is replayed), but one could be missed.
#[derive(Clone, Copy, Debug)]
pub struct HsmGhost<C: Capacity = Small> {
    /// Per key id (index `id - 1`): destroyed by DeleteKey on this HSM since it was last
    /// zeroized (D9).
    pub deleted_keys: C::PerKeyId<bool>,
    /// For each name, the key-id counter when a user of that name was last deleted here
    /// (0: never since the last zeroize) (D12).
    pub name_deleted_at: C::PerName<u8>,
}

impl<C: Capacity> Default for HsmGhost<C> {
    fn default() -> Self {
        HsmGhost {
            deleted_keys: Slots::filled(false),
            name_deleted_at: Slots::filled(0),
        }
    }
}

impl<C: Capacity> HsmGhost<C> {
    /// Whether it holds no history (as after a zeroize).
    pub fn is_empty(&self) -> bool {
        self.deleted_keys.iter().all(|d| !d) && self.name_deleted_at.iter().all(|&at| at == 0)
    }
}

impl<C: Capacity> PartialEq for HsmGhost<C> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<C: Capacity> Eq for HsmGhost<C> {}
impl<C: Capacity> PartialOrd for HsmGhost<C> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<C: Capacity> Ord for HsmGhost<C> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}
impl<C: Capacity> std::hash::Hash for HsmGhost<C> {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl<C: Capacity> Hsm<C> {
    /// A blank HSM: the AU only.
    pub fn blank() -> Hsm<C> {
        let mut users: C::PerName<Option<User>> = Slots::filled(None);
        users[APP_USER.index()] = Some(User {
            role: Role::ApplianceUser,
            password: AU_PASSWORD,
            failures: 0,
        });
        Hsm {
            blank: true,
            users,
            keys: Slots::filled(None),
            ghost: HsmGhost::default(),
        }
    }

    /// The user named `name`, if any.
    pub fn user(&self, name: NameId) -> Option<&User> {
        self.users
            .as_ref()
            .get(name.index())
            .and_then(Option::as_ref)
    }

    /// The key `id`, if any.
    pub fn key(&self, id: KeyId) -> Option<&Key> {
        (id.0 as usize)
            .checked_sub(1)
            .and_then(|i| self.keys.as_ref().get(i))
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
pub struct Pool<T: Elem, C: Capacity = Small> {
    items: C::PerPoolSlot<Option<T>>,
}

impl<T: Elem, C: Capacity> Default for Pool<T, C> {
    fn default() -> Self {
        Pool {
            items: Slots::filled(None),
        }
    }
}

impl<T: Elem, C: Capacity> fmt::Debug for Pool<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<T: Elem, C: Capacity> Pool<T, C> {
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
        if len == C::POOL {
            return false;
        }
        self.items[len] = Some(item);
        self.items.as_mut()[..=len].sort_unstable();
        true
    }
    /// The `i`-th slot, for [`crate::packed`]'s decoding only: it fills the slots in the order
    /// `encode` wrote them, which is the pool's own (sorted, no duplicates, no gap), so the
    /// pool's invariant holds again once it is done.
    pub(crate) fn slot_mut(&mut self, i: usize) -> Option<&mut Option<T>> {
        self.items.as_mut().get_mut(i)
    }
    /// Rewrites every object with `f`, then sorts again.
    pub fn map(&self, f: impl Fn(T) -> T) -> Pool<T, C> {
        let mut out = *self;
        let len = self.len();
        for x in out.items.as_mut()[..len].iter_mut() {
            *x = x.map(&f);
        }
        out.items.as_mut()[..len].sort_unstable();
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

/// The whole state of a cluster and its clients, at capacity `C`.
///
/// `Hash` is written by hand ([`Capacity::hash_state`]): the small state is packed into bytes
/// and hashed in one write ([`crate::packed`]), which is several times faster than the derived
/// field-by-field hash that stateright's fingerprints would otherwise spend most of their time
/// in (ghost history is left out, as in `Eq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StateOf<C: Capacity> {
    /// Whether the PRECO has activated the cluster (D1).
    pub activated: bool,
    /// The next key id the cluster will give (SPEC §3: starts at 1, never reused).
    pub next_key_id: u8,
    /// The HSMs (those beyond the configuration's count stay blank and unused).
    pub hsms: C::PerHsm<Hsm<C>>,
    /// Per client, per HSM: the name the session is logged in as, if any.
    pub sessions: C::PerClient<C::PerHsm<Option<NameId>>>,
    /// Masked objects that have left an HSM, plus the foreign one.
    pub masked: Pool<MaskedObject, C>,
    /// Wrapped keys that have left an HSM.
    pub wrapped: Pool<WrappedKey, C>,
    /// Ciphertexts that have left an HSM.
    pub ciphertexts: Pool<Ciphertext, C>,
    /// Signatures that have left an HSM.
    pub signatures: Pool<Signature, C>,
    /// The hazard [`events`] the last step showed (cleared by the next step); part of the state
    /// so that the examples can see them, at the cost of one extra state per such step.
    pub events: u8,
    /// Sticky [`flags`]; zero in every state of a correct model within its capacity.
    pub flags: u8,
}

impl<C: Capacity> std::hash::Hash for StateOf<C> {
    fn hash<H: std::hash::Hasher>(&self, hasher: &mut H) {
        C::hash_state(self, hasher)
    }
}

impl<C: Capacity> StateOf<C> {
    /// A new cluster: unactivated; HSM 0 holds the PRECO and the AU, the others are blank; no
    /// session logged in; one foreign masked object in the pool.
    pub fn new_cluster() -> StateOf<C> {
        let mut hsms: C::PerHsm<Hsm<C>> = Slots::filled(Hsm::blank());
        hsms[0].blank = false;
        hsms[0].users[ADMIN.index()] = Some(User {
            role: Role::PreCryptoOfficer,
            password: PRECO_PASSWORD,
            failures: 0,
        });
        let mut masked = Pool::default();
        masked.insert(MaskedObject::Foreign);
        StateOf {
            activated: false,
            next_key_id: 1,
            hsms,
            sessions: Slots::filled(Slots::filled(None)),
            masked,
            wrapped: Pool::default(),
            ciphertexts: Pool::default(),
            signatures: Pool::default(),
            events: 0,
            flags: 0,
        }
    }

    /// The HSM `h`, if the state has it.
    pub fn hsm(&self, h: HsmId) -> Option<&Hsm<C>> {
        self.hsms.as_ref().get(h.index())
    }

    /// The name client `c`'s session on HSM `h` is logged in as.
    pub fn session(&self, c: ClientId, h: HsmId) -> Option<NameId> {
        self.sessions
            .as_ref()
            .get(c.index())
            .and_then(|row| row.as_ref().get(h.index()))
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
            .any(|row| row.as_ref().get(h.index()).copied().flatten() == Some(name))
    }

    /// Feeds every field but the ghost history to `hasher`: the hash of a capacity that does
    /// not pack its states.
    pub fn hash_fields<H: std::hash::Hasher>(&self, hasher: &mut H) {
        self.activated.hash(hasher);
        self.next_key_id.hash(hasher);
        self.hsms.hash(hasher);
        self.sessions.hash(hasher);
        self.masked.hash(hasher);
        self.wrapped.hash(hasher);
        self.ciphertexts.hash(hasher);
        self.signatures.hash(hasher);
        self.events.hash(hasher);
        self.flags.hash(hasher);
    }

    /// The same state at capacity `D`, or `None` when it does not fit (a table of `D` is
    /// shorter than what this state uses). Ghost history comes along.
    pub fn resized<D: Capacity>(&self) -> Option<StateOf<D>> {
        fn copy<T: Copy>(from: &[T], to: &mut [T], empty: impl Fn(&T) -> bool) -> Option<()> {
            for (i, x) in from.iter().enumerate() {
                match to.get_mut(i) {
                    Some(slot) => *slot = *x,
                    None if empty(x) => {}
                    None => return None,
                }
            }
            Some(())
        }
        let mut out = StateOf::<D>::new_cluster();
        out.activated = self.activated;
        out.next_key_id = self.next_key_id;
        out.events = self.events;
        out.flags = self.flags;
        let blank = Hsm::<C>::blank();
        for (i, h) in self.hsms.iter().enumerate() {
            let Some(target) = out.hsms.as_mut().get_mut(i) else {
                if *h == blank && h.ghost.is_empty() {
                    continue;
                }
                return None;
            };
            target.blank = h.blank;
            target.users = Slots::filled(None);
            copy(h.users.as_ref(), target.users.as_mut(), Option::is_none)?;
            target.keys = Slots::filled(None);
            copy(h.keys.as_ref(), target.keys.as_mut(), Option::is_none)?;
            copy(
                h.ghost.deleted_keys.as_ref(),
                target.ghost.deleted_keys.as_mut(),
                |d| !d,
            )?;
            copy(
                h.ghost.name_deleted_at.as_ref(),
                target.ghost.name_deleted_at.as_mut(),
                |&at| at == 0,
            )?;
        }
        for (c, row) in self.sessions.iter().enumerate() {
            for (h, s) in row.iter().enumerate() {
                match out
                    .sessions
                    .as_mut()
                    .get_mut(c)
                    .and_then(|r| r.as_mut().get_mut(h))
                {
                    Some(slot) => *slot = *s,
                    None if s.is_none() => {}
                    None => return None,
                }
            }
        }
        fn pool<T: Elem, C: Capacity, D: Capacity>(p: &Pool<T, C>) -> Option<Pool<T, D>> {
            let mut out = Pool::default();
            for x in p.iter() {
                if !out.insert(x) {
                    return None;
                }
            }
            Some(out)
        }
        out.masked = pool(&self.masked)?;
        out.wrapped = pool(&self.wrapped)?;
        out.ciphertexts = pool(&self.ciphertexts)?;
        out.signatures = pool(&self.signatures)?;
        Some(out)
    }
}
