//! Every PKCS#11 return value the bridge can meet, mapped to an answer of the protocol: an
//! error code of the spec, `unsupported`, or a refusal that names the function and the value
//! (a divergence: the table has no place for it). `docs/real-hsms.md` prints this table; a
//! test holds the page to [`TABLE`].

use crate::wire::{Fail, Login};
use cryptoki::error::RvError;
use hsm_conformance::protocol::Reply;
use hsm_model::ErrorCode;

/// Where a return value was met: some values mean one thing in one operation and another
/// elsewhere (CKR_GENERAL_ERROR is SoftHSM2's answer to a tampered ciphertext).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Decrypt (`C_DecryptInit`, `C_Decrypt`).
    Decrypt,
    /// UnwrapKey (the header's `C_Decrypt`, `C_UnwrapKey`).
    Unwrap,
    /// Any other operation.
    Other,
}

/// What a return value becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// This error code.
    Code(ErrorCode),
    /// NotLoggedIn when the session is not logged in, Forbidden when it is (as the SO or the
    /// User, but not as the one who may).
    NotLoggedInOrForbidden,
    /// `unsupported`: the token lacks a mechanism or function the mapping needs.
    Unsupported,
}

/// The table: return value, where (None: anywhere), what it becomes. A value not in it is
/// refused, naming the function and the value.
pub const TABLE: &[(&str, Option<Context>, Meaning)] = &[
    (
        "CKR_PIN_INCORRECT",
        None,
        Meaning::Code(ErrorCode::BadCredentials),
    ),
    (
        "CKR_USER_PIN_NOT_INITIALIZED",
        None,
        Meaning::Code(ErrorCode::BadCredentials),
    ),
    ("CKR_PIN_LOCKED", None, Meaning::Code(ErrorCode::LockedOut)),
    (
        "CKR_PIN_LEN_RANGE",
        None,
        Meaning::Code(ErrorCode::InvalidPassword),
    ),
    (
        "CKR_PIN_INVALID",
        None,
        Meaning::Code(ErrorCode::InvalidPassword),
    ),
    (
        "CKR_USER_ALREADY_LOGGED_IN",
        None,
        Meaning::Code(ErrorCode::AlreadyLoggedIn),
    ),
    (
        "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
        None,
        Meaning::Code(ErrorCode::AlreadyLoggedIn),
    ),
    (
        "CKR_USER_NOT_LOGGED_IN",
        None,
        Meaning::NotLoggedInOrForbidden,
    ),
    (
        "CKR_OBJECT_HANDLE_INVALID",
        None,
        Meaning::Code(ErrorCode::NoSuchKey),
    ),
    (
        "CKR_KEY_HANDLE_INVALID",
        None,
        Meaning::Code(ErrorCode::NoSuchKey),
    ),
    (
        "CKR_WRAPPING_KEY_HANDLE_INVALID",
        None,
        Meaning::Code(ErrorCode::NoSuchKey),
    ),
    (
        "CKR_UNWRAPPING_KEY_HANDLE_INVALID",
        None,
        Meaning::Code(ErrorCode::NoSuchKey),
    ),
    (
        "CKR_KEY_UNEXTRACTABLE",
        None,
        Meaning::Code(ErrorCode::NotExtractable),
    ),
    (
        "CKR_KEY_TYPE_INCONSISTENT",
        None,
        Meaning::Code(ErrorCode::WrongKeyKind),
    ),
    (
        "CKR_KEY_FUNCTION_NOT_PERMITTED",
        None,
        Meaning::Code(ErrorCode::WrongKeyKind),
    ),
    (
        "CKR_WRAPPING_KEY_TYPE_INCONSISTENT",
        None,
        Meaning::Code(ErrorCode::WrongKeyKind),
    ),
    (
        "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT",
        None,
        Meaning::Code(ErrorCode::WrongKeyKind),
    ),
    (
        "CKR_KEY_NOT_WRAPPABLE",
        None,
        Meaning::Code(ErrorCode::WrongKeyKind),
    ),
    (
        "CKR_ENCRYPTED_DATA_INVALID",
        Some(Context::Decrypt),
        Meaning::Code(ErrorCode::BadCiphertext),
    ),
    (
        "CKR_ENCRYPTED_DATA_LEN_RANGE",
        Some(Context::Decrypt),
        Meaning::Code(ErrorCode::BadCiphertext),
    ),
    (
        "CKR_GENERAL_ERROR",
        Some(Context::Decrypt),
        Meaning::Code(ErrorCode::BadCiphertext),
    ),
    (
        "CKR_FUNCTION_FAILED",
        Some(Context::Decrypt),
        Meaning::Code(ErrorCode::BadCiphertext),
    ),
    (
        "CKR_ENCRYPTED_DATA_INVALID",
        Some(Context::Unwrap),
        Meaning::Code(ErrorCode::BadWrappedKey),
    ),
    (
        "CKR_ENCRYPTED_DATA_LEN_RANGE",
        Some(Context::Unwrap),
        Meaning::Code(ErrorCode::BadWrappedKey),
    ),
    (
        "CKR_WRAPPED_KEY_INVALID",
        Some(Context::Unwrap),
        Meaning::Code(ErrorCode::BadWrappedKey),
    ),
    (
        "CKR_WRAPPED_KEY_LEN_RANGE",
        Some(Context::Unwrap),
        Meaning::Code(ErrorCode::BadWrappedKey),
    ),
    (
        "CKR_GENERAL_ERROR",
        Some(Context::Unwrap),
        Meaning::Code(ErrorCode::BadWrappedKey),
    ),
    (
        "CKR_FUNCTION_FAILED",
        Some(Context::Unwrap),
        Meaning::Code(ErrorCode::BadWrappedKey),
    ),
    (
        "CKR_DEVICE_MEMORY",
        None,
        Meaning::Code(ErrorCode::KeyLimit),
    ),
    ("CKR_MECHANISM_INVALID", None, Meaning::Unsupported),
    ("CKR_MECHANISM_PARAM_INVALID", None, Meaning::Unsupported),
    ("CKR_FUNCTION_NOT_SUPPORTED", None, Meaning::Unsupported),
];

