//! The crypto laws, on the implementation's real bytes, after a step the model and the
//! implementation agreed on: decrypt of encrypt, encryption randomised, verify of sign, and
//! tampered or truncated ciphertexts, signatures, wrapped keys and masked objects rejected,
//! and a wrapped key never read as a ciphertext.
//! Each law is an extra request in the acting session, through whatever transport reaches the
//! system (they change nothing but an audit log).

use super::junk::{tamper, truncations, JunkKind};
use super::Abstraction;
use crate::error::{diverged, Error};
use crate::protocol::{Answer, Bytes, Call, Reply, Request, Step};
use crate::sut::Transport;
use hsm_model::{Action, Observation, Op, Outcome};

/// Checks the laws that the Ok step `a` (with outcome `out`) makes checkable.
pub fn check(
    t: &mut dyn Transport,
    abs: &Abstraction,
    a: &Action,
    out: &Outcome,
) -> Result<(), Error> {
    let mut law = |call: Call| -> Result<Reply, Error> {
        t.call(&Request::Step(Step {
            cluster: 0,
            client: a.client.index() as u64,
            hsm: a.hsm.index() as u64,
            call,
        }))
    };
    let refused_with = |r: &Reply, code: &str| matches!(r, Reply::Err(c) if c == code);
    match (a.op, out) {
        (Op::Encrypt { key, data }, Ok(Observation::Ciphertext(tok))) => {
            let Some(ct) = abs.ciphertext(tok) else {
                return Ok(());
            };
            let k = abs.handle(key);
            let data = abs.data(data);
            let decrypt = |ct: &[u8]| Call::Decrypt {
                key: k.clone(),
                ciphertext: Bytes(ct.to_vec()),
            };
            let plain = |r: &Reply| matches!(r, Reply::Ok(Answer::Plaintext { plaintext }) if plaintext.0 == data);
            let r = law(decrypt(ct))?;
            if !plain(&r) {
                return diverged(format!(
                    "law: decrypt(encrypt(data)) is not data: answered {}",
                    r.text()
                ));
            }
            // Encryption is randomised (a fresh 96-bit nonce): the same data again gives other
            // bytes, which decrypt to it too.
            let again = match law(Call::Encrypt {
                key: k.clone(),
                data: Bytes(data.clone()),
            })? {
                Reply::Ok(Answer::Ciphertext { ciphertext }) => ciphertext.0,
                r => {
                    return diverged(format!(
                        "law: encrypting the same data again answered {}",
                        r.text()
                    ))
                }
            };
            if again == ct || !plain(&law(decrypt(&again))?) {
                return diverged(
                    "law: encrypting the same data twice gave the same bytes, or bytes that do not decrypt to it",
                );
            }
            let r = law(decrypt(&tamper(ct)))?;
            if !refused_with(&r, "BadCiphertext") {
                return diverged(format!(
                    "law: a tampered ciphertext was not rejected with BadCiphertext: answered {}",
                    r.text()
                ));
            }
            for short in truncations(JunkKind::Ciphertext, ct) {
                let r = law(decrypt(&short))?;
                if !refused_with(&r, "BadCiphertext") {
                    return diverged(format!(
                        "law: a ciphertext truncated to {} of its {} bytes was not rejected with BadCiphertext: answered {}",
                        short.len(),
                        ct.len(),
                        r.text()
                    ));
                }
            }
        }
        (Op::Sign { key, data }, Ok(Observation::Signature(tok))) => {
            let Some(sig) = abs.signature(tok) else {
                return Ok(());
            };
            let data = abs.data(data);
            for (data, sig, valid, what) in [
                (
                    data.clone(),
                    sig.to_vec(),
                    true,
                    "verify(sign(data)) is not valid",
                ),
                (data, tamper(sig), false, "a tampered signature verified"),
                (
                    b"hsmspec: other data".to_vec(),
                    sig.to_vec(),
                    false,
                    "a signature verified for other data",
                ),
            ] {
                let r = law(Call::Verify {
                    key: abs.handle(key),
                    data: Bytes(data),
                    signature: Bytes(sig),
                })?;
                if r != Reply::Ok(Answer::Verified { valid }) {
                    return diverged(format!("law: {what}: answered {}", describe(&r)));
                }
            }
        }
        (Op::WrapKey { wrapping, .. }, Ok(Observation::Wrapped(tok))) => {
            let Some(w) = abs.wrapped(tok) else {
                return Ok(());
            };
            let unwrap = |b: Vec<u8>| Call::UnwrapKey {
                wrapped: Bytes(b),
                wrapping: abs.handle(wrapping),
            };
            let r = law(unwrap(tamper(w)))?;
            if !refused_with(&r, "BadWrappedKey") {
                return diverged(format!(
                    "law: tampered wrapped bytes were not rejected with BadWrappedKey: answered {}",
                    r.text()
                ));
            }
            for short in truncations(JunkKind::Wrapped, w) {
                let len = short.len();
                let r = law(unwrap(short))?;
                if !refused_with(&r, "BadWrappedKey") {
                    return diverged(format!(
                        "law: wrapped bytes truncated to {len} of their {} bytes were not rejected with BadWrappedKey: answered {}",
                        w.len(),
                        r.text()
                    ));
                }
            }
            // A wrapped key is no ciphertext, whole or without its first byte (where an
            // implementation frames it with a version byte, as hsm-impl does): Decrypt under the
            // wrapping key must refuse both (D15), or key material leaves the HSM as plaintext.
            for (body, what) in [
                (w, "wrapped bytes"),
                (
                    w.get(1..).unwrap_or_default(),
                    "wrapped bytes without their first byte",
                ),
            ] {
                let r = law(Call::Decrypt {
                    key: abs.handle(wrapping),
                    ciphertext: Bytes(body.to_vec()),
                })?;
                if !refused_with(&r, "BadCiphertext") {
                    return diverged(format!(
                        "law: {what} decrypted as a ciphertext under the wrapping key: answered {}",
                        r.text()
                    ));
                }
            }
        }
        (Op::ExtractMasked { .. }, Ok(Observation::Masked(tok))) => {
            let Some(m) = abs.masked(tok) else {
                return Ok(());
            };
            let shorts = truncations(JunkKind::Masked, m)
                .into_iter()
                .map(|t| (t, "truncated"));
            for (bytes, what) in std::iter::once((tamper(m), "tampered")).chain(shorts) {
                let r = law(Call::InsertMasked {
                    object: Bytes(bytes),
                })?;
                if !refused_with(&r, "BadMaskedObject") {
                    return diverged(format!(
                        "law: a {what} masked object was not rejected with BadMaskedObject: answered {}",
                        r.text()
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A Verify reply in words: `valid`, `not valid`, or the error.
fn describe(r: &Reply) -> String {
    match r {
        Reply::Ok(Answer::Verified { valid: true }) => "valid".into(),
        Reply::Ok(Answer::Verified { valid: false }) => "not valid".into(),
        r => r.text(),
    }
}
