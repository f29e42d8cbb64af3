//! `hsmspec explore`: stateright's Explorer for a configuration, on 127.0.0.1, showing the model
//! as a person pictures it.
//!
//! The Explorer prints a state with `{:#?}` and an action with the model's `format_action`, so
//! the model it serves is [`ExplorerModel`], a wrapper of [`HsmModel`] whose state
//! ([`ExplorerState`]) and action ([`ExplorerAction`]) have the cluster view and the action's
//! sentence as their `Debug`: names rather than indices, no ghost history, the configuration
//! at the top of every state. Paths are concrete (no symmetry reduction: an actor keeps its
//! name along a path), every enabled action is offered with its outcome (errors too), and an
//! example whose families or bounds are off says so in its name.
//!
//! The Explorer's status names the model by its Rust type; [`serve`] puts a relay in front of
//! stateright's server that answers the status with the configuration in words instead.

use crate::check::ConfigArgs;
use hsm_conformance::Error;
use hsm_model::checker::properties;
use hsm_model::story::{cluster_view, outcome_text};
use hsm_model::trace::describe;
use hsm_model::{Action, Config, HsmModel, State};
use stateright::{Model, Property};
use std::fmt;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// The configuration `explore` serves when `--config` names none (or names the suite): one
/// that finishes in a moment, from a new cluster.
pub const DEFAULT_CONFIG: &str = "accounts";

/// A state as the Explorer shows it: the cluster view, under the configuration. Equal and
/// hashed as the model's state alone.
#[derive(Clone)]
pub struct ExplorerState {
    /// The model's state (concrete: never a symmetry representative).
    pub state: State,
    cfg: &'static Config,
}

impl PartialEq for ExplorerState {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}
impl Eq for ExplorerState {}
impl std::hash::Hash for ExplorerState {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.state.hash(h)
    }
}

impl fmt::Debug for ExplorerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", config_header(self.cfg))?;
        writeln!(f)?;
        f.write_str(&cluster_view(self.cfg, &self.state, ""))
    }
}

/// An action as the Explorer shows it: `client 0 @ HSM 0: Login as "admin", …`.
#[derive(Clone, Copy)]
pub struct ExplorerAction {
    /// The model's action.
    pub action: Action,
    cfg: &'static Config,
}

impl PartialEq for ExplorerAction {
    fn eq(&self, other: &Self) -> bool {
        self.action == other.action
    }
}
impl Eq for ExplorerAction {}

impl fmt::Debug for ExplorerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self.cfg, &self.action))
    }
}

/// The configuration in a few lines, for the top of every state.
pub fn config_header(cfg: &Config) -> String {
    let mut out = format!("configuration `{}`", cfg.name);
    for line in crate::output::config_text(cfg) {
        out.push_str(&format!("\n  {line}"));
    }
    out.push_str(&format!(
        "\n  families {}; {}",
        cfg.families,
        match cfg.setup.len() {
            0 => "from a new cluster".to_string(),
            n => format!("after {n} setup steps"),
        }
    ));
    out
}

/// [`HsmModel`] as the Explorer serves it.
pub struct ExplorerModel {
    inner: HsmModel,
    cfg: &'static Config,
    properties: Vec<Property<HsmModel>>,
    names: Vec<&'static str>,
}

impl ExplorerModel {
    /// The Explorer's model of `cfg`; an error if the configuration is not valid.
    pub fn new(cfg: Config) -> Result<ExplorerModel, Error> {
        let inner = HsmModel::new(cfg.clone())?;
        // The Explorer needs states that name their configuration, for as long as it serves.
        let cfg: &'static Config = Box::leak(Box::new(cfg));
        let properties = properties::all();
        let names = properties
            .iter()
            .map(|p| {
                let on = properties::EXAMPLES
                    .iter()
                    .find(|(name, _)| *name == p.name)
                    .is_none_or(|(name, families)| {
                        families.iter().all(|f| cfg.has(*f))
                            && properties::example_within_bounds(name, cfg)
                    });
                if on {
                    p.name
                } else {
                    let off = format!(
                        "OFF in `{}` (its operation families or bounds are switched off): {}",
                        cfg.name, p.name
                    );
                    &*Box::leak(off.into_boxed_str())
                }
            })
            .collect();
        Ok(ExplorerModel {
            inner,
            cfg,
            properties,
            names,
        })
    }

