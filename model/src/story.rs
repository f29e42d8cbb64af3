//! Paths and states told as a person reads them: each step with its outcome, and the cluster
//! as one pictures it — HSMs, users with role, lock and failed logins, keys with owner, shares
//! and attributes, sessions, the objects that left an HSM — with what a step changed.
//!
//! Every command that prints a path (`check`'s examples and counterexamples, `conform`'s and
//! `replay`'s failures) and the Explorer's state view use this module, so that names are text
//! and no Rust `Debug` output reaches a person.

use crate::action::{Action, Observation, Outcome};
use crate::config::Config;
use crate::state::*;
use crate::trace::describe;
use std::collections::BTreeSet;

/// A short text for an outcome: `Ok`, `Ok, logged in as PRECO`, `Forbidden`.
pub fn outcome_text(cfg: &Config, outcome: &Outcome) -> String {
    let obs = match outcome {
        Err(code) => return code.name().to_string(),
        Ok(o) => o,
    };
    match obs {
        Observation::Done => "Ok".into(),
        Observation::LoggedIn(role) => format!("Ok, logged in as {role}"),
        Observation::ClusterInfo { activated, blank } => {
            let blank = blank_hsms(blank);
            format!(
                "Ok, {}; blank HSMs: {}",
                if *activated { "active" } else { "unactivated" },
                if blank.is_empty() {
                    "none".to_string()
                } else {
                    blank.join(", ")
                }
            )
        }
        Observation::Users(users) => {
            let list: Vec<String> = users
                .iter()
                .map(|u| {
                    format!(
                        "{} as {}{}",
                        cfg.stored_name(u.name),
                        u.role,
                        if u.locked { ", locked" } else { "" }
                    )
                })
                .collect();
            format!("Ok: {}", list.join("; "))
        }
        Observation::SyncStatus(records) => format!("Ok, {} digest(s)", records.len()),
        Observation::Masked(o) => format!("Ok, {}", masked_text(cfg, o)),
        Observation::Key(id) => format!("Ok, key {}", id.0),
        Observation::Wrapped(w) => format!("Ok, {}", wrapped_text(w)),
        Observation::Ciphertext(c) => format!("Ok, {}", ciphertext_text(cfg, c)),
        Observation::Plaintext(d) => format!("Ok, plaintext {}", quoted(&cfg.data_text(*d))),
        Observation::Signature(s) => format!("Ok, {}", signature_text(cfg, s)),
        Observation::Verified(v) => format!("Ok, {}", if *v { "valid" } else { "not valid" }),
        Observation::Mac { material, data } => format!(
            "Ok, the tag of {} by the material of key {}",
            quoted(&cfg.data_text(*data)),
            material.0
        ),
        Observation::Digest(d) => format!("Ok, the digest of {}", quoted(&cfg.data_text(*d))),
    }
}

/// An outcome in words where no configuration is at hand to name users and data:
/// `Ok, logged in as CU`, `Ok, 3 users listed`, `Forbidden`.
pub fn outcome_summary(outcome: &Outcome) -> String {
    match outcome {
        Err(code) => code.name().to_string(),
        Ok(Observation::Users(users)) => format!("Ok, {} users listed", users.len()),
        Ok(Observation::Plaintext(_)) => "Ok, a plaintext".into(),
        Ok(Observation::Mac { material, .. }) => {
            format!("Ok, a tag by the material of key {}", material.0)
        }
        Ok(Observation::Digest(_)) => "Ok, a digest".into(),
        Ok(Observation::Masked(MaskedObject::Sealed(r))) => {
            format!("Ok, the masked object of key {}", r.id.0)
        }
        Ok(Observation::Ciphertext(Ciphertext::Made { material, .. })) => {
            format!("Ok, a ciphertext under the material of key {}", material.0)
        }
        Ok(Observation::Signature(Signature::Made { material, .. })) => {
            format!("Ok, a signature by the material of key {}", material.0)
        }
        // The rest name no user and no data.
        Ok(_) => outcome_text(&Config::default_config(), outcome),
    }
}

/// A policy in words: `names of 1 to 31 characters, passwords of 8 to 32; locked after 5
/// failed logins; at most 1024 users and 16666 keys per HSM, 7 share(s) per key`.
pub fn policy_text(p: &crate::Policy) -> String {
    format!(
        "names of 1 to {} characters, passwords of {} to {}; locked after {} failed logins; at \
         most {} users and {} keys per HSM, {} share(s) per key",
        p.name_max_chars,
        p.password_min_chars,
        p.password_max_chars,
        p.lockout_threshold,
        p.max_users,
        p.max_keys,
        p.max_shares
    )
}

/// `s` in double quotes, escaped as JSON would (a name or a password is printed as it is sent).
pub fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// A masked object in words.
pub fn masked_text(cfg: &Config, o: &MaskedObject) -> String {
    match o {
        MaskedObject::Sealed(r) => format!(
            "the masked object of key {} (owned by {})",
            r.id.0,
            cfg.stored_name(r.key.owner)
        ),
        MaskedObject::Foreign => "another cluster's masked object".into(),
        MaskedObject::Garbage => "bytes that are no masked object".into(),
    }
}

