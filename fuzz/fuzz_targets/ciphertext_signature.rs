//! Ciphertexts and signatures as the implementation parses them: Decrypt of arbitrary bytes is
//! BadCiphertext, Verify of an arbitrary signature is Ok(false); nothing panics or changes.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    thread_local!(static F: common::Fixture = common::fixture());
    F.with(|f| {
        let before = common::view(f);
        assert!(
            f.session.decrypt(f.aes, data).is_err(),
            "fuzzer forged a ciphertext"
        );
        assert_eq!(f.session.verify(f.signing, b"message", data), Ok(false));
        assert_eq!(before, common::view(f), "an error changed the HSM");
    });
});
