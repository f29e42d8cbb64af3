//! Profiles: what a class of systems has of the spec, and the known deviations it is allowed.
//!
//! A profile file (JSON, `--profile FILE`) names the class (`pkcs11`), the operations it lacks
//! and the roles it cannot create, and lists **deviations**: named, documented differences
//! from the spec that the run accepts. A deviation is a layer over the model's step function,
//! never inside it: the spec's `Config::step` answers as always, and the profile rewrites
//! the policy the model runs ([`Profile::model_config`]), the outcome the system must answer
//! ([`Profile::expected`]) or what of the model's state is compared with the system's
//! ([`Profile::compared`]). A difference the profile does not declare is a divergence, as
//! always. The runner records which declared deviations a run saw (a step where the rewriting
//! changed what was expected and the system agreed with it).

use crate::error::Error;
use hsm_model::state::APP_USER;
use hsm_model::trace::Trace;
use hsm_model::{Action, Config, ErrorCode, LargeState, Observation, Op, Operation, Outcome, Role};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The format name of a profile file.
pub const FORMAT: &str = "hsmspec-profile";

/// A known, accepted difference from the spec, by name (snake case in the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deviation {
    /// The system never locks a user out. Policy rewriting: the model's lockout threshold is
    /// 255 (unreachable in a trace of fewer failed logins of one user).
    NoLockout,
    /// The system shows only whether a login failed since the last success, not how many.
    /// Comparison rewriting: the model's counters are compared as at most 1.
    FailuresSinceLastSuccess,
    /// Logout of a session that is not logged in answers Ok (the spec: NotLoggedIn), and
    /// changes nothing. Outcome rewriting.
    LogoutAlwaysOk,
    /// Access by object visibility: an operation naming a key answers NoSuchKey where the spec
    /// answers NotLoggedIn or Forbidden (the key is not visible to the session). Outcome
    /// rewriting; an error either way, so nothing changes.
    HiddenKeys,
    /// WrapKey checks the wrapping key's kind before the wrapped key's extractability: a
    /// non-extractable key under a wrapping key that is not AES answers WrongKeyKind where
    /// the spec answers NotExtractable (a tie of check order; SoftHSM2's C_WrapKey). Outcome
    /// rewriting; an error either way.
    WrapChecksKindFirst,
    /// A successful change of one's own password clears one's failed-login counter (the spec:
    /// only a successful login does; SoftHSM2's C_SetPIN clears CKF_*_PIN_COUNT_LOW). State
    /// rewriting (D54): the model's state after such a step has the counter at 0, so that the
    /// steps after it are compared with the counter the system has. Outcomes are never
    /// changed by it while `no_lockout` holds (a counter then decides nothing).
    SetPinClearsFailures,
}

impl Deviation {
    /// Every deviation.
    pub const ALL: [Deviation; 6] = [
        Deviation::NoLockout,
        Deviation::FailuresSinceLastSuccess,
        Deviation::LogoutAlwaysOk,
        Deviation::HiddenKeys,
        Deviation::WrapChecksKindFirst,
        Deviation::SetPinClearsFailures,
    ];

    /// Its name in a profile file.
    pub fn name(self) -> &'static str {
        match self {
            Deviation::NoLockout => "no_lockout",
            Deviation::FailuresSinceLastSuccess => "failures_since_last_success",
            Deviation::LogoutAlwaysOk => "logout_always_ok",
            Deviation::HiddenKeys => "hidden_keys",
            Deviation::WrapChecksKindFirst => "wrap_checks_kind_first",
            Deviation::SetPinClearsFailures => "set_pin_clears_failures",
        }
    }
}

