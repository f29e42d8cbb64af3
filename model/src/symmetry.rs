//! Symmetry reduction by canonical representatives.
//!
//! Clients are interchangeable, so are the configuration's user names (not `admin`, not
//! `app_user`), and so are HSMs 1..N-1 (HSM 0 is special: it holds the PRECO). stateright's BFS
//! ignores `.symmetry()` (NOTES), so the model's `next_state` returns the representative: the
//! least state, in `Ord` order, over every renaming of names and HSMs, with clients sorted.
//! The renaming that produced it is returned too, so that a path of representatives can be
//! turned back into concrete actions ([`crate::checker::HsmModel::concretize`]).

use crate::action::{Action, Op};
use crate::config::Config;
use crate::state::*;

// The checker works at the small capacity.
const MAX_HSMS: usize = Small::HSMS;
const MAX_CLIENTS: usize = Small::CLIENTS;
const MAX_NAMES: usize = Small::NAMES;

/// Name ids a renaming covers: the valid names and two invalid ones (`Perm::name` maps any
/// further invalid name to itself).
const NAME_IDS: usize = MAX_NAMES + 2;

/// A renaming of names, HSMs and clients: each array maps an old index to a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    names: [u8; NAME_IDS],
    hsms: [u8; MAX_HSMS],
    clients: [u8; MAX_CLIENTS],
}

fn identity<const N: usize>() -> [u8; N] {
    std::array::from_fn(|i| i as u8)
}

fn inverse<const N: usize>(p: &[u8; N]) -> [u8; N] {
    let mut out = [0; N];
    for (i, &j) in p.iter().enumerate() {
        out[j as usize] = i as u8;
    }
    out
}

impl Perm {
    /// The renaming that changes nothing.
    pub fn identity() -> Perm {
        Perm {
            names: identity(),
            hsms: identity(),
            clients: identity(),
        }
    }

    /// The renaming that undoes this one.
    pub fn inverse(&self) -> Perm {
        Perm {
            names: inverse(&self.names),
            hsms: inverse(&self.hsms),
            clients: inverse(&self.clients),
        }
    }

    fn name(&self, n: NameId) -> NameId {
        NameId(*self.names.get(n.index()).unwrap_or(&n.0))
    }
    fn hsm(&self, h: HsmId) -> HsmId {
        HsmId(*self.hsms.get(h.index()).unwrap_or(&h.0))
    }
    fn client(&self, c: ClientId) -> ClientId {
        ClientId(*self.clients.get(c.index()).unwrap_or(&c.0))
    }

    fn key(&self, k: Key) -> Key {
        Key {
            owner: self.name(k.owner),
            shares: k.shares.map(|n| self.name(n)),
            ..k
        }
    }

    fn masked(&self, o: MaskedObject) -> MaskedObject {
        match o {
            MaskedObject::Sealed(r) => MaskedObject::Sealed(KeyRecord {
                id: r.id,
                key: self.key(r.key),
            }),
            other => other,
        }
    }

    fn hsm_state(&self, hsm: &Hsm) -> Hsm {
        let mut out = *hsm;
        for i in 0..MAX_NAMES {
            let j = self.names[i] as usize;
            out.users[j] = hsm.users[i];
            out.ghost.name_deleted_at[j] = hsm.ghost.name_deleted_at[i];
        }
        for k in out.keys.iter_mut().flatten() {
            *k = self.key(*k);
        }
        out
    }

    /// The state renamed.
    pub fn state(&self, s: &State) -> State {
        let mut out = *s;
        for h in 0..MAX_HSMS {
            out.hsms[self.hsms[h] as usize] = self.hsm_state(&s.hsms[h]);
        }
        for c in 0..MAX_CLIENTS {
            for h in 0..MAX_HSMS {
                out.sessions[self.clients[c] as usize][self.hsms[h] as usize] =
                    s.sessions[c][h].map(|n| self.name(n));
            }
        }
        out.masked = s.masked.map(|o| self.masked(o));
        out
    }

