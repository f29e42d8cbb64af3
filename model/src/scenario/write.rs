//! Writing scenarios: an outcome in the scenario's words (for messages), and a whole v1 trace
//! as a scenario ([`to_scenario`]) — how `hsmspec convert` works and how the runner saves a
//! shrunk failure for people to read.

use super::resolve::kind_word;
use super::DEFAULT_AU_PASSWORD;
use crate::action::{Observation, Op, Outcome};
use crate::config::Config;
use crate::policy::Policy;
use crate::state::*;
use crate::trace::Trace;
use std::collections::BTreeMap;

/// The names a writer gives key ids (bindings), with `#N` for the others.
#[derive(Default)]
pub(crate) struct Names {
    keys: BTreeMap<KeyId, String>,
}

impl Names {
    pub(crate) fn of(keys: impl Iterator<Item = (KeyId, String)>) -> Names {
        let mut n = Names::default();
        for (k, name) in keys {
            n.keys.entry(k).or_insert(name);
        }
        n
    }

    fn key(&self, k: KeyId) -> String {
        self.keys
            .get(&k)
            .cloned()
            .unwrap_or_else(|| format!("#{}", k.0))
    }
}

/// A text as a scenario writes it: a bare word when it reads as one, else quoted.
fn text(t: &str) -> String {
    let word = t
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if word && !["foreign", "garbage", "ok"].contains(&t) {
        t.to_string()
    } else {
        quoted(t)
    }
}

