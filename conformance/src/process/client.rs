//! The protocol's transport over byte streams: JSON lines written to an implementation's input
//! and read from its output, each request with an increasing id and a timeout. Once broken
//! (crash, hang, garbage, wrong id, closed output) a connection stays broken, and its process
//! group is killed at once.

use super::group::ProcessGroup;
use super::log::{Logged, ProtocolLog};
use crate::adapter::ImplFactory;
use crate::error::Error;
use crate::protocol::{clip, Answer, Envelope, Observation, Reply, Request};
use crate::sut::Transport;
use serde_json::Value;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// How long a process that did not break gets to exit by itself once its input is closed, at
/// the end of a run, before its process group is killed anyway.
pub const EXIT_GRACE: Duration = Duration::from_millis(200);

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
/// `Err` is an implementation that cannot be started.
pub type Connector = Arc<dyn Fn() -> Result<Connection, Error> + Send + Sync>;

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
        .map_err(|e| Error::Broken(format!("cannot start `{command}`: {e}")))?;
        let broken = |what: &str| Error::Broken(format!("`{command}`: no {what}"));
        let writer = group
            .child_mut()
            .stdin
            .take()
            .ok_or_else(|| broken("stdin"))?;
        let reader = group
            .child_mut()
            .stdout
            .take()
            .ok_or_else(|| broken("stdout"))?;
        Ok(Connection {
            writer: Box::new(writer),
            reader: Box::new(reader),
            child: Some(group),
        })
    })
}

/// A connector that runs [`crate::protocol::serve`] for `factory`'s clusters on a thread, over
/// in-memory pipes (`std::io::pipe`): the protocol end to end without a process (tests,
/// benchmarks, the fault zoo).
pub fn in_memory_connector(factory: ImplFactory) -> Connector {
    Arc::new(move || {
        let pipe = |what| std::io::pipe().map_err(|e| Error::Broken(format!("{what}: {e}")));
        let (req_r, req_w) = pipe("a pipe for requests")?;
        let (ans_r, ans_w) = pipe("a pipe for answers")?;
        let mut s = factory.server();
        std::thread::spawn(move || {
            let _ = crate::protocol::serve(BufReader::new(req_r), BufWriter::new(ans_w), &mut s);
        });
        Ok(Connection {
            writer: Box::new(req_w),
            reader: Box::new(ans_r),
            child: None,
        })
    })
}

/// What a [`Client`] is made of, taken out of it.
pub(crate) struct Parts {
    pub(crate) writer: Option<BufWriter<Box<dyn Write + Send>>>,
    pub(crate) next_id: u64,
    pub(crate) lines: Receiver<Result<String, String>>,
    pub(crate) child: Option<ProcessGroup>,
    pub(crate) timeout: Duration,
    pub(crate) log: Option<Logged>,
    pub(crate) version: u64,
    pub(crate) broken: Option<String>,
}

