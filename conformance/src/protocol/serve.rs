//! The process protocol (`docs/protocol.md`): how the runner drives an implementation that is not
//! linked into it, over a child process's standard input and output, one JSON object per line.
//!
//! This module holds the wire vocabulary shared by both ends, [`serve`] (the server side:
//! `hsm-impl` behind the protocol, what `hsmspec serve-impl` runs on stdio), and [`pipe`], an
//! in-memory byte pipe so that tests and benchmarks can run [`serve`] on a thread and drive it
//! with the same client code as a real child process ([`crate::process`]).

use crate::adapter::{impl_kind, impl_policy, impl_role, role_of, ImplFactory};
use crate::sut::SutFactory;
use base64ct::{Base64, Encoding};
use hsm_impl as imp;
use hsm_impl::{Cluster, HsmError, Session};
use hsm_model::{KeyKind, Role};
use serde_json::{json, Map, Value};
use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc;

/// The protocol version this build speaks (the `version` of `hello`).
pub const VERSION: u64 = 1;

/// Bytes as they travel: standard base64 with padding.
pub fn b64(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// Bytes from their base64 text.
pub fn unb64(text: &str) -> Result<Vec<u8>, String> {
    Base64::decode_vec(text).map_err(|e| format!("`{}` is not base64: {e}", clip(text)))
}

/// A role's protocol name: `PRECO`, `CO`, `CU`, `AU` (the model's short names).
pub fn role_name(r: Role) -> &'static str {
    r.short()
}

/// The role of a protocol name.
pub fn role_from(name: &str) -> Option<Role> {
    Role::ALL.into_iter().find(|r| r.short() == name)
}

/// A key kind's protocol name: `Aes256`, `HmacSha256`, `Signing`.
pub fn kind_name(k: KeyKind) -> &'static str {
    match k {
        KeyKind::Aes256 => "Aes256",
        KeyKind::HmacSha256 => "HmacSha256",
        KeyKind::Signing => "Signing",
    }
}

/// The key kind of a protocol name.
pub fn kind_from(name: &str) -> Option<KeyKind> {
    KeyKind::ALL.into_iter().find(|k| kind_name(*k) == name)
}

/// At most 200 characters of `s`, for messages.
pub fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(200).collect();
    if s.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// One served cluster: the cluster and `sessions[client][hsm]`.
struct Served {
    cluster: Cluster,
    sessions: Vec<Vec<Session>>,
}

/// What a request handler answers: the `ok` object, an `err` SPEC code, or a refusal.
enum Answer {
    Ok(Value),
    Err(&'static str),
    Refused(String),
}

fn refused(m: impl Into<String>) -> Answer {
    Answer::Refused(m.into())
}

/// Runs the protocol's server side for `hsm-impl` until `reader` ends: each request line is
/// answered by one line on `writer` (flushed). Clusters are made by `factory`'s constructor
/// (so a fault-zoo factory serves a faulty implementation). The implementation runs the policy
/// the runner asks for, with the cheap password-hash cost of the in-process adapter.
pub fn serve<R: BufRead, W: Write>(
    reader: R,
    mut writer: W,
    factory: &ImplFactory,
) -> io::Result<()> {
    let mut clusters: [Option<Served>; 2] = [None, None];
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (id, answer) = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(req)) => {
                let id = req.get("id").cloned().unwrap_or(Value::Null);
                (id, handle(&req, &mut clusters, factory))
            }
            _ => (
                Value::Null,
                refused(format!("not a JSON object: {}", clip(&line))),
            ),
        };
        let reply = match answer {
            Answer::Ok(v) => json!({ "id": id, "ok": v }),
            Answer::Err(code) => json!({ "id": id, "err": code }),
            Answer::Refused(m) => json!({ "id": id, "refused": m }),
        };
        serde_json::to_writer(&mut writer, &reply)?;
        writer.write_all(b"\n")?;
        writer.flush()?;
    }
    Ok(())
}

fn get_u64(req: &Map<String, Value>, k: &str) -> Result<u64, Answer> {
    req.get(k)
        .and_then(Value::as_u64)
        .ok_or_else(|| refused(format!("`{k}` is missing or not a number")))
}

fn get_str<'a>(req: &'a Map<String, Value>, k: &str) -> Result<&'a str, Answer> {
    req.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| refused(format!("`{k}` is missing or not a string")))
}

fn get_bytes(req: &Map<String, Value>, k: &str) -> Result<Vec<u8>, Answer> {
    unb64(get_str(req, k)?).map_err(refused)
}

fn policy_of(req: &Map<String, Value>) -> Result<hsm_model::Policy, Answer> {
    let p = req.get("policy").cloned().unwrap_or(Value::Null);
    serde_json::from_value(p).map_err(|e| refused(format!("bad `policy`: {e}")))
}

