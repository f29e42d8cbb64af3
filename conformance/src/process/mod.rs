//! The process system under test: an implementation that is not linked into the runner, driven
//! through the process protocol (`docs/protocol.md`, [`crate::protocol`]) over a child
//! process's standard input and output, or over any byte streams ([`Connection`]).
//!
//! [`ProcessSut`] implements [`SystemUnderTest`], so the runner, the shrinker and both
//! campaigns are reused unchanged. Its abstraction function is the in-process adapter's
//! (`docs/conformance.md`), with key handles (opaque strings the implementation invents)
//! mapped to the model's key ids as they appear, and bytes as base64.
//!
//! A process that crashes, hangs (no answer within the per-request timeout), answers garbage or
//! the wrong id, or closes its output is a failure of the step that was running; its process
//! group is killed at once and the next trace gets a new process. Every process runs in its own
//! process group, killed and reaped when its client is dropped ([`ProcessGroup`], D30).

use crate::abstraction::{junk, truncations, JunkKind, GARBAGE};
use crate::protocol::{b64, clip, kind_name, role_from, role_name, unb64, VERSION};
use crate::sut::{SutFactory, SystemUnderTest};
use hsm_model::state::{Ciphertext, DataId, KeyId, MaskedObject, Signature, WrappedKey};
use hsm_model::{Action, Config, ErrorCode, Observation, Op, Outcome, Policy, State};
use rustix::process::{kill_process_group, waitid, Pid, Signal, WaitId, WaitIdOptions};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The default time a request may take before the process counts as hung.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a process that did not break gets to exit by itself once its input is closed, at
/// the end of a run, before its process group is killed anyway.
pub const EXIT_GRACE: Duration = Duration::from_millis(200);

/// A child process that leads its own process group (`process_group(0)`): the `sh -c` of a
/// `--sut-cmd` and everything it starts, unless they leave the group themselves (D30).
///
/// [`ProcessGroup::finish`] (and dropping it) kills the whole group with SIGKILL and reaps the
/// child. The group is only ever signalled before the child is reaped, so its id cannot have
/// been given to another process. Grandchildren, killed too, are reaped by whoever inherits
/// them (init or a subreaper). While the group lives it is also registered with a handler of
/// SIGINT, SIGTERM and SIGHUP that kills it before `hsmspec` dies of the signal.
pub struct ProcessGroup {
    child: Child,
    pgid: Pid,
    slot: Option<usize>,
    ended: Option<String>,
}

impl ProcessGroup {
    /// Starts `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<ProcessGroup> {
        let child = cmd.process_group(0).spawn()?;
        let pgid = Pid::from_child(&child);
        let slot = interrupt::register(pgid.as_raw_nonzero().get());
        Ok(ProcessGroup {
            child,
            pgid,
            slot,
            ended: None,
        })
    }

    /// The child's process id, which is also the group's id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child, to take its pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// How the child ended (`exit status: 3`, `signal: 9`), if it has, without reaping it.
    pub fn exited(&self) -> Option<String> {
        if let Some(e) = &self.ended {
            return Some(e.clone());
        }
        let opts = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match waitid(WaitId::Pid(self.pgid), opts) {
            Ok(Some(st)) => Some(match (st.exit_status(), st.terminating_signal()) {
                (Some(c), _) => format!("exit status: {c}"),
                (None, Some(sig)) => format!("signal: {sig}"),
                _ => "ended".to_string(),
            }),
            _ => None,
        }
    }

    /// Waits up to `grace` for the child to exit by itself, then kills the whole group and
    /// reaps the child: how the child ended. Only the first call does anything.
    pub fn finish(&mut self, grace: Duration) -> String {
        if let Some(e) = &self.ended {
            return e.clone();
        }
        let deadline = Instant::now() + grace;
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let by_itself = self.exited();
        // The child is not reaped yet: the group id is still ours.
        let _ = kill_process_group(self.pgid, Signal::KILL);
        if let Some(slot) = self.slot.take() {
            interrupt::unregister(slot);
        }
        let st = self.child.wait();
        let how = match (by_itself, st) {
            (Some(e), _) => format!("{e}; its process group killed"),
            (None, Ok(st)) => format!("{st}; its process group killed"),
            (None, Err(e)) => format!("cannot reap it: {e}"),
        };
        self.ended = Some(how.clone());
        how
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.finish(Duration::ZERO);
    }
}

/// The process groups to kill when `hsmspec` is interrupted (SIGINT, SIGTERM, SIGHUP), since a
/// process in its own group no longer gets the terminal's Ctrl-C. The handler only calls
/// `kill` (async-signal-safe) on the registered groups, restores the default action and
/// raises the signal again, so `hsmspec` still dies of it. It is installed on the first
/// process started, for each signal whose action is still the default (an ignored or already
/// handled signal is left alone). SIGKILL of `hsmspec` cannot be caught: see D30.
mod interrupt {
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::Once;

    const SLOTS: usize = 256;
    static GROUPS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
    static INSTALL: Once = Once::new();

    /// Registers a live group: its slot, or `None` when every slot is taken (the group is
    /// still killed on every return path, just not on a signal).
    pub fn register(pgid: i32) -> Option<usize> {
        INSTALL.call_once(install);
        GROUPS.iter().position(|s| {
            s.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        })
    }

    /// Forgets a group (before its leader is reaped, so the handler never signals a reused id).
    pub fn unregister(slot: usize) {
        GROUPS[slot].store(0, Ordering::SeqCst);
    }

    extern "C" fn on_signal(sig: libc::c_int) {
        for s in &GROUPS {
            let pgid = s.load(Ordering::SeqCst);
            if pgid > 0 {
                // SAFETY: kill, signal and raise are async-signal-safe.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
        }
        // SAFETY: as above; the signal is blocked while its handler runs, so it is delivered
        // with the default action as soon as the handler returns.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    fn install() {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: sigaction with a zeroed (empty-mask) struct and a handler that only makes
            // async-signal-safe calls.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction != libc::SIG_DFL
                {
                    continue;
                }
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                libc::sigemptyset(&mut new.sa_mask);
                libc::sigaction(sig, &new, std::ptr::null_mut());
            }
        }
    }
}

