//! The spec's vocabulary: roles, key kinds, error codes, operations and their families.
//!
//! Every other crate and every CLI flag takes these names from here (one concept, one place).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The role of a user (SPEC §1). An unauthenticated session has no role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// The temporary first user on HSM 0 of an unactivated cluster (`admin`/`password`).
    PreCryptoOfficer,
    /// Manages users.
    CryptoOfficer,
    /// Manages and uses keys.
    CryptoUser,
    /// The service's sync and cloning agent, `app_user`, on every HSM from the start.
    ApplianceUser,
}

impl Role {
    /// All roles, in the order of the permission table's columns.
    pub const ALL: [Role; 4] = [
        Role::PreCryptoOfficer,
        Role::CryptoOfficer,
        Role::CryptoUser,
        Role::ApplianceUser,
    ];

    /// The role's stable id, for JSON: `preco`, `co`, `cu`, `au`.
    pub fn id(self) -> &'static str {
        match self {
            Role::PreCryptoOfficer => "preco",
            Role::CryptoOfficer => "co",
            Role::CryptoUser => "cu",
            Role::ApplianceUser => "au",
        }
    }

    /// The short name used in tables and traces (`PRECO`, `CO`, `CU`, `AU`).
    pub fn short(self) -> &'static str {
        match self {
            Role::PreCryptoOfficer => "PRECO",
            Role::CryptoOfficer => "CO",
            Role::CryptoUser => "CU",
            Role::ApplianceUser => "AU",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

/// The kind of a key (SPEC §3 "Key kinds"; signing keys hold both halves, D8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeyKind {
    /// AES-256: encrypt, decrypt, wrap.
    Aes256,
    /// HMAC-SHA-256: hmac.
    HmacSha256,
    /// A signing key pair: sign, verify.
    Signing,
}

impl KeyKind {
    /// All key kinds.
    pub const ALL: [KeyKind; 3] = [KeyKind::Aes256, KeyKind::HmacSha256, KeyKind::Signing];

    /// The kind's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Aes256 => "AES-256",
            KeyKind::HmacSha256 => "HMAC-SHA-256",
            KeyKind::Signing => "signing",
        }
    }
}

/// Declares [`ErrorCode`] from one list: the enum, `ALL` in SPEC order and each code's name.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $code:ident,)*) => {
        /// The error codes of SPEC §3, with the SPEC's names. Stable: the conformance runner
        /// and the process protocol compare them by name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $($(#[$doc])* $code,)*
        }

        impl ErrorCode {
            /// Every code, in SPEC order.
            pub const ALL: [ErrorCode; [$(stringify!($code)),*].len()] = [$(ErrorCode::$code),*];

            /// The SPEC name of the code (`"NotOwner"`), stable across versions.
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$code => stringify!($code)),*
                }
            }
        }
    };
}

error_codes! {
    /// The operation needs a logged-in session.
    NotLoggedIn,
    /// The session's role may not do this at all (its cell of the table is No).
    Forbidden,
    /// Login on a session that is already logged in.
    AlreadyLoggedIn,
    /// Login with a name that does not exist or a wrong password.
    BadCredentials,
    /// Login of a user whose failure counter reached the lockout threshold.
    LockedOut,
    /// A new password outside the policy's length.
    InvalidPassword,
    /// A user name outside the policy's syntax.
    InvalidName,
    /// CreateUser with a role other than CO or CU.
    InvalidRole,
    /// A named user does not exist on this HSM (or is not a CU where one is needed).
    NoSuchUser,
    /// The target is the AU (or the PRECO).
    ProtectedUser,
    /// The target user is logged in by a session bound to this HSM.
    TargetLoggedIn,
    /// CreateUser with a name that exists.
    UserExists,
    /// The HSM holds as many users as the policy allows.
    UserLimit,
    /// DeleteUser of a user that owns keys.
    OwnsKeys,
    /// The key does not exist or the caller cannot use it (D7).
    NoSuchKey,
    /// An owner-only operation on a key the caller can use but does not own.
    NotOwner,
    /// A masked object that is not this cluster's, or tampered, or truncated.
    BadMaskedObject,
    /// InsertMasked of a key id that exists on this HSM.
    KeyExists,
    /// The HSM holds as many keys as the policy allows.
    KeyLimit,
    /// Clone before the cluster is activated.
    NotActivated,
    /// Clone onto an HSM that is not blank.
    NotBlank,
    /// Clone from a blank HSM, this HSM, or an index that is no HSM of the cluster.
    SourceBlank,
    /// Share or unshare with a user that is not a CU, or the owner.
    InvalidTarget,
    /// ShareKey with a user it is shared with already.
    AlreadyShared,
    /// UnshareKey with a user it is not shared with.
    NotShared,
    /// ShareKey beyond the policy's share limit.
    ShareLimit,
    /// WrapKey of a key created not extractable.
    NotExtractable,
    /// The key's kind does not do this.
    WrongKeyKind,
    /// Unwrap of bytes not wrapped under this wrapping key's material.
    BadWrappedKey,
    /// Decrypt of a ciphertext not made under this key's material.
    BadCiphertext,
}

