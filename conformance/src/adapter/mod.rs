//! `hsm-impl` in process: its requests are answered by [`crate::protocol::Server`] called
//! directly (no JSON, no process), so the in-process system is the process one's
//! [`ProtocolSut`] over another transport, held to the model by the same abstraction function.
//! What only direct access can see is checked here besides: the cluster as made and the AU
//! password's limits at creation ([`creation_probe`]), and the audit log ([`audit`]).
//!
//! This module also holds the maps between the model's vocabulary and `hsm-impl`'s, which are
//! written twice on purpose (`hsm-impl` does not depend on the model): policy, roles, key kinds.

pub mod audit;

use crate::error::Error;
use crate::protocol::{Reply, Request, Server};
use crate::sut::{ProtocolSut, SutFactory, SystemUnderTest, Transport};
use hsm_impl as imp;
use hsm_impl::{Cluster, HsmError, Session};
use hsm_model::{Action, Config, KeyKind, LargeState, Outcome, Role};
use std::collections::HashMap;
use std::sync::Arc;

/// Makes a cluster: `(hsm count, AU password, policy)`. The runner uses `Cluster::new`; the
/// fault-zoo tests pass `Cluster::new_with_fault`.
pub type Constructor =
    Arc<dyn Fn(usize, &str, imp::Policy) -> Result<Cluster, HsmError> + Send + Sync>;

/// The implementation's policy for the model's: field by field, with the cheap test cost.
pub fn impl_policy(p: &hsm_model::Policy) -> imp::Policy {
    imp::Policy {
        name_max_chars: p.name_max_chars as usize,
        password_min_chars: p.password_min_chars as usize,
        password_max_chars: p.password_max_chars as usize,
        lockout_threshold: p.lockout_threshold as u32,
        max_shares: p.max_shares as usize,
        max_users: p.max_users as usize,
        max_keys: p.max_keys as usize,
        // The cheap cost of hsm-impl's own test policy.
        password_cost: imp::Policy::for_tests().password_cost,
    }
}

/// The implementation's policy in words, as `hsm_model::story::policy_text` says the model's
/// (with the password hashes' work factor when it is not the cheap one of tests).
pub fn impl_policy_text(p: &imp::Policy) -> String {
    let mut text = format!(
        "names of 1 to {} characters, passwords of {} to {}; locked after {} failed logins; at \
         most {} users and {} keys per HSM, {} share(s) per key",
        p.name_max_chars,
        p.password_min_chars,
        p.password_max_chars,
        p.lockout_threshold,
        p.max_users,
        p.max_keys,
        p.max_shares
    );
    if p.password_cost != imp::Policy::for_tests().password_cost {
        text.push_str("; password hashes at another work factor than the tests' cheap one");
    }
    text
}

/// The model's role for the implementation's.
pub fn role_of(r: imp::Role) -> Role {
    match r {
        imp::Role::PreCryptoOfficer => Role::PreCryptoOfficer,
        imp::Role::CryptoOfficer => Role::CryptoOfficer,
        imp::Role::CryptoUser => Role::CryptoUser,
        imp::Role::ApplianceUser => Role::ApplianceUser,
    }
}

/// The implementation's role for the model's.
pub fn impl_role(r: Role) -> imp::Role {
    match r {
        Role::PreCryptoOfficer => imp::Role::PreCryptoOfficer,
        Role::CryptoOfficer => imp::Role::CryptoOfficer,
        Role::CryptoUser => imp::Role::CryptoUser,
        Role::ApplianceUser => imp::Role::ApplianceUser,
    }
}

/// The implementation's key kind for the model's.
pub fn impl_kind(k: KeyKind) -> imp::KeyKind {
    match k {
        KeyKind::Aes256 => imp::KeyKind::Aes256,
        KeyKind::HmacSha256 => imp::KeyKind::HmacSha256,
        KeyKind::Signing => imp::KeyKind::Signing,
    }
}

