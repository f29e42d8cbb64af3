//! Concurrent campaigns: many sessions at once against one cluster, judged by
//! linearizability against the model ([`linearize`]).
//!
//! A history is made in three parts:
//!
//! 1. **A sequential prefix**, generated and run in lockstep like a random campaign's trace
//!    (every step compared, every state checked), so that the cluster has users, keys and
//!    sessions to race over. A divergence here is an ordinary failure.
//! 2. **A plan per thread**: each thread is one client (its sessions on every HSM); the plans
//!    are generated round-robin from the model's state after the prefix, so that each makes
//!    sense in at least one interleaving.
//! 3. **The concurrent run**: every thread runs its plan at once (after a barrier), recording
//!    each operation's invocation and answer with a shared clock. A thread skips a planned
//!    step that names a key or object it has no handle or bytes for (another thread's, not
//!    yet seen). At the end every HSM is observed.
//!
//! The history is then judged on what was recorded, never by running it again (a race need
//! not come back): [`linearize::judge`]. A history no order explains is shrunk on the record
//! ([`shrink`]) and saved as a history file that `hsmspec replay` reads.

pub mod linearize;

use crate::abstraction::{Abstraction, Bindings};
use crate::adapter::ImplFactory;
use crate::error::Error;
use crate::generate::{case_seed, Generator, Rng};
use crate::process::{reset_answer, ProcessFactory, ResetAnswer, SharedClient, SharedTransport};
use crate::protocol::serve::observe;
use crate::protocol::{Observation, Reply, Request, Step, CONCURRENT};
use crate::sut::{ProtocolSut, SutFactory, SystemUnderTest, Transport};
use hsm_model::trace::TraceStep;
use hsm_model::{Action, Config, LargeState, Op as ModelOp, Operation};
use linearize::{judge, Blocked, Judgement, Op};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Barrier};
use std::time::Instant;

/// The history file's format name.
pub const FORMAT: &str = "hsmspec-history";
/// The history file's version.
pub const VERSION: u32 = 1;

/// How the search is bounded per history (nodes of [`linearize::judge`]).
pub const SEARCH_BUDGET: usize = 200_000;

/// A concurrent campaign's options.
#[derive(Clone, Debug)]
pub struct ConcurrentOptions {
    /// Histories to run.
    pub histories: u64,
    /// Threads (clients) per history.
    pub threads: usize,
    /// Steps of the sequential prefix.
    pub prefix: usize,
    /// Planned operations per thread.
    pub ops_per_thread: usize,
    /// The campaign's seed; history `i` has its own derived seed.
    pub seed: u64,
}

impl Default for ConcurrentOptions {
    /// 200 histories of 3 threads, a prefix of 30 steps, 16 planned operations per thread
    /// (long enough plans that every race fault of the zoo is caught within a few hundred
    /// histories; see `conformance/tests/concurrent.rs`).
    fn default() -> Self {
        ConcurrentOptions {
            histories: 200,
            threads: 3,
            prefix: 30,
            ops_per_thread: 16,
            seed: 1,
        }
    }
}

/// One recorded operation, as a history file holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedOp {
    /// The thread.
    pub thread: usize,
    /// The request, as sent.
    pub request: Step,
    /// The reply, as received (`{"ok": …}`, `{"err": …}` or `{"refused": …}`).
    pub reply: serde_json::Value,
    /// Invocation, microseconds since the concurrent run began.
    pub invoked_us: u64,
    /// Answer, microseconds since the concurrent run began.
    pub answered_us: u64,
}

/// A concurrent history: what ran and what was seen, enough to judge it again and to run it
/// again (`replay --rerun`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct History {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// What the history is.
    pub name: String,
    /// The configuration (its setup runs first).
    pub config: Config,
    /// The sequential prefix after the setup.
    pub prefix: Vec<Action>,
    /// What the abstraction had learnt when the concurrent run began (handles, bytes): the
    /// judge starts from it.
    pub bindings: Bindings,
    /// Each thread's plan, with the outcome the model gives each step in the round-robin
    /// order the plans were made in (a thread binds the handles and bytes it gets to the ids
    /// its plan expected, for its own later requests).
    pub plans: Vec<Vec<TraceStep>>,
    /// The operations run concurrently, in the order they were invoked.
    pub ops: Vec<RecordedOp>,
    /// Every HSM as observed after the concurrent run.
    pub observations: Vec<Observation>,
}

