//! The trace format, defined once: a configuration and a list of actions, each optionally with
//! its outcome. `hsmspec check --save-paths` writes counterexamples and examples in it, and the
//! conformance runner replays the same files.
//!
//! ```json
//! { "format": "hsmspec-trace", "version": 1, "name": "…", "config": { … },
//!   "steps": [ { "client": 0, "hsm": 0, "op": "Login", "name": 0, "password": 0,
//!                "outcome": { "Ok": { "kind": "LoggedIn", "value": "PreCryptoOfficer" } } } ] }
//! ```
//! Names, passwords, labels and data are indices into the configuration's tables (name 0 is
//! `admin`, 1 `app_user`, then `names`, `invalid_names` and `spellings`; password 0 is
//! `password`, 1 the AU's). A name is recorded as the spelling that was sent; the model
//! lower-cases it to find the user. A trace starts from a new cluster: its configuration's
//! `setup` is empty and the setup steps are the trace's first steps.

use crate::action::{Action, Op, Outcome};
use crate::config::Config;
use crate::state::*;
use serde::{Deserialize, Serialize};

/// The `format` field of every trace file.
pub const FORMAT: &str = "hsmspec-trace";
/// The version of the trace format this crate reads and writes.
pub const VERSION: u32 = 1;

/// One step of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The action.
    #[serde(flatten)]
    pub action: Action,
    /// Its outcome, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// A trace: a configuration and the steps run from a new cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// What the trace shows (a property's name, a failure).
    pub name: String,
    /// The configuration; its `setup` is empty.
    pub config: Config,
    /// The steps.
    pub steps: Vec<TraceStep>,
}

/// Why a trace could not be read or replayed: the crate's one error type.
pub type TraceError = crate::Error;

impl Config {
    /// Checks that `a` names only clients, HSMs, names, passwords, keys, labels and data of this
    /// configuration's tables.
    pub fn check_action(&self, a: &Action) -> Result<(), String> {
        if a.client.0 >= self.clients {
            return Err(format!("client {} outside 0..{}", a.client.0, self.clients));
        }
        if a.hsm.0 >= self.hsms {
            return Err(format!("HSM {} outside 0..{}", a.hsm.0, self.hsms));
        }
        let spelled = self.spelled_name_ids().count();
        let name_ok = |n: NameId| n.index() < spelled;
        // Owners in a masked object's record are users (the state's ids), never spellings.
        let user_ok = |n: NameId| n.index() < self.valid_name_count();
        let pw_ok = |p: PasswordId| p.index() < 2 + self.passwords.len();
        let key_ok = |k: KeyId| (1..=Large::KEY_IDS).contains(&k.index());
        let data_ok = |d: DataId| d.index() < self.data.len();
        let ok = match a.op {
            Op::Login { name, password } => name_ok(name) && pw_ok(password),
            Op::ChangeOwnPassword { password } => pw_ok(password),
            Op::ChangePassword { name, password } | Op::CreateUser { name, password, .. } => {
                name_ok(name) && pw_ok(password)
            }
            Op::DeleteUser { name } => name_ok(name),
            Op::Clone { from } => from.0 < 8,
            Op::ExtractMasked { key } | Op::DeleteKey { key } => key_ok(key),
            Op::ShareKey { key, name } | Op::UnshareKey { key, name } => {
                key_ok(key) && name_ok(name)
            }
            Op::SetAttribute { key, label } => key_ok(key) && label.index() <= self.labels.len(),
            Op::WrapKey { key, wrapping } => key_ok(key) && key_ok(wrapping),
            Op::UnwrapKey { wrapping, .. } => key_ok(wrapping),
            Op::Encrypt { key, data } | Op::Sign { key, data } | Op::Hmac { key, data } => {
                key_ok(key) && data_ok(data)
            }
            Op::Verify { key, data, .. } => key_ok(key) && data_ok(data),
            Op::Decrypt { key, .. } => key_ok(key),
            Op::Digest { data } => data_ok(data),
            Op::InsertMasked { object } => match object {
                MaskedObject::Sealed(r) => key_ok(r.id) && user_ok(r.key.owner),
                _ => true,
            },
            Op::Logout
            | Op::GenerateKey { .. }
            | Op::GetClusterInfo
            | Op::ListUsers
            | Op::Zeroize
            | Op::GetSyncStatus => true,
        };
        if ok {
            Ok(())
        } else {
            Err("an argument is outside the configuration's tables".into())
        }
    }
}

