//! Giving a scenario meaning: the tables its texts imply (names, passwords, labels, data,
//! clients, HSMs) become a [`Config`]; then every step becomes an [`Action`] of the model, runs
//! on it, and its expected outcome is checked. Bindings hold what a step returned, as the
//! model's observation, so a later step uses exactly what the model produced.

use super::syntax::{Atom, Detail, Expect, StepLine, TokKind};
use super::write::{render_outcome, Names};
use super::{at, suggest, Pos, Scenario};
use crate::action::{Action, Observation, Op, Outcome};
use crate::config::{Config, PoolBounds};
use crate::policy::{canonical_name, Policy};
use crate::state::*;
use crate::trace::{Trace, TraceStep};
use crate::vocab::{ErrorCode, Families, KeyKind, Operation, Role};
use crate::Error;
use std::collections::BTreeMap;

/// One step of a scenario once run on the model.
#[derive(Clone, Debug)]
pub struct ScenarioStep {
    /// Where the step is written.
    pub pos: Pos,
    /// The client, as the scenario names it.
    pub client: String,
    /// The model's action.
    pub action: Action,
    /// The model's outcome (the scenario's expectation agrees with it).
    pub outcome: Outcome,
}

/// A scenario run on the model: the trace to replay, and where each of its steps is written.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The trace: the scenario's configuration and its steps with the model's outcomes.
    pub trace: Trace,
    /// The steps, in the trace's order.
    pub steps: Vec<ScenarioStep>,
}

impl Compiled {
    /// Where trace step `step` (from 1) is written in the scenario.
    pub fn pos_of(&self, step: usize) -> Option<Pos> {
        step.checked_sub(1)
            .and_then(|i| self.steps.get(i))
            .map(|s| s.pos)
    }
}

/// What an argument position of an operation takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Name,
    Password,
    Role,
    Kind,
    Key,
    Masked,
    Wrapped,
    Ciphertext,
    Signature,
    Label,
    Data,
    Hsm,
}

/// The arguments of `op`, in order, and how its line reads (for messages).
fn signature(op: Operation) -> (&'static [Slot], &'static str) {
    use Operation::*;
    use Slot::*;
    match op {
        Login => (&[Name, Password], "Login NAME PASSWORD"),
        Logout => (&[], "Logout"),
        GetClusterInfo => (&[], "GetClusterInfo"),
        ListUsers => (&[], "ListUsers"),
        Zeroize => (&[], "Zeroize"),
        ChangeOwnPassword => (&[Password], "ChangeOwnPassword PASSWORD"),
        ChangePassword => (&[Name, Password], "ChangePassword NAME PASSWORD"),
        CreateUser => (&[Name, Role, Password], "CreateUser NAME ROLE PASSWORD"),
        DeleteUser => (&[Name], "DeleteUser NAME"),
        GetSyncStatus => (&[], "GetSyncStatus"),
        ExtractMasked => (&[Key], "ExtractMasked KEY"),
        InsertMasked => (
            &[Masked],
            "InsertMasked MASKED (a binding, foreign or garbage)",
        ),
        Clone => (&[Hsm], "Clone FROM-HSM"),
        GenerateKey => (&[Kind], "GenerateKey aes|hmac|signing [not-extractable]"),
        DeleteKey => (&[Key], "DeleteKey KEY"),
        ShareKey => (&[Key, Name], "ShareKey KEY NAME"),
        UnshareKey => (&[Key, Name], "UnshareKey KEY NAME"),
        SetAttribute => (&[Key, Label], "SetAttribute KEY LABEL"),
        WrapKey => (&[Key, Key], "WrapKey KEY WRAPPING-KEY"),
        UnwrapKey => (
            &[Wrapped, Key],
            "UnwrapKey WRAPPED (a binding or garbage) WRAPPING-KEY",
        ),
        Encrypt => (&[Key, Data], "Encrypt KEY DATA"),
        Decrypt => (
            &[Key, Ciphertext],
            "Decrypt KEY CIPHERTEXT (a binding or garbage)",
        ),
        Sign => (&[Key, Data], "Sign KEY DATA"),
        Verify => (
            &[Key, Data, Signature],
            "Verify KEY DATA SIGNATURE (a binding or garbage)",
        ),
        Hmac => (&[Key, Data], "Hmac KEY DATA"),
        Digest => (&[Data], "Digest DATA"),
    }
}

/// Words that stand for an object no HSM made; no binding may take these names.
const RESERVED: [&str; 3] = ["foreign", "garbage", "ok"];

/// The word of a key kind.
pub(crate) fn kind_word(k: KeyKind) -> &'static str {
    match k {
        KeyKind::Aes256 => "aes",
        KeyKind::HmacSha256 => "hmac",
        KeyKind::Signing => "signing",
    }
}