/// The adapter's factory: fresh `hsm-impl` clusters.
#[derive(Clone)]
pub struct ImplFactory {
    make: Constructor,
    label: String,
    /// The cluster-creation probes ([`creation_probe`]), made once per policy and AU password
    /// (they make several clusters; a campaign makes one per trace).
    probed: Arc<std::sync::Mutex<HashMap<String, Option<String>>>>,
}

impl ImplFactory {
    /// Clusters made by `Cluster::new`: the implementation as shipped.
    pub fn correct() -> ImplFactory {
        ImplFactory::with_constructor(
            &format!("hsm-impl {}", env!("CARGO_PKG_VERSION")),
            Arc::new(Cluster::new),
        )
    }

    /// Clusters made by `make` (the fault-zoo tests pass `Cluster::new_with_fault`).
    pub fn with_constructor(label: &str, make: Constructor) -> ImplFactory {
        ImplFactory {
            make,
            label: label.to_string(),
            probed: Default::default(),
        }
    }

    /// The constructor of this factory's clusters.
    pub fn constructor(&self) -> Constructor {
        self.make.clone()
    }

    /// A protocol server for this factory's clusters (what `hsmspec serve-impl` runs).
    pub fn server(&self) -> Server {
        Server::new(&self.label, self.make.clone())
    }
}

impl SutFactory for ImplFactory {
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, Error> {
        let key = format!("{:?} {:?}", cfg.policy, cfg.au_password);
        let probe = self
            .probed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert_with(|| creation_probe(cfg, &self.make).err())
            .clone();
        Ok(Box::new(ImplSut::with_probe(cfg, self.server(), probe)?))
    }
    fn describe(&self) -> String {
        self.label.clone()
    }
}

/// The in-process transport: the protocol server called directly.
impl Transport for Server {
    fn call(&mut self, request: &Request) -> Result<Reply, Error> {
        Ok(self.answer(request))
    }
}

/// One `hsm-impl` cluster behind the in-process transport, with what only direct access shows
/// checked too (the cluster as made, the audit log).
pub struct ImplSut {
    inner: ProtocolSut<Server>,
    /// Per HSM, the sequence number of the last audit record seen ([`audit`]).
    audit_seen: Vec<u64>,
    /// Per HSM, how many records its audit log must hold: every one since its last zeroize.
    audit_held: Vec<usize>,
    /// A divergence found when the cluster was made (its shape, its sessions, the AU
    /// password's limits: [`creation_probe`]), reported at the first step.
    creation: Option<String>,
}

/// An AU password of `n` characters.
fn au_password_of(n: usize) -> String {
    "appliance-password-".chars().cycle().take(n).collect()
}

/// Cluster creation at the AU password's limits (SPEC §1, §4: the AU's password is set when
/// the cluster is created and must be valid): with `make`, one-HSM clusters whose AU password
/// has the policy's shortest and longest lengths and one character less and more; each must be
/// made exactly when the model's policy says the password is valid, and refused with
/// `InvalidPassword` otherwise. `Err` describes the first disagreement.
pub fn creation_probe(cfg: &Config, make: &Constructor) -> Result<(), String> {
    let p = cfg.policy;
    // SPEC §2: a cluster has an identity; two clusters made one after the other differ.
    let ids: Vec<_> = (0..2)
        .filter_map(|_| make(1, &cfg.au_password, impl_policy(&p)).ok())
        .map(|c| c.cluster_id())
        .collect();
    if ids.len() == 2 && ids[0] == ids[1] {
        return Err("two clusters made one after the other have the same cluster id".into());
    }
    let (min, max) = (p.password_min_chars as usize, p.password_max_chars as usize);
    for n in [min.saturating_sub(1), min, max, max + 1] {
        let pw = au_password_of(n);
        let valid = p.password_is_valid(&pw);
        match (make(1, &pw, impl_policy(&p)), valid) {
            (Ok(_), true) | (Err(HsmError::InvalidPassword), false) => {}
            (got, _) => {
                return Err(format!(
                    "cluster creation with an AU password of {n} characters (valid: {min}..={max}) answered {}, the model says {}",
                    match got {
                        Ok(_) => "Ok".to_string(),
                        Err(e) => e.code().to_string(),
                    },
                    if valid { "Ok" } else { "InvalidPassword" }
                ))
            }
        }
    }
    construction_contract(cfg, make)
}

