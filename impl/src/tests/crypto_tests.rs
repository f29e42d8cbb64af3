//! Crypto tests: round trips, wrong keys, tampering, foreign objects, RFC 4231, FIPS 180.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn hmac_matches_rfc4231() {
    let f = fx(1);
    let long_key = vec![0xaa; 131];
    let tc4_key: Vec<u8> = (1..=25).collect();
    let cases: Vec<(Vec<u8>, Vec<u8>, &str)> = vec![
        (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (tc4_key, vec![0xcd; 50], "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (
            long_key.clone(),
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            long_key,
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (key, data, tag) in cases {
        let k =
            f.c.install_key_for_test(0, "alice", KeyKind::HmacSha256, &key, true);
        assert_eq!(f.alice.hmac(k, &data).unwrap().to_vec(), hex(tag));
    }
}

#[test]
fn digest_is_sha256() {
    let f = fx(1);
    assert_eq!(
        f.alice.digest(b"abc").unwrap().to_vec(),
        hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        f.alice.digest(b"").unwrap().to_vec(),
        hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
}

#[test]
fn aes_gcm_round_trip_layout_and_tampering() {
    use aes_gcm::aead::{Aead, KeyInit};
    let f = fx(1);
    let material = [7u8; 32];
    let k =
        f.c.install_key_for_test(0, "alice", KeyKind::Aes256, &material, true);
    let other = f.alice.generate_key(KeyKind::Aes256, true).unwrap();
    let pt = b"attack at dawn";
    let ct = f.alice.encrypt(k, pt).unwrap();
    // Layout: nonce(12) | ciphertext | tag(16), plain AES-256-GCM without associated data.
    assert_eq!(ct.len(), 12 + pt.len() + 16);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&material).unwrap();
    let nonce = aes_gcm::Nonce::try_from(&ct[..12]).unwrap();
    assert_eq!(cipher.decrypt(&nonce, &ct[12..]).unwrap(), pt);
    // Fresh nonce each time.
    let ct2 = f.alice.encrypt(k, pt).unwrap();
    assert_ne!(ct[..12], ct2[..12]);
    assert_eq!(f.alice.decrypt(k, &ct2).unwrap(), pt);
    assert_eq!(
        f.alice
            .decrypt(k, &f.alice.encrypt(k, b"").unwrap())
            .unwrap(),
        b""
    );
    // Wrong key, every flipped bit, every truncation, garbage.
    assert_eq!(f.alice.decrypt(other, &ct), Err(BadCiphertext));
    for i in 0..ct.len() * 8 {
        let mut t = ct.clone();
        t[i / 8] ^= 1 << (i % 8);
        assert_eq!(f.alice.decrypt(k, &t), Err(BadCiphertext));
    }
    for n in 0..ct.len() {
        assert_eq!(f.alice.decrypt(k, &ct[..n]), Err(BadCiphertext));
    }
    assert_eq!(f.alice.decrypt(k, &[0u8; 100]), Err(BadCiphertext));
}

#[test]
fn signatures() {
    let f = fx(1);
    let k = f.alice.generate_key(KeyKind::Signing, true).unwrap();
    let k2 = f.alice.generate_key(KeyKind::Signing, true).unwrap();
    let sig = f.alice.sign(k, b"data").unwrap();
    assert_eq!(sig.len(), 64);
    assert_eq!(f.alice.verify(k, b"data", &sig), Ok(true));
    assert_eq!(f.alice.verify(k, b"Data", &sig), Ok(false));
    assert_eq!(f.alice.verify(k2, b"data", &sig), Ok(false));
    let mut bad = sig.clone();
    bad[10] ^= 1;
    assert_eq!(f.alice.verify(k, b"data", &bad), Ok(false));
    for malformed in [&[][..], &sig[..63], &[0xff; 64][..], &[0u8; 65][..]] {
        assert_eq!(f.alice.verify(k, b"data", malformed), Ok(false));
    }
    // Ed25519 is deterministic: RFC 8032 test 1.
    let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    let kk =
        f.c.install_key_for_test(0, "alice", KeyKind::Signing, &seed, true);
    assert_eq!(
        f.alice.sign(kk, b"").unwrap(),
        hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    );
}

#[test]
fn masked_objects_reject_tampering_truncation_foreign_and_garbage() {
    let f = fx(1);
    let k = f.alice.generate_key(KeyKind::HmacSha256, true).unwrap();
    f.alice.share_key(k, "bob").unwrap();
    let m = f.alice.extract_masked(k).unwrap();
    f.alice.delete_key(k).unwrap();
    let before = (f.c.inspect(0).unwrap(), f.co.sync_status().unwrap());
    // Another cluster with the same users and a key at the same id.
    let g = fx(1);
    let gk = g.alice.generate_key(KeyKind::HmacSha256, true).unwrap();
    assert_eq!(gk, k);
    g.alice.share_key(gk, "bob").unwrap();
    let foreign = g.alice.extract_masked(gk).unwrap();
    assert_eq!(f.co.insert_masked(&foreign), Err(BadMaskedObject));
    for i in 0..m.len() * 8 {
        let mut t = m.clone();
        t[i / 8] ^= 1 << (i % 8);
        assert_eq!(f.co.insert_masked(&t), Err(BadMaskedObject), "bit {i}");
    }
    for n in 0..m.len() {
        assert_eq!(f.co.insert_masked(&m[..n]), Err(BadMaskedObject));
    }
    let mut longer = m.clone();
    longer.push(0);
    assert_eq!(f.co.insert_masked(&longer), Err(BadMaskedObject));
    for junk in [&[0u8; 200][..], &[1u8; 64][..], b"\x01"] {
        assert_eq!(f.co.insert_masked(junk), Err(BadMaskedObject));
    }
    assert_eq!(
        (f.c.inspect(0).unwrap(), f.co.sync_status().unwrap()),
        before,
        "nothing changed"
    );
    // The genuine object still works and brings the key back with the same material.
    assert_eq!(f.bob.insert_masked(&m), Ok(k));
    let tag = f.bob.hmac(k, b"x").unwrap();
    assert_eq!(f.alice.hmac(k, b"x").unwrap(), tag);
}

#[test]
fn wrapped_keys_carry_kind_and_reject_tampering() {
    let f = fx(1);
    let w = f.alice.generate_key(KeyKind::Aes256, true).unwrap();
    let w2 = f.alice.generate_key(KeyKind::Aes256, true).unwrap();
    let mac =
        f.c.install_key_for_test(0, "alice", KeyKind::HmacSha256, b"Jefe", true);
    let blob = f.alice.wrap_key(mac, w).unwrap();
    for i in 0..blob.len() * 8 {
        let mut t = blob.clone();
        t[i / 8] ^= 1 << (i % 8);
        assert_eq!(f.alice.unwrap_key(&t, w), Err(BadWrappedKey));
    }
    for n in 0..blob.len() {
        assert_eq!(f.alice.unwrap_key(&blob[..n], w), Err(BadWrappedKey));
    }
    assert_eq!(f.alice.unwrap_key(&blob, w2), Err(BadWrappedKey));
    let copy = f.alice.unwrap_key(&blob, w).unwrap();
    assert_eq!(
        f.alice
            .hmac(copy, b"what do ya want for nothing?")
            .unwrap()
            .to_vec(),
        hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    let kv =
        f.c.inspect(0)
            .unwrap()
            .keys
            .into_iter()
            .find(|x| x.id == copy)
            .unwrap();
    assert_eq!(kv.kind, KeyKind::HmacSha256);
    // An AES key wrapped and unwrapped decrypts what the original encrypted.
    let ct = f.alice.encrypt(w2, b"m").unwrap();
    let w2copy = f
        .alice
        .unwrap_key(&f.alice.wrap_key(w2, w).unwrap(), w)
        .unwrap();
    assert_eq!(f.alice.decrypt(w2copy, &ct).unwrap(), b"m");
}

#[test]
fn sync_digests_are_per_record_and_keyed() {
    let f = fx(2);
    let material = [9u8; 32];
    let k =
        f.c.install_key_for_test(0, "alice", KeyKind::Aes256, &material, true);
    let d0 = f.alice.sync_status().unwrap();
    assert_eq!(d0.len(), 1);
    f.alice.set_label(k, "x").unwrap();
    let d1 = f.alice.sync_status().unwrap();
    assert_ne!(d0, d1);
    f.alice.set_label(k, "").unwrap();
    assert_eq!(f.alice.sync_status().unwrap(), d0);
    // Clone → equal sets.
    let au = login(&f.c, 1, "app_user", AU_PW);
    au.clone_from(0).unwrap();
    assert_eq!(au.sync_status().unwrap(), d0);
    // Same record, same material, another cluster: different digest (keyed fingerprint).
    let g = fx(1);
    let gk =
        g.c.install_key_for_test(0, "alice", KeyKind::Aes256, &material, true);
    assert_eq!(gk, k);
    assert_ne!(g.alice.sync_status().unwrap(), d0);
    // Same record, other material, same cluster: different digest.
    f.alice.delete_key(k).unwrap();
    let k2 =
        f.c.install_key_for_test(0, "alice", KeyKind::Aes256, &[8u8; 32], true);
    assert_ne!(k2, k);
}

#[test]
fn debug_never_shows_secrets() {
    let f = fx(1);
    let material: [u8; 32] = *b"\x9dKNOWN-SECRET-KEY-MATERIAL-1234\x42";
    let k =
        f.c.install_key_for_test(0, "alice", KeyKind::Aes256, &material, true);
    let _ = k;
    let texts = [
        format!("{:?}", f.c),
        format!("{:?}", f.alice),
        format!("{:?}", f.c.inspect(0).unwrap()),
        format!("{:?}", f.co.audit_log().unwrap()),
        f.c.debug_internal_for_test(),
        format!("{:?}", Policy::default()),
    ];
    let dec = format!("{:?}", &material[..4]);
    let dec = &dec[1..dec.len() - 1]; // "157, 75, 78, 79"
    let hexs: String = material.iter().map(|b| format!("{b:02x}")).collect();
    for t in &texts {
        assert!(!t.contains(dec), "{t}");
        assert!(!t.contains(&hexs[..16]), "{t}");
        assert!(!t.contains("KNOWN-SECRET"), "{t}");
        assert!(
            !t.contains(CU_PW) && !t.contains(AU_PW) && !t.contains(CO_PW),
            "{t}"
        );
    }
    assert!(texts[4].contains("redacted"));
    for e in HsmError::ALL {
        assert_eq!(e.to_string(), e.code());
    }
}
