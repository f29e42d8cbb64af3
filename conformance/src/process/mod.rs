//! The process system under test: an implementation that is not linked into the runner, driven
//! through the process protocol (`docs/protocol.md`, [`crate::protocol`]) over a child
//! process's standard input and output, or over any byte streams ([`Connection`]).
//!
//! [`ProcessSut`] is a [`ProtocolSut`] over a [`Client`]: the abstraction function, the laws
//! and the state comparison are the in-process adapter's, with key handles (opaque strings the
//! implementation invents) mapped to the model's key ids as they appear. Transport and
//! process hygiene are in the submodules:
//!
//! - [`client`]: JSON lines, request ids and timeouts; connectors for a command and for an
//!   in-memory server;
//! - [`group`]: every process in its own process group, killed and reaped on every path (D30);
//! - [`log`]: `--log-protocol`, the conversation recorded.
//!
//! A process that crashes, hangs (no answer within the per-request timeout), answers garbage or
//! the wrong id, or closes its output is a failure of the step that was running; its process
//! group is killed at once and the next trace gets a new process.

pub mod client;
pub mod group;
pub mod log;
pub mod shared;

pub use client::{command_connector, in_memory_connector, Client, Connection, Connector};
pub use group::ProcessGroup;
pub use log::ProtocolLog;
pub use shared::{SharedClient, SharedTransport};

use crate::error::Error;
use crate::protocol::{Answer, Observation, Password, Reply, Request, VERSIONS};
use crate::sut::{ProtocolSut, SutFactory, SystemUnderTest, Transport};
use hsm_model::{Config, Policy};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The default time a request may take before the process counts as hung.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What an implementation said to `hello`.
#[derive(Clone, Debug)]
pub struct Hello {
    /// Its one-line description.
    pub implementation: String,
    /// The policy it runs (the runner's, or its real limits).
    pub policy: Policy,
    /// The protocol version the connection speaks.
    pub version: u64,
    /// Version 2: its optional capabilities (`concurrent`).
    pub capabilities: Vec<String>,
    /// Version 2: the profile it says it implements (`None`: the whole spec).
    pub profile: Option<String>,
}

/// Says hello on `client` for `cfg`. `Err`: [`Error::Refused`] when the implementation
/// refused, [`Error::Broken`] when it failed.
fn say_hello(
    client: &mut Client,
    cfg: &Config,
    max_version: u64,
    profile: Option<&str>,
) -> Result<Hello, Error> {
    let versions: Vec<u64> = VERSIONS.into_iter().filter(|v| *v <= max_version).collect();
    let hello = Request::Hello {
        version: 1,
        versions: if versions.len() > 1 {
            versions.clone()
        } else {
            Vec::new()
        },
        profile: profile.map(str::to_string),
        policy: cfg.policy,
        hsms: cfg.hsms,
        clients: cfg.clients,
        au_password: Password::new(cfg.au_password.clone()),
    };
    match client.call(&hello) {
        Ok(Reply::Ok(Answer::Hello(h))) => {
            let version = h.version.unwrap_or(1);
            if !versions.contains(&version) {
                return Err(Error::Refused(format!(
                    "the implementation answered hello with protocol version {version}; the runner speaks {}",
                    crate::protocol::versions_text(&versions)
                )));
            }
            client.set_version(version);
            Ok(Hello {
                implementation: h
                    .implementation
                    .unwrap_or_else(|| "(unnamed implementation)".into()),
                policy: h.policy.unwrap_or(cfg.policy),
                version,
                capabilities: h.capabilities,
                profile: h.profile,
            })
        }
        Ok(Reply::Refused(r)) => Err(Error::Refused(format!(
            "the implementation refused hello: {r}"
        ))),
        Ok(Reply::Err(e)) => Err(client.fail(format!(
            "hello: the implementation answered the error `{e}`"
        ))),
        Ok(Reply::Unsupported(u)) => Err(client.fail(format!(
            "hello: answered unsupported ({u}), which only a step may answer"
        ))),
        Ok(Reply::Ok(_)) => Err(client.fail("hello: an answer of another request".into())),
        Err(Error::Divergence(m)) => Err(client.fail(format!("hello: {m}"))),
        Err(e) => Err(e),
    }
}

