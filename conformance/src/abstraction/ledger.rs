//! Bookkeeping of opaque answers over a trace: sync statuses (digest sets) and HMAC tags are
//! held to the model by equality, never by their bytes (SPEC §3, §6).

use crate::error::{diverged, Error};
use hsm_model::state::{DataId, KeyRecord, Material};
use hsm_model::{Observation, Outcome};
use std::collections::{BTreeSet, HashMap};

/// Every sync status seen in a trace: the model's record set and the implementation's digest
/// set. Digests are opaque, so they are held to the model by their count and by equality:
/// two digest sets are equal exactly when the model's record sets are (SPEC §6).
#[derive(Clone, Debug, Default)]
pub struct SyncLedger {
    seen: Vec<(Vec<KeyRecord>, BTreeSet<Vec<u8>>)>,
}

/// The order-independent sum of the hashes of `items` (a digest of a set).
fn set_digest<T: std::hash::Hash>(items: impl Iterator<Item = T>) -> u64 {
    use std::hash::Hasher;
    items.fold(0u64, |acc, x| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        x.hash(&mut h);
        acc.wrapping_add(h.finish())
    })
}

impl SyncLedger {
    /// What the ledger holds, as pairs (for a history file).
    pub fn entries(&self) -> Vec<(Vec<KeyRecord>, Vec<crate::protocol::Bytes>)> {
        self.seen
            .iter()
            .map(|(r, d)| {
                (
                    r.clone(),
                    d.iter().cloned().map(crate::protocol::Bytes).collect(),
                )
            })
            .collect()
    }

    /// A ledger holding `entries`.
    pub fn from_entries(entries: Vec<(Vec<KeyRecord>, Vec<crate::protocol::Bytes>)>) -> SyncLedger {
        SyncLedger {
            seen: entries
                .into_iter()
                .map(|(r, d)| (r, d.into_iter().map(|b| b.0).collect()))
                .collect(),
        }
    }

    /// A digest of what the ledger holds (the pairs seen, in any order).
    pub fn digest(&self) -> u64 {
        set_digest(self.seen.iter())
    }

    /// Abstracts a digest set answered where the model expects `expected`.
    pub fn abstract_status(
        &mut self,
        digests: BTreeSet<Vec<u8>>,
        expected: &Outcome,
    ) -> Result<Observation, Error> {
        let Ok(Observation::SyncStatus(records)) = expected else {
            return Ok(Observation::SyncStatus(vec![]));
        };
        if digests.len() != records.len() {
            return diverged(format!(
                "sync status has {} digests, the model holds {} keys",
                digests.len(),
                records.len()
            ));
        }
        for (r, d) in &self.seen {
            if (r == records) != (*d == digests) {
                return diverged(format!(
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
#[derive(Clone, Debug, Default)]
pub struct MacLedger {
    tags: HashMap<(Material, DataId), Vec<u8>>,
}

impl MacLedger {
    /// What the ledger holds, as pairs (for a history file).
    pub fn entries(&self) -> Vec<((Material, DataId), crate::protocol::Bytes)> {
        let mut v: Vec<_> = self
            .tags
            .iter()
            .map(|(k, t)| (*k, crate::protocol::Bytes(t.clone())))
            .collect();
        v.sort();
        v
    }

    /// A ledger holding `entries`.
    pub fn from_entries(entries: Vec<((Material, DataId), crate::protocol::Bytes)>) -> MacLedger {
        MacLedger {
            tags: entries.into_iter().map(|(k, t)| (k, t.0)).collect(),
        }
    }

    /// A digest of what the ledger holds.
    pub fn digest(&self) -> u64 {
        set_digest(self.tags.iter())
    }

    /// Abstracts a tag answered for data `d` where the model expects `expected`.
    pub fn abstract_tag(
        &mut self,
        tag: &[u8],
        d: DataId,
        expected: &Outcome,
    ) -> Result<Observation, Error> {
        let Ok(Observation::Mac { material, data }) = expected else {
            return Ok(Observation::Mac {
                material: Material(0),
                data: d,
            });
        };
        let k = (*material, *data);
        if let Some(old) = self.tags.get(&k) {
            if old != tag {
                return diverged("HMAC of the same material and data gave a different tag");
            }
        } else if self.tags.values().any(|t| t == tag) {
            return diverged("HMAC of different material or data gave the same tag");
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