/// A profile, as its file holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The profile's name, as `hello` states it (`pkcs11`).
    pub name: String,
    /// What class of systems it describes, in a sentence.
    #[serde(default)]
    pub description: String,
    /// Operations the class does not have, by name (`Clone`, `DeleteUser`): never generated.
    #[serde(default)]
    pub without: Vec<String>,
    /// The roles CreateUser may create (absent: those of the spec).
    #[serde(default)]
    pub create_roles: Option<Vec<String>>,
    /// The deviations accepted, by name.
    #[serde(default)]
    pub deviations: Vec<Deviation>,
    /// The shape of the class's cluster: how many HSMs it has (absent: the campaign's). A
    /// PKCS#11 token is one HSM.
    #[serde(default)]
    pub hsms: Option<u8>,
    /// Whether the class has the AU (absent: yes). Without it (D53) the model keeps its AU, but
    /// no step names it (never generated), ListUsers is expected without it and the state is
    /// compared without it: the class is held to the spec's cluster minus a user it never
    /// meets. The model's user limit still counts it.
    #[serde(default = "yes")]
    pub appliance_user: bool,
    /// The exhaustive configurations made for the class, by name without `exhaustive-`
    /// (`token-users`); absent: every configuration of the spec's whose setup the profile has
    /// ([`crate::exhaustive::profile_configs`], D57).
    #[serde(default)]
    pub exhaustive: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

impl Profile {
    /// The profile in `text` (a profile file), or what is wrong with it.
    pub fn parse(text: &str) -> Result<Profile, Error> {
        let p: Profile = serde_json::from_str(text)
            .map_err(|e| Error::Usage(format!("not a profile file: {e}")))?;
        if p.format != FORMAT {
            return Err(Error::Usage(format!(
                "format `{}`: a profile file says `{FORMAT}`",
                p.format
            )));
        }
        if p.hsms.is_some_and(|h| {
            !(1..=<hsm_model::state::Large as hsm_model::state::Capacity>::HSMS as u8).contains(&h)
        }) {
            return Err(Error::Usage(format!(
                "`hsms`: 1..={} HSMs, the model's capacity",
                <hsm_model::state::Large as hsm_model::state::Capacity>::HSMS
            )));
        }
        if p.name.is_empty() {
            return Err(Error::Usage("a profile needs a name".into()));
        }
        for op in &p.without {
            if !Operation::ALL.iter().any(|o| o.name() == op) {
                return Err(Error::Usage(format!(
                    "`without`: `{op}` is no operation of the spec"
                )));
            }
        }
        for r in p.create_roles.iter().flatten() {
            if crate::protocol::role::from_name(r).is_none() {
                return Err(Error::Usage(format!(
                    "`create_roles`: `{r}` is no role (PRECO, CO, CU, AU)"
                )));
            }
        }
        let known: Vec<String> = crate::exhaustive::exhaustive_configs()
            .into_iter()
            .chain(crate::exhaustive::token_configs())
            .map(|c| c.name.trim_start_matches("exhaustive-").to_string())
            .collect();
        for name in p.exhaustive.iter().flatten() {
            if !known.contains(name) {
                return Err(Error::Usage(format!(
                    "`exhaustive`: `{name}` is no exhaustive configuration ({})",
                    known.join(", ")
                )));
            }
        }
        Ok(p)
    }

