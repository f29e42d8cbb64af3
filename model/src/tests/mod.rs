//! Tests that need the test-only planted faults of `step`.

mod planted;