/// Fresh systems under test from an implementation behind the protocol. One connection (one
/// process) serves trace after trace (`reset`); a connection that broke is dropped (its process
/// killed) and the next trace starts a new one.
pub struct ProcessFactory {
    connect: Connector,
    label: String,
    timeout: Duration,
    pool: Arc<Mutex<Vec<Client>>>,
    log: Option<ProtocolLog>,
    max_version: u64,
    profile: Option<crate::profile::Profile>,
}

impl ProcessFactory {
    /// Implementations started by `connect`, described as `label`, with a per-request timeout.
    pub fn new(label: &str, connect: Connector, timeout: Duration) -> ProcessFactory {
        ProcessFactory {
            connect,
            label: label.to_string(),
            timeout,
            pool: Arc::new(Mutex::new(Vec::new())),
            log: None,
            max_version: crate::protocol::VERSION,
            profile: None,
        }
    }

    /// Speaks at most protocol version `v` (`--protocol-version`; default the newest).
    /// `Err`: a version this build does not speak.
    pub fn with_max_version(mut self, v: u64) -> Result<ProcessFactory, Error> {
        if !VERSIONS.contains(&v) {
            return Err(Error::Usage(format!(
                "protocol version {v}: this build speaks {}",
                crate::protocol::versions_text(&VERSIONS)
            )));
        }
        self.max_version = v;
        Ok(self)
    }

    /// Holds the implementation to `profile` (`--profile`), named in `hello` (version 2 on).
    pub fn with_profile(mut self, profile: Option<crate::profile::Profile>) -> ProcessFactory {
        self.profile = profile;
        self
    }

    /// Records every line its processes send and receive in `log` (`--log-protocol`).
    pub fn with_log(mut self, log: Option<ProtocolLog>) -> ProcessFactory {
        self.log = log;
        self
    }

    /// The process started by `command` (`sh -c`).
    pub fn command(command: &str, timeout: Duration) -> ProcessFactory {
        ProcessFactory::new(
            &format!("process `{command}`"),
            command_connector(command),
            timeout,
        )
    }

    /// Starts a new implementation and says hello with `cfg`'s policy and shape (its profile
    /// must be the run's): the connection and what it said.
    pub fn connect(&self, cfg: &Config) -> Result<(Client, Hello), Error> {
        self.connect_client(cfg)
    }

    fn connect_client(&self, cfg: &Config) -> Result<(Client, Hello), Error> {
        let conn = (self.connect)()?;
        let mut client = Client::logged(conn, self.timeout, self.log.as_ref());
        let name = self.profile.as_ref().map(|p| p.name.as_str());
        let hello = say_hello(&mut client, cfg, self.max_version, name)?;
        if hello.profile.as_deref() != name {
            let says = |p: Option<&str>| {
                p.map_or("the whole spec".to_string(), |p| {
                    format!("the profile `{p}`")
                })
            };
            return Err(Error::Usage(format!(
                "the implementation says it implements {}, the run holds it to {} (--profile)",
                says(hello.profile.as_deref()),
                says(name)
            )));
        }
        Ok((client, hello))
    }

    /// Starts an implementation and says hello with `cfg`'s policy and shape: what it runs, or
    /// why it refuses or failed. The connection is kept for the first trace.
    pub fn hello(&self, cfg: &Config) -> Result<Hello, Error> {
        let (client, hello) = self.connect_client(cfg)?;
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(client);
        }
        Ok(hello)
    }

    /// A fresh system on `client`: `reset` of cluster 0 with `cfg`'s shape and policy.
    fn reset(&self, cfg: &Config, client: Client) -> Result<ProcessSut, Error> {
        let mut sut = ProtocolSut::new(
            cfg,
            Pooled {
                client: Some(client),
                pool: self.pool.clone(),
            },
        );
        let reset = Request::reset(cfg);
        let client = sut.transport.client();
        match reset_answer(cfg, client.call(&reset))? {
            ResetAnswer::Ready => {}
            ResetAnswer::Wrong(m) => {
                client.fail(m);
            }
            // Broken: the first step fails with the reason.
            ResetAnswer::Broken(_) => {}
        }
        Ok(sut)
    }
}

