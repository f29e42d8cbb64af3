//! Scenarios: situations of the spec written by hand, checked against the model (and, by the
//! conformance runner, against an implementation).
//!
//! ```text
//! scenario: a CU cannot share a key beyond the share limit
//! policy: shares 1
//!
//! admin: Login admin password                 -> ok PRECO
//! admin: ChangeOwnPassword "officer-pw-1"     -> ok
//! admin: CreateUser alice CU "alice-pw-01"    -> ok
//! admin: CreateUser bob CU "bob-pw-0001"      -> ok
//! admin: CreateUser carol CU "carol-pw-01"    -> ok
//! alice: Login alice "alice-pw-01"            -> ok CU
//! alice: k1 = GenerateKey aes                 -> ok
//! alice: ShareKey k1 bob                      -> ok
//! alice: ShareKey k1 carol                    -> ShareLimit
//! ```
//!
//! Names, passwords, labels and data are written as text; clients are named by use (each new
//! name is a new client, each with one session per HSM), `@N` picks the HSM (0 by default), and
//! `name =` binds what a step returns (a key id, a masked object, wrapped bytes, a ciphertext,
//! a signature, a sync status) for later steps. The header says only what differs from the
//! spec's defaults. The format is described in `docs/formats.md`.
//!
//! [`Scenario::parse`] reads the text ([`syntax`]); [`Scenario::run`] gives it meaning
//! ([`resolve`]): it builds the configuration, runs every step on the model, checks each
//! expected outcome and yields the [`Trace`] that the runner replays on a system under test.
//! [`write`] turns a v1 trace back into a scenario.

mod resolve;
mod syntax;
pub mod write;

pub use resolve::{Compiled, ScenarioStep};
pub use write::to_scenario;

use crate::policy::Policy;
use crate::{Error, Trace};
use syntax::{Header, Line, StepLine};

/// A place in a scenario file: line and column, both from 1 (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
}

/// The extension of scenario files.
pub const EXTENSION: &str = "scenario";

/// The AU's password when the header does not set one.
pub const DEFAULT_AU_PASSWORD: &str = "appliance-pw";

/// A scenario as read: its header and its steps, not yet checked against the model.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// What it shows (the `scenario:` line).
    pub purpose: String,
    /// HSMs of the cluster, when the header says (else one more than the highest HSM a step
    /// names).
    hsms: Option<(u64, Pos)>,
    /// The policy: the spec's defaults with the header's settings.
    policy: Policy,
    /// The AU's password, and where the header set it.
    au_password: (String, Option<Pos>),
    /// The steps, in order.
    steps: Vec<StepLine>,
}

impl Scenario {
    /// Reads a scenario's text. A mistake (a line that is no header and no step, a header
    /// after the first step, a setting that does not exist) is [`Error::Scenario`] with its
    /// line and column.
    pub fn parse(text: &str) -> Result<Scenario, Error> {
        let mut sc = Scenario {
            purpose: String::new(),
            hsms: None,
            policy: Policy::spec_default(),
            au_password: (DEFAULT_AU_PASSWORD.to_string(), None),
            steps: Vec::new(),
        };
        let mut purpose_at = None;
        for (i, line) in text.lines().enumerate() {
            let Some(parsed) = syntax::parse_line(line, i + 1)? else {
                continue;
            };
            match parsed {
                Line::Step(s) => sc.steps.push(s),
                Line::Header(h, pos) => {
                    if !sc.steps.is_empty() {
                        return Err(at(pos, "the header comes before the first step"));
                    }
                    match h {
                        Header::Purpose(p) => {
                            if purpose_at.is_some() {
                                return Err(at(pos, "a second `scenario:` line"));
                            }
                            purpose_at = Some(pos);
                            sc.purpose = p;
                        }
                        Header::Hsms(n, p) => sc.hsms = Some((n, p)),
                        Header::AuPassword(pw, p) => sc.au_password = (pw, Some(p)),
                        Header::Policy(items) => {
                            for (name, npos, value, vpos) in items {
                                set_policy(&mut sc.policy, &name, npos, value, vpos)?;
                            }
                        }
                    }
                }
            }
        }
        if purpose_at.is_none() {
            return Err(at(
                Pos { line: 1, column: 1 },
                "a scenario starts with `scenario: what it shows`",
            ));
        }
        if sc.steps.is_empty() {
            return Err(at(
                Pos {
                    line: text.lines().count().max(1),
                    column: 1,
                },
                "a scenario has at least one step",
            ));
        }
        Ok(sc)
    }

    /// Runs the scenario on the model: the configuration it implies, every step's action and
    /// outcome, each expected outcome checked ([`Error::ScenarioDisagrees`] at the first that
    /// the model contradicts), as a trace the runner replays.
    pub fn run(&self) -> Result<Compiled, Error> {
        resolve::run(self)
    }

    /// Reads and runs a scenario's text in one go.
    pub fn compile(text: &str) -> Result<Compiled, Error> {
        Scenario::parse(text)?.run()
    }
}

/// The trace of a scenario file's text (what the runner replays), or why it is none.
pub fn trace_of(text: &str) -> Result<Trace, Error> {
    Scenario::compile(text).map(|c| c.trace)
}

pub(crate) fn at(pos: Pos, message: impl Into<String>) -> Error {
    Error::Scenario {
        line: pos.line,
        column: pos.column,
        message: message.into(),
    }
}

/// The policy settings a header may change, with the field each sets.
pub const POLICY_SETTINGS: [&str; 7] = [
    "shares",
    "lockout",
    "users",
    "keys",
    "name-max",
    "password-min",
    "password-max",
];

fn set_policy(p: &mut Policy, name: &str, npos: Pos, value: u64, vpos: Pos) -> Result<(), Error> {
    let small = |max: u64| {
        if value > max {
            Err(at(vpos, format!("`{name}` is at most {max}")))
        } else {
            Ok(value)
        }
    };
    match name {
        "shares" => p.max_shares = small(u8::MAX as u64)? as u8,
        "lockout" => {
            if value == 0 {
                return Err(at(vpos, "`lockout` is at least 1"));
            }
            p.lockout_threshold = small(u8::MAX as u64)? as u8
        }
        "users" => p.max_users = small(u16::MAX as u64)? as u16,
        "keys" => p.max_keys = small(u16::MAX as u64)? as u16,
        "name-max" => p.name_max_chars = small(u16::MAX as u64)? as u16,
        "password-min" => p.password_min_chars = small(u16::MAX as u64)? as u16,
        "password-max" => p.password_max_chars = small(u16::MAX as u64)? as u16,
        _ => {
            return Err(at(
                npos,
                format!(
                    "no policy setting `{name}`{} (settings: {})",
                    suggest(name, POLICY_SETTINGS.iter().copied()),
                    POLICY_SETTINGS.join(", ")
                ),
            ))
        }
    }
    Ok(())
}

/// `, did you mean `x`?` for the known word nearest to `word`, when one is near.
pub(crate) fn suggest<'a>(word: &str, known: impl Iterator<Item = &'a str>) -> String {
    let w = word.to_lowercase();
    known
        .map(|k| (distance(&w, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map_or(String::new(), |(_, k)| format!(", did you mean `{k}`?"))
}

/// The edit distance of two words.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
