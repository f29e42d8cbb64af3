//! The abstraction function: how a system under test's answers, in the protocol's vocabulary
//! ([`crate::protocol`]: names and passwords as text, bytes, key handles), map onto the model's
//! ids and tokens, and how a model action becomes a request. It is written once, here, and
//! used by every system under test whatever its transport: `hsm-impl` in process
//! ([`crate::adapter`]) and any implementation behind the process protocol
//! ([`crate::process`]), through [`crate::sut::ProtocolSut`].
//!
//! - [`Abstraction`]: one trace's maps (key handles to key ids, the bytes each token stands
//!   for, the ledgers of opaque answers) and the translation both ways;
//! - [`view`]: what the model expects each HSM to look like, compared with an observation;
//! - [`laws`]: the crypto laws, checked on real bytes after each Ok step that made some;
//! - [`ledger`]: sync statuses and HMAC tags held to the model by equality;
//! - [`junk`]: bytes for objects the system never produced, tampered and truncated copies.
//!
//! See `docs/conformance.md` for the abstraction function in prose.

pub mod junk;
pub mod laws;
pub mod ledger;
pub mod reverse;
pub mod tokens;
pub mod view;

use crate::error::{diverged, Error};
use crate::protocol::{Answer, Bytes, Call, Handle, Password, Reply, Request, Step};
use crate::sut::Transport;
use hsm_model::state::{Ciphertext, DataId, KeyId, MaskedObject, NameId, Signature, WrappedKey};
use hsm_model::{Action, Config, ErrorCode, Observation, Op, Outcome, Policy, Role};
use junk::{junk, JunkKind, GARBAGE};
use ledger::{MacLedger, SyncLedger};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeSet, HashMap};
use tokens::Tokens;

/// The text sent for a name: the spelling the trace records (the table's text, as it is; the
/// generators choose upper- and mixed-case spellings, see `Config::spellings`).
pub fn name_arg(cfg: &Config, n: NameId) -> String {
    cfg.name_text(n)
}

/// The model's user for a user name the implementation shows: the user whose stored
/// (lower-cased) name it is exactly; any other spelling shown is a divergence (SPEC §4: names
/// are stored lower-case).
pub fn name_id(cfg: &Config, text: &str) -> Result<NameId, Error> {
    cfg.user_ids()
        .find(|&n| cfg.stored_name(n) == text)
        .ok_or_else(|| {
            Error::Divergence(format!(
                "the implementation shows a user `{text}` no step created"
            ))
        })
}

/// The model's datum for plaintext bytes the implementation answered.
pub fn data_id(cfg: &Config, bytes: &[u8]) -> Result<DataId, Error> {
    (0..cfg.data.len() as u8)
        .map(DataId)
        .find(|&d| cfg.data_text(d).as_bytes() == bytes)
        .ok_or_else(|| {
            Error::Divergence("decrypt answered a plaintext that is no datum of the trace".into())
        })
}

/// One trace's abstraction: what the system under test's handles and bytes stand for in the
/// model, learnt as the trace runs.
#[derive(Clone)]
pub struct Abstraction {
    cfg: Config,
    key_handle: HashMap<KeyId, Handle>,
    handle_key: HashMap<Handle, KeyId>,
    masked: Tokens<MaskedObject>,
    wrapped: Tokens<WrappedKey>,
    ciphertexts: Tokens<Ciphertext>,
    signatures: Tokens<Signature>,
    macs: MacLedger,
    /// Every sync status seen (SPEC §6 equality).
    sync: SyncLedger,
    /// A masked object of another cluster (made on first use, [`foreign_object`]).
    foreign: Option<Vec<u8>>,
    /// The cluster's id: the first GetClusterInfo answer's, or what the system says it is.
    cluster_id: Option<String>,
}

impl Abstraction {
    /// A fresh abstraction for a trace of `cfg`.
    pub fn new(cfg: &Config) -> Abstraction {
        Abstraction {
            cfg: cfg.clone(),
            key_handle: HashMap::new(),
            handle_key: HashMap::new(),
            masked: Tokens::default(),
            wrapped: Tokens::default(),
            ciphertexts: Tokens::default(),
            signatures: Tokens::default(),
            macs: MacLedger::default(),
            sync: SyncLedger::default(),
            foreign: None,
            cluster_id: None,
        }
    }

