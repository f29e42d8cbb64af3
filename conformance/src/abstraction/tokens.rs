//! The opaque byte strings a system answered, and the model token each stands for.
//!
//! A token can stand for many byte strings: a masked object extracted twice, or on two HSMs,
//! comes back under two nonces, and both are that one object. The runner sends the first
//! bytes it learnt for a token; any bytes that were answered for it name it when a request is
//! read backwards (the concurrent judge reads each thread's requests, and a thread sends the
//! bytes *it* was answered, which need not be the first the judge's order saw).

use crate::protocol::Bytes;
use std::collections::HashMap;
use std::hash::Hash;

/// Answered bytes and their tokens, both ways.
#[derive(Clone, Debug)]
pub struct Tokens<T> {
    /// The first bytes answered for each token: what the runner sends for it.
    sent: HashMap<T, Vec<u8>>,
    /// Every byte string answered, with the token it was answered for (the first, should
    /// one byte string come back for two tokens).
    answered: HashMap<Vec<u8>, T>,
}

impl<T> Default for Tokens<T> {
    fn default() -> Tokens<T> {
        Tokens {
            sent: HashMap::new(),
            answered: HashMap::new(),
        }
    }
}

impl<T: Copy + Eq + Hash + Ord> Tokens<T> {
    /// Records that `bytes` were answered for `token`.
    pub fn learn(&mut self, token: T, bytes: Vec<u8>) {
        self.sent.entry(token).or_insert_with(|| bytes.clone());
        self.answered.entry(bytes).or_insert(token);
    }

    /// The bytes the runner sends for `token`, if any were answered for it.
    pub fn bytes(&self, token: &T) -> Option<&[u8]> {
        self.sent.get(token).map(Vec::as_slice)
    }

    /// Whether some bytes were answered for `token`.
    pub fn contains(&self, token: &T) -> bool {
        self.sent.contains_key(token)
    }

    /// The token `bytes` were answered for, if they were.
    pub fn token_of(&self, bytes: &[u8]) -> Option<T> {
        self.answered.get(bytes).copied()
    }

    /// Every byte string answered.
    pub fn all(&self) -> impl Iterator<Item = &[u8]> {
        self.answered.keys().map(Vec::as_slice)
    }

    /// An order-independent digest of everything learnt.
    pub fn digest(&self) -> u64 {
        fn one(x: impl Hash) -> u64 {
            use std::hash::Hasher;
            let mut h = std::collections::hash_map::DefaultHasher::new();
            x.hash(&mut h);
            h.finish()
        }
        let sent = self.sent.iter().map(one).fold(0u64, u64::wrapping_add);
        let answered = self.answered.iter().map(one).fold(0u64, u64::wrapping_add);
        one((sent, answered))
    }

    /// Everything learnt as pairs, sorted by token, each token's sent bytes first (so that
    /// [`Tokens::from_entries`] gives the same abstraction back).
    pub fn entries(&self) -> Vec<(T, Bytes)> {
        let mut v: Vec<(T, bool, &Vec<u8>)> = self
            .answered
            .iter()
            .map(|(b, t)| (*t, self.sent.get(t) != Some(b), b))
            .collect();
        v.sort();
        v.into_iter()
            .map(|(t, _, b)| (t, Bytes(b.clone())))
            .collect()
    }

    /// The tokens of `entries`, learnt in their order.
    pub fn from_entries(entries: Vec<(T, Bytes)>) -> Tokens<T> {
        let mut out = Tokens::default();
        for (t, b) in entries {
            out.learn(t, b.0);
        }
        out
    }
}
