//! The parts of the abstraction function that do not depend on how the system under test is
//! reached: names sent and read back, data read back, and sync-status bookkeeping. The
//! in-process adapter ([`crate::adapter`]) and the process client ([`crate::process`]) both
//! map through these, so the two cannot drift apart.

use hsm_model::state::{DataId, KeyRecord, Material, NameId};
use hsm_model::{Config, Observation, Outcome};
use std::collections::{BTreeSet, HashMap};

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
