//! Many threads, many sessions on several HSMs, random operations; then SPEC §7's invariants
//! on the final state, through the inspection view. Bounded in operations (a few seconds).

use std::sync::Arc;
use std::thread;

use hsm_impl::*;

const AU_PW: &str = "au-password";
const PW: &str = "pass-word-1";
const NAMES: &[&str] = &["admin", "app_user", "co2", "u1", "u2", "u3", "u4", "u5"];
const HSMS: usize = 3;
const THREADS: usize = 8;
const OPS_PER_THREAD: usize = 400;

/// xorshift64*: deterministic per thread, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn setup() -> Cluster {
    let c = Cluster::new(HSMS, AU_PW, Policy::for_tests()).unwrap();
    let co = c.open_session(0).unwrap();
    co.login("admin", "password").unwrap();
    co.change_own_password(PW).unwrap();
    co.create_user("co2", Role::CryptoOfficer, PW).unwrap();
    for u in ["u1", "u2", "u3", "u4"] {
        co.create_user(u, Role::CryptoUser, PW).unwrap();
    }
    let u1 = c.open_session(0).unwrap();
    u1.login("u1", PW).unwrap();
    let k = u1.generate_key(KeyKind::Aes256, true).unwrap();
    u1.share_key(k, "u2").unwrap();
    for h in 1..HSMS {
        let au = c.open_session(h).unwrap();
        au.login("app_user", AU_PW).unwrap();
        au.clone_from(0).unwrap();
    }
    c
}

fn random_op(
    c: &Cluster,
    sessions: &mut [Session],
    rng: &mut Rng,
    masked: &mut Vec<Vec<u8>>,
    known: &mut Vec<KeyId>,
) -> (usize, bool) {
    let s = &sessions[rng.below(sessions.len())];
    let name = NAMES[rng.below(NAMES.len())];
    // Mostly ids this thread generated (so that key operations reach success), sometimes any.
    let pick = |rng: &mut Rng, known: &[KeyId]| match known.get(rng.below(known.len().max(1))) {
        Some(&k) if rng.below(5) != 0 => k,
        _ => KeyId(1 + rng.below(40) as u64),
    };
    let key = pick(rng, known);
    let key2 = pick(rng, known);
    let pw = if name == "app_user" { AU_PW } else { PW };
    let kind = [KeyKind::Aes256, KeyKind::HmacSha256, KeyKind::Signing][rng.below(3)];
    let op = rng.below(26);
    let r = match op {
        0..=4 => s
            .login(name, if rng.below(6) == 0 { "wrong-pass" } else { pw })
            .map(drop),
        5 if rng.below(3) == 0 => s.logout(),
        5 | 6 => s
            .generate_key(kind, rng.below(2) == 0)
            .map(|k| known.push(k)),
        25 if rng.below(2) == 0 => s.delete_key(key),
        7 | 8 => s.share_key(key, ["u1", "u2", "u3", "u4"][rng.below(4)]),
        9 => s.unshare_key(key, name),
        10 => s.encrypt(key, b"payload").map(drop),
        11 => s.extract_masked(key).map(|m| masked.push(m)),
        12 => match masked.get(rng.below(masked.len().max(1))) {
            Some(m) => s.insert_masked(m).map(drop),
            None => Err(HsmError::Forbidden),
        },
        13 => s.clone_from(rng.below(HSMS + 1)),
        14 => {
            if rng.below(40) == 0 {
                s.zeroize()
            } else {
                Err(HsmError::Forbidden) // no-op, not counted
            }
        }
        15 => s.create_user(&format!("u{}", 1 + rng.below(5)), Role::CryptoUser, PW),
        16 => s.delete_user(name),
        17 => s.change_password(name, PW),
        18 => s.change_own_password(pw),
        19 => s
            .wrap_key(key, key2)
            .and_then(|b| s.unwrap_key(&b, key2))
            .map(drop),
        20 => s.sync_status().map(drop),
        21 => s.cluster_info().map(drop),
        22 => s.set_label(key, "l"),
        23 => s.hmac(key, b"x").map(drop),
        24 => {
            // Reopen a session, possibly on another HSM.
            let i = rng.below(sessions.len());
            sessions[i] = c.open_session(rng.below(HSMS)).unwrap();
            Ok(())
        }
        _ => c.inspect(rng.below(HSMS)).map(drop),
    };
    (op, r.is_ok())
}

