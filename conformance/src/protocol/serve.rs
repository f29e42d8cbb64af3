//! `hsm-impl` behind the protocol: [`Server`] answers typed [`Request`]s with an `hsm-impl`
//! cluster (the one mapping of `hsm-impl` onto the protocol's vocabulary), and [`serve`] runs
//! it over JSON lines, as `hsmspec serve-impl` does on stdio. The in-process adapter
//! ([`crate::adapter`]) calls the same [`Server`] without JSON, so both transports hold
//! `hsm-impl` to the model through one mapping.

use super::{
    Answer, Bytes, Call, HelloAnswer, HsmInfo, Observation, ObservedKey, ObservedSession,
    ObservedUser, Reply, Request, ResetAnswer, Step, UserLine, VERSIONS,
};
use crate::adapter::{impl_kind, impl_policy, impl_role, role_of, Constructor};
use hsm_impl as imp;
use hsm_impl::{Cluster, HsmError, Session};
use hsm_model::KeyKind;
use std::fmt::Debug;
use std::io::{self, BufRead, Write};
use std::sync::{mpsc, Condvar, Mutex, RwLock};

/// One served cluster: the cluster and `sessions[client][hsm]`.
pub struct Served {
    /// The cluster.
    pub cluster: Cluster,
    /// Each client's session on each HSM, opened when the cluster was made.
    pub sessions: Vec<Vec<Session>>,
}

/// `hsm-impl` answering the protocol's requests: up to two clusters (the trace's, and a
/// second one for another cluster's masked object).
pub struct Server {
    make: Constructor,
    label: String,
    clusters: [Option<Served>; 2],
    /// With [`Server::record_raw`], the `Debug` of every answer of `hsm-impl` before it is
    /// put in the protocol's terms (the secrets test reads them).
    raw: Option<Vec<String>>,
    /// Whether `hello` declares the `concurrent` capability (version 2; set by [`serve`],
    /// which answers steps of different clients at once).
    concurrent: bool,
}

impl Server {
    /// A server whose clusters `make` makes, describing itself as `label` in `hello`.
    pub fn new(label: &str, make: Constructor) -> Server {
        Server {
            make,
            label: label.to_string(),
            clusters: [None, None],
            raw: None,
            concurrent: false,
        }
    }

    /// Cluster `which` (0 or 1), once reset.
    pub fn cluster(&self, which: usize) -> Option<&Served> {
        self.clusters.get(which).and_then(Option::as_ref)
    }

    /// From now on keeps the `Debug` of every answer of `hsm-impl` (see [`Server::take_raw`]).
    pub fn record_raw(&mut self) {
        self.raw = Some(Vec::new());
    }

