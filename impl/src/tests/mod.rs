//! Unit tests: every operation's success and every error it answers, in SPEC check order.

mod alloc_scan;
mod crypto_tests;

use crate::*;
use HsmError::*;
use Role::*;

pub(crate) const AU_PW: &str = "au-password";
pub(crate) const CO_PW: &str = "officer-pw";
pub(crate) const CU_PW: &str = "user-password";

pub(crate) fn new_cluster(n: usize) -> Cluster {
    Cluster::new(n, AU_PW, Policy::for_tests()).unwrap()
}

pub(crate) fn login(c: &Cluster, hsm: usize, name: &str, pw: &str) -> Session {
    let s = c.open_session(hsm).unwrap();
    s.login(name, pw).unwrap();
    s
}

/// An activated cluster of `n` HSMs: HSM 0 has CO `admin`, CUs `alice`, `bob`, `carol`; the
/// returned sessions are logged in on HSM 0.
pub(crate) struct Fx {
    pub c: Cluster,
    pub co: Session,
    pub alice: Session,
    pub bob: Session,
    pub carol: Session,
}

pub(crate) fn fx(n: usize) -> Fx {
    let c = new_cluster(n);
    let co = login(&c, 0, "admin", "password");
    co.change_own_password(CO_PW).unwrap();
    for u in ["alice", "bob", "carol"] {
        co.create_user(u, CryptoUser, CU_PW).unwrap();
    }
    let alice = login(&c, 0, "alice", CU_PW);
    let bob = login(&c, 0, "bob", CU_PW);
    let carol = login(&c, 0, "carol", CU_PW);
    Fx {
        c,
        co,
        alice,
        bob,
        carol,
    }
}

fn user<'a>(snap: &'a HsmSnapshot, name: &str) -> Option<&'a UserView> {
    snap.users.iter().find(|u| u.name == name)
}

// ------------------------------------------------------------------------------------------
// Permission table: NotLoggedIn → Forbidden for every operation and role.

/// Calls `op` with harmless arguments; only the NotLoggedIn/Forbidden outcome matters.
fn call(s: &Session, op: Operation) -> Result<(), HsmError> {
    use Operation as O;
    let k = KeyId(999_999);
    match op {
        O::Login | O::Logout => Ok(()),
        O::GetClusterInfo => s.cluster_info().map(drop),
        O::ListUsers => s.list_users().map(drop),
        O::Zeroize => Ok(()), // tested separately (destructive)
        O::ChangeOwnPassword => s.change_own_password("x").map(drop),
        O::ChangePassword => s.change_password("nobody", "x").map(drop),
        O::CreateUser => s.create_user("", CryptoUser, "x").map(drop),
        O::DeleteUser => s.delete_user("nobody").map(drop),
        O::GetSyncStatus => s.sync_status().map(drop),
        O::ExtractMasked => s.extract_masked(k).map(drop),
        O::InsertMasked => s.insert_masked(b"junk").map(drop),
        O::Clone => s.clone_from(99).map(drop),
        O::GenerateKey => Ok(()), // success would change state; checked below
        O::DeleteKey => s.delete_key(k),
        O::ShareKey => s.share_key(k, "x"),
        O::UnshareKey => s.unshare_key(k, "x"),
        O::SetAttribute => s.set_label(k, "x"),
        O::WrapKey => s.wrap_key(k, k).map(drop),
        O::UnwrapKey => s.unwrap_key(b"", k).map(drop),
        O::Encrypt => s.encrypt(k, b"").map(drop),
        O::Decrypt => s.decrypt(k, b"").map(drop),
        O::Sign => s.sign(k, b"").map(drop),
        O::Verify => s.verify(k, b"", b"").map(drop),
        O::Hmac => s.hmac(k, b"").map(drop),
        O::Digest => s.digest(b"").map(drop),
        O::AuditLog => s.audit_log().map(drop),
    }
}

const ALL_OPS: &[Operation] = {
    use Operation::*;
    &[
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
        AuditLog,
    ]
};