impl ErrorCode {
    /// The code with this SPEC name, if any.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A family of operations: the unit in which operations are switched on and off, in the model's
/// configurations and in every CLI flag (`--ops sessions,users`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Login, Logout.
    Sessions,
    /// GetClusterInfo, ListUsers.
    Cluster,
    /// Zeroize, Clone.
    Lifecycle,
    /// ChangeOwnPassword, ChangePassword.
    Passwords,
    /// CreateUser, DeleteUser.
    Users,
    /// GenerateKey, DeleteKey, ShareKey, UnshareKey, SetAttribute, WrapKey, UnwrapKey.
    Keys,
    /// Encrypt, Decrypt, Sign, Verify, Hmac, Digest.
    Crypto,
    /// GetSyncStatus, ExtractMasked, InsertMasked.
    Masking,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 8] = [
        Family::Sessions,
        Family::Cluster,
        Family::Lifecycle,
        Family::Passwords,
        Family::Users,
        Family::Keys,
        Family::Crypto,
        Family::Masking,
    ];

    /// The lower-case name used on the command line and in traces.
    pub fn name(self) -> &'static str {
        match self {
            Family::Sessions => "sessions",
            Family::Cluster => "cluster",
            Family::Lifecycle => "lifecycle",
            Family::Passwords => "passwords",
            Family::Users => "users",
            Family::Keys => "keys",
            Family::Crypto => "crypto",
            Family::Masking => "masking",
        }
    }

    /// The family with this name.
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The operations of this family.
    pub fn operations(self) -> impl Iterator<Item = Operation> {
        Operation::ALL
            .into_iter()
            .filter(move |o| o.family() == self)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of families, as a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "Vec<Family>", from = "Vec<Family>")]
pub struct Families(u16);

impl Families {
    /// Every family.
    pub fn all() -> Families {
        Families::from_iter(Family::ALL)
    }
    /// No family.
    pub fn none() -> Families {
        Families(0)
    }
    /// Whether `family` is in the set.
    pub fn contains(self, family: Family) -> bool {
        self.0 & (1 << family as u16) != 0
    }
    /// The set with `family` added.
    pub fn with(self, family: Family) -> Families {
        Families(self.0 | (1 << family as u16))
    }
    /// The families in the set.
    pub fn iter(self) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |f| self.contains(*f))
    }
    /// Parses a comma-separated list of family names (`all` for every family).
    pub fn parse(text: &str) -> Result<Families, crate::Error> {
        let mut set = Families::none();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                return Ok(Families::all());
            }
            let family = Family::from_name(part).ok_or_else(|| crate::Error::UnknownFamily {
                name: part.to_string(),
                known: Family::ALL.iter().map(|f| f.name()).collect(),
            })?;
            set = set.with(family);
        }
        Ok(set)
    }
}

