//! The adapter that drives `hsm-impl` through its public API, and its abstraction function:
//! how the implementation's handles, names, digests, masked objects, wrapped bytes,
//! ciphertexts, signatures and tags map onto the model's ids and tokens.
//!
//! See `docs/conformance.md` for the abstraction function in prose.

use crate::sut::{SutFactory, SystemUnderTest};
use hsm_impl as imp;
use hsm_impl::{Cluster, HsmError, Session};
use hsm_model::state::{
    Ciphertext, DataId, KeyId, MaskedObject, Signature, WrappedKey, MAX_KEY_IDS,
};
use hsm_model::{Action, Config, ErrorCode, KeyKind, Observation, Op, Outcome, Role, State};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// Makes a cluster: `(hsm count, AU password, policy)`. The runner uses `Cluster::new`; the
/// fault-zoo tests pass `Cluster::new_with_fault`.
pub type Constructor =
    Arc<dyn Fn(usize, &str, imp::Policy) -> Result<Cluster, HsmError> + Send + Sync>;

pub use crate::abstraction::GARBAGE;
use crate::abstraction::{junk, truncations, JunkKind};

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
        password_cost: imp::PasswordCost::Test,
    }
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

/// The model's error code for the implementation's, by its stable code string; an error the
/// spec does not have (`NoSuchHsm`, `InvalidPolicy`, `RandomFailure`) is a divergence.
pub fn error_code(e: HsmError) -> Result<ErrorCode, String> {
    ErrorCode::from_name(e.code()).ok_or_else(|| {
        format!(
            "the implementation answered {}, a code the spec does not have",
            e.code()
        )
    })
}

/// The model's key id for the implementation's (the same counter rule: identity).
pub fn key_id(id: imp::KeyId) -> Result<KeyId, String> {
    u8::try_from(id.0).map(KeyId).map_err(|_| {
        format!(
            "the implementation gave key id {}, beyond the model's ids",
            id.0
        )
    })
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
        ImplFactory {
            make: Arc::new(Cluster::new),
            label: format!("hsm-impl {}", env!("CARGO_PKG_VERSION")),
            probed: Default::default(),
        }
    }

    /// Clusters made by `make` (the fault-zoo tests pass `Cluster::new_with_fault`).
    pub fn with_constructor(label: &str, make: Constructor) -> ImplFactory {
        ImplFactory {
            make,
            label: label.to_string(),
            probed: Default::default(),
        }
    }

    /// The constructor of this factory's clusters (the protocol server makes its clusters
    /// with it).
    pub fn constructor(&self) -> Constructor {
        self.make.clone()
    }
}

impl SutFactory for ImplFactory {
    fn fresh(&self, cfg: &Config) -> Result<Box<dyn SystemUnderTest>, String> {
        let key = format!("{:?} {:?}", cfg.policy, cfg.au_password);
        let probe = self
            .probed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert_with(|| creation_probe(cfg, &self.make).err())
            .clone();
        Ok(Box::new(ImplSut::with_probe(
            cfg,
            self.make.clone(),
            probe,
        )?))
    }
    fn describe(&self) -> String {
        self.label.clone()
    }
}

/// One `hsm-impl` cluster and the sessions of the model's clients, with the maps the
/// abstraction function learns while the trace runs.
pub struct ImplSut {
    cfg: Config,
    make: Constructor,
    cluster: Cluster,
    /// `sessions[client][hsm]`: each client's session on each HSM, opened when the cluster is.
    sessions: Vec<Vec<Session>>,
    masked: HashMap<MaskedObject, Vec<u8>>,
    wrapped: HashMap<WrappedKey, Vec<u8>>,
    ciphertexts: HashMap<Ciphertext, Vec<u8>>,
    signatures: HashMap<Signature, Vec<u8>>,
    macs: crate::abstraction::MacLedger,
    /// Every sync status seen (SPEC §6 equality).
    sync: crate::abstraction::SyncLedger,
    /// A masked object of another cluster made by the same constructor (made on first use).
    foreign: Option<Vec<u8>>,
    /// With [`ImplSut::record_raw`]: the `Debug` of every answer of the implementation, before
    /// abstraction (the secrets test reads them).
    raw: Option<std::cell::RefCell<Vec<String>>>,
    /// Per HSM, the sequence number of the last audit record seen (see [`ImplSut::check_audit`]).
    audit_seen: Vec<u64>,
    /// A divergence found when the cluster was made (the AU password's limits, see
    /// [`creation_probe`]), reported at the first step.
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
    Ok(())
}