    /// The trace's configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The cluster's id as the system under test knows it otherwise (`hsm-impl` in process):
    /// every GetClusterInfo that names an id must name this one.
    pub fn pin_cluster_id(&mut self, id: String) {
        self.cluster_id = Some(id);
    }

    /// The handle sent for a model key id: the implementation's handle once it gave one, else
    /// a handle it cannot have given.
    pub fn handle(&self, k: KeyId) -> Handle {
        self.key_handle
            .get(&k)
            .cloned()
            .unwrap_or_else(|| format!("hsmspec-no-such-key-{}", k.0))
    }

    /// The model key id of a handle the implementation showed, if one step answered it.
    pub fn key_of_handle(&self, handle: &str) -> Option<KeyId> {
        self.handle_key.get(handle).copied()
    }

    /// A digest of every binding (handles to keys, tokens to bytes): two abstractions with the
    /// same digest put later answers in the model's terms alike (the concurrent campaign's
    /// search uses it to recognise a node it has seen).
    pub fn bindings_digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        fn one(x: impl Hash) -> u64 {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            x.hash(&mut h);
            h.finish()
        }
        // Order-independent over each map: the sum of its entries' hashes.
        let sum = |it: &mut dyn Iterator<Item = u64>| it.fold(0u64, u64::wrapping_add);
        let mut all = vec![
            sum(&mut self.handle_key.iter().map(one)),
            self.masked.digest(),
            self.wrapped.digest(),
            self.ciphertexts.digest(),
            self.signatures.digest(),
        ];
        all.push(self.cluster_id.as_ref().map_or(0, one));
        all.push(self.sync.digest());
        all.push(self.macs.digest());
        one(all)
    }

    /// Whether `a` needs another cluster's masked object that is not made yet.
    pub fn needs_foreign(&self, a: &Action) -> bool {
        matches!(
            a.op,
            Op::InsertMasked {
                object: MaskedObject::Foreign
            }
        ) && self.foreign.is_none()
    }

    /// The data `d`'s bytes.
    pub fn data(&self, d: DataId) -> Vec<u8> {
        self.cfg.data_text(d).into_bytes()
    }

    /// The bytes a ciphertext token stands for (those the system answered for it).
    pub fn ciphertext(&self, t: &Ciphertext) -> Option<&[u8]> {
        self.ciphertexts.bytes(t)
    }

    /// The bytes a signature token stands for.
    pub fn signature(&self, t: &Signature) -> Option<&[u8]> {
        self.signatures.bytes(t)
    }

    /// The bytes a wrapped-key token stands for.
    pub fn wrapped(&self, t: &WrappedKey) -> Option<&[u8]> {
        self.wrapped.bytes(t)
    }

    /// The bytes a masked-object token stands for.
    pub fn masked(&self, t: &MaskedObject) -> Option<&[u8]> {
        self.masked.bytes(t)
    }

    /// Every masked object the implementation answered so far.
    pub fn masked_objects(&self) -> impl Iterator<Item = &[u8]> {
        self.masked.all()
    }

    /// Every opaque byte string the implementation answered so far: masked objects, wrapped
    /// keys, ciphertexts, signatures, tags.
    pub fn answered_bytes(&self) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = self.masked.all().collect();
        out.extend(self.wrapped.all());
        out.extend(self.ciphertexts.all());
        out.extend(self.signatures.all());
        out.extend(self.macs.tags());
        out
    }

    /// The request that runs `a` on the trace's cluster. Another cluster's masked object must
    /// have been made first ([`Abstraction::needs_foreign`], [`foreign_object`]).
    pub fn request_of(&self, a: &Action) -> Request {
        let cfg = &self.cfg;
        let name = |n: NameId| name_arg(cfg, n);
        let pw = |p| Password::new(cfg.password_text(p));
        let data = |d: DataId| Bytes(self.data(d));
        let key = |k: KeyId| self.handle(k);
        let or_junk = |b: Option<&[u8]>, kind: JunkKind| {
            Bytes(b.map_or_else(|| junk(kind, a), <[u8]>::to_vec))
        };
        let call = match a.op {
            Op::Login { name: n, password } => Call::Login {
                name: name(n),
                password: pw(password),
            },
            Op::Logout => Call::Logout {},
            Op::GetClusterInfo => Call::GetClusterInfo {},
            Op::ListUsers => Call::ListUsers {},
            Op::Zeroize => Call::Zeroize {},
            Op::ChangeOwnPassword { password } => Call::ChangeOwnPassword {
                password: pw(password),
            },
            Op::ChangePassword { name: n, password } => Call::ChangePassword {
                name: name(n),
                password: pw(password),
            },
            Op::CreateUser {
                name: n,
                role,
                password,
            } => Call::CreateUser {
                name: name(n),
                role,
                password: pw(password),
            },
            Op::DeleteUser { name: n } => Call::DeleteUser { name: name(n) },
            Op::GetSyncStatus => Call::GetSyncStatus {},
            Op::ExtractMasked { key: k } => Call::ExtractMasked { key: key(k) },
            Op::InsertMasked { object } => Call::InsertMasked {
                object: match object {
                    MaskedObject::Foreign => Bytes(self.foreign.clone().unwrap_or_default()),
                    MaskedObject::Garbage => Bytes(junk(JunkKind::Masked, a)),
                    MaskedObject::Sealed(_) => {
                        or_junk(self.masked.bytes(&object), JunkKind::Masked)
                    }
                },
            },
            Op::Clone { from } => Call::Clone {
                from: from.0 as u64,
            },
            Op::GenerateKey { kind, extractable } => Call::GenerateKey { kind, extractable },
            Op::DeleteKey { key: k } => Call::DeleteKey { key: key(k) },
            Op::ShareKey { key: k, name: n } => Call::ShareKey {
                key: key(k),
                name: name(n),
            },
            Op::UnshareKey { key: k, name: n } => Call::UnshareKey {
                key: key(k),
                name: name(n),
            },
            Op::SetAttribute { key: k, label } => Call::SetAttribute {
                key: key(k),
                label: cfg.label_text(label),
            },
            Op::WrapKey { key: k, wrapping } => Call::WrapKey {
                key: key(k),
                wrapping: key(wrapping),
            },
            Op::UnwrapKey { wrapped, wrapping } => Call::UnwrapKey {
                wrapped: or_junk(self.wrapped.bytes(&wrapped), JunkKind::Wrapped),
                wrapping: key(wrapping),
            },
            Op::Encrypt { key: k, data: d } => Call::Encrypt {
                key: key(k),
                data: data(d),
            },
            Op::Decrypt { key: k, ciphertext } => Call::Decrypt {
                key: key(k),
                ciphertext: or_junk(self.ciphertexts.bytes(&ciphertext), JunkKind::Ciphertext),
            },
            Op::Sign { key: k, data: d } => Call::Sign {
                key: key(k),
                data: data(d),
            },
            Op::Verify {
                key: k,
                data: d,
                signature,
            } => Call::Verify {
                key: key(k),
                data: data(d),
                signature: Bytes(
                    self.signatures
                        .bytes(&signature)
                        .map_or_else(|| GARBAGE.to_vec(), <[u8]>::to_vec),
                ),
            },
            Op::Hmac { key: k, data: d } => Call::Hmac {
                key: key(k),
                data: data(d),
            },
            Op::Digest { data: d } => Call::Digest { data: data(d) },
        };
        Request::Step(Step {
            cluster: 0,
            client: a.client.index() as u64,
            hsm: a.hsm.index() as u64,
            call,
        })
    }

    /// The model key id of a handle the implementation answered where the model expects
    /// `expected`: a handle seen before keeps its key; a new one is bound to the key the
    /// model answers.
    fn key_of(&mut self, handle: &str, expected: &Outcome) -> Result<KeyId, Error> {
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
                Some(h) => diverged(format!(
                    "the implementation answered a new key handle `{handle}` where the model answers key {} (handle `{h}`)",
                    k.0
                )),
            },
            _ => diverged(format!(
                "the implementation answered Ok with a new key handle `{handle}`, the model answers {}",
                crate::runner::show(expected)
            )),
        }
    }

    /// The model's outcome for the implementation's reply to `a`, where the model answers
    /// `expected`. `expected` only *names* what the implementation produced (the token a new
    /// ciphertext stands for, the record set a digest set stands for); it never decides the
    /// answer. `Err` is a divergence the abstraction itself finds.
    pub fn outcome_of(
        &mut self,
        a: &Action,
        reply: Reply,
        expected: &Outcome,
    ) -> Result<Outcome, Error> {
        let op = a.op.operation().name();
        let answer = match reply {
            Reply::Ok(answer) => answer,
            Reply::Err(code) => {
                return ErrorCode::from_name(&code).map(Err).ok_or_else(|| {
                    Error::Divergence(format!(
                    "the implementation answered the error `{code}`, a code the spec does not have"
                ))
                })
            }
            Reply::Refused(r) => return diverged(format!("the implementation refused {op}: {r}")),
            Reply::Unsupported(u) => {
                return Err(Error::Unsupported(format!(
                    "the implementation does not support {op}: {u}"
                )))
            }
        };
        let exp_ok = expected.as_ref().ok();
        // Bytes the implementation made stand for the token the model answers (or for no
        // token at all where the model answers an error: the outcome differs anyway).
        fn token<T: Copy + Eq + std::hash::Hash + Ord>(
            table: &mut Tokens<T>,
            bytes: Bytes,
            expected: Option<T>,
            garbage: T,
        ) -> T {
            match expected {
                Some(tok) => {
                    table.learn(tok, bytes.0);
                    tok
                }
                None => garbage,
            }
        }
        let obs = match (a.op, answer) {
            (Op::Login { .. }, Answer::LoggedIn { role }) => Observation::LoggedIn(role),
            (
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
                | Op::SetAttribute { .. },
                Answer::Done {},
            ) => Observation::Done,
            (
                Op::GetClusterInfo,
                Answer::ClusterInfo {
                    activated,
                    hsms,
                    cluster_id,
                },
            ) => {
                if hsms.iter().enumerate().any(|(n, h)| h.index != n as u64) {
                    return diverged(format!(
                        "GetClusterInfo's HSM indexes are {}, not 0, 1, … in order",
                        hsms.iter()
                            .map(|h| h.index.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                if let Some(id) = cluster_id {
                    match &self.cluster_id {
                        Some(known) if *known != id => {
                            return diverged(
                                "GetClusterInfo answered another cluster id than the cluster's",
                            )
                        }
                        Some(_) => {}
                        None => self.cluster_id = Some(id),
                    }
                }
                Observation::ClusterInfo {
                    activated,
                    blank: hsms.iter().map(|h| h.blank).collect(),
                }
            }
            (Op::ListUsers, Answer::Users { users }) => {
                let mut out = Vec::new();
                for u in users {
                    out.push(hsm_model::UserEntry {
                        name: name_id(&self.cfg, &u.name)?,
                        role: u.role,
                        locked: u.locked,
                    });
                }
                Observation::Users(out)
            }
            (Op::GetSyncStatus, Answer::SyncStatus { digests }) => {
                let set: BTreeSet<Vec<u8>> = digests.into_iter().map(|d| d.0).collect();
                self.sync.abstract_status(set, expected)?
            }
            (Op::ExtractMasked { .. }, Answer::Masked { object }) => {
                let exp = match exp_ok {
                    Some(Observation::Masked(t)) => Some(*t),
                    _ => None,
                };
                Observation::Masked(token(&mut self.masked, object, exp, MaskedObject::Garbage))
            }
            (
                Op::InsertMasked { .. } | Op::GenerateKey { .. } | Op::UnwrapKey { .. },
                Answer::Key { key },
            ) => Observation::Key(self.key_of(&key, expected)?),
            (Op::WrapKey { .. }, Answer::Wrapped { wrapped }) => {
                let exp = match exp_ok {
                    Some(Observation::Wrapped(t)) => Some(*t),
                    _ => None,
                };
                Observation::Wrapped(token(&mut self.wrapped, wrapped, exp, WrappedKey::Garbage))
            }
            (Op::Encrypt { .. }, Answer::Ciphertext { ciphertext }) => {
                let exp = match exp_ok {
                    Some(Observation::Ciphertext(t)) => Some(*t),
                    _ => None,
                };
                Observation::Ciphertext(token(
                    &mut self.ciphertexts,
                    ciphertext,
                    exp,
                    Ciphertext::Garbage,
                ))
            }
            (Op::Decrypt { .. }, Answer::Plaintext { plaintext }) => {
                Observation::Plaintext(data_id(&self.cfg, &plaintext.0)?)
            }
            (Op::Sign { .. }, Answer::Signature { signature }) => {
                let exp = match exp_ok {
                    Some(Observation::Signature(t)) => Some(*t),
                    _ => None,
                };
                Observation::Signature(token(
                    &mut self.signatures,
                    signature,
                    exp,
                    Signature::Garbage,
                ))
            }
            (Op::Verify { .. }, Answer::Verified { valid }) => Observation::Verified(valid),
            (Op::Hmac { data: d, .. }, Answer::Tag { tag }) => {
                self.macs.abstract_tag(&tag.0, d, expected)?
            }
            (Op::Digest { data: d }, Answer::Digest { digest }) => {
                let want = Sha256::digest(self.data(d));
                if digest.0[..] != want[..] {
                    return diverged(format!(
                        "the digest of {} is not its SHA-256",
                        hsm_model::story::quoted(&self.cfg.data_text(d))
                    ));
                }
                Observation::Digest(d)
            }
            (_, _) => return diverged(format!("the Ok answer to {op} is of another operation")),
        };
        Ok(Ok(obs))
    }
}

/// Everything an [`Abstraction`] has learnt, as plain data: what a history file keeps, so that
/// the history can be judged again without running anything.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bindings {
    /// Each key's handle.
    pub keys: Vec<(KeyId, Handle)>,
    /// The bytes each masked-object token stands for (a token may have several; its
    /// first are what the runner sends, and so for the three below).
    pub masked: Vec<(MaskedObject, Bytes)>,
    /// The bytes each wrapped-key token stands for.
    pub wrapped: Vec<(WrappedKey, Bytes)>,
    /// The bytes each ciphertext token stands for.
    pub ciphertexts: Vec<(Ciphertext, Bytes)>,
    /// The bytes each signature token stands for.
    pub signatures: Vec<(Signature, Bytes)>,
    /// HMAC tags seen.
    pub tags: Vec<((hsm_model::state::Material, DataId), Bytes)>,
    /// Sync statuses seen.
    pub sync: Vec<(Vec<hsm_model::state::KeyRecord>, Vec<Bytes>)>,
    /// Another cluster's masked object, if made.
    pub foreign: Option<Bytes>,
    /// The cluster's id, if known.
    pub cluster_id: Option<String>,
}

impl Abstraction {
    /// What this abstraction has learnt.
    pub fn bindings(&self) -> Bindings {
        let mut keys: Vec<_> = self
            .key_handle
            .iter()
            .map(|(k, h)| (*k, h.clone()))
            .collect();
        keys.sort();
        Bindings {
            keys,
            masked: self.masked.entries(),
            wrapped: self.wrapped.entries(),
            ciphertexts: self.ciphertexts.entries(),
            signatures: self.signatures.entries(),
            tags: self.macs.entries(),
            sync: self.sync.entries(),
            foreign: self.foreign.clone().map(Bytes),
            cluster_id: self.cluster_id.clone(),
        }
    }

    /// An abstraction for a trace of `cfg` that has learnt `b`.
    pub fn with_bindings(cfg: &Config, b: Bindings) -> Abstraction {
        let mut a = Abstraction::new(cfg);
        for (k, h) in b.keys {
            a.handle_key.insert(h.clone(), k);
            a.key_handle.insert(k, h);
        }
        a.masked = Tokens::from_entries(b.masked);
        a.wrapped = Tokens::from_entries(b.wrapped);
        a.ciphertexts = Tokens::from_entries(b.ciphertexts);
        a.signatures = Tokens::from_entries(b.signatures);
        a.macs = MacLedger::from_entries(b.tags);
        a.sync = SyncLedger::from_entries(b.sync);
        a.foreign = b.foreign.map(|x| x.0);
        a.cluster_id = b.cluster_id;
        a
    }
}

/// Bytes of a masked object of another cluster, made through the protocol on the system's
/// second cluster (`reset` with `cluster: 1`, the spec's default policy) by the same
/// implementation: activate, create a CU named like the configuration's first name, log it in,
/// generate an AES key, extract it. Every one of these steps must succeed by the spec, so an
/// answer other than `ok` is a divergence (of the trace step that needed the object).
///
/// SPEC §2: a cluster has an identity. When cluster 0's id is known (`cluster_id`), cluster
/// 1's GetClusterInfo must name another one (if it names one at all).
pub fn foreign_object(
    t: &mut dyn Transport,
    cfg: &Config,
    cluster_id: Option<&str>,
) -> Result<Vec<u8>, Error> {
    let pw = cfg.au_password.clone();
    let owner = cfg
        .names
        .first()
        .map(|n| n.to_lowercase())
        .unwrap_or_else(|| "foreign".into());
    let context = "making a masked object of another cluster (cluster 1)";
    let mut must = |req: Request| -> Result<Answer, Error> {
        let what = match &req {
            Request::Step(s) => s.call.name(),
            r => r.kind(),
        };
        match t.call(&req)? {
            Reply::Ok(a) => Ok(a),
            Reply::Err(code) => diverged(format!(
                "{context}: {what} answered {code}, the spec answers Ok"
            )),
            Reply::Refused(m) => diverged(format!("{context}: {what} was refused: {m}")),
            Reply::Unsupported(m) => Err(Error::Unsupported(format!(
                "{context}: {what} is not supported: {m}"
            ))),
        }
    };
    must(Request::Reset {
        cluster: 1,
        hsms: 1,
        clients: 2,
        au_password: Password::new(pw.clone()),
        policy: Policy::spec_default(),
    })?;
    let step = |client: u64, call: Call| {
        Request::Step(Step {
            cluster: 1,
            client,
            hsm: 0,
            call,
        })
    };
    for (c, call) in [
        (
            0,
            Call::Login {
                name: "admin".into(),
                password: Password::new("password"),
            },
        ),
        (
            0,
            Call::ChangeOwnPassword {
                password: Password::new(pw.clone()),
            },
        ),
        (
            0,
            Call::CreateUser {
                name: owner.clone(),
                role: Role::CryptoUser,
                password: Password::new(pw.clone()),
            },
        ),
        (
            1,
            Call::Login {
                name: owner.clone(),
                password: Password::new(pw.clone()),
            },
        ),
    ] {
        must(step(c, call))?;
    }
    if let Answer::ClusterInfo {
        cluster_id: Some(other),
        ..
    } = must(step(1, Call::GetClusterInfo {}))?
    {
        if cluster_id == Some(other.as_str()) {
            return diverged(format!(
                "{context}: GetClusterInfo answered cluster 0's id: two clusters have the same identity"
            ));
        }
    }
    let Answer::Key { key } = must(step(
        1,
        Call::GenerateKey {
            kind: hsm_model::KeyKind::Aes256,
            extractable: true,
        },
    ))?
    else {
        return diverged(format!("{context}: GenerateKey answered no key"));
    };
    match must(step(1, Call::ExtractMasked { key }))? {
        Answer::Masked { object } => Ok(object.0),
        _ => diverged(format!("{context}: ExtractMasked answered no object")),
    }
}

/// Makes another cluster's masked object for `abs` through `t` if `a` needs it.
pub fn prepare(abs: &mut Abstraction, t: &mut dyn Transport, a: &Action) -> Result<(), Error> {
    if abs.needs_foreign(a) {
        let bytes = foreign_object(t, &abs.cfg, abs.cluster_id.as_deref())?;
        abs.foreign = Some(bytes);
    }
    Ok(())
}