fn handle(
    req: &Map<String, Value>,
    clusters: &mut [Option<Served>; 2],
    factory: &ImplFactory,
) -> Answer {
    let r = (|| -> Result<Answer, Answer> {
        let kind = get_str(req, "type")?;
        match kind {
            "hello" => {
                let v = get_u64(req, "version")?;
                if v != VERSION {
                    return Err(refused(format!(
                        "protocol version {v}: this server speaks version {VERSION}"
                    )));
                }
                let policy = policy_of(req)?;
                Ok(Answer::Ok(json!({
                    "version": VERSION,
                    "implementation": factory.describe(),
                    "policy": policy,
                })))
            }
            "reset" => {
                let which = req.get("cluster").and_then(Value::as_u64).unwrap_or(0);
                if which > 1 {
                    return Err(refused("`cluster` must be 0 or 1"));
                }
                let hsms = get_u64(req, "hsms")? as usize;
                let clients = get_u64(req, "clients")? as usize;
                let pw = get_str(req, "au_password")?;
                let policy = policy_of(req)?;
                let cluster = (factory.constructor())(hsms, pw, impl_policy(&policy))
                    .map_err(|e| refused(format!("cannot make a cluster: {e}")))?;
                let mut sessions = Vec::new();
                for _ in 0..clients {
                    let mut row = Vec::new();
                    for h in 0..hsms {
                        row.push(
                            cluster
                                .open_session(h)
                                .map_err(|e| refused(format!("cannot open a session: {e}")))?,
                        );
                    }
                    sessions.push(row);
                }
                if which == 0 {
                    clusters[1] = None;
                }
                clusters[which as usize] = Some(Served { cluster, sessions });
                Ok(Answer::Ok(json!({ "policy": policy })))
            }
            "step" | "observe" => {
                let which = req.get("cluster").and_then(Value::as_u64).unwrap_or(0);
                let served = clusters
                    .get(which as usize)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| refused(format!("no cluster {which}: send reset first")))?;
                let hsm = get_u64(req, "hsm")? as usize;
                if kind == "observe" {
                    return observe(served, hsm);
                }
                let client = get_u64(req, "client")? as usize;
                let s = served
                    .sessions
                    .get(client)
                    .and_then(|row| row.get(hsm))
                    .ok_or_else(|| {
                        refused(format!("no session of client {client} on HSM {hsm}"))
                    })?;
                let op = get_str(req, "op")?;
                let empty = Map::new();
                let args = req.get("args").and_then(Value::as_object).unwrap_or(&empty);
                Ok(step(s, op, args)?)
            }
            other => Err(refused(format!("unknown request type `{other}`"))),
        }
    })();
    match r {
        Ok(a) | Err(a) => a,
    }
}

fn observe(served: &Served, hsm: usize) -> Result<Answer, Answer> {
    let snap = served
        .cluster
        .inspect(hsm)
        .map_err(|e| refused(format!("cannot inspect HSM {hsm}: {e}")))?;
    let users: Vec<Value> = snap
        .users
        .iter()
        .map(|u| {
            json!({
                "name": u.name,
                "role": role_name(role_of(u.role)),
                "failed_logins": u.failed_logins,
                "locked": u.locked,
            })
        })
        .collect();
    let keys: Vec<Value> = snap
        .keys
        .iter()
        .map(|k| {
            json!({
                "key": k.id.0.to_string(),
                "kind": kind_name(model_kind(k.kind)),
                "owner": k.owner,
                "shares": k.shares,
                "extractable": k.extractable,
                "label": k.label,
            })
        })
        .collect();
    let sessions: Vec<Value> = served
        .sessions
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let id = row[hsm].id();
            let user = snap
                .sessions
                .iter()
                .find(|s| s.session == id)
                .and_then(|s| s.user.clone());
            json!({ "client": c, "user": user })
        })
        .collect();
    Ok(Answer::Ok(json!({
        "activated": snap.activated,
        "blank": snap.blank,
        "users": users,
        "keys": keys,
        "sessions": sessions,
    })))
}

fn model_kind(k: imp::KeyKind) -> KeyKind {
    match k {
        imp::KeyKind::Aes256 => KeyKind::Aes256,
        imp::KeyKind::HmacSha256 => KeyKind::HmacSha256,
        imp::KeyKind::Signing => KeyKind::Signing,
    }
}

/// A key handle of `hsm-impl`: its id in decimal. A handle it never gave names no key.
fn key_arg(args: &Map<String, Value>, k: &str) -> Result<imp::KeyId, Answer> {
    Ok(imp::KeyId(get_str(args, k)?.parse().unwrap_or(u64::MAX)))
}

fn handle_of(id: imp::KeyId) -> Value {
    Value::String(id.0.to_string())
}