fn wrapped_text(w: &WrappedKey) -> String {
    match w {
        WrappedKey::Wrapped {
            kind,
            material,
            under,
        } => format!(
            "the {} material of key {} wrapped under the material of key {}",
            kind.name(),
            material.0,
            under.0
        ),
        WrappedKey::Garbage => "bytes that are no wrapped key".into(),
    }
}

fn ciphertext_text(cfg: &Config, c: &Ciphertext) -> String {
    match c {
        Ciphertext::Made { material, data } => format!(
            "the ciphertext of {} under the material of key {}",
            quoted(&cfg.data_text(*data)),
            material.0
        ),
        Ciphertext::Garbage => "bytes that are no ciphertext".into(),
    }
}

fn signature_text(cfg: &Config, s: &Signature) -> String {
    match s {
        Signature::Made { material, data } => format!(
            "the signature of {} by the material of key {}",
            quoted(&cfg.data_text(*data)),
            material.0
        ),
        Signature::Garbage => "a malformed signature".into(),
    }
}

/// One line of the cluster view: the part of the cluster it is about (`HSM 0`, `sessions`,
/// `objects out`) and what it says.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Line {
    /// The heading it sits under.
    pub section: String,
    /// The line itself.
    pub text: String,
}

/// The cluster of `s` as lines, grouped by section in a stable order. HSMs beyond the
/// configuration's count, and the history kept only for the hazard examples, are left out.
pub fn cluster_lines<C: Capacity>(cfg: &Config, s: &StateOf<C>) -> Vec<Line> {
    let mut out = Vec::new();
    let mut push = |section: &str, text: String| {
        out.push(Line {
            section: section.to_string(),
            text,
        })
    };
    push(
        "cluster",
        format!(
            "{}; the next key id is {}",
            if s.activated {
                "activated"
            } else {
                "not activated"
            },
            s.next_key_id
        ),
    );
    for (i, hsm) in s.hsms.iter().take(cfg.hsms as usize).enumerate() {
        let section = format!("HSM {i}");
        push(
            &section,
            if hsm.blank {
                "blank: waiting for a clone".into()
            } else {
                "in service".into()
            },
        );
        for (name, u) in hsm.users() {
            let locked = u.failures >= cfg.policy.lockout_threshold;
            let failures = match (u.failures, locked) {
                (0, _) => String::new(),
                (n, true) => format!(", LOCKED after {n} failed logins"),
                (1, false) => ", 1 failed login".into(),
                (n, false) => format!(", {n} failed logins"),
            };
            push(
                &section,
                format!(
                    "user {}: {}, password {}{failures}",
                    cfg.stored_name(name),
                    u.role,
                    quoted(&cfg.password_text(u.password)),
                ),
            );
        }
        for r in hsm.records() {
            let k = r.key;
            let shares: Vec<String> = k.shares.iter().map(|n| cfg.stored_name(n)).collect();
            let label = cfg.label_text(k.label);
            push(
                &section,
                format!(
                    "key {}: {}{}, owned by {}, {}{}{}",
                    r.id.0,
                    k.kind.name(),
                    if k.material.0 != r.id.0 {
                        format!(" (the material of key {})", k.material.0)
                    } else {
                        String::new()
                    },
                    cfg.stored_name(k.owner),
                    if shares.is_empty() {
                        "not shared".to_string()
                    } else {
                        format!("shared with {}", shares.join(", "))
                    },
                    if k.extractable {
                        ""
                    } else {
                        ", not extractable"
                    },
                    if label.is_empty() {
                        String::new()
                    } else {
                        format!(", label {}", quoted(&label))
                    }
                ),
            );
        }
    }
    for c in 0..cfg.clients {
        for h in 0..cfg.hsms {
            let (client, hsm) = (ClientId(c), HsmId(h));
            if let Some(name) = s.session(client, hsm) {
                let role = s
                    .session_role(client, hsm)
                    .map_or("a user that is gone".to_string(), |r| r.to_string());
                push(
                    "sessions",
                    format!(
                        "client {c} on HSM {h}: logged in as {} ({role})",
                        cfg.stored_name(name)
                    ),
                );
            }
        }
    }
    let logged_in =
        (0..cfg.clients).any(|c| (0..cfg.hsms).any(|h| s.session(ClientId(c), HsmId(h)).is_some()));
    if !logged_in {
        push("sessions", "none logged in".into());
    }
    for o in s.masked.iter() {
        push("objects out", masked_text(cfg, &o));
    }
    for w in s.wrapped.iter() {
        push("objects out", wrapped_text(&w));
    }
    for c in s.ciphertexts.iter() {
        push("objects out", ciphertext_text(cfg, &c));
    }
    for g in s.signatures.iter() {
        push("objects out", signature_text(cfg, &g));
    }
    out
}

