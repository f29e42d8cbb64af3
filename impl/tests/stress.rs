//! Concurrency under load: many threads, each with several sessions on every HSM of one
//! cluster, hammer it for a fixed wall-clock time with logins (right and wrong passwords, so
//! lockouts and unlocks), user management, key use, masking, wrap/unwrap, zeroize and clone.
//! Then SPEC §7's invariants are checked on the final state through `Cluster::inspect`, with
//! cross-HSM checks (a key id means the same key everywhere) and the uniqueness of every key
//! id the threads were given.
//!
//! A watchdog thread ends the process with a message if the test has not finished within
//! [`WATCHDOG`]: a deadlock fails CI instead of hanging it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use hsm_impl::*;

/// The same password for everyone, so that ChangeOwnPassword(PW) by any session keeps every login working.
const AU_PW: &str = PW;
const PW: &str = "pass-word-1";
const HSMS: usize = 4;
const THREADS: usize = 16;
/// How long the threads run.
const LOAD: Duration = Duration::from_secs(3);
/// How long the whole test may take before the watchdog fails it.
/// The longest the load runs while some operation of [`DEEP`] has not yet succeeded.
const LOAD_LIMIT: Duration = Duration::from_secs(40);
/// Operations the load must succeed in at least once: it reaches deep states.
const DEEP: [&str; 15] = [
    "login cu",
    "login co",
    "login au",
    "generate",
    "share",
    "encrypt",
    "sign",
    "wrap",
    "unwrap",
    "extract",
    "insert",
    "create user",
    "delete user",
    "clone",
    "zeroize",
];
const WATCHDOG: Duration = Duration::from_secs(60);
const CUS: &[&str] = &["u1", "u2", "u3", "u4", "u5", "u6"];
const COS: &[&str] = &["admin", "co2", "co3"];

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
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// Fails the process if it is still running after `limit`, unless `done` is signalled first.
fn watchdog(limit: Duration, what: &'static str) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("WATCHDOG: {what} has not finished within {limit:?}: deadlock or livelock");
            std::process::exit(101);
        }
    });
    tx
}

