//! Trace files: any text is either a clear TraceError or a trace the model replays.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(trace) = hsm_model::Trace::from_json(text) {
        let _ = trace.replay_model();
    }
});
