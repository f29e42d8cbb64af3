//! The interface between the runner and a system under test, and the one implementation of it
//! that every transport shares.
//!
//! The runner drives a [`SystemUnderTest`]. Both systems of this crate are a
//! [`ProtocolSut`]: the protocol's requests ([`crate::protocol`]) sent through a
//! [`Transport`], the answers put in the model's terms by the one abstraction function
//! ([`crate::abstraction`]). The transports differ only in how a request travels: a direct
//! call of `hsm-impl` ([`crate::adapter`]), or JSON lines to a child process
//! ([`crate::process`]).

use crate::abstraction::{laws, prepare, Abstraction};
use crate::error::{diverged, Error};
use crate::protocol::{Answer, Observation, Reply, Request};
use hsm_model::{Action, Config, LargeState, Outcome};

/// A system under test, driven in lockstep with the model.
///
/// Every trace gets a fresh system from a [`SutFactory`]: a new cluster of the configuration's
/// shape, unactivated (SPEC §2).
pub trait SystemUnderTest {
    /// Runs one action on the system and answers its outcome in the model's terms (after the
    /// abstraction function). `before` and `expected` are the model's state before the step
    /// and its answer: they are used only to *name* what the system produced (the token a new
    /// ciphertext stands for, the record set a set of digests stands for), never to decide the
    /// answer. `Err` is a divergence the abstraction itself found (an unknown error code, a
    /// wrong digest, an inconsistent tag, a broken crypto law) or a system that broke.
    fn step(
        &mut self,
        action: &Action,
        before: &LargeState,
        expected: &Outcome,
    ) -> Result<Outcome, Error>;

    /// Compares the system's state, as its inspection view shows it without logging in,
    /// with the model's state after a step. `Err` describes the first difference.
    fn check_state(&mut self, model: &LargeState) -> Result<(), Error>;

    /// The system's whole inspection view, as it shows without logging in: one opaque line
    /// per HSM, in HSM order. The runner takes it before and after every step that answers an
    /// error and requires the two to be equal (SPEC §3: nothing changes on an error, but a
    /// failed Login's counter), independently of the model. `Err` is a system that cannot be
    /// inspected.
    fn observe(&mut self) -> Result<Vec<String>, Error>;

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
    /// A fresh system: a new, unactivated cluster of `cfg`'s shape and policy. `Err` is a
    /// system that cannot run the configuration at all ([`Error::Refused`]); a system that
    /// breaks while it is made is a system whose first step fails.
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, Error>;
    /// A one-line description for reports (`hsm-impl 0.1.0`).
    fn describe(&self) -> String;
    /// The profile the systems are held to (`--profile`): what campaigns generate, and the
    /// deviations the runner accepts ([`crate::profile`]). `None`: the whole spec.
    fn profile(&self) -> Option<&crate::profile::Profile> {
        None
    }
}

/// How requests of the protocol reach a system: one request, its reply. `Err` is a
/// transport that broke ([`Error::Broken`]) or an answer it could not make sense of
/// ([`Error::Divergence`]).
pub trait Transport {
    /// Sends `request` and waits for its reply.
    fn call(&mut self, request: &Request) -> Result<Reply, Error>;
    /// Whether the transport broke for good (every later call fails).
    fn broken(&self) -> bool {
        false
    }
    /// Protocol version 2: the observation of every HSM of cluster 0 that the last `step`
    /// answer carried (`observed`), while nothing was sent since but `observe`s; `None` when
    /// the transport does not combine steps with observations, or something else was sent.
    /// What the runner inspects then comes from it instead of one `observe` per HSM.
    fn views(&self) -> Option<&[Observation]> {
        None
    }
}

/// A system under test reached through a transport, held to the model by the abstraction
/// function: the system of every transport.
pub struct ProtocolSut<T> {
    /// How requests reach the system.
    pub transport: T,
    /// The trace's abstraction.
    pub abstraction: Abstraction,
}

impl<T: Transport> ProtocolSut<T> {
    /// A system reached through `transport`, for a trace of `cfg`.
    pub fn new(cfg: &Config, transport: T) -> ProtocolSut<T> {
        ProtocolSut {
            transport,
            abstraction: Abstraction::new(cfg),
        }
    }

    /// Runs `a` on the system and abstracts its answer (no law, no state check).
    pub fn run(&mut self, a: &Action, expected: &Outcome) -> Result<Outcome, Error> {
        prepare(&mut self.abstraction, &mut self.transport, a)?;
        let request = self.abstraction.request_of(a);
        let reply = self.transport.call(&request)?;
        self.abstraction.outcome_of(a, reply, expected)
    }

    /// The crypto laws after an Ok step both sides agreed on.
    pub fn laws(&mut self, a: &Action, out: &Outcome) -> Result<(), Error> {
        laws::check(&mut self.transport, &self.abstraction, a, out)
    }

    /// Every HSM of the trace's cluster as the system shows it: from the last step's
    /// combined answer when there is one (protocol version 2), else one `observe` per HSM.
    pub fn observations(&mut self) -> Result<Vec<Observation>, Error> {
        let hsms = self.abstraction.config().hsms as usize;
        if let Some(v) = self.transport.views() {
            if v.len() != hsms {
                return diverged(format!(
                    "the step's answer observed {} HSMs, the cluster has {hsms}",
                    v.len()
                ));
            }
            return Ok(v.to_vec());
        }
        (0..hsms).map(|h| self.observation(h)).collect()
    }

    /// HSM `h` of the trace's cluster as the system shows it.
    pub fn observation(&mut self, h: usize) -> Result<Observation, Error> {
        let request = Request::Observe {
            cluster: 0,
            hsm: h as u64,
        };
        match self.transport.call(&request)? {
            Reply::Ok(Answer::Observed(o)) => Ok(o),
            Reply::Ok(_) => diverged(format!("observe HSM {h} answered no observation")),
            Reply::Err(e) => diverged(format!("observe HSM {h} answered the error `{e}`")),
            Reply::Refused(r) => diverged(format!("observe HSM {h} refused: {r}")),
            Reply::Unsupported(r) => diverged(format!("observe HSM {h} answered unsupported: {r}")),
        }
    }
}

impl<T: Transport> SystemUnderTest for ProtocolSut<T> {
    fn step(
        &mut self,
        action: &Action,
        _before: &LargeState,
        expected: &Outcome,
    ) -> Result<Outcome, Error> {
        let out = self.run(action, expected)?;
        if out == *expected && out.is_ok() {
            self.laws(action, &out)?;
        }
        Ok(out)
    }

    fn check_state(&mut self, model: &LargeState) -> Result<(), Error> {
        for (h, o) in self.observations()?.iter().enumerate() {
            self.abstraction.check_view(model, h, o)?;
        }
        Ok(())
    }

    fn observe(&mut self) -> Result<Vec<String>, Error> {
        self.observations()?
            .iter()
            .map(|o| serde_json::to_string(o).map_err(|e| Error::Divergence(e.to_string())))
            .collect()
    }

    fn failed(&self) -> bool {
        self.transport.broken()
    }
}
