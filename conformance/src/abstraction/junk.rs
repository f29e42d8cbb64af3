//! The bytes the runner sends where a step consumes an object the system never produced, and
//! the shortened and tampered copies of real objects the crypto laws try.

use hsm_model::Action;
use std::hash::{Hash as _, Hasher as _};

/// Bytes that are no masked object, wrapped key, ciphertext or signature (the `Garbage` tokens,
/// and tokens the system never produced).
pub const GARBAGE: &[u8] = b"hsmspec: garbage bytes, no object of any kind";

/// What a junk object stands in for: its format's header length decides the short lengths
/// tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JunkKind {
    /// A masked object (a version byte, then AES-GCM's nonce, body and tag).
    Masked,
    /// Wrapped key bytes (the same framing).
    Wrapped,
    /// A ciphertext (AES-GCM's nonce, body and tag, no header).
    Ciphertext,
    /// A signature.
    Signature,
}

/// AES-GCM's nonce and tag: the shortest sealed object is a header and these.
pub const NONCE_AND_TAG: usize = 12 + 16;

/// The junk bytes sent where `a` consumes an object the system never produced: one of four
/// lengths, chosen by a fixed hash of the action (stable under replay and shrinking), so that
/// short-input checks are probed at their boundary: [`GARBAGE`] (46 bytes); nothing at all;
/// one byte shorter than a header with nonce and tag; exactly a header with nonce and tag (an
/// empty body with a wrong tag). Masked objects and wrapped keys get the version byte 1 as
/// header, so that the length check, not the version check, is what refuses them. Signatures
/// are fixed-length and always get [`GARBAGE`].
pub fn junk(kind: JunkKind, a: &Action) -> Vec<u8> {
    let header: &[u8] = match kind {
        JunkKind::Masked | JunkKind::Wrapped => &[1],
        JunkKind::Ciphertext => &[],
        JunkKind::Signature => return GARBAGE.to_vec(),
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (a, 0x6a75_6e6b_u32).hash(&mut h);
    let framed = |len: usize| {
        let mut b = header.to_vec();
        b.resize(header.len() + len, 0xa5);
        b
    };
    match h.finish() % 4 {
        0 => GARBAGE.to_vec(),
        1 => Vec::new(),
        2 => framed(NONCE_AND_TAG - 1),
        _ => framed(NONCE_AND_TAG),
    }
}

/// Shortened copies of a real object of `kind` (each must be refused like a tampered one):
/// half of it, nothing, a header with nonce and tag less one byte, and a header with nonce and
/// tag exactly (the real header and nonce, a wrong tag); copies as long as the object are left
/// out.
pub fn truncations(kind: JunkKind, object: &[u8]) -> Vec<Vec<u8>> {
    let header = match kind {
        JunkKind::Masked | JunkKind::Wrapped => 1,
        JunkKind::Ciphertext | JunkKind::Signature => 0,
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    for len in [
        object.len() / 2,
        0,
        header + NONCE_AND_TAG - 1,
        header + NONCE_AND_TAG,
    ] {
        if len < object.len() && !out.iter().any(|o| o.len() == len) {
            out.push(object[..len].to_vec());
        }
    }
    out
}

/// The bytes with one bit of the middle byte flipped (one byte, for nothing at all).
pub fn tamper(b: &[u8]) -> Vec<u8> {
    let mut t = b.to_vec();
    if t.is_empty() {
        t.push(0);
    } else {
        let i = t.len() / 2;
        t[i] ^= 0x01;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsm_model::state::{ClientId, HsmId, MaskedObject};
    use hsm_model::Op;
    use std::collections::BTreeSet;

    fn insert(client: u8) -> Action {
        Action {
            client: ClientId(client),
            hsm: HsmId(0),
            op: Op::InsertMasked {
                object: MaskedObject::Garbage,
            },
        }
    }

    #[test]
    fn junk_takes_each_boundary_length_and_is_stable() {
        let mut lengths = BTreeSet::new();
        for c in 0..3 {
            for h in 0..3 {
                let mut a = insert(c);
                a.hsm = HsmId(h);
                let j = junk(JunkKind::Masked, &a);
                assert_eq!(j, junk(JunkKind::Masked, &a), "same action, same junk");
                if !j.is_empty() && j.len() != GARBAGE.len() {
                    assert_eq!(j[0], 1, "framed junk starts with the version byte");
                }
                lengths.insert(j.len());
            }
        }
        assert_eq!(
            lengths,
            BTreeSet::from([0, NONCE_AND_TAG, NONCE_AND_TAG + 1, GARBAGE.len()]),
            "nine actions reach the four lengths"
        );
        assert_eq!(junk(JunkKind::Signature, &insert(0)), GARBAGE);
    }

    #[test]
    fn truncations_cut_at_the_short_input_boundary() {
        let object = vec![1u8; 80];
        let lens: Vec<usize> = truncations(JunkKind::Masked, &object)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(lens, vec![40, 0, NONCE_AND_TAG, NONCE_AND_TAG + 1]);
        // The shortest ciphertext (empty plaintext) is never "truncated" to its own length.
        let ct = vec![7u8; NONCE_AND_TAG];
        let lens: Vec<usize> = truncations(JunkKind::Ciphertext, &ct)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(lens, vec![NONCE_AND_TAG / 2, 0, NONCE_AND_TAG - 1]);
    }
}