/// Why a history failed, for people.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The longest order of operations the search could explain (indices into the ops).
    pub placed: Vec<usize>,
    /// What stops each operation that could come after it.
    pub blocked: Vec<(usize, String)>,
}

/// A history that failed, shrunk on the record.
#[derive(Clone, Debug)]
pub struct HistoryFailure {
    /// The history number in the campaign.
    pub case: u64,
    /// The saved (shrunk) history.
    pub history: History,
    /// Operations before shrinking.
    pub original_ops: usize,
    /// Why no order explains it.
    pub why: Explanation,
}

/// What a concurrent campaign did.
#[derive(Clone, Debug, Default)]
pub struct ConcurrentResult {
    /// Histories asked for.
    pub asked: u64,
    /// Histories run and judged.
    pub histories: u64,
    /// Operations run concurrently, over all histories.
    pub ops: u64,
    /// Of those, the operations whose interval overlapped an operation of another thread (the
    /// run was concurrent, not one thread after another).
    pub overlapping_ops: u64,
    /// Wall-clock seconds (running and judging).
    pub seconds: f64,
    /// Seconds spent judging.
    pub judge_seconds: f64,
    /// Histories the search could not decide (each with why).
    pub undecided: Vec<(u64, String)>,
    /// Histories no order explains (the campaign stops at the first).
    pub failures: Vec<HistoryFailure>,
    /// A failure that is no question of order, with its history number: the sequential prefix
    /// diverged (lockstep), or the concurrent run hung.
    pub run_failure: Option<(u64, String)>,
}

/// The configuration of concurrent campaigns: the runner's, with `threads` clients.
pub fn concurrent_config(threads: usize) -> Config {
    let mut c = crate::generate::runner_config();
    c.name = format!("concurrent-{threads}");
    c.clients = threads as u8;
    c
}

/// Plans for `threads` threads of `steps` each, generated round-robin from `state`.
fn plans(
    gen: &Generator,
    state: &LargeState,
    threads: usize,
    steps: usize,
    rng: &mut Rng,
) -> Vec<Vec<TraceStep>> {
    let cfg = gen.config();
    let mut s = *state;
    let mut out = vec![Vec::new(); threads];
    for _ in 0..steps {
        for (t, plan) in out.iter_mut().enumerate() {
            let a = gen.next_action_of(&s, t as u8, rng);
            // Another cluster's masked object is made through a second cluster, one request
            // at a time: not in a concurrent run.
            if matches!(
                a.op,
                ModelOp::InsertMasked {
                    object: hsm_model::state::MaskedObject::Foreign
                }
            ) {
                continue;
            }
            let (outcome, next) = cfg.step(&s, &a);
            s = next;
            plan.push(TraceStep {
                action: a,
                outcome: Some(outcome),
            });
        }
    }
    out
}

/// A cluster as the concurrent run drives it: many threads' steps at once, then every HSM
/// observed. `Err` is a system that broke (a process that crashed, hung or broke the protocol):
/// a failure of the run, not a question of order.
pub trait ConcurrentSystem: Send + Sync {
    /// Runs one step of cluster 0 and answers its reply, while other threads do the same.
    fn step(&self, step: &Step) -> Result<Reply, String>;
    /// HSM `hsm` of cluster 0 as it shows without logging in.
    fn observe(&self, hsm: usize) -> Result<Observation, String>;
}

/// What a concurrent campaign runs against: it makes a fresh cluster of a configuration, runs
/// the setup and the sequential prefix on it in lockstep, and hands it over for the
/// concurrent run. `hsm-impl` in process ([`ImplFactory`]) is one; an implementation behind
/// the process protocol that declares the `concurrent` capability ([`ProcessConcurrent`]) is
/// the other.
pub trait ConcurrentTarget: Sync {
    /// A fresh cluster of `cfg` after its setup and `prefix`: the system, the model's state
    /// and the abstraction's bindings there. `Ok(Err(message))`: the prefix diverged, or the
    /// system broke.
    fn start(&self, cfg: &Config, prefix: &[Action]) -> Result<Result<Started, String>, Error>;
    /// A one-line description for reports.
    fn describe(&self) -> String;
}

/// A cluster ready for the concurrent run.
pub struct Started {
    /// The system.
    pub system: Arc<dyn ConcurrentSystem>,
    /// The model's state after the setup and the prefix.
    pub state: LargeState,
    /// The abstraction's bindings there.
    pub abstraction: Abstraction,
}

