//! No secret in any output: a random campaign runs on `hsm-impl`, and every error message,
//! every `Debug` and `Display` of what the implementation answers (before abstraction), of its
//! sessions, cluster and inspection snapshots, and every audit record is collected; none may
//! contain a password or any key material the campaign used.
//!
//! Passwords come from the configuration's tables (and the AU password). Key material is not
//! readable through the public API, by design; so the cluster is made with the zoo's
//! `ForeignMaskedAccepted`, whose only change is a fixed, known masking key (and no cluster id
//! in masked objects): opening every masked object the campaign extracted, and at the end one
//! of every key left on every HSM, yields the material of those keys. The masking key itself is
//! a secret checked too. Secrets are looked for as text, as lower- and upper-case hex, as
//! base64, as a `Debug` byte list, and (material only) as raw bytes inside every byte string
//! the implementation answered (ciphertexts, masked objects, wrapped keys, signatures, tags).
//! The traces themselves are not checked: they name test passwords on purpose.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64ct::{Base64, Encoding};
use hsm_conformance::adapter::ImplSut;
use hsm_conformance::generate::{case_seed, runner_config, Generator, Rng};
use hsm_conformance::sut::SystemUnderTest;
use hsm_impl::{Cluster, Fault, HsmError, Role};
use hsm_model::state::MaskedObject;
use hsm_model::{LargeState, Op};
use std::collections::BTreeSet;
use std::sync::Arc;

const MASKING_KEY: [u8; 32] = [0x42; 32];

/// The material inside a masked object of a `ForeignMaskedAccepted` cluster (record layout in
/// `impl/src/record.rs`: `id:u64 | kind:u8 | len:u32 material | …`).
fn material_of(masked: &[u8]) -> Option<Vec<u8>> {
    let (&version, rest) = masked.split_first()?;
    if rest.len() < 12 + 16 {
        return None;
    }
    let mut aad = b"hsm-impl/masked-object".to_vec();
    aad.push(version);
    aad.extend_from_slice(&[0; 16]);
    let cipher = Aes256Gcm::new_from_slice(&MASKING_KEY).ok()?;
    let nonce: [u8; 12] = rest[..12].try_into().ok()?;
    let plain = cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &rest[12..],
                aad: &aad,
            },
        )
        .ok()?;
    let len = u32::from_be_bytes(plain.get(9..13)?.try_into().ok()?) as usize;
    Some(plain.get(13..13 + len)?.to_vec())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The text forms a secret could leak in.
fn forms(secret: &[u8], text: bool) -> Vec<String> {
    let mut out = vec![
        hex(secret),
        hex(secret).to_uppercase(),
        Base64::encode_string(secret),
    ];
    let dbg = format!("{:?}", secret);
    out.push(dbg[..dbg.len() - 1].to_string()); // `[1, 2, 3` without the bracket
    if secret.len() >= 16 {
        // Half of it is a leak too.
        let half = &secret[..secret.len() / 2];
        out.push(hex(half));
        out.push(hex(half).to_uppercase());
    }
    if text {
        out.push(String::from_utf8_lossy(secret).into_owned());
    }
    out
}