    /// The `Debug` of `hsm-impl`'s answers since the last call.
    pub fn take_raw(&mut self) -> Vec<String> {
        self.raw.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Answers one request.
    pub fn answer(&mut self, req: &Request) -> Reply {
        match req {
            Request::Hello {
                version,
                versions,
                policy,
                profile,
                ..
            } => {
                // The newest version both speak: `versions` (version 2 on), else `version`.
                let theirs = if versions.is_empty() {
                    std::slice::from_ref(version)
                } else {
                    versions.as_slice()
                };
                let Some(v) = VERSIONS.into_iter().rev().find(|v| theirs.contains(v)) else {
                    return Reply::Refused(format!(
                        "the client speaks protocol {}; this server speaks {}",
                        super::versions_text(theirs),
                        super::versions_text(&VERSIONS)
                    ));
                };
                if let Some(p) = profile {
                    return Reply::Refused(format!(
                        "hsm-impl implements the whole spec, not the profile `{p}`"
                    ));
                }
                Reply::Ok(Answer::Hello(HelloAnswer {
                    version: Some(v),
                    implementation: Some(self.label.clone()),
                    policy: Some(*policy),
                    capabilities: if v >= 2 && self.concurrent {
                        vec![super::CONCURRENT.to_string()]
                    } else {
                        Vec::new()
                    },
                    profile: None,
                }))
            }
            Request::Reset {
                cluster,
                hsms,
                clients,
                au_password,
                policy,
            } => {
                if *cluster > 1 {
                    return Reply::Refused("`cluster` must be 0 or 1".into());
                }
                let made = (self.make)(*hsms as usize, au_password.text(), impl_policy(policy));
                let cluster_made = match made {
                    Ok(c) => c,
                    Err(e) => return Reply::Refused(format!("cannot make a cluster: {e}")),
                };
                let mut sessions = Vec::new();
                for _ in 0..*clients {
                    let mut row = Vec::new();
                    for h in 0..*hsms as usize {
                        match cluster_made.open_session(h) {
                            Ok(s) => row.push(s),
                            Err(e) => return Reply::Refused(format!("cannot open a session: {e}")),
                        }
                    }
                    sessions.push(row);
                }
                if *cluster == 0 {
                    self.clusters[1] = None;
                }
                self.clusters[*cluster as usize] = Some(Served {
                    cluster: cluster_made,
                    sessions,
                });
                Reply::Ok(Answer::Reset(ResetAnswer {
                    policy: Some(*policy),
                }))
            }
            Request::Observe { cluster, hsm } => match self.served(*cluster) {
                Ok(served) => match observe(served, *hsm as usize) {
                    Ok(o) => Reply::Ok(Answer::Observed(o)),
                    Err(m) => Reply::Refused(m),
                },
                Err(r) => r,
            },
            Request::Step(step) => self.step(step),
        }
    }

    /// Every HSM of cluster `which`, as `observe` of each answers it (the `observed` of a
    /// version 2 step).
    pub fn observe_all(&self, which: u8) -> Result<Vec<Observation>, String> {
        let served = self.served(which).map_err(|r| r.text())?;
        (0..served.cluster.hsm_count())
            .map(|h| observe(served, h))
            .collect()
    }

    fn served(&self, which: u8) -> Result<&Served, Reply> {
        self.cluster(which as usize)
            .ok_or_else(|| Reply::Refused(format!("no cluster {which}: send reset first")))
    }

    fn step(&mut self, step: &Step) -> Reply {
        let mut raw = self.raw.take();
        let reply = self.run_step(step, &mut raw);
        self.raw = raw;
        reply
    }

    /// Answers a step without recording `hsm-impl`'s raw answers: what many threads may do at
    /// once (each client's session is its own; the cluster's locks order the rest).
    pub fn answer_step(&self, step: &Step) -> Reply {
        self.run_step(step, &mut None)
    }

    fn run_step(&self, step: &Step, raw: &mut Option<Vec<String>>) -> Reply {
        let served = match self.served(step.cluster) {
            Ok(s) => s,
            Err(r) => return r,
        };
        let Some(s) = served
            .sessions
            .get(step.client as usize)
            .and_then(|row| row.get(step.hsm as usize))
        else {
            return Reply::Refused(format!(
                "no session of client {} on HSM {}",
                step.client, step.hsm
            ));
        };
        call(s, &step.call, raw)
    }
}

/// The HSM as the protocol's `observe` shows it: the inspection view, with each client's
/// session found by its id. Refused (the text says why) when the view is not of this HSM, or
/// a client's session is missing from it, or it holds sessions that are none of the clients'.
pub fn observe(served: &Served, hsm: usize) -> Result<Observation, String> {
    let snap = served
        .cluster
        .inspect(hsm)
        .map_err(|e| format!("cannot inspect HSM {hsm}: {e}"))?;
    if snap.index != hsm || snap.sessions.len() != served.sessions.len() {
        return Err(format!(
            "HSM {hsm}'s inspection view says index {} and {} open sessions, not {hsm} and the {} clients' ones",
            snap.index,
            snap.sessions.len(),
            served.sessions.len()
        ));
    }
    let mut sessions = Vec::new();
    for (c, row) in served.sessions.iter().enumerate() {
        let id = row[hsm].id();
        let s = snap
            .sessions
            .iter()
            .find(|s| s.session == id)
            .ok_or_else(|| format!("HSM {hsm}: client {c}'s session is gone"))?;
        sessions.push(ObservedSession {
            client: c as u64,
            user: s.user.clone(),
        });
    }
    Ok(Observation {
        activated: snap.activated,
        blank: snap.blank,
        users: snap
            .users
            .iter()
            .map(|u| ObservedUser {
                name: u.name.clone(),
                role: role_of(u.role),
                failed_logins: u.failed_logins as u64,
                locked: u.locked,
            })
            .collect(),
        keys: snap
            .keys
            .iter()
            .map(|k| ObservedKey {
                key: handle_of(k.id),
                kind: model_kind(k.kind),
                owner: k.owner.clone(),
                shares: k.shares.clone(),
                extractable: k.extractable,
                label: k.label.clone(),
            })
            .collect(),
        sessions,
    })
}

/// The model's key kind for the implementation's.
pub fn model_kind(k: imp::KeyKind) -> KeyKind {
    match k {
        imp::KeyKind::Aes256 => KeyKind::Aes256,
        imp::KeyKind::HmacSha256 => KeyKind::HmacSha256,
        imp::KeyKind::Signing => KeyKind::Signing,
    }
}

/// A key handle of `hsm-impl`: its id in decimal.
pub fn handle_of(id: imp::KeyId) -> String {
    id.0.to_string()
}

/// The key a handle names; a handle `hsm-impl` never gave names no key.
fn key_of(handle: &str) -> imp::KeyId {
    imp::KeyId(handle.parse().unwrap_or(u64::MAX))
}

/// Runs `call` in session `s`: its answer in the protocol's terms. With `raw`, the `Debug` of
/// `hsm-impl`'s own answer is kept first.
pub fn call(s: &Session, call: &Call, raw: &mut Option<Vec<String>>) -> Reply {
    fn lift<T: Debug>(
        raw: &mut Option<Vec<String>>,
        r: Result<T, HsmError>,
        ok: impl FnOnce(T) -> Answer,
    ) -> Reply {
        if let Some(raw) = raw {
            raw.push(format!("{r:?}"));
        }
        match r {
            Ok(v) => Reply::Ok(ok(v)),
            Err(e) => Reply::Err(e.code().to_string()),
        }
    }
    let done = |()| Answer::Done {};
    let key = |k: imp::KeyId| Answer::Key { key: handle_of(k) };
    match call {
        Call::Login { name, password } => lift(raw, s.login(name, password.text()), |r| {
            Answer::LoggedIn { role: role_of(r) }
        }),
        Call::Logout {} => lift(raw, s.logout(), done),
        Call::GetClusterInfo {} => lift(raw, s.cluster_info(), |i| Answer::ClusterInfo {
            activated: i.activated,
            hsms: i
                .hsms
                .iter()
                .map(|h| HsmInfo {
                    index: h.index as u64,
                    blank: h.blank,
                })
                .collect(),
            cluster_id: Some(i.cluster_id.to_string()),
        }),
        Call::ListUsers {} => lift(raw, s.list_users(), |us| Answer::Users {
            users: us
                .iter()
                .map(|u| UserLine {
                    name: u.name.clone(),
                    role: role_of(u.role),
                    locked: u.locked,
                })
                .collect(),
        }),
        Call::Zeroize {} => lift(raw, s.zeroize(), done),
        Call::ChangeOwnPassword { password } => {
            lift(raw, s.change_own_password(password.text()), done)
        }
        Call::ChangePassword { name, password } => {
            lift(raw, s.change_password(name, password.text()), done)
        }
        Call::CreateUser {
            name,
            role,
            password,
        } => lift(
            raw,
            s.create_user(name, impl_role(*role), password.text()),
            done,
        ),
        Call::DeleteUser { name } => lift(raw, s.delete_user(name), done),
        Call::GetSyncStatus {} => lift(raw, s.sync_status(), |d| Answer::SyncStatus {
            digests: d.iter().map(|x| Bytes(x.to_vec())).collect(),
        }),
        Call::ExtractMasked { key: k } => lift(raw, s.extract_masked(key_of(k)), |b| {
            Answer::Masked { object: Bytes(b) }
        }),
        Call::InsertMasked { object } => lift(raw, s.insert_masked(&object.0), key),
        Call::Clone { from } => lift(raw, s.clone_from(*from as usize), done),
        Call::GenerateKey { kind, extractable } => {
            lift(raw, s.generate_key(impl_kind(*kind), *extractable), key)
        }
        Call::DeleteKey { key: k } => lift(raw, s.delete_key(key_of(k)), done),
        Call::ShareKey { key: k, name } => lift(raw, s.share_key(key_of(k), name), done),
        Call::UnshareKey { key: k, name } => lift(raw, s.unshare_key(key_of(k), name), done),
        Call::SetAttribute { key: k, label } => lift(raw, s.set_label(key_of(k), label), done),
        Call::WrapKey { key: k, wrapping } => {
            lift(raw, s.wrap_key(key_of(k), key_of(wrapping)), |b| {
                Answer::Wrapped { wrapped: Bytes(b) }
            })
        }
        Call::UnwrapKey { wrapped, wrapping } => {
            lift(raw, s.unwrap_key(&wrapped.0, key_of(wrapping)), key)
        }
        Call::Encrypt { key: k, data } => {
            lift(raw, s.encrypt(key_of(k), &data.0), |b| Answer::Ciphertext {
                ciphertext: Bytes(b),
            })
        }
        Call::Decrypt { key: k, ciphertext } => {
            lift(raw, s.decrypt(key_of(k), &ciphertext.0), |b| {
                Answer::Plaintext {
                    plaintext: Bytes(b),
                }
            })
        }
        Call::Sign { key: k, data } => {
            lift(raw, s.sign(key_of(k), &data.0), |b| Answer::Signature {
                signature: Bytes(b),
            })
        }
        Call::Verify {
            key: k,
            data,
            signature,
        } => lift(raw, s.verify(key_of(k), &data.0, &signature.0), |valid| {
            Answer::Verified { valid }
        }),
        Call::Hmac { key: k, data } => lift(raw, s.hmac(key_of(k), &data.0), |t| Answer::Tag {
            tag: Bytes(t.to_vec()),
        }),
        Call::Digest { data } => lift(raw, s.digest(&data.0), |d| Answer::Digest {
            digest: Bytes(d.to_vec()),
        }),
    }
}

/// Runs the protocol's server side for `hsm-impl` until `reader` ends: each request line is
/// answered by one line on `writer` (flushed). Clusters are made by `server`'s constructor (so
/// a fault-zoo server serves a faulty implementation), with the policy the runner asks for and
/// the cheap password-hash cost of the in-process adapter. A line that is not a request of
/// the protocol is refused, saying why.
///
/// Protocol version 2's `concurrent` capability: a step of cluster 0 is answered on its
/// client's own thread, so requests of different clients are in flight in `hsm-impl` at once
/// and answered in the order they finish (matched by id); one client's steps run in the order
/// they were sent. Every other request (hello, reset, observe, a step of cluster 1) waits
/// until no step is in flight, then runs alone: a runner that sends one request at a time sees
/// exactly the sequential server.
pub fn serve<R: BufRead, W: Write + Send>(
    reader: R,
    writer: W,
    server: &mut Server,
) -> io::Result<()> {
    server.concurrent = true;
    let server = RwLock::new(server);
    let out = Mutex::new(Answers {
        writer,
        error: None,
    });
    let in_flight = InFlight::default();
    std::thread::scope(|scope| {
        let mut workers: Vec<Option<mpsc::Sender<Job>>> = Vec::new();
        for line in reader.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            if let Some(e) = out.lock().ok().and_then(|mut o| o.error.take()) {
                return Err(e);
            }
            let (id, observe, request) = match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(v @ serde_json::Value::Object(_)) => {
                    let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
                    let observe = v.get("observe") == Some(&serde_json::Value::Bool(true));
                    let req = serde_json::from_value::<Request>(v)
                        .map_err(|e| Reply::Refused(format!("malformed request: {e}")));
                    (id, observe, req)
                }
                _ => (
                    serde_json::Value::Null,
                    false,
                    Err(Reply::Refused(format!(
                        "not a JSON object: {}",
                        super::clip(&line)
                    ))),
                ),
            };
            match request {
                // A step of cluster 0: on its client's thread (a client past any cluster's
                // clients is refused on the main thread, as every unknown session is).
                Ok(Request::Step(step)) if step.cluster == 0 && step.client < CLIENT_THREADS => {
                    let client = step.client as usize;
                    if workers.len() <= client {
                        workers.resize_with(client + 1, || None);
                    }
                    let worker = workers[client].get_or_insert_with(|| {
                        let (tx, rx) = mpsc::channel::<Job>();
                        let (server, out, in_flight) = (&server, &out, &in_flight);
                        scope.spawn(move || {
                            for job in rx {
                                let (reply, observed) = match server.read() {
                                    Ok(s) => {
                                        let reply = s.answer_step(&job.step);
                                        let observed =
                                            job.observe.then(|| s.observe_all(0).ok()).flatten();
                                        (reply, observed)
                                    }
                                    Err(_) => (Reply::Refused("the server broke".into()), None),
                                };
                                write_answer(out, job.id, reply, observed);
                                in_flight.done();
                            }
                        });
                        tx
                    });
                    in_flight.start();
                    let job = Job { id, observe, step };
                    if worker.send(job).is_err() {
                        in_flight.done();
                    }
                }
                // Anything else: alone, once every step in flight is answered.
                other => {
                    in_flight.wait_idle();
                    let (reply, observed) = match other {
                        Err(refusal) => (refusal, None),
                        Ok(req) => match server.write() {
                            Ok(mut s) => {
                                let reply = s.answer(&req);
                                // Version 2: the step's answer carries every HSM of its cluster
                                // (left out when they cannot be inspected: the runner says so).
                                let observed = match (observe, &req) {
                                    (true, Request::Step(step)) => s.observe_all(step.cluster).ok(),
                                    _ => None,
                                };
                                (reply, observed)
                            }
                            Err(_) => (Reply::Refused("the server broke".into()), None),
                        },
                    };
                    write_answer(&out, id, reply, observed);
                }
            }
        }
        drop(workers);
        in_flight.wait_idle();
        match out.lock().ok().and_then(|mut o| o.error.take()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}

/// Most client threads [`serve`] starts: more than any configuration's clients.
const CLIENT_THREADS: u64 = 64;

/// A step waiting for its client's thread.
struct Job {
    id: serde_json::Value,
    observe: bool,
    step: Step,
}

/// Where answers go: the writer, and the first error writing to it.
struct Answers<W> {
    writer: W,
    error: Option<io::Error>,
}

/// Writes one answer line (with its id, and the observation a v2 step asked for).
fn write_answer<W: Write>(
    out: &Mutex<Answers<W>>,
    id: serde_json::Value,
    reply: Reply,
    observed: Option<Vec<Observation>>,
) {
    let mut answer = reply.to_value();
    if let serde_json::Value::Object(m) = &mut answer {
        m.insert("id".into(), id);
        if let Some(o) = observed {
            m.insert("observed".into(), serde_json::json!(o));
        }
    }
    let mut line = answer.to_string();
    line.push('\n');
    if let Ok(mut o) = out.lock() {
        if o.error.is_none() {
            let written = o
                .writer
                .write_all(line.as_bytes())
                .and_then(|_| o.writer.flush());
            if let Err(e) = written {
                o.error = Some(e);
            }
        }
    }
}

/// Steps handed to client threads and not yet answered.
#[derive(Default)]
struct InFlight {
    count: Mutex<usize>,
    idle: Condvar,
}

impl InFlight {
    fn start(&self) {
        if let Ok(mut n) = self.count.lock() {
            *n += 1;
        }
    }
    fn done(&self) {
        if let Ok(mut n) = self.count.lock() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.idle.notify_all();
            }
        }
    }
    fn wait_idle(&self) {
        let Ok(mut n) = self.count.lock() else { return };
        while *n > 0 {
            match self.idle.wait(n) {
                Ok(g) => n = g,
                Err(_) => return,
            }
        }
    }
}