impl ConcurrentSystem for crate::protocol::Server {
    fn step(&self, step: &Step) -> Result<Reply, String> {
        Ok(self.answer_step(step))
    }
    fn observe(&self, hsm: usize) -> Result<Observation, String> {
        let served = self
            .cluster(0)
            .ok_or_else(|| "no cluster after reset".to_string())?;
        observe(served, hsm)
    }
}

impl ConcurrentTarget for ImplFactory {
    fn start(&self, cfg: &Config, prefix: &[Action]) -> Result<Result<Started, String>, Error> {
        let mut server = self.server();
        if let Reply::Refused(m) = server.answer(&Request::reset(cfg)) {
            return Err(Error::Broken(m));
        }
        let mut sut = ProtocolSut::new(cfg, server);
        Ok(run_prefix(cfg, &mut sut, prefix).map(|state| Started {
            system: Arc::new(sut.transport),
            state,
            abstraction: sut.abstraction,
        }))
    }
    fn describe(&self) -> String {
        SutFactory::describe(self)
    }
}

/// An implementation behind the process protocol, for concurrent campaigns: one connection
/// (one process) for the whole campaign, shared by the threads of each concurrent run
/// (protocol version 2's `concurrent` capability: requests of different clients in flight at
/// once, answered out of order, matched by id). A connection that broke is dropped and the
/// next history starts a new process.
pub struct ProcessConcurrent {
    factory: ProcessFactory,
    conn: std::sync::Mutex<Option<Arc<SharedClient>>>,
}

impl ProcessConcurrent {
    /// Concurrent runs against `factory`'s implementation.
    pub fn new(factory: ProcessFactory) -> ProcessConcurrent {
        ProcessConcurrent {
            factory,
            conn: std::sync::Mutex::new(None),
        }
    }

    /// The campaign's connection: the one kept, unless it broke; else a new one, after a
    /// `hello` that must declare the `concurrent` capability ([`Error::Usage`] when it does
    /// not, [`Error::Refused`] when it refuses).
    pub fn connection(&self, cfg: &Config) -> Result<Arc<SharedClient>, Error> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| Error::Broken("the connection's lock broke".into()))?;
        if let Some(c) = conn.as_ref().filter(|c| c.broken_because().is_none()) {
            return Ok(c.clone());
        }
        let (client, hello) = self.factory.connect(cfg)?;
        if hello.version < 2 || !hello.capabilities.iter().any(|c| c == CONCURRENT) {
            return Err(Error::Usage(format!(
                "{} does not declare the `concurrent` capability in hello (protocol version 2: requests of different clients in flight at once), so a concurrent campaign cannot drive it; it answered protocol version {}{}",
                self.factory.describe(),
                hello.version,
                if hello.capabilities.is_empty() {
                    " with no capabilities".to_string()
                } else {
                    format!(" with the capabilities {}", hello.capabilities.join(", "))
                }
            )));
        }
        let shared = Arc::new(client.share());
        *conn = Some(shared.clone());
        Ok(shared)
    }
}

impl ConcurrentTarget for ProcessConcurrent {
    fn start(&self, cfg: &Config, prefix: &[Action]) -> Result<Result<Started, String>, Error> {
        let client = self.connection(cfg)?;
        let mut transport = SharedTransport::new(client.clone());
        match reset_answer(cfg, transport.call(&Request::reset(cfg)))? {
            ResetAnswer::Ready => {}
            ResetAnswer::Wrong(m) | ResetAnswer::Broken(m) => return Ok(Err(m)),
        }
        let mut sut = ProtocolSut::new(cfg, transport);
        Ok(run_prefix(cfg, &mut sut, prefix).map(|state| Started {
            system: client,
            state,
            abstraction: sut.abstraction,
        }))
    }
    fn describe(&self) -> String {
        self.factory.describe()
    }
}

impl ConcurrentSystem for SharedClient {
    fn step(&self, step: &Step) -> Result<Reply, String> {
        self.call(&Request::Step(step.clone()), false)
            .map(|(reply, _)| reply)
            .map_err(|e| e.to_string())
    }
    fn observe(&self, hsm: usize) -> Result<Observation, String> {
        let request = Request::Observe {
            cluster: 0,
            hsm: hsm as u64,
        };
        match self.call(&request, false) {
            Ok((Reply::Ok(crate::protocol::Answer::Observed(o)), _)) => Ok(o),
            Ok((other, _)) => Err(format!("observe HSM {hsm} was answered {}", other.text())),
            Err(e) => Err(format!("observe HSM {hsm}: {e}")),
        }
    }
}

