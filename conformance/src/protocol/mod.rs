//! The process protocol (`docs/protocol.md`), typed: every request and every answer the runner
//! and an implementation exchange, as serde types that both ends share. The runner's side
//! ([`crate::process`]) sends [`Request`]s and decodes [`Reply`]s; [`serve`] is the other side
//! for `hsm-impl` (what `hsmspec serve-impl` runs on stdio, and what the in-process adapter
//! calls directly, without JSON).
//!
//! On the wire a request is one JSON object per line, `{"id": N, "type": …, …}`, and its
//! answer `{"id": N, "ok": {…}}`, `{"id": N, "err": "Code"}` or `{"id": N, "refused": "…"}`.
//! The `ok` object's fields depend on the request (and for `step`, on the operation), so an
//! answer is decoded with the request it answers ([`Answer::decode`]). Fields an end does not
//! know are ignored (new optional fields may be added within a version).

pub mod serve;

use base64ct::{Base64, Encoding};
use hsm_model::{KeyKind, Policy, Role};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

pub use serve::{serve, Server};

/// The newest protocol version this build speaks. The runner sends `hello` with `version` 1
/// and every version it speaks in `versions` (a v1 implementation ignores the field it does not
/// know); the answer's `version` is the one the connection then speaks.
pub const VERSION: u64 = 2;

/// Every protocol version this build speaks, oldest first.
pub const VERSIONS: [u64; 2] = [1, 2];

/// Protocol versions as a person reads them: `version 2`, `versions 1 and 2`, `versions 1, 2
/// and 3`, `no version`.
pub fn versions_text(versions: &[u64]) -> String {
    let v: Vec<String> = versions.iter().map(u64::to_string).collect();
    match v.as_slice() {
        [] => "no version".into(),
        [one] => format!("version {one}"),
        [init @ .., last] => format!("versions {} and {last}", init.join(", ")),
    }
}

/// The capability of a v2 implementation that may have requests of different clients in
/// flight at once, answered out of order and matched by id (declared in `hello`; the runner's
/// campaigns send one request at a time so far).
pub const CONCURRENT: &str = "concurrent";

/// Bytes as they travel: standard base64 with padding.
pub fn b64(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// Bytes from their base64 text.
pub fn unb64(text: &str) -> Result<Vec<u8>, String> {
    Base64::decode_vec(text).map_err(|e| format!("`{}` is not base64: {e}", clip(text)))
}

/// At most 200 characters of `s`, for messages.
pub fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(200).collect();
    if s.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// A byte string (data, an object, a ciphertext, …): base64 on the wire.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(d)?;
        unb64(&text).map(Bytes).map_err(serde::de::Error::custom)
    }
}

/// A password as it travels: wiped when dropped, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// The password `text`.
    pub fn new(text: impl Into<String>) -> Password {
        Password(text.into())
    }
    /// The text.
    pub fn text(&self) -> &str {
        &self.0
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(a password)")
    }
}

/// A key handle: a string the implementation invents for a key, cluster-wide and for the
/// cluster's lifetime.
pub type Handle = String;

/// Roles travel by their short names: `PRECO`, `CO`, `CU`, `AU`.
pub mod role {
    use super::*;

    /// The role's protocol name.
    pub fn name(r: Role) -> &'static str {
        r.short()
    }

    /// The role of a protocol name.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.short() == name)
    }

    /// serde: a role as its short name.
    pub fn serialize<S: Serializer>(r: &Role, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(name(*r))
    }

    /// serde: a role from its short name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let text = String::deserialize(d)?;
        from_name(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown role `{text}`")))
    }
}

/// A request of the runner, without its id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Request {
    /// The first request of every process: the protocol version, the runner's policy and the
    /// cluster shape of its random campaign.
    Hello {
        /// The protocol version: 1 on the wire (what every implementation reads), the newer
        /// ones in `versions`.
        version: u64,
        /// Version 2 on: every version the runner speaks; the implementation answers the
        /// newest it speaks too. Absent: version `version` only.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        versions: Vec<u64>,
        /// Version 2 on: the profile the runner holds the implementation to (absent: the
        /// whole spec).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
        /// The runner's policy.
        policy: Policy,
        /// HSMs per cluster.
        hsms: u8,
        /// Clients (sessions per HSM).
        clients: u8,
        /// The AU's password.
        au_password: Password,
    },
    /// A new, unactivated cluster with one unauthenticated session per client and HSM.
    Reset {
        /// 0 for the trace's cluster (discarding everything before), 1 for a second cluster
        /// beside it (another cluster's masked object).
        #[serde(default)]
        cluster: u8,
        /// HSMs.
        hsms: u8,
        /// Clients.
        clients: u8,
        /// The AU's password.
        au_password: Password,
        /// The policy.
        policy: Policy,
    },
    /// One operation in a client's session on an HSM.
    Step(Step),
    /// The read-only state of one HSM.
    Observe {
        /// The cluster.
        #[serde(default)]
        cluster: u8,
        /// The HSM.
        hsm: u64,
    },
}