/// `--log-protocol FILE`: every line sent to and received from every process of a run, in the
/// order sent and received, each with the time since the log was opened and the number of the
/// process (1, 2, … in the order started), and what happened to each process (started, broken,
/// ended). Shared by every factory and client of a run; each line is one write.
#[derive(Clone)]
pub struct ProtocolLog {
    inner: Arc<LogInner>,
}

struct LogInner {
    file: Mutex<std::fs::File>,
    next: AtomicU64,
    start: Instant,
}

impl ProtocolLog {
    /// Creates (truncates) the log file.
    pub fn create(path: &std::path::Path) -> std::io::Result<ProtocolLog> {
        let file = std::fs::File::create(path)?;
        let log = ProtocolLog {
            inner: Arc::new(LogInner {
                file: Mutex::new(file),
                next: AtomicU64::new(1),
                start: Instant::now(),
            }),
        };
        log.write(0, '#', "hsmspec protocol log: seconds, process, > sent to it, < received from it, # what happened");
        Ok(log)
    }

    fn process(&self) -> u64 {
        self.inner.next.fetch_add(1, Ordering::SeqCst)
    }

    fn write(&self, process: u64, dir: char, text: &str) {
        let line = format!(
            "{:.6} {process} {dir} {}\n",
            self.inner.start.elapsed().as_secs_f64(),
            text.strip_suffix('\n').unwrap_or(text)
        );
        if let Ok(mut f) = self.inner.file.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// A client's handle on the log: the log and its process number.
#[derive(Clone)]
struct Logged(ProtocolLog, u64);

impl Logged {
    fn write(&self, dir: char, text: &str) {
        self.0.write(self.1, dir, text);
    }
}

/// Byte streams to an implementation: what the runner writes requests to, what it reads answers
/// from, and the child process behind them, if any (its group killed when the connection is
/// dropped).
pub struct Connection {
    /// The implementation's input.
    pub writer: Box<dyn Write + Send>,
    /// The implementation's output.
    pub reader: Box<dyn Read + Send>,
    /// The process, if the streams are a child's.
    pub child: Option<ProcessGroup>,
}

/// Opens a new connection to a fresh implementation (a new process, or a new server thread).
pub type Connector = Arc<dyn Fn() -> Result<Connection, String> + Send + Sync>;

/// A connector that starts `command` with the shell (`sh -c`) as the leader of a new process
/// group, its standard input and output piped, its standard error inherited.
pub fn command_connector(command: &str) -> Connector {
    let command = command.to_string();
    Arc::new(move || {
        let mut group = ProcessGroup::spawn(
            Command::new("sh")
                .arg("-c")
                .arg(&command)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        )
        .map_err(|e| format!("cannot start `{command}`: {e}"))?;
        let writer = group.child_mut().stdin.take().ok_or("no stdin")?;
        let reader = group.child_mut().stdout.take().ok_or("no stdout")?;
        Ok(Connection {
            writer: Box::new(writer),
            reader: Box::new(reader),
            child: Some(group),
        })
    })
}

/// An answer of the implementation.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `ok`: the operation succeeded, with its observation.
    Ok(Value),
    /// `err`: an error code (a SPEC §3 name, checked by the caller).
    Err(String),
    /// `refused`: the implementation cannot do what was asked, and says why.
    Refused(String),
}

/// One live connection speaking the protocol: requests with increasing ids, answers read by a
/// thread so that every request has a timeout. Once broken (crash, hang, garbage, wrong id,
/// closed output) every later request fails with the same reason.
pub struct Client {
    writer: Option<BufWriter<Box<dyn Write + Send>>>,
    lines: Receiver<Result<String, String>>,
    child: Option<ProcessGroup>,
    next_id: u64,
    timeout: Duration,
    broken: Option<String>,
    log: Option<Logged>,
}

impl Client {
    /// Starts reading `conn`'s output on a thread.
    pub fn new(conn: Connection, timeout: Duration) -> Client {
        Client::logged(conn, timeout, None)
    }