/// Runs the setup and `prefix` on `sut` in lockstep with the model (every step compared, every
/// state checked): the model's state after them, or the divergence described.
fn run_prefix<T: Transport>(
    cfg: &Config,
    sut: &mut ProtocolSut<T>,
    prefix: &[Action],
) -> Result<LargeState, String> {
    let mut state = LargeState::new_cluster();
    for (i, a) in cfg.setup.iter().chain(prefix).enumerate() {
        let (expected, next) = cfg.step(&state, a);
        let step = i + 1;
        match sut.step(a, &state, &expected) {
            Ok(got) if got == expected => {}
            Ok(got) => {
                return Err(format!(
                    "the sequential prefix diverged at step {step}: model {}, implementation {}",
                    hsm_model::story::outcome_text(cfg, &expected),
                    hsm_model::story::outcome_text(cfg, &got)
                ))
            }
            Err(e) => {
                return Err(format!(
                    "the sequential prefix diverged at step {step}: {e}"
                ))
            }
        }
        if let Err(e) = sut.check_state(&next) {
            return Err(format!(
                "the sequential prefix diverged at step {step}: state after the step: {e}"
            ));
        }
        state = next;
    }
    Ok(state)
}

/// How long a concurrent run may take before the system counts as hung (a deadlock): a run
/// takes ~20 ms here.
pub const RUN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs every thread's plan at once on cluster 0 of `system`; the operations in invocation
/// order, or, when the threads have not all finished within [`RUN_DEADLINE`] or the system
/// broke, what went wrong. (A thread blocked inside the system cannot be stopped: it is left
/// behind, and the process ends it.)
fn run_concurrently(
    system: Arc<dyn ConcurrentSystem>,
    abs: &Abstraction,
    plans: &[Vec<TraceStep>],
) -> Result<Vec<RecordedOp>, String> {
    let barrier = Arc::new(Barrier::new(plans.len()));
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    for (t, plan) in plans.iter().enumerate() {
        let barrier = barrier.clone();
        let system = system.clone();
        let mut local = abs.clone();
        let plan = plan.clone();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            barrier.wait();
            for step in &plan {
                let a = &step.action;
                if !local.can_send(a) {
                    continue;
                }
                let Request::Step(request) = local.request_of(a) else {
                    continue;
                };
                let invoked = start.elapsed().as_micros() as u64;
                let reply = match system.step(&request) {
                    Ok(r) => r,
                    Err(broke) => {
                        let _ = tx.send(Err(format!(
                            "the system broke during the concurrent run (thread {t}, {}): {broke}",
                            request.call.name()
                        )));
                        return;
                    }
                };
                let answered = start.elapsed().as_micros() as u64;
                // The thread's own bindings, for its later requests: the handle or bytes it was
                // answered stand for what its plan expected. (Only for sending: the judge binds
                // anew in each order it tries.)
                if let Some(planned) = &step.outcome {
                    let _ = local.outcome_of(a, reply.clone(), planned);
                }
                out.push(RecordedOp {
                    thread: t,
                    request,
                    reply: reply.to_value(),
                    invoked_us: invoked,
                    answered_us: answered,
                });
            }
            let _ = tx.send(Ok(out));
        });
    }
    drop(tx);
    let deadline = Instant::now() + RUN_DEADLINE;
    let mut all = Vec::new();
    for done in 0..plans.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(ops)) => all.extend(ops),
            Ok(Err(broke)) => return Err(broke),
            Err(_) => {
                return Err(format!(
                    "the concurrent run did not finish within {} s: {} of {} threads still inside the system (a deadlock?)",
                    RUN_DEADLINE.as_secs(),
                    plans.len() - done,
                    plans.len()
                ))
            }
        }
    }
    all.sort_by_key(|o: &RecordedOp| (o.invoked_us, o.thread));
    Ok(all)
}

