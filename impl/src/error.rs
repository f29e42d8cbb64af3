//! The one error enum of the crate.

use std::fmt;

macro_rules! hsm_errors {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {
        /// Every refusal an operation of this crate can answer.
        ///
        /// The first 30 variants are the codes of SPEC §3, with the same names; each one's
        /// [`HsmError::code`] is exactly its variant name (`HsmError::NotOwner.code() == "NotOwner"`).
        /// The last ones (`NoSuchHsm`, `InvalidPolicy`, `RandomFailure`) are about this
        /// library's handles and set-up, not about the specification.
        ///
        /// Error values never carry a secret: they are plain codes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum HsmError {
            $( $(#[$doc])* $name, )*
        }

        impl HsmError {
            /// Every variant, in declaration order.
            pub const ALL: &'static [HsmError] = &[ $( HsmError::$name, )* ];

            /// The stable code string: the variant's (and SPEC's) name.
            pub fn code(&self) -> &'static str {
                match self { $( HsmError::$name => stringify!($name), )* }
            }

            /// The variant whose [`HsmError::code`] is `code`.
            pub fn from_code(code: &str) -> Option<HsmError> {
                match code { $( stringify!($name) => Some(HsmError::$name), )* _ => None }
            }
        }
    };
}

hsm_errors! {
    /// The operation needs a logged-in session (every operation but Login, Logout,
    /// GetClusterInfo, ListUsers and Zeroize; also Logout of an unauthenticated session).
    NotLoggedIn,
    /// The session's current role may not perform this operation at all (SPEC §8 table;
    /// Clone is the AU's alone; AuditLog is the CO's alone).
    Forbidden,
    /// Login on a session that is already logged in.
    AlreadyLoggedIn,
    /// Login with an unknown name or a wrong password (also a password of the wrong length).
    BadCredentials,
    /// Login of a user whose failed-login counter reached the lockout threshold.
    LockedOut,
    /// ChangeOwnPassword, ChangePassword, CreateUser (and `Cluster::new` for the AU password):
    /// the new password has the wrong length.
    InvalidPassword,
    /// CreateUser: the name (after lower-casing) is not 1–31 characters of `a-z 0-9 _`.
    InvalidName,
    /// CreateUser: the role is not CO or CU.
    InvalidRole,
    /// ChangePassword, DeleteUser, ShareKey, UnshareKey: no such user on this HSM;
    /// InsertMasked: the owner or a shared name is not a CU of this HSM.
    NoSuchUser,
    /// ChangePassword, DeleteUser: the target is the AU (or a PRECO).
    ProtectedUser,
    /// ChangePassword (not for the caller's own name), DeleteUser (caller included): a session
    /// bound to this HSM is logged in as the target.
    TargetLoggedIn,
    /// CreateUser: the name is taken on this HSM.
    UserExists,
    /// CreateUser: the HSM holds the maximum number of users (AU included).
    UserLimit,
    /// DeleteUser: the user owns keys on this HSM.
    OwnsKeys,
    /// Every operation naming a key: no such key on this HSM, or the caller cannot use it (D7).
    NoSuchKey,
    /// ExtractMasked (CU), DeleteKey, ShareKey, UnshareKey, SetAttribute, WrapKey: the key is
    /// only shared with the caller.
    NotOwner,
    /// InsertMasked: the object is not a masked object of this cluster (foreign, tampered,
    /// truncated, garbage).
    BadMaskedObject,
    /// InsertMasked: a key with that id exists on this HSM.
    KeyExists,
    /// GenerateKey, UnwrapKey, InsertMasked: the HSM holds the maximum number of keys.
    KeyLimit,
    /// Clone: the cluster has not been activated.
    NotActivated,
    /// Clone: this (target) HSM is not blank.
    NotBlank,
    /// Clone: the source HSM is blank, is this HSM, or is no HSM of the cluster.
    SourceBlank,
    /// ShareKey, UnshareKey: the target user is not a CU, or is the key's owner.
    InvalidTarget,
    /// ShareKey: the key is already shared with that user.
    AlreadyShared,
    /// UnshareKey: the key is not shared with that user.
    NotShared,
    /// ShareKey: the key already has the maximum number of shares.
    ShareLimit,
    /// WrapKey: the key to wrap is not extractable.
    NotExtractable,
    /// Encrypt, Decrypt, WrapKey, UnwrapKey (wrapping key not AES), Sign, Verify (not a signing
    /// key), Hmac (not an HMAC key).
    WrongKeyKind,
    /// UnwrapKey: the bytes are not a key wrapped under this wrapping key's material.
    BadWrappedKey,
    /// Decrypt: the ciphertext is not authentic under this key's material.
    BadCiphertext,
    /// Not in SPEC: `Cluster::open_session` / `Cluster::inspect` with an index that is no HSM.
    NoSuchHsm,
    /// Not in SPEC: `Cluster::new` with zero HSMs or password-cost parameters the hash refuses.
    InvalidPolicy,
    /// Not in SPEC: the operating system's random source failed (nothing was changed).
    RandomFailure,
}

impl fmt::Display for HsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for HsmError {}
