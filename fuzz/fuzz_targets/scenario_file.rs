//! Scenario files: any text is a mistake with its line and column, a disagreement with the
//! spec, or a scenario whose trace reads back as a v1 trace and replays on the model alike.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match hsm_model::scenario::Scenario::compile(text) {
        Ok(c) => {
            let back = hsm_model::Trace::from_json(&c.trace.to_json())
                .expect("a scenario's trace is a valid v1 trace");
            let outcomes = back.replay_model().expect("its outcomes are the model's");
            assert_eq!(outcomes.len(), c.steps.len());
        }
        Err(hsm_model::Error::Scenario { line, column, .. })
        | Err(hsm_model::Error::ScenarioDisagrees { line, column, .. }) => {
            assert!(line >= 1 && column >= 1);
        }
        Err(e) => panic!("a scenario's error of another kind: {e}"),
    }
});