    fn wrap(&self, state: State) -> ExplorerState {
        ExplorerState {
            state,
            cfg: self.cfg,
        }
    }
}

/// The `I`-th property of the model, held on the wrapped state (stateright takes a property's
/// condition as a plain function, so there is one instance per property).
fn condition<const I: usize>(m: &ExplorerModel, s: &ExplorerState) -> bool {
    m.properties
        .get(I)
        .is_none_or(|p| (p.condition)(&m.inner, &s.state))
}

const CONDITIONS: [fn(&ExplorerModel, &ExplorerState) -> bool; 15] = [
    condition::<0>,
    condition::<1>,
    condition::<2>,
    condition::<3>,
    condition::<4>,
    condition::<5>,
    condition::<6>,
    condition::<7>,
    condition::<8>,
    condition::<9>,
    condition::<10>,
    condition::<11>,
    condition::<12>,
    condition::<13>,
    condition::<14>,
];

impl Model for ExplorerModel {
    type State = ExplorerState;
    type Action = ExplorerAction;

    fn init_states(&self) -> Vec<ExplorerState> {
        self.inner
            .setup_state()
            .map(|s| vec![self.wrap(s)])
            .unwrap_or_default()
    }

    /// Every enabled action, errors included, so that a person sees what each would answer.
    fn actions(&self, state: &ExplorerState, actions: &mut Vec<ExplorerAction>) {
        let mut all = Vec::new();
        self.inner.enabled_actions(&state.state, &mut all);
        actions.extend(all.into_iter().map(|action| ExplorerAction {
            action,
            cfg: self.cfg,
        }));
    }

    fn next_state(&self, last: &ExplorerState, action: ExplorerAction) -> Option<ExplorerState> {
        let (_, next) = self.inner.transition(&last.state, &action.action)?;
        Some(self.wrap(next))
    }

    fn format_action(&self, action: &ExplorerAction) -> String {
        describe(self.cfg, &action.action)
    }

    /// The outcome, what the step changed, then the cluster after it: the Explorer's page shows
    /// this as the current state (the whole state, configuration included, under "Complete
    /// State?").
    fn format_step(&self, last: &ExplorerState, action: ExplorerAction) -> Option<String> {
        let (outcome, next) = self.inner.transition(&last.state, &action.action)?;
        let mut out = format!("→ {}", outcome_text(self.cfg, &outcome));
        let changed = hsm_model::story::changes(self.cfg, &last.state, &next);
        if changed.is_empty() {
            out.push_str("\n(nothing changes)");
        }
        for c in changed {
            out.push_str(&format!("\n{c}"));
        }
        out.push_str(&format!(
            "\n\nthe cluster after it (configuration `{}`):\n",
            self.cfg.name
        ));
        out.push_str(&cluster_view(self.cfg, &next, ""));
        Some(out)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties
            .iter()
            .zip(&self.names)
            .zip(CONDITIONS)
            .map(|((p, name), condition)| Property {
                expectation: p.expectation.clone(),
                name,
                condition,
            })
            .collect()
    }
}

/// The configuration `explore` serves: `--config` (the suite is four configurations, so it
/// means [`DEFAULT_CONFIG`] here), adjusted by the other options.
pub fn explore_config(config: &ConfigArgs) -> Result<Config, Error> {
    let mut args = config.clone();
    if args.config == "suite" {
        args.config = DEFAULT_CONFIG.to_string();
    }
    args.config()
}