/// Judges a history against the model from the state after its prefix.
pub fn judge_history(h: &History, start: &HistoryStart) -> Judgement {
    let ops = match ops_of(h) {
        Ok(ops) => ops,
        Err(e) => return Judgement::Undecided(e),
    };
    judge(
        &h.config,
        &start.state,
        &start.abstraction,
        &ops,
        &h.observations,
        SEARCH_BUDGET,
    )
}

/// The model's state and the abstraction's bindings where a history's concurrent run began.
pub struct HistoryStart {
    /// The model's state after the setup and the prefix.
    pub state: LargeState,
    /// The bindings after them.
    pub abstraction: Abstraction,
}

/// The operations of a history, decoded.
pub fn ops_of(h: &History) -> Result<Vec<Op>, String> {
    h.ops
        .iter()
        .map(|o| {
            let request = Request::Step(o.request.clone());
            Ok(Op {
                thread: o.thread,
                request: o.request.clone(),
                reply: Reply::from_value(&request, o.reply.clone())?,
                invoked: o.invoked_us,
                answered: o.answered_us,
            })
        })
        .collect()
}

/// Whether an operation can be left out of a history without making a linearizable history
/// look otherwise: by the spec it changes nothing in any order (an error other than a failed
/// Login's, or an Ok of an operation that only reads).
fn removable(op: &Op) -> bool {
    match &op.reply {
        Reply::Err(code) => !(op.request.call.name() == "Login" && code == "BadCredentials"),
        Reply::Refused(_) | Reply::Unsupported(_) => false,
        Reply::Ok(_) => matches!(
            op.request.call.name(),
            "GetClusterInfo"
                | "ListUsers"
                | "GetSyncStatus"
                | "Verify"
                | "Hmac"
                | "Digest"
                | "Decrypt"
        ),
    }
}

/// Shrinks a history that is not linearizable on its record: removes, one at a time, the
/// operations that change nothing by the spec, as long as what is left is still not
/// linearizable. Sound: if the whole history had a linearization, leaving out operations that
/// change nothing in it would leave one too; so what remains is still a witness.
pub fn shrink(h: &History, start: &HistoryStart) -> (History, Judgement) {
    let mut cur = h.clone();
    let mut verdict = judge_history(&cur, start);
    let mut i = cur.ops.len();
    while i > 0 {
        i -= 1;
        let Ok(ops) = ops_of(&cur) else { break };
        if !removable(&ops[i]) {
            continue;
        }
        let mut smaller = cur.clone();
        smaller.ops.remove(i);
        let v = judge_history(&smaller, start);
        if matches!(v, Judgement::NotLinearizable { .. }) {
            cur = smaller;
            verdict = v;
        }
    }
    (cur, verdict)
}

fn explanation(j: &Judgement) -> Explanation {
    match j {
        Judgement::NotLinearizable { placed, blocked } => Explanation {
            placed: placed.clone(),
            blocked: blocked
                .iter()
                .map(|Blocked { op, reason }| (*op, reason.clone()))
                .collect(),
        },
        _ => Explanation {
            placed: vec![],
            blocked: vec![],
        },
    }
}

/// Runs one history of the campaign: its prefix in lockstep, its plans at once, its record.
/// `Ok(Err(message))` is a divergence of the prefix, or a run that hung.
pub fn run_history(
    cfg: &Config,
    gen: &Generator,
    target: &dyn ConcurrentTarget,
    opts: &ConcurrentOptions,
    seed: u64,
    name: &str,
) -> Result<Result<(History, HistoryStart), String>, Error> {
    let mut rng = Rng::new(seed);
    let prefix: Vec<Action> = gen
        .trace("prefix", opts.prefix, &mut rng)
        .steps
        .iter()
        .skip(cfg.setup.len())
        .map(|s| s.action)
        .collect();
    run_planned(cfg, gen, target, &prefix, None, opts, &mut rng, name)
}

