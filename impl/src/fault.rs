//! The fault zoo (feature `faults`, never in the default build): deliberate behavioural
//! deviations from SPEC, each a one-line condition inside the real code path, so that the
//! conformance runner can prove it catches them.

/// One deliberate deviation from SPEC. A cluster made with
/// [`Cluster::new_with_fault`](crate::Cluster::new_with_fault) behaves exactly as the real one
/// except for its fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// CreateUser is allowed for a CU (permission table violated).
    CuMayCreateUsers,
    /// GetSyncStatus answers an unauthenticated session instead of NotLoggedIn.
    UnauthenticatedSyncStatus,
    /// DeleteKey by a CU the key is only shared with succeeds (NotOwner skipped).
    SharedUserMayDeleteKey,
    /// The user is locked only at the (threshold + 1)-th consecutive failure.
    LockoutOneLate,
    /// Zeroize destroys users but keeps the keys.
    ZeroizeKeepsKeys,
    /// Masked objects use a fixed masking key and no cluster id, so any cluster's object is
    /// accepted by any other cluster with this fault.
    ForeignMaskedAccepted,
    /// InsertMasked makes the inserting caller the key's owner.
    InsertChangesOwner,
    /// DeleteUser skips OwnsKeys (the deleted user's keys keep a missing owner).
    DeleteUserWithKeys,
    /// Activation keeps the PRECO role (the cluster still becomes active).
    PrecoSurvivesActivation,
    /// CreateUser checks UserExists before InvalidPassword.
    ChecksOutOfOrder,
    /// ShareKey allows one share more than the policy's limit.
    ShareLimitOneHigh,
    /// ChangePassword skips TargetLoggedIn.
    ChangePasswordOfLoggedInUser,
    /// DeleteUser skips TargetLoggedIn; the deleted user's sessions stay logged in.
    DeletedUserStaysLoggedIn,
    /// Clone also overwrites the target's AU password with the source's.
    CloneCopiesAu,
    /// ChangeOwnPassword clears the counter and lock.
    ChangeOwnPasswordUnlocks,
    /// A successful Login does not reset the failed-login counter.
    SuccessDoesNotResetCounter,
    /// A CO may Encrypt/Decrypt with any key.
    CoMayUseKeys,
    /// Zeroize resets the cluster-wide key-id counter to 1.
    KeyIdReusedAfterZeroize,
    /// UnwrapKey gives the new key the wrapping key's share list (less the caller).
    UnwrapKeepsShares,
    /// ExtractMasked by a CU succeeds for a key only shared with it (NotOwner skipped).
    ExtractIgnoresOwnership,
    /// Clone skips NotActivated.
    CloneWhileUnactivated,
    /// Login with an unknown name answers NoSuchUser (leaks which names exist).
    LoginRevealsUnknownName,
    /// Zeroize leaves sessions logged in (as users that are gone).
    ZeroizeKeepsSessions,
    /// WrapKey skips NotExtractable.
    WrapIgnoresExtractable,
    /// UserLimit does not count the AU.
    UserLimitIgnoresAu,
    /// CreateUser answering UserLimit adds the user all the same (an error with an effect,
    /// against SPEC §3 "nothing changes on an error").
    ErrorLeavesPartialEffect,
    /// Names are not lower-cased (SPEC §3): every name argument is stored, looked up and
    /// compared as sent, so `ADMIN` is no user and `Bob` no valid name.
    NamesNotLowerCased,
    /// Race: a failed Login reads the user's counter, lets go of the HSM's lock for the race
    /// window, then writes the count back plus one (a concurrent failure is lost).
    LostFailedLogin,
    /// Race: DeleteUser checks that the target is logged in nowhere, lets go of the lock, then
    /// deletes it (a Login in the window leaves a session logged in as a deleted user).
    DeleteUserDuringLogin,
    /// Race: ShareKey checks that the target is a CU, lets go of the lock, then shares (a
    /// DeleteUser in the window leaves a share with a deleted user).
    ShareKeyDuringDeleteUser,
    /// Race: the cluster-wide key id counter is read, the race window passes, and it is written
    /// back plus one (two HSMs may hand out the same id).
    KeyIdHandedOutTwice,
    /// Race: Clone copies the source's users, lets go of both HSMs' locks (taking them again
    /// in index order), then copies the source's keys (a change of the source in the window
    /// is half copied).
    CloneOfSourceUnderChange,
}

/// How long a race fault lets go of a lock (or of the key id counter): long enough that a
/// concurrent operation gets in on a loaded 2-core machine.
pub const RACE_WINDOW: std::time::Duration = std::time::Duration::from_millis(2);

impl Fault {
    /// The race faults, a list of their own: each widens a gap between a check and its effect
    /// (or a read and its write) to [`RACE_WINDOW`], so that only concurrent sessions can
    /// see it. The sequential campaigns need not catch them; the concurrent campaign must.
    pub const RACES: &'static [Fault] = &[
        Fault::LostFailedLogin,
        Fault::DeleteUserDuringLogin,
        Fault::ShareKeyDuringDeleteUser,
        Fault::KeyIdHandedOutTwice,
        Fault::CloneOfSourceUnderChange,
    ];

    /// Every fault of the zoo (the sequential campaigns catch each; races are apart,
    /// [`Fault::RACES`]).
    pub const ALL: &'static [Fault] = &[
        Fault::CuMayCreateUsers,
        Fault::UnauthenticatedSyncStatus,
        Fault::SharedUserMayDeleteKey,
        Fault::LockoutOneLate,
        Fault::ZeroizeKeepsKeys,
        Fault::ForeignMaskedAccepted,
        Fault::InsertChangesOwner,
        Fault::DeleteUserWithKeys,
        Fault::PrecoSurvivesActivation,
        Fault::ChecksOutOfOrder,
        Fault::ShareLimitOneHigh,
        Fault::ChangePasswordOfLoggedInUser,
        Fault::DeletedUserStaysLoggedIn,
        Fault::CloneCopiesAu,
        Fault::ChangeOwnPasswordUnlocks,
        Fault::SuccessDoesNotResetCounter,
        Fault::CoMayUseKeys,
        Fault::KeyIdReusedAfterZeroize,
        Fault::UnwrapKeepsShares,
        Fault::ExtractIgnoresOwnership,
        Fault::CloneWhileUnactivated,
        Fault::LoginRevealsUnknownName,
        Fault::ZeroizeKeepsSessions,
        Fault::WrapIgnoresExtractable,
        Fault::UserLimitIgnoresAu,
        Fault::ErrorLeavesPartialEffect,
        Fault::NamesNotLowerCased,
    ];
}
