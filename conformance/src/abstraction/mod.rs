//! The parts of the abstraction function that do not depend on how the system under test is
//! reached: names sent and read back, data read back, and sync-status bookkeeping. The
//! in-process adapter ([`crate::adapter`]) and the process client ([`crate::process`]) both
//! map through these, so the two cannot drift apart.

use hsm_model::state::{DataId, KeyRecord, Material, NameId};
use hsm_model::{Action, Config, Observation, Outcome};
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash as _, Hasher as _};

/// The text sent for a name: the spelling the trace records (the table's text, as it is; the
/// generators choose upper- and mixed-case spellings, see `Config::spellings`).
pub fn name_arg(cfg: &Config, n: NameId) -> String {
    cfg.name_text(n)
}

/// The model's user for a user name the implementation shows: the user whose stored
/// (lower-cased) name it is exactly; any other spelling shown is a divergence (SPEC §4: names
/// are stored lower-case).
pub fn name_id(cfg: &Config, text: &str) -> Result<NameId, String> {
    cfg.user_ids()
        .find(|&n| cfg.stored_name(n) == text)
        .ok_or_else(|| format!("the implementation shows a user `{text}` no step created"))
}

/// The model's datum for plaintext bytes the implementation answered.
pub fn data_id(cfg: &Config, bytes: &[u8]) -> Result<DataId, String> {
    (0..cfg.data.len() as u8)
        .map(DataId)
        .find(|&d| cfg.data_text(d).as_bytes() == bytes)
        .ok_or_else(|| "decrypt answered a plaintext that is no datum of the trace".to_string())
}

/// Every sync status seen in a trace: the model's record set and the implementation's digest
/// set. Digests are opaque, so they are held to the model by their count and by equality:
/// two digest sets are equal exactly when the model's record sets are (SPEC §6).
#[derive(Debug, Default)]
pub struct SyncLedger {
    seen: Vec<(Vec<KeyRecord>, BTreeSet<Vec<u8>>)>,
}

impl SyncLedger {
    /// Abstracts a digest set answered where the model expects `expected`.
    pub fn abstract_status(
        &mut self,
        digests: BTreeSet<Vec<u8>>,
        expected: &Outcome,
    ) -> Result<Observation, String> {
        let Ok(Observation::SyncStatus(records)) = expected else {
            return Ok(Observation::SyncStatus(vec![]));
        };
        if digests.len() != records.len() {
            return Err(format!(
                "sync status has {} digests, the model holds {} keys",
                digests.len(),
                records.len()
            ));
        }
        for (r, d) in &self.seen {
            if (r == records) != (*d == digests) {
                return Err(format!(
                    "sync status: digest sets are {} where the model's key records are {}",
                    if *d == digests { "equal" } else { "different" },
                    if r == records { "equal" } else { "different" }
                ));
            }
        }
        self.seen.push((records.clone(), digests));
        Ok(Observation::SyncStatus(records.clone()))
    }
}

/// Every HMAC tag seen in a trace, by the (material, data) the model says made it. Tags are
/// opaque: the same material and data must give the same tag, different ones different tags.
#[derive(Debug, Default)]
pub struct MacLedger {
    tags: HashMap<(Material, DataId), Vec<u8>>,
}

impl MacLedger {
    /// Abstracts a tag answered for data `d` where the model expects `expected`.
    pub fn abstract_tag(
        &mut self,
        tag: &[u8],
        d: DataId,
        expected: &Outcome,
    ) -> Result<Observation, String> {
        let Ok(Observation::Mac { material, data }) = expected else {
            return Ok(Observation::Mac {
                material: Material(0),
                data: d,
            });
        };
        let k = (*material, *data);
        if let Some(old) = self.tags.get(&k) {
            if old != tag {
                return Err("HMAC of the same material and data gave a different tag".into());
            }
        } else if self.tags.values().any(|t| t == tag) {
            return Err("HMAC of different material or data gave the same tag".into());
        }
        self.tags.insert(k, tag.to_vec());
        Ok(Observation::Mac {
            material: *material,
            data: *data,
        })
    }

    /// Every tag seen.
    pub fn tags(&self) -> impl Iterator<Item = &[u8]> {
        self.tags.values().map(Vec::as_slice)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use hsm_model::state::{ClientId, HsmId, MaskedObject};
    use hsm_model::Op;

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