    /// As [`Client::new`], recording every line sent and received in `log`.
    pub fn logged(conn: Connection, timeout: Duration, log: Option<&ProtocolLog>) -> Client {
        let log = log.map(|l| Logged(l.clone(), l.process()));
        if let Some(l) = &log {
            match &conn.child {
                Some(g) => l.write(
                    '#',
                    &format!("started: pid {} (its own process group)", g.id()),
                ),
                None => l.write('#', "started (no process: in-memory streams)"),
            }
        }
        let (tx, rx) = mpsc::channel();
        let reader = conn.reader;
        let rlog = log.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(reader);
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) => {
                        if let Some(l) = &rlog {
                            l.write('#', "its output closed");
                        }
                        break;
                    }
                    Ok(_) => {
                        if let Some(l) = &rlog {
                            l.write('<', &line);
                        }
                        if tx.send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        if let Some(l) = &rlog {
                            l.write('#', &format!("cannot read its output: {e}"));
                        }
                        let _ = tx.send(Err(e.to_string()));
                        break;
                    }
                }
            }
        });
        Client {
            writer: Some(BufWriter::new(conn.writer)),
            lines: rx,
            child: conn.child,
            next_id: 1,
            timeout,
            broken: None,
            log,
        }
    }

    /// Why the connection is broken, if it is.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// ` (the process exited: …)` when it did within 200 ms (not reaped: its group is killed
    /// after).
    fn exit_status(&mut self) -> String {
        let Some(group) = self.child.as_ref() else {
            return String::new();
        };
        for _ in 0..100 {
            if let Some(st) = group.exited() {
                return format!(" (the process exited: {st})");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        String::new()
    }

    /// Marks the connection broken for good and kills the process group at once.
    fn fail(&mut self, m: String) -> String {
        if let Some(l) = &self.log {
            l.write('#', &format!("broken: {m}"));
        }
        self.broken = Some(m.clone());
        drop(self.writer.take());
        if let Some(g) = self.child.as_mut() {
            let how = g.finish(Duration::ZERO);
            if let Some(l) = &self.log {
                l.write('#', &format!("ended: {how}"));
            }
        }
        m
    }

    /// Sends a request of type `kind` with the fields of `body`, and waits for its answer.
    pub fn request(&mut self, kind: &str, body: Value) -> Result<Reply, String> {
        if let Some(b) = &self.broken {
            return Err(b.clone());
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut req = Map::new();
        req.insert("id".into(), json!(id));
        req.insert("type".into(), json!(kind));
        if let Value::Object(m) = body {
            req.extend(m);
        }
        let what = format!("request {id} ({kind})");
        let mut line = Value::Object(req).to_string();
        line.push('\n');
        if let Some(l) = &self.log {
            l.write('>', &line);
        }
        let Some(w) = self.writer.as_mut() else {
            return Err(self.fail(format!("cannot send {what}: no connection")));
        };
        if let Err(e) = w.write_all(line.as_bytes()).and_then(|_| w.flush()) {
            let st = self.exit_status();
            return Err(self.fail(format!(
                "cannot send {what}: {e}: the process closed its input{st}"
            )));
        }
        let text = loop {
            match self.lines.recv_timeout(self.timeout) {
                Ok(Ok(l)) if l.trim().is_empty() => continue,
                Ok(Ok(l)) => break l,
                Ok(Err(e)) => {
                    return Err(self.fail(format!("cannot read the answer to {what}: {e}")))
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.fail(format!(
                        "no answer to {what} within {:.1} s (hung?)",
                        self.timeout.as_secs_f64()
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let st = self.exit_status();
                    return Err(self.fail(format!(
                        "the process closed its output before answering {what}{st}"
                    )));
                }
            }
        };
        let v: Value = match serde_json::from_str(text.trim()) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return Err(self.fail(format!(
                    "garbage answer to {what}: `{}` is not a JSON object",
                    clip(text.trim())
                )))
            }
        };
        if v.get("id") != Some(&json!(id)) {
            return Err(self.fail(format!(
                "wrong id: the answer to {what} carries id {}",
                v.get("id").map_or("(none)".into(), Value::to_string)
            )));
        }
        if let Some(ok) = v.get("ok") {
            Ok(Reply::Ok(ok.clone()))
        } else if let Some(Value::String(e)) = v.get("err") {
            Ok(Reply::Err(e.clone()))
        } else if let Some(Value::String(r)) = v.get("refused") {
            Ok(Reply::Refused(r.clone()))
        } else {
            Err(self.fail(format!(
                "malformed answer to {what}: none of `ok`, `err` (a string), `refused` (a string) in `{}`",
                clip(text.trim())
            )))
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Closing its input lets a well-behaved implementation exit by itself (a broken one
        // was killed when it broke); then its whole group is killed and the child reaped.
        drop(self.writer.take());
        if let Some(mut g) = self.child.take() {
            let how = g.finish(EXIT_GRACE);
            if let Some(l) = &self.log {
                l.write('#', &format!("input closed; ended: {how}"));
            }
        }
    }
}

/// What an implementation said to `hello`.
#[derive(Clone, Debug)]
pub struct Hello {
    /// Its one-line description.
    pub implementation: String,
    /// The policy it runs (the runner's, or its real limits).
    pub policy: Policy,
}

/// The hello request for `cfg`: version, policy, cluster shape.
fn hello_body(cfg: &Config) -> Value {
    json!({
        "version": VERSION,
        "policy": cfg.policy,
        "hsms": cfg.hsms,
        "clients": cfg.clients,
        "au_password": cfg.au_password,
    })
}

/// Says hello on `client` for `cfg`. `Err(Ok(reason))`: refused; `Err(Err(m))`: the process
/// failed.
fn say_hello(client: &mut Client, cfg: &Config) -> Result<Hello, Result<String, String>> {
    match client.request("hello", hello_body(cfg)).map_err(Err)? {
        Reply::Ok(v) => {
            let implementation = v
                .get("implementation")
                .and_then(Value::as_str)
                .unwrap_or("(unnamed implementation)")
                .to_string();
            let policy = match v.get("policy") {
                None | Some(Value::Null) => cfg.policy,
                Some(p) => serde_json::from_value(p.clone()).map_err(|e| {
                    Err(client.fail(format!("hello: the answer's `policy` is malformed: {e}")))
                })?,
            };
            Ok(Hello {
                implementation,
                policy,
            })
        }
        Reply::Refused(r) => Err(Ok(format!("the implementation refused hello: {r}"))),
        Reply::Err(e) => Err(Err(client.fail(format!(
            "hello: the implementation answered the error `{e}`"
        )))),
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
        }
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

    fn connect_client(&self, cfg: &Config) -> Result<(Client, Hello), Result<String, String>> {
        let conn = (self.connect)().map_err(Err)?;
        let mut client = Client::logged(conn, self.timeout, self.log.as_ref());
        let hello = say_hello(&mut client, cfg)?;
        Ok((client, hello))
    }

    /// Starts an implementation and says hello with `cfg`'s policy and shape: what it runs, or
    /// why it refuses or failed. The connection is kept for the first trace.
    pub fn hello(&self, cfg: &Config) -> Result<Hello, String> {
        let (client, hello) = self.connect_client(cfg).map_err(|e| match e {
            Ok(r) | Err(r) => r,
        })?;
        self.pool.lock().map_err(|e| e.to_string())?.push(client);
        Ok(hello)
    }
}

impl SutFactory for ProcessFactory {
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, String> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        let client = match pooled {
            Some(c) => c,
            None => match self.connect_client(cfg) {
                Ok((c, _)) => c,
                Err(Ok(refusal)) => return Err(refusal),
                // A process that fails before the first step fails at the first step.
                Err(Err(m)) => return Ok(Box::new(ProcessSut::broken(cfg, m))),
            },
        };
        let mut sut = ProcessSut::new(cfg, client, self.pool.clone());
        let body = json!({
            "cluster": 0,
            "hsms": cfg.hsms,
            "clients": cfg.clients,
            "au_password": cfg.au_password,
            "policy": cfg.policy,
        });
        match sut.request("reset", body) {
            Ok(Reply::Ok(v)) => {
                if let Some(p) = v.get("policy").filter(|p| !p.is_null()) {
                    let theirs: Result<Policy, _> = serde_json::from_value(p.clone());
                    match theirs {
                        Ok(p) if p == cfg.policy => {}
                        Ok(p) => {
                            return Err(format!(
                                "the implementation runs policy {p:?}, the configuration `{}` needs {:?}",
                                cfg.name, cfg.policy
                            ))
                        }
                        Err(e) => sut.fail(format!("reset: the answer's `policy` is malformed: {e}")),
                    }
                }
            }
            Ok(Reply::Refused(r)) => {
                return Err(format!("the implementation refused reset: {r}"));
            }
            Ok(Reply::Err(e)) => sut.fail(format!("reset: answered the error `{e}`")),
            Err(_) => {}
        }
        Ok(Box::new(sut))
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

/// One trace's system: a connection after `reset`, and the abstraction's maps.
pub struct ProcessSut {
    cfg: Config,
    client: Option<Client>,
    pool: Option<Arc<Mutex<Vec<Client>>>>,
    /// Why the system broke, when it broke without a connection.
    failure: Option<String>,
    key_handle: HashMap<KeyId, String>,
    handle_key: HashMap<String, KeyId>,
    masked: HashMap<MaskedObject, Vec<u8>>,
    wrapped: HashMap<WrappedKey, Vec<u8>>,
    ciphertexts: HashMap<Ciphertext, Vec<u8>>,
    signatures: HashMap<Signature, Vec<u8>>,
    macs: crate::abstraction::MacLedger,
    sync: crate::abstraction::SyncLedger,
    foreign: Option<Vec<u8>>,
}

impl Drop for ProcessSut {
    fn drop(&mut self) {
        if let (Some(c), Some(pool)) = (self.client.take(), self.pool.as_ref()) {
            if c.broken().is_none() {
                if let Ok(mut p) = pool.lock() {
                    p.push(c);
                }
            }
        }
    }
}

/// A field of an Ok answer, or what is wrong with it.
fn field<'a>(v: &'a Value, k: &str, op: &str) -> Result<&'a Value, String> {
    v.get(k).ok_or_else(|| {
        format!(
            "the Ok answer to {op} has no `{k}`: {}",
            clip(&v.to_string())
        )
    })
}

fn str_field<'a>(v: &'a Value, k: &str, op: &str) -> Result<&'a str, String> {
    field(v, k, op)?
        .as_str()
        .ok_or_else(|| format!("the Ok answer to {op}: `{k}` is not a string"))
}

fn bool_field(v: &Value, k: &str, op: &str) -> Result<bool, String> {
    field(v, k, op)?
        .as_bool()
        .ok_or_else(|| format!("the Ok answer to {op}: `{k}` is not a boolean"))
}

fn bytes_field(v: &Value, k: &str, op: &str) -> Result<Vec<u8>, String> {
    unb64(str_field(v, k, op)?).map_err(|e| format!("the Ok answer to {op}: `{k}`: {e}"))
}

fn array_field<'a>(v: &'a Value, k: &str, op: &str) -> Result<&'a Vec<Value>, String> {
    field(v, k, op)?
        .as_array()
        .ok_or_else(|| format!("the Ok answer to {op}: `{k}` is not an array"))
}