/// One live connection speaking the protocol: requests with increasing ids, answers read by a
/// thread so that every request has a timeout. Once broken every later request fails with the
/// same reason.
pub struct Client {
    writer: Option<BufWriter<Box<dyn Write + Send>>>,
    lines: Receiver<Result<String, String>>,
    child: Option<ProcessGroup>,
    next_id: u64,
    timeout: Duration,
    broken: Option<String>,
    log: Option<Logged>,
    /// The protocol version the connection speaks (1 until `hello` says otherwise).
    version: u64,
    /// Version 2: what the last step of cluster 0 observed (see [`Transport::views`]).
    views: Option<Vec<Observation>>,
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
            version: 1,
            views: None,
        }
    }

    /// The protocol version the connection speaks.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// From now on speaks protocol version `v` (what `hello` answered): from 2 on, every
    /// step of cluster 0 asks for the observation of the cluster's HSMs in its answer.
    pub fn set_version(&mut self, v: u64) {
        self.version = v;
    }

    /// A client with no connection, broken for `why` (a process that failed before the first
    /// step fails at the first step).
    pub fn dead(why: String) -> Client {
        let (_tx, rx) = mpsc::channel();
        Client {
            writer: None,
            lines: rx,
            child: None,
            next_id: 1,
            timeout: Duration::ZERO,
            broken: Some(why),
            log: None,
            version: 1,
            views: None,
        }
    }

    /// Everything the connection is made of, leaving a dead client behind (whose drop ends
    /// nothing): for [`Client::share`].
    pub(crate) fn take_parts(&mut self) -> Parts {
        let (_tx, dead) = mpsc::channel();
        Parts {
            writer: self.writer.take(),
            next_id: self.next_id,
            lines: std::mem::replace(&mut self.lines, dead),
            child: self.child.take(),
            timeout: self.timeout,
            log: self.log.take(),
            version: self.version,
            broken: self.broken.take(),
        }
    }

    /// Why the connection is broken, if it is.
    pub fn broken_because(&self) -> Option<&str> {
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

    /// Marks the connection broken for good, kills the process group at once, and answers
    /// the breakdown.
    pub fn fail(&mut self, m: String) -> Error {
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
        Error::Broken(m)
    }

    /// The next answer line, or the breakdown that stands in its place.
    fn answer_line(&mut self, what: &str) -> Result<String, Error> {
        loop {
            match self.lines.recv_timeout(self.timeout) {
                Ok(Ok(l)) if l.trim().is_empty() => continue,
                Ok(Ok(l)) => return Ok(l),
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
        }
    }
}

impl Transport for Client {
    /// Sends `request` and waits for its answer. A breakdown breaks the connection; an `ok`
    /// object that is not the request's answer is a divergence (the connection stays up).
    fn call(&mut self, request: &Request) -> Result<Reply, Error> {
        if let Some(b) = &self.broken {
            return Err(Error::Broken(b.clone()));
        }
        let id = self.next_id;
        self.next_id += 1;
        let kind = request.kind();
        let what = format!("request {id} ({kind})");
        // Only an observation changes nothing: anything else makes the last views stale.
        if !matches!(request, Request::Observe { .. }) {
            self.views = None;
        }
        let observe = self.version >= 2 && matches!(request, Request::Step(s) if s.cluster == 0);
        let line = request_line(id, observe, request, &what, self.log.as_ref())?;
        let Some(w) = self.writer.as_mut() else {
            return Err(self.fail(format!("cannot send {what}: no connection")));
        };
        if let Err(e) = w.write_all(line.as_bytes()).and_then(|_| w.flush()) {
            let st = self.exit_status();
            return Err(self.fail(format!(
                "cannot send {what}: {e}: the process closed its input{st}"
            )));
        }
        let text = self.answer_line(&what)?;
        let mut v = match answer_object(&text) {
            Ok(v) => v,
            Err(m) => return Err(self.fail(format!("garbage answer to {what}: {m}"))),
        };
        if v.get("id") != Some(&Value::from(id)) {
            return Err(self.fail(format!(
                "wrong id: the answer to {what} carries id {}",
                v.get("id").map_or("(none)".into(), Value::to_string)
            )));
        }
        match decode_answer(request, &what, &mut v, observe, self.version, &text) {
            Ok((reply, views)) => {
                if views.is_some() {
                    self.views = views;
                }
                Ok(reply)
            }
            Err(Bad::Divergence(m)) => Err(Error::Divergence(m)),
            Err(Bad::Broken(m)) => Err(self.fail(m)),
        }
    }

    fn broken(&self) -> bool {
        self.broken.is_some()
    }

    fn views(&self) -> Option<&[Observation]> {
        self.views.as_deref()
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

/// An answer line as a JSON object, or why it is not one.
pub(crate) fn answer_object(text: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str(text.trim()) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(format!("`{}` is not a JSON object", clip(text.trim()))),
    }
}

/// What is wrong with an answer: the implementation answered something the runner cannot take
/// ([`Bad::Divergence`]: the connection stays up), or broke the protocol ([`Bad::Broken`]).
pub(crate) enum Bad {
    Divergence(String),
    Broken(String),
}

/// The reply in answer object `v` (its id already matched) to `request`, and the observations
/// it carries when `observe` asked for them (protocol version 2). `text` is the line, for
/// messages.
pub(crate) fn decode_answer(
    request: &Request,
    what: &str,
    v: &mut serde_json::Map<String, Value>,
    observe: bool,
    version: u64,
    text: &str,
) -> Result<(Reply, Option<Vec<Observation>>), Bad> {
    let mut views = None;
    if observe {
        match v
            .remove("observed")
            .map(serde_json::from_value::<Vec<Observation>>)
        {
            Some(Ok(o)) => views = Some(o),
            Some(Err(e)) => {
                return Err(Bad::Divergence(format!(
                    "the `observed` of the answer to {what} is malformed: {e}"
                )))
            }
            None => {
                return Err(Bad::Divergence(format!(
                    "the answer to {what} carries no `observed` (protocol version 2 asks for it)"
                )))
            }
        }
    }
    let reply = if let Some(ok) = v.remove("ok") {
        let op = match request {
            Request::Step(s) => s.call.name(),
            r => r.kind(),
        };
        Reply::Ok(Answer::decode(request, ok).map_err(|e| {
            Bad::Divergence(format!(
                "the Ok answer to {op} is malformed: {e}: {}",
                clip(text.trim())
            ))
        })?)
    } else if let Some(Value::String(e)) = v.remove("err") {
        Reply::Err(e)
    } else if let Some(Value::String(r)) = v.remove("refused") {
        Reply::Refused(r)
    } else if let (Some(Value::String(u)), true) = (v.remove("unsupported"), version >= 2) {
        Reply::Unsupported(u)
    } else {
        return Err(Bad::Broken(format!(
            "malformed answer to {what}: none of `ok`, `err`, `refused`, `unsupported` (each a string) in `{}`",
            clip(text.trim())
        )));
    };
    Ok((reply, views))
}

/// Request `id` as the line that travels (`observe`: a version 2 step asking for its
/// cluster's observation), recorded in the protocol log if there is one.
pub(crate) fn request_line(
    id: u64,
    observe: bool,
    request: &Request,
    what: &str,
    log: Option<&Logged>,
) -> Result<String, Error> {
    let mut line = serde_json::to_string(&Envelope {
        id,
        observe,
        request,
    })
    .map_err(|e| Error::Broken(format!("cannot write {what}: {e}")))?;
    line.push('\n');
    if let Some(l) = log {
        l.write('>', &line);
    }
    Ok(line)
}