impl FromIterator<Family> for Families {
    fn from_iter<I: IntoIterator<Item = Family>>(iter: I) -> Self {
        iter.into_iter().fold(Families::none(), Families::with)
    }
}

impl From<Families> for Vec<Family> {
    fn from(f: Families) -> Self {
        f.iter().collect()
    }
}

impl From<Vec<Family>> for Families {
    fn from(v: Vec<Family>) -> Self {
        v.into_iter().collect()
    }
}

impl fmt::Display for Families {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.iter().map(|f| f.name()).collect();
        f.write_str(&names.join(","))
    }
}

/// An operation of SPEC §3, without its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operation {
    Login,
    Logout,
    GetClusterInfo,
    ListUsers,
    Zeroize,
    ChangeOwnPassword,
    ChangePassword,
    CreateUser,
    DeleteUser,
    GetSyncStatus,
    ExtractMasked,
    InsertMasked,
    Clone,
    GenerateKey,
    DeleteKey,
    ShareKey,
    UnshareKey,
    SetAttribute,
    WrapKey,
    UnwrapKey,
    Encrypt,
    Decrypt,
    Sign,
    Verify,
    Hmac,
    Digest,
}

impl Operation {
    /// Every operation, in SPEC §3 order.
    pub const ALL: [Operation; 26] = [
        Operation::Login,
        Operation::Logout,
        Operation::GetClusterInfo,
        Operation::ListUsers,
        Operation::Zeroize,
        Operation::ChangeOwnPassword,
        Operation::ChangePassword,
        Operation::CreateUser,
        Operation::DeleteUser,
        Operation::GetSyncStatus,
        Operation::ExtractMasked,
        Operation::InsertMasked,
        Operation::Clone,
        Operation::GenerateKey,
        Operation::DeleteKey,
        Operation::ShareKey,
        Operation::UnshareKey,
        Operation::SetAttribute,
        Operation::WrapKey,
        Operation::UnwrapKey,
        Operation::Encrypt,
        Operation::Decrypt,
        Operation::Sign,
        Operation::Verify,
        Operation::Hmac,
        Operation::Digest,
    ];

    /// The family this operation belongs to.
    pub fn family(self) -> Family {
        use Operation::*;
        match self {
            Login | Logout => Family::Sessions,
            GetClusterInfo | ListUsers => Family::Cluster,
            Zeroize | Clone => Family::Lifecycle,
            ChangeOwnPassword | ChangePassword => Family::Passwords,
            CreateUser | DeleteUser => Family::Users,
            GetSyncStatus | ExtractMasked | InsertMasked => Family::Masking,
            GenerateKey | DeleteKey | ShareKey | UnshareKey | SetAttribute | WrapKey
            | UnwrapKey => Family::Keys,
            Encrypt | Decrypt | Sign | Verify | Hmac | Digest => Family::Crypto,
        }
    }

    /// The SPEC name of the operation.
    pub fn name(self) -> &'static str {
        use Operation::*;
        match self {
            Login => "Login",
            Logout => "Logout",
            GetClusterInfo => "GetClusterInfo",
            ListUsers => "ListUsers",
            Zeroize => "Zeroize",
            ChangeOwnPassword => "ChangeOwnPassword",
            ChangePassword => "ChangePassword",
            CreateUser => "CreateUser",
            DeleteUser => "DeleteUser",
            GetSyncStatus => "GetSyncStatus",
            ExtractMasked => "ExtractMasked",
            InsertMasked => "InsertMasked",
            Clone => "Clone",
            GenerateKey => "GenerateKey",
            DeleteKey => "DeleteKey",
            ShareKey => "ShareKey",
            UnshareKey => "UnshareKey",
            SetAttribute => "SetAttribute",
            WrapKey => "WrapKey",
            UnwrapKey => "UnwrapKey",
            Encrypt => "Encrypt",
            Decrypt => "Decrypt",
            Sign => "Sign",
            Verify => "Verify",
            Hmac => "Hmac",
            Digest => "Digest",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