fn setup() -> Cluster {
    let policy = Policy {
        max_shares: 3,
        max_users: 16,
        max_keys: 64,
        lockout_threshold: 3,
        ..Policy::for_tests()
    };
    let c = Cluster::new(HSMS, AU_PW, policy).unwrap();
    let co = c.open_session(0).unwrap();
    co.login("admin", "password").unwrap();
    co.change_own_password(PW).unwrap();
    for u in ["co2", "co3"] {
        co.create_user(u, Role::CryptoOfficer, PW).unwrap();
    }
    for u in CUS {
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

/// What one thread saw.
#[derive(Default)]
struct Seen {
    ops: usize,
    ok: BTreeMap<&'static str, usize>,
    /// Every key id GenerateKey or UnwrapKey answered to this thread.
    new_ids: Vec<u64>,
}

fn worker(c: &Cluster, t: usize, stop: &AtomicBool, reached: &AtomicU32) -> Seen {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 0x1234_5678_9ABC));
    let mut sessions: Vec<Session> = (0..HSMS + 2)
        .map(|i| c.open_session((t + i) % HSMS).unwrap())
        .collect();
    let mut masked: Vec<Vec<u8>> = Vec::new();
    let mut wrapped: Vec<(Vec<u8>, KeyId)> = Vec::new();
    let mut known: Vec<KeyId> = vec![KeyId(1)];
    let mut seen = Seen::default();
    while !stop.load(Ordering::Relaxed) {
        seen.ops += 1;
        let i = rng.below(sessions.len());
        let s = &sessions[i];
        let key = if rng.below(6) == 0 {
            KeyId(1 + rng.below(2000) as u64)
        } else {
            known[rng.below(known.len())]
        };
        let key2 = known[rng.below(known.len())];
        let cu = rng.pick(CUS);
        let kind = [KeyKind::Aes256, KeyKind::HmacSha256, KeyKind::Signing][rng.below(3)];
        let (what, r): (&'static str, Result<(), HsmError>) = match rng.below(30) {
            0..=2 => ("login cu", s.login(cu, PW).map(drop)),
            3 => ("login co", s.login(rng.pick(COS), PW).map(drop)),
            4 => ("login au", s.login("app_user", AU_PW).map(drop)),
            5 => (
                "wrong login",
                s.login(rng.pick(&["u1", "co2"]), "wrong-pw").map(drop),
            ),
            6 => ("logout", s.logout()),
            7 | 8 => match s.generate_key(kind, rng.below(3) != 0) {
                Ok(k) => {
                    known.push(k);
                    seen.new_ids.push(k.0);
                    ("generate", Ok(()))
                }
                Err(e) => ("generate", Err(e)),
            },
            9 => ("delete key", s.delete_key(key)),
            10 => ("share", s.share_key(key, cu)),
            11 => ("unshare", s.unshare_key(key, cu)),
            12 => ("label", s.set_label(key, "stress")),
            13 => (
                "encrypt",
                s.encrypt(key, b"payload")
                    .and_then(|ct| s.decrypt(key, &ct))
                    .map(drop),
            ),
            14 => (
                "sign",
                s.sign(key, b"data")
                    .and_then(|sig| s.verify(key, b"data", &sig))
                    .map(drop),
            ),
            15 => ("hmac", s.hmac(key, b"data").map(drop)),
            16 => match s.wrap_key(key, key2) {
                Ok(b) => {
                    wrapped.push((b, key2));
                    ("wrap", Ok(()))
                }
                Err(e) => ("wrap", Err(e)),
            },
            17 => match wrapped.get(rng.below(wrapped.len())) {
                Some((b, w)) => match s.unwrap_key(b, *w) {
                    Ok(k) => {
                        known.push(k);
                        seen.new_ids.push(k.0);
                        ("unwrap", Ok(()))
                    }
                    Err(e) => ("unwrap", Err(e)),
                },
                None => ("unwrap", Err(HsmError::NoSuchKey)),
            },
            18 => match s.extract_masked(key) {
                Ok(m) => {
                    masked.push(m);
                    ("extract", Ok(()))
                }
                Err(e) => ("extract", Err(e)),
            },
            19 => match masked.get(rng.below(masked.len())) {
                Some(m) => ("insert", s.insert_masked(m).map(drop)),
                None => ("insert", Err(HsmError::BadMaskedObject)),
            },
            20 => ("create user", {
                let role = if rng.below(4) == 0 {
                    Role::CryptoOfficer
                } else {
                    Role::CryptoUser
                };
                let name = if role == Role::CryptoOfficer {
                    rng.pick(&["co2", "co3"])
                } else {
                    cu
                };
                s.create_user(name, role, PW)
            }),
            21 => (
                "delete user",
                s.delete_user(if rng.below(3) == 0 { rng.pick(COS) } else { cu }),
            ),
            22 => (
                "change password",
                s.change_password(if rng.below(2) == 0 { cu } else { rng.pick(COS) }, PW),
            ),
            23 => ("change own password", s.change_own_password(PW)),
            24 => ("clone", {
                // As the AU if the session is free (the AU never gets a wrong password here).
                let _ = s.login("app_user", AU_PW);
                s.clone_from(rng.below(HSMS + 1))
            }),
            // Rarely, and never HSM 0: the others come back by Clone from it.
            25 if s.hsm() != 0 && rng.below(400) == 0 => ("zeroize", s.zeroize()),
            26 => ("sync", s.sync_status().map(drop)),
            27 => ("info", s.cluster_info().map(drop)),
            28 => ("list users", s.list_users().map(drop)),
            _ => {
                if rng.below(4) == 0 {
                    // Reopen a session on any HSM (the old one is dropped: closed).
                    sessions[i] = c.open_session(rng.below(HSMS)).unwrap();
                    ("reopen", Ok(()))
                } else {
                    ("inspect", c.inspect(rng.below(HSMS)).map(drop))
                }
            }
        };
        if r.is_ok() {
            *seen.ok.entry(what).or_default() += 1;
            if let Some(i) = DEEP.iter().position(|d| *d == what) {
                reached.fetch_or(1 << i, Ordering::Relaxed);
            }
        }
        if known.len() > 64 {
            known.drain(1..33);
        }
        if masked.len() > 32 {
            masked.drain(..16);
        }
        if wrapped.len() > 32 {
            wrapped.drain(..16);
        }
    }
    seen
}

