//! The interface between the runner and a system under test.

use hsm_model::{Action, Config, Outcome, State};

/// A system under test, driven in lockstep with the model.
///
/// Every trace gets a fresh system from a [`SutFactory`]: a new cluster of the configuration's
/// shape, unactivated (SPEC §2).
pub trait SystemUnderTest {
    /// Runs one action on the system and answers its outcome in the model's terms (after the
    /// abstraction function). `before` and `expected` are the model's state before the step
    /// and its answer: the adapter uses them only to *name* what the system produced (the
    /// token a new ciphertext stands for, the record set a set of digests stands for), never
    /// to decide the answer. `Err` is a divergence that the abstraction itself found (an
    /// unknown error code, a wrong digest, an inconsistent tag, a broken crypto law).
    fn step(
        &mut self,
        action: &Action,
        before: &State,
        expected: &Outcome,
    ) -> Result<Outcome, String>;

    /// Compares the system's state, as its inspection view shows it without logging in,
    /// with the model's state after a step. `Err` describes the first difference.
    fn check_state(&mut self, model: &State) -> Result<(), String>;

    /// The system's whole inspection view, as it shows without logging in: one opaque line
    /// per HSM, in HSM order (for `hsm-impl`, `Cluster::inspect`). The runner takes it before
    /// and after every step that answers an error and requires the two to be equal (SPEC §3:
    /// nothing changes on an error, but a failed Login's counter), independently of the model.
    /// `Err` is a system that cannot be inspected.
    fn observe(&mut self) -> Result<Vec<String>, String>;

    /// Whether the system itself broke (a process that crashed, hung, answered garbage or the
    /// wrong id, or closed early): its divergence is reported at the step where it happened.
    /// Such a failure is re-run and shrunk like any other, within the shrinking budget of
    /// [`crate::failure::SHRINK_BUDGET`] (a hang costs a whole timeout per attempt).
    fn failed(&self) -> bool {
        false
    }
}

/// Makes a fresh system under test for a configuration.
pub trait SutFactory: Sync {
    /// A fresh system: a new, unactivated cluster of `cfg`'s shape and policy.
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, String>;
    /// A one-line description for reports (`hsm-impl 0.1.0`).
    fn describe(&self) -> String;
}
