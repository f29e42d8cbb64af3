//! Symmetry reduction by canonical representatives.
//!
//! Clients are interchangeable, so are the configuration's user names (not `admin`, not
//! `app_user`), and so are HSMs 1..N-1 (HSM 0 is special: it holds the PRECO). stateright's BFS
//! ignores `.symmetry()` (NOTES), so the model's `next_state` returns the representative: the
//! least state, in `Ord` order, over every renaming of names and HSMs, with clients sorted.
//! The renaming that produced it is returned too, so that a path of representatives can be
//! turned back into a concrete trace ([`crate::trace`]).

use crate::action::{Action, Op};
use crate::config::Config;
use crate::state::*;

/// Name ids a renaming covers: the valid names and up to two invalid ones.
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

/// The renamings of names and HSMs a configuration allows (clients are sorted instead).
#[derive(Clone, Debug)]
pub struct Symmetry {
    perms: Vec<Perm>,
    clients: usize,
}

impl Symmetry {
    /// The symmetry group of `cfg` (just the identity when `cfg.symmetry` is off).
    pub fn new(cfg: &Config) -> Symmetry {
        let names: Vec<u8> = (2..cfg.valid_name_count() as u8).collect();
        let hsms: Vec<u8> = (1..cfg.hsms).collect();
        let mut perms = Vec::new();
        if cfg.symmetry {
            for np in permutations(&names) {
                for hp in permutations(&hsms) {
                    let mut p = Perm::identity();
                    for (from, to) in names.iter().zip(&np) {
                        p.names[*from as usize] = *to;
                    }
                    for (from, to) in hsms.iter().zip(&hp) {
                        p.hsms[*from as usize] = *to;
                    }
                    perms.push(p);
                }
            }
        } else {
            perms.push(Perm::identity());
        }
        Symmetry {
            perms,
            clients: if cfg.symmetry {
                cfg.clients as usize
            } else {
                0
            },
        }
    }

    /// How many renamings of names and HSMs are tried per state.
    pub fn size(&self) -> usize {
        self.perms.len()
    }

    /// The representative of `s`, and the renaming `p` with `p.state(s)` equal to it.
    pub fn canonicalize(&self, s: &State) -> (State, Perm) {
        let mut best: Option<(State, Perm)> = None;
        for p in &self.perms {
            let mut p = *p;
            let mut t = p.state(s);
            if self.clients > 1 {
                // Sort the clients' session rows; the sort order is the clients' renaming.
                let mut order: Vec<usize> = (0..self.clients).collect();
                order.sort_by(|&a, &b| t.sessions[a].cmp(&t.sessions[b]));
                let rows = t.sessions;
                for (new, &old) in order.iter().enumerate() {
                    t.sessions[new] = rows[old];
                    p.clients[old] = new as u8;
                }
            }
            if best.as_ref().is_none_or(|(b, _)| t < *b) {
                best = Some((t, p));
            }
        }
        best.unwrap_or((*s, Perm::identity()))
    }
}
