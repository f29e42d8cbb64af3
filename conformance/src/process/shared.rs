//! One connection used by many threads at once: protocol version 2's `concurrent` capability.
//! Each thread's request goes out with its own id as soon as it is made; a reader thread hands
//! every answer to the request that carries its id, in whatever order the implementation
//! answers. The rules of [`super::client`] hold per request (timeout, garbage, a closed
//! output); an answer whose id no request in flight has breaks the connection, and a broken
//! connection fails every request in flight and every later one with the same reason.

use super::client::{answer_object, decode_answer, request_line, Bad, Client, Parts, EXIT_GRACE};
use super::group::ProcessGroup;
use super::log::Logged;
use crate::error::Error;
use crate::protocol::{Observation, Reply, Request};
use crate::sut::Transport;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A connection many threads send requests on at once (see the module's documentation). Its
/// process is ended (input closed, then its group killed and reaped) when it is dropped.
pub struct SharedClient {
    inner: Arc<Shared>,
}

/// The implementation's input, buffered.
type Input = BufWriter<Box<dyn Write + Send>>;

struct Shared {
    /// The implementation's input and the next request id.
    writer: Mutex<Option<(Input, u64)>>,
    pending: Mutex<Pending>,
    child: Mutex<Option<ProcessGroup>>,
    timeout: Duration,
    log: Option<Logged>,
    version: u64,
}

/// Requests in flight, each waiting for its answer line; or why the connection broke.
#[derive(Default)]
struct Pending {
    waiting: HashMap<u64, Sender<String>>,
    broken: Option<String>,
}

impl Shared {
    /// Breaks the connection for good (first reason wins): every request in flight fails,
    /// the process group is killed at once.
    fn fail(&self, why: String) -> Error {
        let why = match self.pending.lock() {
            Ok(mut p) => {
                let first = p.broken.get_or_insert(why).clone();
                // Dropping the senders wakes every waiting request.
                p.waiting.clear();
                first
            }
            Err(_) => why,
        };
        if let Some(l) = &self.log {
            l.write('#', &format!("broken: {why}"));
        }
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        if let Some(mut g) = self.child.lock().ok().and_then(|mut c| c.take()) {
            let how = g.finish(Duration::ZERO);
            if let Some(l) = &self.log {
                l.write('#', &format!("ended: {how}"));
            }
        }
        Error::Broken(why)
    }

    fn broken(&self) -> Option<String> {
        self.pending.lock().ok().and_then(|p| p.broken.clone())
    }
}

impl SharedClient {
    /// `client`'s connection, from now on shared (what [`Client::share`] makes).
    fn from_parts(parts: Parts) -> SharedClient {
        let Parts {
            writer,
            next_id,
            lines,
            child,
            timeout,
            log,
            version,
            broken,
        } = parts;
        let inner = Arc::new(Shared {
            writer: Mutex::new(writer.map(|w| (w, next_id))),
            pending: Mutex::new(Pending {
                waiting: HashMap::new(),
                broken,
            }),
            child: Mutex::new(child),
            timeout,
            log,
            version,
        });
        let reader = inner.clone();
        std::thread::spawn(move || dispatch(&reader, lines));
        SharedClient { inner }
    }

    /// The protocol version the connection speaks.
    pub fn version(&self) -> u64 {
        self.inner.version
    }

    /// Why the connection is broken, if it is.
    pub fn broken_because(&self) -> Option<String> {
        self.inner.broken()
    }

    /// Sends `request` (asking for the observation of its cluster's HSMs with `observe`, a
    /// version 2 step only) and waits for its answer, while other threads do the same.
    pub fn call(
        &self,
        request: &Request,
        observe: bool,
    ) -> Result<(Reply, Option<Vec<Observation>>), Error> {
        let s = &self.inner;
        let (tx, rx) = mpsc::channel();
        let what;
        {
            let mut w = s
                .writer
                .lock()
                .map_err(|_| Error::Broken("the connection's writer broke".into()))?;
            let Some((writer, next_id)) = w.as_mut() else {
                drop(w);
                return Err(Error::Broken(
                    s.broken().unwrap_or_else(|| "no connection".into()),
                ));
            };
            let id = *next_id;
            *next_id += 1;
            what = format!("request {id} ({})", request.kind());
            match s.pending.lock() {
                Ok(mut p) => {
                    if let Some(b) = &p.broken {
                        return Err(Error::Broken(b.clone()));
                    }
                    p.waiting.insert(id, tx);
                }
                Err(_) => return Err(Error::Broken("the connection broke".into())),
            }
            let line = request_line(id, observe, request, &what, s.log.as_ref())?;
            if let Err(e) = writer
                .write_all(line.as_bytes())
                .and_then(|_| writer.flush())
            {
                drop(w);
                return Err(s.fail(format!(
                    "cannot send {what}: {e}: the process closed its input"
                )));
            }
        }
        let text = match rx.recv_timeout(s.timeout) {
            Ok(t) => t,
            Err(RecvTimeoutError::Timeout) => {
                return Err(s.fail(format!(
                    "no answer to {what} within {:.1} s (hung?)",
                    s.timeout.as_secs_f64()
                )))
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::Broken(s.broken().unwrap_or_else(|| {
                    format!("the connection broke before answering {what}")
                })))
            }
        };
        let mut v =
            answer_object(&text).map_err(|m| s.fail(format!("garbage answer to {what}: {m}")))?;
        match decode_answer(request, &what, &mut v, observe, s.version, &text) {
            Ok(r) => Ok(r),
            Err(Bad::Divergence(m)) => Err(Error::Divergence(m)),
            Err(Bad::Broken(m)) => Err(s.fail(m)),
        }
    }
}

