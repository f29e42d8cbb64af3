//! The packed encodings of a [`State`] (the checker's, capacity [`Small`]), beside the engine that stores them
//! ([`crate::explore`]).
//!
//! - [`State::pack`]: the state's identity in bytes (ghost history left out, as in `Eq`); what
//!   `Hash` and the compact checker's fingerprints read, in one write.
//! - [`State::encode`] and [`State::decode`]: the whole state, ghost history included, in as few
//!   bytes as the configuration's [`Shape`] allows; how the compact checker keeps the states of
//!   the levels it has yet to expand.
//!
//! Relied on: equal states pack to equal bytes and different states to different bytes (the
//! fingerprints and `Hash` depend on it), and `decode` gives back exactly the state `encode`
//! wrote (the test `the_packed_encoding_gives_back_the_whole_state` holds every reachable state
//! of the per-concern configurations to it).

use crate::state::*;
use crate::vocab::{KeyKind, Role};

const MAX_HSMS: usize = Small::HSMS;
const MAX_CLIENTS: usize = Small::CLIENTS;
const MAX_NAMES: usize = Small::NAMES;
const MAX_KEY_IDS: usize = Small::KEY_IDS;
const POOL_CAPACITY: usize = Small::POOL;

// Invariants the byte layout relies on: a share list and the ghost's deleted key ids fit one
// byte each, and a mask of the ghost's fields too.
const _: () = assert!(MAX_NAMES <= 7 && MAX_KEY_IDS <= 8);

/// The ghost's deleted key ids as a byte (bit `id - 1`).
fn deleted_mask(g: &HsmGhost) -> u8 {
    g.deleted_keys
        .iter()
        .enumerate()
        .fold(0, |m, (i, &d)| m | (d as u8) << i)
}

/// The part of a state a configuration uses: HSMs and clients beyond it stay as a new
/// cluster left them (blank HSMs, no session), so [`State::encode`] can leave them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// HSMs in use.
    pub hsms: usize,
    /// Clients in use.
    pub clients: usize,
}

impl Shape {
    /// Every HSM and every client.
    pub const FULL: Shape = Shape {
        hsms: MAX_HSMS,
        clients: MAX_CLIENTS,
    };

    /// Whether `s` leaves everything beyond this shape as a new cluster has it.
    fn fits(&self, s: &State) -> bool {
        // `Hsm::blank()`, field by field (this runs for every fingerprint).
        let au = Some(User {
            role: Role::ApplianceUser,
            password: AU_PASSWORD,
            failures: 0,
        });
        let blank = |h: &Hsm| {
            h.blank
                && h.keys.iter().all(Option::is_none)
                && h.users.iter().enumerate().all(|(i, u)| {
                    if i == APP_USER.index() {
                        *u == au
                    } else {
                        u.is_none()
                    }
                })
                && h.ghost.is_empty()
        };
        let (hsms, clients) = (self.hsms.min(MAX_HSMS), self.clients.min(MAX_CLIENTS));
        s.hsms[hsms..].iter().all(blank)
            && s.sessions[..clients]
                .iter()
                .all(|row| row[hsms..].iter().all(Option::is_none))
            && s.sessions[clients..]
                .iter()
                .all(|row| row.iter().all(Option::is_none))
    }
}

/// Whether `a` and `b` are equal states in everything but the HSMs beyond `shape` and the
/// sessions bound to them (ghost history excluded, as in `Eq`): `a == b` for two states that
/// agree there ([`equal_beyond`]), as a state and its successor by an action of a
/// configuration of that shape do (the step function writes only the HSM an action names
/// and the sessions bound to it, and refuses an HSM beyond the configuration).
pub(crate) fn equal_within(a: &State, b: &State, shape: Shape) -> bool {
    let hsms = shape.hsms.min(MAX_HSMS);
    a.activated == b.activated
        && a.next_key_id == b.next_key_id
        && a.events == b.events
        && a.flags == b.flags
        && a.sessions
            .iter()
            .zip(&b.sessions)
            .all(|(x, y)| x[..hsms] == y[..hsms])
        && a.hsms[..hsms] == b.hsms[..hsms]
        && a.masked == b.masked
        && a.wrapped == b.wrapped
        && a.ciphertexts == b.ciphertexts
        && a.signatures == b.signatures
}