    /// The action renamed.
    pub fn action(&self, a: &Action) -> Action {
        let op = match a.op {
            Op::Login { name, password } => Op::Login {
                name: self.name(name),
                password,
            },
            Op::ChangePassword { name, password } => Op::ChangePassword {
                name: self.name(name),
                password,
            },
            Op::CreateUser {
                name,
                role,
                password,
            } => Op::CreateUser {
                name: self.name(name),
                role,
                password,
            },
            Op::DeleteUser { name } => Op::DeleteUser {
                name: self.name(name),
            },
            Op::InsertMasked { object } => Op::InsertMasked {
                object: self.masked(object),
            },
            Op::Clone { from } => Op::Clone {
                from: self.hsm(from),
            },
            Op::ShareKey { key, name } => Op::ShareKey {
                key,
                name: self.name(name),
            },
            Op::UnshareKey { key, name } => Op::UnshareKey {
                key,
                name: self.name(name),
            },
            other => other,
        };
        Action {
            client: self.client(a.client),
            hsm: self.hsm(a.hsm),
            op,
        }
    }
}

fn permutations(items: &[u8]) -> Vec<Vec<u8>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            out.push(tail);
        }
    }
    out
}

/// The renamings a configuration allows: the HSM renamings are listed, the name renamings are
/// searched per state (see [`Symmetry::canonicalize`]), and clients are sorted.
#[derive(Clone, Debug)]
pub struct Symmetry {
    /// Every renaming of HSMs 1..N-1 (the identity alone without symmetry).
    hsm_perms: Vec<[u8; MAX_HSMS]>,
    /// The interchangeable name ids (empty without symmetry).
    names: Vec<u8>,
    hsms: usize,
    clients: usize,
}

/// What a name is in a state, in terms that no renaming of names or clients changes: its user
/// on each HSM (in the renamed HSM order), how many sessions are logged in as it there, and
/// how many keys it owns and shares there and in the masked pool. Two names of a state can be
/// swapped only if their signatures are equal, so a canonical form need only try the
/// renamings that sort names by signature.
///
/// The signature of every name id below `MAX_NAMES` at once (for each HSM in the renamed
/// order: its user's role, password and failures, the sessions logged in as it, the keys it
/// owns and those shared with it; then the masked pool's keys it owns and shares), each as
/// one number whose order is the lexicographic order of those fields from the first to the last,
/// each in a field of bits wide enough for every value it can take (a user's code in 16
/// bits; sessions, owned and shared keys, at most 3, 6 and 6, in 4 bits each; the masked
/// pool's word in 16): 3 × 28 + 16 = 100 bits. Equal numbers are equal signatures, and 0 is
/// the all-zero signature. One pass over the state instead of one per name.
fn signature_words(
    s: &State,
    hsm_perm: &[u8; MAX_HSMS],
    hsms: usize,
    clients: usize,
) -> [u128; MAX_NAMES] {
    const _: () = assert!(MAX_CLIENTS < 16 && Small::KEY_IDS < 16 && Small::POOL < 256);
    /// Where each field starts, from the low end: the last field lowest.
    const OFFSET: [u32; 4 * MAX_HSMS + 1] = {
        let mut out = [0; 4 * MAX_HSMS + 1];
        let mut i = 4 * MAX_HSMS;
        let mut at = 0;
        loop {
            out[i] = at;
            at += if i == 4 * MAX_HSMS || i.is_multiple_of(4) {
                16
            } else {
                4
            };
            if i == 0 {
                break;
            }
            i -= 1;
        }
        out
    };
    let mut words = [0u128; MAX_NAMES];
    let mut add = |n: usize, field: usize, x: u128| {
        if let Some(w) = words.get_mut(n) {
            *w += x << OFFSET[field];
        }
    };
    for (old, (h, &new)) in s.hsms.iter().zip(hsm_perm).enumerate().take(hsms) {
        let new = new as usize;
        for (n, u) in h.users.iter().enumerate() {
            if let Some(u) = u {
                let code =
                    1 + ((u.role as u16) << 10 | (u.password.0 as u16) << 4 | u.failures as u16);
                add(n, 4 * new, code as u128);
            }
        }
        for row in &s.sessions[..clients] {
            if let Some(n) = row[old] {
                add(n.index(), 4 * new + 1, 1);
            }
        }
        for k in h.keys.iter().flatten() {
            add(k.owner.index(), 4 * new + 2, 1);
            let mut shares = k.shares.bits();
            while shares != 0 {
                add(shares.trailing_zeros() as usize, 4 * new + 3, 1);
                shares &= shares - 1;
            }
        }
    }
    for o in s.masked.iter() {
        if let MaskedObject::Sealed(r) = o {
            add(r.key.owner.index(), 4 * MAX_HSMS, 1 << 8);
            let mut shares = r.key.shares.bits();
            while shares != 0 {
                add(shares.trailing_zeros() as usize, 4 * MAX_HSMS, 1);
                shares &= shares - 1;
            }
        }
    }
    words
}

