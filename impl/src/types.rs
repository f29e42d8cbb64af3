//! Plain data types of the API: policy, roles, key kinds, ids, views, audit records.

use std::fmt;

use crate::error::HsmError;

/// How expensive the stored password hashes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PasswordCost {
    /// Secure default: argon2id with m = 19 MiB, t = 2, p = 1 (the OWASP recommendation and
    /// the `argon2` crate's default; about 16 ms per hash on a current CPU).
    #[default]
    Default,
    /// Cheap setting for tests only: argon2id with the minimum parameters (m = 8 KiB, t = 1).
    /// Still salted and constant-time compared; only the work factor is gone.
    Test,
    /// argon2id with explicit parameters (memory in KiB, iterations, lanes).
    Argon2id {
        /// Memory cost in KiB (at least 8 × `parallelism`).
        memory_kib: u32,
        /// Number of passes (at least 1).
        iterations: u32,
        /// Lanes (at least 1).
        parallelism: u32,
    },
    /// PBKDF2-HMAC-SHA-256 with this many iterations (at least 1).
    Pbkdf2Sha256 {
        /// Iteration count.
        iterations: u32,
    },
}

/// Credentials and limits (SPEC §4). `Policy::default()` is SPEC's defaults with the secure
/// password cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Longest user name, in characters (31).
    pub name_max_chars: usize,
    /// Shortest password, in Unicode characters (8).
    pub password_min_chars: usize,
    /// Longest password, in Unicode characters (32).
    pub password_max_chars: usize,
    /// Consecutive failed logins that lock a user (5).
    pub lockout_threshold: u32,
    /// Shares per key (7).
    pub max_shares: usize,
    /// Users per HSM, the AU included (1024).
    pub max_users: usize,
    /// Keys per HSM (16666).
    pub max_keys: usize,
    /// Work factor of the stored password hashes.
    pub password_cost: PasswordCost,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name_max_chars: 31,
            password_min_chars: 8,
            password_max_chars: 32,
            lockout_threshold: 5,
            max_shares: 7,
            max_users: 1024,
            max_keys: 16666,
            password_cost: PasswordCost::Default,
        }
    }
}

impl Policy {
    /// SPEC's defaults with [`PasswordCost::Test`]: for tests.
    pub fn for_tests() -> Self {
        Policy {
            password_cost: PasswordCost::Test,
            ..Policy::default()
        }
    }
}

/// A user's role (SPEC §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The temporary first user `admin` on HSM 0 of an unactivated cluster.
    PreCryptoOfficer,
    /// Manages users.
    CryptoOfficer,
    /// Manages and uses keys.
    CryptoUser,
    /// `app_user`, the sync and cloning agent, on every HSM.
    ApplianceUser,
}

/// The kind of a key object (SPEC §3, D8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// AES-256-GCM: encrypt, decrypt, wrap, unwrap.
    Aes256,
    /// HMAC-SHA-256.
    HmacSha256,
    /// Ed25519; one object holds both halves (D8).
    Signing,
}

impl KeyKind {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            KeyKind::Aes256 => 1,
            KeyKind::HmacSha256 => 2,
            KeyKind::Signing => 3,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<KeyKind> {
        match b {
            1 => Some(KeyKind::Aes256),
            2 => Some(KeyKind::HmacSha256),
            3 => Some(KeyKind::Signing),
            _ => None,
        }
    }
}

/// A key id: from the cluster-wide counter that starts at 1 and advances only on a successful
/// GenerateKey or UnwrapKey (never reset, so ids are never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u64);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key#{}", self.0)
    }
}

/// A cluster's random identity (128 bits). Not a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterId(pub [u8; 16]);

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// GetClusterInfo's observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The cluster's identity.
    pub cluster_id: ClusterId,
    /// Whether the cluster has been activated (for good).
    pub activated: bool,
    /// One entry per HSM, by index.
    pub hsms: Vec<HsmInfo>,
}

/// One HSM in [`ClusterInfo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HsmInfo {
    /// Index in the cluster, from 0.
    pub index: usize,
    /// Blank: holds only the AU and no key.
    pub blank: bool,
}

/// One row of ListUsers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserEntry {
    /// Lower-case name.
    pub name: String,
    /// Current role.
    pub role: Role,
    /// Locked out by failed logins.
    pub locked: bool,
}

/// Read-only snapshot of one HSM, for tests and auditors (no material, no hashes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HsmSnapshot {
    /// Index of the HSM.
    pub index: usize,
    /// The cluster's activated flag, read while this HSM was locked.
    pub activated: bool,
    /// Holds only the AU and no key.
    pub blank: bool,
    /// Every user, sorted by name.
    pub users: Vec<UserView>,
    /// Every key, sorted by id.
    pub keys: Vec<KeyView>,
    /// Every open session bound to this HSM, sorted by session id.
    pub sessions: Vec<SessionView>,
}

/// A user in an [`HsmSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    /// Lower-case name.
    pub name: String,
    /// Current role.
    pub role: Role,
    /// Consecutive failed logins.
    pub failed_logins: u32,
    /// Locked out.
    pub locked: bool,
}

/// A key in an [`HsmSnapshot`] (never its material).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyView {
    /// Id.
    pub id: KeyId,
    /// Kind.
    pub kind: KeyKind,
    /// Owner's name.
    pub owner: String,
    /// Names it is shared with, sorted.
    pub shares: Vec<String>,
    /// May be wrapped.
    pub extractable: bool,
    /// Label.
    pub label: String,
}

/// A session in an [`HsmSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionView {
    /// Session id ([`crate::Session::id`]).
    pub session: u64,
    /// The user it is logged in as, if any.
    pub user: Option<String>,
}

/// The operations, as named in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
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
    /// Reading the audit log (not in SPEC; CO only).
    AuditLog,
}

/// One audit record: never a secret (no password, material, data or ciphertext).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Per-HSM sequence number, from 1, never reset (a zeroize leaves a gap before its record).
    pub seq: u64,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub time_unix_ms: u64,
    /// Session id.
    pub session: u64,
    /// The user the session was logged in as when the call started; for Login, the
    /// (lower-cased) name that was tried.
    pub user: Option<String>,
    /// Operation.
    pub operation: Operation,
    /// Outcome: `Ok(())` or the error code answered.
    pub outcome: Result<(), HsmError>,
}

impl AuditRecord {
    /// `"Ok"` or the error's code.
    pub fn outcome_code(&self) -> &'static str {
        match self.outcome {
            Ok(()) => "Ok",
            Err(e) => e.code(),
        }
    }
}
