//! The bridge: the process protocol on one side, a token and one worker process per client on
//! the other. It answers each request of the protocol by jobs of its workers ([`crate::wire`])
//! and keeps what a token has no place for: the user names (a token has an SO and a User, no
//! names), whether the cluster is activated (the PRECO is the SO before its first `C_SetPIN`),
//! the PINs (to re-open the other workers after a PIN change) and the next `CKA_ID`.
//!
//! What the bridge checks itself, because a token has no such rule, is listed in
//! `docs/real-hsms.md`; everything else is the token's answer, mapped by [`crate::errors`].

use crate::errors::{reply, Context};
use crate::wire::{Answer, Fail, Job, KeyLine, Login, Look, Out};
use hsm_conformance::protocol::{
    Answer as Ok_, Bytes, Call, HelloAnswer, HsmInfo, Observation, ObservedKey, ObservedSession,
    ObservedUser, Password, Reply, Request, ResetAnswer, Step, UserLine, VERSIONS,
};
use hsm_model::{ErrorCode, Policy, Role};
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The profile the bridge implements (`conformance/profiles/pkcs11.json` and the profiles of
/// each token that narrow it with deviations).
pub const PROFILE: &str = "pkcs11";
/// The PRECO's name in the spec's new cluster: the token's SO.
pub const SO_NAME: &str = "admin";
/// The PRECO's password in the spec's new cluster: the SO PIN of every fresh token.
pub const SO_PIN: &str = "password";
/// The label of every fresh token.
pub const LABEL: &str = "hsmspec";
/// Users as the model counts them on a token: the SO, the User, and the model's AU, which the
/// profile keeps out of every step (D53).
pub const MAX_USERS: u16 = 3;

/// How to start a worker: the program and its arguments.
#[derive(Clone, Debug)]
pub struct WorkerCommand {
    /// The program (the `hsmspec` binary).
    pub program: PathBuf,
    /// Its arguments (`serve-pkcs11 --worker --module PATH`).
    pub args: Vec<OsString>,
}

/// One worker process. Dropping it closes its input, kills it and reaps it.
struct WorkerProc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl WorkerProc {
    fn spawn(cmd: &WorkerCommand, conf: &Path) -> Result<WorkerProc, String> {
        let mut child = Command::new(&cmd.program)
            .args(&cmd.args)
            .env("SOFTHSM2_CONF", conf)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start a worker ({}): {e}", cmd.program.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        match (stdin, stdout) {
            (Some(i), Some(o)) => Ok(WorkerProc {
                child,
                stdin: Some(i),
                stdout: BufReader::new(o),
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err("a worker started without its pipes".into())
            }
        }
    }

    fn ask(&mut self, job: &Job) -> Answer {
        let broken = |e: String| Fail::Broken(format!("worker {}: {e}", self.child.id()));
        let line = serde_json::to_string(job).map_err(|e| broken(e.to_string()))?;
        let stdin = self.stdin.as_mut().ok_or_else(|| broken("closed".into()))?;
        stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.write_all(b"\n"))
            .and_then(|()| stdin.flush())
            .map_err(|e| broken(format!("cannot write to it: {e}")))?;
        let mut answer = String::new();
        match self.stdout.read_line(&mut answer) {
            Ok(0) => Err(broken("it exited".into())),
            Ok(_) => {
                serde_json::from_str(&answer).map_err(|e| broken(format!("garbage answer: {e}")))?
            }
            Err(e) => Err(broken(format!("cannot read from it: {e}"))),
        }
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One trace's token and its workers. Dropping it reaps the workers, then removes the token's
/// directory.
struct Run {
    dir: PathBuf,
    workers: Vec<WorkerProc>,
    activated: bool,
    so_pin: Password,
    /// The User's name and PIN, once the CO created it.
    user: Option<(String, Password)>,
    next_id: u64,
    /// The keys as last seen through a User session (only the User sees private objects).
    keys: Vec<KeyLine>,
    policy: Policy,
    /// Workers that were logged in when another changed a PIN: they still hold the PINs they
    /// read at `C_Initialize`, and re-open the library as soon as they are logged out (a
    /// re-login would clear the token's failure flags, which the spec does not).
    stale: Vec<bool>,
}

impl Drop for Run {
    fn drop(&mut self) {
        self.workers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The bridge.
pub struct Bridge {
    module: PathBuf,
    worker: WorkerCommand,
    run: Option<Run>,
    runs: u64,
    pin_lengths: Option<(u64, u64)>,
}

fn err(code: ErrorCode) -> Reply {
    Reply::Err(code.name().to_string())
}

fn unsupported(what: &str) -> Reply {
    Reply::Unsupported(format!("{what}: a PKCS#11 token has no such operation"))
}

const DIR_PREFIX: &str = "hsmspec-pkcs11-";

/// Removes the token directories of bridges that are no longer running (one killed with
/// SIGKILL cannot remove its own).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        // Only a bridge's own directories (`hsmspec-pkcs11-PID-N`), never another's that
        // shares the prefix.
        let mut parts = rest.split('-');
        let (Some(pid), Some(run), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let number = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if number(pid) && number(run) && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Bridge {
    /// A bridge for PKCS#11 module `module`, whose workers `worker` starts.
    pub fn new(module: &Path, worker: WorkerCommand) -> Bridge {
        remove_stale_dirs();
        Bridge {
            module: module.to_path_buf(),
            worker,
            run: None,
            runs: 0,
            pin_lengths: None,
        }
    }

    /// A fresh token in a new directory and `clients` workers with a session on it.
    fn fresh(&mut self, clients: u8, policy: Policy) -> Result<Run, String> {
        self.runs += 1;
        let dir =
            std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{}", std::process::id(), self.runs));
        let _ = std::fs::remove_dir_all(&dir);
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens)
            .map_err(|e| format!("cannot create {}: {e}", tokens.display()))?;
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        let mut run = Run {
            dir,
            workers: Vec::new(),
            activated: false,
            so_pin: Password::new(SO_PIN),
            user: None,
            next_id: 1,
            keys: Vec::new(),
            policy,
            stale: Vec::new(),
        };
        let fail = |what: &str, f: Fail| format!("{what}: {}", f.text());
        {
            let mut init = WorkerProc::spawn(&self.worker, &conf)?;
            init.ask(&Job::InitToken {
                so_pin: Password::new(SO_PIN),
                label: LABEL.into(),
            })
            .map_err(|f| fail("C_InitToken of a fresh token", f))?;
        }
        for _ in 0..clients {
            let mut w = WorkerProc::spawn(&self.worker, &conf)?;
            w.ask(&Job::Open {
                label: LABEL.into(),
            })
            .map_err(|f| fail("opening a session", f))?;
            run.workers.push(w);
            run.stale.push(false);
        }
        Ok(run)
    }

    /// The token's PIN lengths (a throwaway token at the first `hello`).
    fn pin_lengths(&mut self) -> Result<(u64, u64), String> {
        if let Some(l) = self.pin_lengths {
            return Ok(l);
        }
        let run = self.fresh(1, Policy::default())?;
        let mut run = run;
        let look = look(&mut run.workers[0], false).map_err(|f| f.text())?;
        self.pin_lengths = Some(look.pin_lengths);
        Ok(look.pin_lengths)
    }

    /// The policy the bridge runs for a runner asking `asked`: the token's PIN lengths, one
    /// SO and one User (plus the model's AU), no key limit the model can reach; the rest as
    /// asked (names are the bridge's; sharing is not in the profile; a lockout threshold the
    /// token has or has not, which the profile declares).
    fn policy(&mut self, asked: &Policy) -> Result<Policy, String> {
        let (min, max) = self.pin_lengths()?;
        Ok(Policy {
            password_min_chars: min.min(u16::MAX as u64) as u16,
            password_max_chars: max.min(u16::MAX as u64) as u16,
            max_users: MAX_USERS,
            max_keys: u16::MAX,
            ..*asked
        })
    }

    /// Answers one request; for a step asked to `observe`, also the observation of the token.
    pub fn answer(&mut self, req: &Request, observe: bool) -> (Reply, Option<Vec<Observation>>) {
        let reply = match req {
            Request::Hello {
                version,
                versions,
                policy,
                ..
            } => {
                let theirs = if versions.is_empty() {
                    std::slice::from_ref(version)
                } else {
                    versions.as_slice()
                };
                let Some(v) = VERSIONS.into_iter().rev().find(|v| theirs.contains(v)) else {
                    return (
                        Reply::Refused(format!(
                            "protocol versions {theirs:?}: the bridge speaks {VERSIONS:?}"
                        )),
                        None,
                    );
                };
                match self.policy(policy) {
                    Ok(p) => Reply::Ok(Ok_::Hello(HelloAnswer {
                        version: Some(v),
                        implementation: Some(format!(
                            "hsmspec PKCS#11 bridge over {}",
                            self.module.display()
                        )),
                        policy: Some(p),
                        capabilities: Vec::new(),
                        profile: Some(PROFILE.into()),
                    })),
                    Err(m) => Reply::Refused(m),
                }
            }
            Request::Reset {
                cluster,
                hsms,
                clients,
                policy,
                ..
            } => self.reset(*cluster, *hsms, *clients, policy),
            Request::Observe { cluster, hsm } => {
                if *cluster != 0 || *hsm != 0 {
                    Reply::Refused("the bridge has one cluster of one HSM (a token)".into())
                } else {
                    match self.observe() {
                        Ok(o) => Reply::Ok(Ok_::Observed(o)),
                        Err(m) => Reply::Refused(m),
                    }
                }
            }
            Request::Step(step) => self.step(step),
        };
        let observed = match (observe, req) {
            (true, Request::Step(_)) => self.observe().ok().map(|o| vec![o]),
            _ => None,
        };
        (reply, observed)
    }

    fn reset(&mut self, cluster: u8, hsms: u8, clients: u8, asked: &Policy) -> Reply {
        if cluster != 0 {
            return Reply::Unsupported(
                "a second cluster: a PKCS#11 token has no masked objects to take from one".into(),
            );
        }
        if hsms != 1 {
            return Reply::Refused(format!(
                "{hsms} HSMs: the bridge drives one token, one HSM (the profile's `hsms`)"
            ));
        }
        let policy = match self.policy(asked) {
            Ok(p) => p,
            Err(m) => return Reply::Refused(m),
        };
        if policy != *asked {
            return Reply::Refused(format!(
                "the token runs PINs of {}..={} characters, {} users, no key limit, not the policy asked for",
                policy.password_min_chars, policy.password_max_chars, MAX_USERS
            ));
        }
        // The old token and workers go first.
        self.run = None;
        match self.fresh(clients, policy) {
            Ok(run) => {
                self.run = Some(run);
                Reply::Ok(Ok_::Reset(ResetAnswer {
                    policy: Some(policy),
                }))
            }
            Err(m) => Reply::Refused(m),
        }
    }

    /// The token as `observe` shows it.
    fn observe(&mut self) -> Result<Observation, String> {
        let run = self
            .run
            .as_mut()
            .ok_or("no token: send reset first".to_string())?;
        let broken = |f: Fail| format!("cannot look at the token: {}", f.text());
        let mut looks = Vec::new();
        for w in run.workers.iter_mut() {
            looks.push(look(w, false).map_err(broken)?);
        }
        if let Some(i) = looks.iter().position(|l| l.login == Login::User) {
            if let Some(keys) = look(&mut run.workers[i], true).map_err(broken)?.keys {
                run.keys = keys;
            }
        }
        let first = looks.first().ok_or("a token without a client")?;
        let user_name = run.user.as_ref().map(|(n, _)| n.clone());
        let threshold = run.policy.lockout_threshold as u64;
        let failed = |f: &crate::wire::PinFlags| {
            if f.locked {
                threshold
            } else {
                f.count_low as u64
            }
        };
        let mut users = vec![ObservedUser {
            name: SO_NAME.into(),
            role: if run.activated {
                Role::CryptoOfficer
            } else {
                Role::PreCryptoOfficer
            },
            failed_logins: failed(&first.so_pin),
            locked: first.so_pin.locked,
        }];
        if first.user_pin_initialized {
            let name = user_name
                .clone()
                .ok_or("the token has a User the bridge did not create")?;
            users.push(ObservedUser {
                name,
                role: Role::CryptoUser,
                failed_logins: failed(&first.user_pin),
                locked: first.user_pin.locked,
            });
        }
        users.sort();
        let owner = user_name.clone().unwrap_or_default();
        Ok(Observation {
            activated: run.activated,
            blank: false,
            users,
            keys: run
                .keys
                .iter()
                .map(|k| ObservedKey {
                    key: k.id.clone(),
                    kind: k.kind,
                    owner: owner.clone(),
                    shares: Vec::new(),
                    extractable: k.extractable,
                    label: k.label.clone(),
                })
                .collect(),
            sessions: looks
                .iter()
                .enumerate()
                .map(|(c, l)| ObservedSession {
                    client: c as u64,
                    user: match l.login {
                        Login::Public => None,
                        Login::So => Some(SO_NAME.into()),
                        Login::User => user_name.clone(),
                    },
                })
                .collect(),
        })
    }

    fn step(&mut self, step: &Step) -> Reply {
        if step.cluster != 0 || step.hsm != 0 {
            return Reply::Refused("the bridge has one cluster of one HSM (a token)".into());
        }
        let Some(run) = self.run.as_mut() else {
            return Reply::Refused("no token: send reset first".into());
        };
        let c = step.client as usize;
        if c >= run.workers.len() {
            return Reply::Refused(format!("no client {c}"));
        }
        let me = match look(&mut run.workers[c], false) {
            Ok(l) => l,
            Err(f) => return reply(&f, Context::Other, Login::Public),
        };
        run.call(c, &me, &step.call)
    }
}

fn look(w: &mut WorkerProc, keys: bool) -> Result<Look, Fail> {
    match w.ask(&Job::Look { keys })? {
        Out::Look(l) => Ok(l),
        _ => Err(Fail::Broken(
            "a worker answered `look` with something else".into(),
        )),
    }
}

impl Run {
    fn pin_ok(&self, p: &Password) -> bool {
        self.policy.password_is_valid(p.text())
    }

    /// After a PIN change in worker `changed`: every other worker that is not logged in
    /// re-opens the library now (it would go on accepting the old PIN); one that is logged in
    /// is marked stale and re-opens once logged out ([`Run::refresh`]).
    fn reopen_others(&mut self, changed: usize) -> Result<(), Fail> {
        for i in 0..self.workers.len() {
            if i == changed {
                continue;
            }
            if look(&mut self.workers[i], false)?.login == Login::Public {
                self.reopen(i, false)?;
            } else {
                self.stale[i] = true;
            }
        }
        Ok(())
    }

    /// Worker `i` re-opens the library; with `relogin`, it logs in again as it was.
    fn reopen(&mut self, i: usize, relogin: bool) -> Result<(), Fail> {
        let login = if relogin {
            match look(&mut self.workers[i], false)?.login {
                Login::Public => None,
                Login::So => Some((true, self.so_pin.clone())),
                Login::User => self.user.as_ref().map(|(_, p)| (false, p.clone())),
            }
        } else {
            None
        };
        self.workers[i].ask(&Job::Reopen {
            label: LABEL.into(),
            login,
        })?;
        self.stale[i] = false;
        Ok(())
    }

    /// Before a step of stale worker `c` (session as `me`): re-opened if logged out.
    fn refresh(&mut self, c: usize, me: &Look) -> Result<(), Fail> {
        if self.stale[c] && me.login == Login::Public {
            return self.reopen(c, false);
        }
        Ok(())
    }

    /// `C_SetPIN` in worker `c`: a stale worker is re-opened and logged in again first (it
    /// would check the old PIN against the PINs it read at `C_Initialize`). The login clears
    /// only the failure flag of the PIN about to be changed, which the change clears too.
    fn set_pin(&mut self, c: usize, job: &Job) -> Answer {
        if self.stale[c] {
            self.reopen(c, true)?;
        }
        self.workers[c].ask(job)
    }

    fn ask(&mut self, c: usize, job: &Job) -> Answer {
        self.workers[c].ask(job)
    }

    /// Runs `call` for client `c`, whose session is as `me` says.
    fn call(&mut self, c: usize, me: &Look, call: &Call) -> Reply {
        let login = me.login;
        if let Err(f) = self.refresh(c, me) {
            return reply(&f, Context::Other, login);
        }
        let map = |f: Fail, ctx: Context| reply(&f, ctx, login);
        // The role rules a token does not have: a CO's rights are the SO's once the PRECO
        // activated the cluster; before, the SO may only change its own PIN.
        let co_only = || match login {
            Login::Public => Some(err(ErrorCode::NotLoggedIn)),
            Login::User => Some(err(ErrorCode::Forbidden)),
            Login::So => None,
        };
        let done = |a: Answer, ctx: Context| match a {
            Ok(_) => Reply::Ok(Ok_::Done {}),
            Err(f) => reply(&f, ctx, login),
        };
        match call {
            Call::Login { name, password } => {
                if login != Login::Public {
                    return err(ErrorCode::AlreadyLoggedIn);
                }
                let name = name.to_lowercase();
                let so = if name == SO_NAME {
                    true
                } else if self.user.as_ref().is_some_and(|(n, _)| *n == name) {
                    false
                } else {
                    return err(ErrorCode::BadCredentials);
                };
                match self.ask(
                    c,
                    &Job::Login {
                        so,
                        pin: password.clone(),
                    },
                ) {
                    Ok(_) => Reply::Ok(Ok_::LoggedIn {
                        role: match (so, self.activated) {
                            (false, _) => Role::CryptoUser,
                            (true, true) => Role::CryptoOfficer,
                            (true, false) => Role::PreCryptoOfficer,
                        },
                    }),
                    Err(f) => map(f, Context::Other),
                }
            }
            Call::Logout {} => match self.ask(c, &Job::Logout) {
                Ok(_) if self.stale[c] => match self.reopen(c, false) {
                    Ok(()) => Reply::Ok(Ok_::Done {}),
                    Err(f) => map(f, Context::Other),
                },
                a => done(a, Context::Other),
            },
            Call::GetClusterInfo {} => Reply::Ok(Ok_::ClusterInfo {
                activated: self.activated,
                hsms: vec![HsmInfo {
                    index: 0,
                    blank: false,
                }],
                cluster_id: None,
            }),
            Call::ListUsers {} => {
                let mut users = vec![UserLine {
                    name: SO_NAME.into(),
                    role: if self.activated {
                        Role::CryptoOfficer
                    } else {
                        Role::PreCryptoOfficer
                    },
                    locked: me.so_pin.locked,
                }];
                if let (true, Some((n, _))) = (me.user_pin_initialized, &self.user) {
                    users.push(UserLine {
                        name: n.clone(),
                        role: Role::CryptoUser,
                        locked: me.user_pin.locked,
                    });
                }
                users.sort_by(|a, b| a.name.cmp(&b.name));
                Reply::Ok(Ok_::Users { users })
            }
            Call::ChangeOwnPassword { password } => {
                let (so, old) = match login {
                    Login::Public => return err(ErrorCode::NotLoggedIn),
                    Login::So => (true, self.so_pin.clone()),
                    Login::User => match &self.user {
                        Some((_, p)) => (false, p.clone()),
                        None => return Reply::Refused("a User session without a User".into()),
                    },
                };
                let job = Job::SetPin {
                    old,
                    new: password.clone(),
                };
                match self.set_pin(c, &job) {
                    Ok(_) => {
                        if so {
                            self.so_pin = password.clone();
                            self.activated = true;
                        } else if let Some((_, p)) = self.user.as_mut() {
                            *p = password.clone();
                        }
                        match self.reopen_others(c) {
                            Ok(()) => Reply::Ok(Ok_::Done {}),
                            Err(f) => map(f, Context::Other),
                        }
                    }
                    Err(f) => map(f, Context::Other),
                }
            }
            Call::ChangePassword { name, password } => {
                if let Some(r) = co_only() {
                    return r;
                }
                if !self.activated {
                    return err(ErrorCode::Forbidden);
                }
                let name = name.to_lowercase();
                let job = if name == SO_NAME {
                    Job::SetPin {
                        old: self.so_pin.clone(),
                        new: password.clone(),
                    }
                } else if self.user.as_ref().is_some_and(|(n, _)| *n == name) {
                    if !self.pin_ok(password) {
                        return err(ErrorCode::InvalidPassword);
                    }
                    for i in 0..self.workers.len() {
                        match look(&mut self.workers[i], false) {
                            Ok(l) if l.login == Login::User => {
                                return err(ErrorCode::TargetLoggedIn)
                            }
                            Ok(_) => {}
                            Err(f) => return map(f, Context::Other),
                        }
                    }
                    Job::InitPin {
                        pin: password.clone(),
                    }
                } else if !self.pin_ok(password) {
                    return err(ErrorCode::InvalidPassword);
                } else {
                    return err(ErrorCode::NoSuchUser);
                };
                let so = matches!(job, Job::SetPin { .. });
                let answer = if so {
                    self.set_pin(c, &job)
                } else {
                    self.ask(c, &job)
                };
                match answer {
                    Ok(_) => {
                        if so {
                            self.so_pin = password.clone();
                        } else if let Some((_, p)) = self.user.as_mut() {
                            *p = password.clone();
                        }
                        match self.reopen_others(c) {
                            Ok(()) => Reply::Ok(Ok_::Done {}),
                            Err(f) => map(f, Context::Other),
                        }
                    }
                    Err(f) => map(f, Context::Other),
                }
            }
            Call::CreateUser {
                name,
                role,
                password,
            } => {
                if let Some(r) = co_only() {
                    return r;
                }
                if !self.activated {
                    return err(ErrorCode::Forbidden);
                }
                let name = name.to_lowercase();
                if !self.policy.name_is_valid(&name) {
                    return err(ErrorCode::InvalidName);
                }
                match role {
                    Role::CryptoUser => {}
                    Role::CryptoOfficer => {
                        return Reply::Unsupported(
                            "CreateUser of a CO: a PKCS#11 token has one SO".into(),
                        )
                    }
                    _ => return err(ErrorCode::InvalidRole),
                }
                if name == SO_NAME || self.user.is_some() {
                    return if !self.pin_ok(password) {
                        err(ErrorCode::InvalidPassword)
                    } else if name == SO_NAME || self.user.as_ref().is_some_and(|(n, _)| *n == name)
                    {
                        err(ErrorCode::UserExists)
                    } else {
                        err(ErrorCode::UserLimit)
                    };
                }
                match self.ask(
                    c,
                    &Job::InitPin {
                        pin: password.clone(),
                    },
                ) {
                    Ok(_) => {
                        self.user = Some((name, password.clone()));
                        match self.reopen_others(c) {
                            Ok(()) => Reply::Ok(Ok_::Done {}),
                            Err(f) => map(f, Context::Other),
                        }
                    }
                    Err(f) => map(f, Context::Other),
                }
            }
            Call::GenerateKey { kind, extractable } => {
                let id = self.next_id.to_string();
                let job = Job::Generate {
                    kind: *kind,
                    extractable: *extractable,
                    id: id.clone(),
                };
                match self.ask(c, &job) {
                    Ok(_) => {
                        self.next_id += 1;
                        Reply::Ok(Ok_::Key { key: id })
                    }
                    Err(f) => map(f, Context::Other),
                }
            }
            Call::UnwrapKey { wrapped, wrapping } => {
                let id = self.next_id.to_string();
                let job = Job::Unwrap {
                    wrapped: wrapped.clone(),
                    wrapping: wrapping.clone(),
                    id: id.clone(),
                };
                match self.ask(c, &job) {
                    Ok(_) => {
                        self.next_id += 1;
                        Reply::Ok(Ok_::Key { key: id })
                    }
                    Err(f) => map(f, Context::Unwrap),
                }
            }
            Call::DeleteKey { key } => done(
                self.ask(c, &Job::Destroy { id: key.clone() }),
                Context::Other,
            ),
            Call::SetAttribute { key, label } => done(
                self.ask(
                    c,
                    &Job::Label {
                        id: key.clone(),
                        label: label.clone(),
                    },
                ),
                Context::Other,
            ),
            Call::WrapKey { key, wrapping } => bytes(
                self.ask(
                    c,
                    &Job::Wrap {
                        id: key.clone(),
                        wrapping: wrapping.clone(),
                    },
                ),
                Context::Other,
                login,
                |b| Ok_::Wrapped { wrapped: b },
            ),
            Call::Encrypt { key, data } => bytes(
                self.ask(
                    c,
                    &Job::Encrypt {
                        id: key.clone(),
                        data: data.clone(),
                    },
                ),
                Context::Other,
                login,
                |b| Ok_::Ciphertext { ciphertext: b },
            ),
            Call::Decrypt { key, ciphertext } => bytes(
                self.ask(
                    c,
                    &Job::Decrypt {
                        id: key.clone(),
                        data: ciphertext.clone(),
                    },
                ),
                Context::Decrypt,
                login,
                |b| Ok_::Plaintext { plaintext: b },
            ),
            Call::Sign { key, data } => bytes(
                self.ask(
                    c,
                    &Job::Sign {
                        id: key.clone(),
                        data: data.clone(),
                    },
                ),
                Context::Other,
                login,
                |b| Ok_::Signature { signature: b },
            ),
            Call::Verify {
                key,
                data,
                signature,
            } => match self.ask(
                c,
                &Job::Verify {
                    id: key.clone(),
                    data: data.clone(),
                    signature: signature.clone(),
                },
            ) {
                Ok(Out::Valid(valid)) => Reply::Ok(Ok_::Verified { valid }),
                Ok(_) => Reply::Refused("a worker answered Verify with something else".into()),
                Err(f) => map(f, Context::Other),
            },
            Call::Hmac { key, data } => bytes(
                self.ask(
                    c,
                    &Job::Hmac {
                        id: key.clone(),
                        data: data.clone(),
                    },
                ),
                Context::Other,
                login,
                |b| Ok_::Tag { tag: b },
            ),
            Call::Digest { data } => {
                // C_Digest needs no login on a token; the spec's Digest is the CU's.
                match login {
                    Login::Public => return err(ErrorCode::NotLoggedIn),
                    Login::So => return err(ErrorCode::Forbidden),
                    Login::User => {}
                }
                bytes(
                    self.ask(c, &Job::Digest { data: data.clone() }),
                    Context::Other,
                    login,
                    |b| Ok_::Digest { digest: b },
                )
            }
            Call::DeleteUser { .. } => unsupported("DeleteUser"),
            Call::ShareKey { .. } => unsupported("ShareKey"),
            Call::UnshareKey { .. } => unsupported("UnshareKey"),
            Call::Zeroize {} => unsupported("Zeroize"),
            Call::Clone { .. } => unsupported("Clone"),
            Call::ExtractMasked { .. } => unsupported("ExtractMasked"),
            Call::InsertMasked { .. } => unsupported("InsertMasked"),
            Call::GetSyncStatus {} => unsupported("GetSyncStatus"),
        }
    }
}

fn bytes(a: Answer, ctx: Context, login: Login, ok: impl FnOnce(Bytes) -> Ok_) -> Reply {
    match a {
        Ok(Out::Bytes(b)) => Reply::Ok(ok(b)),
        Ok(_) => Reply::Refused("a worker answered with something else than bytes".into()),
        Err(f) => reply(&f, ctx, login),
    }
}

/// Runs the bridge on `reader` and `writer` (the protocol's JSON lines) until `reader` ends;
/// then reaps the workers and removes the token's directory.
pub fn serve<R: BufRead, W: Write>(
    reader: R,
    mut writer: W,
    bridge: &mut Bridge,
) -> io::Result<()> {
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (id, (reply, observed)) = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v @ serde_json::Value::Object(_)) => {
                let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
                let observe = v.get("observe") == Some(&serde_json::Value::Bool(true));
                match serde_json::from_value::<Request>(v) {
                    Ok(req) => (id, bridge.answer(&req, observe)),
                    Err(e) => (
                        id,
                        (Reply::Refused(format!("malformed request: {e}")), None),
                    ),
                }
            }
            _ => (
                serde_json::Value::Null,
                (
                    Reply::Refused(format!(
                        "not a JSON object: {}",
                        hsm_conformance::protocol::clip(&line)
                    )),
                    None,
                ),
            ),
        };
        let mut answer = reply.to_value();
        if let serde_json::Value::Object(m) = &mut answer {
            m.insert("id".into(), id);
            if let Some(o) = observed {
                m.insert("observed".into(), serde_json::json!(o));
            }
        }
        writer.write_all(answer.to_string().as_bytes())?;
        writer.write_all(b"\n")?;
        writer.flush()?;
    }
    bridge.run = None;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_requests_are_refused_saying_why_and_nothing_starts() {
        let mut b = Bridge::new(
            Path::new("/nonexistent/module.so"),
            WorkerCommand {
                program: "/nonexistent/hsmspec".into(),
                args: Vec::new(),
            },
        );
        let input = concat!(
            "not json\n",
            "\n",
            "{\"id\":2,\"type\":\"frobnicate\"}\n",
            "{\"id\":3,\"type\":\"step\",\"cluster\":0,\"client\":0,\"hsm\":0,\"op\":\"Logout\",\"args\":{}}\n",
            "{\"id\":4,\"type\":\"observe\",\"cluster\":0,\"hsm\":1}\n",
            "{\"id\":5,\"type\":\"reset\",\"cluster\":0,\"hsms\":2,\"clients\":2,\"au_password\":\"x\",",
            "\"policy\":{\"name_max_chars\":31,\"password_min_chars\":4,\"password_max_chars\":255,",
            "\"lockout_threshold\":2,\"max_shares\":1,\"max_users\":3,\"max_keys\":65535}}\n",
        );
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out, &mut b).expect("serves");
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines.len(),
            5,
            "one answer per request, none for the blank line"
        );
        let refused = |i: usize, says: &str| {
            let r = lines[i]["refused"].as_str().unwrap_or_default();
            assert!(r.contains(says), "answer {i}: {}", lines[i]);
        };
        refused(0, "not a JSON object");
        refused(1, "malformed request");
        refused(2, "no token: send reset first");
        refused(3, "one cluster of one HSM");
        refused(4, "2 HSMs");
        assert!(b.run.is_none());
    }
}