#[test]
fn permission_table_is_enforced_first_for_every_role() {
    // Unactivated cluster: PRECO and unauthenticated on HSM 0, AU on HSM 1.
    let c = new_cluster(2);
    let unauth = c.open_session(0).unwrap();
    let preco = login(&c, 0, "admin", "password");
    let au = login(&c, 1, "app_user", AU_PW);
    let f = fx(1);
    let au_f = login(&f.c, 0, "app_user", AU_PW);
    let cases: [(&Session, Option<Role>); 5] = [
        (&unauth, None),
        (&preco, Some(PreCryptoOfficer)),
        (&au, Some(ApplianceUser)),
        (&f.co, Some(CryptoOfficer)),
        (&f.alice, Some(CryptoUser)),
    ];
    let _ = &au_f;
    for &(s, role) in &cases {
        for &op in ALL_OPS {
            if matches!(
                op,
                Operation::Login | Operation::Logout | Operation::Zeroize | Operation::GenerateKey
            ) {
                continue; // tested on their own
            }
            let got = call(s, op);
            match permission(op, role) {
                Ok(()) => assert!(
                    !matches!(got, Err(NotLoggedIn | Forbidden)),
                    "{op:?} as {role:?} should pass the permission step, got {got:?}"
                ),
                Err(e) => assert_eq!(got, Err(e), "{op:?} as {role:?}"),
            }
        }
    }
    // The table itself, spot-checked against SPEC §8.
    assert_eq!(
        permission(Operation::GenerateKey, Some(CryptoOfficer)),
        Err(Forbidden)
    );
    assert_eq!(
        permission(Operation::Clone, Some(CryptoOfficer)),
        Err(Forbidden)
    );
    assert_eq!(
        permission(Operation::Clone, Some(CryptoUser)),
        Err(Forbidden)
    );
    assert_eq!(
        permission(Operation::CreateUser, Some(PreCryptoOfficer)),
        Err(Forbidden)
    );
    assert_eq!(
        permission(Operation::GetSyncStatus, Some(PreCryptoOfficer)),
        Ok(())
    );
    assert_eq!(permission(Operation::GetSyncStatus, None), Err(NotLoggedIn));
    assert_eq!(permission(Operation::Zeroize, None), Ok(()));
    assert_eq!(
        permission(Operation::ExtractMasked, Some(PreCryptoOfficer)),
        Err(Forbidden)
    );
    assert_eq!(
        permission(Operation::Digest, Some(ApplianceUser)),
        Err(Forbidden)
    );
    // GenerateKey: not logged in / forbidden for the others.
    assert_eq!(unauth.generate_key(KeyKind::Aes256, true), Err(NotLoggedIn));
    for s in [&preco, &au, &f.co] {
        assert_eq!(s.generate_key(KeyKind::Aes256, true), Err(Forbidden));
    }
    assert!(f.alice.generate_key(KeyKind::Aes256, true).is_ok());
}

#[test]
fn error_codes_are_spec_names() {
    assert_eq!(NotOwner.code(), "NotOwner");
    assert_eq!(NotOwner.to_string(), "NotOwner");
    for e in HsmError::ALL {
        assert_eq!(HsmError::from_code(e.code()), Some(*e));
        assert_eq!(format!("{e:?}"), e.code());
    }
    assert_eq!(HsmError::ALL.len(), 33);
}

// ------------------------------------------------------------------------------------------
// Cluster creation and lifecycle

#[test]
fn new_cluster_layout() {
    let c = new_cluster(3);
    assert_eq!(c.hsm_count(), 3);
    let s0 = c.inspect(0).unwrap();
    assert!(!s0.blank && !s0.activated);
    assert_eq!(
        s0.users
            .iter()
            .map(|u| (u.name.as_str(), u.role))
            .collect::<Vec<_>>(),
        [("admin", PreCryptoOfficer), ("app_user", ApplianceUser)]
    );
    for i in 1..3 {
        let s = c.inspect(i).unwrap();
        assert!(s.blank);
        assert_eq!(s.users.len(), 1);
    }
    assert_eq!(c.inspect(3).unwrap_err(), NoSuchHsm);
    assert_eq!(c.open_session(3).unwrap_err(), NoSuchHsm);
    assert_eq!(
        Cluster::new(0, AU_PW, Policy::for_tests()).unwrap_err(),
        InvalidPolicy
    );
    assert_eq!(
        Cluster::new(1, "short", Policy::for_tests()).unwrap_err(),
        InvalidPassword
    );
    let bad = Policy {
        password_cost: PasswordCost::Argon2id {
            memory_kib: 1,
            iterations: 1,
            parallelism: 1,
        },
        ..Policy::for_tests()
    };
    assert_eq!(Cluster::new(1, AU_PW, bad).unwrap_err(), InvalidPolicy);
    let pb = Policy {
        password_cost: PasswordCost::Pbkdf2Sha256 { iterations: 2 },
        ..Policy::for_tests()
    };
    let c = Cluster::new(1, AU_PW, pb).unwrap();
    login(&c, 0, "app_user", AU_PW);
    let pb0 = Policy {
        password_cost: PasswordCost::Pbkdf2Sha256 { iterations: 0 },
        ..Policy::for_tests()
    };
    assert_eq!(Cluster::new(1, AU_PW, pb0).unwrap_err(), InvalidPolicy);
}

#[test]
fn default_cost_hashes_work() {
    // The one test of the secure default cost (argon2id, 19 MiB).
    let c = Cluster::new(1, AU_PW, Policy::default()).unwrap();
    let s = c.open_session(0).unwrap();
    assert_eq!(s.login("app_user", "wrong-password"), Err(BadCredentials));
    assert_eq!(s.login("app_user", AU_PW), Ok(ApplianceUser));
}

