//! What the commands print, shared: the versioned JSON documents of `check`, `conform`,
//! `replay` and `table` (their schema is `docs/schema/hsmspec-output.schema.json`), the
//! configuration as text and as JSON, and [`say!`](crate::say), which sends a command's text to
//! stderr when `--json` keeps stdout for the one document.

use hsm_model::action::Action;
use hsm_model::story::outcome_text;
use hsm_model::trace::describe;
use hsm_model::{Config, State};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};

/// The `schema` of `hsmspec check --json`'s document.
pub const CHECK_SCHEMA: &str = "hsmspec-check/1";
/// The `schema` of `hsmspec conform --json`'s document (and of `--report`).
pub const CONFORM_SCHEMA: &str = "hsmspec-conform/2";
/// The `schema` of `hsmspec replay --json`'s document (and of `--report`).
pub const REPLAY_SCHEMA: &str = "hsmspec-replay/3";
/// The `schema` of `hsmspec table --format json`'s document.
pub const TABLE_SCHEMA: &str = "hsmspec-table/1";

static TEXT_TO_STDERR: AtomicBool = AtomicBool::new(false);

/// From now on, [`say!`](crate::say) writes to stderr: stdout is kept for one JSON document.
pub fn text_to_stderr(on: bool) {
    TEXT_TO_STDERR.store(on, Ordering::Relaxed);
}

/// Whether [`say!`](crate::say) writes to stderr.
pub fn text_goes_to_stderr() -> bool {
    TEXT_TO_STDERR.load(Ordering::Relaxed)
}

/// `println!` for a command's text output: to stdout, or to stderr once
/// [`text_to_stderr`] is on (`--json`).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        if $crate::output::text_goes_to_stderr() {
            eprintln!($($arg)*);
        } else {
            println!($($arg)*);
        }
    };
}

/// Prints one JSON document on stdout.
pub fn print_document(doc: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string())
    );
}

/// The fields every document starts with: its schema, the tool and its version.
pub fn header(schema: &str, tool: &str) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("schema".into(), json!(schema));
    m.insert("tool".into(), json!(tool));
    m.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    m
}

/// The users a configuration puts in play: `admin`, `app_user`, then its names.
fn user_names(cfg: &Config) -> Vec<String> {
    ["admin", "app_user"]
        .into_iter()
        .map(str::to_string)
        .chain(cfg.names.iter().cloned())
        .collect()
}

/// A configuration for machines: its bounds, policy and families, with names as text.
pub fn config_json(cfg: &Config) -> Value {
    let p = cfg.policy;
    json!({
        "name": cfg.name,
        "hsms": cfg.hsms,
        "clients": cfg.clients,
        "users": user_names(cfg),
        "invalid_names": cfg.invalid_names,
        "key_ids": cfg.key_ids,
        "key_kinds": cfg.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "wrong_logins": cfg.wrong_logins,
        "pools": {
            "masked": cfg.pools.masked,
            "wrapped": cfg.pools.wrapped,
            "ciphertexts": cfg.pools.ciphertexts,
            "signatures": cfg.pools.signatures,
        },
        "policy": {
            "name_max_chars": p.name_max_chars,
            "password_min_chars": p.password_min_chars,
            "password_max_chars": p.password_max_chars,
            "lockout_threshold": p.lockout_threshold,
            "max_shares": p.max_shares,
            "max_users": p.max_users,
            "max_keys": p.max_keys,
        },
        "families": cfg.families.iter().map(|f| f.name()).collect::<Vec<_>>(),
        "symmetry": cfg.symmetry,
        "setup_steps": cfg.setup.len(),
    })
}

/// A configuration as a person reads it, in lines:
///
/// ```text
/// 1 HSM, 2 clients; users admin, app_user, alice, bob; 2 key ids (AES-256, signing)
/// pools: 2 masked objects, 1 wrapped key, 1 ciphertext, 1 signature
/// policy: …
/// ```
pub fn config_text(cfg: &Config) -> Vec<String> {
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let kinds: Vec<&str> = cfg.kinds.iter().map(|k| k.name()).collect();
    vec![
        format!(
            "{}, {}; users {}; {} ({}){}",
            n(cfg.hsms as usize, "HSM", "HSMs"),
            n(cfg.clients as usize, "client", "clients"),
            user_names(cfg).join(", "),
            n(cfg.key_ids as usize, "key id", "key ids"),
            kinds.join(", "),
            if cfg.wrong_logins {
                "; wrong passwords tried"
            } else {
                ""
            }
        ),
        format!(
            "pools: {}, {}, {}, {}",
            n(cfg.pools.masked as usize, "masked object", "masked objects"),
            n(cfg.pools.wrapped as usize, "wrapped key", "wrapped keys"),
            n(cfg.pools.ciphertexts as usize, "ciphertext", "ciphertexts"),
            n(cfg.pools.signatures as usize, "signature", "signatures"),
        ),
        format!("policy: {}", hsm_model::story::policy_text(&cfg.policy)),
    ]
}

/// One step of a path for machines: who ran what, and what the model answered.
pub fn step_json(cfg: &Config, step: usize, setup: bool, a: &Action, model: &State) -> Value {
    let (outcome, _) = cfg.step(model, a);
    json!({
        "step": step,
        "setup": setup,
        "client": a.client.0,
        "hsm": a.hsm.0,
        "operation": a.op.operation().name(),
        "action": describe(cfg, a),
        "ok": outcome.is_ok(),
        "error": outcome.as_ref().err().map(|e| e.name()),
        "outcome": outcome_text(cfg, &outcome),
    })
}

/// A path from a new cluster of `cfg` (its setup steps first), each step with the model's
/// outcome.
pub fn path_json(cfg: &Config, actions: &[Action]) -> Value {
    let mut s = State::new_cluster();
    let mut out = Vec::new();
    let all = cfg
        .setup
        .iter()
        .map(|a| (true, a))
        .chain(actions.iter().map(|a| (false, a)));
    for (i, (setup, a)) in all.enumerate() {
        out.push(step_json(cfg, i + 1, setup, a, &s));
        s = cfg.step(&s, a).1;
    }
    Value::Array(out)
}