/// The cluster view as text, each line indented by `indent`:
///
/// ```text
/// cluster: activated; the next key id is 2
/// HSM 0: in service
///   user admin: CO, password "secret-one"
/// sessions:
///   client 0 on HSM 0: logged in as admin (CO)
/// ```
pub fn cluster_view<C: Capacity>(cfg: &Config, s: &StateOf<C>, indent: &str) -> String {
    let lines = cluster_lines(cfg, s);
    let mut out = String::new();
    let mut section = "";
    for l in &lines {
        if l.section != section {
            section = &l.section;
            let first_is_status =
                matches!(l.section.as_str(), "cluster") || l.section.starts_with("HSM ");
            if first_is_status {
                out.push_str(&format!("{indent}{}: {}\n", l.section, l.text));
                continue;
            }
            out.push_str(&format!("{indent}{}:\n", l.section));
        }
        out.push_str(&format!("{indent}  {}\n", l.text));
    }
    out
}

/// What changed from `before` to `after`, one line each: `+ HSM 0: user bob: CU, …` for what
/// is new, `- …` for what is gone (a changed line shows as both).
pub fn changes<C: Capacity>(cfg: &Config, before: &StateOf<C>, after: &StateOf<C>) -> Vec<String> {
    let a: BTreeSet<Line> = cluster_lines(cfg, before).into_iter().collect();
    let b: BTreeSet<Line> = cluster_lines(cfg, after).into_iter().collect();
    let mut out = Vec::new();
    for l in cluster_lines(cfg, before) {
        if !b.contains(&l) {
            out.push(format!("- {}: {}", l.section, l.text));
        }
    }
    for l in cluster_lines(cfg, after) {
        if !a.contains(&l) {
            out.push(format!("+ {}: {}", l.section, l.text));
        }
    }
    out
}

/// How much of the cluster [`story`] shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// The steps and their outcomes only.
    Steps,
    /// What each step changed, and the cluster after the last step (the violating step, or
    /// where the example shows).
    Last,
    /// What each step changed, and the cluster after every step.
    Every,
}

/// A path told step by step from a new cluster of `cfg` (its setup steps first, marked
/// `(setup)`): each step with the model's outcome, then as `detail` says what it changed and
/// the cluster. Every line starts with `indent`.
pub fn story(cfg: &Config, actions: &[Action], detail: Detail, indent: &str) -> String {
    let mut out = String::new();
    let mut s = State::new_cluster();
    let all: Vec<(bool, &Action)> = cfg
        .setup
        .iter()
        .map(|a| (true, a))
        .chain(actions.iter().map(|a| (false, a)))
        .collect();
    let deeper = format!("{indent}     ");
    for (i, (setup, a)) in all.iter().enumerate() {
        let (outcome, next) = cfg.step(&s, a);
        out.push_str(&format!(
            "{indent}{:>3}. {}{} → {}\n",
            i + 1,
            if *setup { "(setup) " } else { "" },
            describe(cfg, a),
            outcome_text(cfg, &outcome)
        ));
        let last = i + 1 == all.len();
        let show_changes = match detail {
            Detail::Steps => false,
            Detail::Last => !*setup,
            Detail::Every => true,
        };
        if show_changes {
            for c in changes(cfg, &s, &next) {
                out.push_str(&format!("{deeper}{c}\n"));
            }
        }
        if detail == Detail::Every || (detail == Detail::Last && last) {
            out.push_str(&format!("{deeper}the cluster after step {}:\n", i + 1));
            out.push_str(&cluster_view(cfg, &next, &format!("{deeper}  ")));
        }
        s = next;
    }
    if all.is_empty() && detail != Detail::Steps {
        out.push_str(&format!("{indent}(no step: the new cluster itself)\n"));
        out.push_str(&cluster_view(cfg, &s, &format!("{indent}  ")));
    }
    out
}

/// The indices of the HSMs a GetClusterInfo answer says are blank, as text.
pub(crate) fn blank_hsms(blank: &[bool]) -> Vec<String> {
    blank
        .iter()
        .enumerate()
        .filter(|(_, b)| **b)
        .map(|(i, _)| i.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Op;

    #[test]
    fn a_story_names_users_roles_and_outcomes_and_shows_the_cluster() {
        let cfg = Config::preset("accounts").expect("a preset");
        let login = Action {
            client: ClientId(0),
            hsm: HsmId(0),
            op: Op::Login {
                name: ADMIN,
                password: PRECO_PASSWORD,
            },
        };
        let text = story(&cfg, &[login, login], Detail::Last, "");
        assert!(text.contains("Login as \"admin\""), "{text}");
        assert!(text.contains("→ Ok, logged in as PRECO"), "{text}");
        assert!(text.contains("→ AlreadyLoggedIn"), "{text}");
        assert!(
            text.contains("+ sessions: client 0 on HSM 0: logged in as admin (PRECO)"),
            "{text}"
        );
        assert!(text.contains("user admin: PRECO"), "{text}");
        assert!(text.contains("the cluster after step 2:"), "{text}");
        assert!(!text.contains("NameId"), "{text}");
    }
}