#[test]
fn login_errors_in_order_and_lockout() {
    let f = fx(1);
    let s = f.c.open_session(0).unwrap();
    assert_eq!(f.alice.login("bob", CU_PW), Err(AlreadyLoggedIn));
    // Unknown name, and names are lower-cased with no syntax check.
    assert_eq!(s.login("nobody", CU_PW), Err(BadCredentials));
    assert_eq!(s.login("No Such!", CU_PW), Err(BadCredentials));
    // Wrong password (wrong length is just wrong).
    assert_eq!(s.login("BOB", "x"), Err(BadCredentials));
    assert_eq!(
        user(&f.c.inspect(0).unwrap(), "bob").unwrap().failed_logins,
        1
    );
    // A success resets the counter.
    assert_eq!(s.login("Bob", CU_PW), Ok(CryptoUser));
    assert_eq!(
        user(&f.c.inspect(0).unwrap(), "bob").unwrap().failed_logins,
        0
    );
    s.logout().unwrap();
    // Five failures lock; then even the right password answers LockedOut.
    for i in 1..=5 {
        assert_eq!(s.login("carol", "wrong-password"), Err(BadCredentials));
        let v = f.c.inspect(0).unwrap();
        let u = user(&v, "carol").unwrap();
        assert_eq!((u.failed_logins, u.locked), (i, i == 5));
    }
    assert_eq!(s.login("carol", CU_PW), Err(LockedOut));
    assert_eq!(s.login("carol", "wrong"), Err(LockedOut));
    assert_eq!(
        user(&f.c.inspect(0).unwrap(), "carol")
            .unwrap()
            .failed_logins,
        5
    );
    // A logged-in locked user keeps its session; ChangeOwnPassword does not unlock.
    f.carol.change_own_password("new-carol-pw").unwrap();
    assert!(user(&f.c.inspect(0).unwrap(), "carol").unwrap().locked);
    // ChangePassword by a CO unlocks (after carol's session logs out).
    f.carol.logout().unwrap();
    f.co.change_password("carol", "fresh-carol-pw").unwrap();
    let v = f.c.inspect(0).unwrap();
    let u = user(&v, "carol").unwrap();
    assert_eq!((u.failed_logins, u.locked), (0, false));
    assert_eq!(s.login("carol", "fresh-carol-pw"), Ok(CryptoUser));
}

#[test]
fn logout() {
    let f = fx(1);
    let s = f.c.open_session(0).unwrap();
    assert_eq!(s.logout(), Err(NotLoggedIn));
    assert_eq!(f.bob.logout(), Ok(()));
    assert_eq!(f.bob.logout(), Err(NotLoggedIn));
    assert_eq!(f.bob.generate_key(KeyKind::Aes256, true), Err(NotLoggedIn));
}

#[test]
fn cluster_info_and_list_users() {
    let c = new_cluster(2);
    let s = c.open_session(1).unwrap();
    let info = s.cluster_info().unwrap();
    assert_eq!(info.cluster_id, c.cluster_id());
    assert!(!info.activated);
    assert_eq!(
        info.hsms,
        vec![
            HsmInfo {
                index: 0,
                blank: false
            },
            HsmInfo {
                index: 1,
                blank: true
            }
        ]
    );
    let s0 = c.open_session(0).unwrap();
    assert_eq!(
        s0.list_users().unwrap(),
        vec![
            UserEntry {
                name: "admin".into(),
                role: PreCryptoOfficer,
                locked: false
            },
            UserEntry {
                name: "app_user".into(),
                role: ApplianceUser,
                locked: false
            },
        ]
    );
    let other = new_cluster(1);
    assert_ne!(other.cluster_id(), c.cluster_id());
}

#[test]
fn activation() {
    let c = new_cluster(2);
    let p = login(&c, 0, "admin", "password");
    assert_eq!(p.change_own_password("short"), Err(InvalidPassword));
    assert_eq!(p.change_own_password(&"x".repeat(33)), Err(InvalidPassword));
    assert!(!c.inspect(0).unwrap().activated);
    // 8 Unicode characters (16 bytes) is long enough.
    p.change_own_password("ééééééée").unwrap();
    let v = c.inspect(0).unwrap();
    assert!(v.activated);
    assert_eq!(user(&v, "admin").unwrap().role, CryptoOfficer);
    // The PRECO's own session now acts as a CO.
    p.create_user("dave", CryptoUser, CU_PW).unwrap();
    let s = c.open_session(0).unwrap();
    assert_eq!(s.login("admin", "password"), Err(BadCredentials));
    assert_eq!(s.login("admin", "ééééééée"), Ok(CryptoOfficer));
}

#[test]
fn change_own_password_for_each_role() {
    let f = fx(2);
    let au = login(&f.c, 1, "app_user", AU_PW);
    au.change_own_password("new-au-password").unwrap();
    let s = f.c.open_session(1).unwrap();
    assert_eq!(s.login("app_user", AU_PW), Err(BadCredentials));
    assert_eq!(s.login("app_user", "new-au-password"), Ok(ApplianceUser));
    f.alice.change_own_password("new-alice-pw").unwrap();
    assert_eq!(
        f.c.open_session(0)
            .unwrap()
            .change_own_password("whatever-pw"),
        Err(NotLoggedIn)
    );
}