fn role_field(v: &Value, k: &str, op: &str) -> Result<hsm_model::Role, String> {
    let r = str_field(v, k, op)?;
    role_from(r).ok_or_else(|| format!("the answer to {op}: unknown role `{r}`"))
}

/// The bytes with one bit of the middle byte flipped.
fn tamper(b: &[u8]) -> Vec<u8> {
    let mut t = b.to_vec();
    if t.is_empty() {
        t.push(0);
    } else {
        let i = t.len() / 2;
        t[i] ^= 0x01;
    }
    t
}

impl ProcessSut {
    fn new(cfg: &Config, client: Client, pool: Arc<Mutex<Vec<Client>>>) -> ProcessSut {
        ProcessSut {
            cfg: cfg.clone(),
            client: Some(client),
            pool: Some(pool),
            failure: None,
            key_handle: HashMap::new(),
            handle_key: HashMap::new(),
            masked: HashMap::new(),
            wrapped: HashMap::new(),
            ciphertexts: HashMap::new(),
            signatures: HashMap::new(),
            macs: Default::default(),
            sync: Default::default(),
            foreign: None,
        }
    }

    fn broken(cfg: &Config, why: String) -> ProcessSut {
        let mut s = ProcessSut::new(cfg, Client::dead(), Arc::new(Mutex::new(Vec::new())));
        s.client = None;
        s.pool = None;
        s.failure = Some(why);
        s
    }

    fn fail(&mut self, m: String) {
        if let Some(c) = self.client.as_mut() {
            c.fail(m);
        } else {
            self.failure = Some(m);
        }
    }

    fn request(&mut self, kind: &str, body: Value) -> Result<Reply, String> {
        match self.client.as_mut() {
            Some(c) => c.request(kind, body),
            None => Err(self
                .failure
                .clone()
                .unwrap_or_else(|| "no connection".into())),
        }
    }

    /// A step request on cluster `cluster`.
    fn op(
        &mut self,
        cluster: u8,
        client: usize,
        hsm: usize,
        op: &str,
        args: Value,
    ) -> Result<Reply, String> {
        self.request(
            "step",
            json!({ "cluster": cluster, "client": client, "hsm": hsm, "op": op, "args": args }),
        )
    }