/// SPEC §7's invariants on the final state, through the inspection view, and the cross-HSM
/// ones: a key id names the same key (kind, owner, extractable) on every HSM that holds it.
fn check_invariants(c: &Cluster) {
    let policy = c.policy().clone();
    let snaps: Vec<HsmSnapshot> = (0..c.hsm_count()).map(|h| c.inspect(h).unwrap()).collect();
    let activated = snaps.iter().all(|s| s.activated);
    assert!(activated, "the cluster was activated in setup, for good");
    let mut same_key: BTreeMap<u64, (KeyKind, String, bool)> = BTreeMap::new();
    for (h, s) in snaps.iter().enumerate() {
        let role = |n: &str| s.users.iter().find(|u| u.name == n).map(|u| u.role);
        assert!(
            s.users.iter().all(|u| u.role != Role::PreCryptoOfficer),
            "a PRECO on HSM {h} of an active cluster"
        );
        assert_eq!(role(AU_NAME), Some(Role::ApplianceUser), "AU on HSM {h}");
        assert!(s.users.len() <= policy.max_users && s.keys.len() <= policy.max_keys);
        for k in &s.keys {
            assert_eq!(
                role(&k.owner),
                Some(Role::CryptoUser),
                "owner of {} on HSM {h}",
                k.id
            );
            assert!(
                k.shares.len() <= policy.max_shares,
                "{} on HSM {h}: too many shares",
                k.id
            );
            for sh in &k.shares {
                assert_eq!(
                    role(sh),
                    Some(Role::CryptoUser),
                    "share {sh} of {} on HSM {h}",
                    k.id
                );
                assert_ne!(sh, &k.owner, "{} on HSM {h} shared with its owner", k.id);
            }
            let this = (k.kind, k.owner.clone(), k.extractable);
            let first = same_key.entry(k.id.0).or_insert_with(|| this.clone());
            assert_eq!(*first, this, "key {} differs between HSMs", k.id);
        }
        if s.blank {
            assert!(
                s.keys.is_empty() && s.users.len() == 1,
                "blank HSM {h} holds more than the AU"
            );
        } else {
            assert!(
                s.users.iter().any(|u| u.role == Role::CryptoOfficer),
                "non-blank HSM {h} of an active cluster without a CO"
            );
        }
        for sess in &s.sessions {
            if let Some(u) = &sess.user {
                assert!(
                    role(u).is_some(),
                    "HSM {h}: a session logged in as {u}, who is gone"
                );
            }
        }
        for u in &s.users {
            assert_eq!(
                u.locked,
                u.failed_logins >= policy.lockout_threshold,
                "HSM {h}: {}'s lock and counter disagree",
                u.name
            );
        }
    }
}

#[test]
fn many_threads_under_load_keep_invariants_and_never_deadlock() {
    let done = watchdog(WATCHDOG, "the stress test");
    let start = Instant::now();
    let c = Arc::new(setup());
    let stop = Arc::new(AtomicBool::new(false));
    let reached = Arc::new(AtomicU32::new(0));
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (c, stop, barrier, reached) = (
                Arc::clone(&c),
                Arc::clone(&stop),
                Arc::clone(&barrier),
                Arc::clone(&reached),
            );
            thread::spawn(move || {
                barrier.wait();
                worker(&c, t, &stop, &reached)
            })
        })
        .collect();
    barrier.wait();
    // The load runs for LOAD, and on until every deep operation has succeeded once (a machine
    // busy with other work runs fewer operations in LOAD: the test is about what the load
    // reaches, not how fast), at most LOAD_LIMIT.
    let all = (1u32 << DEEP.len()) - 1;
    let loaded = Instant::now();
    while loaded.elapsed() < LOAD
        || (reached.load(Ordering::Relaxed) != all && loaded.elapsed() < LOAD_LIMIT)
    {
        thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let mut ops = 0;
    let mut ok: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut ids = Vec::new();
    for h in handles {
        let seen = h.join().expect("a worker panicked");
        ops += seen.ops;
        for (k, v) in seen.ok {
            *ok.entry(k).or_default() += v;
        }
        ids.extend(seen.new_ids);
    }
    eprintln!(
        "{ops} operations by {THREADS} threads in {:?}; successes: {ok:?}",
        start.elapsed()
    );
    // Key ids come from one counter: never given twice, even under contention.
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a key id was given twice");
    // The load reaches deep states.
    for what in DEEP {
        assert!(
            ok.get(what).copied().unwrap_or(0) > 0,
            "no successful {what} within {LOAD_LIMIT:?}"
        );
    }
    check_invariants(&c);
    for h in 0..HSMS {
        assert!(
            c.inspect(h).unwrap().sessions.is_empty(),
            "the workers' sessions were dropped: none may be left on HSM {h}"
        );
    }
    let _ = done.send(());
}