/// A `step` request: where it runs, and the operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The cluster (0, or 1 for the second cluster).
    #[serde(default)]
    pub cluster: u8,
    /// The client whose session runs it.
    pub client: u64,
    /// The HSM the session is bound to.
    pub hsm: u64,
    /// The operation and its arguments.
    #[serde(flatten)]
    pub call: Call,
}

/// An operation (SPEC §3) with its arguments as text, bytes and key handles: `"op"` and
/// `"args"` on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "args")]
#[allow(missing_docs)] // the operations and arguments of SPEC §3, by their names
pub enum Call {
    Login {
        name: String,
        password: Password,
    },
    Logout {},
    GetClusterInfo {},
    ListUsers {},
    Zeroize {},
    ChangeOwnPassword {
        password: Password,
    },
    ChangePassword {
        name: String,
        password: Password,
    },
    CreateUser {
        name: String,
        #[serde(with = "role")]
        role: Role,
        password: Password,
    },
    DeleteUser {
        name: String,
    },
    GetSyncStatus {},
    ExtractMasked {
        key: Handle,
    },
    InsertMasked {
        object: Bytes,
    },
    Clone {
        from: u64,
    },
    GenerateKey {
        kind: KeyKind,
        extractable: bool,
    },
    DeleteKey {
        key: Handle,
    },
    ShareKey {
        key: Handle,
        name: String,
    },
    UnshareKey {
        key: Handle,
        name: String,
    },
    SetAttribute {
        key: Handle,
        label: String,
    },
    WrapKey {
        key: Handle,
        wrapping: Handle,
    },
    UnwrapKey {
        wrapped: Bytes,
        wrapping: Handle,
    },
    Encrypt {
        key: Handle,
        data: Bytes,
    },
    Decrypt {
        key: Handle,
        ciphertext: Bytes,
    },
    Sign {
        key: Handle,
        data: Bytes,
    },
    Verify {
        key: Handle,
        data: Bytes,
        signature: Bytes,
    },
    Hmac {
        key: Handle,
        data: Bytes,
    },
    Digest {
        data: Bytes,
    },
}

impl Call {
    /// The operation's name (`Login`, …), as the wire's `op` carries it.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Login { .. } => "Login",
            Call::Logout {} => "Logout",
            Call::GetClusterInfo {} => "GetClusterInfo",
            Call::ListUsers {} => "ListUsers",
            Call::Zeroize {} => "Zeroize",
            Call::ChangeOwnPassword { .. } => "ChangeOwnPassword",
            Call::ChangePassword { .. } => "ChangePassword",
            Call::CreateUser { .. } => "CreateUser",
            Call::DeleteUser { .. } => "DeleteUser",
            Call::GetSyncStatus {} => "GetSyncStatus",
            Call::ExtractMasked { .. } => "ExtractMasked",
            Call::InsertMasked { .. } => "InsertMasked",
            Call::Clone { .. } => "Clone",
            Call::GenerateKey { .. } => "GenerateKey",
            Call::DeleteKey { .. } => "DeleteKey",
            Call::ShareKey { .. } => "ShareKey",
            Call::UnshareKey { .. } => "UnshareKey",
            Call::SetAttribute { .. } => "SetAttribute",
            Call::WrapKey { .. } => "WrapKey",
            Call::UnwrapKey { .. } => "UnwrapKey",
            Call::Encrypt { .. } => "Encrypt",
            Call::Decrypt { .. } => "Decrypt",
            Call::Sign { .. } => "Sign",
            Call::Verify { .. } => "Verify",
            Call::Hmac { .. } => "Hmac",
            Call::Digest { .. } => "Digest",
        }
    }
}

impl Request {
    /// `reset` of cluster 0 for a trace of `cfg`: its shape, AU password and policy.
    pub fn reset(cfg: &hsm_model::Config) -> Request {
        Request::Reset {
            cluster: 0,
            hsms: cfg.hsms,
            clients: cfg.clients,
            au_password: Password::new(cfg.au_password.clone()),
            policy: cfg.policy,
        }
    }

    /// The request's `type`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Reset { .. } => "reset",
            Request::Step(_) => "step",
            Request::Observe { .. } => "observe",
        }
    }
}

