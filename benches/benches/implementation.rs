//! `hsm-impl` through a session against its building blocks, in the same run: the ratio of a
//! session's encrypt to aes-gcm called directly (with the same nonce generation) is the cost
//! of the HSM's checks.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hsm_impl::{Cluster, KeyKind, PasswordCost, Policy, Role, Session};

fn cluster(cost: PasswordCost) -> (Cluster, Session) {
    let policy = Policy {
        password_cost: cost,
        ..Policy::default()
    };
    let cluster = Cluster::new(1, "appliance-pw", policy).expect("cluster");
    let s = cluster.open_session(0).expect("session");
    s.login("admin", "password").expect("preco login");
    s.change_own_password("officer-pw").expect("activate");
    s.create_user("alice", Role::CryptoUser, "alice-pw-1")
        .expect("create");
    s.logout().expect("logout");
    s.login("alice", "alice-pw-1").expect("cu login");
    (cluster, s)
}

fn encrypt(c: &mut Criterion) {
    let (_cluster, s) = cluster(PasswordCost::Test);
    let key = s.generate_key(KeyKind::Aes256, true).unwrap();
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).unwrap();
    let direct = Aes256Gcm::new(&Key::<Aes256Gcm>::from(raw));
    let mut g = c.benchmark_group("encrypt");
    for size in [64usize, 4096] {
        let data = vec![7u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("session", size), &data, |b, d| {
            b.iter(|| s.encrypt(key, d).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("aes-gcm direct", size), &data, |b, d| {
            b.iter(|| {
                let mut n = [0u8; 12];
                getrandom::fill(&mut n).unwrap();
                direct.encrypt(&Nonce::from(n), d.as_slice()).unwrap()
            })
        });
    }
    g.bench_function("nonce generation", |b| {
        b.iter(|| {
            let mut n = [0u8; 12];
            getrandom::fill(&mut n).unwrap();
            n
        })
    });
    g.finish();
}

fn other_operations(c: &mut Criterion) {
    let (_cluster, s) = cluster(PasswordCost::Test);
    let hmac = s.generate_key(KeyKind::HmacSha256, true).unwrap();
    let signing = s.generate_key(KeyKind::Signing, true).unwrap();
    let data = [1u8; 64];
    let sig = s.sign(signing, &data).unwrap();
    let mut g = c.benchmark_group("operations");
    g.bench_function("hmac 64 B", |b| b.iter(|| s.hmac(hmac, &data).unwrap()));
    g.bench_function("sign 64 B", |b| b.iter(|| s.sign(signing, &data).unwrap()));
    g.bench_function("verify 64 B", |b| {
        b.iter(|| s.verify(signing, &data, &sig).unwrap())
    });
    g.bench_function("digest 64 B", |b| b.iter(|| s.digest(&data).unwrap()));
    g.bench_function("extract + delete + insert masked", |b| {
        b.iter(|| {
            let m = s.extract_masked(hmac).unwrap();
            s.delete_key(hmac).unwrap();
            s.insert_masked(&m).unwrap()
        })
    });
    g.finish();
}

fn login(c: &mut Criterion) {
    let mut g = c.benchmark_group("login");
    for (name, cost) in [
        ("test cost", PasswordCost::Test),
        ("default cost", PasswordCost::Default),
    ] {
        let (cluster, _s) = cluster(cost);
        let other = cluster.open_session(0).unwrap();
        if name == "default cost" {
            g.sample_size(10);
        }
        g.bench_function(name, |b| {
            b.iter(|| {
                other.login("alice", "alice-pw-1").unwrap();
                other.logout().unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, encrypt, other_operations, login);
criterion_main!(benches);