    /// The profile in file `path`.
    pub fn read(path: &std::path::Path) -> Result<Profile, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("--profile {}: {e}", path.display())))?;
        Profile::parse(&text).map_err(|e| e.context(&format!("--profile {}", path.display())))
    }

    /// Whether deviation `d` is declared.
    pub fn has(&self, d: Deviation) -> bool {
        self.deviations.contains(&d)
    }

    /// Whether the class has operation `op`.
    pub fn has_operation(&self, op: Operation) -> bool {
        !self.without.iter().any(|w| w == op.name())
    }

    /// Whether the class can reach triple `t` at all: its operation is one the class has, and
    /// (without the AU) no AU session runs it. Coverage counts the others as left out.
    pub fn reaches(&self, t: &hsm_model::Triple) -> bool {
        self.has_operation(t.1)
            && (self.appliance_user || t.0 != hsm_model::table::Column::Role(Role::ApplianceUser))
    }

    /// Whether the campaign may generate `a` in configuration `cfg`: its operation is one the
    /// class has, a CreateUser creates a role it can create, and (without the AU) it names
    /// no user that is the AU, in any spelling.
    pub fn allows(&self, cfg: &Config, a: &Action) -> bool {
        if !self.has_operation(a.op.operation()) {
            return false;
        }
        if !self.appliance_user && names_the_au(cfg, &a.op) {
            return false;
        }
        match (&a.op, &self.create_roles) {
            (Op::CreateUser { role, .. }, Some(roles)) => roles
                .iter()
                .any(|r| r == crate::protocol::role::name(*role)),
            _ => true,
        }
    }

    /// The configuration the model runs for this profile: policy rewriting (`no_lockout`).
    pub fn model_config(&self, cfg: &Config) -> Config {
        let mut c = cfg.clone();
        if let Some(h) = self.hsms {
            c.hsms = h;
        }
        if self.has(Deviation::NoLockout) {
            c.policy.lockout_threshold = u8::MAX;
        }
        c
    }

    /// The outcome the system must answer for `a` in state `s`, where the spec answers
    /// `spec`, and the deviation that changed it, if any (outcome rewriting). The state after
    /// the step is the spec's in every case: each rewriting turns an error into an outcome
    /// that changes nothing.
    pub fn expected(
        &self,
        s: &LargeState,
        a: &Action,
        spec: &Outcome,
    ) -> (Outcome, Option<Deviation>) {
        match (&a.op, spec) {
            (Op::WrapKey { wrapping, .. }, Err(ErrorCode::NotExtractable))
                if self.has(Deviation::WrapChecksKindFirst)
                    && s.hsm(a.hsm)
                        .and_then(|h| h.key(*wrapping))
                        .is_some_and(|w| w.kind != hsm_model::KeyKind::Aes256) =>
            {
                (
                    Err(ErrorCode::WrongKeyKind),
                    Some(Deviation::WrapChecksKindFirst),
                )
            }
            // The class's shape, not a deviation: no AU to list.
            (Op::ListUsers, Ok(Observation::Users(users))) if !self.appliance_user => (
                Ok(Observation::Users(
                    users
                        .iter()
                        .filter(|u| u.name != APP_USER)
                        .copied()
                        .collect(),
                )),
                None,
            ),
            (Op::Logout, Err(ErrorCode::NotLoggedIn)) if self.has(Deviation::LogoutAlwaysOk) => {
                (Ok(Observation::Done), Some(Deviation::LogoutAlwaysOk))
            }
            (op, Err(ErrorCode::NotLoggedIn | ErrorCode::Forbidden))
                if self.has(Deviation::HiddenKeys) && op.named_keys().next().is_some() =>
            {
                (Err(ErrorCode::NoSuchKey), Some(Deviation::HiddenKeys))
            }
            _ => (spec.clone(), None),
        }
    }

    /// The model's state after `a` (in state `s`, answered `spec`, leading to `next`) as the
    /// lockstep goes on from it (state rewriting, D54: `set_pin_clears_failures`), and the
    /// deviation that changed it.
    pub fn next_state(
        &self,
        s: &LargeState,
        a: &Action,
        spec: &Outcome,
        next: LargeState,
    ) -> (LargeState, Option<Deviation>) {
        let mut n = next;
        if let (Op::ChangeOwnPassword { .. }, Ok(_), true) =
            (&a.op, spec, self.has(Deviation::SetPinClearsFailures))
        {
            if let Some(me) = s.session(a.client, a.hsm) {
                if let Some(u) = n.hsms[a.hsm.index()].users[me.index()].as_mut() {
                    if u.failures != 0 {
                        u.failures = 0;
                        return (n, Some(Deviation::SetPinClearsFailures));
                    }
                }
            }
        }
        (n, None)
    }

    /// The model's state after a step of `cfg` as the system is compared with it (comparison
    /// rewriting: `failures_since_last_success` compares a counter as at most 1, but never
    /// hides a lock: a locked user keeps its count), and the deviation that changed it.
    pub fn compared(&self, cfg: &Config, s: &LargeState) -> (LargeState, Option<Deviation>) {
        let mut c = *s;
        if !self.appliance_user {
            // The class's shape, not a deviation: the AU is compared as absent.
            for h in c.hsms.iter_mut() {
                h.users[APP_USER.index()] = None;
            }
        }
        let mut changed = false;
        let threshold = cfg.policy.lockout_threshold;
        if self.has(Deviation::FailuresSinceLastSuccess) {
            for h in c.hsms.iter_mut() {
                for u in h.users.iter_mut().flatten() {
                    if u.failures > 1 && u.failures < threshold {
                        u.failures = 1;
                        changed = true;
                    }
                }
            }
        }
        (c, changed.then_some(Deviation::FailuresSinceLastSuccess))
    }

    /// The roles the profile lets CreateUser create, as the model's roles.
    pub fn creatable(&self) -> Option<Vec<Role>> {
        self.create_roles.as_ref().map(|rs| {
            rs.iter()
                .filter_map(|r| crate::protocol::role::from_name(r))
                .collect()
        })
    }
}

