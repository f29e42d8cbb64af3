//! The fault zoo: every fault must change what a fixed scenario observes, and the scenario
//! itself is deterministic on the real implementation.
#![cfg(feature = "faults")]

use std::fmt::Debug;

use hsm_impl::*;

const AU: &str = "au-password";
const PW: &str = "pass-word-1";

struct Trace(Vec<String>);

impl Trace {
    fn r<T: Debug>(&mut self, step: &str, res: Result<T, HsmError>) -> Option<T> {
        self.0.push(match &res {
            Ok(v) => format!("{step}: Ok({v:?})"),
            Err(e) => format!("{step}: {}", e.code()),
        });
        res.ok()
    }
    /// For results whose value is random (ciphertexts, masked objects): only the outcome.
    fn o<T>(&mut self, step: &str, res: Result<T, HsmError>) -> Option<T> {
        self.0.push(format!(
            "{step}: {}",
            res.as_ref().map(|_| "Ok").unwrap_or_else(|e| e.code())
        ));
        res.ok()
    }
}

fn sess(c: &Cluster, hsm: usize, t: &mut Trace, name: &str, pw: &str) -> Session {
    let s = c.open_session(hsm).unwrap();
    t.r(&format!("login {name}@{hsm}"), s.login(name, pw));
    s
}