/// A request as it travels: its id and the request.
#[derive(Serialize)]
pub struct Envelope<'a> {
    /// Increasing from 1 for each process.
    pub id: u64,
    /// Version 2, `step` only: the answer carries `observed`, the observation of every HSM of
    /// the step's cluster after the step (what `observe` of each would answer).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub observe: bool,
    /// The request.
    #[serde(flatten)]
    pub request: &'a Request,
}

/// One HSM in GetClusterInfo's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HsmInfo {
    /// Its index.
    pub index: u64,
    /// Whether it is blank.
    pub blank: bool,
}

/// A user in ListUsers' answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLine {
    /// The stored (lower-case) name.
    pub name: String,
    /// Its role.
    #[serde(with = "role")]
    pub role: Role,
    /// Whether it is locked out.
    pub locked: bool,
}

/// A user in an observation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObservedUser {
    /// The stored (lower-case) name.
    pub name: String,
    /// Its role.
    #[serde(with = "role")]
    pub role: Role,
    /// Consecutive failed logins.
    pub failed_logins: u64,
    /// Whether it is locked out.
    pub locked: bool,
}

/// A key in an observation (never its material).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedKey {
    /// Its handle.
    pub key: Handle,
    /// Its kind.
    pub kind: KeyKind,
    /// The owner's name.
    pub owner: String,
    /// The names it is shared with.
    pub shares: Vec<String>,
    /// Whether it may be wrapped.
    pub extractable: bool,
    /// Its label.
    pub label: String,
}

/// A client's session in an observation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedSession {
    /// The client.
    pub client: u64,
    /// The user it is logged in as, if any.
    pub user: Option<String>,
}

/// `observe`'s answer: one HSM as an inspection view shows it without logging in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// The cluster's activated flag.
    pub activated: bool,
    /// Whether the HSM is blank.
    pub blank: bool,
    /// Every user.
    pub users: Vec<ObservedUser>,
    /// Every key.
    pub keys: Vec<ObservedKey>,
    /// Each client's session.
    pub sessions: Vec<ObservedSession>,
}

/// `hello`'s answer (every field may be left out).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HelloAnswer {
    /// The protocol version it speaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Its one-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
    /// The policy it really runs (left out: the runner's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// Version 2: the optional capabilities it has ([`CONCURRENT`]); unknown ones are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// Version 2: the profile it implements (absent: the whole spec). A runner holding it to
    /// another profile stops with a usage error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// `reset`'s answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResetAnswer {
    /// The policy it runs (left out: the one asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
}

/// The result object of an Ok answer, by what was asked.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(missing_docs)] // each variant is the ok object of its request or operation
pub enum Answer {
    Hello(HelloAnswer),
    Reset(ResetAnswer),
    Observed(Observation),
    /// Operations that answer nothing but Ok (`{}`).
    Done {},
    LoggedIn {
        #[serde(with = "role")]
        role: Role,
    },
    ClusterInfo {
        activated: bool,
        hsms: Vec<HsmInfo>,
        /// An opaque id of the cluster: optional; when given, the same in every answer of a
        /// cluster, and another for cluster 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cluster_id: Option<String>,
    },
    Users {
        users: Vec<UserLine>,
    },
    SyncStatus {
        digests: Vec<Bytes>,
    },
    Masked {
        object: Bytes,
    },
    Key {
        key: Handle,
    },
    Wrapped {
        wrapped: Bytes,
    },
    Ciphertext {
        ciphertext: Bytes,
    },
    Plaintext {
        plaintext: Bytes,
    },
    Signature {
        signature: Bytes,
    },
    Verified {
        valid: bool,
    },
    Tag {
        tag: Bytes,
    },
    Digest {
        digest: Bytes,
    },
}

/// The fields of each answer shape, to decode an `ok` object into the variant the request
/// calls for.
mod shapes {
    use super::*;

    #[derive(Deserialize)]
    pub struct LoggedIn {
        #[serde(with = "role")]
        pub role: Role,
    }
    #[derive(Deserialize)]
    pub struct ClusterInfo {
        pub activated: bool,
        pub hsms: Vec<HsmInfo>,
        #[serde(default)]
        pub cluster_id: Option<String>,
    }
    #[derive(Deserialize)]
    pub struct Users {
        pub users: Vec<UserLine>,
    }
    #[derive(Deserialize)]
    pub struct SyncStatus {
        pub digests: Vec<Bytes>,
    }
    #[derive(Deserialize)]
    pub struct Masked {
        pub object: Bytes,
    }
    #[derive(Deserialize)]
    pub struct Key {
        pub key: Handle,
    }
    #[derive(Deserialize)]
    pub struct Wrapped {
        pub wrapped: Bytes,
    }
    #[derive(Deserialize)]
    pub struct Ciphertext {
        pub ciphertext: Bytes,
    }
    #[derive(Deserialize)]
    pub struct Plaintext {
        pub plaintext: Bytes,
    }
    #[derive(Deserialize)]
    pub struct Signature {
        pub signature: Bytes,
    }
    #[derive(Deserialize)]
    pub struct Verified {
        pub valid: bool,
    }
    #[derive(Deserialize)]
    pub struct Tag {
        pub tag: Bytes,
    }
    #[derive(Deserialize)]
    pub struct Digest {
        pub digest: Bytes,
    }
}

