//! Faults planted in the step function on purpose, one per invariant, so that each property
//! is shown to fail when the spec is wrong (`model/src/tests/planted.rs`; `hsmspec`'s verdict tests).
//! Test-only machinery: none of it is part of the spec.
//!
//! The faults are compiled only in the model's own tests or with the `hsm-model` feature
//! `planted` (for other crates' tests); a configuration plants one through `Config::planted`.
//! They reach the spec through two hooks, each a no-op (inlined away) without the feature:
//!
//! - `instead`, called first by `Config::apply` (so by `Config::step` and by the checker's
//!   own stepping): a planted fault may answer an action in place of the spec, with its own
//!   wrong operation written here (the spec's operation with one check left out or one effect
//!   changed);
//! - `role_guard_intact`, read by the checker where it relies on the step function's role
//!   guard (it explores one variant of an operation a role may not run), and `spec_intact`,
//!   read where it relies on the order of the other checks (one variant of those a check
//!   refutes alike).
//!
//! So every operation of `step.rs` is only its guard then its effect.

#[cfg(any(test, feature = "planted"))]
pub use faults::Planted;

#[cfg(any(test, feature = "planted"))]
pub(crate) use faults::{instead, role_guard_intact, spec_intact};
#[cfg(not(any(test, feature = "planted")))]
pub(crate) use off::{instead, role_guard_intact, spec_intact};

/// The hooks without the feature: no fault, nothing to do.
#[cfg(not(any(test, feature = "planted")))]
mod off {
    use crate::action::Action;
    use crate::config::Config;
    use crate::state::{Capacity, StateOf};
    use crate::step::Step;

    /// No fault answers in place of the spec.
    #[inline(always)]
    pub(crate) fn instead<C: Capacity>(_: &Config, _: &mut StateOf<C>, _: &Action) -> Option<Step> {
        None
    }

    /// The role guard is as the spec has it.
    #[inline(always)]
    pub(crate) fn role_guard_intact(_: &Config) -> bool {
        true
    }

    /// Every operation is as the spec has it.
    #[inline(always)]
    pub(crate) fn spec_intact(_: &Config) -> bool {
        true
    }
}

#[cfg(any(test, feature = "planted"))]
mod faults {
    use crate::action::{Action, Observation, Op};
    use crate::config::Config;
    use crate::state::*;
    use crate::step::{caller, existing, hsm_mut, key_slot, usable, Step};
    use crate::vocab::{ErrorCode::*, KeyKind, Role};