fn operation_named(word: &str, pos: Pos) -> Result<Operation, Error> {
    Operation::ALL
        .into_iter()
        .find(|o| o.name() == word)
        .ok_or_else(|| {
            at(
                pos,
                format!(
                    "no operation `{word}`{}",
                    suggest(word, Operation::ALL.iter().map(|o| o.name()))
                ),
            )
        })
}

fn role_named(a: &Atom) -> Result<Role, Error> {
    match &a.kind {
        TokKind::Word(w) => Role::ALL.into_iter().find(|r| r.short() == w),
        _ => None,
    }
    .ok_or_else(|| {
        at(
            a.pos,
            format!(
                "expected a role (PRECO, CO, CU, AU), found {}",
                a.kind.describe()
            ),
        )
    })
}

/// The text of an atom in a text position (a name, a password, a label, a datum).
fn text_of(a: &Atom, what: &str) -> Result<String, Error> {
    match &a.kind {
        TokKind::Word(w) | TokKind::Text(w) => Ok(w.clone()),
        other => Err(at(
            a.pos,
            format!(
                "expected {what}, found {} (texts that are not words go in quotes)",
                other.describe()
            ),
        )),
    }
}

/// The texts a scenario uses, in the order of first use: the configuration's tables.
#[derive(Default)]
struct Tables {
    names: Vec<String>,
    invalid: Vec<String>,
    spellings: Vec<String>,
    passwords: Vec<String>,
    labels: Vec<String>,
    data: Vec<String>,
    clients: Vec<String>,
}

fn add(table: &mut Vec<String>, text: &str, cap: usize, pos: Pos, what: &str) -> Result<(), Error> {
    if table.iter().any(|t| t == text) {
        return Ok(());
    }
    if table.len() == cap {
        return Err(at(
            pos,
            format!(
                "{text:?} would be the {} {what}: the model holds at most {cap} ({})",
                ordinal(cap + 1),
                table.join(", ")
            ),
        ));
    }
    table.push(text.to_string());
    Ok(())
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl Tables {
    fn name(&mut self, text: &str, pos: Pos, policy: &Policy) -> Result<(), Error> {
        let canonical = canonical_name(text);
        if text == "admin" || text == "app_user" {
            return Ok(());
        }
        if canonical == "admin" || canonical == "app_user" {
            return add(
                &mut self.spellings,
                text,
                8,
                pos,
                "other spelling of a name",
            );
        }
        if !policy.name_is_valid(text) {
            return add(&mut self.invalid, text, 3, pos, "invalid name");
        }
        match self.names.iter().find(|n| canonical_name(n) == canonical) {
            Some(n) if n == text => Ok(()),
            Some(_) => add(
                &mut self.spellings,
                text,
                8,
                pos,
                "other spelling of a name",
            ),
            None => add(
                &mut self.names,
                text,
                Large::NAMES - 2,
                pos,
                "user name beside admin and app_user",
            ),
        }
    }

    fn name_id(&self, text: &str) -> NameId {
        let valid = 2 + self.names.len();
        let find = |t: &Vec<String>| t.iter().position(|x| x == text);
        let id = match text {
            "admin" => 0,
            "app_user" => 1,
            _ => find(&self.names)
                .map(|i| 2 + i)
                .or_else(|| find(&self.invalid).map(|i| valid + i))
                .or_else(|| find(&self.spellings).map(|i| valid + self.invalid.len() + i))
                .unwrap_or(0),
        };
        NameId(id as u8)
    }

    fn password(&mut self, text: &str, au: &str, pos: Pos) -> Result<(), Error> {
        if text == "password" || text == au {
            return Ok(());
        }
        add(
            &mut self.passwords,
            text,
            Large::PASSWORDS,
            pos,
            "password beside `password` and the AU's",
        )
    }

    fn password_id(&self, text: &str, au: &str) -> PasswordId {
        PasswordId(if text == "password" {
            0
        } else if text == au {
            1
        } else {
            self.passwords
                .iter()
                .position(|p| p == text)
                .map_or(0, |i| i + 2) as u8
        })
    }
}

/// What an expected `ok` asks of the answer.
enum Want {
    /// Any Ok.
    Any,
    Role(Role),
    Key(KeyId),
    Plain(String),
    Valid(bool),
    /// ListUsers: (stored name, role, locked) of every user.
    Users(Vec<(String, Role, bool)>),
    Cluster {
        activated: bool,
        blank: Option<Vec<u64>>,
    },
    /// GetSyncStatus: the ids of the keys its digests cover.
    Keys(Vec<KeyId>),
    /// The same answer as the one bound to a name.
    Same(Observation),
}

struct Binding {
    value: Observation,
    line: usize,
}

fn what_bound(o: &Observation) -> &'static str {
    match o {
        Observation::Key(_) => "a key",
        Observation::Masked(_) => "a masked object",
        Observation::Wrapped(_) => "wrapped bytes",
        Observation::Ciphertext(_) => "a ciphertext",
        Observation::Signature(_) => "a signature",
        Observation::SyncStatus(_) => "a sync status",
        Observation::Mac { .. } => "an HMAC tag",
        Observation::Digest(_) => "a digest",
        _ => "an answer",
    }
}