/// Whether `a` and `b` agree on the HSMs beyond `shape` and the sessions bound to them.
pub(crate) fn equal_beyond(a: &State, b: &State, shape: Shape) -> bool {
    let hsms = shape.hsms.min(MAX_HSMS);
    a.hsms[hsms..] == b.hsms[hsms..]
        && (0..MAX_CLIENTS).all(|c| a.sessions[c][hsms..] == b.sessions[c][hsms..])
}

fn pack_key(k: &Key, out: &mut [u8]) {
    out[0] = 1 + k.kind as u8 + ((k.extractable as u8) << 4);
    out[1] = k.material.0;
    out[2] = k.owner.0;
    out[3] = k.shares.bits() as u8;
    out[4] = k.label.0;
}

/// A user's first byte: its role and, when small enough to share the byte, its failure count.
fn user_tag(u: &User) -> u8 {
    if u.failures < 63 {
        1 + u.role as u8 + (u.failures << 2)
    } else {
        0xff
    }
}

impl State {
    /// The state packed into bytes: equal states give equal bytes (ghost history excluded).
    pub fn pack(&self, buf: &mut [u8; PACKED_LEN]) -> usize {
        self.pack_shape(buf, Shape::FULL)
    }

    /// [`State::pack`] of the HSMs and sessions within `shape` when the state fits it (leaves
    /// the rest as a new cluster has it), of the whole state otherwise; the first byte tells
    /// which, so that equal bytes are still equal states.
    pub fn pack_in(&self, buf: &mut [u8; PACKED_LEN], shape: Shape) -> usize {
        let whole = !shape.fits(self);
        let n = self.pack_shape(buf, if whole { Shape::FULL } else { shape });
        buf[0] |= (whole as u8) << 7;
        n
    }

    /// [`State::pack`] of the HSMs and sessions within `shape` only.
    fn pack_shape(&self, buf: &mut [u8; PACKED_LEN], shape: Shape) -> usize {
        let mut i = 0;
        let mut put = |b: u8| {
            // `i` stays below PACKED_BOUND: the mask never changes it.
            buf[i & (PACKED_LEN - 1)] = b;
            i += 1;
        };
        put(self.activated as u8 | (self.events << 1));
        put(self.next_key_id);
        put(self.flags);
        for h in self.hsms.iter().take(shape.hsms) {
            put(h.blank as u8);
            for u in &h.users {
                match u {
                    None => put(0),
                    Some(u) => {
                        let tag = user_tag(u);
                        put(tag);
                        if tag == 0xff {
                            put(u.role as u8);
                            put(u.failures);
                        }
                        put(u.password.0);
                    }
                }
            }
            for k in &h.keys {
                match k {
                    None => put(0),
                    Some(k) => {
                        let mut b = [0u8; 5];
                        pack_key(k, &mut b);
                        b.into_iter().for_each(&mut put);
                    }
                }
            }
        }
        for row in self.sessions.iter().take(shape.clients) {
            for s in row.iter().take(shape.hsms) {
                put(s.map_or(0, |n| n.0 + 1));
            }
        }
        for o in self.masked.iter() {
            match o {
                MaskedObject::Sealed(r) => {
                    put(1);
                    put(r.id.0);
                    let mut b = [0u8; 5];
                    pack_key(&r.key, &mut b);
                    b.into_iter().for_each(&mut put);
                }
                MaskedObject::Foreign => put(2),
                MaskedObject::Garbage => put(3),
            }
        }
        put(0xff);
        for w in self.wrapped.iter() {
            match w {
                WrappedKey::Wrapped {
                    kind,
                    material,
                    under,
                } => {
                    put(1 + kind as u8);
                    put(material.0);
                    put(under.0);
                }
                WrappedKey::Garbage => put(0xfe),
            }
        }
        put(0xff);
        for c in self.ciphertexts.iter() {
            match c {
                Ciphertext::Made { material, data } => {
                    put(material.0);
                    put(data.0);
                }
                Ciphertext::Garbage => put(0xfe),
            }
        }
        put(0xff);
        for c in self.signatures.iter() {
            match c {
                Signature::Made { material, data } => {
                    put(material.0);
                    put(data.0);
                }
                Signature::Garbage => put(0xfe),
            }
        }
        i
    }
}