/// The answer for a failed job: by the table, in context `ctx`, for a session in state `login`.
/// Bytes of the bridge's own that do not parse are a bad ciphertext or wrapped key; no object
/// with the `CKA_ID` is NoSuchKey.
pub fn reply(fail: &Fail, ctx: Context, login: Login) -> Reply {
    let ckr = match fail {
        Fail::NoObject => return Reply::Err(ErrorCode::NoSuchKey.name().to_string()),
        Fail::NoMechanism => return Reply::Err(ErrorCode::WrongKeyKind.name().to_string()),
        Fail::Malformed => {
            return match ctx {
                Context::Decrypt => Reply::Err(ErrorCode::BadCiphertext.name().to_string()),
                Context::Unwrap => Reply::Err(ErrorCode::BadWrappedKey.name().to_string()),
                Context::Other => Reply::Refused("bytes the bridge cannot read".into()),
            }
        }
        Fail::Broken(m) => return Reply::Refused(m.clone()),
        Fail::Ckr { function, ckr } => (function, ckr),
    };
    let (function, ckr) = ckr;
    let found = TABLE
        .iter()
        .find(|(name, at, _)| name == ckr && *at == Some(ctx))
        .or_else(|| {
            TABLE
                .iter()
                .find(|(name, at, _)| name == ckr && at.is_none())
        });
    match found.map(|(_, _, m)| *m) {
        Some(Meaning::Code(c)) => Reply::Err(c.name().to_string()),
        Some(Meaning::NotLoggedInOrForbidden) => Reply::Err(
            if login == Login::Public {
                ErrorCode::NotLoggedIn
            } else {
                ErrorCode::Forbidden
            }
            .name()
            .to_string(),
        ),
        Some(Meaning::Unsupported) => {
            Reply::Unsupported(format!("{function} returned {ckr}: the token lacks it"))
        }
        None => Reply::Refused(format!(
            "{function} returned {ckr}, which the bridge's error table does not map (docs/real-hsms.md)"
        )),
    }
}

