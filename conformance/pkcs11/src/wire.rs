//! What the bridge asks of a worker process and what the worker answers: one JSON object per
//! line on the worker's standard input and output. These are PKCS#11 calls (or short fixed
//! sequences of them), not the spec's operations: the bridge decides what each operation of
//! the spec becomes.

use hsm_conformance::protocol::{Bytes, Password};
use hsm_model::KeyKind;
use serde::{Deserialize, Serialize};

/// A job for a worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// `C_Initialize`, then `C_InitToken` of the first slot (the SO PIN and the label given),
    /// then `C_Finalize`: the fresh token of a trace.
    InitToken {
        /// The SO PIN.
        so_pin: Password,
        /// The token's label.
        label: String,
    },
    /// `C_Initialize`, the slot whose token has `label`, `C_OpenSession` (read-write): the
    /// worker's one session.
    Open {
        /// The token's label.
        label: String,
    },
    /// `C_Finalize`, then [`Job::Open`] again and `C_Login` as before: after another worker
    /// changed a PIN (SoftHSM2 keeps the PINs it read at `C_Initialize`).
    Reopen {
        /// The token's label.
        label: String,
        /// Log in again: as the SO (`true`) or the User, with this PIN.
        login: Option<(bool, Password)>,
    },
    /// `C_Login` as the SO (`so`) or the User.
    Login {
        /// The SO (`true`) or the User.
        so: bool,
        /// The PIN.
        pin: Password,
    },
    /// `C_Logout`.
    Logout,
    /// `C_SetPIN` in the worker's session.
    SetPin {
        /// The PIN now.
        old: Password,
        /// The new PIN.
        new: Password,
    },
    /// `C_InitPIN` (the SO sets the User's PIN).
    InitPin {
        /// The User's new PIN.
        pin: Password,
    },
    /// `C_GetSessionInfo` and `C_GetTokenInfo`; with `keys`, every key object the session
    /// sees (`C_FindObjects`, `C_GetAttributeValue`).
    Look {
        /// Whether to list the keys.
        keys: bool,
    },
    /// `C_GenerateKey` (AES, generic secret) or `C_GenerateKeyPair` (EC P-256) with `CKA_ID`.
    Generate {
        /// The spec's key kind.
        kind: KeyKind,
        /// `CKA_EXTRACTABLE`.
        extractable: bool,
        /// `CKA_ID`.
        id: String,
    },
    /// `C_DestroyObject` of every object with this `CKA_ID`.
    Destroy {
        /// `CKA_ID`.
        id: String,
    },
    /// `C_SetAttributeValue` of `CKA_LABEL` on every object with this `CKA_ID`.
    Label {
        /// `CKA_ID`.
        id: String,
        /// The label.
        label: String,
    },
    /// `C_WrapKey` (`CKM_AES_KEY_WRAP_PAD`) of key `id` under `wrapping`, with the bridge's
    /// header (the kind, and a signing key's public point) under AES-GCM of the same key.
    Wrap {
        /// The key wrapped.
        id: String,
        /// The wrapping key.
        wrapping: String,
    },
    /// The header opened (`C_Decrypt`, AES-GCM), then `C_UnwrapKey` into a key with `CKA_ID`
    /// `id` (and `C_CreateObject` of a signing key's public key).
    Unwrap {
        /// The wrapped bytes, as [`Job::Wrap`] made them.
        wrapped: Bytes,
        /// The unwrapping key.
        wrapping: String,
        /// The new key's `CKA_ID`.
        id: String,
    },
    /// `C_Encrypt`, AES-GCM with a fresh 12-byte IV (`C_GenerateRandom`) put in front.
    Encrypt {
        /// `CKA_ID`.
        id: String,
        /// The plaintext.
        data: Bytes,
    },
    /// `C_Decrypt`, AES-GCM, the IV read from the front.
    Decrypt {
        /// `CKA_ID`.
        id: String,
        /// IV and ciphertext.
        data: Bytes,
    },
    /// `C_Digest` (SHA-256) then `C_Sign` (`CKM_ECDSA`) with the private key.
    Sign {
        /// `CKA_ID`.
        id: String,
        /// The data.
        data: Bytes,
    },
    /// `C_Digest` (SHA-256) then `C_Verify` (`CKM_ECDSA`) with the public key.
    Verify {
        /// `CKA_ID`.
        id: String,
        /// The data.
        data: Bytes,
        /// The signature.
        signature: Bytes,
    },
    /// `C_Sign` with `CKM_SHA256_HMAC`.
    Hmac {
        /// `CKA_ID`.
        id: String,
        /// The data.
        data: Bytes,
    },
    /// `C_Digest` with `CKM_SHA256`.
    Digest {
        /// The data.
        data: Bytes,
    },
}