#[allow(clippy::too_many_arguments)]
fn run_planned(
    cfg: &Config,
    gen: &Generator,
    target: &dyn ConcurrentTarget,
    prefix: &[Action],
    given: Option<&[Vec<TraceStep>]>,
    opts: &ConcurrentOptions,
    rng: &mut Rng,
    name: &str,
) -> Result<Result<(History, HistoryStart), String>, Error> {
    let Started {
        system,
        state,
        abstraction,
    } = match target.start(cfg, prefix)? {
        Ok(x) => x,
        Err(m) => return Ok(Err(m)),
    };
    let plans = match given {
        Some(p) => p.to_vec(),
        None => plans(gen, &state, opts.threads, opts.ops_per_thread, rng),
    };
    let ops = match run_concurrently(system.clone(), &abstraction, &plans) {
        Ok(ops) => ops,
        Err(failed) => return Ok(Err(failed)),
    };
    let mut observations = Vec::new();
    for h in 0..cfg.hsms as usize {
        match system.observe(h) {
            Ok(o) => observations.push(o),
            Err(m) => {
                return Ok(Err(format!(
                    "after the concurrent run, the system could not be observed: {m}"
                )))
            }
        }
    }
    let history = History {
        format: FORMAT.into(),
        version: VERSION,
        name: name.to_string(),
        config: cfg.clone(),
        prefix: prefix.to_vec(),
        bindings: abstraction.bindings(),
        plans,
        ops,
        observations,
    };
    Ok(Ok((history, HistoryStart { state, abstraction })))
}

/// Runs a concurrent campaign of `cfg` against `target`'s clusters; stops at the first
/// history no order explains (shrunk). `tick` is called after each history.
pub fn concurrent_campaign(
    cfg: &Config,
    opts: &ConcurrentOptions,
    target: &dyn ConcurrentTarget,
    tick: &dyn Fn(u64),
) -> Result<ConcurrentResult, Error> {
    let gen = Generator::new(cfg)?;
    let start = Instant::now();
    let mut res = ConcurrentResult {
        asked: opts.histories,
        ..Default::default()
    };
    for i in 0..opts.histories {
        let seed = case_seed(opts.seed, i);
        let name = format!("concurrent history {i} (seed {seed})");
        let (history, hs) = match run_history(cfg, &gen, target, opts, seed, &name)? {
            Ok(x) => x,
            Err(m) => {
                res.run_failure = Some((i, m));
                break;
            }
        };
        res.histories += 1;
        res.ops += history.ops.len() as u64;
        res.overlapping_ops += overlapping(&history.ops) as u64;
        let judging = Instant::now();
        let verdict = judge_history(&history, &hs);
        match verdict {
            Judgement::Linearizable(_) => {}
            Judgement::Undecided(why) => res.undecided.push((i, why)),
            Judgement::NotLinearizable { .. } => {
                let original_ops = history.ops.len();
                let (shrunk, v) = shrink(&history, &hs);
                res.failures.push(HistoryFailure {
                    case: i,
                    history: shrunk,
                    original_ops,
                    why: explanation(&v),
                });
            }
        }
        res.judge_seconds += judging.elapsed().as_secs_f64();
        tick(i + 1);
        if !res.failures.is_empty() {
            break;
        }
    }
    res.seconds = start.elapsed().as_secs_f64();
    Ok(res)
}

/// Whether `a` and `b`, of different threads, were in flight at the same time.
fn overlap(a: &RecordedOp, b: &RecordedOp) -> bool {
    a.thread != b.thread && a.invoked_us < b.answered_us && b.invoked_us < a.answered_us
}

/// How many of `ops` overlap in time an operation of another thread.
pub fn overlapping(ops: &[RecordedOp]) -> usize {
    ops.iter()
        .filter(|a| ops.iter().any(|b| overlap(a, b)))
        .count()
}

/// Where `h`'s concurrent run began: the model's state after its setup and prefix (run on the
/// model), and the bindings the history recorded. No system runs: a history is judged on its
/// record.
pub fn history_start(h: &History) -> HistoryStart {
    let cfg = &h.config;
    let state = cfg
        .setup
        .iter()
        .chain(&h.prefix)
        .fold(LargeState::new_cluster(), |s, a| cfg.step(&s, a).1);
    HistoryStart {
        state,
        abstraction: Abstraction::with_bindings(cfg, h.bindings.clone()),
    }
}

/// Reads a history file: format, version, configuration, every operation decodable.
pub fn history_from_json(text: &str) -> Result<History, Error> {
    let h: History =
        serde_json::from_str(text).map_err(|e| Error::Usage(format!("not a history: {e}")))?;
    if h.format != FORMAT || h.version != VERSION {
        return Err(Error::Usage(format!(
            "format {} version {}: this build reads {FORMAT} version {VERSION}",
            h.format, h.version
        )));
    }
    h.config.validate_for::<hsm_model::state::Large>()?;
    ops_of(&h).map_err(|e| Error::Usage(format!("an operation of the history: {e}")))?;
    Ok(h)
}

