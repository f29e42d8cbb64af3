#![allow(dead_code)]
// Shared by the hsm-impl targets: an activated one-HSM cluster with a CU holding an AES key,
// an HMAC key and a signing key; its snapshot before the input, to check nothing changed.
use hsm_impl::{Cluster, KeyId, KeyKind, Policy, Role, Session};

pub struct Fixture {
    pub cluster: Cluster,
    pub session: Session,
    pub aes: KeyId,
    pub signing: KeyId,
}

pub fn fixture() -> Fixture {
    let cluster = Cluster::new(1, "appliance-pw", Policy::for_tests()).expect("cluster");
    let s = cluster.open_session(0).expect("session");
    s.login("admin", "password").expect("login");
    s.change_own_password("officer-pw").expect("activate");
    s.create_user("alice", Role::CryptoUser, "alice-pw-1")
        .expect("create");
    s.logout().expect("logout");
    s.login("alice", "alice-pw-1").expect("login");
    let aes = s.generate_key(KeyKind::Aes256, true).expect("aes");
    let signing = s.generate_key(KeyKind::Signing, true).expect("signing");
    Fixture {
        cluster,
        session: s,
        aes,
        signing,
    }
}

pub fn view(f: &Fixture) -> String {
    format!("{:?}", f.cluster.inspect(0).expect("inspect"))
}
