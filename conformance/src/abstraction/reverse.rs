//! The abstraction function backwards: the model's action for a request that was sent.
//!
//! The concurrent campaign records what each thread sent (a [`Call`] with texts, bytes and
//! handles) and judges the history afterwards, in many candidate orders. In each order the
//! request is put back in the model's terms with the bindings of that order: a handle names
//! the key its first answer bound it to, bytes stand for the token they were answered for.

use super::junk::GARBAGE;
use super::tokens::Tokens;
use super::Abstraction;
use crate::protocol::{Bytes, Call};
use hsm_model::state::{
    Ciphertext, ClientId, DataId, HsmId, KeyId, LabelId, MaskedObject, PasswordId, Signature,
    WrappedKey,
};
use hsm_model::{Action, Op};

/// The handle the runner sends for a key that has none yet (see [`Abstraction::handle`]).
const NO_SUCH_KEY: &str = "hsmspec-no-such-key-";

impl Abstraction {
    /// The model's action for `call`, sent in client `client`'s session on HSM `hsm`, with
    /// this abstraction's bindings; `None` when the call names a handle or bytes that no
    /// answer bound yet (so it cannot come here in this order), or text that is in no table.
    pub fn action_of(&self, client: ClientId, hsm: HsmId, call: &Call) -> Option<Action> {
        let cfg = self.config();
        let name = |text: &str| cfg.spelled_name_ids().find(|&n| cfg.name_text(n) == text);
        let password = |text: &str| {
            (0..2 + cfg.passwords.len() as u8)
                .map(PasswordId)
                .find(|&p| cfg.password_text(p) == text)
        };
        let label = |text: &str| {
            (0..=cfg.labels.len() as u8)
                .map(LabelId)
                .find(|&l| cfg.label_text(l) == text)
        };
        let data = |b: &Bytes| {
            (0..cfg.data.len() as u8)
                .map(DataId)
                .find(|&d| cfg.data_text(d).as_bytes() == b.0.as_slice())
        };
        let key = |h: &str| match self.key_of_handle(h) {
            Some(k) => Some(k),
            None => h.strip_prefix(NO_SUCH_KEY)?.parse().ok().map(KeyId),
        };
        fn token<T: Copy + Eq + std::hash::Hash + Ord>(
            table: &Tokens<T>,
            b: &Bytes,
            garbage: T,
        ) -> T {
            table.token_of(&b.0).unwrap_or(garbage)
        }
        let op = match call {
            Call::Login {
                name: n,
                password: p,
            } => Op::Login {
                name: name(n)?,
                password: password(p.text())?,
            },
            Call::Logout {} => Op::Logout,
            Call::GetClusterInfo {} => Op::GetClusterInfo,
            Call::ListUsers {} => Op::ListUsers,
            Call::Zeroize {} => Op::Zeroize,
            Call::ChangeOwnPassword { password: p } => Op::ChangeOwnPassword {
                password: password(p.text())?,
            },
            Call::ChangePassword {
                name: n,
                password: p,
            } => Op::ChangePassword {
                name: name(n)?,
                password: password(p.text())?,
            },
            Call::CreateUser {
                name: n,
                role,
                password: p,
            } => Op::CreateUser {
                name: name(n)?,
                role: *role,
                password: password(p.text())?,
            },
            Call::DeleteUser { name: n } => Op::DeleteUser { name: name(n)? },
            Call::GetSyncStatus {} => Op::GetSyncStatus,
            Call::ExtractMasked { key: k } => Op::ExtractMasked { key: key(k)? },
            Call::InsertMasked { object } => Op::InsertMasked {
                object: if self.foreign.as_deref() == Some(object.0.as_slice()) {
                    MaskedObject::Foreign
                } else {
                    token(&self.masked, object, MaskedObject::Garbage)
                },
            },
            Call::Clone { from } => Op::Clone {
                from: HsmId(u8::try_from(*from).ok()?),
            },
            Call::GenerateKey { kind, extractable } => Op::GenerateKey {
                kind: *kind,
                extractable: *extractable,
            },
            Call::DeleteKey { key: k } => Op::DeleteKey { key: key(k)? },
            Call::ShareKey { key: k, name: n } => Op::ShareKey {
                key: key(k)?,
                name: name(n)?,
            },
            Call::UnshareKey { key: k, name: n } => Op::UnshareKey {
                key: key(k)?,
                name: name(n)?,
            },
            Call::SetAttribute { key: k, label: l } => Op::SetAttribute {
                key: key(k)?,
                label: label(l)?,
            },
            Call::WrapKey { key: k, wrapping } => Op::WrapKey {
                key: key(k)?,
                wrapping: key(wrapping)?,
            },
            Call::UnwrapKey { wrapped, wrapping } => Op::UnwrapKey {
                wrapped: token(&self.wrapped, wrapped, WrappedKey::Garbage),
                wrapping: key(wrapping)?,
            },
            Call::Encrypt { key: k, data: d } => Op::Encrypt {
                key: key(k)?,
                data: data(d)?,
            },
            Call::Decrypt { key: k, ciphertext } => Op::Decrypt {
                key: key(k)?,
                ciphertext: token(&self.ciphertexts, ciphertext, Ciphertext::Garbage),
            },
            Call::Sign { key: k, data: d } => Op::Sign {
                key: key(k)?,
                data: data(d)?,
            },
            Call::Verify {
                key: k,
                data: d,
                signature,
            } => Op::Verify {
                key: key(k)?,
                data: data(d)?,
                signature: if signature.0 == GARBAGE {
                    Signature::Garbage
                } else {
                    token(&self.signatures, signature, Signature::Garbage)
                },
            },
            Call::Hmac { key: k, data: d } => Op::Hmac {
                key: key(k)?,
                data: data(d)?,
            },
            Call::Digest { data: d } => Op::Digest { data: data(d)? },
        };
        Some(Action { client, hsm, op })
    }

    /// Whether `a`, sent now, would name only keys and objects this abstraction has bytes or
    /// handles for (a thread of the concurrent campaign skips an action of its plan that
    /// needs another thread's key or object, since it cannot know the handle yet).
    pub fn can_send(&self, a: &Action) -> bool {
        let objects_known = match a.op {
            Op::UnwrapKey { wrapped, .. } => {
                matches!(wrapped, WrappedKey::Garbage) || self.wrapped.contains(&wrapped)
            }
            Op::Decrypt { ciphertext, .. } => {
                matches!(ciphertext, Ciphertext::Garbage) || self.ciphertexts.contains(&ciphertext)
            }
            Op::Verify { signature, .. } => {
                matches!(signature, Signature::Garbage) || self.signatures.contains(&signature)
            }
            Op::InsertMasked { object } => match object {
                MaskedObject::Foreign => self.foreign.is_some(),
                MaskedObject::Garbage => true,
                MaskedObject::Sealed(_) => self.masked.contains(&object),
            },
            _ => true,
        };
        objects_known && a.op.named_keys().all(|k| self.key_handle.contains_key(&k))
    }
}
