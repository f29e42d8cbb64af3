//! Cryptographic primitives, all from RustCrypto / dalek crates, with secrets in zeroizing
//! buffers.

use std::fmt;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use argon2::{Algorithm, Argon2, Params, Version};
use ed25519_dalek::{Signature, Signer, SigningKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::HsmError;
use crate::types::{KeyKind, PasswordCost};

/// Length of an AES-GCM nonce.
pub(crate) const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag.
pub(crate) const TAG_LEN: usize = 16;

/// Secret bytes: zeroized on drop (contents and spare capacity), never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub(crate) struct Secret(Vec<u8>);

impl Secret {
    pub(crate) fn from_slice(bytes: &[u8]) -> Secret {
        let mut v = Vec::with_capacity(bytes.len());
        v.extend_from_slice(bytes);
        Secret(v)
    }

    pub(crate) fn random(len: usize) -> Result<Secret, HsmError> {
        let mut v = vec![0u8; len];
        if getrandom::fill(&mut v).is_err() {
            v.zeroize();
            return Err(HsmError::RandomFailure);
        }
        Ok(Secret(v))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

pub(crate) fn random_array<const N: usize>() -> Result<[u8; N], HsmError> {
    let mut a = [0u8; N];
    getrandom::fill(&mut a).map_err(|_| HsmError::RandomFailure)?;
    Ok(a)
}

/// Fresh key material of a kind: 32 random bytes for every kind (AES-256 key, HMAC key,
/// Ed25519 seed).
pub(crate) fn generate_material(_kind: KeyKind) -> Result<Secret, HsmError> {
    Secret::random(32)
}

/// Whether `len` bytes are acceptable material for `kind` (AES and Ed25519 need exactly 32;
/// HMAC takes any non-empty key).
pub(crate) fn material_len_ok(kind: KeyKind, len: usize) -> bool {
    match kind {
        KeyKind::Aes256 | KeyKind::Signing => len == 32,
        KeyKind::HmacSha256 => (1..=1024).contains(&len),
    }
}

// ---------------------------------------------------------------------------------------------
// Passwords

/// A stored password: salt, hash and the cost it was made with. The hash is zeroized on drop.
#[derive(Clone)]
pub(crate) struct PasswordHash {
    salt: [u8; 16],
    hash: Zeroizing<[u8; 32]>,
    cost: PasswordCost,
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

fn argon2_for(
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
) -> Result<Argon2<'static>, HsmError> {
    let params = Params::new(memory_kib, iterations, parallelism, Some(32))
        .map_err(|_| HsmError::InvalidPolicy)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_with(
    cost: PasswordCost,
    password: &[u8],
    salt: &[u8; 16],
) -> Result<Zeroizing<[u8; 32]>, HsmError> {
    let mut out = Zeroizing::new([0u8; 32]);
    match cost {
        PasswordCost::Default => argon2_for(
            Params::DEFAULT_M_COST,
            Params::DEFAULT_T_COST,
            Params::DEFAULT_P_COST,
        )?
        .hash_password_into(password, salt, out.as_mut())
        .map_err(|_| HsmError::InvalidPolicy)?,
        PasswordCost::Test => argon2_for(Params::MIN_M_COST, 1, 1)?
            .hash_password_into(password, salt, out.as_mut())
            .map_err(|_| HsmError::InvalidPolicy)?,
        PasswordCost::Argon2id {
            memory_kib,
            iterations,
            parallelism,
        } => argon2_for(memory_kib, iterations, parallelism)?
            .hash_password_into(password, salt, out.as_mut())
            .map_err(|_| HsmError::InvalidPolicy)?,
        PasswordCost::Pbkdf2Sha256 { iterations } => {
            if iterations == 0 {
                return Err(HsmError::InvalidPolicy);
            }
            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, out.as_mut());
        }
    }
    Ok(out)
}

/// Checks that a cost's parameters are accepted by its hash.
pub(crate) fn check_cost(cost: PasswordCost) -> Result<(), HsmError> {
    match cost {
        PasswordCost::Argon2id {
            memory_kib,
            iterations,
            parallelism,
        } => argon2_for(memory_kib, iterations, parallelism).map(|_| ()),
        PasswordCost::Pbkdf2Sha256 { iterations: 0 } => Err(HsmError::InvalidPolicy),
        _ => Ok(()),
    }
}

impl PasswordHash {
    /// Hashes `password` under a fresh random salt.
    pub(crate) fn new(password: &str, cost: PasswordCost) -> Result<PasswordHash, HsmError> {
        let salt = random_array::<16>()?;
        let hash = hash_with(cost, password.as_bytes(), &salt)?;
        Ok(PasswordHash { salt, hash, cost })
    }

    /// Constant-time check of `password` against this hash. A hash failure counts as a
    /// mismatch.
    pub(crate) fn verify(&self, password: &str) -> bool {
        match hash_with(self.cost, password.as_bytes(), &self.salt) {
            Ok(h) => bool::from(h.as_ref().ct_eq(self.hash.as_ref())),
            Err(_) => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AES-256-GCM

/// Seals `plaintext` as `header || nonce(12) || ciphertext || tag(16)` with associated data
/// `aad`. One buffer of exact capacity is used, so no copy of the plaintext is left behind
/// in freed memory.
pub(crate) fn seal(
    key: &[u8],
    header: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, HsmError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| HsmError::WrongKeyKind)?;
    let nonce_bytes = random_array::<NONCE_LEN>()?;
    let start = header.len() + NONCE_LEN;
    let mut buf = Zeroizing::new(Vec::with_capacity(start + plaintext.len() + TAG_LEN));
    buf.extend_from_slice(header);
    buf.extend_from_slice(&nonce_bytes);
    buf.extend_from_slice(plaintext);
    let nonce = Nonce::from(nonce_bytes);
    let tag = cipher
        .encrypt_inout_detached(&nonce, aad, (&mut buf[start..]).into())
        .map_err(|_| HsmError::BadCiphertext)?;
    buf.extend_from_slice(tag.as_slice());
    // The buffer now holds only public bytes: hand it out without zeroizing a copy.
    Ok(std::mem::take(&mut *buf))
}

/// Opens what [`seal`] made (`header_len` bytes of header are skipped; the caller checks
/// them). Returns the plaintext in a zeroizing buffer, or `None` for anything inauthentic.
pub(crate) fn open(
    key: &[u8],
    header_len: usize,
    aad: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    if sealed.len() < header_len + NONCE_LEN + TAG_LEN {
        return None;
    }
    let nonce_bytes: [u8; NONCE_LEN] =
        sealed[header_len..header_len + NONCE_LEN].try_into().ok()?;
    let nonce = Nonce::from(nonce_bytes);
    let body = &sealed[header_len + NONCE_LEN..];
    let (ct, tag) = body.split_at(body.len() - TAG_LEN);
    let tag = Tag::try_from(tag).ok()?;
    let mut buf = Zeroizing::new(Vec::with_capacity(ct.len()));
    buf.extend_from_slice(ct);
    cipher
        .decrypt_inout_detached(&nonce, aad, (&mut buf[..]).into(), &tag)
        .ok()?;
    Some(buf)
}

// ---------------------------------------------------------------------------------------------
// Signatures, MACs, digests

fn signing_key(material: &Secret) -> Option<SigningKey> {
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(material.bytes().try_into().ok()?);
    Some(SigningKey::from_bytes(&seed))
}

/// Ed25519 signature (64 bytes).
pub(crate) fn sign(material: &Secret, data: &[u8]) -> Option<Vec<u8>> {
    let key = signing_key(material)?;
    Some(key.sign(data).to_bytes().to_vec())
}

/// Ed25519 strict verification; a malformed signature is simply not valid.
pub(crate) fn verify(material: &Secret, data: &[u8], signature: &[u8]) -> bool {
    let Some(key) = signing_key(material) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(signature) else {
        return false;
    };
    key.verifying_key().verify_strict(data, &sig).is_ok()
}

/// HMAC-SHA-256.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// SHA-256.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}