/// Milliseconds since the Unix epoch (the audit records' clock).
fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl ImplSut {
    /// A fresh cluster of `cfg`'s shape and policy, made by `make` (with the creation probes,
    /// [`creation_probe`]).
    pub fn new(cfg: &Config, make: Constructor) -> Result<ImplSut, String> {
        let probe = creation_probe(cfg, &make).err();
        ImplSut::with_probe(cfg, make, probe)
    }

    /// Like [`ImplSut::new`], with the creation probes' verdict made already.
    fn with_probe(
        cfg: &Config,
        make: Constructor,
        probe: Option<String>,
    ) -> Result<ImplSut, String> {
        let policy = impl_policy(&cfg.policy);
        let cluster = make(cfg.hsms as usize, &cfg.au_password, policy.clone())
            .map_err(|e| format!("cannot make a cluster: {e}"))?;
        // The cluster as made, and a session opened and closed on each HSM (gone afterwards:
        // `check_state` requires the clients' sessions alone), checked at the first step.
        let mut creation = probe;
        if cluster.hsm_count() != cfg.hsms as usize || *cluster.policy() != policy {
            creation.get_or_insert_with(|| {
                format!(
                    "the cluster was made with {} HSMs and policy {:?}, not {} and {policy:?}",
                    cluster.hsm_count(),
                    cluster.policy(),
                    cfg.hsms
                )
            });
        }
        for h in 0..cfg.hsms as usize {
            drop(
                cluster
                    .open_session(h)
                    .map_err(|e| format!("cannot open a session: {e}"))?,
            );
        }
        let mut sessions = Vec::new();
        for _ in 0..cfg.clients {
            let mut row = Vec::new();
            for h in 0..cfg.hsms as usize {
                let s = cluster
                    .open_session(h)
                    .map_err(|e| format!("cannot open a session: {e}"))?;
                if s.hsm() != h {
                    creation.get_or_insert_with(|| {
                        format!(
                            "a session opened on HSM {h} says it is bound to HSM {}",
                            s.hsm()
                        )
                    });
                }
                row.push(s);
            }
            sessions.push(row);
        }
        Ok(ImplSut {
            audit_seen: vec![0; cfg.hsms as usize],
            creation,
            cfg: cfg.clone(),
            make,
            cluster,
            sessions,
            masked: HashMap::new(),
            wrapped: HashMap::new(),
            ciphertexts: HashMap::new(),
            signatures: HashMap::new(),
            macs: Default::default(),
            sync: Default::default(),
            foreign: None,
            raw: None,
        })
    }

    /// From now on, keeps the `Debug` of every answer of the implementation (see
    /// [`ImplSut::take_raw`]).
    pub fn record_raw(&mut self) {
        self.raw = Some(Default::default());
    }

    /// The `Debug` of the implementation's answers since the last call (with
    /// [`ImplSut::record_raw`]; empty otherwise).
    pub fn take_raw(&mut self) -> Vec<String> {
        self.raw.as_ref().map(|r| r.take()).unwrap_or_default()
    }

    /// The cluster under test.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Client `client`'s session on HSM `hsm`.
    pub fn session(&self, client: usize, hsm: usize) -> &Session {
        &self.sessions[client][hsm]
    }

    /// Every masked object the implementation answered so far.
    pub fn masked_objects(&self) -> impl Iterator<Item = &[u8]> {
        self.masked.values().map(Vec::as_slice)
    }

    /// Every opaque byte string the implementation answered so far: masked objects, wrapped
    /// keys, ciphertexts, signatures, tags.
    pub fn answered_bytes(&self) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = self.masked.values().map(Vec::as_slice).collect();
        out.extend(self.wrapped.values().map(Vec::as_slice));
        out.extend(self.ciphertexts.values().map(Vec::as_slice));
        out.extend(self.signatures.values().map(Vec::as_slice));
        out.extend(self.macs.tags());
        out
    }

    /// `r`, its `Debug` kept first when [`ImplSut::record_raw`] is on.
    fn noted<T: std::fmt::Debug>(&self, r: Result<T, HsmError>) -> Result<T, HsmError> {
        if let Some(raw) = &self.raw {
            raw.borrow_mut().push(format!("{r:?}"));
        }
        r
    }

    /// Bytes of a masked object of another cluster: a second cluster made by the same
    /// constructor (so with the same fault, if any), activated, with a CU named like the
    /// configuration's first name, which generates keys until one has an id beyond the model's
    /// ids (so it can never collide with a key of this trace) and extracts it.
    fn foreign_bytes(&mut self) -> Result<Vec<u8>, String> {
        if let Some(b) = &self.foreign {
            return Ok(b.clone());
        }
        // A fault may break the way there (activation, user creation): then a correct
        // cluster's object stands in.
        let make = self.make.clone();
        let bytes = self
            .foreign_from(&*make)
            .or_else(|_| self.foreign_from(&|n, pw, p| Cluster::new(n, pw, p)))?;
        self.foreign = Some(bytes.clone());
        Ok(bytes)
    }

    fn foreign_from(
        &self,
        make: &dyn Fn(usize, &str, imp::Policy) -> Result<Cluster, HsmError>,
    ) -> Result<Vec<u8>, String> {
        let e = |e: HsmError| format!("cannot make the foreign masked object: {e}");
        let pw = self.cfg.au_password.clone();
        let owner = self
            .cfg
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| "foreign".into());
        let other = make(1, &pw, imp::Policy::for_tests()).map_err(e)?;
        let co = other.open_session(0).map_err(e)?;
        co.login(imp::PRECO_NAME, imp::PRECO_PASSWORD).map_err(e)?;
        co.change_own_password(&pw).map_err(e)?;
        co.create_user(&owner, imp::Role::CryptoUser, &pw)
            .map_err(e)?;
        let cu = other.open_session(0).map_err(e)?;
        cu.login(&owner, &pw).map_err(e)?;
        let mut id = cu.generate_key(imp::KeyKind::Aes256, true).map_err(e)?;
        // Ids count from 1 and advance with every key: MAX_KEY_IDS more keys get past them.
        // An implementation whose ids do not advance would loop here forever.
        for _ in 0..MAX_KEY_IDS {
            if id.0 > MAX_KEY_IDS as u64 {
                break;
            }
            id = cu.generate_key(imp::KeyKind::Aes256, true).map_err(e)?;
        }
        if id.0 <= MAX_KEY_IDS as u64 {
            return Err(format!(
                "cannot make the foreign masked object: after {} keys the key id is still {}",
                MAX_KEY_IDS + 1,
                id.0
            ));
        }
        cu.extract_masked(id).map_err(e)
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

    /// Runs the action on the implementation and abstracts its answer.
    pub fn run(&mut self, a: &Action, expected: &Outcome) -> Result<Outcome, String> {
        let s = &self.sessions[a.client.index()][a.hsm.index()];
        let exp_ok = expected.as_ref().ok();
        macro_rules! lift {
            ($r:expr, $v:ident => $obs:expr) => {
                match self.noted($r) {
                    Ok($v) => Ok($obs),
                    Err(e) => Err(error_code(e)?),
                }
            };
        }
        let text = |p| self.cfg.password_text(p);
        let data = |d: DataId| self.cfg.data_text(d).into_bytes();
        let out: Outcome = match a.op {
            Op::Login { name, password } => {
                lift!(s.login(&crate::abstraction::name_arg(&self.cfg, name), &text(password)), r => Observation::LoggedIn(role_of(r)))
            }
            Op::Logout => lift!(s.logout(), _x => Observation::Done),
            Op::GetClusterInfo => match self.noted(s.cluster_info()) {
                Ok(i) => {
                    if i.cluster_id != self.cluster.cluster_id() {
                        return Err(
                            "GetClusterInfo answered another cluster id than the cluster's".into(),
                        );
                    }
                    if i.hsms.iter().enumerate().any(|(n, h)| h.index != n) {
                        return Err(format!(
                            "GetClusterInfo's HSM indexes are {:?}, not 0, 1, …",
                            i.hsms.iter().map(|h| h.index).collect::<Vec<_>>()
                        ));
                    }
                    Ok(Observation::ClusterInfo {
                        activated: i.activated,
                        blank: i.hsms.iter().map(|h| h.blank).collect(),
                    })
                }
                Err(e) => Err(error_code(e)?),
            },
            Op::ListUsers => match self.noted(s.list_users()) {
                Ok(users) => {
                    let mut out = Vec::new();
                    for u in users {
                        out.push(hsm_model::UserEntry {
                            name: crate::abstraction::name_id(&self.cfg, &u.name)?,
                            role: role_of(u.role),
                            locked: u.locked,
                        });
                    }
                    Ok(Observation::Users(out))
                }
                Err(e) => Err(error_code(e)?),
            },
            Op::Zeroize => lift!(s.zeroize(), _x => Observation::Done),
            Op::ChangeOwnPassword { password } => {
                lift!(s.change_own_password(&text(password)), _x => Observation::Done)
            }
            Op::ChangePassword { name, password } => {
                lift!(s.change_password(&crate::abstraction::name_arg(&self.cfg, name), &text(password)), _x => Observation::Done)
            }
            Op::CreateUser {
                name,
                role,
                password,
            } => lift!(
                s.create_user(&crate::abstraction::name_arg(&self.cfg, name), impl_role(role), &text(password)),
                _x => Observation::Done
            ),
            Op::DeleteUser { name } => {
                lift!(s.delete_user(&crate::abstraction::name_arg(&self.cfg, name)), _x => Observation::Done)
            }
            Op::GetSyncStatus => match self.noted(s.sync_status()) {
                Ok(d) => Ok(self
                    .sync
                    .abstract_status(d.iter().map(|x| x.to_vec()).collect(), expected)?),
                Err(e) => Err(error_code(e)?),
            },
            Op::ExtractMasked { key } => {
                match self.noted(s.extract_masked(imp::KeyId(key.0 as u64))) {
                    Ok(bytes) => match exp_ok {
                        Some(Observation::Masked(tok)) => {
                            self.masked.entry(*tok).or_insert(bytes);
                            Ok(Observation::Masked(*tok))
                        }
                        _ => Ok(Observation::Masked(MaskedObject::Garbage)),
                    },
                    Err(e) => Err(error_code(e)?),
                }
            }
            Op::InsertMasked { object } => {
                let bytes = self.masked_bytes(object, a)?;
                let s = &self.sessions[a.client.index()][a.hsm.index()];
                match self.noted(s.insert_masked(&bytes)) {
                    Ok(id) => Ok(Observation::Key(key_id(id)?)),
                    Err(e) => Err(error_code(e)?),
                }
            }
            Op::Clone { from } => lift!(s.clone_from(from.index()), _x => Observation::Done),
            Op::GenerateKey { kind, extractable } => {
                match self.noted(s.generate_key(impl_kind(kind), extractable)) {
                    Ok(id) => Ok(Observation::Key(key_id(id)?)),
                    Err(e) => Err(error_code(e)?),
                }
            }
            Op::DeleteKey { key } => lift!(s.delete_key(imp_key(key)), _x => Observation::Done),
            Op::ShareKey { key, name } => {
                lift!(s.share_key(imp_key(key), &crate::abstraction::name_arg(&self.cfg, name)), _x => Observation::Done)
            }
            Op::UnshareKey { key, name } => {
                lift!(s.unshare_key(imp_key(key), &crate::abstraction::name_arg(&self.cfg, name)), _x => Observation::Done)
            }
            Op::SetAttribute { key, label } => {
                lift!(s.set_label(imp_key(key), &self.cfg.label_text(label)), _x => Observation::Done)
            }
            Op::WrapKey { key, wrapping } => {
                match self.noted(s.wrap_key(imp_key(key), imp_key(wrapping))) {
                    Ok(bytes) => match exp_ok {
                        Some(Observation::Wrapped(tok)) => {
                            self.wrapped.entry(*tok).or_insert(bytes);
                            Ok(Observation::Wrapped(*tok))
                        }
                        _ => Ok(Observation::Wrapped(WrappedKey::Garbage)),
                    },
                    Err(e) => Err(error_code(e)?),
                }
            }
            Op::UnwrapKey { wrapped, wrapping } => {
                let bytes = self
                    .wrapped
                    .get(&wrapped)
                    .cloned()
                    .unwrap_or_else(|| junk(JunkKind::Wrapped, a));
                match self.noted(s.unwrap_key(&bytes, imp_key(wrapping))) {
                    Ok(id) => Ok(Observation::Key(key_id(id)?)),
                    Err(e) => Err(error_code(e)?),
                }
            }
            Op::Encrypt { key, data: d } => match self.noted(s.encrypt(imp_key(key), &data(d))) {
                Ok(bytes) => match exp_ok {
                    Some(Observation::Ciphertext(tok)) => {
                        self.ciphertexts.entry(*tok).or_insert(bytes);
                        Ok(Observation::Ciphertext(*tok))
                    }
                    _ => Ok(Observation::Ciphertext(Ciphertext::Garbage)),
                },
                Err(e) => Err(error_code(e)?),
            },
            Op::Decrypt { key, ciphertext } => {
                let bytes = self
                    .ciphertexts
                    .get(&ciphertext)
                    .cloned()
                    .unwrap_or_else(|| junk(JunkKind::Ciphertext, a));
                match self.noted(s.decrypt(imp_key(key), &bytes)) {
                    Ok(pt) => Ok(Observation::Plaintext(crate::abstraction::data_id(
                        &self.cfg, &pt,
                    )?)),
                    Err(e) => Err(error_code(e)?),
                }
            }
            Op::Sign { key, data: d } => match self.noted(s.sign(imp_key(key), &data(d))) {
                Ok(bytes) => match exp_ok {
                    Some(Observation::Signature(tok)) => {
                        self.signatures.entry(*tok).or_insert(bytes);
                        Ok(Observation::Signature(*tok))
                    }
                    _ => Ok(Observation::Signature(Signature::Garbage)),
                },
                Err(e) => Err(error_code(e)?),
            },
            Op::Verify {
                key,
                data: d,
                signature,
            } => {
                let bytes = self
                    .signatures
                    .get(&signature)
                    .cloned()
                    .unwrap_or_else(|| GARBAGE.to_vec());
                lift!(s.verify(imp_key(key), &data(d), &bytes), v => Observation::Verified(v))
            }
            Op::Hmac { key, data: d } => match self.noted(s.hmac(imp_key(key), &data(d))) {
                Ok(tag) => Ok(self.macs.abstract_tag(&tag, d, expected)?),
                Err(e) => Err(error_code(e)?),
            },
            Op::Digest { data: d } => match self.noted(s.digest(&data(d))) {
                Ok(digest) => {
                    let want: [u8; 32] = Sha256::digest(data(d)).into();
                    if digest != want {
                        return Err(format!(
                            "Digest({:?}) is not its SHA-256",
                            self.cfg.data_text(d)
                        ));
                    }
                    Ok(Observation::Digest(d))
                }
                Err(e) => Err(error_code(e)?),
            },
        };
        Ok(out)
    }

    /// The audit log held to the step (the implementation audits every call, refused ones
    /// included): exactly one new record on the acting HSM and none elsewhere; its sequence
    /// number the next one; its session, operation, user (the session's user before the step;
    /// for Login the lower-cased name tried) and outcome (the one the model gave) those of the
    /// step; its time within the step's. After a zeroize the log holds that record alone.
    fn check_audit(
        &mut self,
        a: &Action,
        before: &State,
        expected: &Outcome,
        started: u64,
        ended: u64,
    ) -> Result<(), String> {
        for h in 0..self.cfg.hsms as usize {
            let new = self
                .cluster
                .audit_after(h, self.audit_seen[h])
                .map_err(|e| format!("audit log of HSM {h}: {e}"))?;
            if h != a.hsm.index() {
                if !new.is_empty() {
                    return Err(format!(
                        "audit: a step on HSM {} added {} record(s) to HSM {h}'s log",
                        a.hsm.index(),
                        new.len()
                    ));
                }
                continue;
            }
            let [r] = new.as_slice() else {
                return Err(format!(
                    "audit: the step added {} records to HSM {h}'s log, not one",
                    new.len()
                ));
            };
            let want_seq = self.audit_seen[h] + 1;
            if r.seq != want_seq {
                return Err(format!(
                    "audit: the step's record has sequence number {}, not {want_seq}",
                    r.seq
                ));
            }
            let session = self.sessions[a.client.index()][h].id();
            if r.session != session {
                return Err(format!(
                    "audit: the step's record names session {}, not {session}",
                    r.session
                ));
            }
            let op = a.op.operation().name();
            if format!("{:?}", r.operation) != op {
                return Err(format!(
                    "audit: the step's record names operation {:?}, not {op}",
                    r.operation
                ));
            }
            let user = match a.op {
                Op::Login { name, .. } => Some(
                    crate::abstraction::name_arg(&self.cfg, name)
                        .to_lowercase()
                        .chars()
                        .take(64)
                        .collect(),
                ),
                _ => before
                    .session(a.client, a.hsm)
                    .map(|n| self.cfg.name_text(n).to_lowercase()),
            };
            if r.user != user {
                return Err(format!(
                    "audit: the step's record names user {:?}, not {user:?}",
                    r.user
                ));
            }
            let got = match r.outcome {
                Ok(()) => None,
                Err(e) => Some(error_code(e)?),
            };
            let want_code = expected.as_ref().err().map_or("Ok", |c| c.name());
            if got != expected.as_ref().err().copied() || r.outcome_code() != want_code {
                return Err(format!(
                    "audit: the step's record has outcome {}, the step answered {}",
                    r.outcome_code(),
                    crate::runner::show(expected)
                ));
            }
            if !(started..=ended).contains(&r.time_unix_ms) {
                return Err(format!(
                    "audit: the step's record has time {} ms, outside the step's {started}..={ended}",
                    r.time_unix_ms
                ));
            }
            if matches!(a.op, Op::Zeroize) {
                let all = self
                    .cluster
                    .audit_after(h, 0)
                    .map_err(|e| format!("audit log of HSM {h}: {e}"))?;
                if all.len() != 1 {
                    return Err(format!(
                        "audit: after a zeroize HSM {h}'s log holds {} records, not its record alone",
                        all.len()
                    ));
                }
            }
            self.audit_seen[h] = r.seq;
        }
        Ok(())
    }

    /// The crypto laws, on the implementation's real bytes, after a step the model and the
    /// implementation agreed on: decrypt of encrypt, verify of sign, and tampered ciphertexts,
    /// signatures, wrapped keys and masked objects rejected. Run in the same session (they
    /// change nothing but the audit log).
    fn laws(&self, a: &Action, before: &State, out: &Outcome) -> Result<(), String> {
        let s = &self.sessions[a.client.index()][a.hsm.index()];
        let data = |d: DataId| self.cfg.data_text(d).into_bytes();
        match (a.op, out) {
            (Op::Encrypt { key, data: d }, Ok(Observation::Ciphertext(tok))) => {
                let ct = &self.ciphertexts[tok];
                if s.decrypt(imp_key(key), ct).ok() != Some(data(d)) {
                    return Err("law: decrypt(encrypt(data)) is not data".into());
                }
                // Encryption is randomised (a fresh 96-bit nonce): the same data again gives
                // other bytes, which decrypt to it too.
                let again = s
                    .encrypt(imp_key(key), &data(d))
                    .map_err(|e| format!("law: encrypting the same data again answered {e}"))?;
                if again == *ct || s.decrypt(imp_key(key), &again).ok() != Some(data(d)) {
                    return Err(
                        "law: encrypting the same data twice gave the same bytes, or bytes that do not decrypt to it"
                            .into(),
                    );
                }
                if s.decrypt(imp_key(key), &tamper(ct)) != Err(HsmError::BadCiphertext) {
                    return Err(
                        "law: a tampered ciphertext was not rejected with BadCiphertext".into(),
                    );
                }
                for short in truncations(JunkKind::Ciphertext, ct) {
                    if s.decrypt(imp_key(key), &short) != Err(HsmError::BadCiphertext) {
                        return Err(format!(
                            "law: a ciphertext truncated to {} of its {} bytes was not rejected with BadCiphertext",
                            short.len(),
                            ct.len()
                        ));
                    }
                }
            }
            (Op::Sign { key, data: d }, Ok(Observation::Signature(tok))) => {
                let sig = &self.signatures[tok];
                if s.verify(imp_key(key), &data(d), sig) != Ok(true) {
                    return Err("law: verify(sign(data)) is not valid".into());
                }
                if s.verify(imp_key(key), &data(d), &tamper(sig)) != Ok(false) {
                    return Err("law: a tampered signature verified".into());
                }
                if s.verify(imp_key(key), b"hsmspec: other data", sig) != Ok(false) {
                    return Err("law: a signature verified for other data".into());
                }
            }
            (Op::WrapKey { wrapping, .. }, Ok(Observation::Wrapped(tok))) => {
                let w = &self.wrapped[tok];
                if s.unwrap_key(&tamper(w), imp_key(wrapping)) != Err(HsmError::BadWrappedKey) {
                    return Err(
                        "law: tampered wrapped bytes were not rejected with BadWrappedKey".into(),
                    );
                }
                for short in truncations(JunkKind::Wrapped, w) {
                    if s.unwrap_key(&short, imp_key(wrapping)) != Err(HsmError::BadWrappedKey) {
                        return Err(format!(
                            "law: wrapped bytes truncated to {} of their {} bytes were not rejected with BadWrappedKey",
                            short.len(),
                            w.len()
                        ));
                    }
                }
            }
            (Op::ExtractMasked { .. }, Ok(Observation::Masked(tok))) => {
                let m = &self.masked[tok];
                if s.insert_masked(&tamper(m)) != Err(HsmError::BadMaskedObject) {
                    return Err(
                        "law: a tampered masked object was not rejected with BadMaskedObject"
                            .into(),
                    );
                }
                for short in truncations(JunkKind::Masked, m) {
                    if s.insert_masked(&short) != Err(HsmError::BadMaskedObject) {
                        return Err(format!(
                            "law: a masked object truncated to {} of its {} bytes was not rejected with BadMaskedObject",
                            short.len(),
                            m.len()
                        ));
                    }
                }
            }
            (Op::ListUsers, Ok(_)) => {
                // The audit log as a CO reads it (an operation of hsm-impl's own, the CO's
                // alone): the records up to this call, as the auditor's view shows them.
                let h = a.hsm.index();
                let want = self
                    .cluster
                    .audit_after(h, 0)
                    .map_err(|e| format!("audit log of HSM {h}: {e}"))?;
                let got = s.audit_log();
                let ok = match before.session_role(a.client, a.hsm) {
                    Some(Role::CryptoOfficer) => got.as_ref() == Ok(&want),
                    Some(_) => got == Err(HsmError::Forbidden),
                    None => got == Err(HsmError::NotLoggedIn),
                };
                if !ok {
                    return Err(format!(
                        "law: AuditLog by a {} answered {}, not {}",
                        before
                            .session_role(a.client, a.hsm)
                            .map_or("session not logged in".to_string(), |r| format!("{r:?}")),
                        match &got {
                            Ok(r) => format!("{} records", r.len()),
                            Err(e) => e.code().to_string(),
                        },
                        match before.session_role(a.client, a.hsm) {
                            Some(Role::CryptoOfficer) =>
                                format!("the {} records of the log", want.len()),
                            Some(_) => "Forbidden".to_string(),
                            None => "NotLoggedIn".to_string(),
                        }
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn imp_key(k: KeyId) -> imp::KeyId {
    imp::KeyId(k.0 as u64)
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

impl SystemUnderTest for ImplSut {
    fn step(
        &mut self,
        action: &Action,
        before: &State,
        expected: &Outcome,
    ) -> Result<Outcome, String> {
        if let Some(m) = self.creation.take() {
            return Err(m);
        }
        let started = now_unix_ms();
        let out = self.run(action, expected)?;
        if out != *expected {
            // The runner reports the outcome itself.
            return Ok(out);
        }
        self.check_audit(action, before, expected, started, now_unix_ms())?;
        if out.is_ok() {
            self.laws(action, before, &out)?;
            // The laws' own calls are audited too: skip past their records.
            let h = action.hsm.index();
            let more = self
                .cluster
                .audit_after(h, self.audit_seen[h])
                .map_err(|e| format!("audit log of HSM {h}: {e}"))?;
            if let Some(r) = more.last() {
                self.audit_seen[h] = r.seq;
            }
        }
        Ok(out)
    }

    fn observe(&mut self) -> Result<Vec<String>, String> {
        (0..self.cfg.hsms as usize)
            .map(|h| {
                self.cluster
                    .inspect(h)
                    .map(|snap| format!("{snap:?}"))
                    .map_err(|e| format!("inspect({h}) answered {e}"))
            })
            .collect()
    }

    fn check_state(&mut self, model: &State) -> Result<(), String> {
        let cfg = &self.cfg;
        let threshold = cfg.policy.lockout_threshold;
        for h in 0..cfg.hsms as usize {
            let snap = self
                .cluster
                .inspect(h)
                .map_err(|e| format!("inspect({h}) answered {e}"))?;
            let m = &model.hsms[h];
            if snap.activated != model.activated {
                return Err(format!(
                    "HSM {h}: cluster activated is {}, the model says {}",
                    snap.activated, model.activated
                ));
            }
            if snap.blank != m.blank {
                return Err(format!(
                    "HSM {h}: blank is {}, the model says {}",
                    snap.blank, m.blank
                ));
            }
            let mut want: Vec<(String, imp::Role, u32, bool)> = m
                .users()
                .map(|(n, u)| {
                    (
                        cfg.stored_name(n),
                        impl_role(u.role),
                        u.failures as u32,
                        u.failures >= threshold,
                    )
                })
                .collect();
            want.sort();
            let mut got: Vec<(String, imp::Role, u32, bool)> = snap
                .users
                .iter()
                .map(|u| (u.name.clone(), u.role, u.failed_logins, u.locked))
                .collect();
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
                        r.id.0 as u64,
                        impl_kind(r.key.kind),
                        cfg.stored_name(r.key.owner),
                        shares,
                        r.key.extractable,
                        cfg.label_text(r.key.label),
                    )
                })
                .collect();
            let got: Vec<_> = snap
                .keys
                .iter()
                .map(|k| {
                    (
                        k.id.0,
                        k.kind,
                        k.owner.clone(),
                        k.shares.clone(),
                        k.extractable,
                        k.label.clone(),
                    )
                })
                .collect();
            if want != got {
                return Err(format!(
                    "HSM {h}: keys (id, kind, owner, shares, extractable, label) are {got:?}, the model says {want:?}"
                ));
            }
            if snap.index != h || snap.sessions.len() != self.sessions.len() {
                return Err(format!(
                    "HSM {h}: its inspection view says index {} and {} open sessions, not {h} and the {} clients' ones",
                    snap.index,
                    snap.sessions.len(),
                    self.sessions.len()
                ));
            }
            for (c, row) in self.sessions.iter().enumerate() {
                let id = row[h].id();
                let got = snap
                    .sessions
                    .iter()
                    .find(|s| s.session == id)
                    .map(|s| s.user.clone())
                    .ok_or_else(|| format!("HSM {h}: client {c}'s session is gone"))?;
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
        }
        Ok(())
    }
}