#[test]
fn no_password_or_key_material_in_any_output() {
    let cfg = runner_config();
    let gen = Generator::new(&cfg).expect("generator");
    let make: hsm_conformance::adapter::Constructor =
        Arc::new(|n, pw, p| Cluster::new_with_fault(n, pw, p, Some(Fault::ForeignMaskedAccepted)));
    let mut outputs: Vec<String> = Vec::new();
    let mut bytes_out: Vec<Vec<u8>> = Vec::new();
    let mut materials: BTreeSet<Vec<u8>> = BTreeSet::new();
    // Every error's Display and Debug.
    for code in HsmError::ALL {
        outputs.push(format!("{code} {code:?}"));
    }
    let (cases, steps) = (200, 120);
    for case in 0..cases {
        let mut rng = Rng::new(case_seed(7_777, case));
        let trace = gen.trace(&format!("secrets {case}"), steps, &mut rng);
        let mut sut = ImplSut::new(&cfg, make.clone()).expect("a cluster");
        sut.record_raw();
        let mut state = LargeState::new_cluster();
        let all = cfg
            .setup
            .iter()
            .copied()
            .chain(trace.steps.iter().map(|s| s.action));
        for a in all {
            if matches!(
                a.op,
                Op::InsertMasked {
                    object: MaskedObject::Foreign
                }
            ) {
                // This cluster's fault accepts another cluster's object: not what we test.
                continue;
            }
            let (expected, next) = cfg.step(&state, &a);
            let got = sut.step(&a, &state, &expected);
            assert_eq!(got.as_ref(), Ok(&expected), "case {case}: a divergence");
            outputs.push(format!("{got:?}"));
            outputs.extend(sut.take_raw());
            outputs.push(format!(
                "{:?}",
                sut.session(a.client.index(), a.hsm.index())
            ));
            state = next;
        }
        sut.check_state(&state).expect("conformant");
        outputs.push(format!("{:?}", sut.cluster()));
        for v in sut.observe().expect("inspect") {
            outputs.push(v);
        }
        for m in sut.masked_objects() {
            materials.extend(material_of(m));
        }
        bytes_out.extend(sut.answered_bytes().into_iter().map(<[u8]>::to_vec));
        // The end: every key left, extracted by the AU; every audit log, read by a CO.
        let c = sut.cluster();
        for h in 0..c.hsm_count() {
            let snap = c.inspect(h).expect("inspect");
            let au = c.open_session(h).expect("session");
            if au.login("app_user", &cfg.au_password).is_ok() {
                for k in &snap.keys {
                    let m = au.extract_masked(k.id).expect("the AU extracts any key");
                    materials.extend(material_of(&m));
                }
            }
            let co = c.open_session(h).expect("session");
            let logged = snap
                .users
                .iter()
                .filter(|u| u.role == Role::CryptoOfficer && !u.locked)
                .any(|u| cfg.passwords.iter().any(|p| co.login(&u.name, p).is_ok()));
            if logged {
                for r in co.audit_log().expect("a CO reads the audit log") {
                    outputs.push(format!("{r:?} {}", r.outcome_code()));
                }
            }
        }
    }
    let audits = outputs
        .iter()
        .filter(|o| o.starts_with("AuditRecord"))
        .count();
    assert!(audits > 100, "only {audits} audit records read");
    assert!(
        materials.len() >= 20,
        "only {} key materials learned",
        materials.len()
    );
    let mut secrets: Vec<(String, Vec<String>)> = Vec::new();
    let passwords: BTreeSet<&String> = cfg
        .passwords
        .iter()
        .chain([&cfg.au_password])
        .filter(|p| cfg.policy.password_is_valid(p.as_str()))
        .collect();
    for p in &passwords {
        secrets.push((format!("password {p:?}"), forms(p.as_bytes(), true)));
    }
    secrets.push(("the masking key".into(), forms(&MASKING_KEY, false)));
    for m in &materials {
        secrets.push((format!("material {}", hex(m)), forms(m, false)));
    }
    // The detector works: a planted leak is found.
    let planted = format!("{:?}", materials.iter().next().unwrap());
    assert!(secrets
        .iter()
        .any(|(_, f)| f.iter().any(|f| planted.contains(f))));
    let mut leaks = Vec::new();
    for o in &outputs {
        for (what, fs) in &secrets {
            if fs.iter().any(|f| o.contains(f.as_str())) {
                leaks.push(format!("{what} in {o}"));
            }
        }
    }
    for b in &bytes_out {
        for m in &materials {
            if b.windows(m.len()).any(|w| w == m.as_slice()) {
                leaks.push(format!("material {} in answered bytes", hex(m)));
            }
        }
    }
    println!(
        "{} outputs ({audits} audit records), {} byte strings, {} passwords, {} key materials checked",
        outputs.len(),
        bytes_out.len(),
        passwords.len(),
        materials.len()
    );
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