    /// The handle sent for a model key id: the implementation's handle once it gave one, else
    /// a handle it cannot have given.
    fn handle(&self, k: KeyId) -> String {
        self.key_handle
            .get(&k)
            .cloned()
            .unwrap_or_else(|| format!("hsmspec-no-such-key-{}", k.0))
    }

    /// The model key id of a handle the implementation answered.
    fn key_of(&mut self, handle: &str, expected: &Outcome) -> Result<KeyId, String> {
        if let Some(k) = self.handle_key.get(handle) {
            return Ok(*k);
        }
        match expected {
            Ok(Observation::Key(k)) => match self.key_handle.get(k) {
                None => {
                    self.key_handle.insert(*k, handle.to_string());
                    self.handle_key.insert(handle.to_string(), *k);
                    Ok(*k)
                }
                Some(h) => Err(format!(
                    "the implementation answered a new key handle `{handle}` where the model answers key {} (handle `{h}`)",
                    k.0
                )),
            },
            _ => Err(format!(
                "the implementation answered Ok with a new key handle `{handle}`, the model answers {}",
                crate::runner::show(expected)
            )),
        }
    }

    fn data(&self, d: DataId) -> Vec<u8> {
        self.cfg.data_text(d).into_bytes()
    }

    /// Bytes of a masked object of another cluster: made through the protocol on a second
    /// cluster (`reset` with `cluster: 1`) by the same implementation: activated, a CU named
    /// like the configuration's first name, one AES key, extracted. If the implementation cannot
    /// get there, junk bytes stand in.
    /// Bytes of a masked object of another cluster, made once per trace on the system's second
    /// cluster (cluster 1, the spec's default policy): activate, create a CU, log it in,
    /// generate a key, extract it. Every one of these steps must succeed by the spec, so an
    /// answer other than `ok` is a divergence (it used to leave garbage in the object's place,
    /// which hid both the wrong answer and the foreign-object checks).
    fn foreign_bytes(&mut self) -> Result<Vec<u8>, String> {
        if let Some(b) = &self.foreign {
            return Ok(b.clone());
        }
        let pw = self.cfg.au_password.clone();
        let owner = self
            .cfg
            .names
            .first()
            .map(|n| n.to_lowercase())
            .unwrap_or_else(|| "foreign".into());
        let must = |what: &str, r: Reply| {
            match r {
            Reply::Ok(v) => Ok(v),
            Reply::Err(code) => Err(format!(
                "making a masked object of another cluster (cluster 1): {what} answered {code}, the spec answers Ok"
            )),
            Reply::Refused(m) => Err(format!(
                "making a masked object of another cluster (cluster 1): {what} was refused: {m}"
            )),
        }
        };
        let reset = self.request(
            "reset",
            json!({ "cluster": 1, "hsms": 1, "clients": 2, "au_password": pw,
                    "policy": Policy::spec_default() }),
        )?;
        must("reset", reset)?;
        let steps = [
            (
                0,
                "Login",
                json!({ "name": "admin", "password": "password" }),
            ),
            (0, "ChangeOwnPassword", json!({ "password": pw })),
            (
                0,
                "CreateUser",
                json!({ "name": owner, "role": "CU", "password": pw }),
            ),
            (1, "Login", json!({ "name": owner, "password": pw })),
        ];
        for (c, op, args) in steps {
            let r = self.op(1, c, 0, op, args)?;
            must(op, r)?;
        }
        let gen = self.op(
            1,
            1,
            0,
            "GenerateKey",
            json!({ "kind": "Aes256", "extractable": true }),
        )?;
        let key = must("GenerateKey", gen)?.get("key").cloned().ok_or(
            "making a masked object of another cluster: the Ok answer to GenerateKey has no `key`",
        )?;
        let ex = self.op(1, 1, 0, "ExtractMasked", json!({ "key": key }))?;
        let object = must("ExtractMasked", ex)?;
        let text = object
            .get("object")
            .and_then(Value::as_str)
            .ok_or("making a masked object of another cluster: the Ok answer to ExtractMasked has no `object`")?;
        let bytes = unb64(text)?;
        self.foreign = Some(bytes.clone());
        Ok(bytes)
    }

    fn masked_bytes(&mut self, o: MaskedObject, a: &Action) -> Result<Vec<u8>, String> {
        Ok(match o {
            MaskedObject::Foreign => self.foreign_bytes()?,
            MaskedObject::Garbage => junk(JunkKind::Masked, a),
            MaskedObject::Sealed(_) => self
                .masked
                .get(&o)
                .cloned()
                .unwrap_or_else(|| junk(JunkKind::Masked, a)),
        })
    }

