//! Masked objects from outside: the sealed form through InsertMasked (anything but a real
//! object of this cluster is BadMaskedObject and changes nothing), and the record decoder that
//! sits behind the authentication.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    hsm_impl::fuzzing::decode_record(data);
    thread_local!(static F: common::Fixture = common::fixture());
    F.with(|f| {
        let before = common::view(f);
        if f.session.insert_masked(data).is_err() {
            assert_eq!(before, common::view(f), "an error changed the HSM");
        } else {
            // Only a genuine object of this cluster can be inserted; undo it.
            panic!("fuzzer forged a masked object");
        }
    });
});