/// Why a trace (a scenario) is outside a profile: one thing it needs that the class lacks,
/// and the steps (from 1, the configuration's setup included) that need it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outside {
    /// What the class lacks, in words (`Clone`, `CreateUser of a CO`, `the AU`, `2 HSMs`,
    /// `the spec's limits`); the key summaries group files by.
    pub what: String,
    /// Why, in a sentence.
    pub why: String,
    /// The steps that need it (none for the cluster's shape).
    pub steps: Vec<usize>,
}

/// A written expectation of a trace that the profile changes (D58): the system is held to the
/// model with the profile's layer, not to what is written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Changed {
    /// The step, from 1.
    pub step: usize,
    /// The outcome written (the spec's), in words.
    pub written: String,
    /// The outcome the system must answer under the profile, in words.
    pub expected: String,
    /// The deviation that changes it, by name; none: the class's shape (no AU to list).
    pub deviation: Option<Deviation>,
}

/// How a trace with recorded outcomes stands to a profile ([`Profile::fit`]).
#[derive(Clone, Debug)]
pub enum Fit {
    /// It fits: the trace to run (the profile's configuration at the system's limits, outcomes
    /// left to the model and the profile's layer) and the written expectations it changes.
    Fits(Box<Trace>, Vec<Changed>),
    /// It needs what the class lacks: not run.
    Outside(Vec<Outside>),
    /// A recorded outcome the spec contradicts at this step (from 1): the trace is stale.
    Disagrees(usize, String),
}