    /// The step's request: operation name and arguments.
    fn request_of(&mut self, a: &Action) -> Result<(&'static str, Value), String> {
        let pw = |s: &Self, p| s.cfg.password_text(p);
        let op = a.op.operation().name();
        let args = match a.op {
            Op::Login { name, password } => {
                json!({ "name": crate::abstraction::name_arg(&self.cfg, name), "password": pw(self, password) })
            }
            Op::Logout | Op::GetClusterInfo | Op::ListUsers | Op::Zeroize | Op::GetSyncStatus => {
                json!({})
            }
            Op::ChangeOwnPassword { password } => json!({ "password": pw(self, password) }),
            Op::ChangePassword { name, password } => {
                json!({ "name": crate::abstraction::name_arg(&self.cfg, name), "password": pw(self, password) })
            }
            Op::CreateUser {
                name,
                role,
                password,
            } => {
                json!({ "name": crate::abstraction::name_arg(&self.cfg, name), "role": role_name(role),
                         "password": pw(self, password) })
            }
            Op::DeleteUser { name } => {
                json!({ "name": crate::abstraction::name_arg(&self.cfg, name) })
            }
            Op::ExtractMasked { key } => json!({ "key": self.handle(key) }),
            Op::InsertMasked { object } => json!({ "object": b64(&self.masked_bytes(object, a)?) }),
            Op::Clone { from } => json!({ "from": from.0 }),
            Op::GenerateKey { kind, extractable } => {
                json!({ "kind": kind_name(kind), "extractable": extractable })
            }
            Op::DeleteKey { key } => json!({ "key": self.handle(key) }),
            Op::ShareKey { key, name } | Op::UnshareKey { key, name } => {
                json!({ "key": self.handle(key), "name": crate::abstraction::name_arg(&self.cfg, name) })
            }
            Op::SetAttribute { key, label } => {
                json!({ "key": self.handle(key), "label": self.cfg.label_text(label) })
            }
            Op::WrapKey { key, wrapping } => {
                json!({ "key": self.handle(key), "wrapping": self.handle(wrapping) })
            }
            Op::UnwrapKey { wrapped, wrapping } => {
                let bytes = self
                    .wrapped
                    .get(&wrapped)
                    .cloned()
                    .unwrap_or_else(|| junk(JunkKind::Wrapped, a));
                json!({ "wrapped": b64(&bytes), "wrapping": self.handle(wrapping) })
            }
            Op::Encrypt { key, data } | Op::Sign { key, data } | Op::Hmac { key, data } => {
                json!({ "key": self.handle(key), "data": b64(&self.data(data)) })
            }
            Op::Decrypt { key, ciphertext } => {
                let bytes = self
                    .ciphertexts
                    .get(&ciphertext)
                    .cloned()
                    .unwrap_or_else(|| junk(JunkKind::Ciphertext, a));
                json!({ "key": self.handle(key), "ciphertext": b64(&bytes) })
            }
            Op::Verify {
                key,
                data,
                signature,
            } => {
                let bytes = self
                    .signatures
                    .get(&signature)
                    .cloned()
                    .unwrap_or_else(|| GARBAGE.to_vec());
                json!({ "key": self.handle(key), "data": b64(&self.data(data)),
                        "signature": b64(&bytes) })
            }
            Op::Digest { data } => json!({ "data": b64(&self.data(data)) }),
        };
        Ok((op, args))
    }

    /// Runs the action and abstracts the answer.
    fn run(&mut self, a: &Action, expected: &Outcome) -> Result<Outcome, String> {
        let (op, args) = self.request_of(a)?;
        let v = match self.op(0, a.client.index(), a.hsm.index(), op, args)? {
            Reply::Ok(v) => v,
            Reply::Err(code) => {
                return ErrorCode::from_name(&code).map(Err).ok_or_else(|| {
                    format!(
                    "the implementation answered the error `{code}`, a code the spec does not have"
                )
                })
            }
            Reply::Refused(r) => return Err(format!("the implementation refused {op}: {r}")),
        };
        let exp_ok = expected.as_ref().ok();
        let obs = match a.op {
            Op::Login { .. } => Observation::LoggedIn(role_field(&v, "role", op)?),
            Op::Logout
            | Op::Zeroize
            | Op::ChangeOwnPassword { .. }
            | Op::ChangePassword { .. }
            | Op::CreateUser { .. }
            | Op::DeleteUser { .. }
            | Op::Clone { .. }
            | Op::DeleteKey { .. }
            | Op::ShareKey { .. }
            | Op::UnshareKey { .. }
            | Op::SetAttribute { .. } => Observation::Done,
            Op::GetClusterInfo => {
                let hsms = array_field(&v, "hsms", op)?;
                let mut blank = Vec::new();
                for h in hsms {
                    blank.push(bool_field(h, "blank", op)?);
                }
                Observation::ClusterInfo {
                    activated: bool_field(&v, "activated", op)?,
                    blank,
                }
            }
            Op::ListUsers => {
                let mut out = Vec::new();
                for u in array_field(&v, "users", op)? {
                    out.push(hsm_model::UserEntry {
                        name: crate::abstraction::name_id(&self.cfg, str_field(u, "name", op)?)?,
                        role: role_field(u, "role", op)?,
                        locked: bool_field(u, "locked", op)?,
                    });
                }
                Observation::Users(out)
            }
            Op::GetSyncStatus => {
                let mut set = BTreeSet::new();
                for d in array_field(&v, "digests", op)? {
                    let t = d.as_str().ok_or("a digest is not a string")?;
                    set.insert(unb64(t)?);
                }
                self.sync.abstract_status(set, expected)?
            }
            Op::ExtractMasked { .. } => {
                let bytes = bytes_field(&v, "object", op)?;
                match exp_ok {
                    Some(Observation::Masked(tok)) => {
                        self.masked.entry(*tok).or_insert(bytes);
                        Observation::Masked(*tok)
                    }
                    _ => Observation::Masked(MaskedObject::Garbage),
                }
            }
            Op::InsertMasked { .. } | Op::GenerateKey { .. } | Op::UnwrapKey { .. } => {
                let h = str_field(&v, "key", op)?.to_string();
                Observation::Key(self.key_of(&h, expected)?)
            }
            Op::WrapKey { .. } => {
                let bytes = bytes_field(&v, "wrapped", op)?;
                match exp_ok {
                    Some(Observation::Wrapped(tok)) => {
                        self.wrapped.entry(*tok).or_insert(bytes);
                        Observation::Wrapped(*tok)
                    }
                    _ => Observation::Wrapped(WrappedKey::Garbage),
                }
            }
            Op::Encrypt { .. } => {
                let bytes = bytes_field(&v, "ciphertext", op)?;
                match exp_ok {
                    Some(Observation::Ciphertext(tok)) => {
                        self.ciphertexts.entry(*tok).or_insert(bytes);
                        Observation::Ciphertext(*tok)
                    }
                    _ => Observation::Ciphertext(Ciphertext::Garbage),
                }
            }
            Op::Decrypt { .. } => {
                let pt = bytes_field(&v, "plaintext", op)?;
                let d = (0..self.cfg.data.len() as u8)
                    .map(DataId)
                    .find(|&d| self.data(d) == pt)
                    .ok_or("decrypt answered a plaintext that is no datum of the trace")?;
                Observation::Plaintext(d)
            }
            Op::Sign { .. } => {
                let bytes = bytes_field(&v, "signature", op)?;
                match exp_ok {
                    Some(Observation::Signature(tok)) => {
                        self.signatures.entry(*tok).or_insert(bytes);
                        Observation::Signature(*tok)
                    }
                    _ => Observation::Signature(Signature::Garbage),
                }
            }
            Op::Verify { .. } => Observation::Verified(bool_field(&v, "valid", op)?),
            Op::Hmac { data: d, .. } => {
                let tag = bytes_field(&v, "tag", op)?;
                self.macs.abstract_tag(&tag, d, expected)?
            }
            Op::Digest { data: d } => {
                let got = bytes_field(&v, "digest", op)?;
                let want = Sha256::digest(self.data(d));
                if got[..] != want[..] {
                    return Err(format!(
                        "Digest({:?}) is not its SHA-256",
                        self.cfg.data_text(d)
                    ));
                }
                Observation::Digest(d)
            }
        };
        Ok(Ok(obs))
    }