fn step(s: &Session, op: &str, a: &Map<String, Value>) -> Result<Answer, Answer> {
    let done = |r: Result<(), HsmError>| r.map(|_| json!({}));
    let r: Result<Value, HsmError> = match op {
        "Login" => s
            .login(get_str(a, "name")?, get_str(a, "password")?)
            .map(|r| json!({ "role": role_name(role_of(r)) })),
        "Logout" => done(s.logout()),
        "GetClusterInfo" => s.cluster_info().map(|i| {
            json!({
                "activated": i.activated,
                "hsms": i.hsms.iter().map(|h| json!({"index": h.index, "blank": h.blank})).collect::<Vec<_>>(),
            })
        }),
        "ListUsers" => s.list_users().map(|us| {
            json!({ "users": us.iter().map(|u| json!({
                "name": u.name, "role": role_name(role_of(u.role)), "locked": u.locked,
            })).collect::<Vec<_>>() })
        }),
        "Zeroize" => done(s.zeroize()),
        "ChangeOwnPassword" => done(s.change_own_password(get_str(a, "password")?)),
        "ChangePassword" => done(s.change_password(get_str(a, "name")?, get_str(a, "password")?)),
        "CreateUser" => {
            let role = get_str(a, "role")?;
            let role = role_from(role).ok_or_else(|| refused(format!("unknown role `{role}`")))?;
            done(s.create_user(get_str(a, "name")?, impl_role(role), get_str(a, "password")?))
        }
        "DeleteUser" => done(s.delete_user(get_str(a, "name")?)),
        "GetSyncStatus" => s.sync_status().map(|d| {
            json!({ "digests": d.iter().map(|x| b64(x)).collect::<Vec<_>>() })
        }),
        "ExtractMasked" => s
            .extract_masked(key_arg(a, "key")?)
            .map(|b| json!({ "object": b64(&b) })),
        "InsertMasked" => s
            .insert_masked(&get_bytes(a, "object")?)
            .map(|k| json!({ "key": handle_of(k) })),
        "Clone" => done(s.clone_from(get_u64(a, "from")? as usize)),
        "GenerateKey" => {
            let kind = get_str(a, "kind")?;
            let kind = kind_from(kind).ok_or_else(|| refused(format!("unknown kind `{kind}`")))?;
            let extractable = a
                .get("extractable")
                .and_then(Value::as_bool)
                .ok_or_else(|| refused("`extractable` is missing or not a boolean"))?;
            s.generate_key(impl_kind(kind), extractable)
                .map(|k| json!({ "key": handle_of(k) }))
        }
        "DeleteKey" => done(s.delete_key(key_arg(a, "key")?)),
        "ShareKey" => done(s.share_key(key_arg(a, "key")?, get_str(a, "name")?)),
        "UnshareKey" => done(s.unshare_key(key_arg(a, "key")?, get_str(a, "name")?)),
        "SetAttribute" => done(s.set_label(key_arg(a, "key")?, get_str(a, "label")?)),
        "WrapKey" => s
            .wrap_key(key_arg(a, "key")?, key_arg(a, "wrapping")?)
            .map(|b| json!({ "wrapped": b64(&b) })),
        "UnwrapKey" => s
            .unwrap_key(&get_bytes(a, "wrapped")?, key_arg(a, "wrapping")?)
            .map(|k| json!({ "key": handle_of(k) })),
        "Encrypt" => s
            .encrypt(key_arg(a, "key")?, &get_bytes(a, "data")?)
            .map(|b| json!({ "ciphertext": b64(&b) })),
        "Decrypt" => s
            .decrypt(key_arg(a, "key")?, &get_bytes(a, "ciphertext")?)
            .map(|b| json!({ "plaintext": b64(&b) })),
        "Sign" => s
            .sign(key_arg(a, "key")?, &get_bytes(a, "data")?)
            .map(|b| json!({ "signature": b64(&b) })),
        "Verify" => s
            .verify(
                key_arg(a, "key")?,
                &get_bytes(a, "data")?,
                &get_bytes(a, "signature")?,
            )
            .map(|v| json!({ "valid": v })),
        "Hmac" => s
            .hmac(key_arg(a, "key")?, &get_bytes(a, "data")?)
            .map(|t| json!({ "tag": b64(&t) })),
        "Digest" => s
            .digest(&get_bytes(a, "data")?)
            .map(|d| json!({ "digest": b64(&d) })),
        other => return Err(refused(format!("unknown operation `{other}`"))),
    };
    Ok(match r {
        Ok(v) => Answer::Ok(v),
        Err(e) => Answer::Err(e.code()),
    })
}

/// The writing end of an in-memory [`pipe`].
pub struct PipeWriter(mpsc::Sender<Vec<u8>>);

/// The reading end of an in-memory [`pipe`]; reads end (EOF) when the writer is dropped.
pub struct PipeReader {
    rx: mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

/// An in-memory byte pipe: what is written to the writer is read from the reader, in order.
pub fn pipe() -> (PipeReader, PipeWriter) {
    let (tx, rx) = mpsc::channel();
    (
        PipeReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        },
        PipeWriter(tx),
    )
}

impl Write for PipeWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if b.is_empty() {
            return Ok(0);
        }
        self.0
            .send(b.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "reader gone"))?;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.rx.recv() {
                Ok(b) => {
                    self.buf = b;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