impl Profile {
    /// How `trace` stands to the profile, for a system that runs `limits` (D58):
    /// - outside, when a step needs an operation the class lacks, creates a role it cannot
    ///   create or names the AU it has not, when its cluster has another number of HSMs than
    ///   the class, or when a written outcome is another at the system's limits than at the
    ///   trace's (the limits are the system's, as in every campaign, and a scenario about
    ///   limits it does not run tests nothing of it);
    /// - else it fits: it runs at the system's limits under the profile's layer, and each
    ///   written outcome the layer changes is listed with the deviation that changes it (a
    ///   deviation that changes a state names the steps its consequences change, too).
    pub fn fit(&self, trace: &Trace, limits: &hsm_model::Policy) -> Fit {
        use hsm_model::story::outcome_text;
        let cfg = &trace.config;
        let steps: Vec<(Action, Option<&Outcome>)> = cfg
            .setup
            .iter()
            .map(|a| (*a, None))
            .chain(trace.steps.iter().map(|s| (s.action, s.outcome.as_ref())))
            .collect();
        // The trace against the spec at its own configuration.
        let mut s = LargeState::new_cluster();
        for (i, (a, recorded)) in steps.iter().enumerate() {
            let (o, next) = cfg.step(&s, a);
            if let Some(r) = recorded {
                if **r != o {
                    return Fit::Disagrees(
                        i + 1,
                        format!(
                            "the trace disagrees with the spec at step {}: it records {}, the model answers {}",
                            i + 1,
                            outcome_text(cfg, r),
                            outcome_text(cfg, &o)
                        ),
                    );
                }
            }
            s = next;
        }
        let mut outside: Vec<Outside> = Vec::new();
        let mut add = |what: String, why: String, step: Option<usize>| match outside
            .iter_mut()
            .find(|o| o.what == what)
        {
            Some(o) => o.steps.extend(step),
            None => outside.push(Outside {
                what,
                why,
                steps: step.into_iter().collect(),
            }),
        };
        if let Some(h) = self.hsms {
            if cfg.hsms != h {
                add(
                    format!("{} HSMs", cfg.hsms),
                    format!(
                        "a cluster of {} HSMs; the profile's class has {h}",
                        cfg.hsms
                    ),
                    None,
                );
            }
        }
        for (i, (a, _)) in steps.iter().enumerate() {
            let op = a.op.operation();
            if !self.has_operation(op) {
                add(
                    op.name().to_string(),
                    format!("{}: an operation the profile does not have", op.name()),
                    Some(i + 1),
                );
            } else if !self.appliance_user && names_the_au(cfg, &a.op) {
                add(
                    "the AU".into(),
                    "it names the AU, which the profile's class does not have".into(),
                    Some(i + 1),
                );
            } else if !self.allows(cfg, a) {
                if let Op::CreateUser { role, .. } = a.op {
                    let r = crate::protocol::role::name(role);
                    let a = if r == "AU" { "an" } else { "a" };
                    add(
                        format!("CreateUser of {a} {r}"),
                        format!("CreateUser of {a} {r}: a role the profile's class cannot create"),
                        Some(i + 1),
                    );
                }
            }
        }
        if !outside.is_empty() {
            return Fit::Outside(outside);
        }
        // At the system's limits, without the layer: a written outcome changed there is a
        // scenario about limits the system does not run.
        let mut at_limits = cfg.clone();
        at_limits.policy = *limits;
        let layered = self.model_config(&at_limits);
        let mut s_lim = LargeState::new_cluster();
        let mut s_p = LargeState::new_cluster();
        // The deviation whose state the lockstep carries from now on, if one changed it.
        let mut carried = (layered.policy != at_limits.policy).then_some(Deviation::NoLockout);
        let mut changed = Vec::new();
        for (i, (a, recorded)) in steps.iter().enumerate() {
            let (lim, next_lim) = at_limits.step(&s_lim, a);
            if let Some(r) = recorded {
                if **r != lim {
                    return Fit::Outside(vec![Outside {
                        what: "the spec's limits".into(),
                        why: format!(
                            "step {} answers {} at the system's limits ({}), where it is written {} at the trace's ({})",
                            i + 1,
                            outcome_text(cfg, &lim),
                            hsm_model::story::policy_text(limits),
                            outcome_text(cfg, r),
                            hsm_model::story::policy_text(&cfg.policy)
                        ),
                        steps: vec![i + 1],
                    }]);
                }
            }
            let (spec, next) = layered.step(&s_p, a);
            let (expected, by) = self.expected(&s_p, a, &spec);
            let (next, kept) = self.next_state(&s_p, a, &spec, next);
            if let Some(r) = recorded {
                if expected != **r {
                    changed.push(Changed {
                        step: i + 1,
                        written: outcome_text(cfg, r),
                        expected: outcome_text(cfg, &expected),
                        deviation: by.or(if spec != lim { carried } else { None }),
                    });
                }
            }
            if carried.is_none() {
                carried = kept;
            }
            s_lim = next_lim;
            s_p = next;
        }
        let mut run = trace.clone();
        run.config = layered;
        for st in run.steps.iter_mut() {
            st.outcome = None;
        }
        Fit::Fits(Box::new(run), changed)
    }
}

/// Whether `op` names a user that is the AU (after lower-casing, as the model resolves names).
fn names_the_au(cfg: &Config, op: &Op) -> bool {
    let name = match op {
        Op::Login { name, .. }
        | Op::ChangePassword { name, .. }
        | Op::CreateUser { name, .. }
        | Op::DeleteUser { name }
        | Op::ShareKey { name, .. }
        | Op::UnshareKey { name, .. } => *name,
        _ => return false,
    };
    cfg.user_named(name) == Some(APP_USER)
}