/// The `CKR_…` name of a return value.
pub fn ckr_name(rv: RvError) -> String {
    let name = match rv {
        RvError::Cancel => "CKR_CANCEL",
        RvError::HostMemory => "CKR_HOST_MEMORY",
        RvError::SlotIdInvalid => "CKR_SLOT_ID_INVALID",
        RvError::GeneralError => "CKR_GENERAL_ERROR",
        RvError::FunctionFailed => "CKR_FUNCTION_FAILED",
        RvError::ArgumentsBad => "CKR_ARGUMENTS_BAD",
        RvError::NoEvent => "CKR_NO_EVENT",
        RvError::NeedToCreateThreads => "CKR_NEED_TO_CREATE_THREADS",
        RvError::CantLock => "CKR_CANT_LOCK",
        RvError::AttributeReadOnly => "CKR_ATTRIBUTE_READ_ONLY",
        RvError::AttributeSensitive => "CKR_ATTRIBUTE_SENSITIVE",
        RvError::AttributeTypeInvalid => "CKR_ATTRIBUTE_TYPE_INVALID",
        RvError::AttributeValueInvalid => "CKR_ATTRIBUTE_VALUE_INVALID",
        RvError::ActionProhibited => "CKR_ACTION_PROHIBITED",
        RvError::DataInvalid => "CKR_DATA_INVALID",
        RvError::DataLenRange => "CKR_DATA_LEN_RANGE",
        RvError::DeviceError => "CKR_DEVICE_ERROR",
        RvError::DeviceMemory => "CKR_DEVICE_MEMORY",
        RvError::DeviceRemoved => "CKR_DEVICE_REMOVED",
        RvError::EncryptedDataInvalid => "CKR_ENCRYPTED_DATA_INVALID",
        RvError::EncryptedDataLenRange => "CKR_ENCRYPTED_DATA_LEN_RANGE",
        RvError::FunctionCanceled => "CKR_FUNCTION_CANCELED",
        RvError::FunctionNotParallel => "CKR_FUNCTION_NOT_PARALLEL",
        RvError::FunctionNotSupported => "CKR_FUNCTION_NOT_SUPPORTED",
        RvError::CurveNotSupported => "CKR_CURVE_NOT_SUPPORTED",
        RvError::KeyHandleInvalid => "CKR_KEY_HANDLE_INVALID",
        RvError::KeySizeRange => "CKR_KEY_SIZE_RANGE",
        RvError::KeyTypeInconsistent => "CKR_KEY_TYPE_INCONSISTENT",
        RvError::KeyNotNeeded => "CKR_KEY_NOT_NEEDED",
        RvError::KeyChanged => "CKR_KEY_CHANGED",
        RvError::KeyNeeded => "CKR_KEY_NEEDED",
        RvError::KeyIndigestible => "CKR_KEY_INDIGESTIBLE",
        RvError::KeyFunctionNotPermitted => "CKR_KEY_FUNCTION_NOT_PERMITTED",
        RvError::KeyNotWrappable => "CKR_KEY_NOT_WRAPPABLE",
        RvError::KeyUnextractable => "CKR_KEY_UNEXTRACTABLE",
        RvError::MechanismInvalid => "CKR_MECHANISM_INVALID",
        RvError::MechanismParamInvalid => "CKR_MECHANISM_PARAM_INVALID",
        RvError::ObjectHandleInvalid => "CKR_OBJECT_HANDLE_INVALID",
        RvError::OperationActive => "CKR_OPERATION_ACTIVE",
        RvError::OperationNotInitialized => "CKR_OPERATION_NOT_INITIALIZED",
        RvError::PinIncorrect => "CKR_PIN_INCORRECT",
        RvError::PinInvalid => "CKR_PIN_INVALID",
        RvError::PinLenRange => "CKR_PIN_LEN_RANGE",
        RvError::PinExpired => "CKR_PIN_EXPIRED",
        RvError::PinLocked => "CKR_PIN_LOCKED",
        RvError::SessionClosed => "CKR_SESSION_CLOSED",
        RvError::SessionCount => "CKR_SESSION_COUNT",
        RvError::SessionHandleInvalid => "CKR_SESSION_HANDLE_INVALID",
        RvError::SessionParallelNotSupported => "CKR_SESSION_PARALLEL_NOT_SUPPORTED",
        RvError::SessionReadOnly => "CKR_SESSION_READ_ONLY",
        RvError::SessionExists => "CKR_SESSION_EXISTS",
        RvError::SessionReadOnlyExists => "CKR_SESSION_READ_ONLY_EXISTS",
        RvError::SessionReadWriteSoExists => "CKR_SESSION_READ_WRITE_SO_EXISTS",
        RvError::SignatureInvalid => "CKR_SIGNATURE_INVALID",
        RvError::SignatureLenRange => "CKR_SIGNATURE_LEN_RANGE",
        RvError::TemplateIncomplete => "CKR_TEMPLATE_INCOMPLETE",
        RvError::TemplateInconsistent => "CKR_TEMPLATE_INCONSISTENT",
        RvError::TokenNotPresent => "CKR_TOKEN_NOT_PRESENT",
        RvError::TokenNotRecognized => "CKR_TOKEN_NOT_RECOGNIZED",
        RvError::TokenWriteProtected => "CKR_TOKEN_WRITE_PROTECTED",
        RvError::UnwrappingKeyHandleInvalid => "CKR_UNWRAPPING_KEY_HANDLE_INVALID",
        RvError::UnwrappingKeySizeRange => "CKR_UNWRAPPING_KEY_SIZE_RANGE",
        RvError::UserAlreadyLoggedIn => "CKR_USER_ALREADY_LOGGED_IN",
        RvError::UserNotLoggedIn => "CKR_USER_NOT_LOGGED_IN",
        RvError::UserPinNotInitialized => "CKR_USER_PIN_NOT_INITIALIZED",
        RvError::UserTypeInvalid => "CKR_USER_TYPE_INVALID",
        RvError::UserAnotherAlreadyLoggedIn => "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
        RvError::UserTooManyTypes => "CKR_USER_TOO_MANY_TYPES",
        RvError::WrappedKeyInvalid => "CKR_WRAPPED_KEY_INVALID",
        RvError::WrappedKeyLenRange => "CKR_WRAPPED_KEY_LEN_RANGE",
        RvError::WrappingKeyHandleInvalid => "CKR_WRAPPING_KEY_HANDLE_INVALID",
        RvError::WrappingKeySizeRange => "CKR_WRAPPING_KEY_SIZE_RANGE",
        RvError::WrappingKeyTypeInconsistent => "CKR_WRAPPING_KEY_TYPE_INCONSISTENT",
        RvError::RandomSeedNotSupported => "CKR_RANDOM_SEED_NOT_SUPPORTED",
        RvError::RandomNoRng => "CKR_RANDOM_NO_RNG",
        RvError::DomainParamsInvalid => "CKR_DOMAIN_PARAMS_INVALID",
        RvError::BufferTooSmall => "CKR_BUFFER_TOO_SMALL",
        RvError::SavedStateInvalid => "CKR_SAVED_STATE_INVALID",
        RvError::InformationSensitive => "CKR_INFORMATION_SENSITIVE",
        RvError::StateUnsaveable => "CKR_STATE_UNSAVEABLE",
        RvError::CryptokiNotInitialized => "CKR_CRYPTOKI_NOT_INITIALIZED",
        RvError::CryptokiAlreadyInitialized => "CKR_CRYPTOKI_ALREADY_INITIALIZED",
        RvError::MutexBad => "CKR_MUTEX_BAD",
        RvError::MutexNotLocked => "CKR_MUTEX_NOT_LOCKED",
        RvError::NewPinMode => "CKR_NEW_PIN_MODE",
        RvError::NextOtp => "CKR_NEXT_OTP",
        RvError::ExceededMaxIterations => "CKR_EXCEEDED_MAX_ITERATIONS",
        RvError::FipsSelfTestFailed => "CKR_FIPS_SELF_TEST_FAILED",
        RvError::LibraryLoadFailed => "CKR_LIBRARY_LOAD_FAILED",
        RvError::PinTooWeak => "CKR_PIN_TOO_WEAK",
        RvError::PublicKeyInvalid => "CKR_PUBLIC_KEY_INVALID",
        RvError::FunctionRejected => "CKR_FUNCTION_REJECTED",
        RvError::UnwrappingKeyTypeInconsistent => "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT",
        RvError::UnknownErrorCode(v) => return format!("CKR {v:#x}"),
        RvError::VendorDefined(v) => return format!("CKR_VENDOR_DEFINED+{:#x}", v - 0x8000_0000),
    };
    name.to_string()
}
