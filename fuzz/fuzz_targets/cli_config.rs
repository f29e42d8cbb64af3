//! Configurations from outside (the `config` of a trace, the CLI's adjusted presets): any JSON
//! is rejected clearly or validates into a model whose setup runs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(cfg) = serde_json::from_slice::<hsm_model::Config>(data) else {
        return;
    };
    if cfg.validate().is_ok() {
        if let Ok(model) = hsm_model::HsmModel::new(cfg) {
            let _ = model.setup_state();
        }
    }
});