struct Runner<'a> {
    sc: &'a Scenario,
    tables: Tables,
    cfg: Config,
    bindings: BTreeMap<String, Binding>,
}

impl Runner<'_> {
    fn binding(&self, a: &Atom, what: &str) -> Result<&Observation, Error> {
        let TokKind::Word(w) = &a.kind else {
            return Err(at(
                a.pos,
                format!("expected {what}, found {}", a.kind.describe()),
            ));
        };
        match self.bindings.get(w) {
            Some(b) => Ok(&b.value),
            None => Err(at(
                a.pos,
                format!(
                    "`{w}` is bound by no earlier step{}{}",
                    suggest(w, self.bindings.keys().map(String::as_str)),
                    if self.bindings.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (bound so far: {})",
                            self.bindings.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    }
                ),
            )),
        }
    }

    fn wrong_kind(&self, a: &Atom, want: &str) -> Error {
        let (w, b) = match &a.kind {
            TokKind::Word(w) => (w.as_str(), self.bindings.get(w)),
            _ => ("", None),
        };
        match b {
            Some(b) => at(
                a.pos,
                format!(
                    "`{w}` is {} (bound at line {}), not {want}",
                    what_bound(&b.value),
                    b.line
                ),
            ),
            None => at(
                a.pos,
                format!("expected {want}, found {}", a.kind.describe()),
            ),
        }
    }

    fn key(&self, a: &Atom) -> Result<KeyId, Error> {
        match &a.kind {
            TokKind::KeyId(n) if (1..=Large::KEY_IDS as u64).contains(n) => Ok(KeyId(*n as u8)),
            TokKind::KeyId(n) => Err(at(
                a.pos,
                format!(
                    "key id #{n}: the model holds key ids #1 to #{}",
                    Large::KEY_IDS
                ),
            )),
            TokKind::Word(_) => match self.binding(a, "a key")? {
                Observation::Key(k) => Ok(*k),
                _ => Err(self.wrong_kind(a, "a key")),
            },
            other => Err(at(
                a.pos,
                format!(
                    "expected a key (a binding or #N), found {}",
                    other.describe()
                ),
            )),
        }
    }

    fn word_is(a: &Atom, w: &str) -> bool {
        matches!(&a.kind, TokKind::Word(x) if x == w)
    }

    fn arg(&self, slot: Slot, a: &Atom) -> Result<Value, Error> {
        let au = &self.sc.au_password.0;
        Ok(match slot {
            Slot::Name => Value::Name(self.tables.name_id(&text_of(a, "a user name")?)),
            Slot::Password => {
                Value::Password(self.tables.password_id(&text_of(a, "a password")?, au))
            }
            Slot::Role => Value::Role(role_named(a)?),
            Slot::Kind => Value::Kind(
                KeyKind::ALL
                    .into_iter()
                    .find(|k| Self::word_is(a, kind_word(*k)))
                    .ok_or_else(|| {
                        at(
                            a.pos,
                            format!(
                                "expected a key kind (aes, hmac, signing), found {}",
                                a.kind.describe()
                            ),
                        )
                    })?,
            ),
            Slot::Key => Value::Key(self.key(a)?),
            Slot::Masked if Self::word_is(a, "foreign") => Value::Masked(MaskedObject::Foreign),
            Slot::Masked if Self::word_is(a, "garbage") => Value::Masked(MaskedObject::Garbage),
            Slot::Masked => match self.binding(a, "a masked object")? {
                Observation::Masked(m) => Value::Masked(*m),
                _ => return Err(self.wrong_kind(a, "a masked object")),
            },
            Slot::Wrapped if Self::word_is(a, "garbage") => Value::Wrapped(WrappedKey::Garbage),
            Slot::Wrapped => match self.binding(a, "wrapped bytes")? {
                Observation::Wrapped(w) => Value::Wrapped(*w),
                _ => return Err(self.wrong_kind(a, "wrapped bytes")),
            },
            Slot::Ciphertext if Self::word_is(a, "garbage") => {
                Value::Ciphertext(Ciphertext::Garbage)
            }
            Slot::Ciphertext => match self.binding(a, "a ciphertext")? {
                Observation::Ciphertext(c) => Value::Ciphertext(*c),
                _ => return Err(self.wrong_kind(a, "a ciphertext")),
            },
            Slot::Signature if Self::word_is(a, "garbage") => Value::Signature(Signature::Garbage),
            Slot::Signature => match self.binding(a, "a signature")? {
                Observation::Signature(s) => Value::Signature(*s),
                _ => return Err(self.wrong_kind(a, "a signature")),
            },
            Slot::Label => {
                let t = text_of(a, "a label")?;
                Value::Label(LabelId(
                    self.cfg
                        .labels
                        .iter()
                        .position(|l| *l == t)
                        .map_or(0, |i| i + 1) as u8,
                ))
            }
            Slot::Data => {
                let t = text_of(a, "data")?;
                Value::Data(DataId(
                    self.cfg.data.iter().position(|d| *d == t).unwrap_or(0) as u8,
                ))
            }
            Slot::Hsm => match a.kind {
                TokKind::Int(n) if n < 8 => Value::Hsm(HsmId(n as u8)),
                _ => {
                    return Err(at(
                        a.pos,
                        format!(
                            "expected an HSM's number (0 to 7), found {}",
                            a.kind.describe()
                        ),
                    ))
                }
            },
        })
    }

    fn want(&self, op: Operation, details: &[Detail]) -> Result<Want, Error> {
        use Operation::*;
        let Some(first) = details.first() else {
            return Ok(Want::Any);
        };
        let only = |n: usize, what: &str| -> Result<(), Error> {
            match details.get(n) {
                Some(d) => Err(at(d.pos(), format!("nothing more may follow {what}"))),
                None => Ok(()),
            }
        };
        let atom = |d: &Detail, what: &str| -> Result<Atom, Error> {
            match d {
                Detail::Atom(a) => Ok(a.clone()),
                Detail::List { pos, .. } => Err(at(*pos, format!("expected {what}, found a list"))),
            }
        };
        let want = match op {
            Login => {
                only(1, "the role")?;
                Want::Role(role_named(&atom(first, "a role")?)?)
            }
            GenerateKey | UnwrapKey | InsertMasked => {
                only(1, "the key")?;
                Want::Key(self.key(&atom(first, "a key")?)?)
            }
            Decrypt => {
                only(1, "the plaintext")?;
                Want::Plain(text_of(&atom(first, "the plaintext")?, "the plaintext")?)
            }
            Verify => {
                only(1, "valid or invalid")?;
                let a = atom(first, "valid or invalid")?;
                if Self::word_is(&a, "valid") {
                    Want::Valid(true)
                } else if Self::word_is(&a, "invalid") {
                    Want::Valid(false)
                } else {
                    return Err(at(
                        a.pos,
                        format!("expected valid or invalid, found {}", a.kind.describe()),
                    ));
                }
            }
            ListUsers => {
                only(1, "the list of users")?;
                let Detail::List { items, .. } = first else {
                    return Err(at(
                        first.pos(),
                        "expected the users as a list: [admin PRECO, app_user AU]",
                    ));
                };
                let mut users = Vec::new();
                for item in items {
                    let name = canonical_name(&text_of(&item[0], "a user name")?);
                    let role = match item.get(1) {
                        Some(r) => role_named(r)?,
                        None => return Err(at(item[0].pos, format!("a role after `{name}`"))),
                    };
                    let locked = match item.get(2) {
                        None => false,
                        Some(a) if Self::word_is(a, "locked") => true,
                        Some(a) => {
                            return Err(at(
                                a.pos,
                                format!("expected `locked` or `,`, found {}", a.kind.describe()),
                            ))
                        }
                    };
                    if let Some(a) = item.get(3) {
                        return Err(at(a.pos, "expected `,` or `]`"));
                    }
                    users.push((name, role, locked));
                }
                users.sort();
                Want::Users(users)
            }
            GetClusterInfo => {
                let a = atom(first, "activated or unactivated")?;
                let activated = if Self::word_is(&a, "activated") {
                    true
                } else if Self::word_is(&a, "unactivated") {
                    false
                } else {
                    return Err(at(
                        a.pos,
                        format!(
                            "expected activated or unactivated, found {}",
                            a.kind.describe()
                        ),
                    ));
                };
                let blank = match details.get(1) {
                    None => None,
                    Some(Detail::Atom(b)) if Self::word_is(b, "blank") => match details.get(2) {
                        Some(Detail::List { items, .. }) => {
                            let mut hsms = Vec::new();
                            for item in items {
                                match (&item[0].kind, item.len()) {
                                    (TokKind::Int(n), 1) => hsms.push(*n),
                                    _ => return Err(at(item[0].pos, "expected an HSM's number")),
                                }
                            }
                            hsms.sort_unstable();
                            only(3, "the blank HSMs")?;
                            Some(hsms)
                        }
                        _ => {
                            return Err(at(
                                b.pos,
                                "`blank` is followed by a list of HSMs: blank [1, 2]",
                            ))
                        }
                    },
                    Some(d) => return Err(at(d.pos(), "expected `blank [HSMs]`")),
                };
                Want::Cluster { activated, blank }
            }
            GetSyncStatus => {
                only(1, "the keys")?;
                match first {
                    Detail::List { items, .. } => {
                        let mut keys = Vec::new();
                        for item in items {
                            if let Some(a) = item.get(1) {
                                return Err(at(a.pos, "expected `,` or `]`"));
                            }
                            keys.push(self.key(&item[0])?);
                        }
                        keys.sort();
                        Want::Keys(keys)
                    }
                    Detail::Atom(a) => self.same(
                        a,
                        |o| matches!(o, Observation::SyncStatus(_)),
                        "a sync status",
                    )?,
                }
            }
            ExtractMasked | WrapKey | Encrypt | Sign | Hmac | Digest => {
                only(1, "the binding it equals")?;
                let a = atom(first, "a binding")?;
                let (pred, what): (fn(&Observation) -> bool, &str) = match op {
                    ExtractMasked => (|o| matches!(o, Observation::Masked(_)), "a masked object"),
                    WrapKey => (|o| matches!(o, Observation::Wrapped(_)), "wrapped bytes"),
                    Encrypt => (|o| matches!(o, Observation::Ciphertext(_)), "a ciphertext"),
                    Sign => (|o| matches!(o, Observation::Signature(_)), "a signature"),
                    Hmac => (|o| matches!(o, Observation::Mac { .. }), "an HMAC tag"),
                    _ => (|o| matches!(o, Observation::Digest(_)), "a digest"),
                };
                self.same(&a, pred, what)?
            }
            _ => {
                return Err(at(
                    first.pos(),
                    format!("{op} answers nothing to compare: write `ok` alone"),
                ))
            }
        };
        Ok(want)
    }

    fn same(&self, a: &Atom, pred: fn(&Observation) -> bool, what: &str) -> Result<Want, Error> {
        let v = self.binding(a, what)?;
        if !pred(v) {
            return Err(self.wrong_kind(a, what));
        }
        Ok(Want::Same(v.clone()))
    }

    fn matches(&self, want: &Want, obs: &Observation) -> bool {
        match (want, obs) {
            (Want::Any, _) => true,
            (Want::Role(r), Observation::LoggedIn(x)) => r == x,
            (Want::Key(k), Observation::Key(x)) => k == x,
            (Want::Plain(t), Observation::Plaintext(d)) => *t == self.cfg.data_text(*d),
            (Want::Valid(v), Observation::Verified(x)) => v == x,
            (Want::Users(u), Observation::Users(list)) => {
                let mut got: Vec<_> = list
                    .iter()
                    .map(|e| (self.cfg.stored_name(e.name), e.role, e.locked))
                    .collect();
                got.sort();
                *u == got
            }
            (
                Want::Cluster { activated, blank },
                Observation::ClusterInfo {
                    activated: a,
                    blank: b,
                },
            ) => {
                let blanks: Vec<u64> = (0..b.len() as u64).filter(|&i| b[i as usize]).collect();
                activated == a && blank.as_ref().is_none_or(|w| *w == blanks)
            }
            (Want::Keys(k), Observation::SyncStatus(records)) => {
                let mut ids: Vec<KeyId> = records.iter().map(|r| r.id).collect();
                ids.sort();
                *k == ids
            }
            (Want::Same(v), o) => v == o,
            _ => false,
        }
    }
}

