//! What the model expects each HSM to look like, and the comparison with what the system under
//! test shows of it ([`crate::protocol::Observation`], the same for every transport): the
//! cluster's activation, the HSM's blankness, every user (name, role, failed logins, locked),
//! every key (id, kind, owner, shares, extractable, label) and each client's session.

use super::Abstraction;
use crate::error::{diverged, Error};
use crate::protocol::{role, Observation};
use hsm_model::state::{ClientId, HsmId};
use hsm_model::LargeState;

/// A user as compared: (name, role, failed logins, locked).
type UserRow = (String, &'static str, u64, bool);
/// A key as compared: (id, kind, owner, shares, extractable, label).
type KeyRow = (u8, &'static str, String, Vec<String>, bool, String);

impl Abstraction {
    /// Compares HSM `h` as the system shows it with the model's state: `Err` describes the
    /// first difference.
    pub fn check_view(&self, model: &LargeState, h: usize, got: &Observation) -> Result<(), Error> {
        let cfg = self.config();
        let m = &model.hsms[h];
        if got.activated != model.activated {
            return diverged(format!(
                "HSM {h}: cluster activated is {}, the model says {}",
                got.activated, model.activated
            ));
        }
        if got.blank != m.blank {
            return diverged(format!(
                "HSM {h}: blank is {}, the model says {}",
                got.blank, m.blank
            ));
        }
        let threshold = cfg.policy.lockout_threshold;
        let mut want: Vec<UserRow> = m
            .users()
            .map(|(n, u)| {
                (
                    cfg.stored_name(n),
                    role::name(u.role),
                    u.failures as u64,
                    u.failures >= threshold,
                )
            })
            .collect();
        want.sort();
        let mut have: Vec<UserRow> = got
            .users
            .iter()
            .map(|u| {
                (
                    u.name.clone(),
                    role::name(u.role),
                    u.failed_logins,
                    u.locked,
                )
            })
            .collect();
        have.sort();
        if want != have {
            return diverged(format!(
                "HSM {h}: the users are {}; the model says {}",
                users_text(&have),
                users_text(&want)
            ));
        }
        let want: Vec<KeyRow> = m
            .records()
            .map(|r| {
                let mut shares: Vec<String> =
                    r.key.shares.iter().map(|n| cfg.stored_name(n)).collect();
                shares.sort();
                (
                    r.id.0,
                    kind_name(r.key.kind),
                    cfg.stored_name(r.key.owner),
                    shares,
                    r.key.extractable,
                    cfg.label_text(r.key.label),
                )
            })
            .collect();
        let mut have: Vec<KeyRow> = Vec::new();
        for k in &got.keys {
            let id = self.key_of_handle(&k.key).ok_or_else(|| {
                Error::Divergence(format!(
                    "HSM {h} holds a key with handle `{}` that no step answered",
                    k.key
                ))
            })?;
            let mut shares = k.shares.clone();
            shares.sort();
            have.push((
                id.0,
                kind_name(k.kind),
                k.owner.clone(),
                shares,
                k.extractable,
                k.label.clone(),
            ));
        }
        have.sort();
        if want != have {
            return diverged(format!(
                "HSM {h}: the keys are {}; the model says {}",
                keys_text(&have),
                keys_text(&want)
            ));
        }
        for c in 0..cfg.clients as usize {
            let s = got
                .sessions
                .iter()
                .find(|s| s.client == c as u64)
                .ok_or_else(|| {
                    Error::Divergence(format!("HSM {h}: client {c}'s session is missing"))
                })?;
            let want = model
                .session(ClientId(c as u8), HsmId(h as u8))
                .map(|n| cfg.stored_name(n));
            if s.user != want {
                return diverged(format!(
                    "HSM {h}: client {c}'s session is {}, the model says {}",
                    session_text(&s.user),
                    session_text(&want)
                ));
            }
        }
        Ok(())
    }
}

/// Users compared, in words: `alice (CU, 2 failed logins, locked), bob (CO)`.
fn users_text(rows: &[UserRow]) -> String {
    if rows.is_empty() {
        return "none".into();
    }
    rows.iter()
        .map(|(name, role, failures, locked)| {
            format!(
                "{name} ({role}{}{})",
                match failures {
                    0 => String::new(),
                    1 => ", 1 failed login".into(),
                    n => format!(", {n} failed logins"),
                },
                if *locked { ", locked" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keys compared, in words: `key 1 (Aes256 owned by alice, shared with bob, label "x")`.
fn keys_text(rows: &[KeyRow]) -> String {
    if rows.is_empty() {
        return "none".into();
    }
    rows.iter()
        .map(|(id, kind, owner, shares, extractable, label)| {
            format!(
                "key {id} ({kind} owned by {owner}{}{}{})",
                if shares.is_empty() {
                    String::new()
                } else {
                    format!(", shared with {}", shares.join(" and "))
                },
                if *extractable {
                    ""
                } else {
                    ", not extractable"
                },
                if label.is_empty() {
                    String::new()
                } else {
                    format!(", label {}", hsm_model::story::quoted(label))
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A session compared, in words.
fn session_text(user: &Option<String>) -> String {
    match user {
        Some(u) => format!("logged in as {u}"),
        None => "not logged in".into(),
    }
}

/// A key kind's protocol name: `Aes256`, `HmacSha256`, `Signing`.
fn kind_name(k: hsm_model::KeyKind) -> &'static str {
    match k {
        hsm_model::KeyKind::Aes256 => "Aes256",
        hsm_model::KeyKind::HmacSha256 => "HmacSha256",
        hsm_model::KeyKind::Signing => "Signing",
    }
}