#[test]
fn change_password_errors_in_order() {
    let f = fx(1);
    f.co.create_user("officer2", CryptoOfficer, CO_PW).unwrap();
    assert_eq!(
        f.co.change_password("nobody", "short"),
        Err(InvalidPassword)
    );
    assert_eq!(
        f.co.change_password("nobody", "long-enough"),
        Err(NoSuchUser)
    );
    assert_eq!(
        f.co.change_password("APP_USER", "long-enough"),
        Err(ProtectedUser)
    );
    assert_eq!(
        f.co.change_password("alice", "long-enough"),
        Err(TargetLoggedIn)
    );
    // Its own name: no TargetLoggedIn.
    assert_eq!(f.co.change_password("admin", "new-admin-pw"), Ok(()));
    assert_eq!(f.co.change_password("officer2", "new-off2-pw"), Ok(()));
    let s = f.c.open_session(0).unwrap();
    assert_eq!(s.login("officer2", "new-off2-pw"), Ok(CryptoOfficer));
    // PRECO is protected too (only reachable on an unactivated cluster, by no CO; checked
    // through the helper path with a CO on HSM 0 of another cluster is impossible).
}

#[test]
fn create_user_errors_in_order() {
    let policy = Policy {
        max_users: 6,
        ..Policy::for_tests()
    };
    let c = Cluster::new(1, AU_PW, policy).unwrap();
    let co = login(&c, 0, "admin", "password");
    co.change_own_password(CO_PW).unwrap();
    assert_eq!(co.create_user("", PreCryptoOfficer, "x"), Err(InvalidName));
    assert_eq!(
        co.create_user(&"a".repeat(32), CryptoUser, CU_PW),
        Err(InvalidName)
    );
    assert_eq!(
        co.create_user("bad-name", CryptoUser, CU_PW),
        Err(InvalidName)
    );
    assert_eq!(
        co.create_user("ok", PreCryptoOfficer, "x"),
        Err(InvalidRole)
    );
    assert_eq!(co.create_user("ok", ApplianceUser, "x"), Err(InvalidRole));
    assert_eq!(
        co.create_user("admin", CryptoUser, "x"),
        Err(InvalidPassword)
    );
    assert_eq!(co.create_user("ADMIN", CryptoUser, CU_PW), Err(UserExists));
    // Upper case is lower-cased first; 31 chars of a-z0-9_ is fine.
    co.create_user("Mixed_Case_1", CryptoUser, CU_PW).unwrap();
    co.create_user(&"b".repeat(31), CryptoOfficer, CU_PW)
        .unwrap();
    // 32-char password counts Unicode characters.
    co.create_user("u3", CryptoUser, &"ü".repeat(32)).unwrap();
    assert_eq!(
        co.create_user("u4", CryptoUser, &"ü".repeat(33)),
        Err(InvalidPassword)
    );
    co.create_user("u4", CryptoUser, CU_PW).unwrap();
    // admin, app_user, mixed_case_1, bbb…, u3, u4: 6 users, the AU counted.
    assert_eq!(co.create_user("u5", CryptoUser, CU_PW), Err(UserLimit));
    assert_eq!(co.create_user("u4", CryptoUser, CU_PW), Err(UserExists));
    assert!(user(&c.inspect(0).unwrap(), "mixed_case_1").is_some());
}

#[test]
fn delete_user_errors_in_order() {
    let f = fx(1);
    f.co.create_user("dave", CryptoUser, CU_PW).unwrap();
    let k = f.alice.generate_key(KeyKind::Aes256, true).unwrap();
    f.alice.share_key(k, "dave").unwrap();
    assert_eq!(f.co.delete_user("nobody"), Err(NoSuchUser));
    assert_eq!(f.co.delete_user("app_user"), Err(ProtectedUser));
    assert_eq!(f.co.delete_user("admin"), Err(TargetLoggedIn)); // the caller itself
    assert_eq!(f.co.delete_user("alice"), Err(TargetLoggedIn));
    f.alice.logout().unwrap();
    assert_eq!(f.co.delete_user("alice"), Err(OwnsKeys));
    assert_eq!(f.co.delete_user("DAVE"), Ok(()));
    let v = f.c.inspect(0).unwrap();
    assert!(user(&v, "dave").is_none());
    assert!(v.keys[0].shares.is_empty(), "removed from share lists");
}

#[test]
fn preco_is_protected() {
    // No CO exists while a PRECO does; check the guard with a CO on a cloned HSM would need
    // an active cluster, where no PRECO exists. Exercise the code via ListUsers instead and
    // the ProtectedUser path for the AU (above). Here: PRECO may not create users.
    let c = new_cluster(1);
    let p = login(&c, 0, "admin", "password");
    assert_eq!(p.create_user("x", CryptoUser, CU_PW), Err(Forbidden));
    assert_eq!(p.delete_user("admin"), Err(Forbidden));
    assert!(p.sync_status().unwrap().is_empty());
}