    /// A fault planted in `step` by the tests, to show that each property can fail.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Planted {
        /// A CU may create users.
        CuMayCreateUsers,
        /// Activation leaves the PRECO's role as it was.
        PrecoSurvivesActivation,
        /// DeleteUser skips the OwnsKeys check.
        DeleteUserWithKeys,
        /// ShareKey skips the ShareLimit check.
        NoShareLimit,
        /// Zeroize keeps the keys.
        ZeroizeKeepsKeys,
        /// DeleteUser skips the TargetLoggedIn check.
        DeleteLoggedInUser,
        /// A CO may delete itself (TargetLoggedIn skipped for the caller, who is logged out).
        CallerMayDeleteItself,
        /// InsertMasked gives the key to the caller.
        InsertChangesOwner,
        /// A CU may encrypt with any key of the HSM.
        EncryptWithoutAccess,
    }

    /// Whether the step function's role guard is as the spec has it (a planted fault may let
    /// a role past it), so the checker may explore one variant of an operation the role may
    /// not run.
    pub(crate) fn role_guard_intact(cfg: &Config) -> bool {
        cfg.planted != Some(Planted::CuMayCreateUsers)
    }

    /// Whether no fault is planted, so the checker's enumerator may rely on the order of every
    /// operation's checks (a planted operation has its own).
    pub(crate) fn spec_intact(cfg: &Config) -> bool {
        cfg.planted.is_none()
    }

    /// The answer of the planted fault to `a` from `s`, in place of the spec's (and `s` changed
    /// as the fault changes it); `None` when no fault is planted or it does not concern `a`.
    pub(crate) fn instead<C: Capacity>(
        cfg: &Config,
        s: &mut StateOf<C>,
        a: &Action,
    ) -> Option<Step> {
        use Planted::*;
        let fault = cfg.planted?;
        let user = |name| cfg.user_named(name);
        Some(match (fault, a.op) {
            (
                CuMayCreateUsers,
                Op::CreateUser {
                    name,
                    role,
                    password,
                },
            ) if s.session_role(a.client, a.hsm) == Some(Role::CryptoUser) => {
                create_user_unguarded(cfg, s, a, user(name), role, password)
            }
            (PrecoSurvivesActivation, Op::ChangeOwnPassword { password }) => {
                change_own_password_keeping_preco(cfg, s, a, password)
            }
            (
                DeleteUserWithKeys | DeleteLoggedInUser | CallerMayDeleteItself,
                Op::DeleteUser { name },
            ) => delete_user_skipping(fault, s, a, user(name)),
            (NoShareLimit, Op::ShareKey { key, name }) => {
                share_key_unlimited(s, a, key, user(name))
            }
            (ZeroizeKeepsKeys, Op::Zeroize) => zeroize_keeping_keys(s, a.hsm),
            (InsertChangesOwner, Op::InsertMasked { object }) => {
                insert_masked_to_caller(cfg, s, a, object)
            }
            (EncryptWithoutAccess, Op::Encrypt { key, data }) => encrypt_any_key(s, a, key, data),
            _ => return None,
        })
    }

    /// CreateUser with no role guard (the caller is a CU).
    fn create_user_unguarded<C: Capacity>(
        cfg: &Config,
        s: &mut StateOf<C>,
        a: &Action,
        name: Option<NameId>,
        role: Role,
        pw: PasswordId,
    ) -> Step {
        // Every check but the role guard, as the spec's CreateUser makes them.
        let name = crate::step::new_user_check(cfg, &s.hsms[a.hsm.index()], name, role, pw)?;
        hsm_mut(s, a.hsm).users[name.index()] = Some(User {
            role,
            password: pw,
            failures: 0,
        });
        Ok(Observation::Done)
    }

    /// ChangeOwnPassword that activates the cluster but leaves the PRECO a PRECO.
    fn change_own_password_keeping_preco<C: Capacity>(
        cfg: &Config,
        s: &mut StateOf<C>,
        a: &Action,
        password: PasswordId,
    ) -> Step {
        let (me, role) = caller(s, a)?;
        if !cfg.password_is_valid(password) {
            return Err(InvalidPassword);
        }
        let user = hsm_mut(s, a.hsm).users[me.index()]
            .as_mut()
            .ok_or(NotLoggedIn)?;
        user.password = password;
        if role == Role::PreCryptoOfficer {
            s.activated = true;
        }
        Ok(Observation::Done)
    }

    /// DeleteUser without the check `fault` leaves out: TargetLoggedIn (for anyone, or for the
    /// caller itself, whose sessions are then logged out) or OwnsKeys.
    fn delete_user_skipping<C: Capacity>(
        fault: Planted,
        s: &mut StateOf<C>,
        a: &Action,
        name: Option<NameId>,
    ) -> Step {
        let (me, _) = caller(s, a)?;
        let hsm = &s.hsms[a.hsm.index()];
        let (name, target) = existing(hsm, name).ok_or(NoSuchUser)?;
        if matches!(target.role, Role::ApplianceUser | Role::PreCryptoOfficer) {
            return Err(ProtectedUser);
        }
        let check_logged_in = match fault {
            Planted::DeleteLoggedInUser => false,
            Planted::CallerMayDeleteItself => name != me,
            _ => true,
        };
        if check_logged_in && s.logged_in(a.hsm, name) {
            return Err(TargetLoggedIn);
        }
        let check_owns = fault != Planted::DeleteUserWithKeys;
        if check_owns && hsm.keys.iter().flatten().any(|k| k.owner == name) {
            return Err(OwnsKeys);
        }
        let counter = s.next_key_id;
        let hsm = hsm_mut(s, a.hsm);
        hsm.users[name.index()] = None;
        for k in hsm.keys.iter_mut().flatten() {
            k.shares.remove(name);
        }
        hsm.ghost.name_deleted_at[name.index()] = counter;
        if fault == Planted::CallerMayDeleteItself {
            for row in s.sessions.iter_mut() {
                if row[a.hsm.index()] == Some(name) {
                    row[a.hsm.index()] = None;
                }
            }
        }
        Ok(Observation::Done)
    }

    /// ShareKey without the ShareLimit check.
    fn share_key_unlimited<C: Capacity>(
        s: &mut StateOf<C>,
        a: &Action,
        key: KeyId,
        name: Option<NameId>,
    ) -> Step {
        let (me, _) = caller(s, a)?;
        let hsm = &s.hsms[a.hsm.index()];
        let k = crate::step::owned(hsm, key, me)?;
        let (name, target) = existing(hsm, name).ok_or(NoSuchUser)?;
        if target.role != Role::CryptoUser || name == k.owner {
            return Err(InvalidTarget);
        }
        if k.shares.contains(name) {
            return Err(AlreadyShared);
        }
        if let Some(k) = hsm_mut(s, a.hsm).keys[key.index() - 1].as_mut() {
            k.shares.insert(name);
        }
        Ok(Observation::Done)
    }

    /// Zeroize that keeps the HSM's keys.
    fn zeroize_keeping_keys<C: Capacity>(s: &mut StateOf<C>, h: HsmId) -> Step {
        let mut fresh = Hsm::<C>::blank();
        let hsm = hsm_mut(s, h);
        fresh.keys = hsm.keys;
        fresh.users[APP_USER.index()] =
            hsm.users[APP_USER.index()].map(|u| User { failures: 0, ..u });
        *hsm = fresh;
        for row in s.sessions.iter_mut() {
            row[h.index()] = None;
        }
        Ok(Observation::Done)
    }

    /// InsertMasked that gives the key to the caller.
    fn insert_masked_to_caller<C: Capacity>(
        cfg: &Config,
        s: &mut StateOf<C>,
        a: &Action,
        object: MaskedObject,
    ) -> Step {
        let (me, _) = caller(s, a)?;
        let record = match object {
            MaskedObject::Sealed(r) if s.masked.contains(&object) => r,
            _ => return Err(BadMaskedObject),
        };
        let hsm = &s.hsms[a.hsm.index()];
        let slot = key_slot::<C>(record.id).ok_or(BadMaskedObject)?;
        if hsm.keys[slot].is_some() {
            return Err(KeyExists);
        }
        let mut k = record.key;
        if !hsm.is_crypto_user(k.owner) || k.shares.iter().any(|n| !hsm.is_crypto_user(n)) {
            return Err(NoSuchUser);
        }
        if hsm.keys.iter().flatten().count() >= cfg.policy.max_keys as usize {
            return Err(KeyLimit);
        }
        k.owner = me;
        let ghost = s.hsms[a.hsm.index()].ghost;
        if ghost.deleted_keys[slot] {
            s.events |= events::KEY_REVIVED;
        }
        if record.id.0 < ghost.name_deleted_at[k.owner.index()] {
            s.events |= events::KEY_TO_NAMESAKE;
        }
        hsm_mut(s, a.hsm).keys[slot] = Some(k);
        Ok(Observation::Key(record.id))
    }

    /// Encrypt with any key of the HSM, usable by the caller or not.
    fn encrypt_any_key<C: Capacity>(
        s: &mut StateOf<C>,
        a: &Action,
        key: KeyId,
        data: DataId,
    ) -> Step {
        let (me, _) = caller(s, a)?;
        let hsm = &s.hsms[a.hsm.index()];
        let k = usable(hsm, key, me).or_else(|_| hsm.key(key).copied().ok_or(NoSuchKey))?;
        if k.kind != KeyKind::Aes256 {
            return Err(WrongKeyKind);
        }
        crate::step::note_shared_use(s, a, &k, me);
        let ct = Ciphertext::Made {
            material: k.material,
            data,
        };
        crate::step::add_to_pool(s, |s| s.ciphertexts.insert(ct));
        Ok(Observation::Ciphertext(ct))
    }
}