/// What an implementation's answer to `reset` means for a trace of `cfg`.
pub(crate) enum ResetAnswer {
    /// A fresh cluster of the configuration.
    Ready,
    /// An answer `reset` may not have (an error, `unsupported`, another request's answer, a
    /// malformed one): the implementation broke the protocol, said how.
    Wrong(String),
    /// The connection broke before answering, said why.
    Broken(String),
}

/// Reads `answer`, the reply to `reset` for `cfg`. `Err`: [`Error::Refused`] when the
/// implementation refused, or runs another policy than the configuration needs.
pub(crate) fn reset_answer(
    cfg: &Config,
    answer: Result<Reply, Error>,
) -> Result<ResetAnswer, Error> {
    Ok(match answer {
        Ok(Reply::Ok(Answer::Reset(r))) => match r.policy {
            Some(p) if p != cfg.policy => {
                return Err(Error::Refused(format!(
                    "the implementation runs the policy ({}), the configuration `{}` needs ({})",
                    hsm_model::story::policy_text(&p),
                    cfg.name,
                    hsm_model::story::policy_text(&cfg.policy)
                )))
            }
            _ => ResetAnswer::Ready,
        },
        Ok(Reply::Refused(r)) => {
            return Err(Error::Refused(format!(
                "the implementation refused reset: {r}"
            )))
        }
        Ok(Reply::Unsupported(u)) => {
            ResetAnswer::Wrong(format!("reset: answered unsupported ({u})"))
        }
        Ok(Reply::Err(e)) => ResetAnswer::Wrong(format!("reset: answered the error `{e}`")),
        Ok(Reply::Ok(_)) => ResetAnswer::Wrong("reset: an answer of another request".into()),
        Err(Error::Divergence(m)) => ResetAnswer::Wrong(format!("reset: {m}")),
        Err(e) => ResetAnswer::Broken(format!("reset: {e}")),
    })
}

impl SutFactory for ProcessFactory {
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, Error> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        let client = match pooled {
            Some(c) => c,
            None => match self.connect_client(cfg) {
                Ok((c, _)) => c,
                Err(Error::Refused(refusal)) => return Err(Error::Refused(refusal)),
                Err(Error::Usage(m)) => return Err(Error::Refused(m)),
                // A process that fails before the first step fails at the first step.
                Err(e) => Client::dead(e.to_string()),
            },
        };
        Ok(Box::new(self.reset(cfg, client)?))
    }

    fn describe(&self) -> String {
        self.label.clone()
    }

    fn profile(&self) -> Option<&crate::profile::Profile> {
        self.profile.as_ref()
    }
}

/// One trace's system: a connection after `reset`, held to the model by the abstraction.
pub type ProcessSut = ProtocolSut<Pooled>;

/// A connection that goes back to its factory's pool when the trace is done, unless it broke.
pub struct Pooled {
    client: Option<Client>,
    pool: Arc<Mutex<Vec<Client>>>,
}

impl Pooled {
    fn client(&mut self) -> &mut Client {
        // Invariant: `client` is `Some` until the value is dropped.
        self.client
            .get_or_insert_with(|| Client::dead("no connection".into()))
    }
}

impl Transport for Pooled {
    fn call(&mut self, request: &Request) -> Result<Reply, Error> {
        self.client().call(request)
    }
    fn broken(&self) -> bool {
        self.client.as_ref().is_none_or(|c| c.broken())
    }
    fn views(&self) -> Option<&[Observation]> {
        self.client.as_ref().and_then(|c| c.views())
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(c) = self.client.take().filter(|c| !c.broken()) {
            let pushed = self.pool.lock().map(|mut p| p.push(c));
            drop(pushed);
        }
    }
}