/// Runs `h`'s plans again, `times` times, on fresh systems of `target`: how many of the new
/// histories no order explains (a race need not come back: this is information, not the
/// verdict).
pub fn rerun(h: &History, target: &dyn ConcurrentTarget, times: usize) -> Result<usize, Error> {
    let gen = Generator::new(&h.config)?;
    let opts = ConcurrentOptions {
        histories: 1,
        threads: h.plans.len(),
        prefix: h.prefix.len(),
        ops_per_thread: 0,
        seed: 0,
    };
    let mut failed = 0;
    for n in 0..times {
        let mut rng = Rng::new(n as u64);
        match run_planned(
            &h.config,
            &gen,
            target,
            &h.prefix,
            Some(&h.plans),
            &opts,
            &mut rng,
            &h.name,
        )? {
            Ok((again, start)) => {
                if matches!(
                    judge_history(&again, &start),
                    Judgement::NotLinearizable { .. }
                ) {
                    failed += 1;
                }
            }
            Err(_) => failed += 1,
        }
    }
    Ok(failed)
}

/// The history as a person reads it: each thread's operations with their intervals and
/// answers, then why no order explains it.
pub fn describe(h: &History, why: &Explanation) -> String {
    let mut out = String::new();
    let cfg = &h.config;
    let threads = h
        .plans
        .len()
        .max(h.ops.iter().map(|o| o.thread + 1).max().unwrap_or(0));
    for t in 0..threads {
        out.push_str(&format!("thread {t} (client {t}):\n"));
        for (i, o) in h.ops.iter().enumerate().filter(|(_, o)| o.thread == t) {
            let reply = Reply::from_value(&Request::Step(o.request.clone()), o.reply.clone())
                .map(|r| r.text())
                .unwrap_or_else(|e| e);
            out.push_str(&format!(
                "  #{i:<3} {:>7}–{:<7} µs  HSM {}: {} → {}\n",
                o.invoked_us,
                o.answered_us,
                o.request.hsm,
                call_text(cfg, &o.request),
                reply
            ));
        }
    }
    let overlaps: Vec<String> = h
        .ops
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            h.ops
                .iter()
                .enumerate()
                .skip(i + 1)
                .filter(move |(_, b)| overlap(a, b))
                .map(move |(j, _)| format!("#{i}/#{j}"))
        })
        .collect();
    out.push_str(&format!(
        "overlapping in time: {}\n",
        if overlaps.is_empty() {
            "none".to_string()
        } else {
            overlaps.join(", ")
        }
    ));
    out.push_str(&format!(
        "no order explains it: the longest order the model explains is {}; after it\n",
        if why.placed.is_empty() {
            "empty".to_string()
        } else {
            why.placed
                .iter()
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    ));
    for (op, reason) in &why.blocked {
        if *op == usize::MAX {
            out.push_str(&format!("  {reason}\n"));
        } else {
            out.push_str(&format!("  #{op} cannot come next: {reason}\n"));
        }
    }
    out
}

/// An operation in words, from the request: `Login name "alice", password (a password)`,
/// `Zeroize`.
fn call_text(_cfg: &Config, step: &Step) -> String {
    let args = serde_json::to_value(&step.call)
        .ok()
        .and_then(|v| v.get("args").cloned())
        .and_then(|a| a.as_object().cloned())
        .map(|m| {
            m.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("password", _) => format!("{k} (a password)"),
                    (
                        "data" | "object" | "wrapped" | "ciphertext" | "signature",
                        serde_json::Value::String(s),
                    ) => format!(
                        "{k} of {} bytes",
                        crate::protocol::unb64(s).map_or(0, |b| b.len())
                    ),
                    ("from", serde_json::Value::Number(n)) => format!("from HSM {n}"),
                    (_, serde_json::Value::String(s)) => format!("{k} \"{s}\""),
                    (_, other) => format!("{k} {other}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    if args.is_empty() {
        step.call.name().to_string()
    } else {
        format!("{} {args}", step.call.name())
    }
}

/// The operation families whose races the campaign looks at (every family: the plans are the
/// random generator's).
pub fn families_seen(h: &History) -> Vec<Operation> {
    let mut ops: Vec<Operation> = h
        .plans
        .iter()
        .flatten()
        .map(|s| s.action.op.operation())
        .collect();
    ops.sort();
    ops.dedup();
    ops
}