    /// An extra step for a crypto law, in the acting session.
    fn law(&mut self, a: &Action, op: &str, args: Value) -> Result<Reply, String> {
        self.op(0, a.client.index(), a.hsm.index(), op, args)
    }

    /// The crypto laws on the implementation's real bytes (as the in-process adapter checks
    /// them), after a step both sides answered Ok.
    fn laws(&mut self, a: &Action, out: &Outcome) -> Result<(), String> {
        match (a.op, out) {
            (Op::Encrypt { key, data: d }, Ok(Observation::Ciphertext(tok))) => {
                let ct = self.ciphertexts[tok].clone();
                let k = self.handle(key);
                let r = self.law(a, "Decrypt", json!({ "key": k, "ciphertext": b64(&ct) }))?;
                let want = b64(&self.data(d));
                if r != Reply::Ok(json!({ "plaintext": want })) {
                    return Err(format!("law: decrypt(encrypt(data)) is not data: {r:?}"));
                }
                let r = self.law(
                    a,
                    "Decrypt",
                    json!({ "key": k, "ciphertext": b64(&tamper(&ct)) }),
                )?;
                if r != Reply::Err("BadCiphertext".into()) {
                    return Err(format!(
                        "law: a tampered ciphertext was not rejected with BadCiphertext: {r:?}"
                    ));
                }
                for short in truncations(JunkKind::Ciphertext, &ct) {
                    let r =
                        self.law(a, "Decrypt", json!({ "key": k, "ciphertext": b64(&short) }))?;
                    if r != Reply::Err("BadCiphertext".into()) {
                        return Err(format!(
                            "law: a ciphertext truncated to {} of its {} bytes was not rejected with BadCiphertext: {r:?}",
                            short.len(),
                            ct.len()
                        ));
                    }
                }
            }
            (Op::Sign { key, data: d }, Ok(Observation::Signature(tok))) => {
                let sig = self.signatures[tok].clone();
                let k = self.handle(key);
                let data = b64(&self.data(d));
                for (data, sig, valid, what) in [
                    (
                        data.clone(),
                        sig.clone(),
                        true,
                        "verify(sign(data)) is not valid",
                    ),
                    (data, tamper(&sig), false, "a tampered signature verified"),
                    (
                        b64(b"hsmspec: other data"),
                        sig,
                        false,
                        "a signature verified for other data",
                    ),
                ] {
                    let r = self.law(
                        a,
                        "Verify",
                        json!({ "key": k, "data": data, "signature": b64(&sig) }),
                    )?;
                    if r != Reply::Ok(json!({ "valid": valid })) {
                        return Err(format!("law: {what}: {r:?}"));
                    }
                }
            }
            (Op::WrapKey { wrapping, .. }, Ok(Observation::Wrapped(tok))) => {
                let w = self.wrapped[tok].clone();
                let k = self.handle(wrapping);
                let r = self.law(
                    a,
                    "UnwrapKey",
                    json!({ "wrapped": b64(&tamper(&w)), "wrapping": k }),
                )?;
                if r != Reply::Err("BadWrappedKey".into()) {
                    return Err(format!(
                        "law: tampered wrapped bytes were not rejected with BadWrappedKey: {r:?}"
                    ));
                }
                for short in truncations(JunkKind::Wrapped, &w) {
                    let r = self.law(
                        a,
                        "UnwrapKey",
                        json!({ "wrapped": b64(&short), "wrapping": k }),
                    )?;
                    if r != Reply::Err("BadWrappedKey".into()) {
                        return Err(format!(
                            "law: wrapped bytes truncated to {} of their {} bytes were not rejected with BadWrappedKey: {r:?}",
                            short.len(),
                            w.len()
                        ));
                    }
                }
            }
            (Op::ExtractMasked { .. }, Ok(Observation::Masked(tok))) => {
                let m = self.masked[tok].clone();
                let shorts = truncations(JunkKind::Masked, &m)
                    .into_iter()
                    .map(|t| (t, "truncated"));
                for (bytes, what) in std::iter::once((tamper(&m), "tampered")).chain(shorts) {
                    let r = self.law(a, "InsertMasked", json!({ "object": b64(&bytes) }))?;
                    if r != Reply::Err("BadMaskedObject".into()) {
                        return Err(format!(
                            "law: a {what} masked object was not rejected with BadMaskedObject: {r:?}"
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn check_hsm(&mut self, model: &State, h: usize) -> Result<(), String> {
        let v = match self.request("observe", json!({ "cluster": 0, "hsm": h }))? {
            Reply::Ok(v) => v,
            Reply::Err(e) => return Err(format!("observe HSM {h} answered the error `{e}`")),
            Reply::Refused(r) => return Err(format!("observe HSM {h} refused: {r}")),
        };
        let cfg = &self.cfg;
        let what = "observe";
        let m = &model.hsms[h];
        let activated = bool_field(&v, "activated", what)?;
        if activated != model.activated {
            return Err(format!(
                "HSM {h}: cluster activated is {activated}, the model says {}",
                model.activated
            ));
        }
        let blank = bool_field(&v, "blank", what)?;
        if blank != m.blank {
            return Err(format!(
                "HSM {h}: blank is {blank}, the model says {}",
                m.blank
            ));
        }
        let threshold = cfg.policy.lockout_threshold;
        let mut want: Vec<(String, &str, u64, bool)> = m
            .users()
            .map(|(n, u)| {
                (
                    cfg.stored_name(n),
                    role_name(u.role),
                    u.failures as u64,
                    u.failures >= threshold,
                )
            })
            .collect();
        want.sort();
        let mut got = Vec::new();
        for u in array_field(&v, "users", what)? {
            got.push((
                str_field(u, "name", what)?.to_string(),
                role_name(role_field(u, "role", what)?),
                field(u, "failed_logins", what)?
                    .as_u64()
                    .ok_or("observe: `failed_logins` is not a number")?,
                bool_field(u, "locked", what)?,
            ));
        }
        got.sort();
        if want != got {
            return Err(format!(
                "HSM {h}: users (name, role, failed logins, locked) are {got:?}, the model says {want:?}"
            ));
        }
        let want: Vec<_> = m
            .records()
            .map(|r| {
                let mut shares: Vec<String> =
                    r.key.shares.iter().map(|n| cfg.stored_name(n)).collect();
                shares.sort();
                (
                    r.id.0,
                    kind_name(r.key.kind).to_string(),
                    cfg.stored_name(r.key.owner),
                    shares,
                    r.key.extractable,
                    cfg.label_text(r.key.label),
                )
            })
            .collect();
        let mut got = Vec::new();
        for k in array_field(&v, "keys", what)? {
            let handle = str_field(k, "key", what)?;
            let id = self.handle_key.get(handle).ok_or_else(|| {
                format!("HSM {h} holds a key with handle `{handle}` that no step answered")
            })?;
            let mut shares = Vec::new();
            for s in array_field(k, "shares", what)? {
                shares.push(
                    s.as_str()
                        .ok_or("observe: a share is not a string")?
                        .to_string(),
                );
            }
            shares.sort();
            got.push((
                id.0,
                str_field(k, "kind", what)?.to_string(),
                str_field(k, "owner", what)?.to_string(),
                shares,
                bool_field(k, "extractable", what)?,
                str_field(k, "label", what)?.to_string(),
            ));
        }
        got.sort();
        if want != got {
            return Err(format!(
                "HSM {h}: keys (id, kind, owner, shares, extractable, label) are {got:?}, the model says {want:?}"
            ));
        }
        let sessions = array_field(&v, "sessions", what)?;
        for c in 0..cfg.clients as usize {
            let s = sessions
                .iter()
                .find(|s| s.get("client").and_then(Value::as_u64) == Some(c as u64))
                .ok_or_else(|| format!("HSM {h}: client {c}'s session is missing"))?;
            let got = match s.get("user") {
                None | Some(Value::Null) => None,
                Some(Value::String(u)) => Some(u.clone()),
                Some(other) => return Err(format!("observe: a session's user is {other}")),
            };
            let want = model
                .session(
                    hsm_model::state::ClientId(c as u8),
                    hsm_model::state::HsmId(h as u8),
                )
                .map(|n| cfg.stored_name(n));
            if got != want {
                return Err(format!(
                    "HSM {h}: client {c}'s session is logged in as {got:?}, the model says {want:?}"
                ));
            }
        }
        Ok(())
    }
}

impl Client {
    /// A client with no connection (a placeholder, never used for requests).
    fn dead() -> Client {
        let (_tx, rx) = mpsc::channel();
        Client {
            writer: None,
            lines: rx,
            child: None,
            next_id: 1,
            timeout: Duration::ZERO,
            broken: Some("no connection".into()),
            log: None,
        }
    }
}

impl SystemUnderTest for ProcessSut {
    fn step(
        &mut self,
        action: &Action,
        _before: &State,
        expected: &Outcome,
    ) -> Result<Outcome, String> {
        let out = self.run(action, expected)?;
        if out == *expected && out.is_ok() {
            self.laws(action, &out)?;
        }
        Ok(out)
    }

    fn check_state(&mut self, model: &State) -> Result<(), String> {
        for h in 0..self.cfg.hsms as usize {
            self.check_hsm(model, h)?;
        }
        Ok(())
    }

    fn observe(&mut self) -> Result<Vec<String>, String> {
        (0..self.cfg.hsms as usize)
            .map(
                |h| match self.request("observe", json!({ "cluster": 0, "hsm": h }))? {
                    Reply::Ok(v) => Ok(v.to_string()),
                    Reply::Err(e) => Err(format!("observe HSM {h} answered the error `{e}`")),
                    Reply::Refused(r) => Err(format!("observe HSM {h} refused: {r}")),
                },
            )
            .collect()
    }

    fn failed(&self) -> bool {
        match &self.client {
            Some(c) => c.broken().is_some(),
            None => true,
        }
    }
}

/// Launches [`crate::protocol::serve`] for `factory` on a thread over in-memory pipes: the
/// protocol end to end without a process (tests, benchmarks, the fault zoo).
pub fn in_memory_connector(factory: crate::adapter::ImplFactory) -> Connector {
    Arc::new(move || {
        let (req_r, req_w) = crate::protocol::pipe();
        let (ans_r, ans_w) = crate::protocol::pipe();
        let f = factory.clone();
        std::thread::spawn(move || {
            let _ = crate::protocol::serve(BufReader::new(req_r), BufWriter::new(ans_w), &f);
        });
        Ok(Connection {
            writer: Box::new(req_w),
            reader: Box::new(ans_r),
            child: None,
        })
    })
}