impl Trace {
    /// A trace of `steps` from a new cluster of `config`'s shape: the configuration's setup
    /// steps become the trace's first steps.
    pub fn new(name: &str, config: &Config, steps: Vec<TraceStep>) -> Trace {
        let mut cfg = config.clone();
        let mut all: Vec<TraceStep> = cfg
            .setup
            .drain(..)
            .map(|action| TraceStep {
                action,
                outcome: None,
            })
            .collect();
        all.extend(steps);
        Trace {
            format: FORMAT.into(),
            version: VERSION,
            name: name.into(),
            config: cfg,
            steps: all,
        }
    }

    /// A trace of `actions` run from a new cluster of `config`'s shape (setup first), with
    /// every step's outcome recorded from the model: how a checker path becomes a trace file.
    pub fn from_actions(name: &str, config: &Config, actions: &[Action]) -> Trace {
        let steps = actions
            .iter()
            .map(|a| TraceStep {
                action: *a,
                outcome: None,
            })
            .collect();
        Trace::new(name, config, steps).with_model_outcomes()
    }

    /// Reads a trace from JSON text, checking format, version, configuration and every step.
    pub fn from_json(text: &str) -> Result<Trace, TraceError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| TraceError::MalformedTrace(e.to_string()))?;
        let format = value.get("format").and_then(|f| f.as_str());
        if format != Some(FORMAT) {
            return Err(TraceError::UnsupportedTrace(format!(
                "{}, expected \"{FORMAT}\"",
                match format {
                    Some(f) => format!("format is {}", crate::story::quoted(f)),
                    None => "no format field".to_string(),
                }
            )));
        }
        let version = value.get("version").and_then(|v| v.as_u64());
        if version != Some(VERSION as u64) {
            return Err(TraceError::UnsupportedTrace(format!(
                "{}, this build reads version {VERSION}",
                match version {
                    Some(v) => format!("version {v}"),
                    None => "no version number".to_string(),
                }
            )));
        }
        let trace: Trace =
            serde_json::from_value(value).map_err(|e| TraceError::MalformedTrace(e.to_string()))?;
        trace
            .config
            .validate_for::<Large>()
            .map_err(|e| TraceError::InvalidTraceConfig(e.to_string()))?;
        for (i, s) in trace.config.setup.iter().enumerate() {
            trace
                .config
                .check_action(s)
                .map_err(|m| TraceError::BadStep {
                    step: i + 1,
                    message: format!("setup: {m}"),
                })?;
        }
        for (i, s) in trace.steps.iter().enumerate() {
            trace
                .config
                .check_action(&s.action)
                .map_err(|message| TraceError::BadStep {
                    step: i + 1,
                    message,
                })?;
        }
        Ok(trace)
    }

    /// The trace as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Runs the trace on the model from a new cluster (the configuration's setup first), at
    /// the [`Large`] capacity (every configuration fits it): each step's outcome, or the first
    /// step whose recorded outcome the model contradicts.
    pub fn replay_model(&self) -> Result<Vec<Outcome>, TraceError> {
        let mut s = LargeState::new_cluster();
        for a in &self.config.setup {
            s = self.config.step(&s, a).1;
        }
        let mut outcomes = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let (out, next) = self.config.step(&s, &step.action);
            if let Some(recorded) = &step.outcome {
                if *recorded != out {
                    return Err(TraceError::OutcomeMismatch {
                        step: i + 1,
                        recorded: recorded.clone(),
                        model: out,
                    });
                }
            }
            outcomes.push(out);
            s = next;
        }
        Ok(outcomes)
    }

    /// The trace with every step's outcome recorded from the model.
    pub fn with_model_outcomes(mut self) -> Trace {
        let mut s = LargeState::new_cluster();
        for a in &self.config.setup {
            s = self.config.step(&s, a).1;
        }
        for step in &mut self.steps {
            let (out, next) = self.config.step(&s, &step.action);
            step.outcome = Some(out);
            s = next;
        }
        self
    }
}