#[test]
fn zeroize_effects() {
    let f = fx(2);
    let k = f.alice.generate_key(KeyKind::Aes256, true).unwrap();
    let au = login(&f.c, 0, "app_user", AU_PW);
    // Clone to HSM 1 first so we can restore later.
    let au1 = login(&f.c, 1, "app_user", AU_PW);
    au1.clone_from(0).unwrap();
    let s = f.c.open_session(0).unwrap();
    assert_eq!(s.login("app_user", "wrong-pw"), Err(BadCredentials));
    assert_eq!(s.login("bob", "wrong-pw"), Err(BadCredentials));
    // Unauthenticated zeroize.
    let z = f.c.open_session(0).unwrap();
    assert_eq!(z.zeroize(), Ok(()));
    let v = f.c.inspect(0).unwrap();
    assert!(v.blank && v.keys.is_empty());
    assert_eq!(v.users.len(), 1);
    assert_eq!((v.users[0].failed_logins, v.users[0].locked), (0, false));
    assert!(v.sessions.iter().all(|s| s.user.is_none()));
    assert_eq!(f.alice.encrypt(k, b"x"), Err(NotLoggedIn));
    assert!(au.cluster_info().unwrap().hsms[0].blank);
    // The audit log keeps only the zeroize record (read it after restoring a CO).
    au.login("app_user", AU_PW).unwrap();
    au.clone_from(1).unwrap();
    let co = login(&f.c, 0, "admin", CO_PW);
    let log = co.audit_log().unwrap();
    assert_eq!(log[0].operation, Operation::Zeroize);
    assert_eq!(log[0].outcome, Ok(()));
    assert!(log.iter().all(|r| r.operation != Operation::GenerateKey));
    // The key came back with the clone, same id; new ids continue from the counter.
    let alice = login(&f.c, 0, "alice", CU_PW);
    assert_eq!(
        alice.decrypt(k, &alice.encrypt(k, b"m").unwrap()).unwrap(),
        b"m"
    );
    assert_eq!(
        alice.generate_key(KeyKind::Aes256, true).unwrap(),
        KeyId(k.0 + 1)
    );
    // Zeroize of a blank HSM: only counters/locks and sessions.
    let b = f.c.open_session(1).unwrap();
    b.zeroize().unwrap();
    b.zeroize().unwrap();
}

#[test]
fn zeroize_unactivated_hsm0_loses_preco() {
    let c = new_cluster(2);
    let p = login(&c, 0, "admin", "password");
    p.zeroize().unwrap();
    assert!(c.inspect(0).unwrap().blank);
    assert_eq!(p.change_own_password("new-password"), Err(NotLoggedIn));
    assert_eq!(
        c.open_session(0).unwrap().login("admin", "password"),
        Err(BadCredentials)
    );
}

#[test]
fn clone_errors_in_order() {
    let c = new_cluster(3);
    let au1 = login(&c, 1, "app_user", AU_PW);
    assert_eq!(au1.clone_from(0), Err(NotActivated));
    let co = login(&c, 0, "admin", "password");
    co.change_own_password(CO_PW).unwrap();
    co.create_user("alice", CryptoUser, CU_PW).unwrap();
    let au0 = login(&c, 0, "app_user", AU_PW);
    assert_eq!(au0.clone_from(1), Err(NotBlank));
    assert_eq!(au1.clone_from(2), Err(SourceBlank));
    assert_eq!(au1.clone_from(1), Err(SourceBlank));
    assert_eq!(au1.clone_from(99), Err(SourceBlank));
    let s = c.open_session(0).unwrap();
    assert_eq!(s.login("alice", "wrong-password"), Err(BadCredentials));
    let alice = login(&c, 0, "alice", CU_PW);
    let k = alice.generate_key(KeyKind::Signing, false).unwrap();
    alice.set_label(k, "lbl").unwrap();
    au1.clone_from(0).unwrap();
    let (v0, v1) = (c.inspect(0).unwrap(), c.inspect(1).unwrap());
    assert_eq!(v0.users, v1.users);
    assert_eq!(v0.keys, v1.keys);
    assert!(!v1.blank);
    // Passwords come along: the same credentials log in on HSM 1; sync status agrees.
    let alice1 = login(&c, 1, "alice", CU_PW);
    let sig = alice.sign(k, b"data").unwrap();
    assert_eq!(alice1.verify(k, b"data", &sig), Ok(true));
    assert_eq!(alice.sync_status().unwrap(), alice1.sync_status().unwrap());
    // The target's AU keeps its own password hash (still AU_PW here, but change it first on 2).
    let au2 = login(&c, 2, "app_user", AU_PW);
    au2.change_own_password("au2-password").unwrap();
    au2.clone_from(1).unwrap();
    assert_eq!(
        c.open_session(2).unwrap().login("app_user", "au2-password"),
        Ok(ApplianceUser)
    );
}