/// An argument resolved to the model's terms.
enum Value {
    Name(NameId),
    Password(PasswordId),
    Role(Role),
    Kind(KeyKind),
    Key(KeyId),
    Masked(MaskedObject),
    Wrapped(WrappedKey),
    Ciphertext(Ciphertext),
    Signature(Signature),
    Label(LabelId),
    Data(DataId),
    Hsm(HsmId),
}

/// The operation `op` with its resolved arguments (`values` follow [`signature`]).
fn build(op: Operation, v: &[Value], extractable: bool) -> Op {
    use Value as V;
    macro_rules! get {
        ($i:expr, $p:ident) => {
            match v.get($i) {
                Some(V::$p(x)) => *x,
                _ => Default::default(),
            }
        };
    }
    let name = |i| get!(i, Name);
    let pw = |i| get!(i, Password);
    let key = |i| get!(i, Key);
    let data = |i| get!(i, Data);
    match op {
        Operation::Login => Op::Login {
            name: name(0),
            password: pw(1),
        },
        Operation::Logout => Op::Logout,
        Operation::GetClusterInfo => Op::GetClusterInfo,
        Operation::ListUsers => Op::ListUsers,
        Operation::Zeroize => Op::Zeroize,
        Operation::ChangeOwnPassword => Op::ChangeOwnPassword { password: pw(0) },
        Operation::ChangePassword => Op::ChangePassword {
            name: name(0),
            password: pw(1),
        },
        Operation::CreateUser => Op::CreateUser {
            name: name(0),
            role: match v.get(1) {
                Some(V::Role(r)) => *r,
                _ => Role::CryptoUser,
            },
            password: pw(2),
        },
        Operation::DeleteUser => Op::DeleteUser { name: name(0) },
        Operation::GetSyncStatus => Op::GetSyncStatus,
        Operation::ExtractMasked => Op::ExtractMasked { key: key(0) },
        Operation::InsertMasked => Op::InsertMasked {
            object: match v.first() {
                Some(V::Masked(m)) => *m,
                _ => MaskedObject::Garbage,
            },
        },
        Operation::Clone => Op::Clone { from: get!(0, Hsm) },
        Operation::GenerateKey => Op::GenerateKey {
            kind: match v.first() {
                Some(V::Kind(k)) => *k,
                _ => KeyKind::Aes256,
            },
            extractable,
        },
        Operation::DeleteKey => Op::DeleteKey { key: key(0) },
        Operation::ShareKey => Op::ShareKey {
            key: key(0),
            name: name(1),
        },
        Operation::UnshareKey => Op::UnshareKey {
            key: key(0),
            name: name(1),
        },
        Operation::SetAttribute => Op::SetAttribute {
            key: key(0),
            label: get!(1, Label),
        },
        Operation::WrapKey => Op::WrapKey {
            key: key(0),
            wrapping: key(1),
        },
        Operation::UnwrapKey => Op::UnwrapKey {
            wrapped: match v.first() {
                Some(V::Wrapped(w)) => *w,
                _ => WrappedKey::Garbage,
            },
            wrapping: key(1),
        },
        Operation::Encrypt => Op::Encrypt {
            key: key(0),
            data: data(1),
        },
        Operation::Decrypt => Op::Decrypt {
            key: key(0),
            ciphertext: match v.get(1) {
                Some(V::Ciphertext(c)) => *c,
                _ => Ciphertext::Garbage,
            },
        },
        Operation::Sign => Op::Sign {
            key: key(0),
            data: data(1),
        },
        Operation::Verify => Op::Verify {
            key: key(0),
            data: data(1),
            signature: match v.get(2) {
                Some(V::Signature(s)) => *s,
                _ => Signature::Garbage,
            },
        },
        Operation::Hmac => Op::Hmac {
            key: key(0),
            data: data(1),
        },
        Operation::Digest => Op::Digest { data: data(0) },
    }
}