fn check_invariants(c: &Cluster, policy: &Policy) {
    let snaps: Vec<HsmSnapshot> = (0..c.hsm_count()).map(|h| c.inspect(h).unwrap()).collect();
    let activated = snaps[0].activated;
    for (h, s) in snaps.iter().enumerate() {
        let role = |n: &str| s.users.iter().find(|u| u.name == n).map(|u| u.role);
        // PRECO only on HSM 0 and only while unactivated.
        for u in &s.users {
            if u.role == Role::PreCryptoOfficer {
                assert!(
                    h == 0 && !activated,
                    "PRECO on HSM {h}, activated {activated}"
                );
            }
        }
        assert_eq!(
            role("app_user"),
            Some(Role::ApplianceUser),
            "AU on every HSM"
        );
        // Keys: owner a CU present; shares only CUs, never the owner, at most the limit.
        for k in &s.keys {
            assert_eq!(
                role(&k.owner),
                Some(Role::CryptoUser),
                "owner of {:?} on HSM {h}",
                k.id
            );
            assert!(k.shares.len() <= policy.max_shares);
            for sh in &k.shares {
                assert_eq!(role(sh), Some(Role::CryptoUser));
                assert_ne!(sh, &k.owner);
            }
        }
        // Blank HSM: only the AU, no keys.
        if s.blank {
            assert!(s.keys.is_empty());
            assert_eq!(s.users.len(), 1);
        } else if activated {
            assert!(
                s.users.iter().any(|u| u.role == Role::CryptoOfficer),
                "non-blank HSM {h} without a CO"
            );
        }
        // No session logged in as a user that is gone.
        for sess in &s.sessions {
            if let Some(u) = &sess.user {
                assert!(role(u).is_some(), "session logged in as missing {u}");
            }
        }
        // Locks agree with counters.
        for u in &s.users {
            assert_eq!(u.locked, u.failed_logins >= policy.lockout_threshold);
        }
    }
}

#[test]
fn many_threads_random_operations_keep_invariants() {
    let c = Arc::new(setup());
    let policy = c.policy().clone();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 0x1234_5678_9ABC));
                let mut sessions: Vec<Session> = (0..4)
                    .map(|i| c.open_session((t + i) % HSMS).unwrap())
                    .collect();
                let mut masked = Vec::new();
                let mut known = Vec::new();
                let mut ok = [0usize; 26];
                for _ in 0..OPS_PER_THREAD {
                    let (op, success) =
                        random_op(&c, &mut sessions, &mut rng, &mut masked, &mut known);
                    ok[op] += usize::from(success);
                }
                (sessions, ok)
            })
        })
        .collect();
    let mut ok = [0usize; 26];
    let mut sessions = Vec::new();
    for h in handles {
        let (s, o) = h.join().unwrap();
        sessions.push(s);
        for (a, b) in ok.iter_mut().zip(o) {
            *a += b;
        }
    }
    eprintln!("successes per operation kind: {ok:?}");
    // The run reaches deep states: logins, key generation, sharing, masking and zeroize succeed.
    for (i, what) in [
        (0, "login"),
        (6, "generate"),
        (7, "share"),
        (11, "extract"),
        (14, "zeroize"),
    ] {
        assert!(ok[i] > 0, "no successful {what}");
    }
    check_invariants(&c, &policy);
    drop(sessions);
    check_invariants(&c, &policy);
    for h in 0..HSMS {
        assert!(
            c.inspect(h).unwrap().sessions.is_empty(),
            "dropped sessions leave their HSM"
        );
    }
}

#[test]
fn opposite_clones_and_cross_hsm_traffic_do_not_deadlock() {
    // Two AUs clone in opposite directions at the same time, over and over, while other
    // threads read cluster info (which locks every HSM in turn) and zeroize.
    let c = Arc::new(setup());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                let (a, b) = if t % 2 == 0 { (1, 2) } else { (2, 1) };
                let s = c.open_session(a).unwrap();
                for i in 0..300 {
                    let _ = s.login("app_user", AU_PW);
                    match (t + i) % 4 {
                        0 => drop(s.clone_from(b)),
                        1 => drop(s.cluster_info()),
                        2 if i % 16 == 0 => drop(s.zeroize()),
                        _ => drop(s.clone_from(0)),
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    check_invariants(&c, c.policy());
}

#[test]
fn cluster_info_is_a_picture_of_one_moment() {
    // HSMs 1 and 2 take turns being blank: one is zeroized only after the other was cloned
    // back, so at every moment at least one of them holds users. A GetClusterInfo that read
    // the HSMs one at a time could see HSM 1 blank, then (after a clone onto 1 and a zeroize
    // of 2) HSM 2 blank: a cluster no moment had. The concurrent campaign found that
    // (conformance/histories/cluster-info-reads-every-hsm-at-once.json).
    let c = Arc::new(setup());
    let writer = {
        let c = Arc::clone(&c);
        thread::spawn(move || {
            let one = c.open_session(1).unwrap();
            let two = c.open_session(2).unwrap();
            for _ in 0..20_000 {
                for (target, source) in [(&two, 1), (&one, 2)] {
                    target.zeroize().unwrap();
                    target.login("app_user", AU_PW).unwrap();
                    target.clone_from(source).unwrap();
                }
            }
        })
    };
    let reader = c.open_session(0).unwrap();
    let mut pictures = 0;
    while !writer.is_finished() {
        let info = reader.cluster_info().unwrap();
        assert!(
            !(info.hsms[1].blank && info.hsms[2].blank),
            "GetClusterInfo answered HSMs 1 and 2 both blank after {pictures} answers"
        );
        pictures += 1;
    }
    writer.join().unwrap();
    assert!(pictures > 0);
}