#[test]
fn generate_key_and_limit() {
    let policy = Policy {
        max_keys: 2,
        ..Policy::for_tests()
    };
    let c = Cluster::new(1, AU_PW, policy).unwrap();
    let co = login(&c, 0, "admin", "password");
    co.change_own_password(CO_PW).unwrap();
    co.create_user("alice", CryptoUser, CU_PW).unwrap();
    let a = login(&c, 0, "alice", CU_PW);
    assert_eq!(a.generate_key(KeyKind::Aes256, true), Ok(KeyId(1)));
    assert_eq!(a.generate_key(KeyKind::HmacSha256, false), Ok(KeyId(2)));
    assert_eq!(a.generate_key(KeyKind::Signing, true), Err(KeyLimit));
    let v = c.inspect(0).unwrap();
    assert_eq!(
        v.keys[1],
        KeyView {
            id: KeyId(2),
            kind: KeyKind::HmacSha256,
            owner: "alice".into(),
            shares: vec![],
            extractable: false,
            label: String::new()
        }
    );
    // Failed generation does not advance the counter.
    a.delete_key(KeyId(1)).unwrap();
    assert_eq!(a.generate_key(KeyKind::Signing, true), Ok(KeyId(3)));
}

#[test]
fn delete_key_and_set_label() {
    let f = fx(1);
    let k = f.alice.generate_key(KeyKind::Aes256, true).unwrap();
    f.alice.share_key(k, "bob").unwrap();
    assert_eq!(f.carol.delete_key(k), Err(NoSuchKey));
    assert_eq!(f.bob.delete_key(k), Err(NotOwner));
    assert_eq!(f.carol.set_label(k, "x"), Err(NoSuchKey));
    assert_eq!(f.bob.set_label(k, "x"), Err(NotOwner));
    assert_eq!(f.alice.set_label(k, "my label"), Ok(()));
    assert_eq!(f.c.inspect(0).unwrap().keys[0].label, "my label");
    assert_eq!(f.alice.delete_key(KeyId(77)), Err(NoSuchKey));
    assert_eq!(f.alice.delete_key(k), Ok(()));
    assert_eq!(f.alice.delete_key(k), Err(NoSuchKey));
}

#[test]
fn share_and_unshare_errors_in_order() {
    let f = fx(1);
    for i in 0..8 {
        f.co.create_user(&format!("u{i}"), CryptoUser, CU_PW)
            .unwrap();
    }
    let k = f.alice.generate_key(KeyKind::HmacSha256, true).unwrap();
    assert_eq!(f.bob.share_key(k, "carol"), Err(NoSuchKey));
    f.alice.share_key(k, "bob").unwrap();
    assert_eq!(f.bob.share_key(k, "carol"), Err(NotOwner));
    assert_eq!(f.bob.unshare_key(k, "bob"), Err(NotOwner));
    assert_eq!(f.alice.share_key(k, "nobody"), Err(NoSuchUser));
    assert_eq!(f.alice.share_key(k, "admin"), Err(InvalidTarget));
    assert_eq!(f.alice.share_key(k, "app_user"), Err(InvalidTarget));
    assert_eq!(f.alice.share_key(k, "alice"), Err(InvalidTarget));
    assert_eq!(f.alice.share_key(k, "BOB"), Err(AlreadyShared));
    for i in 0..6 {
        f.alice.share_key(k, &format!("u{i}")).unwrap();
    }
    assert_eq!(f.alice.share_key(k, "u6"), Err(ShareLimit));
    assert_eq!(f.c.inspect(0).unwrap().keys[0].shares.len(), 7);
    // Unshare.
    assert_eq!(f.alice.unshare_key(k, "nobody"), Err(NoSuchUser));
    assert_eq!(f.alice.unshare_key(k, "admin"), Err(InvalidTarget));
    assert_eq!(f.alice.unshare_key(k, "alice"), Err(InvalidTarget));
    assert_eq!(f.alice.unshare_key(k, "carol"), Err(NotShared));
    assert_eq!(f.alice.unshare_key(k, "bob"), Ok(()));
    assert_eq!(f.bob.hmac(k, b"x"), Err(NoSuchKey));
    assert_eq!(f.alice.share_key(k, "u6"), Ok(()));
}