/// A step's arguments in their slots, and whether its key is to be extractable.
type Slotted<'s> = (Vec<(Slot, &'s Atom)>, bool);

/// The arguments of a step in their slots, and whether a GenerateKey asks for a key that is
/// not extractable (its optional last word).
fn slots(step: &StepLine, op: Operation) -> Result<Slotted<'_>, Error> {
    let (sig, usage) = signature(op);
    let mut args: &[Atom] = &step.args;
    let mut extractable = true;
    if op == Operation::GenerateKey {
        if let Some(last) = args.last().filter(|_| args.len() == 2) {
            match &last.kind {
                TokKind::Word(w) if w == "not-extractable" => extractable = false,
                TokKind::Word(w) if w == "extractable" => {}
                _ => {
                    return Err(at(
                        last.pos,
                        format!(
                            "expected `not-extractable`, found {}: {usage}",
                            last.kind.describe()
                        ),
                    ))
                }
            }
            args = &args[..1];
        }
    }
    if args.len() != sig.len() {
        let pos = args.get(sig.len()).map_or(step.expect.1, |a| a.pos);
        return Err(at(
            pos,
            format!(
                "{} takes {} argument{}, not {}: {usage}",
                op,
                sig.len(),
                if sig.len() == 1 { "" } else { "s" },
                args.len()
            ),
        ));
    }
    Ok((sig.iter().copied().zip(args.iter()).collect(), extractable))
}