/// The deviations a run saw, by name, for reports.
pub fn names(ds: &BTreeSet<Deviation>) -> Vec<&'static str> {
    ds.iter().map(|d| d.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsm_model::state::{ClientId, HsmId, KeyId};

    fn profile(deviations: &str) -> Profile {
        Profile::parse(&format!(
            r#"{{"format":"hsmspec-profile","name":"t","without":["Clone"],"create_roles":["CU"],"deviations":{deviations}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn bad_files_are_usage_errors_that_say_why() {
        let bad = |text: &str, says: &str| {
            let e = Profile::parse(text).unwrap_err();
            assert!(
                matches!(e, Error::Usage(_)) && e.to_string().contains(says),
                "{e}"
            );
        };
        bad("{", "not a profile file");
        bad(r#"{"format":"x","name":"t"}"#, "format `x`");
        bad(r#"{"format":"hsmspec-profile","name":""}"#, "needs a name");
        bad(
            r#"{"format":"hsmspec-profile","name":"t","deviations":["no_lockuot"]}"#,
            "unknown variant `no_lockuot`",
        );
        bad(
            r#"{"format":"hsmspec-profile","name":"t","without":["Frobnicate"]}"#,
            "`Frobnicate` is no operation",
        );
        bad(
            r#"{"format":"hsmspec-profile","name":"t","create_roles":["ROOT"]}"#,
            "`ROOT` is no role",
        );
        bad(
            r#"{"format":"hsmspec-profile","name":"t","extra":1}"#,
            "unknown field `extra`",
        );
        bad(
            r#"{"format":"hsmspec-profile","name":"t","exhaustive":["token-user"]}"#,
            "`token-user` is no exhaustive configuration",
        );
    }

    #[test]
    fn each_deviation_rewrites_only_its_case() {
        let at = |op| Action {
            client: ClientId(0),
            hsm: HsmId(0),
            op,
        };
        let none = profile("[]");
        let all = profile(
            r#"["no_lockout","failures_since_last_success","logout_always_ok","hidden_keys"]"#,
        );
        let logout = at(Op::Logout);
        let spec = Err(ErrorCode::NotLoggedIn);
        assert_eq!(
            none.expected(&LargeState::new_cluster(), &logout, &spec),
            (spec.clone(), None)
        );
        assert_eq!(
            all.expected(&LargeState::new_cluster(), &logout, &spec),
            (Ok(Observation::Done), Some(Deviation::LogoutAlwaysOk))
        );
        let delete = at(Op::DeleteKey { key: KeyId(1) });
        for code in [ErrorCode::NotLoggedIn, ErrorCode::Forbidden] {
            assert_eq!(
                all.expected(&LargeState::new_cluster(), &delete, &Err(code)),
                (Err(ErrorCode::NoSuchKey), Some(Deviation::HiddenKeys))
            );
            assert_eq!(
                none.expected(&LargeState::new_cluster(), &delete, &Err(code))
                    .1,
                None
            );
        }
        // Not a key-naming operation, or another error: unchanged.
        assert_eq!(
            all.expected(
                &LargeState::new_cluster(),
                &at(Op::ListUsers),
                &Err(ErrorCode::Forbidden)
            )
            .1,
            None
        );
        assert_eq!(
            all.expected(
                &LargeState::new_cluster(),
                &delete,
                &Err(ErrorCode::NotOwner)
            )
            .1,
            None
        );
        let cfg = Config::small();
        assert_eq!(all.model_config(&cfg).policy.lockout_threshold, u8::MAX);
        assert_eq!(none.model_config(&cfg), cfg);
        assert!(!all.allows(&cfg, &at(Op::Clone { from: HsmId(1) })));
        assert!(all.allows(&cfg, &at(Op::Logout)));
    }

    #[test]
    fn failures_compare_as_a_flag_but_never_hide_a_lock() {
        let p = profile(r#"["failures_since_last_success"]"#);
        let mut cfg = Config::small();
        cfg.policy.lockout_threshold = 3;
        let mut s = LargeState::new_cluster();
        let u = s.hsms[0].users.iter_mut().flatten().next().unwrap();
        u.failures = 2;
        let (c, d) = p.compared(&cfg, &s);
        assert_eq!(d, Some(Deviation::FailuresSinceLastSuccess));
        assert_eq!(c.hsms[0].users.iter().flatten().next().unwrap().failures, 1);
        // At the threshold the user is locked: the count stays.
        s.hsms[0]
            .users
            .iter_mut()
            .flatten()
            .next()
            .unwrap()
            .failures = 3;
        assert_eq!(p.compared(&cfg, &s), (s, None));
        assert_eq!(profile("[]").compared(&cfg, &s), (s, None));
    }

    #[test]
    fn a_class_without_the_au_never_names_it_lists_it_or_compares_it() {
        use hsm_model::state::{ADMIN, PRECO_PASSWORD};
        let p = Profile::parse(
            r#"{"format":"hsmspec-profile","name":"t","hsms":1,"appliance_user":false}"#,
        )
        .unwrap();
        let cfg = crate::generate::runner_config();
        assert_eq!(p.model_config(&cfg).hsms, 1);
        let login = |name| Action {
            client: ClientId(0),
            hsm: HsmId(0),
            op: Op::Login {
                name,
                password: PRECO_PASSWORD,
            },
        };
        // Every spelling of the AU's name is kept out; the PRECO's is not.
        let mut au_spellings = 0;
        for n in cfg.spelled_name_ids() {
            let is_au = cfg.user_named(n) == Some(APP_USER);
            au_spellings += is_au as usize;
            assert_eq!(p.allows(&cfg, &login(n)), !is_au, "{}", cfg.name_text(n));
        }
        assert!(au_spellings >= 2, "app_user and App_User");
        assert!(p.allows(&cfg, &login(ADMIN)));
        let entry = |name, role| hsm_model::action::UserEntry {
            name,
            role,
            locked: false,
        };
        let listed = Ok(Observation::Users(vec![
            entry(ADMIN, Role::PreCryptoOfficer),
            entry(APP_USER, Role::ApplianceUser),
        ]));
        let s = LargeState::new_cluster();
        let list = Action {
            op: Op::ListUsers,
            ..login(ADMIN)
        };
        assert_eq!(
            p.expected(&s, &list, &listed),
            (
                Ok(Observation::Users(vec![entry(
                    ADMIN,
                    Role::PreCryptoOfficer
                )])),
                None
            )
        );
        let (c, d) = p.compared(&cfg, &s);
        assert_eq!(d, None, "the shape is no deviation");
        assert!(c.hsms.iter().all(|h| h.users[APP_USER.index()].is_none()));
        assert!(c.hsms[0].users[ADMIN.index()].is_some());
        assert!(
            s.hsms[0].users[APP_USER.index()].is_some(),
            "the model keeps its AU"
        );
    }

    #[test]
    fn wrap_order_and_set_pin_rewrite_only_their_case() {
        use hsm_model::state::{Key, LabelId, Material, NameId, NameSet, ADMIN};
        let all = profile(r#"["wrap_checks_kind_first","set_pin_clears_failures"]"#);
        let none = profile("[]");
        let mut s = LargeState::new_cluster();
        let key = |kind| Key {
            kind,
            material: Material(1),
            owner: NameId(2),
            shares: NameSet::default(),
            extractable: false,
            label: LabelId(0),
        };
        s.hsms[0].keys[0] = Some(key(hsm_model::KeyKind::HmacSha256));
        s.hsms[0].keys[1] = Some(key(hsm_model::KeyKind::Aes256));
        let wrap = |wrapping| Action {
            client: ClientId(0),
            hsm: HsmId(0),
            op: Op::WrapKey {
                key: KeyId(2),
                wrapping,
            },
        };
        let spec = Err(ErrorCode::NotExtractable);
        assert_eq!(
            all.expected(&s, &wrap(KeyId(1)), &spec),
            (
                Err(ErrorCode::WrongKeyKind),
                Some(Deviation::WrapChecksKindFirst)
            )
        );
        // Under an AES key the tie does not arise; undeclared, nothing changes.
        assert_eq!(
            all.expected(&s, &wrap(KeyId(2)), &spec),
            (spec.clone(), None)
        );
        assert_eq!(
            none.expected(&s, &wrap(KeyId(1)), &spec),
            (spec.clone(), None)
        );
        // A successful change of one's own password clears one's counter.
        s.sessions[0][0] = Some(ADMIN);
        s.hsms[0].users[ADMIN.index()].as_mut().unwrap().failures = 1;
        let change = Action {
            client: ClientId(0),
            hsm: HsmId(0),
            op: Op::ChangeOwnPassword {
                password: hsm_model::state::PasswordId(2),
            },
        };
        let ok = Ok(Observation::Done);
        let (n, d) = all.next_state(&s, &change, &ok, s);
        assert_eq!(d, Some(Deviation::SetPinClearsFailures));
        assert_eq!(n.hsms[0].users[ADMIN.index()].unwrap().failures, 0);
        assert_eq!(none.next_state(&s, &change, &ok, s), (s, None));
        let refused = Err(ErrorCode::InvalidPassword);
        assert_eq!(all.next_state(&s, &change, &refused, s), (s, None));
    }

    #[test]
    fn a_trace_fits_or_says_what_it_needs() {
        use hsm_model::scenario::trace_of;
        let p = Profile::parse(
            r#"{"format":"hsmspec-profile","name":"t","without":["Clone"],"create_roles":["CU"],"deviations":["no_lockout","logout_always_ok"],"hsms":1,"appliance_user":false}"#,
        )
        .unwrap();
        let limits = |t: &Trace| t.config.policy;
        // An operation the class lacks, the AU, a role it cannot create: outside, each said.
        let t = trace_of(
            "scenario: x\n\nadmin: Login admin password -> ok PRECO\nadmin: ChangeOwnPassword \"officer-pw-1\" -> ok\nadmin: CreateUser bob CO \"bob-pw-0001\" -> ok\nau: Login app_user \"appliance-pw\" -> ok AU\nau: Clone 0 -> NotBlank\n",
        )
        .unwrap();
        let Fit::Outside(o) = p.fit(&t, &limits(&t)) else {
            panic!("outside")
        };
        let what: Vec<&str> = o.iter().map(|o| o.what.as_str()).collect();
        assert_eq!(what, ["CreateUser of a CO", "the AU", "Clone"]);
        assert_eq!(o[1].steps, [4]);
        assert_eq!(o[2].steps, [5]);
        // Written expectations the layer changes: each with its deviation, or the shape.
        let t = trace_of(
            "scenario: x\npolicy: lockout 1\n\nadmin: Logout -> NotLoggedIn\nadmin: Login admin wrong-pw-1 -> BadCredentials\nadmin: Login admin password -> LockedOut\nadmin: ListUsers -> ok [admin PRECO locked, app_user AU]\n",
        )
        .unwrap();
        let Fit::Fits(run, changed) = p.fit(&t, &limits(&t)) else {
            panic!("fits")
        };
        let by: Vec<(usize, Option<Deviation>)> =
            changed.iter().map(|c| (c.step, c.deviation)).collect();
        assert_eq!(
            by,
            [
                (1, Some(Deviation::LogoutAlwaysOk)),
                (3, Some(Deviation::NoLockout)),
                (4, Some(Deviation::NoLockout)),
            ]
        );
        assert_eq!(run.config.policy.lockout_threshold, u8::MAX);
        assert!(run.steps.iter().all(|s| s.outcome.is_none()));
        // Limits the system does not run that change a written outcome: outside.
        let mut tight = t.config.policy;
        tight.password_min_chars = 4;
        tight.lockout_threshold = 3;
        let Fit::Outside(o) = p.fit(&t, &tight) else {
            panic!("outside at other limits")
        };
        assert_eq!(o[0].what, "the spec's limits");
        assert_eq!(o[0].steps, [3]);
    }
}