/// The most bytes a state packs into.
const PACKED_BOUND: usize = 8
    + MAX_HSMS * (1 + 4 * MAX_NAMES + 5 * MAX_KEY_IDS)
    + MAX_CLIENTS * MAX_HSMS
    + POOL_CAPACITY * (7 + 3 + 2 + 2)
    + 8;

/// An upper bound on the packed length of a state: [`PACKED_BOUND`] rounded up to a power of
/// two, so that `pack` can index its buffer modulo its length (which never wraps) with no
/// bounds check per byte.
pub const PACKED_LEN: usize = PACKED_BOUND.next_power_of_two();

/// `Hash` of the small state ([`Capacity::hash_state`]): its packed bytes in one write.
pub(crate) fn hash_small<H: std::hash::Hasher>(s: &State, hasher: &mut H) {
    let mut buf = [0u8; PACKED_LEN];
    let n = s.pack(&mut buf);
    hasher.write(&buf[..n]);
}

/// The most bytes [`State::encode`] writes.
pub const ENCODED_MAX: usize = 1 + PACKED_LEN + 1 + MAX_HSMS * (2 + MAX_NAMES);

/// Reads the bytes of [`State::encode`] back.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn key(&mut self, tag: u8) -> Option<Key> {
        let t = tag.checked_sub(1)?;
        Some(Key {
            kind: *KeyKind::ALL.get((t & 0x0f) as usize)?,
            extractable: t >> 4 == 1,
            material: Material(self.byte()?),
            owner: NameId(self.byte()?),
            shares: NameSet::from_bits(self.byte()? as u32),
            label: LabelId(self.byte()?),
        })
    }

    /// Pool items up to the 0xff that ends them.
    fn pool<T: Elem>(
        &mut self,
        mut item: impl FnMut(&mut Self, u8) -> Option<T>,
    ) -> Option<Pool<T>> {
        let mut pool = Pool::default();
        let mut len = 0;
        loop {
            let tag = self.byte()?;
            if tag == 0xff {
                return Some(pool);
            }
            *pool.slot_mut(len)? = Some(item(self, tag)?);
            len += 1;
        }
    }
}

impl State {
    /// The whole state, ghost history included, in at most [`ENCODED_MAX`] bytes (60–100 for
    /// the states of the presets, against 272 in memory): how the compact checker stores the
    /// states it has yet to expand. The HSMs and sessions beyond `shape` are left out when
    /// they are as a new cluster has them. [`State::decode`] reads the bytes back.
    pub fn encode(&self, buf: &mut [u8; ENCODED_MAX], shape: Shape) -> usize {
        let shape = if shape.fits(self) { shape } else { Shape::FULL };
        buf[0] = shape.hsms as u8 | (shape.clients as u8) << 4;
        let packed: &mut [u8; PACKED_LEN] = (&mut buf[1..=PACKED_LEN])
            .try_into()
            .expect("ENCODED_MAX exceeds PACKED_LEN");
        let mut i = 1 + self.pack_shape(packed, shape);
        let mut put = |b: u8| {
            buf[i] = b;
            i += 1;
        };
        // `pack` ends the other pools with 0xff but not the signatures.
        put(0xff);
        for h in self.hsms.iter().take(shape.hsms) {
            let g = &h.ghost;
            // A mask of the ghost fields that are not zero, then those fields.
            let deleted = deleted_mask(g);
            let mut mask = (deleted != 0) as u8;
            for (j, at) in g.name_deleted_at.iter().enumerate() {
                mask |= ((*at != 0) as u8) << (j + 1);
            }
            put(mask);
            if deleted != 0 {
                put(deleted);
            }
            for at in g.name_deleted_at.iter().filter(|at| **at != 0) {
                put(*at);
            }
        }
        i
    }