/// Runs `sc` on the model (see [`Scenario::run`]).
pub(super) fn run(sc: &Scenario) -> Result<Compiled, Error> {
    let policy = sc.policy;
    let (au, au_pos) = (
        &sc.au_password.0,
        sc.au_password.1.unwrap_or(Pos { line: 1, column: 1 }),
    );
    if au == "password" {
        return Err(at(
            au_pos,
            "the AU's password may not be `password`, the PRECO's",
        ));
    }
    if !policy.password_is_valid(au) {
        return Err(at(
            au_pos,
            format!("the AU's password {au:?} is not valid under the policy"),
        ));
    }
    // First pass: the tables, the clients and the HSMs.
    let mut t = Tables::default();
    let mut ops = Vec::new();
    let mut top_hsm = 0u64;
    for step in &sc.steps {
        let op = operation_named(&step.op.0, step.op.1)?;
        let (args, _) = slots(step, op)?;
        for (slot, a) in args {
            match slot {
                Slot::Name => t.name(&text_of(a, "a user name")?, a.pos, &policy)?,
                Slot::Password => t.password(&text_of(a, "a password")?, au, a.pos)?,
                Slot::Label => {
                    let l = text_of(a, "a label")?;
                    if !l.is_empty() {
                        add(
                            &mut t.labels,
                            &l,
                            Large::VALUES,
                            a.pos,
                            "label beside the empty one",
                        )?;
                    }
                }
                Slot::Data => add(
                    &mut t.data,
                    &text_of(a, "data")?,
                    Large::VALUES,
                    a.pos,
                    "datum",
                )?,
                _ => {}
            }
        }
        if let (Expect::Ok(d), Operation::ListUsers) = (&step.expect.0, op) {
            for item in d
                .iter()
                .filter_map(|d| match d {
                    Detail::List { items, .. } => Some(items),
                    _ => None,
                })
                .flatten()
            {
                let n = text_of(&item[0], "a user name")?;
                t.name(&n, item[0].pos, &policy)?;
            }
        }
        if RESERVED.contains(&step.client.0.as_str()) {
            return Err(at(
                step.client.1,
                format!("`{}` cannot name a client", step.client.0),
            ));
        }
        add(
            &mut t.clients,
            &step.client.0,
            Large::CLIENTS,
            step.client.1,
            "client",
        )?;
        top_hsm = top_hsm.max(step.hsm.map_or(0, |h| h.0));
        ops.push(op);
    }
    let hsms = match sc.hsms {
        Some((n, pos)) => {
            if !(1..=Large::HSMS as u64).contains(&n) {
                return Err(at(
                    pos,
                    format!("the model holds 1 to {} HSMs", Large::HSMS),
                ));
            }
            n
        }
        None => top_hsm + 1,
    };
    if hsms > Large::HSMS as u64 {
        let pos = sc
            .steps
            .iter()
            .find_map(|s| s.hsm.filter(|h| h.0 >= Large::HSMS as u64))
            .map_or(Pos::default(), |h| h.1);
        return Err(at(
            pos,
            format!(
                "the model holds at most {} HSMs (0 to {})",
                Large::HSMS,
                Large::HSMS - 1
            ),
        ));
    }
    if let Some((n, pos)) = sc.steps.iter().find_map(|s| s.hsm.filter(|h| h.0 >= hsms)) {
        return Err(at(
            pos,
            format!("HSM {n}, but the header says `hsms: {hsms}`"),
        ));
    }
    let pool = Large::POOL as u8;
    // Every field is set here; `small` only supplies what tests may plant.
    let mut cfg = Config::small();
    cfg.name = "scenario".into();
    cfg.hsms = hsms as u8;
    cfg.clients = t.clients.len() as u8;
    cfg.names = t.names.clone();
    cfg.invalid_names = t.invalid.clone();
    cfg.spellings = t.spellings.clone();
    cfg.au_password = au.clone();
    cfg.passwords = t.passwords.clone();
    cfg.key_ids = Large::KEY_IDS as u8;
    cfg.kinds = KeyKind::ALL.to_vec();
    cfg.wrong_logins = true;
    cfg.non_extractable = true;
    cfg.labels = t.labels.clone();
    cfg.data = if t.data.is_empty() {
        vec!["data".into()]
    } else {
        t.data.clone()
    };
    cfg.pools = PoolBounds {
        masked: pool,
        wrapped: pool,
        ciphertexts: pool,
        signatures: pool,
    };
    cfg.policy = policy;
    cfg.families = Families::all();
    cfg.setup = vec![];
    cfg.symmetry = false;
    cfg.validate_for::<Large>()
        .map_err(|e| at(au_pos, e.to_string()))?;
    // Second pass: every step on the model.
    let mut r = Runner {
        sc,
        tables: t,
        cfg,
        bindings: BTreeMap::new(),
    };
    let mut state = LargeState::new_cluster();
    let mut steps = Vec::new();
    for (step, &op) in sc.steps.iter().zip(&ops) {
        let (args, extractable) = slots(step, op)?;
        let values = args
            .iter()
            .map(|(slot, a)| r.arg(*slot, a))
            .collect::<Result<Vec<_>, _>>()?;
        let client = r
            .tables
            .clients
            .iter()
            .position(|c| *c == step.client.0)
            .unwrap_or(0);
        let action = Action {
            client: ClientId(client as u8),
            hsm: HsmId(step.hsm.map_or(0, |h| h.0 as u8)),
            op: build(op, &values, extractable),
        };
        r.cfg.check_action(&action).map_err(|m| at(step.op.1, m))?;
        let (expect, epos) = &step.expect;
        let want = match expect {
            Expect::Ok(d) => Some(r.want(op, d)?),
            Expect::Err(code) => {
                if ErrorCode::from_name(code).is_none() {
                    return Err(at(
                        *epos,
                        format!(
                            "no error code `{code}`{}",
                            suggest(code, ErrorCode::ALL.iter().map(|c| c.name()))
                        ),
                    ));
                }
                None
            }
        };
        if let Some((b, bpos)) = &step.bind {
            if RESERVED.contains(&b.as_str()) {
                return Err(at(
                    *bpos,
                    format!("`{b}` is a word of the format, not a name to bind"),
                ));
            }
            if let Some(prev) = r.bindings.get(b) {
                return Err(at(
                    *bpos,
                    format!("`{b}` is bound already, at line {}", prev.line),
                ));
            }
        }
        let (outcome, next) = r.cfg.step(&state, &action);
        if next.flags & flags::CAPACITY_EXCEEDED != 0 {
            return Err(at(step.op.1, format!(
                "this step goes beyond the model's capacity ({} key ids, {} objects of each kind that left an HSM, the foreign masked object included)",
                Large::KEY_IDS, Large::POOL
            )));
        }
        let agrees = match (&want, expect, &outcome) {
            (Some(w), _, Ok(obs)) => r.matches(w, obs),
            (None, Expect::Err(code), Err(c)) => c.name() == code,
            _ => false,
        };
        if !agrees {
            let names = Names::of(r.bindings.iter().filter_map(|(n, b)| match b.value {
                Observation::Key(k) => Some((k, n.clone())),
                _ => None,
            }));
            return Err(Error::ScenarioDisagrees {
                line: epos.line,
                column: epos.column,
                expected: show_expect(expect),
                model: render_outcome(&r.cfg, &names, &outcome),
            });
        }
        if let Some((b, bpos)) = &step.bind {
            match &outcome {
                Ok(Observation::Done)
                | Ok(Observation::LoggedIn(_))
                | Ok(Observation::Users(_))
                | Ok(Observation::ClusterInfo { .. })
                | Ok(Observation::Plaintext(_))
                | Ok(Observation::Verified(_)) => {
                    return Err(at(
                        *bpos,
                        format!(
                            "`{b}` would bind nothing: {op} returns nothing later steps can use"
                        ),
                    ));
                }
                Ok(obs) => {
                    r.bindings.insert(
                        b.clone(),
                        Binding {
                            value: obs.clone(),
                            line: bpos.line,
                        },
                    );
                }
                Err(_) => {
                    return Err(at(
                        *bpos,
                        format!("`{b}` binds what the step returns, but it answers an error"),
                    ))
                }
            }
        }
        steps.push(ScenarioStep {
            pos: step.pos,
            client: step.client.0.clone(),
            action,
            outcome: outcome.clone(),
        });
        state = next;
    }
    let trace_steps = steps
        .iter()
        .map(|s| TraceStep {
            action: s.action,
            outcome: Some(s.outcome.clone()),
        })
        .collect();
    let name = if sc.purpose.is_empty() {
        "scenario".to_string()
    } else {
        sc.purpose.clone()
    };
    Ok(Compiled {
        trace: Trace::new(&name, &r.cfg, trace_steps),
        steps,
    })
}

/// An expectation as the scenario writes it.
fn show_expect(e: &Expect) -> String {
    fn atom(a: &Atom) -> String {
        match &a.kind {
            TokKind::Word(w) => w.clone(),
            TokKind::Text(t) => format!("{t:?}"),
            TokKind::Int(n) => n.to_string(),
            TokKind::KeyId(n) => format!("#{n}"),
            TokKind::Punct(c) => c.to_string(),
        }
    }
    match e {
        Expect::Err(code) => code.clone(),
        Expect::Ok(details) => {
            let mut out = "ok".to_string();
            for d in details {
                out.push(' ');
                match d {
                    Detail::Atom(a) => out.push_str(&atom(a)),
                    Detail::List { items, .. } => {
                        let items: Vec<String> = items
                            .iter()
                            .map(|i| i.iter().map(atom).collect::<Vec<_>>().join(" "))
                            .collect();
                        out.push_str(&format!("[{}]", items.join(", ")));
                    }
                }
            }
            out
        }
    }
}