/// Calls `f` with every arrangement of `items[from..]` that keeps each run of equal keys
/// (`runs[i]` is the run id of position `i`) in place as a run.
fn arrangements(items: &mut [u8], runs: &[usize], from: usize, f: &mut impl FnMut(&[u8])) {
    if from >= items.len() {
        f(items);
        return;
    }
    let mut end = from;
    while end < items.len() && runs[end] == runs[from] {
        end += 1;
    }
    permute_run(items, runs, from, end, f);
}

fn permute_run(items: &mut [u8], runs: &[usize], i: usize, end: usize, f: &mut impl FnMut(&[u8])) {
    if i + 1 >= end {
        arrangements(items, runs, end, f);
        return;
    }
    for j in i..end {
        items.swap(i, j);
        permute_run(items, runs, i + 1, end, f);
        items.swap(i, j);
    }
}

impl Symmetry {
    /// The symmetry group of `cfg` (just the identity when `cfg.symmetry` is off).
    pub fn new(cfg: &Config) -> Symmetry {
        let hsms: Vec<u8> = (1..cfg.hsms).collect();
        let mut hsm_perms = Vec::new();
        if cfg.symmetry {
            for hp in permutations(&hsms) {
                let mut p: [u8; MAX_HSMS] = identity();
                for (from, to) in hsms.iter().zip(&hp) {
                    p[*from as usize] = *to;
                }
                hsm_perms.push(p);
            }
        } else {
            hsm_perms.push(identity());
        }
        Symmetry {
            hsm_perms,
            names: if cfg.symmetry {
                (2..cfg.valid_name_count() as u8).collect()
            } else {
                vec![]
            },
            hsms: cfg.hsms as usize,
            clients: if cfg.symmetry {
                cfg.clients as usize
            } else {
                0
            },
        }
    }

    /// How many renamings of names and HSMs the group has (1 without symmetry); clients are
    /// sorted on top of them. A state is canonicalized by trying only the renamings that
    /// sort its names by signature, usually one per HSM renaming.
    pub fn size(&self) -> usize {
        (1..=self.names.len()).product::<usize>() * self.hsm_perms.len()
    }

    /// The representative of `s`, and the renaming `p` with `p.state(s)` equal to it.
    ///
    /// The representative is the least state, in `Ord` order, among the renamings of `s` whose
    /// names come in signature order (clients sorted by their session rows). Renamings of one
    /// state and the state itself have the same such set, so they get the same representative:
    /// it is a canonical form, and the unique-state counts equal those of the exhaustive
    /// search over the whole group that it replaced (the tests pin them). Names that no part of
    /// the state mentions are swapped freely without changing the state, so they are never
    /// permuted among themselves.
    pub fn canonicalize(&self, s: &State) -> (State, Perm) {
        if let Some(p) = self.only_renaming(s) {
            return self.renamed(s, p);
        }
        let mut best: Option<(State, Perm)> = None;
        let k = self.names.len();
        for hp in &self.hsm_perms {
            let with_hsms = Perm {
                hsms: *hp,
                ..Perm::identity()
            };
            if k == 0 {
                self.consider(s, with_hsms, &mut best);
                continue;
            }
            let (order, runs, _) = self.name_order(s, hp);
            let perm = |order: &[u8]| self.with_names(with_hsms, order);
            let mut order = order;
            arrangements(&mut order[..k], &runs[..k], 0, &mut |order: &[u8]| {
                self.consider(s, perm(order), &mut best);
            });
        }
        best.unwrap_or((*s, Perm::identity()))
    }