    /// The state [`State::encode`] wrote at the start of `bytes`, and how many bytes it took;
    /// `None` if they are not one.
    pub fn decode(bytes: &[u8]) -> Option<(State, usize)> {
        let mut r = Reader { bytes, at: 0 };
        let shape = r.byte()?;
        let shape = Shape {
            hsms: (shape & 0x0f) as usize,
            clients: (shape >> 4) as usize,
        };
        if shape.hsms > MAX_HSMS || shape.clients > MAX_CLIENTS {
            return None;
        }
        let mut s = State::new_cluster();
        s.masked = Pool::default();
        for h in s.hsms.iter_mut().skip(1) {
            *h = Hsm::blank();
        }
        let first = r.byte()?;
        s.activated = first & 1 != 0;
        s.events = first >> 1;
        s.next_key_id = r.byte()?;
        s.flags = r.byte()?;
        for h in s.hsms.iter_mut().take(shape.hsms) {
            h.blank = r.byte()? != 0;
            for u in h.users.iter_mut() {
                *u = match r.byte()? {
                    0 => None,
                    0xff => {
                        let role = *Role::ALL.get(r.byte()? as usize)?;
                        let failures = r.byte()?;
                        Some(User {
                            role,
                            failures,
                            password: PasswordId(r.byte()?),
                        })
                    }
                    t => Some(User {
                        role: *Role::ALL.get(((t - 1) & 3) as usize)?,
                        failures: (t - 1) >> 2,
                        password: PasswordId(r.byte()?),
                    }),
                };
            }
            for k in h.keys.iter_mut() {
                *k = match r.byte()? {
                    0 => None,
                    t => Some(r.key(t)?),
                };
            }
        }
        for row in s.sessions.iter_mut().take(shape.clients) {
            for session in row.iter_mut().take(shape.hsms) {
                *session = r.byte()?.checked_sub(1).map(NameId);
            }
        }
        s.masked = r.pool(|r, tag| match tag {
            1 => {
                let id = KeyId(r.byte()?);
                let tag = r.byte()?;
                Some(MaskedObject::Sealed(KeyRecord {
                    id,
                    key: r.key(tag)?,
                }))
            }
            2 => Some(MaskedObject::Foreign),
            3 => Some(MaskedObject::Garbage),
            _ => None,
        })?;
        s.wrapped = r.pool(|r, tag| match tag {
            0xfe => Some(WrappedKey::Garbage),
            t => Some(WrappedKey::Wrapped {
                kind: *KeyKind::ALL.get((t as usize).checked_sub(1)?)?,
                material: Material(r.byte()?),
                under: Material(r.byte()?),
            }),
        })?;
        s.ciphertexts = r.pool(|r, tag| match tag {
            0xfe => Some(Ciphertext::Garbage),
            t => Some(Ciphertext::Made {
                material: Material(t),
                data: DataId(r.byte()?),
            }),
        })?;
        s.signatures = r.pool(|r, tag| match tag {
            0xfe => Some(Signature::Garbage),
            t => Some(Signature::Made {
                material: Material(t),
                data: DataId(r.byte()?),
            }),
        })?;
        for h in s.hsms.iter_mut().take(shape.hsms) {
            let mask = r.byte()?;
            let g = &mut h.ghost;
            let deleted = if mask & 1 != 0 { r.byte()? } else { 0 };
            for (i, d) in g.deleted_keys.iter_mut().enumerate() {
                *d = deleted & (1 << i) != 0;
            }
            for (j, at) in g.name_deleted_at.iter_mut().enumerate() {
                *at = if mask & (1 << (j + 1)) != 0 {
                    r.byte()?
                } else {
                    0
                };
            }
        }
        Some((s, r.at))
    }
}