#[test]
fn key_use_by_kind_and_access() {
    let f = fx(1);
    let aes = f.alice.generate_key(KeyKind::Aes256, true).unwrap();
    let mac = f.alice.generate_key(KeyKind::HmacSha256, true).unwrap();
    let sig = f.alice.generate_key(KeyKind::Signing, true).unwrap();
    // Owner uses all; a shared CU uses; another CU gets NoSuchKey; a CO is Forbidden.
    f.alice.share_key(aes, "bob").unwrap();
    let ct = f.bob.encrypt(aes, b"hello").unwrap();
    assert_eq!(f.alice.decrypt(aes, &ct).unwrap(), b"hello");
    assert_eq!(f.carol.encrypt(aes, b"x"), Err(NoSuchKey));
    assert_eq!(f.carol.decrypt(aes, &ct), Err(NoSuchKey));
    assert_eq!(f.co.encrypt(aes, b"x"), Err(Forbidden));
    // Wrong kinds.
    assert_eq!(f.alice.encrypt(mac, b"x"), Err(WrongKeyKind));
    assert_eq!(f.alice.decrypt(sig, &ct), Err(WrongKeyKind));
    assert_eq!(f.alice.sign(aes, b"x"), Err(WrongKeyKind));
    assert_eq!(f.alice.verify(mac, b"x", b""), Err(WrongKeyKind));
    assert_eq!(f.alice.hmac(sig, b"x"), Err(WrongKeyKind));
    // NoSuchKey before WrongKeyKind.
    assert_eq!(f.alice.hmac(KeyId(999), b"x"), Err(NoSuchKey));
    assert_eq!(f.alice.sign(KeyId(999), b"x"), Err(NoSuchKey));
    assert_eq!(f.alice.verify(KeyId(999), b"x", b""), Err(NoSuchKey));
    // Results.
    let s = f.alice.sign(sig, b"msg").unwrap();
    assert_eq!(f.alice.verify(sig, b"msg", &s), Ok(true));
    assert_eq!(
        f.alice.hmac(mac, b"m").unwrap(),
        f.alice.hmac(mac, b"m").unwrap()
    );
    assert_eq!(
        f.alice.digest(b"abc").unwrap()[..4],
        [0xba, 0x78, 0x16, 0xbf]
    );
    assert_eq!(f.alice.decrypt(aes, b"short"), Err(BadCiphertext));
}

#[test]
fn wrap_unwrap_errors_in_order() {
    let policy = Policy {
        max_keys: 5,
        ..Policy::for_tests()
    };
    let c = Cluster::new(1, AU_PW, policy).unwrap();
    let co = login(&c, 0, "admin", "password");
    co.change_own_password(CO_PW).unwrap();
    co.create_user("alice", CryptoUser, CU_PW).unwrap();
    co.create_user("bob", CryptoUser, CU_PW).unwrap();
    let alice = login(&c, 0, "alice", CU_PW);
    let bob = login(&c, 0, "bob", CU_PW);
    let w = alice.generate_key(KeyKind::Aes256, false).unwrap();
    let k = alice.generate_key(KeyKind::Signing, true).unwrap();
    let ne = alice.generate_key(KeyKind::Signing, false).unwrap();
    let mac = alice.generate_key(KeyKind::HmacSha256, true).unwrap();
    let none = KeyId(999);
    // WrapKey: NoSuchKey (key, then wrapping key); NotOwner; NotExtractable; WrongKeyKind.
    assert_eq!(alice.wrap_key(none, none), Err(NoSuchKey));
    assert_eq!(alice.wrap_key(k, none), Err(NoSuchKey));
    alice.share_key(k, "bob").unwrap();
    assert_eq!(bob.wrap_key(k, w), Err(NoSuchKey)); // w not usable by bob
    alice.share_key(w, "bob").unwrap();
    assert_eq!(bob.wrap_key(k, w), Err(NotOwner));
    assert_eq!(alice.wrap_key(ne, mac), Err(NotExtractable));
    assert_eq!(alice.wrap_key(k, mac), Err(WrongKeyKind));
    let blob = alice.wrap_key(k, w).unwrap();
    // The wrapping key's own extractable flag plays no part; a wrapping key can wrap itself
    // only if extractable (it is not).
    assert_eq!(alice.wrap_key(w, w), Err(NotExtractable));
    // UnwrapKey: NoSuchKey; WrongKeyKind; BadWrappedKey; KeyLimit.
    assert_eq!(bob.unwrap_key(&blob, none), Err(NoSuchKey));
    assert_eq!(bob.unwrap_key(&blob, mac), Err(NoSuchKey));
    assert_eq!(alice.unwrap_key(&blob, mac), Err(WrongKeyKind));
    let other = alice.generate_key(KeyKind::Aes256, true).unwrap(); // 5 keys now
    assert_eq!(alice.unwrap_key(&blob, other), Err(BadWrappedKey));
    assert_eq!(alice.unwrap_key(b"garbage", w), Err(BadWrappedKey));
    assert_eq!(alice.unwrap_key(&blob, w), Err(KeyLimit));
    alice.delete_key(other).unwrap();
    // Bob (shared w) unwraps: D10, a copy of alice's material owned by bob.
    let copy = bob.unwrap_key(&blob, w).unwrap();
    assert_eq!(copy, KeyId(other.0 + 1));
    let v = c.inspect(0).unwrap();
    let kv = v.keys.iter().find(|x| x.id == copy).unwrap();
    assert_eq!(
        (kv.kind, kv.owner.as_str(), kv.extractable, kv.shares.len()),
        (KeyKind::Signing, "bob", true, 0)
    );
    let sig = alice.sign(k, b"data").unwrap();
    assert_eq!(bob.verify(copy, b"data", &sig), Ok(true));
}

