//! Actions (an operation with its arguments, run in one client's session on one HSM) and their
//! outcomes.

use crate::state::{
    Ciphertext, ClientId, DataId, HsmId, KeyId, KeyRecord, LabelId, MaskedObject, Material, NameId,
    PasswordId, Signature, WrappedKey,
};
use crate::vocab::{ErrorCode, KeyKind, Operation, Role};
use serde::{Deserialize, Serialize};

/// One step: client `client`'s session on HSM `hsm` runs `op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Action {
    /// The client whose session runs the operation.
    pub client: ClientId,
    /// The HSM the session is bound to.
    pub hsm: HsmId,
    /// The operation and its arguments.
    #[serde(flatten)]
    pub op: Op,
}

/// An operation of SPEC §3 with its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum Op {
    Login {
        name: NameId,
        password: PasswordId,
    },
    Logout,
    GetClusterInfo,
    ListUsers,
    Zeroize,
    ChangeOwnPassword {
        password: PasswordId,
    },
    ChangePassword {
        name: NameId,
        password: PasswordId,
    },
    CreateUser {
        name: NameId,
        role: Role,
        password: PasswordId,
    },
    DeleteUser {
        name: NameId,
    },
    GetSyncStatus,
    ExtractMasked {
        key: KeyId,
    },
    InsertMasked {
        object: MaskedObject,
    },
    Clone {
        from: HsmId,
    },
    GenerateKey {
        kind: KeyKind,
        extractable: bool,
    },
    DeleteKey {
        key: KeyId,
    },
    ShareKey {
        key: KeyId,
        name: NameId,
    },
    UnshareKey {
        key: KeyId,
        name: NameId,
    },
    SetAttribute {
        key: KeyId,
        label: LabelId,
    },
    WrapKey {
        key: KeyId,
        wrapping: KeyId,
    },
    UnwrapKey {
        wrapped: WrappedKey,
        wrapping: KeyId,
    },
    Encrypt {
        key: KeyId,
        data: DataId,
    },
    Decrypt {
        key: KeyId,
        ciphertext: Ciphertext,
    },
    Sign {
        key: KeyId,
        data: DataId,
    },
    Verify {
        key: KeyId,
        data: DataId,
        signature: Signature,
    },
    Hmac {
        key: KeyId,
        data: DataId,
    },
    Digest {
        data: DataId,
    },
}

impl Op {
    /// The operation without its arguments.
    pub fn operation(&self) -> Operation {
        match self {
            Op::Login { .. } => Operation::Login,
            Op::Logout => Operation::Logout,
            Op::GetClusterInfo => Operation::GetClusterInfo,
            Op::ListUsers => Operation::ListUsers,
            Op::Zeroize => Operation::Zeroize,
            Op::ChangeOwnPassword { .. } => Operation::ChangeOwnPassword,
            Op::ChangePassword { .. } => Operation::ChangePassword,
            Op::CreateUser { .. } => Operation::CreateUser,
            Op::DeleteUser { .. } => Operation::DeleteUser,
            Op::GetSyncStatus => Operation::GetSyncStatus,
            Op::ExtractMasked { .. } => Operation::ExtractMasked,
            Op::InsertMasked { .. } => Operation::InsertMasked,
            Op::Clone { .. } => Operation::Clone,
            Op::GenerateKey { .. } => Operation::GenerateKey,
            Op::DeleteKey { .. } => Operation::DeleteKey,
            Op::ShareKey { .. } => Operation::ShareKey,
            Op::UnshareKey { .. } => Operation::UnshareKey,
            Op::SetAttribute { .. } => Operation::SetAttribute,
            Op::WrapKey { .. } => Operation::WrapKey,
            Op::UnwrapKey { .. } => Operation::UnwrapKey,
            Op::Encrypt { .. } => Operation::Encrypt,
            Op::Decrypt { .. } => Operation::Decrypt,
            Op::Sign { .. } => Operation::Sign,
            Op::Verify { .. } => Operation::Verify,
            Op::Hmac { .. } => Operation::Hmac,
            Op::Digest { .. } => Operation::Digest,
        }
    }

    /// The name argument this operation sends, if it has one (Login, ChangePassword,
    /// CreateUser, DeleteUser, ShareKey, UnshareKey), to read or to respell.
    pub fn name_arg_mut(&mut self) -> Option<&mut NameId> {
        match self {
            Op::Login { name, .. }
            | Op::ChangePassword { name, .. }
            | Op::CreateUser { name, .. }
            | Op::DeleteUser { name }
            | Op::ShareKey { name, .. }
            | Op::UnshareKey { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The key ids this operation names, as a CU needs access to them (D7).
    pub fn named_keys(&self) -> impl Iterator<Item = KeyId> {
        let (a, b) = match *self {
            Op::ExtractMasked { key }
            | Op::DeleteKey { key }
            | Op::ShareKey { key, .. }
            | Op::UnshareKey { key, .. }
            | Op::SetAttribute { key, .. }
            | Op::Encrypt { key, .. }
            | Op::Decrypt { key, .. }
            | Op::Sign { key, .. }
            | Op::Verify { key, .. }
            | Op::Hmac { key, .. } => (Some(key), None),
            Op::WrapKey { key, wrapping } => (Some(key), Some(wrapping)),
            Op::UnwrapKey { wrapping, .. } => (Some(wrapping), None),
            _ => (None, None),
        };
        a.into_iter().chain(b)
    }
}

/// A user as ListUsers shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserEntry {
    pub name: NameId,
    pub role: Role,
    pub locked: bool,
}

/// What an Ok outcome shows. Ciphertexts, signatures, masked objects and wrapped bytes are
/// tokens: the runner compares them as opaque handles, never as bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value")]
pub enum Observation {
    /// The operation succeeded and shows nothing.
    Done,
    /// Login: the role logged in as.
    LoggedIn(Role),
    /// GetClusterInfo: activated, and per HSM whether it is blank.
    ClusterInfo { activated: bool, blank: Vec<bool> },
    /// ListUsers: every user of this HSM, sorted by name.
    Users(Vec<UserEntry>),
    /// GetSyncStatus: one digest per key, standing for the record it digests, by id.
    SyncStatus(Vec<KeyRecord>),
    /// ExtractMasked.
    Masked(MaskedObject),
    /// GenerateKey, UnwrapKey, InsertMasked: the key's id.
    Key(KeyId),
    /// WrapKey.
    Wrapped(WrappedKey),
    /// Encrypt.
    Ciphertext(Ciphertext),
    /// Decrypt: the plaintext.
    Plaintext(DataId),
    /// Sign.
    Signature(Signature),
    /// Verify: valid or not.
    Verified(bool),
    /// Hmac: the tag of `data` under `material`.
    Mac { material: Material, data: DataId },
    /// Digest: the SHA-256 of `data`.
    Digest(DataId),
}

/// The outcome of a step: an observation, or an error code.
pub type Outcome = Result<Observation, ErrorCode>;