/// `Cluster::new`'s own contract (hsm-impl's, beyond the spec: the model has no password
/// cost): its errors come in the documented order, `InvalidPolicy` (no HSM, or cost
/// parameters the hash refuses) before `InvalidPassword`; and the costs it accepts really
/// hash (a cluster made with each logs its PRECO in).
fn construction_contract(cfg: &Config, make: &Constructor) -> Result<(), String> {
    use imp::PasswordCost as C;
    let p = impl_policy(&cfg.policy);
    let bad_pw = au_password_of(cfg.policy.password_min_chars.saturating_sub(1) as usize);
    let code = |r: Result<Cluster, HsmError>| match r {
        Ok(_) => "Ok".to_string(),
        Err(e) => e.code().to_string(),
    };
    let refused = [
        ("no HSM", 0, C::Test),
        (
            "PBKDF2 with 0 iterations",
            1,
            C::Pbkdf2Sha256 { iterations: 0 },
        ),
        (
            "argon2id with no memory",
            1,
            C::Argon2id {
                memory_kib: 0,
                iterations: 1,
                parallelism: 1,
            },
        ),
    ];
    for (what, hsms, cost) in refused {
        let policy = imp::Policy {
            password_cost: cost,
            ..p.clone()
        };
        let got = code(make(hsms, &bad_pw, policy));
        if got != "InvalidPolicy" {
            return Err(format!(
                "cluster creation with {what} and an invalid AU password answered {got}, not InvalidPolicy (hsm-impl checks its policy first)"
            ));
        }
    }
    let accepted = [
        ("PBKDF2 with 1 iteration", C::Pbkdf2Sha256 { iterations: 1 }),
        (
            "argon2id at its minimum",
            C::Argon2id {
                memory_kib: 8,
                iterations: 1,
                parallelism: 1,
            },
        ),
    ];
    for (what, cost) in accepted {
        let policy = imp::Policy {
            password_cost: cost,
            ..p.clone()
        };
        let made = make(1, &cfg.au_password, policy)
            .map_err(|e| format!("cluster creation with {what} answered {}, not Ok", e.code()))?;
        let s = made.open_session(0).map_err(|e| {
            format!(
                "a cluster made with {what}: open_session answered {}",
                e.code()
            )
        })?;
        if let Err(e) = s.login(imp::PRECO_NAME, imp::PRECO_PASSWORD) {
            return Err(format!(
                "a cluster made with {what}: the PRECO's Login answered {}, not Ok",
                e.code()
            ));
        }
    }
    Ok(())
}

impl ImplSut {
    /// A fresh cluster of `cfg`'s shape and policy, made by `make` (with the creation probes,
    /// [`creation_probe`]).
    pub fn new(cfg: &Config, make: Constructor) -> Result<ImplSut, Error> {
        let probe = creation_probe(cfg, &make).err();
        let label = format!("hsm-impl {}", env!("CARGO_PKG_VERSION"));
        ImplSut::with_probe(cfg, Server::new(&label, make), probe)
    }