/// A worker session's login state, as `C_GetSessionInfo` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Login {
    /// Not logged in.
    Public,
    /// Logged in as the SO.
    So,
    /// Logged in as the User.
    User,
}

/// A key as `C_GetAttributeValue` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLine {
    /// `CKA_ID`, as text.
    pub id: String,
    /// The spec's kind of its class and key type.
    pub kind: KeyKind,
    /// `CKA_EXTRACTABLE`.
    pub extractable: bool,
    /// `CKA_LABEL`.
    pub label: String,
}

/// What [`Job::Look`] sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Look {
    /// The session's login state.
    pub login: Login,
    /// `CKF_USER_PIN_INITIALIZED`.
    pub user_pin_initialized: bool,
    /// `CKF_SO_PIN_COUNT_LOW`, `CKF_SO_PIN_FINAL_TRY`, `CKF_SO_PIN_LOCKED`.
    pub so_pin: PinFlags,
    /// `CKF_USER_PIN_COUNT_LOW`, `CKF_USER_PIN_FINAL_TRY`, `CKF_USER_PIN_LOCKED`.
    pub user_pin: PinFlags,
    /// `ulMinPinLen`, `ulMaxPinLen`.
    pub pin_lengths: (u64, u64),
    /// The keys, when asked for.
    pub keys: Option<Vec<KeyLine>>,
}

/// The flags a token keeps about one PIN's failed logins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinFlags {
    /// A login failed since the last success.
    pub count_low: bool,
    /// One more failure locks it.
    pub final_try: bool,
    /// Locked.
    pub locked: bool,
}

/// The result of a job that succeeded.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Out {
    /// Nothing to return.
    Done,
    /// Bytes (a ciphertext, a plaintext, a signature, a tag, a digest, wrapped bytes).
    Bytes(Bytes),
    /// `C_Verify`: CKR_OK (`true`) or CKR_SIGNATURE_INVALID / CKR_SIGNATURE_LEN_RANGE.
    Valid(bool),
    /// What [`Job::Look`] saw.
    Look(Look),
}

/// Why a job failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fail {
    /// A PKCS#11 function returned this `CKR_…` value.
    Ckr {
        /// The function (`C_Login`).
        function: String,
        /// The return value's name (`CKR_PIN_INCORRECT`).
        ckr: String,
    },
    /// No object of a kind the job can use has this `CKA_ID` in the session's view.
    NoObject,
    /// The key is of a type the operation's one mechanism does not take (a secret key for
    /// ECDSA): the bridge does not call the token, which would accept it (SoftHSM2 signs with
    /// an HMAC key under CKM_ECDSA and answers 0 bytes).
    NoMechanism,
    /// Bytes the bridge made that do not parse (wrapped bytes too short, …).
    Malformed,
    /// Anything else (the module cannot be loaded, no slot has the token, a bad request line):
    /// the worker cannot go on.
    Broken(String),
}

impl Fail {
    /// The failure in a sentence.
    pub fn text(&self) -> String {
        match self {
            Fail::Ckr { function, ckr } => format!("{function} returned {ckr}"),
            Fail::NoObject => "no key object has this CKA_ID".into(),
            Fail::NoMechanism => "the operation's mechanism does not take this key's type".into(),
            Fail::Malformed => "bytes the bridge cannot read".into(),
            Fail::Broken(m) => m.clone(),
        }
    }
}

/// A worker's answer to one job.
pub type Answer = Result<Out, Fail>;
