//! Key records and their canonical encodings: masked objects (SPEC §5), wrapped keys and sync
//! digests (SPEC §6).
//!
//! Canonical key record (big-endian integers, strings UTF-8):
//! `id:u64 | kind:u8 | len:u32 material | len:u32 owner | count:u32 (len:u32 share)* (sorted) |
//! extractable:u8 | len:u32 label`.
//!
//! Masked object: `version:u8 (=1) | nonce:12 | AES-256-GCM(record) | tag:16`, key = the
//! cluster's masking key, associated data = `"hsm-impl/masked-object" | version | cluster id`.
//!
//! Wrapped key: `version:u8 (=1) | nonce:12 | AES-256-GCM(kind:u8 | material) | tag:16`, key =
//! the wrapping key's material, associated data = `"hsm-impl/wrapped-key" | version`. The kind
//! is inside the authenticated plaintext.
//!
//! Sync digest: `SHA-256("hsm-impl/sync-digest/v1" | id | kind | owner | shares | extractable |
//! label | fingerprint)` with the same field encoding as the record, where
//! `fingerprint = HMAC-SHA-256(cluster fingerprint secret, "hsm-impl/fingerprint" | kind |
//! material)`.

use std::collections::BTreeSet;

use zeroize::Zeroizing;

use crate::crypto::{self, Secret};
use crate::error::HsmError;
use crate::types::{ClusterId, KeyKind};

/// Format version of masked objects and wrapped keys.
pub(crate) const FORMAT_VERSION: u8 = 1;
const MASK_AAD: &[u8] = b"hsm-impl/masked-object";
const WRAP_AAD: &[u8] = b"hsm-impl/wrapped-key";
const DIGEST_TAG: &[u8] = b"hsm-impl/sync-digest/v1";
const FINGERPRINT_TAG: &[u8] = b"hsm-impl/fingerprint";

/// A key object as one HSM holds it.
#[derive(Clone, Debug)]
pub(crate) struct KeyRecord {
    pub(crate) kind: KeyKind,
    pub(crate) material: Secret,
    pub(crate) owner: String,
    pub(crate) shares: BTreeSet<String>,
    pub(crate) extractable: bool,
    pub(crate) label: String,
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    // Lengths are bounded by the caller's checks; anything beyond u32 cannot come from here.
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn public_fields_len(r: &KeyRecord) -> usize {
    4 + r.owner.len()
        + 4
        + r.shares.iter().map(|s| 4 + s.len()).sum::<usize>()
        + 1
        + 4
        + r.label.len()
}

fn put_public_fields(out: &mut Vec<u8>, r: &KeyRecord) {
    put_bytes(out, r.owner.as_bytes());
    out.extend_from_slice(&(r.shares.len() as u32).to_be_bytes());
    for s in &r.shares {
        put_bytes(out, s.as_bytes());
    }
    out.push(u8::from(r.extractable));
    put_bytes(out, r.label.as_bytes());
}

/// The canonical encoding of (id, record), in a zeroizing buffer of exact capacity.
pub(crate) fn encode(id: u64, r: &KeyRecord) -> Zeroizing<Vec<u8>> {
    let len = 8 + 1 + 4 + r.material.bytes().len() + public_fields_len(r);
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend_from_slice(&id.to_be_bytes());
    out.push(r.kind.to_byte());
    put_bytes(&mut out, r.material.bytes());
    put_public_fields(&mut out, r);
    debug_assert_eq!(out.len(), len);
    out
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<usize> {
        let b: [u8; 4] = self.take(4)?.try_into().ok()?;
        usize::try_from(u32::from_be_bytes(b)).ok()
    }
    fn u64(&mut self) -> Option<u64> {
        let b: [u8; 8] = self.take(8)?.try_into().ok()?;
        Some(u64::from_be_bytes(b))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()?;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_owned)
    }
}