/// One readable line for an action, names and data as text:
/// `client 0 @ HSM 1: ShareKey key 1 with "bob"`.
pub fn describe(cfg: &Config, a: &Action) -> String {
    use crate::story::quoted;
    let n = |x: NameId| quoted(&cfg.name_text(x));
    let p = |x: PasswordId| quoted(&cfg.password_text(x));
    let d = |x: DataId| quoted(&cfg.data_text(x));
    let op = match a.op {
        Op::Login { name, password } => format!("Login as {}, password {}", n(name), p(password)),
        Op::Logout => "Logout".into(),
        Op::GetClusterInfo => "GetClusterInfo".into(),
        Op::ListUsers => "ListUsers".into(),
        Op::Zeroize => "Zeroize".into(),
        Op::ChangeOwnPassword { password } => format!("ChangeOwnPassword to {}", p(password)),
        Op::ChangePassword { name, password } => {
            format!("ChangePassword of {} to {}", n(name), p(password))
        }
        Op::CreateUser {
            name,
            role,
            password,
        } => format!("CreateUser {} as {role}, password {}", n(name), p(password)),
        Op::DeleteUser { name } => format!("DeleteUser {}", n(name)),
        Op::GetSyncStatus => "GetSyncStatus".into(),
        Op::ExtractMasked { key } => format!("ExtractMasked key {}", key.0),
        Op::InsertMasked { object } => {
            format!("InsertMasked {}", crate::story::masked_text(cfg, &object))
        }
        Op::Clone { from } => format!("Clone from HSM {}", from.0),
        Op::GenerateKey { kind, extractable } => format!(
            "GenerateKey {}{}",
            kind.name(),
            if extractable { "" } else { ", not extractable" }
        ),
        Op::DeleteKey { key } => format!("DeleteKey key {}", key.0),
        Op::ShareKey { key, name } => format!("ShareKey key {} with {}", key.0, n(name)),
        Op::UnshareKey { key, name } => format!("UnshareKey key {} from {}", key.0, n(name)),
        Op::SetAttribute { key, label } => {
            format!(
                "SetAttribute of key {}: label {}",
                key.0,
                quoted(&cfg.label_text(label))
            )
        }
        Op::WrapKey { key, wrapping } => {
            format!("WrapKey key {} under key {}", key.0, wrapping.0)
        }
        Op::UnwrapKey { wrapped, wrapping } => match wrapped {
            WrappedKey::Wrapped {
                material, under, ..
            } => format!(
                "UnwrapKey the material of key {} wrapped under the material of key {}, with key {}",
                material.0, under.0, wrapping.0
            ),
            WrappedKey::Garbage => format!("UnwrapKey garbage, with key {}", wrapping.0),
        },
        Op::Encrypt { key, data } => format!("Encrypt {} with key {}", d(data), key.0),
        Op::Decrypt { key, ciphertext } => match ciphertext {
            Ciphertext::Made { material, data } => format!(
                "Decrypt with key {} the ciphertext of {} under the material of key {}",
                key.0,
                d(data),
                material.0
            ),
            Ciphertext::Garbage => format!("Decrypt garbage with key {}", key.0),
        },
        Op::Sign { key, data } => format!("Sign {} with key {}", d(data), key.0),
        Op::Verify {
            key,
            data,
            signature,
        } => match signature {
            Signature::Made { material, data: sd } => format!(
                "Verify {} with key {} against the signature of {} by the material of key {}",
                d(data),
                key.0,
                d(sd),
                material.0
            ),
            Signature::Garbage => {
                format!("Verify {} with key {} against a malformed signature", d(data), key.0)
            }
        },
        Op::Hmac { key, data } => format!("Hmac of {} with key {}", d(data), key.0),
        Op::Digest { data } => format!("Digest of {}", d(data)),
    };
    format!("client {} @ HSM {}: {op}", a.client.0, a.hsm.0)
}