impl Answer {
    /// Decodes the `ok` object `v` of an answer to `request`: the answer shape the request
    /// calls for, or what is wrong with `v`. Operations that answer nothing take any value.
    pub fn decode(request: &Request, v: serde_json::Value) -> Result<Answer, String> {
        use serde_json::from_value as de;
        let e = |e: serde_json::Error| e.to_string();
        Ok(match request {
            Request::Hello { .. } if v.is_null() => Answer::Hello(HelloAnswer::default()),
            Request::Hello { .. } => Answer::Hello(de(v).map_err(e)?),
            Request::Reset { .. } if v.is_null() => Answer::Reset(ResetAnswer::default()),
            Request::Reset { .. } => Answer::Reset(de(v).map_err(e)?),
            Request::Observe { .. } => Answer::Observed(de(v).map_err(e)?),
            Request::Step(step) => match &step.call {
                Call::Login { .. } => {
                    let a: shapes::LoggedIn = de(v).map_err(e)?;
                    Answer::LoggedIn { role: a.role }
                }
                Call::Logout {}
                | Call::Zeroize {}
                | Call::ChangeOwnPassword { .. }
                | Call::ChangePassword { .. }
                | Call::CreateUser { .. }
                | Call::DeleteUser { .. }
                | Call::Clone { .. }
                | Call::DeleteKey { .. }
                | Call::ShareKey { .. }
                | Call::UnshareKey { .. }
                | Call::SetAttribute { .. } => Answer::Done {},
                Call::GetClusterInfo {} => {
                    let a: shapes::ClusterInfo = de(v).map_err(e)?;
                    Answer::ClusterInfo {
                        activated: a.activated,
                        hsms: a.hsms,
                        cluster_id: a.cluster_id,
                    }
                }
                Call::ListUsers {} => {
                    let a: shapes::Users = de(v).map_err(e)?;
                    Answer::Users { users: a.users }
                }
                Call::GetSyncStatus {} => {
                    let a: shapes::SyncStatus = de(v).map_err(e)?;
                    Answer::SyncStatus { digests: a.digests }
                }
                Call::ExtractMasked { .. } => {
                    let a: shapes::Masked = de(v).map_err(e)?;
                    Answer::Masked { object: a.object }
                }
                Call::InsertMasked { .. } | Call::GenerateKey { .. } | Call::UnwrapKey { .. } => {
                    let a: shapes::Key = de(v).map_err(e)?;
                    Answer::Key { key: a.key }
                }
                Call::WrapKey { .. } => {
                    let a: shapes::Wrapped = de(v).map_err(e)?;
                    Answer::Wrapped { wrapped: a.wrapped }
                }
                Call::Encrypt { .. } => {
                    let a: shapes::Ciphertext = de(v).map_err(e)?;
                    Answer::Ciphertext {
                        ciphertext: a.ciphertext,
                    }
                }
                Call::Decrypt { .. } => {
                    let a: shapes::Plaintext = de(v).map_err(e)?;
                    Answer::Plaintext {
                        plaintext: a.plaintext,
                    }
                }
                Call::Sign { .. } => {
                    let a: shapes::Signature = de(v).map_err(e)?;
                    Answer::Signature {
                        signature: a.signature,
                    }
                }
                Call::Verify { .. } => {
                    let a: shapes::Verified = de(v).map_err(e)?;
                    Answer::Verified { valid: a.valid }
                }
                Call::Hmac { .. } => {
                    let a: shapes::Tag = de(v).map_err(e)?;
                    Answer::Tag { tag: a.tag }
                }
                Call::Digest { .. } => {
                    let a: shapes::Digest = de(v).map_err(e)?;
                    Answer::Digest { digest: a.digest }
                }
            },
        })
    }
}