    /// The representative of `s`, as [`Symmetry::canonicalize`] gives it: `s` itself where it
    /// is its own (the usual case: no renaming to apply), else `out`, holding it. What the
    /// checker asks for every successor, without copying a state that needs no renaming.
    pub fn representative<'a>(&self, s: &'a State, out: &'a mut State) -> &'a State {
        match self.only_renaming(s) {
            Some(p) if p == Perm::identity() && self.clients <= 1 => s,
            Some(p) => {
                *out = self.renamed(s, p).0;
                out
            }
            None => {
                *out = self.canonicalize(s).0;
                out
            }
        }
    }

    /// The names' order by signature under the HSM renaming `hp`: the old names in sorted
    /// order, the run each position belongs to (tied names share a run; unmentioned names,
    /// all-zero signature, are one run that is never permuted), and whether any run is tied.
    fn name_order(
        &self,
        s: &State,
        hp: &[u8; MAX_HSMS],
    ) -> ([u8; MAX_NAMES], [usize; MAX_NAMES], bool) {
        let k = self.names.len();
        let words = signature_words(s, hp, self.hsms, self.clients);
        let mut keyed = [(0u128, 0); MAX_NAMES];
        for (slot, &n) in keyed.iter_mut().zip(&self.names) {
            *slot = (words[n as usize], n);
        }
        keyed[..k].sort_unstable();
        let mut order = [0u8; MAX_NAMES];
        let mut runs = [0usize; MAX_NAMES];
        let mut ties = false;
        for i in 0..k {
            order[i] = keyed[i].1;
            let unmentioned = keyed[i].0 == 0;
            runs[i] = if i > 0 && keyed[i].0 == keyed[i - 1].0 && !unmentioned {
                ties = true;
                runs[i - 1]
            } else {
                i
            };
        }
        (order, runs, ties)
    }

    /// `p` with the name at sorted position i becoming the i-th interchangeable name.
    fn with_names(&self, mut p: Perm, order: &[u8]) -> Perm {
        for (i, &old) in order.iter().enumerate() {
            p.names[old as usize] = self.names[i];
        }
        p
    }

    /// The one renaming of names and HSMs to try on `s`, when there is only one: a single HSM
    /// renaming and no tied names (the usual case).
    fn only_renaming(&self, s: &State) -> Option<Perm> {
        let [hp] = self.hsm_perms.as_slice() else {
            return None;
        };
        let with_hsms = Perm {
            hsms: *hp,
            ..Perm::identity()
        };
        let k = self.names.len();
        if k == 0 {
            return Some(with_hsms);
        }
        let (order, _, ties) = self.name_order(s, hp);
        (!ties).then(|| self.with_names(with_hsms, &order[..k]))
    }

    /// `s` renamed by `p`, its clients then sorted (`p` completed with their renaming).
    fn renamed(&self, s: &State, mut p: Perm) -> (State, Perm) {
        let mut t = if p == Perm::identity() {
            *s
        } else {
            p.state(s)
        };
        if self.clients > 1 {
            // Sort the clients' session rows; the sort order is the clients' renaming.
            let mut order: [usize; MAX_CLIENTS] = std::array::from_fn(|i| i);
            order[..self.clients].sort_by(|&a, &b| t.sessions[a].cmp(&t.sessions[b]));
            let rows = t.sessions;
            for (new, &old) in order[..self.clients].iter().enumerate() {
                t.sessions[new] = rows[old];
                p.clients[old] = new as u8;
            }
        }
        (t, p)
    }

    fn consider(&self, s: &State, p: Perm, best: &mut Option<(State, Perm)>) {
        let (t, p) = self.renamed(s, p);
        if best.as_ref().is_none_or(|(b, _)| t < *b) {
            *best = Some((t, p));
        }
    }
}