fn scenario(fault: Option<Fault>) -> Vec<String> {
    let policy = Policy {
        max_users: 20,
        ..Policy::for_tests()
    };
    let c = Cluster::new_with_fault(2, AU, policy.clone(), fault).unwrap();
    let mut t = Trace(Vec::new());
    let unauth = c.open_session(0).unwrap();
    t.o("unauth sync", unauth.sync_status());
    t.r("ghost login", unauth.login("ghost", PW));
    // Names are lower-cased (SPEC §3): `ADMIN` is the PRECO.
    t.r("login ADMIN", unauth.login("ADMIN", "password"));
    t.r("logout ADMIN", unauth.logout());
    let au1 = sess(&c, 1, &mut t, "app_user", AU);
    t.r("clone before activation", au1.clone_from(0));
    t.r("zeroize 1", au1.zeroize());
    let co = sess(&c, 0, &mut t, "admin", "password");
    t.r("activate", co.change_own_password(PW));
    t.r("users", co.list_users());
    for u in [
        "alice", "bob", "carol", "dave", "erin", "u1", "u2", "u3", "u4", "u5", "u6", "u7",
    ] {
        t.r("create", co.create_user(u, Role::CryptoUser, PW));
    }
    t.r(
        "create short pw dup",
        co.create_user("alice", Role::CryptoUser, "short"),
    );
    let alice = sess(&c, 0, &mut t, "alice", PW);
    t.r(
        "cu creates user",
        alice.create_user("mallory", Role::CryptoUser, PW),
    );
    // Lockout and counters.
    let other = c.open_session(0).unwrap();
    for i in 0..5 {
        t.r(&format!("bob wrong {i}"), other.login("bob", "wrong-pw"));
    }
    t.r("bob right", other.login("bob", PW));
    t.r("carol wrong", other.login("carol", "wrong-pw"));
    t.r("carol right", other.login("carol", PW));
    t.r("carol out", other.logout());
    for i in 0..5 {
        t.r(
            &format!("alice wrong {i}"),
            other.login("alice", "wrong-pw"),
        );
    }
    t.r("alice own pw", alice.change_own_password(PW));
    // Keys.
    let k0 = t
        .r("gen k0", alice.generate_key(KeyKind::Aes256, true))
        .unwrap_or(KeyId(0));
    t.r("del k0", alice.delete_key(k0));
    let k1 = t
        .r("gen k1", alice.generate_key(KeyKind::Aes256, true))
        .unwrap_or(KeyId(0));
    let k2 = t
        .r("gen k2", alice.generate_key(KeyKind::Aes256, false))
        .unwrap_or(KeyId(0));
    t.r("share carol", alice.share_key(k1, "carol"));
    for u in ["u1", "u2", "u3", "u4", "u5", "u6", "u7"] {
        t.r("share", alice.share_key(k1, u));
    }
    let carol = sess(&c, 0, &mut t, "carol", PW);
    t.o("carol extract shared", carol.extract_masked(k1));
    t.o("wrap non-extractable", alice.wrap_key(k2, k1));
    if let Some(blob) = t.o("wrap k1", alice.wrap_key(k1, k1)) {
        t.r("unwrap k1", alice.unwrap_key(&blob, k1));
    }
    t.o("co encrypt", co.encrypt(k1, b"x"));
    t.r("co change pw of logged-in", co.change_password("alice", PW));
    // Foreign masked object (another cluster with the same fault).
    let other_cluster = Cluster::new_with_fault(1, AU, policy.clone(), fault).unwrap();
    let oc = other_cluster.open_session(0).unwrap();
    let oa = other_cluster.open_session(0).unwrap();
    let foreign = oc
        .login("admin", "password")
        .and_then(|_| oc.change_own_password(PW))
        .and_then(|()| oc.create_user("alice", Role::CryptoUser, PW))
        .and_then(|()| oa.login("alice", PW))
        .and_then(|_| oa.generate_key(KeyKind::HmacSha256, true))
        .and_then(|k| oa.extract_masked(k));
    let foreign = t.o("foreign setup", foreign);
    if let Some(foreign) = foreign {
        t.r("insert foreign", co.insert_masked(&foreign));
    }
    // Masked replay by the AU.
    let au0 = sess(&c, 0, &mut t, "app_user", AU);
    let m = t
        .o("extract k2", alice.extract_masked(k2))
        .unwrap_or_default();
    t.r("del k2", alice.delete_key(k2));
    t.r("au insert k2", au0.insert_masked(&m));
    // Shared user deletes.
    t.r("carol deletes k1", carol.delete_key(k1));
    // Users with keys / logged in.
    let dave = sess(&c, 0, &mut t, "dave", PW);
    t.r("dave gen", dave.generate_key(KeyKind::Signing, true));
    t.r("dave out", dave.logout());
    t.r("delete dave", co.delete_user("dave"));
    let erin = sess(&c, 0, &mut t, "erin", PW);
    t.r("delete erin", co.delete_user("erin"));
    t.r("erin sync", erin.sync_status().map(|s| s.len()));
    // User limit.
    for i in 0..10 {
        t.r(
            "fill",
            co.create_user(&format!("z{i}"), Role::CryptoOfficer, PW),
        );
    }
    // Clone with a changed target AU password.
    t.r("au1 login", au1.login("app_user", AU));
    t.r("au1 own pw", au1.change_own_password("au1-password"));
    t.r("clone", au1.clone_from(0));
    let probe = c.open_session(1).unwrap();
    t.r("au1 new pw", probe.login("app_user", "au1-password"));
    let alice1 = sess(&c, 1, &mut t, "alice", PW);
    // Zeroize HSM 1, then keep using it and HSM 0.
    t.r("zeroize 1 again", alice1.zeroize());
    t.r("alice1 sync", alice1.sync_status().map(|s| s.len()));
    t.r(
        "alice gen after zeroize",
        alice.generate_key(KeyKind::Aes256, true),
    );
    for h in 0..2 {
        let mut snap = c.inspect(h).unwrap();
        snap.sessions.iter_mut().for_each(|s| s.session = 0);
        t.0.push(format!("{snap:?}"));
    }
    t.0
}

#[test]
fn real_scenario_is_deterministic_and_conformant_looking() {
    let a = scenario(None);
    assert_eq!(a, scenario(None));
    // A few anchors of the real behaviour.
    assert!(a.contains(&"ghost login: BadCredentials".to_string()));
    assert!(a.contains(&"clone before activation: NotActivated".to_string()));
    assert!(a.contains(&"insert foreign: BadMaskedObject".to_string()));
    assert!(a.contains(&"carol deletes k1: NotOwner".to_string()));
}

#[test]
fn every_fault_changes_the_scenario() {
    let real = scenario(None);
    assert!(Fault::ALL.len() >= 16);
    let mut undetected = Vec::new();
    for &f in Fault::ALL {
        if scenario(Some(f)) == real {
            undetected.push(f);
        }
    }
    assert!(
        undetected.is_empty(),
        "faults the scenario does not see: {undetected:?}"
    );
}