/// Parses a canonical encoding strictly (no trailing bytes, valid kind and material length,
/// shares strictly increasing).
pub(crate) fn decode(buf: &[u8]) -> Option<(u64, KeyRecord)> {
    let mut r = Reader { buf };
    let id = r.u64()?;
    let kind = KeyKind::from_byte(r.u8()?)?;
    let material = r.bytes()?;
    if !crypto::material_len_ok(kind, material.len()) {
        return None;
    }
    let material = Secret::from_slice(material);
    let owner = r.string()?;
    let count = r.u32()?;
    let mut shares = BTreeSet::new();
    let mut last: Option<String> = None;
    for _ in 0..count {
        let s = r.string()?;
        if last.as_ref().is_some_and(|l| *l >= s) {
            return None;
        }
        last = Some(s.clone());
        shares.insert(s);
    }
    let extractable = match r.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let label = r.string()?;
    if !r.buf.is_empty() {
        return None;
    }
    Some((
        id,
        KeyRecord {
            kind,
            material,
            owner,
            shares,
            extractable,
            label,
        },
    ))
}

fn mask_aad(cluster: &ClusterId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(MASK_AAD.len() + 1 + 16);
    aad.extend_from_slice(MASK_AAD);
    aad.push(FORMAT_VERSION);
    aad.extend_from_slice(&cluster.0);
    aad
}

/// Seals a key record into a masked object.
pub(crate) fn mask(
    masking_key: &Secret,
    cluster: &ClusterId,
    id: u64,
    r: &KeyRecord,
) -> Result<Vec<u8>, HsmError> {
    let plain = encode(id, r);
    crypto::seal(
        masking_key.bytes(),
        &[FORMAT_VERSION],
        &mask_aad(cluster),
        &plain,
    )
}

/// Opens a masked object of this cluster; anything else is `BadMaskedObject`.
pub(crate) fn unmask(
    masking_key: &Secret,
    cluster: &ClusterId,
    object: &[u8],
) -> Result<(u64, KeyRecord), HsmError> {
    if object.first() != Some(&FORMAT_VERSION) {
        return Err(HsmError::BadMaskedObject);
    }
    let plain = crypto::open(masking_key.bytes(), 1, &mask_aad(cluster), object)
        .ok_or(HsmError::BadMaskedObject)?;
    decode(&plain).ok_or(HsmError::BadMaskedObject)
}

fn wrap_aad() -> Vec<u8> {
    let mut aad = WRAP_AAD.to_vec();
    aad.push(FORMAT_VERSION);
    aad
}

/// Wraps (exports) a key's kind and material under an AES key's material.
pub(crate) fn wrap(
    wrapping: &Secret,
    kind: KeyKind,
    material: &Secret,
) -> Result<Vec<u8>, HsmError> {
    let mut plain = Zeroizing::new(Vec::with_capacity(1 + material.bytes().len()));
    plain.push(kind.to_byte());
    plain.extend_from_slice(material.bytes());
    crypto::seal(wrapping.bytes(), &[FORMAT_VERSION], &wrap_aad(), &plain)
}

/// Unwraps (imports); anything inauthentic or malformed is `BadWrappedKey`.
pub(crate) fn unwrap(wrapping: &Secret, wrapped: &[u8]) -> Result<(KeyKind, Secret), HsmError> {
    if wrapped.first() != Some(&FORMAT_VERSION) {
        return Err(HsmError::BadWrappedKey);
    }
    let plain =
        crypto::open(wrapping.bytes(), 1, &wrap_aad(), wrapped).ok_or(HsmError::BadWrappedKey)?;
    decode_wrapped(&plain).ok_or(HsmError::BadWrappedKey)
}

/// Parses the authenticated plaintext of a wrapped key: a kind byte, then the material.
pub(crate) fn decode_wrapped(plain: &[u8]) -> Option<(KeyKind, Secret)> {
    let (&kind, material) = plain.split_first()?;
    let kind = KeyKind::from_byte(kind)?;
    if !crypto::material_len_ok(kind, material.len()) {
        return None;
    }
    Some((kind, Secret::from_slice(material)))
}

/// The sync digest of one key (SPEC §6).
pub(crate) fn sync_digest(fingerprint_secret: &Secret, id: u64, r: &KeyRecord) -> [u8; 32] {
    let fingerprint = crypto::hmac_sha256(
        fingerprint_secret.bytes(),
        &[FINGERPRINT_TAG, &[r.kind.to_byte()], r.material.bytes()],
    );
    let mut public = Vec::with_capacity(public_fields_len(r));
    put_public_fields(&mut public, r);
    crypto::sha256(&[
        DIGEST_TAG,
        &id.to_be_bytes(),
        &[r.kind.to_byte()],
        &public,
        &fingerprint,
    ])
}