fn quoted(t: &str) -> String {
    let mut out = String::from("\"");
    for c in t.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// An outcome in the scenario's words: an error code, or `ok` with what the answer shows.
pub(crate) fn render_outcome(cfg: &Config, names: &Names, outcome: &Outcome) -> String {
    let obs = match outcome {
        Err(code) => return code.name().to_string(),
        Ok(o) => o,
    };
    match obs {
        Observation::Done
        | Observation::Masked(_)
        | Observation::Wrapped(_)
        | Observation::Ciphertext(_)
        | Observation::Signature(_)
        | Observation::Mac { .. }
        | Observation::Digest(_) => "ok".into(),
        Observation::LoggedIn(r) => format!("ok {r}"),
        Observation::Key(k) => format!("ok {}", names.key(*k)),
        Observation::Plaintext(d) => format!("ok {}", quoted(&cfg.data_text(*d))),
        Observation::Verified(v) => format!("ok {}", if *v { "valid" } else { "invalid" }),
        Observation::ClusterInfo { activated, blank } => {
            let blanks = crate::story::blank_hsms(blank);
            format!(
                "ok {} blank [{}]",
                if *activated {
                    "activated"
                } else {
                    "unactivated"
                },
                blanks.join(", ")
            )
        }
        Observation::Users(users) => {
            let mut entries: Vec<(String, String)> = users
                .iter()
                .map(|u| {
                    (
                        cfg.stored_name(u.name),
                        format!(
                            "{} {}{}",
                            text(&cfg.stored_name(u.name)),
                            u.role,
                            if u.locked { " locked" } else { "" }
                        ),
                    )
                })
                .collect();
            entries.sort();
            let entries: Vec<String> = entries.into_iter().map(|(_, e)| e).collect();
            format!("ok [{}]", entries.join(", "))
        }
        Observation::SyncStatus(records) => {
            let keys: Vec<String> = records.iter().map(|r| names.key(r.id)).collect();
            format!("ok [{}]", keys.join(", "))
        }
    }
}

/// The header lines for what `cfg` sets otherwise than a scenario's defaults.
fn header(trace: &Trace) -> Vec<String> {
    let cfg = &trace.config;
    let purpose: String = trace.name.lines().next().unwrap_or("").to_string();
    let mut out = vec![format!(
        "scenario: {}",
        if purpose.trim().is_empty() {
            "a converted trace"
        } else {
            purpose.trim()
        }
    )];
    let top = trace
        .steps
        .iter()
        .map(|s| s.action.hsm.0)
        .max()
        .unwrap_or(0);
    if cfg.hsms != top + 1 {
        out.push(format!("hsms: {}", cfg.hsms));
    }
    let d = Policy::spec_default();
    let p = cfg.policy;
    let mut settings = Vec::new();
    let mut set = |name: &str, v: u64, default: u64| {
        if v != default {
            settings.push(format!("{name} {v}"));
        }
    };
    set("shares", p.max_shares.into(), d.max_shares.into());
    set(
        "lockout",
        p.lockout_threshold.into(),
        d.lockout_threshold.into(),
    );
    set("users", p.max_users.into(), d.max_users.into());
    set("keys", p.max_keys.into(), d.max_keys.into());
    set("name-max", p.name_max_chars.into(), d.name_max_chars.into());
    set(
        "password-min",
        p.password_min_chars.into(),
        d.password_min_chars.into(),
    );
    set(
        "password-max",
        p.password_max_chars.into(),
        d.password_max_chars.into(),
    );
    if !settings.is_empty() {
        out.push(format!("policy: {}", settings.join(", ")));
    }
    if cfg.au_password != DEFAULT_AU_PASSWORD {
        out.push(format!("au-password: {}", quoted(&cfg.au_password)));
    }
    out
}

/// A v1 trace as a scenario: the header for what differs from the defaults, one line per step
/// with the model's outcome as its expectation (a trace's recorded outcomes are checked
/// against the model first), and bindings for what later steps use. Clients are `c0`, `c1`, …
/// after the trace's client numbers. A step that uses an object no earlier step returned (a
/// masked object written into the trace by hand) cannot be written: the error says which.
pub fn to_scenario(trace: &Trace) -> Result<String, crate::Error> {
    // A configuration's setup steps become the scenario's first steps.
    let trace = &Trace::new(&trace.name, &trace.config, trace.steps.clone());
    let outcomes = trace.replay_model()?;
    let cfg = &trace.config;
    let mut lines = header(trace);
    lines.push(String::new());
    // Which step's result a later step uses, so that only those are bound.
    let mut names = Names::default();
    let mut bound: Vec<(Observation, String)> = Vec::new();
    let mut counters: BTreeMap<&str, usize> = BTreeMap::new();
    // First, which results are used later: (step index, binding name).
    let mut binds: BTreeMap<usize, String> = BTreeMap::new();
    let mut produced: Vec<(usize, Observation)> = Vec::new();
    for (i, (step, out)) in trace.steps.iter().zip(&outcomes).enumerate() {
        let uses: Vec<Observation> = uses_of(&step.action.op);
        for u in uses {
            if let Some((j, _)) = produced.iter().rev().find(|(_, o)| *o == u) {
                let j = *j;
                if let std::collections::btree_map::Entry::Vacant(slot) = binds.entry(j) {
                    let prefix = prefix_of(&u);
                    let name = match u {
                        Observation::Key(k) => format!("k{}", k.0),
                        _ => {
                            let n = counters.entry(prefix).or_insert(0);
                            *n += 1;
                            format!("{prefix}{n}")
                        }
                    };
                    slot.insert(name);
                }
            } else if !matches!(u, Observation::Key(_)) {
                return Err(crate::Error::BadStep {
                    step: i + 1,
                    message: "it uses an object that no earlier step returned; the scenario form cannot write it".into(),
                });
            }
        }
        if let Ok(o) = out {
            let keeps = match o {
                Observation::Key(k) => !produced.iter().any(|(_, p)| *p == Observation::Key(*k)),
                Observation::Masked(_)
                | Observation::Wrapped(_)
                | Observation::Ciphertext(_)
                | Observation::Signature(_) => true,
                _ => false,
            };
            if keeps {
                produced.push((i, o.clone()));
            }
        }
    }
    for (i, (step, out)) in trace.steps.iter().zip(&outcomes).enumerate() {
        let a = step.action;
        let op = op_text(cfg, &a.op, &names, &bound);
        // A step that binds a key says `ok`: the binding is the id from then on.
        let expect = match out {
            Ok(Observation::Key(_)) if binds.contains_key(&i) => "ok".to_string(),
            _ => render_outcome(cfg, &names, out),
        };
        let bind = match binds.get(&i) {
            Some(b) => {
                if let Ok(o) = out {
                    bound.push((o.clone(), b.clone()));
                    if let Observation::Key(k) = o {
                        names.keys.insert(*k, b.clone());
                    }
                }
                format!("{b} = ")
            }
            None => String::new(),
        };
        let who = if a.hsm.0 == 0 {
            format!("c{}:", a.client.0)
        } else {
            format!("c{}@{}:", a.client.0, a.hsm.0)
        };
        lines.push(format!("{who} {bind}{op} -> {expect}"));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

fn prefix_of(o: &Observation) -> &'static str {
    match o {
        Observation::Masked(_) => "m",
        Observation::Wrapped(_) => "w",
        Observation::Ciphertext(_) => "ct",
        Observation::Signature(_) => "sig",
        _ => "v",
    }
}

/// The results of earlier steps an operation uses, as observations.
fn uses_of(op: &Op) -> Vec<Observation> {
    let mut out: Vec<Observation> = op.named_keys().map(Observation::Key).collect();
    match *op {
        Op::InsertMasked {
            object: object @ MaskedObject::Sealed(_),
        } => out.push(Observation::Masked(object)),
        Op::UnwrapKey {
            wrapped: w @ WrappedKey::Wrapped { .. },
            ..
        } => out.push(Observation::Wrapped(w)),
        Op::Decrypt {
            ciphertext: c @ Ciphertext::Made { .. },
            ..
        } => out.push(Observation::Ciphertext(c)),
        Op::Verify {
            signature: s @ Signature::Made { .. },
            ..
        } => out.push(Observation::Signature(s)),
        _ => {}
    }
    out
}

fn op_text(cfg: &Config, op: &Op, names: &Names, bound: &[(Observation, String)]) -> String {
    let n = |x: NameId| text(&cfg.name_text(x));
    let p = |x: PasswordId| quoted(&cfg.password_text(x));
    let d = |x: DataId| quoted(&cfg.data_text(x));
    let k = |x: KeyId| names.key(x);
    let obj = |o: Observation, literal: &str| -> String {
        bound
            .iter()
            .rev()
            .find(|(b, _)| *b == o)
            .map_or_else(|| literal.to_string(), |(_, name)| name.clone())
    };
    match *op {
        Op::Login { name, password } => format!("Login {} {}", n(name), p(password)),
        Op::Logout => "Logout".into(),
        Op::GetClusterInfo => "GetClusterInfo".into(),
        Op::ListUsers => "ListUsers".into(),
        Op::Zeroize => "Zeroize".into(),
        Op::ChangeOwnPassword { password } => format!("ChangeOwnPassword {}", p(password)),
        Op::ChangePassword { name, password } => {
            format!("ChangePassword {} {}", n(name), p(password))
        }
        Op::CreateUser {
            name,
            role,
            password,
        } => format!("CreateUser {} {role} {}", n(name), p(password)),
        Op::DeleteUser { name } => format!("DeleteUser {}", n(name)),
        Op::GetSyncStatus => "GetSyncStatus".into(),
        Op::ExtractMasked { key } => format!("ExtractMasked {}", k(key)),
        Op::InsertMasked { object } => format!(
            "InsertMasked {}",
            match object {
                MaskedObject::Foreign => "foreign".into(),
                MaskedObject::Garbage => "garbage".into(),
                o => obj(Observation::Masked(o), "garbage"),
            }
        ),
        Op::Clone { from } => format!("Clone {}", from.0),
        Op::GenerateKey { kind, extractable } => format!(
            "GenerateKey {}{}",
            kind_word(kind),
            if extractable { "" } else { " not-extractable" }
        ),
        Op::DeleteKey { key } => format!("DeleteKey {}", k(key)),
        Op::ShareKey { key, name } => format!("ShareKey {} {}", k(key), n(name)),
        Op::UnshareKey { key, name } => format!("UnshareKey {} {}", k(key), n(name)),
        Op::SetAttribute { key, label } => {
            format!("SetAttribute {} {}", k(key), quoted(&cfg.label_text(label)))
        }
        Op::WrapKey { key, wrapping } => format!("WrapKey {} {}", k(key), k(wrapping)),
        Op::UnwrapKey { wrapped, wrapping } => format!(
            "UnwrapKey {} {}",
            match wrapped {
                WrappedKey::Garbage => "garbage".into(),
                w => obj(Observation::Wrapped(w), "garbage"),
            },
            k(wrapping)
        ),
        Op::Encrypt { key, data } => format!("Encrypt {} {}", k(key), d(data)),
        Op::Decrypt { key, ciphertext } => format!(
            "Decrypt {} {}",
            k(key),
            match ciphertext {
                Ciphertext::Garbage => "garbage".into(),
                c => obj(Observation::Ciphertext(c), "garbage"),
            }
        ),
        Op::Sign { key, data } => format!("Sign {} {}", k(key), d(data)),
        Op::Verify {
            key,
            data,
            signature,
        } => format!(
            "Verify {} {} {}",
            k(key),
            d(data),
            match signature {
                Signature::Garbage => "garbage".into(),
                s => obj(Observation::Signature(s), "garbage"),
            }
        ),
        Op::Hmac { key, data } => format!("Hmac {} {}", k(key), d(data)),
        Op::Digest { data } => format!("Digest {}", d(data)),
    }
}
