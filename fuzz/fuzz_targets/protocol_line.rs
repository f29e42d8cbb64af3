//! Protocol lines: the server behind `hsmspec serve-impl` answers any input line with a
//! response or a refusal, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let factory = hsm_conformance::adapter::ImplFactory::correct();
    let _ = hsm_conformance::protocol::serve(data, &mut out, &mut factory.server());
});