/// The reader's side: every answer line to the request that carries its id.
fn dispatch(s: &Shared, lines: Receiver<Result<String, String>>) {
    loop {
        let why = match lines.recv() {
            Ok(Ok(line)) if line.trim().is_empty() => continue,
            Ok(Ok(line)) => {
                let id = answer_object(&line)
                    .ok()
                    .and_then(|m| m.get("id").and_then(Value::as_u64));
                let waiting = id.and_then(|id| {
                    s.pending
                        .lock()
                        .ok()
                        .and_then(|mut p| p.waiting.remove(&id))
                });
                match waiting {
                    Some(tx) => {
                        let _ = tx.send(line);
                        continue;
                    }
                    None => format!(
                        "an answer no request in flight is waiting for (id {}): `{}`",
                        id.map_or("missing".into(), |i| i.to_string()),
                        crate::protocol::clip(line.trim())
                    ),
                }
            }
            Ok(Err(e)) => format!("cannot read the implementation's output: {e}"),
            Err(_) => "the process closed its output".to_string(),
        };
        // The input is gone only when the runner closed it (the client was dropped) or the
        // connection already failed: neither makes the end of the output a failure.
        let closed = s.writer.lock().map(|w| w.is_none()).unwrap_or(true);
        if !closed {
            s.fail(why);
        }
        return;
    }
}

impl Drop for SharedClient {
    fn drop(&mut self) {
        let s = &self.inner;
        if let Ok(mut w) = s.writer.lock() {
            w.take();
        }
        if let Some(mut g) = s.child.lock().ok().and_then(|mut c| c.take()) {
            let how = g.finish(EXIT_GRACE);
            if let Some(l) = &s.log {
                l.write('#', &format!("input closed; ended: {how}"));
            }
        }
    }
}

/// A [`SharedClient`] as one thread's [`Transport`] (the sequential parts of a concurrent
/// campaign: reset, prefix, observations): version 2 steps of cluster 0 ask for their
/// observation, which [`Transport::views`] then gives.
pub struct SharedTransport {
    /// The connection.
    pub client: Arc<SharedClient>,
    views: Option<Vec<Observation>>,
}

impl SharedTransport {
    /// `client` as a transport.
    pub fn new(client: Arc<SharedClient>) -> SharedTransport {
        SharedTransport {
            client,
            views: None,
        }
    }
}

impl Transport for SharedTransport {
    fn call(&mut self, request: &Request) -> Result<Reply, Error> {
        if !matches!(request, Request::Observe { .. }) {
            self.views = None;
        }
        let observe =
            self.client.version() >= 2 && matches!(request, Request::Step(s) if s.cluster == 0);
        let (reply, views) = self.client.call(request, observe)?;
        if views.is_some() {
            self.views = views;
        }
        Ok(reply)
    }
    fn broken(&self) -> bool {
        self.client.broken_because().is_some()
    }
    fn views(&self) -> Option<&[Observation]> {
        self.views.as_deref()
    }
}

impl Client {
    /// This connection, from now on for many threads at once (protocol version 2's
    /// `concurrent` capability, declared by the implementation in `hello`).
    pub fn share(mut self) -> SharedClient {
        SharedClient::from_parts(self.take_parts())
    }
}