/// What an implementation answered to a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `ok`: the request succeeded, with its result.
    Ok(Answer),
    /// `err`: the operation answered an error code (a SPEC §3 name, checked by the runner).
    Err(String),
    /// `refused`: the implementation cannot serve the request, and says why.
    Refused(String),
    /// `unsupported` (version 2, `step` only): the operation is one the implementation does
    /// not have, with why. Not a divergence: the trace stops there untested and the run is
    /// INCOMPLETE, never PASS.
    Unsupported(String),
}

impl Reply {
    /// The reply as its answer line: `{"id": …, "ok": …}`, `{"id": …, "err": …}` or
    /// `{"id": …, "refused": …}`.
    pub fn to_line(&self, id: &serde_json::Value) -> String {
        let mut v = self.to_value();
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("id".into(), id.clone());
        }
        v.to_string()
    }

    /// The reply as the answer line carries it, without the id (how histories record it).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Reply::Ok(a) => serde_json::json!({ "ok": a }),
            Reply::Err(code) => serde_json::json!({ "err": code }),
            Reply::Refused(m) => serde_json::json!({ "refused": m }),
            Reply::Unsupported(m) => serde_json::json!({ "unsupported": m }),
        }
    }

    /// The reply to `request` that [`Reply::to_value`] wrote, or what is wrong with it.
    pub fn from_value(request: &Request, mut v: serde_json::Value) -> Result<Reply, String> {
        let Some(m) = v.as_object_mut() else {
            return Err("a reply is not a JSON object".into());
        };
        if let Some(ok) = m.remove("ok") {
            return Answer::decode(request, ok).map(Reply::Ok);
        }
        match (
            m.remove("err"),
            m.remove("refused"),
            m.remove("unsupported"),
        ) {
            (Some(serde_json::Value::String(e)), _, _) => Ok(Reply::Err(e)),
            (_, Some(serde_json::Value::String(r)), _) => Ok(Reply::Refused(r)),
            (_, _, Some(serde_json::Value::String(u))) => Ok(Reply::Unsupported(u)),
            _ => Err(
                "a reply has none of `ok`, `err`, `refused`, `unsupported` (each a string)".into(),
            ),
        }
    }

    /// The reply in a sentence, for messages: `Ok`, the error code, or `refused: why`.
    pub fn text(&self) -> String {
        match self {
            Reply::Ok(_) => "Ok".to_string(),
            Reply::Err(code) => code.clone(),
            Reply::Refused(m) => format!("refused: {m}"),
            Reply::Unsupported(m) => format!("unsupported: {m}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_are_said_in_words() {
        assert_eq!(versions_text(&[]), "no version");
        assert_eq!(versions_text(&[2]), "version 2");
        assert_eq!(versions_text(&VERSIONS), "versions 1 and 2");
        assert_eq!(versions_text(&[1, 2, 3]), "versions 1, 2 and 3");
    }

    #[test]
    fn a_step_travels_as_documented() {
        let req = Request::Step(Step {
            cluster: 0,
            client: 1,
            hsm: 0,
            call: Call::Login {
                name: "admin".into(),
                password: Password::new("password"),
            },
        });
        let line = serde_json::to_value(Envelope {
            id: 3,
            observe: false,
            request: &req,
        })
        .unwrap();
        assert_eq!(
            line,
            json!({"id":3,"type":"step","cluster":0,"client":1,"hsm":0,"op":"Login",
                   "args":{"name":"admin","password":"password"}})
        );
        let back: Request = serde_json::from_value(line).unwrap();
        assert_eq!(back, req);
        // Operations without arguments still carry `args` (implementations read it).
        let logout = Request::Step(Step {
            cluster: 0,
            client: 0,
            hsm: 0,
            call: Call::Logout {},
        });
        let v = serde_json::to_value(&logout).unwrap();
        assert_eq!(v["args"], json!({}));
        assert_eq!(serde_json::from_value::<Request>(v).unwrap(), logout);
    }

    #[test]
    fn answers_decode_by_the_request_and_say_what_is_missing() {
        let gen = Request::Step(Step {
            cluster: 0,
            client: 0,
            hsm: 0,
            call: Call::GenerateKey {
                kind: KeyKind::Aes256,
                extractable: true,
            },
        });
        assert_eq!(
            Answer::decode(&gen, json!({"key": "7", "extra": 1})),
            Ok(Answer::Key { key: "7".into() })
        );
        let e = Answer::decode(&gen, json!({})).unwrap_err();
        assert!(e.contains("missing field `key`"), "{e}");
        let ok = Reply::Ok(Answer::Key { key: "7".into() });
        assert_eq!(ok.to_line(&json!(4)), r#"{"id":4,"ok":{"key":"7"}}"#);
        assert_eq!(format!("{:?}", Password::new("secret-pw")), "(a password)");
    }
}
