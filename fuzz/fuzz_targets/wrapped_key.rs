//! Wrapped keys from outside: UnwrapKey of arbitrary bytes under a real AES key (forging one
//! would mean breaking AES-GCM), and the wrapped-plaintext decoder behind the authentication.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    hsm_impl::fuzzing::decode_wrapped(data);
    thread_local!(static F: common::Fixture = common::fixture());
    F.with(|f| {
        let before = common::view(f);
        assert!(
            f.session.unwrap_key(data, f.aes).is_err(),
            "fuzzer forged a wrapped key"
        );
        assert_eq!(before, common::view(f), "an error changed the HSM");
    });
});