/// The configuration in one line, for the Explorer's status (where stateright would name the
/// model's Rust type): `configuration `accounts`: 1 HSM, 2 clients; …; families …`.
pub fn config_line(cfg: &Config) -> String {
    config_header(cfg)
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
        .replacen("`; ", "`: ", 1)
}

/// Serves the Explorer of `model` on `listener` for as long as the process runs: stateright's
/// own server listens on a port of 127.0.0.1 that only this relay uses, and the relay passes
/// every request on, answering `/.status` with the configuration in words where stateright
/// names the model's Rust type. Returns only if the inner server cannot listen.
pub fn serve(model: ExplorerModel, listener: TcpListener) -> std::io::Result<()> {
    let line = config_line(model.cfg);
    let inner = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    std::thread::spawn(move || {
        model.checker().serve(inner);
    });
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let line = line.clone();
        std::thread::spawn(move || {
            let _ = relay(conn, inner, &line);
        });
    }
    Ok(())
}

/// Reads one HTTP request from `conn`: its method and path, and the request to send on
/// (HTTP/1.0, so that the answer ends when the connection closes).
fn read_request(conn: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > 64 * 1024 {
            return Err(bad("request head too long"));
        }
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Err(bad("connection closed before the request ended"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or("GET"), first.next().unwrap_or("/"));
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    if length > 1024 * 1024 {
        return Err(bad("request body too long"));
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    let mut out = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Ok((path.to_string(), out))
}

/// Passes one request on to stateright's server and its answer back, with the status's model
/// replaced by `line`.
fn relay(mut conn: TcpStream, inner: std::net::SocketAddr, line: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let (path, request) = read_request(&mut conn)?;
    // Stateright's server may still be starting.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut upstream = loop {
        match TcpStream::connect(inner) {
            Ok(s) => break s,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => return Err(e),
        }
    };
    upstream.set_read_timeout(Some(Duration::from_secs(600)))?;
    upstream.write_all(&request)?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    if path == "/.status" {
        if let Some(rewritten) = with_model_named(&answer, line) {
            answer = rewritten;
        }
    }
    conn.write_all(&answer)?;
    conn.flush()
}

/// The HTTP answer `answer` (a JSON status of stateright's) with its `model` field set to
/// `line`; `None` if it is not such an answer.
fn with_model_named(answer: &[u8], line: &str) -> Option<Vec<u8>> {
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..at]).ok()?;
    if !head.starts_with("HTTP/1.") || !head.lines().next()?.contains(" 200") {
        return None;
    }
    if head.to_ascii_lowercase().contains("transfer-encoding") {
        return None;
    }
    let mut status: serde_json::Value = serde_json::from_slice(&answer[at + 4..]).ok()?;
    status.as_object_mut()?.insert("model".into(), line.into());
    let body = serde_json::to_vec(&status).ok()?;
    let mut out = String::new();
    for h in head.split("\r\n") {
        if h.to_ascii_lowercase().starts_with("content-length:") {
            continue;
        }
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

/// Runs `hsmspec explore`: stateright's Explorer, until interrupted.
pub fn explore(config: &ConfigArgs, port: u16) -> ExitCode {
    let model = match explore_config(config).and_then(ExplorerModel::new) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("hsmspec explore: {e}");
            return ExitCode::from(hsm_conformance::verdict::USAGE_EXIT);
        }
    };
    let addr = format!("127.0.0.1:{port}");
    let listener = match TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hsmspec explore: cannot listen on {addr}: {e} (--port picks another)");
            return ExitCode::from(hsm_conformance::verdict::USAGE_EXIT);
        }
    };
    eprintln!("{}", config_header(model.cfg));
    eprintln!("Explorer on http://{addr}/ (Ctrl-C to stop; --config picks another configuration)");
    match serve(model, listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsmspec explore: cannot start the Explorer: {e}");
            ExitCode::from(1)
        }
    }
}
