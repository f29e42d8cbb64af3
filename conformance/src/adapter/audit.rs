//! The audit log of `hsm-impl` (an operation of its own, the CO's alone; D23), held to the run:
//! one record per step with its session, operation, user, outcome and time, and the log as a CO
//! reads it. Only the in-process adapter sees it (the protocol has no audit log).

use super::ImplSut;
use crate::error::{diverged, Error};
use hsm_impl::{HsmError, AUDIT_CAPACITY};
use hsm_model::{Action, ErrorCode, LargeState, Op, Outcome, Role};

/// Milliseconds since the Unix epoch (the audit records' clock).
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl ImplSut {
    /// The audit log held to the step (the implementation audits every call, refused ones
    /// included): exactly one new record on the acting HSM and none elsewhere; its sequence
    /// number the next one; its session, operation, user (the session's user before the step;
    /// for Login the lower-cased name tried) and outcome (the one the model gave) those of the
    /// step; its time within the step's. After a zeroize the log holds that record alone.
    pub(super) fn check_audit(
        &mut self,
        a: &Action,
        before: &LargeState,
        expected: &Outcome,
        started: u64,
        ended: u64,
    ) -> Result<(), Error> {
        let cfg = self.inner.abstraction.config().clone();
        for h in 0..cfg.hsms as usize {
            let new = self
                .cluster()
                .audit_after(h, self.audit_seen[h])
                .map_err(|e| Error::Divergence(format!("audit log of HSM {h}: {e}")))?;
            if h != a.hsm.index() {
                if !new.is_empty() {
                    return diverged(format!(
                        "audit: a step on HSM {} added {} record(s) to HSM {h}'s log",
                        a.hsm.index(),
                        new.len()
                    ));
                }
                continue;
            }
            let [r] = new.as_slice() else {
                return diverged(format!(
                    "audit: the step added {} records to HSM {h}'s log, not one",
                    new.len()
                ));
            };
            let want_seq = self.audit_seen[h] + 1;
            if r.seq != want_seq {
                return diverged(format!(
                    "audit: the step's record has sequence number {}, not {want_seq}",
                    r.seq
                ));
            }
            let session = self.session(a.client.index(), h).id();
            if r.session != session {
                return diverged(format!(
                    "audit: the step's record names session {}, not {session}",
                    r.session
                ));
            }
            let op = a.op.operation().name();
            if format!("{:?}", r.operation) != op {
                return diverged(format!(
                    "audit: the step's record names the operation {:?}, not {op}",
                    r.operation
                ));
            }
            let user = match a.op {
                Op::Login { name, .. } => Some(
                    crate::abstraction::name_arg(&cfg, name)
                        .to_lowercase()
                        .chars()
                        .take(64)
                        .collect(),
                ),
                _ => before
                    .session(a.client, a.hsm)
                    .map(|n| cfg.name_text(n).to_lowercase()),
            };
            if r.user != user {
                return diverged(format!(
                    "audit: the step's record names {}, not {}",
                    r.user
                        .as_deref()
                        .map_or("no user".to_string(), |u| format!("the user {u}")),
                    user.as_deref()
                        .map_or("no user".to_string(), |u| format!("the user {u}"))
                ));
            }
            let got = match r.outcome {
                Ok(()) => None,
                Err(e) => ErrorCode::from_name(e.code()),
            };
            let want_code = expected.as_ref().err().map_or("Ok", |c| c.name());
            if got != expected.as_ref().err().copied() || r.outcome_code() != want_code {
                return diverged(format!(
                    "audit: the step's record has outcome {}, the step answered {}",
                    r.outcome_code(),
                    crate::runner::show(expected)
                ));
            }
            if !(started..=ended).contains(&r.time_unix_ms) {
                return diverged(format!(
                    "audit: the step's record has time {} ms, outside the step's {started}..={ended}",
                    r.time_unix_ms
                ));
            }
            // The log keeps every record since the HSM's last zeroize (that zeroize's own
            // record first), the oldest dropped beyond AUDIT_CAPACITY.
            self.audit_held[h] = if matches!(a.op, Op::Zeroize) {
                1
            } else {
                self.audit_held[h] + 1
            };
            self.check_audit_length(h)?;
            self.audit_seen[h] = r.seq;
        }
        Ok(())
    }

    /// After an Ok ListUsers: the audit log as the acting session reads it (a CO: the records
    /// up to this call; anyone else: Forbidden or NotLoggedIn, as the table's CO-only rows).
    pub(super) fn audit_law(
        &self,
        a: &Action,
        before: &LargeState,
        out: &Outcome,
    ) -> Result<(), Error> {
        if !(matches!(a.op, Op::ListUsers) && out.is_ok()) {
            return Ok(());
        }
        let s = self.session(a.client.index(), a.hsm.index());
        // The audit log as a CO reads it (an operation of hsm-impl's own, the CO's
        // alone): the records up to this call, as the auditor's view shows them.
        let h = a.hsm.index();
        let want = self
            .cluster()
            .audit_after(h, 0)
            .map_err(|e| Error::Divergence(format!("audit log of HSM {h}: {e}")))?;
        let got = s.audit_log();
        let ok = match before.session_role(a.client, a.hsm) {
            Some(Role::CryptoOfficer) => got.as_ref() == Ok(&want),
            Some(_) => got == Err(HsmError::Forbidden),
            None => got == Err(HsmError::NotLoggedIn),
        };
        if !ok {
            return diverged(format!(
                "law: AuditLog by a {} answered {}, not {}",
                before
                    .session_role(a.client, a.hsm)
                    .map_or("session not logged in".to_string(), |r| r.to_string()),
                match &got {
                    Ok(r) => format!("{} records", r.len()),
                    Err(e) => e.code().to_string(),
                },
                match before.session_role(a.client, a.hsm) {
                    Some(Role::CryptoOfficer) => format!("the {} records of the log", want.len()),
                    Some(_) => "Forbidden".to_string(),
                    None => "NotLoggedIn".to_string(),
                }
            ));
        }
        Ok(())
    }

    /// Moves past the records of the laws' own calls (they are audited too).
    pub(super) fn skip_audit_records(&mut self, h: usize) -> Result<(), Error> {
        let more = self
            .cluster()
            .audit_after(h, self.audit_seen[h])
            .map_err(|e| Error::Divergence(format!("audit log of HSM {h}: {e}")))?;
        if let Some(r) = more.last() {
            self.audit_seen[h] = r.seq;
        }
        self.audit_held[h] += more.len();
        self.check_audit_length(h)
    }

    /// The audit log of HSM `h` holds what it should: the records since its last zeroize,
    /// at most [`AUDIT_CAPACITY`].
    fn check_audit_length(&self, h: usize) -> Result<(), Error> {
        let all = self
            .cluster()
            .audit_after(h, 0)
            .map_err(|e| Error::Divergence(format!("audit log of HSM {h}: {e}")))?;
        let want = self.audit_held[h].min(AUDIT_CAPACITY);
        if all.len() != want {
            return diverged(format!(
                "audit: HSM {h}'s log holds {} records, not the {want} since its last zeroize",
                all.len()
            ));
        }
        Ok(())
    }
}