#[test]
fn masked_objects_extract_and_insert() {
    let f = fx(2);
    let k = f.alice.generate_key(KeyKind::Aes256, false).unwrap();
    f.alice.share_key(k, "bob").unwrap();
    f.alice.set_label(k, "lbl").unwrap();
    let au = login(&f.c, 0, "app_user", AU_PW);
    // ExtractMasked: NoSuchKey; NotOwner (CU shared only); any key for CO/AU; extractable
    // plays no part.
    assert_eq!(f.co.extract_masked(KeyId(99)), Err(NoSuchKey));
    assert_eq!(f.carol.extract_masked(k), Err(NoSuchKey));
    assert_eq!(f.bob.extract_masked(k), Err(NotOwner));
    let m = f.alice.extract_masked(k).unwrap();
    f.co.extract_masked(k).unwrap();
    au.extract_masked(k).unwrap();
    // InsertMasked: BadMaskedObject; KeyExists; NoSuchUser; KeyLimit.
    assert_eq!(f.co.insert_masked(b""), Err(BadMaskedObject));
    assert_eq!(f.co.insert_masked(&m), Err(KeyExists));
    // D9: delete, then replay brings it back, unchanged.
    let before = f.c.inspect(0).unwrap().keys;
    f.alice.delete_key(k).unwrap();
    assert_eq!(au.insert_masked(&m), Ok(k));
    assert_eq!(f.c.inspect(0).unwrap().keys, before);
    // On a cloned HSM without bob the object answers NoSuchUser.
    let au1 = login(&f.c, 1, "app_user", AU_PW);
    au1.clone_from(0).unwrap();
    let co1 = login(&f.c, 1, "admin", CO_PW);
    let alice1 = login(&f.c, 1, "alice", CU_PW);
    alice1.delete_key(k).unwrap();
    co1.delete_user("bob").unwrap();
    assert_eq!(co1.insert_masked(&m), Err(NoSuchUser));
    // Owner missing.
    co1.create_user("bob", CryptoUser, CU_PW).unwrap();
    alice1.logout().unwrap();
    co1.delete_user("alice").unwrap();
    assert_eq!(co1.insert_masked(&m), Err(NoSuchUser));
    // KeyLimit.
    let p = Policy {
        max_keys: 1,
        ..Policy::for_tests()
    };
    let c = Cluster::new(2, AU_PW, p).unwrap();
    let co = login(&c, 0, "admin", "password");
    co.change_own_password(CO_PW).unwrap();
    co.create_user("alice", CryptoUser, CU_PW).unwrap();
    let a = login(&c, 0, "alice", CU_PW);
    let k1 = a.generate_key(KeyKind::Aes256, true).unwrap();
    let m1 = a.extract_masked(k1).unwrap();
    a.delete_key(k1).unwrap();
    let k2 = a.generate_key(KeyKind::Aes256, true).unwrap();
    assert_eq!(a.insert_masked(&m1), Err(KeyLimit));
    a.delete_key(k2).unwrap();
    assert_eq!(a.insert_masked(&m1), Ok(k1));
}

#[test]
fn session_role_is_read_afresh_and_sessions_are_per_hsm() {
    let f = fx(2);
    // A session on HSM 1 is unaffected by logins on HSM 0.
    let s1 = f.c.open_session(1).unwrap();
    assert_eq!(s1.login("alice", CU_PW), Err(BadCredentials));
    let v = f.c.inspect(0).unwrap();
    assert_eq!(v.sessions.iter().filter(|s| s.user.is_some()).count(), 4);
    drop(s1);
    assert_eq!(f.c.inspect(1).unwrap().sessions.len(), 0);
    let d = format!("{:?} {:?}", f.c, f.alice);
    assert!(d.contains("Cluster") && d.contains("Session"));
}

#[test]
fn audit_log_records_every_call() {
    let f = fx(1);
    let s = f.c.open_session(0).unwrap();
    let _ = s.login("bob", "wrong-password-1");
    let _ = f.bob.encrypt(KeyId(5), b"secret data");
    let _ = f.alice.generate_key(KeyKind::Aes256, true);
    assert_eq!(f.alice.audit_log(), Err(Forbidden));
    assert_eq!(s.audit_log(), Err(NotLoggedIn));
    let log = f.co.audit_log().unwrap();
    let last: Vec<_> = log
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(|r| (r.operation, r.user.clone(), r.outcome_code()))
        .collect();
    assert_eq!(
        last,
        vec![
            (Operation::Login, Some("bob".to_string()), "BadCredentials"),
            (Operation::Encrypt, Some("bob".to_string()), "NoSuchKey"),
            (Operation::GenerateKey, Some("alice".to_string()), "Ok"),
            (Operation::AuditLog, Some("alice".to_string()), "Forbidden"),
            (Operation::AuditLog, None, "NotLoggedIn"),
        ]
    );
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
    let text = format!("{log:?}");
    assert!(
        !text.contains("wrong-password-1")
            && !text.contains(CU_PW)
            && !text.contains("secret data")
    );
}