    /// Like [`ImplSut::new`], with the creation probes' verdict made already.
    fn with_probe(
        cfg: &Config,
        mut server: Server,
        probe: Option<String>,
    ) -> Result<ImplSut, Error> {
        let reset = Request::reset(cfg);
        if let Reply::Refused(m) = server.answer(&reset) {
            return Err(Error::Broken(m));
        }
        let mut creation = probe;
        let served = server
            .cluster(0)
            .ok_or_else(|| Error::Broken("no cluster after reset".into()))?;
        let cluster = &served.cluster;
        let policy = impl_policy(&cfg.policy);
        if cluster.hsm_count() != cfg.hsms as usize || *cluster.policy() != policy {
            creation.get_or_insert_with(|| {
                format!(
                    "the cluster was made with {} HSMs and the policy ({}), not {} HSMs and ({})",
                    cluster.hsm_count(),
                    impl_policy_text(cluster.policy()),
                    cfg.hsms,
                    impl_policy_text(&policy)
                )
            });
        }
        for row in &served.sessions {
            for (h, s) in row.iter().enumerate() {
                if s.hsm() != h {
                    creation.get_or_insert_with(|| {
                        format!(
                            "a session opened on HSM {h} says it is bound to HSM {}",
                            s.hsm()
                        )
                    });
                }
            }
        }
        // A session opened and closed on each HSM: gone afterwards (the view must show the
        // clients' sessions alone), checked at every step.
        for h in 0..cfg.hsms as usize {
            drop(
                cluster
                    .open_session(h)
                    .map_err(|e| Error::Broken(format!("cannot open a session: {e}")))?,
            );
        }
        let id = cluster.cluster_id().to_string();
        let mut inner = ProtocolSut::new(cfg, server);
        inner.abstraction.pin_cluster_id(id);
        Ok(ImplSut {
            inner,
            audit_seen: vec![0; cfg.hsms as usize],
            audit_held: vec![0; cfg.hsms as usize],
            creation,
        })
    }

    /// From now on, keeps the `Debug` of every answer of the implementation (see
    /// [`ImplSut::take_raw`]).
    pub fn record_raw(&mut self) {
        self.inner.transport.record_raw();
    }

    /// The `Debug` of the implementation's answers since the last call (with
    /// [`ImplSut::record_raw`]; empty otherwise).
    pub fn take_raw(&mut self) -> Vec<String> {
        self.inner.transport.take_raw()
    }

    fn served(&self) -> &crate::protocol::serve::Served {
        self.inner
            .transport
            .cluster(0)
            .expect("an ImplSut's cluster 0 is made when the ImplSut is")
    }

    /// The cluster under test.
    pub fn cluster(&self) -> &Cluster {
        &self.served().cluster
    }

    /// Client `client`'s session on HSM `hsm`.
    pub fn session(&self, client: usize, hsm: usize) -> &Session {
        &self.served().sessions[client][hsm]
    }

    /// Every masked object the implementation answered so far.
    pub fn masked_objects(&self) -> impl Iterator<Item = &[u8]> {
        self.inner.abstraction.masked_objects()
    }

    /// Every opaque byte string the implementation answered so far: masked objects, wrapped
    /// keys, ciphertexts, signatures, tags.
    pub fn answered_bytes(&self) -> Vec<&[u8]> {
        self.inner.abstraction.answered_bytes()
    }

    /// Runs the action on the implementation and abstracts its answer (no law, no check).
    pub fn run(&mut self, a: &Action, expected: &Outcome) -> Result<Outcome, Error> {
        self.inner.run(a, expected)
    }
}

impl SystemUnderTest for ImplSut {
    fn step(
        &mut self,
        action: &Action,
        before: &LargeState,
        expected: &Outcome,
    ) -> Result<Outcome, Error> {
        if let Some(m) = self.creation.take() {
            return Err(Error::Divergence(m));
        }
        let started = audit::now_unix_ms();
        let out = self.inner.run(action, expected)?;
        if out != *expected {
            // The runner reports the outcome itself.
            return Ok(out);
        }
        self.check_audit(action, before, expected, started, audit::now_unix_ms())?;
        if out.is_ok() {
            self.inner.laws(action, &out)?;
            self.audit_law(action, before, &out)?;
            self.skip_audit_records(action.hsm.index())?;
        }
        Ok(out)
    }

    fn observe(&mut self) -> Result<Vec<String>, Error> {
        self.inner.observe()
    }

    fn check_state(&mut self, model: &LargeState) -> Result<(), Error> {
        self.inner.check_state(model)
    }
}
